"""The balanced GAN: rules, skipped turns, dropout in training, learning, resume, NaN, the command line."""

import json

import numpy as np
import pytest

from gan_helpers import balance, data, metrics, models, plots, runs, training
from gan_helpers._quiet import import_tensorflow
from helpers import expect_collapse, run_cli

tf = import_tensorflow()
import keras  # noqa: E402

# The blog's recipe (runs.BLOG_RECIPE: lr 1e-3, no averaged G): these tests are about the training's
# mechanics, which the tiny models show at that rate and in float32 (bfloat16 is slower on models this small);
# tests/test_quality.py covers the default's averaged G and the precisions.
SMALL = {"image_size": 32, "batch_size": 16, "latent_dim": 16,
         "generator": {"widths": (32, 16)}, "discriminator": {"widths": (8, 16, 16), "dense_units": (32,)},
         **runs.BLOG_RECIPE, "precision": "float32"}


def tiny_gan(rule="always", seed=0):
    keras.utils.set_random_seed(seed)
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    d = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,))
    gan = training.GAN(g, d, rule, seed=seed)
    gan.compile()
    return gan


# -- balance rules ------------------------------------------------------------

@pytest.mark.parametrize("err_real, err_fake, expected", [
    (0.5, 0.5, (True, True)),    # balanced: both train
    (0.1, 0.5, (False, True)),   # D too good on real: skip D
    (0.5, 0.2, (False, True)),   # D too good on fakes: skip D
    (0.9, 0.5, (True, False)),   # D losing on real: skip G
    (0.5, 0.8, (True, False)),   # D losing on fakes: skip G
    (0.1, 0.9, (True, True)),    # both would be skipped: train both
])
def test_margin_rule_is_the_blogs(err_real, err_fake, expected):
    rule = balance.get("margin", margin=0.3)
    decision = rule.decide(tf.constant(err_real), tf.constant(err_fake), tf.constant(0.5), tf.constant(0.5))
    assert tuple(bool(v) for v in decision) == expected


@pytest.mark.parametrize("real, fake, expected", [
    (0.5, 0.5, (True, True)),
    (0.95, 0.9, (False, True)),  # D too good on both halves
    (0.95, 0.1, (True, False)),  # G fools D 90% of the time: skip G
])
def test_success_rule(real, fake, expected):
    rule = balance.get("success", upper=0.8)
    decision = rule.decide(tf.constant(0.5), tf.constant(0.5), tf.constant(real), tf.constant(fake))
    assert tuple(bool(v) for v in decision) == expected


def test_rules_by_name_and_bad_names():
    assert isinstance(balance.get("always"), balance.AlwaysTrainBoth)
    assert balance.get({"name": "margin", "margin": 0.2}).margin == 0.2
    with pytest.raises(ValueError, match="choose one of"):
        balance.get("sometimes")
    with pytest.raises(ValueError, match="margin"):
        balance.get("margin", margin=0.7)


class ForcedRule(balance.BalanceRule):
    """A rule with a fixed answer, to test what a skipped turn does."""

    def __init__(self, train_d, train_g):
        self.answer = (train_d, train_g)

    def decide(self, *args):
        return tf.constant(self.answer[0]), tf.constant(self.answer[1])


def snapshot(variables):
    return [np.array(v.numpy()) for v in variables]


@pytest.mark.parametrize("train_d, train_g", [(False, True), (True, False)])
def test_a_skipped_turn_leaves_weights_and_optimizer_state_untouched(train_d, train_g):
    gan = tiny_gan()
    gan.balance_rule = ForcedRule(train_d, train_g)
    real = tf.random.uniform((8, 32, 32, 3), -1, 1)
    step = tf.function(gan.train_step)
    step(real)  # one step first, so the optimizer state is not all zeros
    skipped, trained = (gan.discriminator, gan.d_optimizer), (gan.generator, gan.g_optimizer)
    if not train_g:
        skipped, trained = trained, skipped
    before_weights = snapshot(skipped[0].trainable_variables)
    before_state = snapshot(skipped[1].variables)
    before_other = snapshot(trained[0].trainable_variables)
    step(real)
    for a, b in zip(before_weights, snapshot(skipped[0].trainable_variables)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before_state, snapshot(skipped[1].variables)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(before_other, snapshot(trained[0].trainable_variables)))
    assert int((gan.d_skips if not train_d else gan.g_skips).numpy()) == 2


def test_discriminator_dropout_is_active_in_the_training_step():
    """Two steps' D outputs on the same batch differ only through dropout when nothing is updated."""
    gan = tiny_gan()
    gan.discriminator = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,),
                                                   conv_dropout=0.5, dense_dropout=0.5)
    gan.compile()
    gan.balance_rule = ForcedRule(False, False)  # neither updates: outputs can only differ by randomness
    real = tf.random.uniform((8, 32, 32, 3), -1, 1)
    step = tf.function(gan.train_step)
    step(real)
    first = float(gan.last_step["err_real"].numpy())
    step(real)
    assert float(gan.last_step["err_real"].numpy()) != first
    without = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,), conv_dropout=0,
                                         dense_dropout=0)
    np.testing.assert_array_equal(np.asarray(without(real, training=True)), np.asarray(without(real, training=True)))


def test_step_reports_success_rates_consistently():
    gan = tiny_gan()
    logs = gan.train_step(tf.random.uniform((8, 32, 32, 3), -1, 1))
    assert set(logs) == set(training.METRIC_NAMES)
    assert float(logs["g_success"]) == pytest.approx(1 - float(logs["d_fake_success"]))
    for key in ("d_real_success", "d_fake_success", "g_success"):
        assert 0 <= float(logs[key]) <= 1


def one_step(d_batch, batch_norm):
    """A tiny GAN without dropout in D, after one step on a fixed batch: its logs and weights."""
    keras.utils.set_random_seed(3)
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    d = models.build_discriminator(image_size=32, widths=(4, 8, 8), dense_units=(8,), conv_dropout=0,
                                   dense_dropout=0, batch_norm=batch_norm)
    gan = training.GAN(g, d, "always", seed=3, d_batch=d_batch)
    gan.compile()
    real = tf.random.stateless_uniform((8, 32, 32, 3), seed=(1, 2), minval=-1, maxval=1)
    logs = gan.train_step(real)
    return logs, snapshot(d.trainable_variables) + snapshot(g.trainable_variables)


def test_mixed_batch_is_the_same_step_unless_d_has_batch_norm():
    """One D call on reals and fakes together equals two calls, except that batch norm pools their statistics."""
    logs_sep, weights_sep = one_step("separate", batch_norm=False)
    logs_mix, weights_mix = one_step("mixed", batch_norm=False)
    for key in ("err_real", "err_fake", "err_gen"):
        assert float(logs_mix[key]) == pytest.approx(float(logs_sep[key]), rel=1e-5)
    for a, b in zip(weights_sep, weights_mix):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    logs_sep, weights_sep = one_step("separate", batch_norm=True)
    logs_mix, weights_mix = one_step("mixed", batch_norm=True)
    assert float(logs_mix["err_real"]) != pytest.approx(float(logs_sep["err_real"]), rel=1e-3)
    assert any(not np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(weights_sep, weights_mix))


def test_d_batch_is_checked_and_saved():
    gan = tiny_gan()
    with pytest.raises(ValueError, match="d_batch must be one of 'separate', 'mixed'"):
        training.GAN(gan.generator, gan.discriminator, d_batch="together")
    mixed = training.GAN(gan.generator, gan.discriminator, d_batch="mixed")
    assert training.GAN.from_config(mixed.get_config()).d_batch == "mixed"
    assert runs.build(runs.default_config(**SMALL, d_batch="mixed")).d_batch == "mixed"


# -- runs: learning, resume, NaN -------------------------------------------

@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path_factory.mktemp("t") / "faces", people=16, per_person=16, size=96)
    return data.load_faces(folder, 32, crop=0, cache_dir=tmp_path_factory.mktemp("c"), progress=False)


def test_a_short_training_moves_samples_towards_the_data(drawn):
    run = runs.Run({**SMALL, "balance": "always", "seed": 1, "d_learning_rate": 2e-4, "g_learning_rate": 2e-4},
                   None, images=drawn)
    before = run.sample(run.fixed_noise)
    swd_before = metrics.swd(before, drawn[:64], patches_per_image=32)["avg"]
    run.train(epochs=12, verbose=0)
    after = run.sample(run.fixed_noise)
    swd_after = metrics.swd(after, drawn[:64], patches_per_image=32)["avg"]
    # The untrained generator draws near-constant blobs; after training the samples' patch
    # statistics must be at least 20% closer to the data's (measured: about 34%), and as varied.
    assert swd_after < 0.8 * swd_before, (swd_before, swd_after)
    assert metrics.pixel_spread(after) > 0.5 * metrics.pixel_spread(drawn)
    assert np.abs(after.mean(axis=(0, 1, 2)) - drawn.mean(axis=(0, 1, 2))).max() < 40


@pytest.mark.slow  # several whole runs, each built, trained and evaluated
def test_train_and_evaluate_reports_the_same_metrics_as_direct_calls(drawn, tmp_path):
    configs = {"a": {**SMALL, "seed": 0}, "b": {**SMALL, "seed": 1, "discriminator": {**SMALL["discriminator"],
                                                                                        "batch_norm": True}}}
    with expect_collapse():
        trained, results, samples = runs.train_and_evaluate(configs, drawn[:128], drawn[128:], minutes=0.02,
                                                            run_root=tmp_path, num_eval=60)
    assert set(trained) == set(results) == set(samples) == {"a", "b"}
    for name, run in trained.items():
        assert run.epoch >= 1 and (tmp_path / name / "generator.keras").exists()
        assert samples[name].shape == (60, 32, 32, 3)
        assert results[name]["swd"] == metrics.evaluate(samples[name], drawn[:128], drawn[128:188],
                                                        with_faces=True)["swd"]
        d = run.gan.discriminator
        assert results[name]["d_on_train_faces"] == metrics.discriminator_success(d, real=drawn[:60])["real"]
        assert results[name]["d_on_heldout_faces"] == metrics.discriminator_success(d, real=drawn[128:188])["real"]
        assert results[name]["d_on_fakes"] == metrics.discriminator_success(d, fake=samples[name])["fake"]


def test_watch_records_progress_that_matches_the_run(drawn):
    wgan_config = {**SMALL, "model": "wgan-gp", "generator_architecture": "dcgan", "critic": "dcgan",
                   "generator": {"width": 8}, "discriminator": {"width": 8}}
    run = runs.Run(wgan_config, None, images=drawn[:128])
    with expect_collapse():
        records = runs.watch(run, minutes=0.02, every=0.01, holdout=drawn[128:], num=40, num_grid=4)
        # it trains until the run's training time has grown by `minutes` (the number of chunks depends on the
        # machine's speed: a chunk can overrun its share, or, on a loaded machine, count less than it)
        assert records and records[-1]["minutes"] >= 0.02 - 1e-9
        records += runs.watch(run, minutes=0.01, every=0.01, holdout=drawn[128:], num=40, num_grid=4)
    assert len(records) >= 2 and records[-1]["minutes"] >= 0.03 - 1e-9
    assert [r["minutes"] for r in records] == sorted({r["minutes"] for r in records})  # strictly growing
    assert [r["steps"] for r in records] == sorted({r["steps"] for r in records})  # strictly growing
    last = records[-1]
    assert last["steps"] == len(run.steps) and last["generator_iterations"] == run.generator_iterations
    assert abs(last["minutes"] - run.seconds / 60) < 1e-9
    # the samples come from the same fixed noise (seed 1) as evaluate_run's, and the SWD is measured on them
    result, generated = runs.evaluate_run(run, drawn[:128], drawn[128:], num_eval=40)
    np.testing.assert_array_equal(last["samples"], generated[:4])
    assert last["swd"] == metrics.swd(generated, drawn[128:168], patches_per_image=64)["avg"]
    assert result["swd"] == metrics.evaluate(generated, drawn[:128], drawn[128:168], with_faces=False)["swd"]
    assert result["generator_iterations"] == run.generator_iterations and "d_on_fakes" not in result
    at_g = [s["wasserstein"] for s in run.steps if s["g_updated"] >= 0.5]
    assert last["estimate"] == float(np.median(at_g[-50:]))
    # a GAN has no estimate; the grids for the figure are spread over the records and end at the last
    grids = plots.progress_grids(records, count=2)
    assert [g[0] for g in grids] == [records[0]["generator_iterations"], last["generator_iterations"]]
    assert grids[-1][2] == f"{last['minutes']:.0f} min, SWD {last['swd']:.0f}"
    gan = runs.Run({**SMALL, "balance": "always"}, None, images=drawn[:128])
    with expect_collapse():
        assert np.isnan(runs.watch(gan, 0.01, 0.01, drawn[128:], num=20)[-1]["estimate"])
    with pytest.raises(ValueError, match="every must be > 0"):
        runs.watch(gan, 1, 0, drawn[128:])


def test_evaluate_at_marks_trains_to_each_mark_and_evaluates_there(drawn):
    run = runs.Run({**SMALL, "balance": "always"}, None, images=drawn[:128])
    with expect_collapse():
        marks = runs.evaluate_at_marks(run, drawn[:128], drawn[128:], generator_iterations=(9, 3), minutes=0.01,
                                       num_eval=20)
    assert list(marks) == ["3 generator iterations", "9 generator iterations", "0.01 min"]
    first, second = marks["3 generator iterations"][0], marks["9 generator iterations"][0]
    assert (first["generator_iterations"], second["generator_iterations"]) == (3, 9)
    assert not first["passed_mark"] and not second["passed_mark"]
    last, samples = marks["0.01 min"]
    assert last["train_minutes"] >= 0.01
    assert last["swd"] == metrics.evaluate(samples, drawn[:128], drawn[128:148], with_faces=False)["swd"]
    table = runs.results_table({label: result for label, (result, _) in marks.items()})
    assert table.count("\n") == 4 and "| 9 generator iterations | " in table and f"| {last['swd']:.1f} |" in table


@pytest.mark.slow  # several whole runs, each built, trained and evaluated
def test_compare_balance_rules_trains_every_arm_and_reports_its_skips(drawn, tmp_path):
    rows, samples = [], {}
    small = {k: v for k, v in SMALL.items() if k != "image_size"}
    with expect_collapse():
        rows += runs.compare_balance_rules({"margin": 0.45, "discriminator": {"batch_norm": True}},
                                           ("always", "margin"), (0, 1), drawn[:64], drawn[128:], epochs=1,
                                           image_size=32, run_root=tmp_path, num_eval=40, samples=samples, **small)
    assert [(r["rule"], r["seed"]) for r in rows] == [("always", 0), ("margin", 0), ("always", 1), ("margin", 1)]
    assert set(samples) == {f"custom, {rule}, seed {seed}" for rule in ("always", "margin") for seed in (0, 1)}
    for row in rows:
        run = runs.Run.resume(tmp_path / f"custom_{row['rule']}_seed{row['seed']}")
        # the setting's D arguments and the overrides' are merged
        assert run.config["discriminator"] == {"widths": [8, 16, 16], "dense_units": [32], "batch_norm": True}
        assert run.config["balance"] == row["rule"] and run.config["margin"] == 0.45
        steps = run.steps
        assert row["steps"] == len(steps) == 4  # 64 faces, batch 16, one epoch
        assert row["d_skipped"] == pytest.approx(1 - np.mean([s["d_updated"] for s in steps]))
        assert row["g_skipped"] == pytest.approx(1 - np.mean([s["g_updated"] for s in steps]))
        if row["rule"] == "always":
            assert row["d_skipped"] == row["g_skipped"] == 0
    # seed 0 and 1 differ; finished arms are not trained again
    assert rows[0]["swd"] != rows[2]["swd"]
    assert runs.compare_balance_rules({"margin": 0.45}, ("always", "margin"), (0, 1), drawn[:64],
                                      drawn[128:], epochs=1, image_size=32, done=rows, **small) == []
    table = runs.balance_table(rows).splitlines()
    assert len(table) == 4 and table[2].startswith("| custom | always | 2 | 4 |")
    swds = [r["swd"] for r in rows if r["rule"] == "always"]
    assert f"{np.mean(swds):.1f} ({min(swds):.1f}-{max(swds):.1f})" in table[2]


def test_step_budget_and_step_snapshots(drawn, tmp_path):
    run = runs.Run({**SMALL, "balance": "always", "precision": "float32"}, tmp_path / "steps", images=drawn[:128])
    with expect_collapse():
        run.train(steps=5, verbose=0, snapshot_steps=[2, 5, 30])
    assert len(run.steps) == 5 and run.epoch == 1  # stopped inside the first epoch (8 steps/epoch)
    names = sorted(p.name for p in (tmp_path / "steps" / "snapshots").iterdir())
    assert names == ["generator_2steps.keras", "generator_5steps.keras"]  # 30 is not reached
    noise = np.random.default_rng(0).normal(size=(4, SMALL["latent_dim"])).astype(np.float32)
    last = keras.models.load_model(tmp_path / "steps" / "snapshots" / "generator_5steps.keras")
    np.testing.assert_allclose(last(noise).numpy(), run.gan.generator(noise, training=False).numpy(), atol=1e-5)
    early = keras.models.load_model(tmp_path / "steps" / "snapshots" / "generator_2steps.keras")
    assert not np.allclose(early(noise).numpy(), last(noise).numpy(), atol=1e-4)  # taken 3 steps earlier
    run.collapse_warned = False  # the warning comes once per run; re-armed for the second call
    with expect_collapse():
        run.train(steps=11, verbose=1)  # a total, across the epoch boundary, with the progress bar
    assert len(run.steps) == 11 and run.epoch == 2
    with pytest.raises(ValueError, match="already has 11"):
        run.train(steps=11, verbose=0)
    with pytest.raises(ValueError, match="whole number"):
        run.train(steps=2.5, verbose=0)


def test_generator_iteration_budget_counts_only_the_steps_that_updated_g(drawn, tmp_path):
    run = runs.Run({**SMALL, "balance": "always"}, tmp_path / "always", images=drawn[:128])
    with expect_collapse():
        run.train(generator_iterations=5, verbose=0)
    assert run.generator_iterations == len(run.steps) == 5  # every step updates G
    run.collapse_warned = False  # the warning comes once per run; re-armed for the second call
    with expect_collapse():
        run.train(generator_iterations=11, verbose=0)  # a total: 6 more, across the epoch boundary (8 steps/epoch)
    assert run.generator_iterations == len(run.steps) == 11 and run.epoch == 2
    with pytest.raises(ValueError, match="already has 11"):
        run.train(generator_iterations=11, verbose=0)
    # a rule that skips G's turn: the budget counts G's updates, not steps
    margin = runs.Run({**SMALL, "balance": "margin", "margin": 0.49}, None, images=drawn[:128])
    with expect_collapse():
        margin.train(generator_iterations=6, verbose=0)
    assert margin.generator_iterations == 6 == sum(s["g_updated"] >= 0.5 for s in margin.steps)
    assert margin.steps[-1]["g_updated"] >= 0.5  # stopped on the step that made the 6th
    # train_and_evaluate reports it
    with expect_collapse():
        _, results, _ = runs.train_and_evaluate({"a": {**SMALL, "balance": "always"}}, drawn[:128], drawn[128:],
                                                generator_iterations=3, num_eval=40)
    assert results["a"]["generator_iterations"] == results["a"]["steps"] == 3


def test_interrupted_and_resumed_run_ends_with_the_same_weights(drawn, tmp_path):
    config = {**SMALL, "seed": 3}
    straight = runs.Run(config, tmp_path / "straight", images=drawn[:96])
    with expect_collapse():
        straight.train(epochs=3, verbose=0)
    first = runs.Run(config, tmp_path / "resumed", images=drawn[:96])
    with expect_collapse():
        first.train(epochs=2, verbose=0)
    del first
    resumed = runs.Run.resume(tmp_path / "resumed", images=drawn[:96])
    assert resumed.epoch == 2
    with expect_collapse():
        resumed.train(epochs=3, verbose=0)
    for a, b in zip(straight.gan.generator.variables + straight.gan.discriminator.variables,
                    resumed.gan.generator.variables + resumed.gan.discriminator.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert len(resumed.steps) == len(straight.steps)


def test_nan_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(drawn, tmp_path):
    run = runs.Run({**SMALL, "seed": 4}, tmp_path / "nan", images=drawn[:64])
    with expect_collapse():
        run.train(epochs=1, verbose=0)
    good = (tmp_path / "nan" / runs.CHECKPOINT).read_bytes()
    kept = snapshot(run.gan.generator.trainable_variables)
    run.images = drawn[:64].copy()
    bad = run.gan.discriminator.get_layer("logit")
    bad.kernel.assign(np.full(bad.kernel.shape, np.nan, np.float32))  # the next loss is NaN
    with pytest.raises(runs.TrainingDiverged, match="NaN or infinite.*last good checkpoint"):
        run.train(epochs=3, verbose=0)
    assert (tmp_path / "nan" / runs.CHECKPOINT).read_bytes() == good
    for a, b in zip(kept, snapshot(run.gan.generator.trainable_variables)):
        np.testing.assert_array_equal(a, b)  # restored in memory too
    assert np.isfinite(run.gan.discriminator.get_layer("logit").kernel.numpy()).all()


def test_keyboard_interrupt_keeps_models_and_history(drawn, tmp_path, monkeypatch):
    run = runs.Run({**SMALL, "seed": 5}, tmp_path / "ctrl-c", images=drawn[:64])
    with expect_collapse():
        run.train(epochs=1, verbose=0)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run.gan, "fit", interrupt)
    run.collapse_warned = False  # the warning comes once per run: re-armed, it shows the samples drawn after the interruption
    with expect_collapse():  # the samples drawn after the interruption are checked too
        history = run.train(epochs=3, verbose=0)
    assert len(history) == 1 and run.epoch == 1
    assert (tmp_path / "ctrl-c" / "generator.keras").exists()
    assert (tmp_path / "ctrl-c" / "history.csv").read_text().count("\n") == 2


# -- the command line -------------------------------------------------------

@pytest.mark.slow
def test_train_sample_evaluate_from_the_command_line(tmp_path):
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "faces", people=8, per_person=12, size=96)
    small = json.dumps({k: v for k, v in SMALL.items() if k != "image_size"})
    out = tmp_path / "run"
    result = run_cli("train", "--data", str(folder), "--size", "32", "--crop", "0", "--epochs", "1", "--out", str(out),
                 "--config", small, "--quiet", GAN_CACHE_DIR=str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert (out / "generator.keras").exists() and (out / "history.csv").exists()
    result = run_cli("train", "--resume", str(out), "--epochs", "2", "--quiet", GAN_CACHE_DIR=str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert "Trained 2 epoch(s)" in result.stdout
    result = run_cli("sample", "--model", str(out), "--num", "5", "--out", str(tmp_path / "faces_out"))
    assert result.returncode == 0, result.stderr
    images = np.load(tmp_path / "faces_out.npy", allow_pickle=False)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    assert (tmp_path / "faces_out.png").exists()
    result = run_cli("evaluate", "--model", str(out / "generator.keras"), "--data", str(folder), "--num", "16", "--crop", "0",
                 GAN_CACHE_DIR=str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"swd", "swd_real_floor", "face_rate", "diversity_ratio", "memorisation_ratio"} <= set(report)


@pytest.mark.parametrize("args, message", [
    (("sample", "--model", "/no/such/generator.keras", "--out", "x"), "No generator"),
    (("train", "--resume", "/no/such/run", "--epochs", "1"), "not a run folder"),
    (("train", "--out", "/tmp/x"), "Give a budget"),
])
def test_bad_arguments_give_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_writes_a_grid_from_a_given_generator(tmp_path):
    g = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8))
    g.save(tmp_path / "g.keras")
    result = run_cli("demo", "--model", str(tmp_path / "g.keras"), "--num", "6", "--out", str(tmp_path / "demo.png"))
    assert result.returncode == 0, result.stderr
    from PIL import Image

    grid = Image.open(tmp_path / "demo.png")
    # 6 images of 32 px in a 6-wide grid with 2 px padding, enlarged 2x.
    assert grid.size == (2 * (6 * 34 + 2), 2 * 36)
