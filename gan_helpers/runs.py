"""Training runs that survive: a run folder, checkpoints, exact resume, budgets, monitoring.

A run folder holds::

    config.json           what was trained, how (enough to rebuild everything)
    checkpoint.npz        both models, both optimizers, the step, all RNG state (and the averaged G)
    history.csv           one row per epoch: the mean of every metric, skips, minutes
    steps.csv             one row per step: the raw values the live plot draws
    samples/epoch_NNN.png the fixed latent batch after each epoch
    monitor.png           the monitor figure (curves + latest grid)
    generator.keras       the final generator (also written on Ctrl-C and at the budget)

Exact resume: every source of randomness lives in a variable that the
checkpoint stores (the noise and dropout seed generators), and each epoch's
shuffle (and, with ``mirror``, its flips) is seeded by ``seed + epoch``, so a
run stopped after epoch k and resumed ends with the same weights as one that
never stopped (on the CPU).

With ``ema_decay`` set, the run also keeps an averaged generator
(:mod:`gan_helpers.averaging`): the samples, the monitor's fixed batch, the
snapshots, the metrics of :func:`train_and_evaluate` and ``generator.keras``
come from it, while the checkpoint keeps the raw generator (the one that
trains) and the average, for an exact resume.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from gan_helpers import averaging, data, files, metrics, models, plots  # noqa: E402

CHECKPOINT = "checkpoint.npz"
#: Mode-collapse warning: the fixed batch's pixel spread below this fraction of real faces'.
COLLAPSE_FRACTION = 0.25


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def default_config(**overrides) -> dict:
    """Everything a run needs to be rebuilt; every key can be overridden."""
    config = {
        "model": "gan",
        "image_size": 64,
        "latent_dim": 100,
        "batch_size": 64,
        "balance": "margin",
        "margin": 0.3,
        "seed": 0,
        # None: the model's reference value (GAN 1e-3, the blog's; WGAN 5e-5; WGAN-GP 1e-4). A GAN's
        # default is MODEL_DEFAULTS["gan"]'s 5e-4 unless these are given (None included).
        "d_learning_rate": None,
        "g_learning_rate": None,
        "generator": {},
        "discriminator": {},
        "d_batch": "separate",  # GAN only: D scores reals and fakes as two batches, or "mixed" as one
        # "exercise" (models.build_generator) or "dcgan" (the WGAN reference's DCGAN_G); "generator" holds
        # the chosen builder's arguments (DCGAN_G: width, batch_norm).
        "generator_architecture": "exercise",
        # WGAN critics: "exercise" (the exercise's D without dropout or squashing) or "dcgan" (the reference's
        # DCGAN_D: batch norm for "wgan", none for "wgan-gp", unless "discriminator" sets batch_norm).
        "critic": "exercise",
        "num_fixed": 64,
        # Training faces loaded from data_dir: the people held out for evaluation (data.split_by_person,
        # seed 0) are left out, so `evaluate` compares with people the run never saw. 0 trains on all.
        "holdout": data.EVALUATION_HOLDOUT,
        # The averaged generator (gan_helpers.averaging): the largest decay of the moving average of G's
        # weights, e.g. 0.999; 0 or None trains without one. When set, samples, the monitor, snapshots,
        # metrics and generator.keras use the average; the checkpoint keeps both. A GAN's default is
        # MODEL_DEFAULTS["gan"]'s 0.999 unless ema_decay is given.
        "ema_decay": None,
        # Random left-right flips of the training faces (ProGAN's mirror augmentation), seeded per epoch.
        "mirror": False,
        # "float32", or "bfloat16": the models compute in bfloat16 (Keras' "mixed_bfloat16" policy) while
        # their weights, the optimizers' state, the losses and the success rates stay float32.
        "precision": "float32",
        # tf.distribute: None (one device), "mirrored" (every visible GPU, or the CPU split into `replicas`
        # logical devices) or "multi-worker" (MultiWorkerMirroredStrategy, configured by TF_CONFIG).
        # `replicas`: the replicas in sync the run trained with (recorded when it starts).
        "distribute": None,
        "replicas": None,
    }
    unknown = set(overrides) - set(config) - {"data_dir", "crop", "limit"}
    if unknown:
        raise ValueError(f"Unknown run settings: {', '.join(sorted(unknown))}")
    config.update(overrides)
    if config["model"] not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}. Received: model={config['model']!r}")
    # The model's recipe, for the settings not given (a stored run's config gives them all, so it is kept).
    model_defaults = MODEL_DEFAULTS.get(config["model"], {})
    config.update({key: value for key, value in model_defaults.items() if key not in overrides})
    if config["generator_architecture"] not in models.GENERATORS:
        raise ValueError(f"generator_architecture must be one of {', '.join(models.GENERATORS)}. "
                         f"Received: generator_architecture={config['generator_architecture']!r}")
    if config["critic"] not in models.CRITICS:
        raise ValueError(f"critic must be one of {', '.join(models.CRITICS)}. Received: critic={config['critic']!r}")
    # Checked here, before any model is built: a wrong size must not cost memory first.
    data.check_image_size(config["image_size"])
    if not 0 <= config["holdout"] < 1:
        raise ValueError(f"holdout must be a fraction in [0, 1). Received: holdout={config['holdout']}")
    if config["ema_decay"] == 0:
        config["ema_decay"] = None  # 0 turns averaging off, as None does; one value, so configs compare equal
    if config["ema_decay"] is not None:
        try:
            averaging.check_max_decay(config["ema_decay"])
        except ValueError:
            raise ValueError("ema_decay must be a number in [0, 1) (0 or None: no averaged generator), "
                             f"e.g. 0.999. Received: ema_decay={config['ema_decay']!r}") from None
    if not isinstance(config["mirror"], bool):
        raise ValueError(f"mirror must be true or false. Received: mirror={config['mirror']!r}")
    if config["distribute"] not in DISTRIBUTE:
        raise ValueError(f"distribute must be one of {', '.join(map(str, DISTRIBUTE))}. "
                         f"Received: distribute={config['distribute']!r}")
    if config["replicas"] is not None and (isinstance(config["replicas"], bool)
                                           or not isinstance(config["replicas"], int) or config["replicas"] < 1):
        raise ValueError(f"replicas must be a whole number of at least 1. Received: replicas={config['replicas']!r}")
    if config["precision"] not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}. "
                         f"Received: precision={config['precision']!r}")
    return config


#: What a run can train, with each one's reference learning rate.
MODELS = {"gan": 1e-3, "wgan": 5e-5, "wgan-gp": 1e-4}

#: Each model's defaults where they differ from its reference (issue 15, BENCHMARKS.md "at equal steps, with
#: seeds"): a GAN trains at half the blog's learning rates and keeps an averaged generator. The WGANs keep
#: their papers' settings.
MODEL_DEFAULTS = {"gan": {"d_learning_rate": 5e-4, "g_learning_rate": 5e-4, "ema_decay": 0.999}}

#: The GAN's default before issue 15, the blog's: RMSProp at 1e-3 for both networks, no averaged generator.
#: Pass it to a GAN's config to train with the blog's recipe (the rule comparisons and failures of notebook 03).
BLOG_RECIPE = {"d_learning_rate": 1e-3, "g_learning_rate": 1e-3, "ema_decay": None}


def _rates_resolved(config: dict) -> dict:
    """``config`` with a learning rate of None written as the model's reference rate, the rate it trains with
    (``_build`` takes its rates from here), so that a folder stored with None (before issue 15) and a config
    asking for the same rate by value are the same run."""
    rate = MODELS.get(config.get("model"))
    return {**config, **{k: config.get(k) or rate for k in ("d_learning_rate", "g_learning_rate")}}


#: How a run can spread its steps over devices (None: one device).
DISTRIBUTE = (None, "mirrored", "multi-worker")


def make_strategy(distribute=None, replicas=None):
    """The ``tf.distribute`` strategy of a run's settings.

    Both need something done before TensorFlow starts (importing this module starts it):
    ``"mirrored"`` on a machine without GPUs, the CPU split into logical devices; ``"multi-worker"``,
    the strategy itself. The command line does it first (``gan_helpers.cli.configure_devices``); in
    Python, call that before importing ``gan_helpers.runs``.
    """
    if distribute is None:
        return tf.distribute.get_strategy()
    if distribute == "multi-worker":
        from gan_helpers import cli

        if cli.multi_worker_strategy is None:
            raise RuntimeError("A multi-worker run's strategy must be made before TensorFlow starts: call "
                               "gan_helpers.cli.configure_devices('multi-worker') before importing gan_helpers.runs.")
        return cli.multi_worker_strategy
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([d.name for d in gpus[:replicas]] if replicas else None)
    cpus = tf.config.list_logical_devices("CPU")
    wanted = replicas or 2
    if len(cpus) < wanted:
        raise RuntimeError(f"--replicas {wanted} needs {wanted} logical CPU devices, but TensorFlow has "
                           f"{len(cpus)}: split the CPU before TensorFlow starts (gan_helpers.cli.configure_devices).")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:wanted]])


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: always, except on the workers of a multi-worker run."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in cluster)


#: The precisions a run can compute in, with the Keras dtype policy its models are built under.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def build(config: dict):
    """The GAN (compiled) that ``config`` describes.

    The models are built under the dtype policy of ``config["precision"]``
    (:data:`PRECISIONS`), set only while they are built: Keras reads the
    global policy when a layer is created, so the previous policy is put
    back afterwards and nothing built later is affected. Under
    ``"mixed_bfloat16"`` Keras keeps every variable in float32 (layers cast
    their weights to bfloat16 when they compute), so the optimizers' state is
    float32 too; the outputs of G and D are cast back to float32 by a
    final float32 ``Activation("linear")`` (Keras' mixed-precision advice),
    so the losses and success rates of the training steps are float32.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(PRECISIONS[config.get("precision", "float32")])
    try:
        return _build(config)
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_output(model):
    """``model`` with its output cast to float32 by one more layer (no variables: the checkpoint is unchanged)."""
    if model.layers[-1].compute_dtype == "float32":
        return model
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.output)
    return keras.Model(model.input, output, name=model.name)


def _build(config: dict):
    from gan_helpers import balance, training

    from gan_helpers import wgan

    keras.utils.set_random_seed(config["seed"])
    size, latent = config["image_size"], config["latent_dim"]
    build_generator = models.GENERATORS[config["generator_architecture"]]
    generator = _float32_output(build_generator(latent_dim=latent, image_size=size, **config["generator"]))
    rates = _rates_resolved(config)
    d_lr, g_lr = rates["d_learning_rate"], rates["g_learning_rate"]
    if config["model"] in ("wgan", "wgan-gp"):
        critic_kwargs = dict(config["discriminator"])
        if config["critic"] == "dcgan":  # the reference: batch norm with clipping; WGAN-GP must not have it
            critic_kwargs.setdefault("batch_norm", config["model"] == "wgan")
        critic = _float32_output(models.build_critic(size, architecture=config["critic"], **critic_kwargs))
        model = wgan.WGAN(generator, critic, seed=config["seed"],
                          **({"clip_value": None, "gradient_penalty": 10.0, "warmup_iterations": 0,
                              "warmup_every": 0} if config["model"] == "wgan-gp" else {}))
        optimizer = wgan.reference_adam if config["model"] == "wgan-gp" else wgan.reference_rmsprop
        model.compile(optimizer(d_lr), optimizer(g_lr))
        return model
    discriminator = _float32_output(models.build_discriminator(image_size=size, **config["discriminator"]))
    rule_kwargs = {"margin": config["margin"]} if config["balance"] == "margin" else {}
    gan = training.GAN(generator, discriminator, balance.get(config["balance"], **rule_kwargs),
                       seed=config["seed"], d_batch=config["d_batch"])
    gan.compile(keras.optimizers.RMSprop(d_lr, rho=0.9), keras.optimizers.RMSprop(g_lr, rho=0.9))
    return gan


# ----------------------------------------------------------------------------
# Checkpoints: every variable, by position, checked by name.


def _state_variables(gan, average=None):
    groups = {
        "generator": gan.generator.variables,
        "discriminator": (gan.critic if hasattr(gan, "critic") else gan.discriminator).variables,
        "g_optimizer": gan.g_optimizer.variables,
        "d_optimizer": gan.d_optimizer.variables,
        "gan": gan.state_variables(),
    }
    if average is not None:  # only then: a run without averaging keeps the layout checkpoints always had
        groups["averaged_generator"] = average.state_variables()
    # Keyed by position: auto-generated variable names (seed_generator_6, ...) differ between processes.
    return [(f"{group}/{i:04d}", v) for group, variables in groups.items() for i, v in enumerate(variables)]


PREVIOUS_CHECKPOINT = "checkpoint.previous.npz"


class CheckpointError(ValueError):
    """A checkpoint file is damaged or does not belong to this model."""


def save_checkpoint(gan, run_dir: Path, progress: dict, history=None, steps=None, average=None) -> Path:
    """Write every variable, ``progress`` (epoch, step, ...) and the history atomically.

    ``average`` (a :class:`gan_helpers.averaging.GeneratorAverage`) adds the
    averaged generator's variables and update count, for an exact resume.

    The checkpoint is the run's single record: ``history`` (one dict per
    epoch) and ``steps`` (one dict per step) are stored in it too, so the
    CSVs can always be rewritten to match it. The checkpoint it replaces is
    kept as ``checkpoint.previous.npz``, for :func:`load_checkpoint` to fall
    back to if the new one is ever damaged.
    """
    arrays = {name: np.asarray(v.numpy() if hasattr(v, "numpy") else v)
              for name, v in _state_variables(gan, average)}
    records = {"progress": progress, "history": history or [],
               "step_keys": list(dict.fromkeys(k for row in (steps or []) for k in row))}
    arrays["__progress__"] = np.frombuffer(json.dumps(records["progress"]).encode(), np.uint8)
    arrays["__history__"] = np.frombuffer(json.dumps(records["history"]).encode(), np.uint8)
    arrays["__step_keys__"] = np.frombuffer(json.dumps(records["step_keys"]).encode(), np.uint8)
    arrays["__steps__"] = np.array([[row.get(k, np.nan) for k in records["step_keys"]] for row in steps or []],
                                   np.float64).reshape(len(steps or []), len(records["step_keys"]))
    path = Path(run_dir) / CHECKPOINT
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        if path.exists():
            os.replace(path, path.with_name(PREVIOUS_CHECKPOINT))
    return path


def _read_checkpoint(gan, path: Path, average=None) -> dict:
    """Every array of a checkpoint, checked against ``gan``; a clear :class:`CheckpointError` if damaged."""
    if not zipfile.is_zipfile(path):  # empty, random bytes, or cut before the zip's directory
        raise CheckpointError(f"The checkpoint {path} is damaged or incomplete ({path.stat().st_size:,} bytes, "
                              "not a whole .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as saved:
            contents = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as error:
        # Flipped bytes (Bad CRC-32, BadZipFile) or a damaged member: all the same to the user.
        raise CheckpointError(f"The checkpoint {path} is damaged and cannot be read "
                              f"({type(error).__name__}: {' '.join(str(error).split())[:80]})") from None
    mismatched = [n for n, v in _state_variables(gan, average)
                  if n not in contents or tuple(contents[n].shape) != tuple(v.shape)]
    if mismatched or "__progress__" not in contents:
        raise CheckpointError(f"The checkpoint {path} does not match this model ({len(mismatched)} variables "
                              f"differ, first {mismatched[:1]}); was the run's config.json changed?")
    return contents


def load_checkpoint(gan, run_dir: Path, average=None) -> dict:
    """Restore every variable; returns the saved progress, with ``history`` and ``steps`` if stored.

    ``average``: the run's averaged generator, if it has one (restored too).

    A damaged ``checkpoint.npz`` falls back to ``checkpoint.previous.npz``
    (one epoch earlier) with a warning that says so; if neither can be
    read, a one-line :class:`CheckpointError` names the file and what to do.
    """
    run_dir = Path(run_dir)
    path, previous = run_dir / CHECKPOINT, run_dir / PREVIOUS_CHECKPOINT
    if not path.exists() and not previous.exists():
        raise FileNotFoundError(f"No checkpoint in {run_dir} (expected {path}); start a new run with --out instead.")
    try:
        if not path.exists():  # interrupted between keeping the previous one and writing the new one
            raise CheckpointError(f"The checkpoint {path} is missing")
        contents = _read_checkpoint(gan, path, average)
    except CheckpointError as error:
        try:
            contents = _read_checkpoint(gan, previous, average) if previous.exists() else None
        except CheckpointError:
            contents = None
        if contents is None:
            raise CheckpointError(f"{error}, and there is no earlier good checkpoint to fall back to; "
                                  "start a new run with --out (the run's generator.keras, if any, "
                                  "is still usable).") from None
        warnings.warn(f"{error}; resuming from the previous checkpoint {previous} instead "
                      "(one epoch earlier).", stacklevel=2)
    for name, variable in _state_variables(gan, average):
        variable.assign(contents[name])
    if average is not None:
        average.statistics_stale = True
    progress = json.loads(contents["__progress__"].tobytes().decode())
    if "__history__" in contents:
        progress["history"] = json.loads(contents["__history__"].tobytes().decode())
        keys = json.loads(contents["__step_keys__"].tobytes().decode())
        progress["steps_rows"] = [dict(zip(keys, map(float, row))) for row in contents["__steps__"]]
    return progress


# ----------------------------------------------------------------------------
# Callbacks: budget, NaN guard, monitor.


class StopAtBudget(keras.callbacks.Callback):
    """Stop at a deadline (``time.monotonic()``), or when the run has made ``generator_iterations`` or ``steps``.

    Checked after every step. Generator iterations are the steps that updated
    G (every step of an "always" GAN; one in n_critic + 1 of a WGAN), counted
    over the whole run, earlier sessions included; so are ``steps``.
    """

    def __init__(self, deadline: float, run=None, generator_iterations: int | None = None,
                 steps: int | None = None):
        super().__init__()
        self.deadline = deadline
        self.run, self.target, self.steps = run, generator_iterations, steps
        self.hit = False
        self._counted, self._iterations = 0, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.target is not None:
            new = self.run.steps[self._counted:]
            self._iterations += sum(s.get("g_updated", 1.0) >= 0.5 for s in new)
            self._counted += len(new)
        if (time.monotonic() >= self.deadline or (self.target is not None and self._iterations >= self.target)
                or (self.steps is not None and len(self.run.steps) >= self.steps)):
            self.hit = True
            self.model.stop_training = True


class Snapshots(keras.callbacks.Callback):
    """Save the generator when the run's training time passes each of ``minutes``, and at each of ``steps``.

    Saved as ``snapshots/generator_{M}min.keras`` and ``snapshots/generator_{N}steps.keras``.
    """

    def __init__(self, run, minutes=(), steps=()):
        super().__init__()
        self.run = run
        self.pending = sorted(m for m in minutes if 60 * m > run.seconds)
        self.pending_steps = sorted(n for n in steps if n > len(run.steps))
        self.epoch_started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = self.run.seconds + time.monotonic() - self.epoch_started
        names = []
        while self.pending and elapsed >= 60 * self.pending[0]:
            names.append(f"generator_{self.pending.pop(0):g}min.keras")
        while self.pending_steps and len(self.run.steps) >= self.pending_steps[0]:
            names.append(f"generator_{self.pending_steps.pop(0)}steps.keras")
        for name in names if self.run.writes else ():
            folder = self.run.run_dir / "snapshots"
            folder.mkdir(exist_ok=True)
            save_model(self.run.generator(), folder / name)


class ProgressBar(keras.callbacks.Callback):
    """A progress bar that counts what will really run.

    With an epoch budget it counts steps (``epochs`` total, so the epochs
    already done are not counted again); with a time budget it counts
    seconds of the budget, since the number of steps that fit is not known
    in advance. Either way the step, the epoch and the latest success rates
    (or the Wasserstein estimate) are shown beside it.
    """

    def __init__(self, run, epochs=None, minutes=None, steps_per_epoch: int = 0, generator_iterations=None,
                 steps=None):
        super().__init__()
        from tqdm.auto import tqdm

        self.run = run
        self.by_time = minutes is not None
        self.by_iterations = not self.by_time and generator_iterations is not None and epochs is None
        self.started = time.monotonic()
        if self.by_time:
            total = round(60 * minutes)
            self.bar = tqdm(total=total, desc="training", unit="s", mininterval=0.5,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of the budget "
                                       "[{elapsed}<{remaining}{postfix}]")
        elif self.by_iterations:
            self.bar = tqdm(total=max(0, generator_iterations - run.generator_iterations), desc="training",
                            unit="G it.", mininterval=0.5)
        else:
            total = max(0, (epochs - run.epoch) * steps_per_epoch) if epochs is not None else math.inf
            if steps is not None:  # a step budget, alone or with an epoch budget: whichever comes first
                total = min(total, max(0, steps - len(run.steps)))
            self.bar = tqdm(total=total, desc="training", unit="step", mininterval=0.5)

    def on_train_batch_end(self, batch, logs=None):
        last = self.run.steps[-1] if self.run.steps else {}
        if self.by_time:
            self.bar.n = min(self.bar.total, time.monotonic() - self.started)
        elif self.by_iterations:
            self.bar.n = min(self.bar.total, self.bar.n + int(last.get("g_updated", 1.0) >= 0.5))
        else:
            self.bar.n = min(self.bar.total, self.bar.n + 1)
        shown = {k: last[k] for k in ("d_real_success", "d_fake_success", "g_success", "wasserstein") if k in last}
        self.bar.set_postfix({"epoch": self.run.epoch + 1, "step": len(self.run.steps),
                              **{k: f"{v:.2f}" for k, v in shown.items()}}, refresh=False)
        self.bar.update(0)

    def close(self):
        self.bar.close()


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember the step."""

    def __init__(self):
        super().__init__()
        self.bad_step = None

    def on_train_batch_end(self, batch, logs=None):
        values = [float(v) for v in (logs or {}).values()]
        if any(not math.isfinite(v) for v in values):
            self.bad_step = batch
            self.model.stop_training = True


class Monitor(keras.callbacks.Callback):
    """Records every step, and after every epoch draws the curves and the fixed-batch grid.

    In a notebook the figure is redrawn in place (``live=True``); it is
    always saved as ``monitor.png`` and the grid as ``samples/epoch_NNN.png``
    when a run folder is given.
    """

    def __init__(self, run, live: bool = False, every_steps: int = 0):
        super().__init__()
        self.run = run
        self.live = live
        self.every_steps = every_steps

    def on_train_batch_end(self, batch, logs=None):
        gan = self.model
        row = {name: float(var.numpy()) for name, var in gan.last_step.items()}
        row["step"] = len(self.run.steps) + 1
        self.run.steps.append(row)
        if self.live and self.every_steps and row["step"] % self.every_steps == 0:
            self.draw(samples=None)

    def draw(self, samples):
        import matplotlib.pyplot as plt

        fig = plots.training_monitor(self.run.steps, samples if samples is not None else self.run.last_samples,
                                     title=self.run.title())
        if self.run.writes:
            fig.savefig(self.run.run_dir / "monitor.png", dpi=80)
        if self.live:
            from IPython.display import clear_output, display

            clear_output(wait=True)
            display(fig)
        plt.close(fig)


# ----------------------------------------------------------------------------
# The run.


class Run:
    """One training run: build or resume, train for epochs or minutes, checkpoint, sample.

    Args:
        config: see :func:`default_config`.
        run_dir: the run folder (``None``: keep everything in memory only).
        images: uint8 training faces; loaded from ``config["data_dir"]`` if omitted.
    """

    def __init__(self, config: dict, run_dir=None, images=None):
        self.config = default_config(**config)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.strategy = make_strategy(self.config["distribute"], self.config["replicas"])
        if self.config["distribute"] is not None:
            self.config["replicas"] = int(self.strategy.num_replicas_in_sync)
        # Only the chief of a multi-worker run writes the folder (the other workers read it to resume).
        self.is_chief = is_chief(self.strategy)
        with self.strategy.scope():
            self.gan = build(self.config)
        # The averaged generator, if the run has one: made after build(), from G's initial weights.
        self.average = (averaging.GeneratorAverage(self.gan.generator, self.config["ema_decay"],
                                                   seed=self.config["seed"] + 20_000)
                        if self.config["ema_decay"] else None)
        self.images = images
        self.epoch = 0
        self.seconds = 0.0
        self.steps: list[dict] = []
        self.history: list[dict] = []
        self.last_samples = None
        rng = np.random.default_rng(self.config["seed"] + 10_000)
        self.fixed_noise = rng.normal(size=(self.config["num_fixed"], self.config["latent_dim"])).astype(np.float32)
        self.real_spread = None
        self.resumed = False  # True once the folder's earlier run is continued: its files may be rewritten
        self.interrupted = False  # True after a Ctrl-C stopped the last train()

    # -- set-up ---------------------------------------------------------------

    @classmethod
    def open(cls, config: dict, run_dir, images=None) -> "Run":
        """Continue the run in ``run_dir`` if there is one, else start it with ``config``.

        What a notebook wants: run the cell again after an interruption (or to
        train longer) and it carries on instead of starting over. A folder whose
        run was made with other settings is refused, naming the settings that
        differ, rather than silently continuing the old run.
        """
        run_dir = Path(run_dir)
        if (run_dir / "config.json").exists():
            stored = _rates_resolved(upgrade_config(_read_config(run_dir)))
            wanted = _rates_resolved(json.loads(json.dumps(default_config(**config), default=str)))
            differ = sorted(k for k in set(stored) | set(wanted)
                            if k != "data_dir" and stored.get(k) != wanted.get(k)
                            and not (k == "replicas" and wanted.get(k) is None))
            if differ:
                raise ValueError(f"{run_dir} holds a run with other settings ({', '.join(differ)}: "
                                 f"{', '.join(f'{stored.get(k)!r} there, {wanted.get(k)!r} here' for k in differ[:3])}); "
                                 "use another folder for these settings, or delete that one to start over.")
            run = cls.resume(run_dir, images)
            print(f"Continuing the run in {run_dir} (epoch {run.epoch}, {run.seconds / 60:.1f} min so far).")
            return run
        return cls(config, run_dir, images)

    @classmethod
    def resume(cls, run_dir, images=None) -> "Run":
        """Rebuild a run from its folder and restore its last checkpoint.

        A run stopped before its first checkpoint starts again from epoch 0
        with its settings. Leftovers of interrupted writes are removed, and the
        CSVs are rewritten from the checkpoint, so they never hold epochs the
        checkpoint does not.
        """
        run_dir = Path(run_dir)
        run = cls(upgrade_config(_read_config(run_dir)), run_dir, images)
        run.resumed = True
        if run.writes:
            files.remove_stray_temporaries(run_dir)
        if not (run_dir / CHECKPOINT).exists() and not (run_dir / PREVIOUS_CHECKPOINT).exists():
            print(f"{run_dir} has no checkpoint yet (stopped in its first epoch); starting it from epoch 0.")
            return run
        progress = load_checkpoint(run.gan, run_dir, run.average)
        run.epoch, run.seconds = progress["epoch"], progress["seconds"]
        if "history" in progress:
            run.history, run.steps = progress["history"], progress["steps_rows"]
        else:  # checkpoints written before the history was stored in them
            run.history = [row for row in _read_csv(run_dir / "history.csv") if row["epoch"] <= run.epoch]
            run.steps = _read_csv(run_dir / "steps.csv")[:progress["steps"]]
        if run.writes:
            run._write_csvs()
        return run

    def _ensure_images(self, progress: bool = False):
        if self.images is None:
            faces = data.load_dataset(self.config.get("data_dir"), self.config["image_size"],
                                      crop=self.config.get("crop", data.DEFAULT_CROP),
                                      limit=self.config.get("limit"), progress=progress)
            # Record where the faces came from, also when it was found through LFW_DIR or the defaults.
            self.config["data_dir"] = str(faces.source)
            self.images = data.training_part(faces, self.config["holdout"])
        if self.images.shape[1] != self.config["image_size"]:
            raise ValueError(f"The images are {self.images.shape[1]} px but the run is configured for "
                             f"{self.config['image_size']} px.")
        if self.real_spread is None:
            sample = self.images[np.random.default_rng(0).choice(len(self.images), min(len(self.images), 512),
                                                                 replace=False)]
            self.real_spread = metrics.pixel_spread(sample)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run folder (it has one, and is not a non-chief worker)."""
        return self.run_dir is not None and self.is_chief

    def _prepare_folder(self):
        if not self.writes:
            return
        if not self.resumed:
            files.check_new_run_folder(self.run_dir)
            self.resumed = True  # from now on this run owns the folder
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.config.items()}
        files.write_text(self.run_dir / "config.json", json.dumps(config, indent=2))

    @property
    def generator_iterations(self) -> int:
        """How many steps of this run updated G (every step of an "always" GAN; the WGAN's generator iterations)."""
        return int(sum(s.get("g_updated", 1.0) >= 0.5 for s in self.steps))

    def title(self) -> str:
        rule = f" · balance {self.config['balance']}" if self.config["model"] == "gan" else ""
        rule += f" · averaged G ({self.config['ema_decay']:g})" if self.average is not None else ""
        return (f"{self.config['model']}{rule} · epoch {self.epoch} · "
                f"{self.seconds / 60:.1f} min · step {len(self.steps)}")

    # -- training -------------------------------------------------------------

    def train(self, epochs: int | None = None, minutes: float | None = None, verbose: int = 1,
              live: bool = False, live_every_steps: int = 0, snapshot_minutes=(), callbacks=(),
              generator_iterations: int | None = None, steps: int | None = None,
              snapshot_steps=()) -> list[dict]:
        """Train until ``epochs`` (total, counting earlier ones) or ``minutes`` more have passed.

        ``generator_iterations``: or until the run has updated G that many
        times in all (:attr:`generator_iterations`), the budget that compares
        a GAN with a WGAN at equal generator updates. ``steps``: or until the
        run has made that many training steps in all (the budget that compares
        runs sharing a machine at equal steps). Whichever budget given comes
        first ends the run.

        ``snapshot_minutes`` saves the generator to ``snapshots/`` in the run
        folder when the run's total training time passes each value;
        ``snapshot_steps`` when its total number of steps reaches each value.
        ``callbacks``: more Keras callbacks, called after the run's own (the
        averaged generator, if any, is already updated when they see a step).

        Ctrl-C stops cleanly: models and history stay in memory and are
        saved to the run folder. A NaN loss raises :class:`TrainingDiverged`
        after restoring the last good checkpoint.
        """
        check_budget(epochs, minutes, done_epochs=self.epoch, generator_iterations=generator_iterations,
                     done_iterations=self.generator_iterations, steps=steps, done_steps=len(self.steps))
        if self.config["distribute"] == "multi-worker" and (minutes, generator_iterations, steps) != (None,) * 3:
            # Each worker would stop at its own step and leave the others waiting in a collective.
            raise ValueError("A multi-worker run needs an epoch budget (--epochs E), not --minutes "
                             "(nor a budget in steps or generator iterations).")
        self._ensure_images(progress=verbose > 0)
        self._prepare_folder()
        deadline = time.monotonic() + 60 * minutes if minutes is not None else math.inf
        budget, nan_guard = StopAtBudget(deadline, self, generator_iterations, steps), StopOnNaN()
        monitor = Monitor(self, live=live, every_steps=live_every_steps)
        extra_callbacks, callbacks = list(callbacks), [monitor, nan_guard, budget]
        if self.average is not None:
            callbacks.insert(0, averaging.UpdateAverage(self.average))
        if verbose:
            steps_per_epoch = len(self.images) // self.config["batch_size"]
            callbacks.append(ProgressBar(self, epochs=epochs, minutes=minutes, steps_per_epoch=steps_per_epoch,
                                         generator_iterations=generator_iterations, steps=steps))
        if snapshot_minutes or snapshot_steps:
            if self.run_dir is None:
                raise ValueError("snapshot_minutes and snapshot_steps need a run folder (run_dir).")
            callbacks.append(Snapshots(self, snapshot_minutes, snapshot_steps))
        callbacks += extra_callbacks
        self.interrupted = False
        try:
            while (epochs is None or self.epoch < epochs) and not budget.hit:
                dataset = self._dataset()
                started = time.monotonic()
                steps_before = len(self.steps)
                self.gan.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
                self.seconds += time.monotonic() - started
                if nan_guard.bad_step is not None:
                    self._diverged(nan_guard.bad_step)
                self.epoch += 1
                self._end_epoch(steps_before, monitor, partial=budget.hit)
        except KeyboardInterrupt:
            self.interrupted = True
            print(f"\nInterrupted at epoch {self.epoch}, step {len(self.steps)}: models and history kept.")
            self._end_epoch(len(self.steps), monitor, partial=True, record=False)
        finally:
            for callback in callbacks:
                if isinstance(callback, ProgressBar):
                    callback.close()
        if self.writes:
            self.save_generator()
            where = f" Resume with: python -m gan_helpers train --resume {self.run_dir}" if self.interrupted else ""
            print(f"Saved to {self.run_dir}.{where}")
        return self.history

    def _dataset(self):
        """This epoch's batches; on a multi-worker run, this worker's part of each global batch.

        Every worker shuffles the same way (the same seed), cuts each global batch into as many
        equal parts as workers and keeps its own, then one part per local replica: a global batch
        holds each image at most once, and holds the images one device's batch would.
        """
        batch = self.config["batch_size"]
        seed = self.config["seed"] + self.epoch

        def make():
            return data.make_dataset(self.images, batch, seed=seed, mirror=self.config["mirror"])

        if self.config["distribute"] != "multi-worker":
            return make()
        replicas = self.strategy.num_replicas_in_sync
        if batch % replicas:
            raise ValueError(f"batch_size {batch} must be a multiple of the {replicas} replicas.")

        def shard(context):
            workers, worker = context.num_input_pipelines, context.input_pipeline_id
            part = batch // workers
            dataset = make().map(lambda images: images[worker * part:(worker + 1) * part])
            return dataset.unbatch().batch(context.get_per_replica_batch_size(batch), drop_remainder=True)

        return self.strategy.distribute_datasets_from_function(shard)

    def _diverged(self, bad_step):
        message = (f"A loss became NaN or infinite at step {bad_step + 1} of epoch {self.epoch + 1}; "
                   "training stopped. Try lower learning rates.")
        if self.run_dir is not None and (self.run_dir / CHECKPOINT).exists():
            progress = load_checkpoint(self.gan, self.run_dir, self.average)
            self.steps = self.steps[:progress["steps"]]
            message += f" The last good checkpoint (epoch {progress['epoch']}) is kept and restored in memory."
        raise TrainingDiverged(message)

    def _end_epoch(self, steps_before, monitor, partial=False, record=True):
        new_steps = self.steps[steps_before:]
        if record and new_steps:
            row = {"epoch": self.epoch, "steps": len(self.steps), "minutes": round(self.seconds / 60, 3),
                   "partial": int(partial)}
            for key in new_steps[0]:
                if key != "step":
                    values = np.array([s[key] for s in new_steps], float)
                    # NaN where no step had the value (e.g. Loss_G in a WGAN epoch without generator updates).
                    row[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            if hasattr(self.gan, "d_skips"):
                row["d_skips"] = int(self.gan.d_skips.numpy())
                row["g_skips"] = int(self.gan.g_skips.numpy())
            else:
                row["gen_iterations"] = int(self.gan.gen_iterations.numpy())
            self.history.append(row)
        self.last_samples = self.sample(self.fixed_noise)
        spread = metrics.pixel_spread(self.last_samples)
        if self.history and record:
            self.history[-1]["fixed_batch_spread"] = spread
        if self.real_spread and spread < COLLAPSE_FRACTION * self.real_spread:
            warnings.warn(f"Possible mode collapse: the fixed batch's pixel spread is {spread:.3f}, "
                          f"below {COLLAPSE_FRACTION:.0%} of real faces' {self.real_spread:.3f}.", stacklevel=3)
        if self.writes:
            plots.save_grid(self.last_samples, self.run_dir / "samples" / f"epoch_{self.epoch:03d}.png", columns=8)
            if record:
                # The checkpoint first: it holds the history too, so CSVs written after it can always be
                # made to match it again (Run.resume rewrites them from the checkpoint).
                save_checkpoint(self.gan, self.run_dir, {"epoch": self.epoch, "steps": len(self.steps),
                                                         "seconds": self.seconds},
                                history=self.history, steps=self.steps, average=self.average)
            self._write_csvs()
        monitor.draw(self.last_samples)

    def _write_csvs(self):
        _write_csv(self.run_dir / "history.csv", self.history)
        _write_csv(self.run_dir / "steps.csv", self.steps)

    # -- using the result -----------------------------------------------------

    def generator(self, averaged: bool | None = None):
        """The generator the run samples, measures and saves: the averaged one if the run has one.

        ``averaged=False`` gives the raw generator (the one trained, and kept in
        the checkpoint), ``True`` the averaged one (an error without averaging),
        ``None`` the averaged one when there is one.
        """
        if averaged and self.average is None:
            raise ValueError("This run has no averaged generator; set ema_decay (e.g. 0.999, "
                             "or --ema-decay 0.999) to train with one. Received: averaged=True")
        if averaged is False or self.average is None:
            return self.gan.generator
        return self.average.model

    def sample(self, noise, averaged: bool | None = None) -> np.ndarray:
        """uint8 images from the generator in inference mode (``averaged``: see :meth:`generator`).

        ``run.sample(noise, averaged=False)`` next to ``run.sample(noise)`` shows
        the raw and the averaged generator side by side.
        """
        generator = self.generator(averaged)
        return plots.as_uint8(generator.predict(np.asarray(noise, np.float32), verbose=0, batch_size=256))

    def save_generator(self, path=None, averaged: bool | None = None) -> Path:
        """Save the generator (the averaged one if the run has one) to ``generator.keras`` or ``path``."""
        path = Path(path) if path is not None else self.run_dir / "generator.keras"
        save_model(self.generator(averaged), path)
        return path


def save_model(model, path) -> Path:
    """``model.save(path)``, atomically: an interruption leaves the previous file whole."""
    with files.atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def upgrade_config(config: dict) -> dict:
    """A stored run's settings, completed for what changed since it was written.

    Runs written before ``holdout`` existed trained on every face; runs
    written before ``ema_decay``, ``mirror`` and ``precision`` existed had no
    averaged generator, no mirrored faces and computed in float32. Runs
    written before ``generator_architecture`` existed used the exercise's
    generator, and their exercise critic had build_discriminator's dropout
    (0.2, 0.5), which ``build_critic`` no longer adds by default: keep it, so
    the rebuilt critic is the one that was trained (and its checkpoint fits).
    """
    config = {**config}
    # Settings added since: runs stored before them trained without them (whatever the defaults become).
    config.setdefault("ema_decay", None)
    config.setdefault("d_learning_rate", None)  # None: the reference rate (a GAN's 1e-3), whatever the defaults become
    config.setdefault("g_learning_rate", None)
    config.setdefault("mirror", False)
    config.setdefault("precision", "float32")
    config.setdefault("distribute", None)
    config.setdefault("replicas", None)
    if "holdout" not in config:
        config["holdout"] = 0.0  # runs from before the holdout setting trained on every face
    if "generator_architecture" in config:
        return config
    config["generator_architecture"] = "exercise"
    if config.get("model") in ("wgan", "wgan-gp") and config.get("critic", "exercise") == "exercise":
        config["discriminator"] = {"conv_dropout": 0.2, "dense_dropout": 0.5, **config.get("discriminator", {})}
    return config


def _read_config(run_dir: Path) -> dict:
    config_path = Path(run_dir) / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json); "
                                "check the path, or start a new run with --out.")
    try:
        config = json.loads(config_path.read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"The run settings {config_path} are damaged ({error}); fix the file, or start a "
                         "new run with --out.") from None
    return config


def check_budget(epochs=None, minutes=None, done_epochs: int = 0, generator_iterations=None,
                 done_iterations: int = 0, steps=None, done_steps: int = 0) -> None:
    """A training budget must be given and must be something that trains."""
    if epochs is None and minutes is None and generator_iterations is None and steps is None:
        raise ValueError("Give a budget: --minutes M or --epochs E (epochs=E or minutes=M in Python).")
    if minutes is not None and not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"--minutes must be a positive number. Received: {minutes}")
    if epochs is not None:
        _check_total(epochs, done_epochs, "--epochs", "epochs", ", or --minutes")
    if generator_iterations is not None:
        _check_total(generator_iterations, done_iterations, "generator_iterations", "generator iterations")
    if steps is not None:
        _check_total(steps, done_steps, "steps", "training steps")


def _check_total(value, done: int, name: str, counted: str, alternative: str = "") -> None:
    """A budget that counts the run's total (epochs, generator iterations, steps): a whole number above ``done``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1. Received: {value}")
    if value <= done:
        raise ValueError(f"{name} counts the run's total {counted}, and this run already has {done}; "
                         f"give more than {done}{alternative}.")


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with files.atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(rows)


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
                for row in csv.DictReader(f)]


def train_and_evaluate(configs: dict, images, holdout, minutes: float | None = None, run_root=None,
                       num_eval: int = 500, verbose: int = 0, epochs: int | None = None,
                       generator_iterations: int | None = None) -> tuple[dict, dict, dict]:
    """Train one short run per config for the same minutes, epochs or generator iterations; evaluate each alike.

    Returns ``(runs, metrics, samples)``, each a dict by config name. The
    face rate is left out when fewer than 50 images are evaluated. A run with
    ``ema_decay`` is evaluated with its averaged generator. For a GAN
    the metrics also hold D's success in inference mode
    (:func:`metrics.discriminator_success`): on faces it trained on
    (``d_on_train_faces``), on held-out faces (``d_on_heldout_faces``) and
    on the evaluated fakes (``d_on_fakes``).
    """
    trained, results, samples = {}, {}, {}
    for name, config in configs.items():
        run_dir = Path(run_root) / name.replace(" ", "_") if run_root is not None else None
        run = Run(config, run_dir, images=images)
        run.train(epochs=epochs, minutes=minutes, verbose=verbose, generator_iterations=generator_iterations)
        results[name], samples[name] = evaluate_run(run, images, holdout, num_eval)
        trained[name] = run
        print(f"{name}: {run.epoch} epoch(s), {len(run.steps)} steps; "
              + ", ".join(f"{k} {v:.3f}" for k, v in results[name].items() if isinstance(v, float)))
    return trained, results, samples


def evaluate_run(run: "Run", images, holdout, num_eval: int = 500) -> tuple[dict, np.ndarray]:
    """The metrics of a run's generator as it is now, and the samples they were measured on.

    ``num_eval`` samples from fixed noise (seed 1) against as many held-out
    faces (:func:`metrics.evaluate`; the face rate is left out below 50
    images), with the run's progress: ``epochs``, ``steps``,
    ``generator_iterations``, ``train_minutes``. For a GAN also D's success
    in inference mode (:func:`metrics.discriminator_success`): on faces it
    trained on (``d_on_train_faces``), on held-out faces
    (``d_on_heldout_faces``) and on the evaluated fakes (``d_on_fakes``).
    """
    num = min(num_eval, len(holdout))
    generated = run.sample(np.random.default_rng(1).normal(size=(num, run.config["latent_dim"])))
    result = metrics.evaluate(generated, images, holdout[:num], with_faces=num >= 50)
    if hasattr(run.gan, "discriminator"):
        d = run.gan.discriminator
        on_train = metrics.discriminator_success(d, real=images[:num], fake=generated)
        result["d_on_train_faces"] = on_train["real"]
        result["d_on_heldout_faces"] = metrics.discriminator_success(d, real=holdout[:num])["real"]
        result["d_on_fakes"] = on_train["fake"]
    result["epochs"], result["steps"] = run.epoch, len(run.steps)
    result["generator_iterations"] = run.generator_iterations
    result["train_minutes"] = run.seconds / 60
    return result, generated


def train_until(run: "Run", total_minutes: float, **train_kwargs) -> bool:
    """Train ``run`` until its training time (:attr:`Run.seconds`) reaches ``total_minutes`` in all.

    A call's deadline also pays for its set-up, which the run's training time
    does not count, so one ``train(minutes=...)`` can stop short of the mark:
    this trains again until the mark is reached. ``train_kwargs`` go to
    :meth:`Run.train`. Returns False when a call was interrupted or made no
    progress (the mark may then not be reached).
    """
    while run.seconds / 60 < total_minutes - 1e-6:
        before = run.seconds
        run.train(minutes=total_minutes - run.seconds / 60, **train_kwargs)
        if run.interrupted or run.seconds <= before:
            return False
    return True


def evaluate_at_marks(run: "Run", images, holdout, generator_iterations=(), minutes: float | None = None,
                      num_eval: int = 500) -> dict:
    """Train ``run`` to each mark in turn and evaluate it there (:func:`evaluate_run`).

    The marks are totals: first each number of ``generator_iterations`` (in
    increasing order), then ``minutes`` of training in all. Returns
    ``{label: (result, samples)}`` with labels ``"N generator iterations"`` and
    ``"M min"``, in the order trained. A mark the run has already passed is
    evaluated where the run is, and its result has ``passed_mark`` True.
    """
    marks = [("iterations", int(n)) for n in sorted(set(generator_iterations))]
    if minutes is not None:
        marks.append(("minutes", float(minutes)))
    evaluated = {}
    for kind, value in marks:
        if kind == "iterations":
            label, passed = f"{value:,} generator iterations", run.generator_iterations >= value
            if not passed:
                run.train(generator_iterations=value, verbose=0)
        else:
            label, passed = f"{value:g} min", run.seconds / 60 >= value
            train_until(run, value, verbose=0)
        result, samples = evaluate_run(run, images, holdout, num_eval)
        result["passed_mark"] = passed
        evaluated[label] = (result, samples)
    return evaluated


def results_table(results: dict) -> str:
    """A Markdown table of :func:`evaluate_run` results by name: training done and the metrics."""
    lines = ["| run | training minutes | generator iterations | steps | SWD x1e3 | face rate | diversity | "
             "memorisation |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        face = f"{r['face_rate']:.3f}" if "face_rate" in r else "-"
        lines.append(f"| {name} | {r['train_minutes']:.1f} | {r['generator_iterations']:,} | {r['steps']:,} | "
                     f"{r['swd']:.1f} | {face} | {r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |")
    return "\n".join(lines)


def watch(run: "Run", minutes: float, every: float, holdout, num: int = 500, num_grid: int = 16,
          estimate_window: int = 50) -> list[dict]:
    """Train ``run`` for ``minutes`` more, stopping every ``every`` minutes to record how far it has come.

    Each record holds the run's ``minutes`` of training, ``generator_iterations``
    and ``steps`` so far, ``swd`` (x1e3) of ``num`` samples from fixed noise
    (seed 1) against as many held-out faces, ``samples`` (the first
    ``num_grid`` of them, the same noise every time) and, for a WGAN,
    ``estimate``: the median Wasserstein estimate (-Loss_D) over the last
    ``estimate_window`` generator iterations (NaN before any). Stops early
    when a chunk is interrupted.
    """
    if minutes <= 0 or every <= 0:
        raise ValueError(f"minutes and every must be > 0. Received: minutes={minutes}, every={every}")
    noise = np.random.default_rng(1).normal(size=(min(num, len(holdout)), run.config["latent_dim"]))
    records, end = [], run.seconds / 60 + minutes
    while run.seconds / 60 < end - 1e-6:
        if not train_until(run, min(run.seconds / 60 + every, end), verbose=0):
            break
        generated = run.sample(noise)
        at_g = [s["wasserstein"] for s in run.steps if "wasserstein" in s and s.get("g_updated", 0) >= 0.5]
        records.append({"minutes": run.seconds / 60, "generator_iterations": run.generator_iterations,
                        "steps": len(run.steps),
                        "estimate": float(np.median(at_g[-estimate_window:])) if at_g else float("nan"),
                        "swd": metrics.swd(generated, holdout[:len(noise)], patches_per_image=64)["avg"],
                        "samples": generated[:num_grid]})
    return records


#: Settings that give one network the upper hand, for the balance-rule comparison (notebook 03,
#: benchmarks/bench_balance_rules.py): each is the blog's recipe (BLOG_RECIPE, the default before issue 15,
#: which they were measured with) with one thing changed.
BALANCE_SETTINGS = {name: {**BLOG_RECIPE, **setting} for name, setting in {
    "default": {},  # the default before issue 15: the blog's recipe
    "g-lr-10x": {"g_learning_rate": 1e-2},  # G learns 10x faster than D
    "d-lr-10x": {"d_learning_rate": 1e-2},  # D learns 10x faster than G
    "d-wide-4x": {"discriminator": {"widths": (128, 256, 384), "dense_units": (1024,)}},  # a D 4x wider
    # The blog's D with batch norm, judging reals and fakes as one mixed batch: too strong from the start.
    "d-batch-norm-mixed": {"discriminator": {"batch_norm": True}, "d_batch": "mixed"},
}.items()}


def compare_balance_rules(setting, rules, seeds, images, holdout, epochs: int, image_size: int = 32,
                          run_root=None, num_eval: int = 500, done=(), samples: dict | None = None,
                          **overrides) -> list[dict]:
    """Train ``setting`` (a name of :data:`BALANCE_SETTINGS` or a config dict) once per rule and seed.

    ``overrides`` change every run (e.g. smaller networks); their
    ``generator``/``discriminator`` arguments are merged with the setting's.
    Every run trains ``epochs`` epochs (equal steps) and is evaluated by
    :func:`train_and_evaluate`. Returns one row per run: the setting, rule,
    seed, the metrics and the fraction of steps whose D and G turns were
    skipped. Rows already in ``done`` (same setting, rule, seed, epochs and
    size) are not trained again. ``samples``, if given, is filled with each
    run's first 36 samples by ``"setting, rule, seed N"``.
    """
    name = setting if isinstance(setting, str) else "custom"
    config = BALANCE_SETTINGS[setting] if isinstance(setting, str) else setting
    finished = {(r["setting"], r["rule"], r["seed"], r["epochs"], r["image_size"]) for r in done}
    rows = []
    for seed in seeds:
        for rule in rules:
            if (name, rule, seed, epochs, image_size) in finished:
                continue
            label = f"{name}_{rule}_seed{seed}"
            run_config = {**config, **overrides, "image_size": image_size, "balance": rule, "seed": seed}
            for key in ("generator", "discriminator"):  # builder arguments merge: the setting's and the overrides'
                run_config[key] = {**config.get(key, {}), **overrides.get(key, {})}
            trained, results, generated = train_and_evaluate({label: run_config}, images, holdout, epochs=epochs,
                                                             run_root=run_root, num_eval=num_eval)
            if samples is not None:
                samples[f"{name}, {rule}, seed {seed}"] = generated[label][:36]
            steps = trained[label].steps
            rows.append({"setting": name, "rule": rule, "seed": seed, "image_size": image_size, **results[label],
                         "d_skipped": float(1 - np.mean([s["d_updated"] for s in steps])),
                         "g_skipped": float(1 - np.mean([s["g_updated"] for s in steps]))})
    return rows


def balance_table(rows: list[dict]) -> str:
    """A markdown table of :func:`compare_balance_rules` rows: mean and range over seeds per setting and rule."""
    lines = ["| setting | rule | seeds | steps | SWD x1e3 mean (min-max) | face rate mean (min-max) | "
             "diversity ratio mean (min-max) | D skipped | G skipped |", "|---|---|---|---|---|---|---|---|---|"]

    def spread(values, fmt):
        return f"{np.mean(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

    for setting in dict.fromkeys(r["setting"] for r in rows):
        for rule in dict.fromkeys(r["rule"] for r in rows if r["setting"] == setting):
            mine = [r for r in rows if r["setting"] == setting and r["rule"] == rule]
            faces = [r["face_rate"] for r in mine if r.get("face_rate") is not None]
            lines.append(
                f"| {setting} | {rule} | {len(mine)} | {np.mean([r['steps'] for r in mine]):.0f} | "
                f"{spread([r['swd'] for r in mine], '.1f')} | {spread(faces, '.3f') if faces else 'n/a'} | "
                f"{spread([r['diversity_ratio'] for r in mine], '.2f')} | "
                f"{np.mean([r['d_skipped'] for r in mine]):.0%} | {np.mean([r['g_skipped'] for r in mine]):.0%} |")
    return "\n".join(lines)
