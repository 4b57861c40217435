"""Devices and ``tf.distribute`` strategies: what a run trains on.

Importing this module does not start TensorFlow: :func:`configure_devices`
must run before TensorFlow starts (the command line calls it before it
imports :mod:`gan_helpers.runs`, which starts TensorFlow).
"""

from __future__ import annotations

import os
import sys

#: The multi-worker strategy, made by :func:`configure_devices` before TensorFlow starts.
multi_worker_strategy = None


def configure_devices(distribute=None, replicas=None) -> None:
    """What must happen before TensorFlow starts (before ``gan_helpers.runs`` is imported).

    ``"mirrored"`` on a machine without GPUs: split the CPU into ``replicas`` (default 2) logical
    devices (with GPUs every visible one is used, or the first ``replicas``). ``"multi-worker"``:
    make the MultiWorkerMirroredStrategy of ``TF_CONFIG`` now (its collective ops must be configured
    at start-up); :func:`make_strategy` then uses it.
    """
    global multi_worker_strategy

    if distribute == "multi-worker" and multi_worker_strategy is None:
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--distribute multi-worker reads the cluster from TF_CONFIG, which is not set.")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return
    if distribute != "mirrored":
        return
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # if already started, make_strategy says when it has too few devices

    if tf.config.list_physical_devices("GPU"):
        return
    wanted = replicas or 2
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == wanted:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * wanted)
    except RuntimeError:
        raise RuntimeError(f"Cannot split the CPU into {wanted} devices: TensorFlow has already started "
                           "(call gan_helpers.devices.configure_devices first, in a fresh process).") from None


def make_strategy(distribute=None, replicas=None):
    """The ``tf.distribute`` strategy of a run's settings.

    Both need something done before TensorFlow starts: ``"mirrored"`` on a
    machine without GPUs, the CPU split into logical devices;
    ``"multi-worker"``, the strategy itself. Call :func:`configure_devices`
    first (the command line does).
    """
    import tensorflow as tf

    if distribute is None:
        return tf.distribute.get_strategy()
    if distribute == "multi-worker":
        if multi_worker_strategy is None:
            raise RuntimeError("A multi-worker run's strategy must be made before TensorFlow starts: call "
                               "gan_helpers.devices.configure_devices('multi-worker') before importing "
                               "gan_helpers.runs.")
        return multi_worker_strategy
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([d.name for d in gpus[:replicas]] if replicas else None)
    cpus = tf.config.list_logical_devices("CPU")
    wanted = replicas or 2
    if len(cpus) < wanted:
        raise RuntimeError(f"--replicas {wanted} needs {wanted} logical CPU devices, but TensorFlow has "
                           f"{len(cpus)}: split the CPU before TensorFlow starts (gan_helpers.devices.configure_devices).")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:wanted]])


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: always, except on the workers of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in cluster)


def replica_noise(batch, latent_dim, seed):
    """A step's N(0, 1) noise for ``batch`` samples, drawn from the seed generator ``seed``.

    On one device: ``keras.random.normal((batch, latent_dim))``. Under ``tf.distribute`` every replica
    draws the whole global batch's noise from the same (mirrored) seed state, as one device would, and
    keeps its own slice: the replicas' noise differs, and a step's noise is the one-device noise.
    """
    import keras
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return keras.random.normal((batch, latent_dim), seed=seed)
    replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
    noise = keras.random.normal((batch * context.num_replicas_in_sync, latent_dim), seed=seed)
    return noise[replica * batch:(replica + 1) * batch]


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _gpu_capabilities() -> list[tuple[int, int]]:
    """The compute capability of every visible GPU."""
    import tensorflow as tf

    return [tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0))
            for gpu in tf.config.list_physical_devices("GPU")]


#: From this long a run of the balanced GAN, ``auto`` computes in float32 on a CPU with bfloat16 units. Measured on
#: 2-core CPUs with bfloat16 units (BENCHMARKS.md, "Which precision?"): from 1,210 steps on, bfloat16 stays at SWD
#: 35.8-40.8 on four training seeds. Float32 goes on improving on two of them: its marks at 4,620-4,830 steps
#: (45-47 minutes) are below every bfloat16 mark of the same seed in all three of their float32 runs; on the other
#: two seeds the two are level, so the rule rests on the average. Before that, the runs are within the spread of two float32 runs of one seed. A budget
#: in steps or epochs counts as its steps: 4,650 steps are 45 minutes in float32 there.
LONG_RUN_MINUTES = 45
LONG_RUN_STEPS = 4650


def long_run(budget, steps_per_epoch: int | None = None) -> str | None:
    """Why a :class:`~gan_helpers.runs.budget.Budget` is a long run, or None: one of its limits reaches
    :data:`LONG_RUN_MINUTES` or :data:`LONG_RUN_STEPS` and none stops it sooner. Epochs count as
    ``steps_per_epoch`` steps each (unknown: the epochs do not decide); generator iterations do not decide."""
    steps = [budget.steps] if budget.steps is not None else []
    if budget.epochs is not None and steps_per_epoch is not None:
        steps.append(budget.epochs * steps_per_epoch)
    limits = [(budget.minutes, LONG_RUN_MINUTES, f"{budget.minutes:g} minutes")] if budget.minutes is not None else []
    limits += [(n, LONG_RUN_STEPS, f"about {n:,} steps") for n in steps]
    known = budget.epochs is None or steps_per_epoch is not None
    if not limits or not known or budget.generator_iterations is not None or any(v < mark for v, mark, _ in limits):
        return None
    return " and ".join(words for _, _, words in limits)


def auto_precision(budget=None, model: str = "gan", steps_per_epoch: int | None = None) -> tuple[str, str]:
    """The precision a run computes in when its setting is ``"auto"``, and why: ``(precision, reason)``.

    bfloat16 where the hardware computes it (a GPU of compute capability 8.0 or more, or a CPU that
    reports AVX512_BF16 or AMX-BF16); float32 elsewhere, since on other CPUs bfloat16 is emulated and
    8-12x slower (BENCHMARKS.md). On such a CPU a balanced GAN whose ``budget`` (a
    :class:`~gan_helpers.runs.budget.Budget`) is a :func:`long_run` computes in float32: on average,
    bfloat16's extra steps do not make up for what it costs per step on a run that long.
    """
    gpu = _gpu_bfloat16()
    if gpu:  # the length rule was measured on CPUs only
        return "bfloat16", gpu
    cpu = _cpu_bfloat16()
    if not cpu:
        return "float32", _NO_BFLOAT16
    long = long_run(budget, steps_per_epoch) if budget is not None and model == "gan" else None
    if long:
        return "float32", (f"auto: a run of {long}; from {LONG_RUN_MINUTES} minutes on, float32 gives better faces "
                           f"on average at equal minutes on a CPU with bfloat16 units ({cpu.removeprefix('auto: ')})")
    return "bfloat16", cpu


_NO_BFLOAT16 = "auto: the CPU reports no bfloat16 units (AVX512_BF16, AMX-BF16), and no such GPU"


def _gpu_bfloat16() -> str | None:
    """Why a GPU computes bfloat16 (compute capability 8.0 or more), or None."""
    for capability in _gpu_capabilities():
        if tuple(capability) >= (8, 0):
            return f"auto: the GPU has compute capability {capability[0]}.{capability[1]} (bfloat16 units)"
    return None


def _cpu_bfloat16() -> str | None:
    """Why the CPU computes bfloat16 (it reports AVX512_BF16 or AMX-BF16), or None."""
    flags = cpu_flags() & {"avx512_bf16", "amx_bf16"}
    return f"auto: the CPU reports {' and '.join(sorted(f.upper() for f in flags))}" if flags else None
