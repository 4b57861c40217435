"""Faces near the real floor: the averaged generator, mirrored faces, bfloat16, their settings.

Every expected value is recomputed here with numpy (the moving average from
the raw weights recorded after each step, the batch norm statistics from
the layers' inputs, the flips from the unflipped pipeline) or taken from an
independent model (a float32 twin of a bfloat16 model).
"""

import json

import numpy as np
import pytest

from gan_helpers import averaging, cli, data, devices, runs
from gan_helpers._quiet import import_tensorflow
from helpers import run_cli, tiny_models

tf = import_tensorflow()
import keras  # noqa: E402

#: What the default precision ("auto") chooses on this machine.
AUTO = devices.auto_precision()[0]

SMALL = {"image_size": 32, "batch_size": 16, "latent_dim": 16,
         "generator": {"widths": (16, 8)}, "discriminator": {"widths": (8, 8, 8), "dense_units": (16,)}}


class RecordSteps(keras.callbacks.Callback):
    """After every step: the raw generator's trainable weights and whether the step updated G."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        self.weights, self.g_updated = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append([v.numpy().astype(np.float64) for v in self.generator.trainable_variables])
        self.g_updated.append(float(self.model.last_step["g_updated"].numpy()) > 0)


def assert_images_close(a, b):
    """uint8 images from two ways of running the same model: equal up to one level of rounding."""
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def numpy_average(initial, recorded, g_updated, max_decay):
    """The warmed-up exponential moving average, in float64, over the steps that updated G."""
    average = [w.astype(np.float64) for w in initial]
    t = 0
    for weights, updated in zip(recorded, g_updated):
        if not updated:
            continue
        decay = min(max_decay, (1 + t) / (10 + t))
        average = [decay * a + (1 - decay) * w for a, w in zip(average, weights)]
        t += 1
    return average, t


# -- the averaged generator ----------------------------------------------------

def test_warmup_decay_follows_the_formula():
    assert [averaging.warmup_decay(t, 0.999) for t in (0, 1, 90)] == [0.1, 2 / 11, 91 / 100]
    assert averaging.warmup_decay(10_000, 0.999) == 0.999
    assert averaging.warmup_decay(5, 0.2) == 0.2
    with pytest.raises(ValueError, match=r"max_decay must be a number in \(0, 1\).*Received: max_decay=1"):
        averaging.GeneratorAverage(runs.build(runs.default_config(**SMALL)).generator, 1)


@pytest.mark.parametrize("settings, max_decay, epochs", [
    ({"balance": "always"}, 0.5, 3),    # G updated at every step; the cap is reached after 8 updates
    # The balance rule skips some of G's turns (at the blog's rates on these tiny models): not averaged.
    ({"balance": "margin", **runs.BLOG_RECIPE}, 0.9, 3),  # (its ema_decay is replaced by max_decay)
    ({"model": "wgan-gp"}, 0.5, 6),     # 5 critic steps per generator step
])
def test_the_averaged_generator_is_the_moving_average_of_the_raw_weights(drawn, settings, max_decay, epochs):
    run = runs.Run({**SMALL, **settings, "ema_decay": max_decay, "seed": 2}, None, images=drawn[:64])
    initial = [v.numpy() for v in run.gan.generator.trainable_variables]
    recorder = RecordSteps(run.gan.generator)
    with tiny_models():
        run.train(epochs=epochs, verbose=0, callbacks=[recorder])
    expected, updates = numpy_average(initial, recorder.weights, recorder.g_updated, max_decay)
    assert len(recorder.weights) == len(run.steps) == epochs * 4
    if settings.get("balance") != "always":
        assert 0 < updates < len(run.steps), "this case must have steps with and without a generator update"
    assert int(run.average.updates.numpy()) == updates
    averaged = run.average.averaged.trainable_variables
    assert len(averaged) == len(expected)
    for got, want, raw in zip(averaged, expected, recorder.weights[-1]):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    # Not trivially the raw generator: the last raw weights differ from the average.
    assert any(not np.allclose(g.numpy(), r, rtol=1e-3, atol=1e-5) for g, r in zip(averaged, recorder.weights[-1]))


def test_averaging_leaves_the_training_itself_unchanged(drawn):
    plain = runs.Run({**SMALL, "seed": 5, "ema_decay": 0}, None, images=drawn[:64])
    averaged = runs.Run({**SMALL, "seed": 5, "ema_decay": 0.9}, None, images=drawn[:64])
    with tiny_models():
        plain.train(epochs=2, verbose=0)
    with tiny_models():
        averaged.train(epochs=2, verbose=0)
    for a, b in zip(plain.gan.generator.variables + plain.gan.discriminator.variables,
                    averaged.gan.generator.variables + averaged.gan.discriminator.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert plain.steps == averaged.steps


def test_batch_norm_statistics_of_the_average_are_its_own(drawn):
    run = runs.Run({**SMALL, "balance": "always", "seed": 6, "ema_decay": 0.9}, None, images=drawn[:64])
    with tiny_models():
        run.train(epochs=2, verbose=0)
    average = run.average
    layers = averaging.batch_norm_layers(average.averaged)
    assert len(layers) == 3  # the projection's and each block's
    others = [v for v in average.averaged.non_trainable_variables if "seed_generator" in v.path]
    seed_states = [v.numpy() for v in others]
    model = average.model  # refreshes the statistics
    got = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
    # The pass in training mode put the dropout seed states back: the statistics depend on the weights alone.
    for variable, before in zip(others, seed_states):
        np.testing.assert_array_equal(variable.numpy(), before)
    # Independently: each layer's inputs, with the averaged model in training mode on the same noise batches
    # (the same dropout masks, as the seed states start where the refresh started), then numpy moments.
    inputs = keras.Model(model.input, [layer.input for layer in layers])
    per_batch = [[x.numpy().astype(np.float64) for x in inputs(noise, training=True)]
                 for noise in average.statistics_noise]
    for i, (mean, variance) in enumerate(got):
        axes = tuple(range(per_batch[0][i].ndim - 1))
        want_mean = np.mean([batch[i].mean(axis=axes) for batch in per_batch], axis=0)
        want_variance = np.mean([batch[i].var(axis=axes) for batch in per_batch], axis=0)
        np.testing.assert_allclose(mean, want_mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(variance, want_variance, rtol=1e-3, atol=1e-5)
        raw = run.gan.generator.get_layer(layers[i].name)
        assert not np.allclose(raw.moving_mean.numpy(), mean, rtol=1e-3, atol=1e-5), "not a copy of the raw G's"


def test_standing_statistics_are_the_means_of_the_batch_moments_and_keep_the_momenta():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(7), keras.layers.BatchNormalization(momentum=0.9),
                              keras.layers.Dense(4), keras.layers.BatchNormalization(momentum=0.8)])
    noise = np.random.default_rng(0).normal(size=(3, 32, 5)).astype(np.float32)
    averaging.standing_statistics(model, noise)
    layers = averaging.batch_norm_layers(model)
    assert [layer.momentum for layer in layers] == [0.9, 0.8]
    # Independently, in numpy: the first layer's statistics from the Dense layer's outputs, then the second's
    # from the Dense layer after the first normalised each batch by its own moments (training mode).
    w1, b1 = model.layers[0].get_weights()
    g1, be1 = layers[0].gamma.numpy(), layers[0].beta.numpy()
    w2, b2 = model.layers[2].get_weights()
    first = [z.astype(np.float64) @ w1 + b1 for z in noise]
    normed = [(x - x.mean(0)) / np.sqrt(x.var(0) + layers[0].epsilon) * g1 + be1 for x in first]
    second = [x @ w2 + b2 for x in normed]
    for layer, outputs in zip(layers, (first, second)):
        np.testing.assert_allclose(layer.moving_mean.numpy(), np.mean([x.mean(0) for x in outputs], axis=0),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), np.mean([x.var(0) for x in outputs], axis=0),
                                   rtol=1e-3, atol=1e-5)


def test_sampling_saving_and_snapshots_use_the_averaged_generator(drawn, tmp_path, monkeypatch):
    saved = []
    real_save_model = runs.checkpoints.save_model
    monkeypatch.setattr(runs.checkpoints, "save_model", lambda model, path: saved.append(model) or real_save_model(model, path))
    run = runs.Run({**SMALL, "balance": "always", "seed": 7, "ema_decay": 0.9, "precision": "float32"}, tmp_path / "r",
                   images=drawn[:64])
    with tiny_models():
        run.train(epochs=1, verbose=0, snapshot_minutes=[1e-6])
    assert (tmp_path / "r" / "snapshots").is_dir() and saved[0] is run.average.averaged  # the snapshot
    assert saved[-1] is run.average.averaged  # generator.keras
    noise = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    raw = run.sample(noise, averaged=False)
    averaged = run.sample(noise)
    assert_images_close(raw, data.to_uint8(run.gan.generator(noise, training=False).numpy()))
    assert_images_close(averaged, data.to_uint8(run.average.model(noise, training=False).numpy()))
    np.testing.assert_array_equal(run.sample(noise, averaged=True), averaged)
    assert np.abs(raw.astype(int) - averaged.astype(int)).mean() > 1
    reloaded = keras.models.load_model(tmp_path / "r" / "generator.keras")
    assert_images_close(data.to_uint8(reloaded(noise).numpy()), averaged)
    np.testing.assert_array_equal(run.last_samples, run.sample(run.fixed_noise))  # the monitor's batch
    assert "averaged G" in run.title()

    plain = runs.Run({**SMALL, "seed": 7, "ema_decay": 0}, None, images=drawn[:64])
    assert plain.average is None and plain.generator() is plain.gan.generator
    with pytest.raises(ValueError, match="no averaged generator.*Received: averaged=True"):
        plain.sample(noise, averaged=True)


def test_train_and_evaluate_measures_the_averaged_generator(drawn, tmp_path):
    with tiny_models():
        trained, _, samples = runs.train_and_evaluate({"a": {**SMALL, "ema_decay": 0.9}}, drawn[:64], drawn[64:],
                                                      minutes=0.01, num_eval=8)
    run = trained["a"]
    noise = np.random.default_rng(1).normal(size=(8, 16)).astype(np.float32)
    assert_images_close(samples["a"], data.to_uint8(run.average.model(noise, training=False).numpy()))


def test_checkpoints_keep_the_average_and_runs_without_it_keep_the_old_layout(drawn, tmp_path):
    for name, ema in (("plain", None), ("averaged", 0.9)):
        run = runs.Run({**SMALL, "seed": 8, "ema_decay": ema}, tmp_path / name, images=drawn[:32])
        with tiny_models():
            run.train(epochs=1, verbose=0)
        with np.load(tmp_path / name / runs.CHECKPOINT) as saved:
            keys = [k for k in saved.files if not k.startswith("__")]
        model = run.gan
        expected = ([f"generator/{i:04d}" for i in range(len(model.generator.variables))]
                    + [f"discriminator/{i:04d}" for i in range(len(model.discriminator.variables))]
                    + [f"g_optimizer/{i:04d}" for i in range(len(model.g_optimizer.variables))]
                    + [f"d_optimizer/{i:04d}" for i in range(len(model.d_optimizer.variables))]
                    + [f"gan/{i:04d}" for i in range(3)])
        if ema:
            expected += [f"averaged_generator/{i:04d}" for i in range(len(model.generator.variables) + 1)]
        assert sorted(keys) == sorted(expected)


def test_a_run_with_averaging_and_mirrored_faces_resumes_exactly(drawn, tmp_path):
    config = {**SMALL, "balance": "always", "seed": 9, "ema_decay": 0.9, "mirror": True}
    straight = runs.Run(config, tmp_path / "straight", images=drawn[:64])
    with tiny_models():
        straight.train(epochs=2, verbose=0)
    first = runs.Run(config, tmp_path / "resumed", images=drawn[:64])
    with tiny_models():
        first.train(epochs=1, verbose=0)
    del first
    resumed = runs.Run.resume(tmp_path / "resumed", images=drawn[:64])
    assert resumed.epoch == 1 and resumed.average is not None
    with tiny_models():
        resumed.train(epochs=2, verbose=0)
    stored = json.loads((tmp_path / "resumed" / "config.json").read_text())
    assert (stored["ema_decay"], stored["mirror"], stored["precision"]) == (0.9, True, AUTO)
    assert int(resumed.average.updates.numpy()) == int(straight.average.updates.numpy()) > 0
    for a, b in zip(straight.average.model.variables + straight.gan.generator.variables,
                    resumed.average.model.variables + resumed.gan.generator.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    # The resumed average must not have started again from the initial weights (it would differ).
    fresh = runs.Run(config, None, images=drawn[:64])
    assert any(not np.allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-5)
               for a, b in zip(resumed.average.averaged.trainable_variables,
                               fresh.average.averaged.trainable_variables))


# -- mirrored faces ------------------------------------------------------------

def _epoch(dataset):
    """A dataset's images as uint8, in order (the inverse of make_dataset's scaling, computed here)."""
    return np.concatenate([np.round((batch.numpy() + 1.0) * 127.5).astype(np.uint8) for batch in dataset])


def test_mirror_flips_about_half_of_the_faces_and_the_seed_fixes_which():
    images = np.random.default_rng(0).integers(0, 256, size=(240, 8, 8, 3), dtype=np.uint8)
    plain = _epoch(data.make_dataset(images, 16, seed=5))
    mirrored = _epoch(data.make_dataset(images, 16, seed=5, mirror=True))
    assert mirrored.shape == images.shape
    # Each image of the epoch is an original or its exact left-right flip, and every original appears once.
    originals = {image.tobytes(): i for i, image in enumerate(images)}
    flipped_originals = {np.flip(image, axis=1).tobytes(): i for i, image in enumerate(images)}
    found, flips = [], []
    for image in mirrored:
        flipped = image.tobytes() not in originals
        flips.append(flipped)
        found.append(flipped_originals[image.tobytes()] if flipped else originals[image.tobytes()])
    assert sorted(found) == list(range(len(images)))
    assert 0.35 < np.mean(flips) < 0.65, np.mean(flips)
    # The order is the unmirrored pipeline's: position by position, the same image or its flip (axis 2 of a batch).
    np.testing.assert_array_equal(np.where(np.array(flips)[:, None, None, None], np.flip(plain, axis=2), plain),
                                  mirrored)
    # The same seed gives the same flips; another seed, and another pass over the dataset, give others.
    np.testing.assert_array_equal(_epoch(data.make_dataset(images, 16, seed=5, mirror=True)), mirrored)
    other_seed = _epoch(data.make_dataset(images, 16, seed=6, mirror=True))
    other_plain = _epoch(data.make_dataset(images, 16, seed=6))
    other_flips = [not np.array_equal(a, b) for a, b in zip(other_seed, other_plain)]
    assert other_flips != flips and 0.35 < np.mean(other_flips) < 0.65
    dataset = data.make_dataset(images, 16, seed=5, shuffle=False, mirror=True)
    first, second = _epoch(dataset), _epoch(dataset)
    assert not np.array_equal(first, second)
    # mirror=False is the pipeline it always was: no image flipped.
    np.testing.assert_array_equal(_epoch(data.make_dataset(images, 16, shuffle=False)), images)
    with pytest.raises(ValueError, match="mirror must be True or False. Received: mirror='yes'"):
        data.make_dataset(images, 16, mirror="yes")


def test_a_run_with_mirror_trains_on_mirrored_faces(drawn, monkeypatch):
    calls = []
    real_make_dataset = data.make_dataset
    monkeypatch.setattr(data, "make_dataset", lambda *a, **k: calls.append(k) or real_make_dataset(*a, **k))
    for mirror in (False, True):
        with tiny_models():
            runs.Run({**SMALL, "mirror": mirror}, None, images=drawn[:32]).train(epochs=2, verbose=0)
    assert [(c["mirror"], c["seed"]) for c in calls] == [(False, 0), (False, 1), (True, 0), (True, 1)]


# -- bfloat16 ------------------------------------------------------------------

def _compute_dtypes(model):
    return {layer.compute_dtype for layer in model.layers if layer.weights}


@pytest.mark.parametrize("model", ["gan", "wgan-gp"])
def test_bfloat16_computes_in_bfloat16_and_keeps_float32_state(model):
    before = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("float16")  # a global policy the build must leave as it found it
        half = runs.build(runs.default_config(**SMALL, model=model, precision="bfloat16", seed=3))
        assert keras.config.dtype_policy().name == "float16"
        full = runs.build(runs.default_config(**SMALL, model=model, precision="float32", seed=3))  # the config decides
        assert keras.config.dtype_policy().name == "float16"
        with pytest.raises(ValueError, match="no argument .bogus."):  # a failed build puts the policy back too
            runs.build(runs.default_config(**{**SMALL, "generator": {"bogus": 1}}, precision="bfloat16"))
        assert keras.config.dtype_policy().name == "float16"
    finally:
        keras.config.set_dtype_policy(before)
    d_half, d_full = (m.critic if model != "gan" else m.discriminator for m in (half, full))
    assert _compute_dtypes(half.generator) == _compute_dtypes(d_half) == {"bfloat16"}
    assert _compute_dtypes(full.generator) == _compute_dtypes(d_full) == {"float32"}
    for variable in half.generator.variables + d_half.variables + half.g_optimizer.variables \
            + half.d_optimizer.variables:
        assert variable.dtype in ("float32", "int64"), (variable.path, variable.dtype)
    # The same weights as the float32 twin (built with the same seed), the same function up to bfloat16 rounding,
    # with float32 outputs.
    for a, b in zip(half.generator.variables + d_half.variables, full.generator.variables + d_full.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    noise = np.random.default_rng(0).normal(size=(16, 16)).astype(np.float32)
    images_half, images_full = half.generator(noise), full.generator(noise)
    logits_half, logits_full = d_half(images_full), d_full(images_full)
    assert images_half.dtype == logits_half.dtype == tf.float32
    assert 0 < np.abs(images_half.numpy() - images_full.numpy()).max() < 0.1
    np.testing.assert_allclose(logits_half.numpy(), logits_full.numpy(),
                               atol=0.05 * np.abs(logits_full.numpy()).max() + 1e-3)


@pytest.mark.parametrize("model", ["gan", "wgan-gp"])
def test_bfloat16_training_steps_give_finite_float32_metrics(drawn, model):
    run = runs.Run({**SMALL, "model": model, "precision": "bfloat16", "ema_decay": 0.9, "seed": 4}, None,
                   images=drawn[:64])
    before = [v.numpy() for v in run.gan.generator.trainable_variables]
    run.train(epochs=2 if model == "gan" else 3, verbose=0)
    assert len(run.steps) >= 8 and all(np.isfinite(v) for row in run.steps for k, v in row.items() if k != "loss_g")
    for name, tracker in run.gan.trackers.items():
        assert tracker.result().dtype == tf.float32, name
    assert int(run.gan.g_optimizer.iterations.numpy()) > 0
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, run.gan.generator.trainable_variables))
    assert all(v.dtype == "float32" for v in run.gan.generator.trainable_variables + run.average.averaged.weights
               if "seed" not in v.path)
    assert _compute_dtypes(run.average.model) == {"bfloat16"}
    assert run.sample(run.fixed_noise[:4]).dtype == np.uint8


# -- settings, old runs, the command line ---------------------------------------

def test_the_gan_defaults_to_half_the_blog_rates_with_an_averaged_generator():
    config = runs.default_config()
    assert (config["d_learning_rate"], config["g_learning_rate"], config["ema_decay"]) == (5e-4, 5e-4, 0.999)
    assert (config["mirror"], config["precision"]) == (False, AUTO)  # "auto": what this machine's hardware computes
    gan = runs.build(runs.default_config(**SMALL))
    assert [float(o.learning_rate) for o in (gan.d_optimizer, gan.g_optimizer)] == pytest.approx([5e-4, 5e-4])
    assert runs.Run(SMALL, None, images=np.zeros((4, 32, 32, 3), np.uint8)).average is not None
    # Anything given is kept, None included: None is the reference rate (the blog's 1e-3) and no average.
    blog = runs.default_config(**runs.BLOG_RECIPE)
    assert (blog["d_learning_rate"], blog["g_learning_rate"], blog["ema_decay"]) == (1e-3, 1e-3, None)
    given = runs.default_config(d_learning_rate=None, ema_decay=0)
    assert (given["d_learning_rate"], given["g_learning_rate"], given["ema_decay"]) == (None, 5e-4, None)
    gan = runs.build(runs.default_config(**SMALL, d_learning_rate=None))
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3)
    # The WGANs keep their papers' settings.
    for model, rate in (("wgan", 5e-5), ("wgan-gp", 1e-4)):
        config = runs.default_config(model=model)
        assert (config["d_learning_rate"], config["ema_decay"]) == (None, None)
        assert float(runs.build(runs.default_config(**SMALL, model=model)).d_optimizer.learning_rate) == \
            pytest.approx(rate)


def test_settings_are_checked():
    assert runs.default_config(ema_decay=0)["ema_decay"] is None
    for value in (1, 1.5, -0.1, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match=r"ema_decay must be a number in \[0, 1\).*Received: ema_decay="):
            runs.default_config(ema_decay=value)
    with pytest.raises(ValueError, match="mirror must be true or false. Received: mirror='yes'"):
        runs.default_config(mirror="yes")
    with pytest.raises(ValueError, match="precision must be auto or one of float32, bfloat16. Received: precision='float16'"):
        runs.default_config(precision="float16")


def test_old_run_folders_resume_as_they_were_trained(drawn, tmp_path):
    folder = tmp_path / "old"
    old_defaults = {"d_learning_rate": None, "g_learning_rate": None}  # a folder that stored None: the blog's 1e-3
    with tiny_models():
        runs.Run({**SMALL, "seed": 10, **old_defaults, "ema_decay": None}, folder, images=drawn[:32]).train(
            epochs=1, verbose=0)
    config = json.loads((folder / "config.json").read_text())
    for key in ("ema_decay", "mirror", "precision", "d_learning_rate", "g_learning_rate"):
        del config[key]  # a run stored before these settings existed (or a hand-written config without the rates)
    (folder / "config.json").write_text(json.dumps(config))
    assert {k: runs.upgrade_config(config)[k] for k in ("ema_decay", "mirror", "precision")} == \
        {"ema_decay": None, "mirror": False, "precision": "float32"}
    # Stored values are kept, whatever the defaults become.
    assert runs.upgrade_config({**config, "ema_decay": 0.99, "mirror": True})["ema_decay"] == 0.99
    # Today's defaults are other settings: the folder is refused, naming them, rather than continued with them.
    with pytest.raises(ValueError, match=r"other settings \(d_learning_rate, ema_decay, g_learning_rate: 0.001 there, "
                                         r"0.0005 here"):
        runs.Run.open(SMALL | {"seed": 10}, folder, images=drawn[:32])
    # The blog's recipe by value (1e-3) is the rate that None stored: the same run, continued.
    assert runs.Run.open(SMALL | {"seed": 10, **runs.BLOG_RECIPE}, folder, images=drawn[:32]).epoch == 1
    resumed = runs.Run.open(SMALL | {"seed": 10, **old_defaults, "ema_decay": None}, folder, images=drawn[:32])
    assert resumed.epoch == 1 and resumed.average is None and not resumed.config["mirror"]
    assert float(resumed.gan.d_optimizer.learning_rate) == pytest.approx(1e-3)  # the rate it was trained with
    assert _compute_dtypes(resumed.gan.generator) == {"float32"}
    with np.load(folder / runs.CHECKPOINT) as saved:
        np.testing.assert_array_equal(saved["generator/0000"], resumed.gan.generator.variables[0].numpy())
    with tiny_models():
        resumed.train(epochs=2, verbose=0)
    assert resumed.epoch == 2


def test_the_command_line_passes_the_settings_and_checks_them(face_folder, tmp_path, capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--data", str(face_folder), "--epochs", "1", "--out", str(tmp_path / "r"),
                              "--ema-decay", "0.999", "--mirror", "--precision", "bfloat16"])
    config, _ = cli._train_config(args)
    assert (config["ema_decay"], config["mirror"], config["precision"]) == (0.999, True, "bfloat16")
    args = parser.parse_args(["train", "--data", str(face_folder), "--epochs", "1", "--out", str(tmp_path / "r")])
    config, _ = cli._train_config(args)
    assert not {"ema_decay", "mirror", "precision"} & set(config)  # the defaults of runs.default_config apply
    assert runs.default_config(**{k: v for k, v in config.items()})["ema_decay"] == 0.999
    args = parser.parse_args(["train", "--data", str(face_folder), "--epochs", "1", "--out", str(tmp_path / "r"),
                              "--ema-decay", "0"])
    assert runs.default_config(**cli._train_config(args)[0])["ema_decay"] is None  # 0: no averaged generator
    for flags, fragment in ((["--ema-decay", "1"], "argument --ema-decay: must be a number from 0 up to"),
                            (["--ema-decay", "nan"], "argument --ema-decay"),
                            (["--precision", "float16"], "argument --precision: invalid choice")):
        with pytest.raises(SystemExit) as stopped:
            parser.parse_args(["train", "--epochs", "1", *flags])
        assert stopped.value.code == 2 and fragment in capsys.readouterr().err
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    assert cli.main(["train", "--resume", str(run_dir), "--epochs", "2", "--mirror", "--ema-decay", "0.9"]) == 2
    assert "drop --ema-decay, --mirror" in capsys.readouterr().err


@pytest.mark.slow
def test_train_and_resume_with_the_new_flags_from_the_command_line(face_folder, tmp_path, cli_env):
    def cli_run(*args):
        return run_cli(*args, **cli_env)

    out = tmp_path / "r"
    small = json.dumps({k: v for k, v in SMALL.items() if k != "image_size"})
    result = cli_run("train", "--data", str(face_folder), "--size", "32", "--crop", "0", "--out", str(out),
                     "--config", small, "--epochs", "1", "--quiet", "--ema-decay", "0.9", "--mirror",
                     "--precision", "bfloat16")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert (config["ema_decay"], config["mirror"], config["precision"]) == (0.9, True, "bfloat16")
    with np.load(out / runs.CHECKPOINT) as saved:
        assert any(name.startswith("averaged_generator/") for name in saved.files)
    generator = keras.models.load_model(out / "generator.keras")
    assert _compute_dtypes(generator) == {"bfloat16"}
    assert generator(np.zeros((2, 16), np.float32)).dtype == tf.float32
    result = cli_run("train", "--resume", str(out), "--epochs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Trained 2 epoch(s)" in result.stdout


def test_auto_precision_follows_the_hardware_and_is_recorded(monkeypatch, tmp_path, drawn):
    from gan_helpers import devices

    for flags, precision, reason in [({"avx2", "fma", "avx512_bf16"}, "bfloat16", "AVX512_BF16"),
                                     ({"avx2", "amx_bf16", "amx_tile"}, "bfloat16", "AMX_BF16"),
                                     ({"avx2", "fma", "avx512f"}, "float32", "no bfloat16 units")]:
        monkeypatch.setattr(devices, "cpu_flags", lambda flags=flags: flags)
        monkeypatch.setattr(devices, "_gpu_capabilities", lambda: [])  # the CPU decides on a machine without GPUs
        config = runs.default_config(**SMALL)
        assert config["precision"] == precision and reason in config["precision_reason"], config
        forced = runs.default_config(**SMALL, precision="float32")
        assert (forced["precision"], forced["precision_reason"]) == ("float32", "given")
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx512_bf16"})
    run = runs.Run({**SMALL, "balance": "always"}, tmp_path / "r", images=drawn[:32])
    with tiny_models():
        run.train(epochs=1, verbose=0)
    stored = json.loads((tmp_path / "r" / "config.json").read_text())
    assert stored["precision"] == "bfloat16" and "AVX512_BF16" in stored["precision_reason"]
    assert _compute_dtypes(run.gan.generator) == {"bfloat16"}
    monkeypatch.setattr(devices, "cpu_flags", lambda: set())  # resumed on a CPU without: keeps what it trained in
    assert runs.Run.resume(tmp_path / "r", images=drawn[:32]).config["precision"] == "bfloat16"


def test_auto_precision_weighs_the_length_of_a_run(monkeypatch, tmp_path, faces_dir):
    from gan_helpers.runs.budget import Budget
    from gan_helpers.runs.settings import resolve_precision

    monkeypatch.setattr(devices, "_gpu_capabilities", lambda: [])
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    cases = [(Budget(minutes=10), {}, "bfloat16"), (Budget(minutes=44.9), {}, "bfloat16"),
             (Budget(minutes=45), {}, "float32"), (Budget(minutes=80), {}, "float32"),
             (Budget(steps=4649), {}, "bfloat16"), (Budget(steps=4650), {}, "float32"),
             (Budget(epochs=28), {"steps_per_epoch": 165}, "bfloat16"),  # 4,620 steps of LFW
             (Budget(epochs=29), {"steps_per_epoch": 165}, "float32"),
             (Budget(epochs=4000), {"steps_per_epoch": 1}, "bfloat16"),  # a small folder: 4,000 quick steps
             (Budget(epochs=100), {}, "bfloat16"),  # steps unknown: the epochs do not decide
             (Budget(epochs=5, minutes=80), {"steps_per_epoch": 165}, "bfloat16"),  # stops after 825 steps
             (Budget(minutes=80, generator_iterations=100), {}, "bfloat16"),
             (Budget(minutes=80), {"model": "wgan-gp"}, "bfloat16"),  # measured on the balanced GAN only
             (None, {}, "bfloat16")]
    for budget, given, expected in cases:
        precision, reason = resolve_precision("auto", budget=budget, **given)
        assert precision == expected and "AMX_BF16" in reason, (budget, given, precision, reason)
    assert "a run of 80 minutes" in resolve_precision("auto", budget=Budget(minutes=80))[1]
    assert resolve_precision("bfloat16", "given", budget=Budget(minutes=80)) == ("bfloat16", "given")
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2"})  # no bfloat16 units: float32 at any length
    assert resolve_precision("auto", budget=Budget(minutes=5))[0] == "float32"
    monkeypatch.setattr(devices, "_gpu_capabilities", lambda: [(8, 0)])  # not measured on a GPU: by hardware
    assert resolve_precision("auto", budget=Budget(minutes=80))[0] == "bfloat16"

    # The command line passes its budget (epochs as the folder's steps); a precision given is kept.
    monkeypatch.setattr(devices, "_gpu_capabilities", lambda: [])
    monkeypatch.setattr(devices, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    started = []
    monkeypatch.setattr(runs.Run, "train", lambda run, **budget: started.append(run))
    # faces_dir: 96 faces, 76 after the held-out fifth, so 4 steps an epoch at batch 16
    for i, (flags, precision, reason) in enumerate([
            (["--minutes", "60"], "float32", "a run of 60 minutes"), (["--epochs", "1150"], "bfloat16", "AMX_BF16"),
            (["--epochs", "1200"], "float32", "about 4,800 steps"),
            (["--minutes", "60", "--precision", "bfloat16"], "bfloat16", "given"),
            (["--minutes", "60", "--config", '{"precision": "auto", "batch_size": 16}'], "float32", "60 minutes"),
            (["--minutes", "60", "--model", "wgan-gp"], "bfloat16", "AMX_BF16")]):
        config = ["--config", '{"batch_size": 16}'] if "--config" not in flags else []
        with tiny_models():
            assert cli.main(["train", "--data", str(faces_dir), "--size", "32", "--out", str(tmp_path / f"r{i}"),
                             "--quiet", *config, *flags]) == 0
        settings = started[-1].config  # what config.json records at the first epoch's end
        assert settings["precision"] == precision and reason in settings["precision_reason"], (flags, settings)
        assert _compute_dtypes(started[-1].gan.generator) == {precision}
