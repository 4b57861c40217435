"""WGAN and WGAN-GP: the reference schedule, clipping, the penalty, and tf.distribute."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gan_helpers import models, wgan
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402


def tiny(variant="wgan", **kwargs):
    keras.utils.set_random_seed(0)
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    c = models.build_critic(32, architecture="dcgan", width=8, batch_norm=False)
    return wgan.build_wgan(g, c, variant, seed=0, **kwargs)


def test_schedule_is_the_references():
    model = tiny()
    counts = [model.critic_iterations(i) for i in range(1200)]
    assert counts[:25] == [100] * 25 and counts[25:30] == [5] * 5
    assert counts[500] == counts[1000] == 100 and counts[501] == 5
    assert sum(c == 100 for c in counts) == 25 + 2  # iterations 0-24, 500 and 1000


def test_generator_updates_after_the_scheduled_critic_steps():
    model = tiny(n_critic=3, warmup_iterations=2, warmup_critic=4)
    real = tf.random.uniform((14 * 4, 32, 32, 3), -1, 1)
    gen_iterations = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: gen_iterations.append(int(model.gen_iterations.numpy())))
    model.fit(tf.data.Dataset.from_tensor_slices(real).batch(4), epochs=1, verbose=0, callbacks=[record])
    # 4 critic steps, G; 4 more (still warm-up), G; then 3 and 3.
    assert gen_iterations == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4]


def test_no_critic_weight_outside_the_clip_range_after_a_step():
    model = tiny()
    for variable in model.critic.trainable_variables:  # push everything far outside first
        variable.assign(tf.fill(variable.shape, 5.0))
    tf.function(model.train_step)(tf.random.uniform((4, 32, 32, 3), -1, 1))
    largest = max(float(tf.reduce_max(tf.abs(v))) for v in model.critic.trainable_variables)
    assert largest <= 0.01 + 1e-7
    assert largest > 0.009  # the weights sit on the boundary, they were clipped, not zeroed


def linear_critic(weights):
    inputs = keras.Input((2, 2, 1))
    dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(weights.reshape(4, 1)))
    return keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))


def test_penalty_matches_a_hand_computed_value():
    """D(x) = w.x + b has gradient w everywhere, so the penalty is (||w|| - 1)^2 wherever x_hat lies."""
    w = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    model = wgan.WGAN(keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))]),
                      linear_critic(w), clip_value=None, gradient_penalty=10.0)
    real = tf.random.normal((5, 2, 2, 1))
    fake = tf.random.normal((5, 2, 2, 1))
    expected = (np.sqrt((w ** 2).sum()) - 1) ** 2
    assert float(model.penalty(real, fake)) == pytest.approx(expected, rel=1e-5)
    alpha = tf.constant([0.0, 0.25, 0.5, 0.75, 1.0], shape=(5, 1, 1, 1))
    assert float(model.penalty(real, fake, alpha)) == pytest.approx(expected, rel=1e-5)


def test_penalty_gradient_is_finite_where_the_critic_gradient_is_zero():
    model = wgan.WGAN(keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))]),
                      linear_critic(np.zeros(4, np.float32)), clip_value=None, gradient_penalty=10.0)
    real, fake = tf.zeros((3, 2, 2, 1)), tf.ones((3, 2, 2, 1))
    with tf.GradientTape() as tape:
        penalty = model.penalty(real, fake)
    grads = tape.gradient(penalty, model.critic.trainable_variables)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)
    assert all(np.isfinite(g.numpy()).all() for g in grads if g is not None)


def test_bad_arguments():
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    c = models.build_critic(32, architecture="dcgan", width=8)
    with pytest.raises(ValueError, match="variant"):
        wgan.build_wgan(g, c, "lsgan")
    with pytest.raises(ValueError, match="clip_value"):
        wgan.WGAN(g, c, clip_value=-1)


DISTRIBUTED = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf  # configure two logical CPUs before anything starts the runtime
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from gan_helpers import models, wgan

    def one_step(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8), batch_norm=False, dropout=0.0)
            c = models.build_critic(32, architecture="dcgan", width=8, batch_norm=False)
            model = wgan.build_wgan(g, c, sys.argv[1], n_critic=1, warmup_iterations=0, warmup_every=0)
        rng = np.random.default_rng(1)
        real = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
        noise = rng.normal(size=(8, 8)).astype("float32")
        alpha = rng.uniform(size=(8, 1, 1, 1)).astype("float32")
        data = tf.data.Dataset.from_tensor_slices((real, noise, alpha)).batch(8)
        model.fit(data, epochs=1, verbose=0)
        return [v.numpy() for v in g.trainable_variables + c.trainable_variables], int(model.gen_iterations.numpy())

    single, g1 = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
    mirrored, g2 = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored))
    moved = max(float(np.abs(a).max()) for a in single)
    print(json.dumps({"max_difference": diff, "gen_iterations": [g1, g2], "moved": moved}))
''')


@pytest.mark.parametrize("variant", ["wgan", "wgan-gp"])
def test_one_step_under_mirrored_strategy_equals_one_device(variant, tmp_path):
    import json

    script = tmp_path / "distributed.py"
    script.write_text(DISTRIBUTED)
    result = subprocess.run([sys.executable, str(script), variant], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["gen_iterations"] == [1, 1]  # critic and generator both stepped
    assert report["max_difference"] < 1e-5, report


@pytest.mark.parametrize("variant", ["wgan", "wgan-gp"])
def test_train_sample_and_resume_from_the_command_line(variant, tmp_path):
    import json
    import os

    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "faces", people=6, per_person=8, size=64)
    config = json.dumps({"batch_size": 8, "generator": {"widths": [8, 8]},
                         "discriminator": {"widths": [4, 8, 8], "dense_units": [8]}})
    env = {**os.environ, "GAN_CACHE_DIR": str(tmp_path / "cache")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "gan_helpers", *args], capture_output=True, text=True,
                              timeout=600, env=env)

    out = tmp_path / "run"
    result = cli("train", "--model", variant, "--data", str(folder), "--size", "32", "--crop", "0",
                 "--epochs", "1", "--out", str(out), "--config", config, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wasserstein" in (out / "history.csv").read_text()
    result = cli("train", "--resume", str(out), "--epochs", "2", "--quiet")
    assert result.returncode == 0 and "Trained 2 epoch(s)" in result.stdout, result.stderr[-2000:]
    result = cli("sample", "--model", str(out), "--num", "4", "--out", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr[-2000:]
