"""Checks of notebook 03: one training step (``score_batch`` and ``train_step``), judged by what it does.

The step is run on tiny networks whose outputs are known in advance: G's
kernel is zero, so every fake is the same image tanh(bias) whatever the
noise; D averages the image and scales it, so its logit for an image is
``scale * mean(image)``. Three crafted batches put D too far ahead, D behind,
and the two balanced; the check computes D's cross-entropies and success
rates from D's logits on the same batch with numpy, decides the turns with
the blog's rule written out here, and then looks at the weights, the
optimizers and the skip counters. Any correct formulation passes.
"""

from __future__ import annotations

import numpy as np

from gan_helpers.checks._report import _call, _fail, _keras, _ok

#: The values a step reports, and what each one is.
SCORE_NAMES = {
    "err_real": "D's cross-entropy on the real images (label 1)",
    "err_fake": "D's cross-entropy on the fakes (label 0)",
    "err_gen": "G's cross-entropy: D's on the fakes with label 1",
    "d_real_success": "the fraction of real images with logit > 0",
    "d_fake_success": "the fraction of fakes with logit < 0",
}

#: (what the batch is, D's scale, G's bias, the real images' values (low, high), expected (train_d, train_g))
STEP_CASES = [
    ("D too good: it tells every real image from every fake", 8.0, -2.0, (0.5, 1.0), (False, True)),
    ("D losing: the fakes pass for real, the real images are a coin toss", 8.0, 2.0, (-0.1, 0.1), (True, False)),
    ("balanced: both cross-entropies between the margins", 1.0, -0.5, (-0.6, 1.0), (True, True)),
]


def _tf():
    from gan_helpers._quiet import import_tensorflow

    return import_tensorflow()


def _softplus(x):
    return np.logaddexp(0.0, x)


def _mode_shift(shift: float):
    """A layer that adds ``shift`` in inference mode and nothing in training mode: a network called with
    the wrong ``training`` flag gives other numbers than the check computes."""
    keras = _keras()

    class ModeShift(keras.layers.Layer):
        def call(self, x, training=None):
            return x if training else x + shift

    return ModeShift()


def _tiny_models(scale: float, g_bias: float, batch_norm: bool = False, latent_dim: int = 4, size: int = 4):
    keras = _keras()
    noise = keras.Input((latent_dim,))
    x = keras.layers.Dense(size * size * 3, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(g_bias))(noise)
    x = _mode_shift(3.0)(x)
    x = keras.layers.Activation("tanh")(keras.layers.Reshape((size, size, 3))(x))
    generator = keras.Model(noise, x, name="check_generator")
    image = keras.Input((size, size, 3))
    y = keras.layers.GlobalAveragePooling2D()(image)
    if batch_norm:
        y = keras.layers.BatchNormalization(center=False, scale=False)(y)
    y = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(scale / 3), bias_initializer="zeros")(y)
    return generator, keras.Model(image, _mode_shift(2.0)(y), name="check_discriminator")


def _real_batch(low: float, high: float, batch: int = 16, size: int = 4, seed: int = 0) -> np.ndarray:
    values = np.random.default_rng(seed).uniform(low, high, size=(batch, 1, 1, 1))
    return np.broadcast_to(values, (batch, size, size, 3)).astype(np.float32).copy()


def _gan(score_batch, train_step, scale, g_bias, d_batch="separate", batch_norm=False):
    keras = _keras()
    from gan_helpers import training

    generator, discriminator = _tiny_models(scale, g_bias, batch_norm)
    attributes = {"score_batch": score_batch}
    if train_step is not None:
        attributes["train_step"] = train_step
    gan = type("YourGAN", (training.GAN,), attributes)(generator, discriminator, balance_rule="margin", seed=0,
                                                       d_batch=d_batch)
    gan.compile(d_optimizer=keras.optimizers.RMSprop(1e-2), g_optimizer=keras.optimizers.RMSprop(1e-2))
    return gan


def _expected_scores(real_logits, fake_logits) -> dict:
    real_logits, fake_logits = np.ravel(real_logits).astype(np.float64), np.ravel(fake_logits).astype(np.float64)
    return {"err_real": float(np.mean(_softplus(-real_logits))), "err_fake": float(np.mean(_softplus(fake_logits))),
            "err_gen": float(np.mean(_softplus(-fake_logits))),
            "d_real_success": float(np.mean(real_logits > 0)), "d_fake_success": float(np.mean(fake_logits < 0))}


def _compare(got: dict, expected: dict, what: str, name: str, mistakes=()) -> None:
    """Fail with a message naming the first value of ``got`` that differs from ``expected``.

    ``mistakes``: ``(values, cause)`` pairs, the values a known mistake gives; a value that matches one is
    reported with that cause first.
    """
    missing = [key for key in SCORE_NAMES if key not in got]
    if missing:
        _fail(f"{name} returned no {', '.join(missing)} ({what}); return a dict with "
              + "; ".join(f"'{k}': {v}" for k, v in SCORE_NAMES.items()) + ".")
    for key in SCORE_NAMES:
        value = float(np.asarray(got[key]))
        if abs(value - expected[key]) <= 1e-4:
            continue
        for values, cause in mistakes:
            if abs(value - values[key]) <= 1e-4:
                _fail(f"On the batch '{what}' {name} gives {key} = {value:.5f}, expected {expected[key]:.5f}: {cause}")
        hint = ""
        if key.startswith("err"):
            swapped = {"err_real": expected["err_fake"], "err_fake": expected["err_real"]}.get(key)
            if swapped is not None and abs(value - swapped) <= 1e-4:
                hint = " It is the other half's value: the real images' label is 1, the fakes' label is 0."
            else:
                hint = (" D outputs logits: use binary cross-entropy with from_logits=True (or apply the sigmoid "
                        "first, never both), averaged over the batch.")
        elif key == "d_real_success" and abs(value - (1 - expected[key])) <= 1e-4:
            hint = " That is the fraction called fake; a real image counts as a success when its logit is > 0."
        elif key == "d_fake_success" and abs(value - (1 - expected[key])) <= 1e-4:
            hint = " That is the fraction called real; a fake counts as D's success when its logit is < 0."
        _fail(f"On the batch '{what}' {name} gives {key} = {value:.5f}, expected {expected[key]:.5f}, computed from "
              f"D's logits on the same batch ({SCORE_NAMES[key]}).{hint} (Both networks run in training mode in a "
              "training step: training=True.)")


def score_batch(fn) -> None:
    """Check ``score_batch(self, real_images, noise) -> dict``: D's three cross-entropies and two success
    rates on one batch, against values computed with numpy from D's logits on the same images, with D
    judging two separate batches and (``self.d_batch == "mixed"``) one mixed batch."""
    tf = _tf()
    real = _real_batch(-0.6, 1.0)
    noise = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    for what, scale, g_bias, (low, high), _ in STEP_CASES:
        gan = _gan(fn, None, scale, g_bias)
        batch = _real_batch(low, high)
        got = _call(gan.score_batch, "score_batch", tf.constant(batch), tf.constant(noise))
        if not isinstance(got, dict):
            _fail(f"score_batch returned a {type(got).__name__}; return a dict with the keys "
                  f"{', '.join(SCORE_NAMES)}.")
        fakes = gan.generator(noise, training=True)
        expected = _expected_scores(gan.discriminator(batch, training=True), gan.discriminator(fakes, training=True))
        mistakes = []
        for g_training, d_training in ((False, True), (True, False), (False, False)):
            inference = [name for name, training in (("G", g_training), ("D", d_training)) if not training]
            made = gan.generator(noise, training=g_training)
            mistakes.append((_expected_scores(gan.discriminator(batch, training=d_training),
                                              gan.discriminator(made, training=d_training)),
                             f"{' and '.join(inference)} ran in inference mode. In a training step both networks "
                             "run in training mode: call them with training=True (dropout on, batch norm on the "
                             "batch's statistics)."))
        _compare(got, expected, what, "score_batch", mistakes)
    # With batch norm in D, one mixed batch and two separate batches give different logits.
    for mode in ("separate", "mixed"):
        gan = _gan(fn, None, 2.0, -0.5, d_batch=mode, batch_norm=True)
        fakes = gan.generator(noise, training=True)
        if mode == "mixed":
            logits = np.asarray(gan.discriminator(np.concatenate([real, np.asarray(fakes)]), training=True))
            expected = _expected_scores(logits[:16], logits[16:])
        else:
            expected = _expected_scores(gan.discriminator(real, training=True),
                                        gan.discriminator(fakes, training=True))
        got = _call(gan.score_batch, "score_batch", tf.constant(real), tf.constant(noise))
        try:
            _compare(got, expected, f"D with batch norm, d_batch='{mode}'", "score_batch")
        except AssertionError as error:
            _fail(f"{error} With d_batch='mixed' D judges np.concatenate([real, fakes]) in one call and the logits "
                  "are split after it; with 'separate' it judges the two halves in two calls (self.d_batch says "
                  "which). They differ only for a D with batch norm, as here.")
    _ok(f"score_batch: the five values match their definitions on {len(STEP_CASES)} crafted batches, and D judges "
        "one mixed batch or two separate ones as self.d_batch says.")


def _state(variables) -> list[np.ndarray]:
    return [np.array(v.numpy()) for v in variables]


def _moved(before, after) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def train_step(score_batch, step) -> None:
    """Check ``train_step(self, real_images) -> dict`` with ``score_batch``, compiled as ``fit`` compiles it.

    On three crafted batches (D too good, D losing, balanced), from fixed weights and noise: the values it
    reports match their definitions (to 1e-4) computed from D's logits on the same batch; the turns follow
    the blog's margin rule (the run's ``self.balance_rule``); a skipped network's weights and optimizer
    state do not change and its skip counter counts the turn; a network that trains moves; and the noise
    comes from ``self.noise_seed``, so that a resumed run draws the same noise.
    """
    tf = _tf()
    for what, scale, g_bias, (low, high), (train_d, train_g) in STEP_CASES:
        gan = _gan(score_batch, step, scale, g_bias)
        batch = _real_batch(low, high)
        fakes = gan.generator(np.zeros((1, 4), np.float32), training=True)  # every fake is this image
        expected = _expected_scores(gan.discriminator(batch, training=True),
                                    np.repeat(np.asarray(gan.discriminator(fakes, training=True)), 16))
        d_before = _state(gan.discriminator.trainable_variables) + _state(gan.d_optimizer.variables)
        g_before = _state(gan.generator.trainable_variables) + _state(gan.g_optimizer.variables)
        seed_before = np.array(gan.noise_seed.state.numpy())
        try:
            result = _call(tf.function(gan.train_step), "train_step", tf.constant(batch))
        except ValueError as error:
            text = str(error)
            if "No gradients provided" in text:
                _fail("train_step: the optimizer got no gradients. Compute the losses inside the GradientTapes "
                      "(call score_batch within `with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:`), "
                      "and take each network's gradient of its own loss.")
            if "dtype" in text and "bool" in text:
                _fail("train_step: a value you record is a boolean tensor; the monitor records numbers. Cast it: "
                      "tf.cast(train_d, tf.float32).")
            if "Unknown variable" in text:
                _fail("train_step: an optimizer was given another network's variables. self.d_optimizer updates "
                      "D's trainable variables only, self.g_optimizer G's.")
            raise
        if not isinstance(result, dict):
            _fail(f"train_step returned a {type(result).__name__}; end it with `return self.record(values)`, "
                  "values being score_batch's dict plus g_success, d_updated and g_updated.")
        _compare(result, expected, what, "train_step")
        reported = {k: float(np.asarray(result[k])) for k in ("g_success", "d_updated", "g_updated") if k in result}
        if len(reported) < 3:
            _fail("train_step's values have no " + ", ".join(k for k in ("g_success", "d_updated", "g_updated")
                                                                if k not in reported)
                  + ": add g_success (1 - d_fake_success) and d_updated / g_updated (1.0 when the network trained, "
                  "0.0 when it skipped) to the values you record.")
        if abs(reported["g_success"] - (1 - expected["d_fake_success"])) > 1e-4:
            _fail(f"On the batch '{what}' g_success = {reported['g_success']:.4f}, expected "
                  f"{1 - expected['d_fake_success']:.4f}: G's success is the share of fakes D does not call fake, "
                  "1 - d_fake_success.")
        d_after = _state(gan.discriminator.trainable_variables) + _state(gan.d_optimizer.variables)
        g_after = _state(gan.generator.trainable_variables) + _state(gan.g_optimizer.variables)
        for network, should_train, moved, counter, flag in (
                ("D", train_d, _moved(d_before, d_after), gan.d_skips, reported["d_updated"]),
                ("G", train_g, _moved(g_before, g_after), gan.g_skips, reported["g_updated"])):
            errors = f"err_real = {expected['err_real']:.3f}, err_fake = {expected['err_fake']:.3f}"
            if should_train and not moved:
                _fail(f"On the batch '{what}' ({errors}) the margin rule trains {network}, but its weights did not "
                      f"move. Apply {network}'s gradients with its optimizer when its turn comes "
                      f"(self.{'d' if network == 'D' else 'g'}_optimizer.apply_gradients), inside tf.cond.")
            if not should_train and moved:
                _fail(f"On the batch '{what}' ({errors}) the margin rule skips {network}'s turn, but {network}'s "
                      "weights or its optimizer's state changed. Ask self.balance_rule.decide(...) for the turns "
                      "and run the update only when it says so, with tf.cond: a zero gradient still moves "
                      "RMSProp's average and its step counter.")
            if int(counter.numpy()) != (0 if should_train else 1):
                _fail(f"On the batch '{what}' self.{'d' if network == 'D' else 'g'}_skips is {int(counter.numpy())}, "
                      f"expected {0 if should_train else 1}: add 1 to it in each step where {network} skips its turn.")
            if flag != float(should_train):
                _fail(f"On the batch '{what}' {network.lower()}_updated = {flag}, expected {float(should_train)} "
                      f"(1.0 when {network} trained in this step).")
        after = _expected_scores(gan.discriminator(batch, training=True),
                                 np.repeat(np.asarray(gan.discriminator(gan.generator(np.zeros((1, 4), np.float32),
                                                                                      training=True),
                                                                       training=True)), 16))
        if train_d and after["err_real"] + after["err_fake"] >= expected["err_real"] + expected["err_fake"] - 1e-6:
            _fail(f"On the batch '{what}' D trained but its loss did not fall on the same batch "
                  f"({expected['err_real'] + expected['err_fake']:.4f} -> {after['err_real'] + after['err_fake']:.4f}): "
                  "D minimises err_real + err_fake (check the sign, and that D's tape sees D's loss).")
        if train_g and not train_d:
            # D did not move, so G's loss before and after is measured by the same D.
            if after["err_gen"] >= expected["err_gen"] - 1e-6:
                _fail(f"On the batch '{what}' G trained but its loss err_gen did not fall ({expected['err_gen']:.4f} -> "
                      f"{after['err_gen']:.4f}): G minimises err_gen (check the sign, and that G's tape sees G's loss).")
        if np.array_equal(seed_before, gan.noise_seed.state.numpy()):
            _fail("train_step did not draw its noise from self.noise_seed. Draw it with "
                  "keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed): the seed generator's "
                  "state is saved in the checkpoint, so a resumed run draws the same noise.")
    _ok(f"train_step: on {len(STEP_CASES)} crafted batches (D too good, D losing, balanced) the reported values "
        "match their definitions, the turns follow the rule, a skipped network and its optimizer stay as they "
        "were, a trained one moves, and the noise comes from self.noise_seed.")
