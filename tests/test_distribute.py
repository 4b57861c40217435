"""The balanced GAN under tf.distribute: the same steps as on one device.

Logical devices must be configured before TensorFlow starts its runtime, so each
check runs in a fresh Python process (as tests/test_wgan.py's mirrored test does).

Noise: under MirroredStrategy every replica draws the whole global batch's noise from
the model's (mirrored) seed state, as one device does, and keeps its own slice
(gan_helpers.devices.replica_noise), so a step's noise is the one-device noise. The models here
have no dropout and no batch norm: their random masks and batch statistics are per
replica and cannot equal one device's.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: Every test here starts TensorFlow in one or more further processes.
pytestmark = pytest.mark.slow

#: The scripts below run in fresh processes: make them import this checkout's gan_helpers, whatever
#: checkout an editable install points to.
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}

MIRRORED = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf  # configure two logical CPUs before anything starts the runtime
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from gan_helpers import balance, models, training

    STEPS, BATCH = 3, 8
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (STEPS * BATCH, 32, 32, 3)).astype("float32")
    # In the first batch the first replica's half is bright, the second's random: the first replica's
    # own err_real differs from the global batch's, so a decision taken on its numbers differs.
    real[:BATCH // 2] = rng.uniform(0.6, 1, (BATCH // 2, 32, 32, 3))

    class ThresholdRule(balance.BalanceRule):
        """Skip D when err_real is within radius of center; G always trains."""
        def __init__(self, center, radius):
            self.center, self.radius = center, radius
        def decide(self, err_real, err_fake, d_real_success, d_fake_success):
            return tf.abs(err_real - self.center) >= self.radius, tf.constant(True)

    def build(optimizer):
        keras.utils.set_random_seed(0)
        g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8), batch_norm=False, dropout=0.0)
        d = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,), conv_dropout=0,
                                       dense_dropout=0)
        gan = training.GAN(g, d, "always", seed=5)
        make = {"sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
                "rmsprop": lambda: keras.optimizers.RMSprop(1e-3, rho=0.9)}[optimizer]
        gan.compile(make(), make())
        return gan

    def run(strategy, optimizer, rule):
        with strategy.scope():
            gan = build(optimizer)
            gan.balance_rule = rule
        rows = []
        class Rows(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                rows.append({k: float(v.numpy()) for k, v in gan.last_step.items()})
        history = gan.fit(tf.data.Dataset.from_tensor_slices(real).batch(BATCH), epochs=1, verbose=0,
                          callbacks=[Rows()])
        variables = (gan.generator.variables + gan.discriminator.variables + gan.d_optimizer.variables
                     + gan.g_optimizer.variables + [gan.noise_seed.state])
        return {"weights": [np.asarray(v.numpy(), np.float64) for v in variables], "rows": rows,
                "skips": [int(gan.d_skips.numpy()), int(gan.g_skips.numpy())],
                "logs": {k: float(v[-1]) for k, v in history.history.items()}}

    # Skip D near the first global batch's err_real (with the initial D), within half the distance to the
    # first half's own: the global decision skips D's first turn, the first replica's own would not, and
    # the later all-random batches (err_real further away) train D.
    probe = build("sgd")
    bce = keras.losses.binary_crossentropy
    def err(images):
        logits = probe.discriminator(images, training=True)
        return float(tf.reduce_mean(bce(tf.ones_like(logits), logits, from_logits=True)))
    whole, half = err(real[:BATCH]), err(real[:BATCH // 2])
    rule = ThresholdRule(whole, abs(whole - half) / 2)

    report = {"first_err_real": [whole, half]}
    for optimizer in sys.argv[1:]:
        single = run(tf.distribute.get_strategy(), optimizer, rule)
        mirrored = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), optimizer, rule)
        report[optimizer] = {
            "weights": max(float(np.abs(a - b).max()) for a, b in zip(single["weights"], mirrored["weights"])),
            "rows": max(abs(a[k] - b[k]) for a, b in zip(single["rows"], mirrored["rows"]) for k in a),
            "logs": max(abs(single["logs"][k] - mirrored["logs"][k]) for k in single["logs"]),
            "d_updated": [[r["d_updated"] for r in single["rows"]], [r["d_updated"] for r in mirrored["rows"]]],
            "skips": [single["skips"], mirrored["skips"]],
            "moved": max(float(np.abs(a).max()) for a in single["weights"]),
        }
    print(json.dumps(report))
''')


EDITED_SCORE = textwrap.dedent('''
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from gan_helpers import models, training

    real = np.random.default_rng(1).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    exported = training.GAN.score_batch

    def edited(self, real_images, noise):  # a student's edit of notebook 03's score_batch
        score = exported(self, real_images, noise)
        return {**score, "err_real": 3.0 * score["err_real"], "d_real_success": 0.0 * score["d_real_success"] + 0.25}

    def step(score_batch):
        training.GAN.score_batch = score_batch
        with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
            keras.utils.set_random_seed(0)
            g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8), batch_norm=False, dropout=0.0)
            d = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,), conv_dropout=0,
                                           dense_dropout=0)
            gan = training.GAN(g, d, "always", seed=5)
            gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        assert gan.distribute_strategy.num_replicas_in_sync == 2
        gan.fit(tf.data.Dataset.from_tensor_slices(real).batch(8), epochs=1, verbose=0)
        return ({k: float(v.numpy()) for k, v in gan.last_step.items()},
                [np.asarray(v.numpy()) for v in gan.discriminator.trainable_variables])

    (plain, d_plain), (changed, d_changed) = step(exported), step(edited)
    print(json.dumps({"plain": plain, "changed": changed,
                      "d_moved": max(float(np.abs(a - b).max()) for a, b in zip(d_plain, d_changed))}))
''')


def test_an_edit_of_the_exported_score_batch_changes_a_distributed_run_too(tmp_path):
    """The multi-replica step calls notebook 03's score_batch: an edit reaches --distribute runs.

    The edit triples err_real (D's loss on real faces, so also its gradient) and sets D's success on real
    faces to 0.25; the two-replica run must report both and train D differently.
    """
    report = run_script(tmp_path, EDITED_SCORE)
    plain, changed = report["plain"], report["changed"]
    assert changed["d_real_success"] == 0.25, report
    assert abs(changed["err_real"] - 3 * plain["err_real"]) < 1e-5 * max(1.0, plain["err_real"]), report
    assert abs(changed["err_fake"] - plain["err_fake"]) < 1e-6, report  # the same step otherwise
    assert report["d_moved"] > 1e-6, report


def run_script(tmp_path, source, *args, timeout=600):
    script = tmp_path / "script.py"
    script.write_text(source)
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                            env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_balanced_gan_under_mirrored_strategy_equals_one_device(tmp_path):
    """Three steps on 2 logical CPUs equal three steps on one device, D's first turn skipped.

    SGD with momentum makes a missing 1/replicas loss scale visible (RMSProp divides it out);
    RMSProp is the run's own optimizer, whose state a skipped turn must leave alone.
    """
    report = run_script(tmp_path, MIRRORED, "sgd", "rmsprop")
    whole, half = report["first_err_real"]
    assert abs(whole - half) > 0.01, report  # the replicas' own numbers differ from the global batch's
    for optimizer in ("sgd", "rmsprop"):
        result = report[optimizer]
        single_updates, mirrored_updates = result["d_updated"]
        assert single_updates == mirrored_updates == [0.0, 1.0, 1.0], result  # D's first turn skipped, then trained
        assert result["skips"] == [[1, 0], [1, 0]], result
        assert result["weights"] < 1e-5, result  # weights, optimizer state, noise seed state
        assert result["rows"] < 1e-5 and result["logs"] < 1e-5, result  # monitor rows and fit's logs: global


# -- two worker processes (MultiWorkerMirroredStrategy, TF_CONFIG) --------------------

WORKER = textwrap.dedent('''
    import json, os, sys
    mode, run_dir, images_path, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    from gan_helpers import devices
    if mode == "worker":
        devices.configure_devices("multi-worker")  # before TensorFlow starts (importing runs starts it)
    import numpy as np
    from gan_helpers import runs

    config = {"image_size": 32, "latent_dim": 8, "batch_size": 8, "seed": 2, "num_fixed": 8, "holdout": 0.0,
              "precision": "float32",  # exact equality with one process is a float32 promise
              "generator": {"widths": [8, 8], "batch_norm": False, "dropout": 0.0},
              "discriminator": {"widths": [4, 8, 8], "dense_units": [8], "conv_dropout": 0, "dense_dropout": 0}}
    if mode == "worker":
        config["distribute"] = "multi-worker"
    images = np.load(images_path)
    if len(sys.argv) > 5 and sys.argv[5] == "resume":
        run = runs.Run.resume(run_dir, images=images)
    else:
        run = runs.Run(config, run_dir, images=images)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny models: the mode-collapse warning is expected
        run.train(epochs=epochs, verbose=0)
    print(json.dumps({"chief": run.is_chief, "replicas": run.config["replicas"], "epoch": run.epoch}))
''')


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(script, run_dir, images, epochs, *extra):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen([sys.executable, str(script), "worker", str(run_dir), str(images),
                                           str(epochs), *extra], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    return processes


def finish(processes, timeout):
    """Wait for every process (bounded), stop any left, and return their outputs."""
    outputs = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            outputs.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return outputs


def checkpoint_arrays(run_dir):
    """Every variable of a run's checkpoint, and its per-step records (the monitor's global values)."""
    import numpy as np

    with np.load(run_dir / "checkpoint.npz") as saved:
        return {name: saved[name] for name in saved.files if not name.startswith("__") or name == "__steps__"}


def test_two_workers_train_like_one_process(tmp_path):
    """Two worker processes on 127.0.0.1: the chief alone writes, and its checkpoint is the one-process run's."""
    import numpy as np

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), np.uint8))
    single = subprocess.run([sys.executable, str(script), "single", str(tmp_path / "single"), str(images), "1"],
                            capture_output=True, text=True, timeout=300, env=ENV)
    assert single.returncode == 0, single.stderr[-3000:]
    outputs = finish(start_workers(script, tmp_path / "multi", images, 1), timeout=300)
    for returncode, out, err in outputs:
        assert returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outputs]
    assert [r["chief"] for r in reports] == [True, False] and reports[0]["replicas"] == 2, reports
    config = json.loads((tmp_path / "multi" / "config.json").read_text())
    assert config["distribute"] == "multi-worker" and config["replicas"] == 2
    expected, got = checkpoint_arrays(tmp_path / "single"), checkpoint_arrays(tmp_path / "multi")
    assert set(expected) == set(got)
    difference = max(float(np.abs(expected[k].astype(np.float64) - got[k].astype(np.float64)).max()) for k in got)
    moved = max(float(np.abs(v).max()) for v in expected.values() if v.dtype.kind == "f")
    assert difference < 1e-5 and moved > 0, difference


def test_a_killed_worker_resumes_from_the_last_checkpoint(tmp_path):
    """Kill a worker mid-run (after the chief's first checkpoint), stop the chief, resume both: the
    run ends as one uninterrupted process does."""
    import time

    import numpy as np

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    images = tmp_path / "images.npy"
    # 3 epochs of 4 steps: over many more steps float32 rounding (the all-reduce's order of sums, amplified
    # by RMSProp where its second moment is small) drifts past 1e-5 (measured: 6e-5 after 32 steps, the
    # same with or without the kill).
    np.save(images, np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), np.uint8))
    epochs = 3
    single = subprocess.run([sys.executable, str(script), "single", str(tmp_path / "single"), str(images),
                             str(epochs)], capture_output=True, text=True, timeout=300, env=ENV)
    assert single.returncode == 0, single.stderr[-3000:]
    run_dir = tmp_path / "multi"
    processes = start_workers(script, run_dir, images, epochs)
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoint.npz").exists():  # the chief's first epoch is saved
            assert time.monotonic() < deadline and all(p.poll() is None for p in processes), "no checkpoint"
            time.sleep(0.05)
        processes[1].kill()
        time.sleep(1)
    finally:
        for process in processes:
            process.kill()  # the chief cannot go on without its peer
            process.communicate(timeout=60)
    with np.load(run_dir / "checkpoint.npz") as saved:
        stopped_at = json.loads(saved["__progress__"].tobytes().decode())["epoch"]
    assert 1 <= stopped_at < epochs, stopped_at  # killed mid-run
    outputs = finish(start_workers(script, run_dir, images, epochs, "resume"), timeout=300)
    for returncode, out, err in outputs:
        assert returncode == 0, err[-3000:]
    assert [json.loads(out.strip().splitlines()[-1])["epoch"] for _, out, _ in outputs] == [epochs, epochs]
    expected, got = checkpoint_arrays(tmp_path / "single"), checkpoint_arrays(run_dir)
    difference = max(float(np.abs(expected[k].astype(np.float64) - got[k].astype(np.float64)).max()) for k in got)
    assert difference < 1e-5, (stopped_at, difference)
