"""Checks of notebook 04: the WGAN."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.checks._report import _as_float, _call, _fail, _keras, _ok, _quiet


#: The reference code's schedule: Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0 else 5.
CRITIC_SCHEDULE_CASES = [(0, 100), (1, 100), (24, 100), (25, 5), (26, 5), (100, 5), (499, 5), (500, 100),
                         (501, 5), (999, 5), (1000, 100), (1500, 100), (2001, 5)]


def critic_schedule(fn) -> None:
    """Check ``fn(gen_iterations) -> critic steps`` against the WGAN reference code's schedule."""
    for gen_iterations, expected in CRITIC_SCHEDULE_CASES:
        got = fn(gen_iterations)
        if int(got) != expected:
            why = ("the first 25 generator iterations (0 to 24) get 100 critic steps" if gen_iterations < 25 else
                   "every 500th generator iteration gets 100 critic steps" if gen_iterations % 500 == 0 else
                   "after the first 25, every generator iteration that is not a multiple of 500 gets 5")
            _fail(f"Before generator iteration {gen_iterations} your schedule gives {int(got)} critic steps, "
                  f"expected {expected}: {why} (reference: Diters = 100 if gen_iterations < 25 or "
                  "gen_iterations % 500 == 0 else 5).")
    warmup = sum(int(fn(i)) for i in range(25))
    _ok(f"critic_schedule: all {len(CRITIC_SCHEDULE_CASES)} cases right; the warm-up alone is {warmup:,} critic "
        "steps before the 26th generator iteration.")


def _clipping_critic():
    keras = _keras()
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="batchnorm")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="score")(x), name="check_critic")
    rng = np.random.default_rng(0)
    for variable in model.variables:
        if variable.trainable:
            values = rng.uniform(-0.06, 0.06, size=variable.shape)
        else:  # batch norm's moving mean and variance
            values = np.full(variable.shape, 0.5 if "mean" in variable.path else 2.0)
        variable.assign(values.astype(np.float32))
    return model


def clipping(clip_fn, clip_value: float = 0.02) -> None:
    """Check ``clip_fn(critic, clip_value)``: every trainable weight clipped to [-c, c], in place.

    Tried on a small critic built here (Conv2D, BatchNormalization, Dense) whose
    weights lie in [-0.06, 0.06]. As in the reference (``p.data.clamp_(-c, c)``
    for every parameter): values outside are set to -c or c, values inside stay
    as they are, and batch norm's moving statistics (not parameters) are untouched.
    """
    model = _clipping_critic()
    before = {v.path: np.array(v.numpy()) for v in model.variables}
    clip_fn(model, clip_value)
    after = {v.path: np.array(v.numpy()) for v in model.variables}
    trainable = [v.path for v in model.trainable_variables]
    if all(np.array_equal(before[p], after[p]) for p in after):
        _fail("Nothing changed in the critic's weights. np.clip and tf.clip_by_value return new values: assign them "
              "back into each variable (variable.assign(...)).")
    frozen = [p for p in after if p not in trainable and not np.array_equal(before[p], after[p])]
    if frozen:
        _fail(f"You changed {frozen[0]}, batch norm's moving statistics. They are not parameters (the reference "
              "clamps netD.parameters() only): clip model.trainable_variables.")
    c = clip_value
    for path in trainable:
        if np.abs(after[path]).max() > c + 1e-7:
            _fail(f"{path} still has values up to {np.abs(after[path]).max():.3f}, outside [-{c}, {c}]. Clip every "
                  "trainable variable (kernels, biases and batch norm's gamma and beta, as the reference clamps "
                  "every parameter), to the clip_value you are given.")
    for path in trainable:
        inside = np.abs(before[path]) <= c
        if not np.allclose(after[path][inside], before[path][inside], rtol=0, atol=1e-8):
            _fail(f"Values of {path} that were already inside [-{c}, {c}] changed. Clipping leaves them as they are "
                  "and only sets the values outside to -c or c (it is not a rescaling).")
        expected = np.clip(before[path], -c, c)
        if not np.allclose(after[path], expected, rtol=0, atol=1e-7):
            _fail(f"Values of {path} outside [-{c}, {c}] should become exactly -{c} or {c}.")
    clipped = sum(int((np.abs(before[p]) > c).sum()) for p in trainable)
    total = sum(before[p].size for p in trainable)
    _ok(f"clipping: {clipped} of {total} weights set to ±{c}, the others unchanged, batch norm's moving "
        "statistics untouched.")


def _expected_penalty(points: np.ndarray, gradient) -> float:
    grads = np.stack([np.asarray(gradient(p), np.float64).ravel() for p in points])
    norms = np.sqrt((grads ** 2).sum(axis=1))
    return float(np.mean((norms - 1) ** 2))


def _linear_critic(weights: np.ndarray):
    keras = _keras()
    inputs = keras.Input(weights.shape)
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(1, name="score")
    model = keras.Model(inputs, dense(x))
    dense.kernel.assign(weights.reshape(-1, 1).astype(np.float32))
    dense.bias.assign(np.array([0.3], np.float32))
    return model


def _training_sensitive_critic(weights: np.ndarray):
    """A linear critic of gradient ``weights`` in training mode, three times as steep in inference mode."""
    keras = _keras()

    class InferenceTriples(keras.layers.Layer):
        def call(self, x, training=None):
            return x if training else 3.0 * x

    inputs = keras.Input(weights.shape)
    critic = _linear_critic(weights)
    return keras.Model(inputs, critic(InferenceTriples()(inputs)))


def _quadratic_critic(shape):
    keras = _keras()
    from keras import ops

    inputs = keras.Input(shape)
    score = keras.layers.Lambda(lambda x: 0.5 * ops.sum(ops.square(x), axis=(1, 2, 3))[:, None])(inputs)
    return keras.Model(inputs, score)


def penalty(fn) -> None:
    """Check ``fn(critic, real, fake, alpha) -> scalar``: WGAN-GP's gradient penalty.

    The penalty is the mean over the batch of (||grad critic(x_hat)|| - 1)**2
    at x_hat = real + alpha * (fake - real), one norm per image. Tried on
    critics whose gradients are known in closed form: a linear critic
    f(x) = w . x + b (gradient w everywhere) and f(x) = ||x||**2 / 2 (gradient x).
    """
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    shape = (4, 4, 3)
    real = rng.normal(size=(5,) + shape).astype(np.float32)
    fake = rng.normal(loc=0.5, size=(5,) + shape).astype(np.float32)
    alpha = np.array([0.0, 0.25, 0.5, 0.75, 1.0], np.float32).reshape(5, 1, 1, 1)
    between = real + alpha * (fake - real)
    direction = rng.normal(size=shape)
    direction /= np.linalg.norm(direction)
    cases = [
        ("a linear critic with gradient norm 1 everywhere", _linear_critic(direction), lambda x: direction),
        ("a linear critic with gradient norm 3 everywhere", _linear_critic(3 * direction), lambda x: 3 * direction),
        ("the critic f(x) = ||x||^2 / 2, whose gradient at x_hat is x_hat itself (one norm per image)",
         _quadratic_critic(shape), lambda x: x),
    ]
    for what, critic, gradient in cases:
        value = fn(critic, tf.constant(real), tf.constant(fake), tf.constant(alpha))
        got = _as_float(value, "The penalty")
        expected = _expected_penalty(between, gradient)
        if math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-4):
            continue
        hints = []
        norms = np.sqrt(np.stack([(np.asarray(gradient(p)) ** 2).sum() for p in between]))
        if math.isclose(got, float(np.mean(np.abs(norms - 1))), rel_tol=1e-3, abs_tol=1e-4):
            hints.append("square the difference: (||g|| - 1)**2")
        if math.isclose(got, float(np.mean((norms ** 2 - 1) ** 2)), rel_tol=1e-3, abs_tol=1e-4):
            hints.append("the norm is the square root of the sum of squares")
        whole = np.sqrt(np.sum([(np.asarray(gradient(p)) ** 2).sum() for p in between]))
        if math.isclose(got, float((whole - 1) ** 2), rel_tol=1e-3, abs_tol=1e-4):
            hints.append("take one norm per image (sum over all axes but the batch axis), not one over the batch")
        reversed_path = fake + alpha * (real - fake)
        for name, points in (("real", real), ("fake", fake), ("fake + alpha (real - fake)", reversed_path)):
            if not np.allclose(points, between) and math.isclose(got, _expected_penalty(points, gradient),
                                                                 rel_tol=1e-3, abs_tol=1e-4):
                hints.append(f"you measured the gradient at {name}; use x_hat = real + alpha * (fake - real)")
        _fail(f"For {what} your penalty is {got:.5g}, expected {expected:.5g}."
              + (" Hint: " + "; ".join(hints) + "." if hints else
                 " It is the mean over the batch of (||grad f(x_hat)|| - 1)**2, x_hat = real + alpha * (fake - real), "
                 "with the gradient taken by a tf.GradientTape that watches x_hat."))
    _ok("penalty: 0 for a critic of gradient norm 1, (3 - 1)^2 = 4 for norm 3, and the per-image norms of a "
        "curved critic, all right.")


# The core exercises: the WGAN's methods, each called as the class calls it (``self`` first).

def _namespace(**attributes):
    from types import SimpleNamespace

    return SimpleNamespace(**attributes)


def wgan_schedule(method) -> None:
    """Check ``critic_iterations(self, gen_iterations)``: the reference's schedule from ``self``'s settings
    (``warmup_iterations``, ``warmup_every``, ``warmup_critic``, ``n_critic``), on Python ints and on int64
    tensors in a compiled function, and with the warm-up turned off (WGAN-GP: 0 and 0)."""
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    reference = _namespace(warmup_iterations=25, warmup_every=500, warmup_critic=100, n_critic=5)
    with _quiet():
        critic_schedule(lambda g: _call(method, "critic_iterations", reference, g))
    compiled = tf.function(lambda g: method(reference, g))
    for gen_iterations, expected in CRITIC_SCHEDULE_CASES:
        got = int(np.asarray(_call(compiled, "critic_iterations", tf.constant(gen_iterations, tf.int64))))
        if got != expected:
            _fail(f"With a tensor gen_iterations = {gen_iterations} (as in the compiled training step) your schedule "
                  f"gives {got}, expected {expected}. Python `if` works on ints only: choose with tf.where(warm, "
                  "warmup_critic, n_critic) when gen_iterations is a tensor.")
    off = _namespace(warmup_iterations=0, warmup_every=0, warmup_critic=100, n_critic=7)
    for gen_iterations in (0, 1, 500, 1000):
        try:
            got = int(np.asarray(_call(method, "critic_iterations", off, gen_iterations)))
        except ZeroDivisionError:
            _fail("With warmup_every = 0 (no periodic warm-up, WGAN-GP) your schedule divides by zero: test "
                  "self.warmup_every before taking gen_iterations % self.warmup_every.")
        if got != 7:
            _fail(f"With the warm-up off (warmup_iterations = 0, warmup_every = 0, n_critic = 7) your schedule gives "
                  f"{got} critic steps before generator iteration {gen_iterations}, expected 7: read n_critic and "
                  "the warm-up settings from self, not the reference's numbers.")
    _ok("critic_iterations: the reference's schedule on ints and tensors, and n_critic always when the warm-up "
        "is off.")


def wgan_clipping(method, clip_value: float = 0.02) -> None:
    """Check ``clip_weights(self)``: every trainable weight of ``self.critic`` clipped to
    ``[-self.clip_value, self.clip_value]`` in place (:func:`clipping`), and nothing done when
    ``self.clip_value`` is None (WGAN-GP)."""
    generator = _clipping_critic()  # weights outside [-c, c] that clip_weights must leave alone
    g_before = [np.array(v.numpy()) for v in generator.variables]
    with _quiet():
        clipping(lambda critic, c: _call(method, "clip_weights", _namespace(critic=critic, generator=generator,
                                                                             clip_value=c)), clip_value)
    if any(not np.array_equal(a, np.asarray(v.numpy())) for a, v in zip(g_before, generator.variables)):
        _fail("clip_weights changed the generator's weights. Only the critic is clipped (the reference clamps "
              "netD.parameters()): clip self.critic.trainable_variables, never self.generator's.")
    critic = _clipping_critic()
    before = [np.array(v.numpy()) for v in critic.variables]
    try:
        _call(method, "clip_weights", _namespace(critic=critic, clip_value=None))
    except TypeError as error:
        _fail(f"With clip_value None (WGAN-GP clips nothing) clip_weights failed ({error}): return at once when "
              "self.clip_value is None.")
    if any(not np.array_equal(a, np.asarray(v.numpy())) for a, v in zip(before, critic.variables)):
        _fail("With clip_value None (WGAN-GP) clip_weights changed the critic: return at once when "
              "self.clip_value is None.")
    _ok(f"clip_weights: every trainable weight to ±{clip_value}, nothing else, and nothing when clip_value is None.")


def wgan_penalty(method) -> None:
    """Check ``penalty(self, real, fake, alpha=None)``: the gradient penalty of ``self.critic``
    (:func:`penalty`'s closed forms), and with ``alpha=None`` weights drawn from ``self.noise_seed``
    (a linear critic of gradient norm 3 has penalty 4 for any weights)."""
    keras = _keras()
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()

    def as_function(critic, real, fake, alpha):
        return _call(method, "penalty", _namespace(critic=critic, noise_seed=keras.random.SeedGenerator(0)),
                     real, fake, alpha)

    with _quiet():
        penalty(as_function)
    rng = np.random.default_rng(2)
    direction = rng.normal(size=(4, 4, 3))
    direction *= 3 / np.linalg.norm(direction)
    seed = keras.random.SeedGenerator(0)
    before = np.array(seed.state.numpy())
    real = tf.constant(rng.normal(size=(6, 4, 4, 3)).astype(np.float32))
    fake = tf.constant(rng.normal(size=(6, 4, 4, 3)).astype(np.float32))
    got = _as_float(_call(method, "penalty", _namespace(critic=_linear_critic(direction), noise_seed=seed),
                          real, fake, None), "The penalty")
    if not math.isclose(got, 4.0, rel_tol=1e-3):
        _fail(f"With alpha=None the penalty of a critic of gradient norm 3 is {got:.4f}, expected 4: draw one "
              "weight per image, keras.random.uniform((batch, 1, 1, 1), seed=self.noise_seed).")
    if np.array_equal(before, seed.state.numpy()):
        _fail("With alpha=None the penalty did not draw its weights from self.noise_seed: use "
              "keras.random.uniform(..., seed=self.noise_seed), so that a resumed run draws the same ones.")
    # Points of any rank: section 3b's toy trains on 2-D points, shape (n, 2).
    points = rng.normal(size=(6, 2)).astype(np.float32)
    flat = np.array([3.0, 0.0])
    try:
        got = _as_float(_call(method, "penalty", _namespace(critic=_linear_critic(flat),
                                                            noise_seed=keras.random.SeedGenerator(0)),
                              tf.constant(points), tf.constant(points[::-1].copy()), None), "The penalty")
    except (ValueError, tf.errors.InvalidArgumentError) as error:
        _fail(f"With 2-D points (shape (6, 2), as in section 3b's toy) and alpha=None the penalty fails "
              f"({type(error).__name__}: {' '.join(str(error).split())[:160]}). Give alpha one axis per axis of real: "
              "shape (batch,) + (1,) * (len(real.shape) - 1), not a fixed (batch, 1, 1, 1).")
    if not math.isclose(got, 4.0, rel_tol=1e-3):
        _fail(f"With 2-D points (shape (6, 2)) and alpha=None the penalty of a critic of gradient norm 3 is "
              f"{got:.4f}, expected 4: give alpha the shape (batch,) + (1,) * (len(real.shape) - 1).")
    # The norm's epsilon: where the critic's gradient is 0, sqrt(0) has no finite gradient.
    flat_critic = _linear_critic(np.zeros((4, 4, 3)))
    with tf.GradientTape() as tape:
        value = _call(method, "penalty", _namespace(critic=flat_critic, noise_seed=keras.random.SeedGenerator(0)),
                      real, fake, None)
    gradients = [g for g in tape.gradient(value, flat_critic.trainable_variables) if g is not None]  # no bias
    if not gradients or any(not np.isfinite(np.asarray(g)).all() for g in gradients):
        _fail("For a critic whose gradient is 0 everywhere the penalty's own gradient is not finite (NaN), so the "
              "critic's update would be NaN: take the norm as tf.sqrt(tf.reduce_sum(tf.square(g), axis=1) + 1e-12), "
              "not tf.norm, whose gradient at 0 is undefined.")
    # The critic in training mode: a critic that is three times as steep in inference mode.
    steep = _training_sensitive_critic(direction / 3)
    got = _as_float(_call(method, "penalty", _namespace(critic=steep, noise_seed=keras.random.SeedGenerator(0)),
                          real, fake, None), "The penalty")
    if not math.isclose(got, 0.0, abs_tol=1e-3):
        _fail(f"For a critic of gradient norm 1 in training mode (3 in inference mode) the penalty is {got:.4f}, "
              "expected 0: call the critic with training=True inside the penalty, as in the critic step.")
    # One weight per image: for f(x) = ||x||^2 / 2, real = 0 and a fake of norm 2, each image's gradient norm is
    # 2 * alpha_i, so over 4,000 images the penalty is close to E[(2 alpha - 1)^2] = 1/3 for uniform alpha;
    # one alpha shared by the batch gives (2 alpha - 1)^2 for a single draw instead.
    shape = (2, 2, 1)
    fake = np.full((4000,) + shape, 1.0, np.float32)  # norm 2 per image
    values = [_as_float(_call(method, "penalty", _namespace(critic=_quadratic_critic(shape),
                                                            noise_seed=keras.random.SeedGenerator(s)),
                              tf.zeros_like(fake), tf.constant(fake), None), "The penalty") for s in (1, 2)]
    if any(abs(v - 1 / 3) > 0.03 for v in values):
        _fail(f"With alpha=None, over 4,000 images the penalty of f(x) = ||x||^2 / 2 between 0 and images of norm 2 "
              f"is {values[0]:.3f} and {values[1]:.3f} for two seeds, expected about 1/3 each (one uniform weight "
              "per image): draw alpha with shape (batch, 1, 1, 1), not one weight for the whole batch.")
    _ok("penalty: the closed forms right, and alpha=None draws one weight per image from self.noise_seed.")


def _tiny_wgan(method_name, method, clip_value=None, gradient_penalty=10.0, learning_rate=1e-2):
    keras = _keras()
    from gan_helpers import wgan
    from gan_helpers.checks._training import _tiny_models

    generator, critic = _tiny_models(2.0, -0.5)
    model = type("YourWGAN", (wgan.WGAN,), {method_name: method})(
        generator, critic, clip_value=clip_value, gradient_penalty=gradient_penalty, n_critic=5,
        warmup_iterations=0, warmup_every=0, seed=0)
    optimizer = keras.optimizers.RMSprop if clip_value else keras.optimizers.Adam
    model.compile(d_optimizer=optimizer(learning_rate), g_optimizer=optimizer(learning_rate))
    return model


def _critic_objective(model, real, fake, alpha, gradient_penalty) -> tuple[float, float, float]:
    """(mean f(real), mean f(fake), penalty) of a critic f(x) = w . mean(x) + b, its gradient known."""
    f_real = float(np.mean(model.critic(real, training=True)))
    f_fake = float(np.mean(model.critic(fake, training=True)))
    dense = [layer for layer in model.critic.layers if hasattr(layer, "kernel")][-1]
    kernel = np.asarray(dense.kernel.numpy()).ravel()
    pixels = real.shape[1] * real.shape[2]
    norm = np.linalg.norm(kernel) / pixels * math.sqrt(pixels)  # each pixel's gradient is w / pixels
    return f_real, f_fake, float((norm - 1) ** 2) if gradient_penalty else 0.0


def critic_step(method) -> None:
    """Check ``critic_step(self, real, noise, alpha=None, scale=1.0)``: one critic update, compiled.

    It must return (loss_d, loss_d_real, loss_d_fake, penalty) as the reference defines them (the critic
    minimises mean f(real) - mean f(fake), plus lambda * penalty with WGAN-GP), computed here from the
    critic's scores on the same batch; lower that objective on a fixed batch; leave G untouched; count the
    step in ``self.critic_steps``; and in the clipped WGAN end with every weight inside [-c, c].
    """
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    rng = np.random.default_rng(3)
    real = rng.uniform(0.2, 1.0, size=(8, 4, 4, 3)).astype(np.float32)
    noise = rng.normal(size=(8, 4)).astype(np.float32)
    alpha = rng.uniform(size=(8, 1, 1, 1)).astype(np.float32)
    model = _tiny_wgan("critic_step", method)
    fake = np.asarray(model.generator(noise, training=True))
    f_real, f_fake, pen = _critic_objective(model, real, fake, alpha, 10.0)
    g_before = [np.array(v.numpy()) for v in model.generator.trainable_variables]
    c_before = [np.array(v.numpy()) for v in model.critic.trainable_variables]
    step = tf.function(model.critic_step)
    result = _call(step, "critic_step", tf.constant(real), tf.constant(noise), tf.constant(alpha), 1.0)
    try:
        loss_d, loss_d_real, loss_d_fake, got_penalty = (float(np.asarray(v)) for v in result)
    except (TypeError, ValueError):
        _fail(f"critic_step returned {result!r}; return four values: loss_d, loss_d_real, loss_d_fake, penalty.")
    for name, got, expected, what in (
            ("loss_d_real", loss_d_real, f_real, "the mean critic score (training=True) of the real images"),
            ("loss_d_fake", loss_d_fake, f_fake, "the mean critic score (training=True) of the fakes G(noise, "
                                                 "training=True)"),
            ("loss_d", loss_d, f_real - f_fake, "loss_d_real - loss_d_fake (the reference's signs)"),
            ("penalty", got_penalty, pen, "self.penalty(real, fake, alpha)")):
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-4):
            _fail(f"critic_step's {name} is {got:.5f}, expected {expected:.5f}: {what}, before the update.")
    if any(not np.array_equal(a, v.numpy()) for a, v in zip(g_before, model.generator.trainable_variables)):
        _fail("critic_step changed G's weights. Only the critic trains in a critic step: take the gradient with "
              "respect to self.critic.trainable_variables, and make the fakes behind tf.stop_gradient.")
    if all(np.array_equal(a, v.numpy()) for a, v in zip(c_before, model.critic.trainable_variables)):
        _fail("critic_step did not change the critic's weights: apply the gradients with self.d_optimizer.")
    after_real, after_fake, after_pen = _critic_objective(model, real, fake, alpha, 10.0)
    if (after_real - after_fake + 10 * after_pen) >= (f_real - f_fake + 10 * pen):
        _fail(f"One critic step raised the critic's objective on the same batch ({f_real - f_fake + 10 * pen:.4f} -> "
              f"{after_real - after_fake + 10 * after_pen:.4f}). The critic minimises loss_d + lambda * penalty, "
              "loss_d = mean f(real) - mean f(fake): check the sign, and that the penalty is weighted by "
              "self.gradient_penalty.")
    if int(model.critic_steps.numpy()) != 1:
        _fail(f"After one critic step self.critic_steps is {int(model.critic_steps.numpy())}, expected 1: "
              "self.critic_steps.assign_add(1) (the schedule counts the critic steps of a generator iteration).")
    clipped = _tiny_wgan("critic_step", method, clip_value=0.01, gradient_penalty=0.0)
    _call(tf.function(clipped.critic_step), "critic_step", tf.constant(real), tf.constant(noise), None, 1.0)
    largest = max(float(np.abs(v.numpy()).max()) for v in clipped.critic.trainable_variables)
    if largest > 0.01 + 1e-7:
        _fail(f"In the clipped WGAN (clip_value 0.01) a critic weight is {largest:.4f} after the step: call "
              "self.clip_weights() after the update: the port clips after every critic update (the reference clamps "
              "before each one; section 2's table of differences says why both keep the critic in [-c, c]).")
    _ok("critic_step: the four values match their definitions, one step lowers the critic's objective, G is "
        "untouched, the step is counted, and the clipped critic stays inside [-c, c].")


def generator_step(method) -> None:
    """Check ``generator_step(self, noise, scale=1.0)``: one generator update, compiled.

    It must return Loss_G = mean f(G(noise)) (the reference's signs: G minimises it), computed here from
    the critic's scores before the update; lower it on the same noise; leave the critic untouched; count
    the iteration in ``self.gen_iterations`` and start the next one's critic steps at 0.
    """
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    noise = np.random.default_rng(4).normal(size=(8, 4)).astype(np.float32)
    model = _tiny_wgan("generator_step", method, learning_rate=1e-2)
    model.critic_steps.assign(5)
    score = float(np.mean(model.critic(model.generator(noise, training=True), training=True)))
    c_before = [np.array(v.numpy()) for v in model.critic.trainable_variables]
    result = _call(tf.function(model.generator_step), "generator_step", tf.constant(noise), 1.0)
    loss_g = _as_float(result, "Loss_G")
    if not math.isclose(loss_g, score, rel_tol=1e-4, abs_tol=1e-4):
        hint = " The sign is the other way round." if math.isclose(loss_g, -score, rel_tol=1e-4) else ""
        _fail(f"generator_step returned Loss_G = {loss_g:.5f}, expected {score:.5f}: the mean critic score of "
              f"G(noise), both in training mode (training=True), before the update.{hint}")
    if any(not np.array_equal(a, v.numpy()) for a, v in zip(c_before, model.critic.trainable_variables)):
        _fail("generator_step changed the critic's weights: take the gradient with respect to "
              "self.generator.trainable_variables only.")
    after = float(np.mean(model.critic(model.generator(noise, training=True), training=True)))
    if after >= score:
        _fail(f"One generator step raised Loss_G on the same noise ({score:.4f} -> {after:.4f}). G minimises "
              "mean f(G(noise)) (the reference's errG.backward(one)): check the sign.")
    if int(model.gen_iterations.numpy()) != 1 or int(model.critic_steps.numpy()) != 0:
        _fail(f"After one generator step gen_iterations is {int(model.gen_iterations.numpy())} (expected 1) and "
              f"critic_steps {int(model.critic_steps.numpy())} (expected 0): add 1 to self.gen_iterations and "
              "set self.critic_steps to 0, so the schedule starts the next iteration's critic steps.")
    _ok(f"generator_step: Loss_G = mean f(G(noise)) ({score:.4f}), one step lowers it ({after:.4f}), the critic is "
        "untouched, and the iteration is counted.")


def toy_sweep(fn) -> None:
    """Check ``fn(variant, setting, values, steps) -> {value: mode report}`` (notebook 04, exercise 1).

    For each value it must train :func:`gan_helpers.toy.train_toy` (seed 0) with ``setting=value`` for
    ``steps`` generator iterations and return :func:`gan_helpers.toy.mode_report` of 1,000 samples
    (:func:`gan_helpers.toy.sample_toy`, seed 1). Compared with the same runs made here.
    """
    from gan_helpers import toy

    values = (1, 3)
    got = _call(fn, "sweep", "wgan-gp", "n_critic", values, 10)
    if not isinstance(got, dict) or sorted(got) != sorted(values):
        _fail(f"sweep('wgan-gp', 'n_critic', {values}, 10) returned {got!r}; return a dict with one entry per value: "
              "{value: toy.mode_report(samples)}.")
    for value in values:
        expected = toy.mode_report(toy.sample_toy(toy.train_toy("wgan-gp", steps=10, seed=0, n_critic=value)))
        report = got[value]
        if not isinstance(report, dict) or "covered" not in report:
            _fail(f"The entry for n_critic={value} is {report!r}; use toy.mode_report(toy.sample_toy(model)).")
        if report["covered"] != expected["covered"] or not math.isclose(report["high_quality"],
                                                                        expected["high_quality"], abs_tol=1e-6):
            _fail(f"For n_critic={value} your sweep reports {report['covered']} modes and "
                  f"{report['high_quality']:.3f} near a mode; the same run made here gives {expected['covered']} and "
                  f"{expected['high_quality']:.3f}. Train with toy.train_toy(variant, steps=steps, seed=0, "
                  "**{setting: value}) and sample with toy.sample_toy(model) (its default seed).")
    _ok(f"sweep: the runs for n_critic in {values} match the same runs made here.")
