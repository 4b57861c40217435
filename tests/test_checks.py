"""The exercises' self-checks (gan_helpers.checks) and the students' copy (gan_helpers.student).

Each check must pass a right answer (where the package has one, the package's
own implementation, which cross-checks the check's hand-written table) and
fail the typical wrong answers with a message that names the problem.
"""

import json
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from gan_helpers import PROJECT_ROOT, balance, checks, data, explorer, models, student, wgan
from gan_helpers.layers import FullConv2D, Unpooling2D

import keras  # noqa: E402  (after gan_helpers, which loads TensorFlow quietly)
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


# ----------------------------------------------------------------------------
# Notebook 00.


def test_crop_box_accepts_the_package_and_refuses_typical_mistakes(capsys):
    checks.crop_box(data.crop_box)
    assert capsys.readouterr().out.startswith("OK: crop_box")

    def every_crop_is_a_fraction(width, height, crop):
        side = min(width, height)
        pixels = round(crop * side)
        left, top = (width - side) // 2 + pixels, (height - side) // 2 + pixels
        return left, top, left + side - 2 * pixels, top + side - 2 * pixels

    with pytest.raises(AssertionError, match=r"crop_box\(250, 250, 50\).*an int is pixels"):
        checks.crop_box(every_crop_is_a_fraction)

    def no_central_square(width, height, crop):
        pixels = round(crop * min(width, height)) if isinstance(crop, float) else crop
        return pixels, pixels, width - pixels, height - pixels

    with pytest.raises(AssertionError, match=r"crop_box\(92, 112, 0.2\).*not square"):
        checks.crop_box(no_central_square)

    def truncated_fraction(width, height, crop):
        pixels = int(crop)
        side = min(width, height)
        left, top = (width - side) // 2 + pixels, (height - side) // 2 + pixels
        return left, top, left + side - 2 * pixels, top + side - 2 * pixels

    with pytest.raises(AssertionError, match=r"crop_box\(250, 250, 0.2\).*fraction of the shorter side"):
        checks.crop_box(truncated_fraction)


def test_scaling_accepts_the_package_and_refuses_typical_mistakes():
    checks.scaling(data.to_float, data.to_uint8)
    with pytest.raises(AssertionError, match=r"\[0, 1\].*x / 127.5 - 1"):
        checks.scaling(lambda x: np.asarray(x, np.float32) / 255, data.to_uint8)
    with pytest.raises(AssertionError, match="wrapped around in uint8"):
        checks.scaling(lambda x: ((np.asarray(x) - 128) / 127.5).astype(np.float32), data.to_uint8)
    with pytest.raises(AssertionError, match="round to the nearest integer"):
        checks.scaling(data.to_float, lambda x: ((np.asarray(x) + 1) * 127.5).astype(np.uint8))
    with pytest.raises(AssertionError, match="clip to"):
        checks.scaling(data.to_float, lambda x: np.round((np.asarray(x) + 1) * 127.5).astype(np.uint8))


def test_person_split_accepts_the_package_and_refuses_splits_of_images():
    people = np.array([f"p{i % 7}" for i in range(60)])
    checks.person_split(data.split_by_person, people)

    def by_image(people, fraction, seed):
        order = np.random.default_rng(seed).permutation(len(people))
        cut = round(fraction * len(people))
        return np.sort(order[cut:]), np.sort(order[:cut])

    with pytest.raises(AssertionError, match="people have images on both sides"):
        checks.person_split(by_image)

    def unseeded(people, fraction, seed):
        return data.split_by_person(people, fraction, seed=int(np.random.default_rng().integers(1 << 30)))

    with pytest.raises(AssertionError, match="different splits"):
        checks.person_split(unseeded)

    def loses_images(people, fraction, seed):
        train, val = data.split_by_person(people, fraction, seed)
        return train[1:], val

    with pytest.raises(AssertionError, match="on neither side"):
        checks.person_split(loses_images)

    def returns_names(people, fraction, seed):
        train, val = data.split_by_person(people, fraction, seed)
        return people[train], people[val]

    with pytest.raises(AssertionError, match="indices"):
        checks.person_split(returns_names)


# ----------------------------------------------------------------------------
# Notebook 01.


def small_discriminator(order=("conv", "pool", "relu", "dropout"), batch_norm=False, dense_dropout=0.5,
                        sigmoid=False, outputs=1, conv_dropout=0.2):
    inputs = keras.Input((16, 16, 3))
    x = inputs
    make = {"conv": lambda: layers.Conv2D(4, 3, padding="same"), "pool": lambda: layers.MaxPooling2D(2),
            "relu": layers.ReLU, "dropout": lambda: layers.SpatialDropout2D(conv_dropout)}
    for _ in range(3):
        for kind in order:
            x = make[kind]()(x)
            if kind == "conv" and batch_norm:
                x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(8, activation="relu")(x)
    if dense_dropout:
        x = layers.Dropout(dense_dropout)(x)
    x = layers.Dense(outputs, activation="sigmoid" if sigmoid else None)(x)
    return keras.Model(inputs, x)


def test_discriminator_accepts_the_exercise_design(capsys):
    checks.discriminator(models.build_discriminator(image_size=32), image_size=32)
    assert "OK: discriminator: 3 blocks of Conv2D -> MaxPooling2D -> ReLU -> Dropout" in capsys.readouterr().out
    checks.discriminator(small_discriminator())
    checks.discriminator(models.build_discriminator(image_size=32, batch_norm=True), batch_norm=True)


@pytest.mark.parametrize("model_kwargs, check_kwargs, message", [
    ({"order": ("conv", "relu", "pool", "dropout")}, {},
     r"Block 1 is Conv2D -> ReLU -> MaxPooling2D -> Dropout; expected Conv2D -> MaxPooling2D -> ReLU -> Dropout\. "
     r"The same layers in another order"),
    ({"batch_norm": True}, {}, r"Block 1 has BatchNormalization: the exercise's D has none"),
    ({}, {"batch_norm": True}, r"Block 1 has no BatchNormalization, but batch_norm=True"),
    ({"order": ("conv", "pool", "relu")}, {}, r"Dropout is missing"),
    ({"conv_dropout": 0.0}, {}, r"dropout .* has rate 0\.0"),
    ({"dense_dropout": 0.0}, {}, r"no dropout after the dense layer"),
    ({"sigmoid": True}, {}, r"ends in a sigmoid"),
    ({"outputs": 2}, {}, r"output shape is \(None, 2\), expected \(None, 1\)"),
    ({}, {"image_size": 64}, r"input is 16x16, expected 64x64"),
])
def test_discriminator_says_what_is_wrong(model_kwargs, check_kwargs, message):
    with pytest.raises(AssertionError, match=message):
        checks.discriminator(small_discriminator(**model_kwargs), **check_kwargs)


def test_discriminator_with_another_order_passes_when_that_order_is_asked_for():
    swapped = small_discriminator(order=("conv", "relu", "pool", "dropout"))
    checks.discriminator(swapped, order=("Conv2D", "ReLU", "MaxPooling2D", "Dropout"))
    fused = keras.Sequential([keras.Input((16, 16, 3))] + [
        layer for _ in range(3) for layer in (layers.Conv2D(4, 3, padding="same", activation="relu"),
                                              layers.MaxPooling2D(2), layers.Dropout(0.2))]
        + [layers.Flatten(), layers.Dense(1)])
    # A ReLU inside the convolution counts as a ReLU right after it.
    with pytest.raises(AssertionError, match="Block 1 is Conv2D -> ReLU -> MaxPooling2D -> Dropout"):
        checks.discriminator(fused)


def test_same_outputs_needs_the_same_weights():
    a, b = small_discriminator(), small_discriminator()
    x = np.random.default_rng(0).normal(size=(4, 16, 16, 3))
    with pytest.raises(AssertionError, match="copy\\s+every weight"):
        checks.same_outputs(a, b, x)
    b.set_weights(a.get_weights())
    assert checks.same_outputs(a, b, x) < 1e-6


def test_batch_dependence_accepts_a_right_measure_and_refuses_inference_mode():
    def right(d, real, fake):
        alone = np.asarray(d(real, training=True))
        mixed = np.asarray(d(np.concatenate([real, fake]), training=True))[:len(real)]
        return float(np.abs(alone - mixed).max())

    checks.batch_dependence(right)

    def inference_mode(d, real, fake):
        alone = np.asarray(d(real, training=False))
        mixed = np.asarray(d(np.concatenate([real, fake]), training=False))[:len(real)]
        return float(np.abs(alone - mixed).max())

    with pytest.raises(AssertionError, match="training=True"):
        checks.batch_dependence(inference_mode)

    def wrong_rows(d, real, fake):
        alone = np.asarray(d(real, training=True))
        mixed = np.asarray(d(np.concatenate([real, fake]), training=True))[len(real):]
        return float(np.abs(alone - mixed).max())

    with pytest.raises(AssertionError, match="without\\* batch norm"):
        checks.batch_dependence(wrong_rows)


def count_discriminator_params(image_size, widths, kernel_size, dense_units, biases=True):
    total, channels = 0, 3
    for width in widths:
        total += kernel_size * kernel_size * channels * width + width * biases
        channels = width
    features = (image_size // 2 ** len(widths)) ** 2 * channels
    for units in dense_units:
        total += features * units + units * biases
        features = units
    return total + features + biases


@pytest.mark.parametrize("case", checks.DISCRIMINATOR_PARAM_CASES)
def test_the_parameter_table_matches_keras(case):
    image_size, widths, kernel_size, dense_units = case
    built = models.build_discriminator(image_size, widths=widths, kernel_size=kernel_size, dense_units=dense_units)
    assert built.count_params() == count_discriminator_params(*case)


def test_discriminator_params_refuses_a_count_without_biases():
    checks.discriminator_params(count_discriminator_params)
    with pytest.raises(AssertionError, match="1,647,712 parameters, expected 1,648,161: the 449 biases are missing"):
        checks.discriminator_params(lambda *case: count_discriminator_params(*case, biases=False))
    with pytest.raises(AssertionError, match=r"flattened features are 6,144 after 3 max-pools"):
        checks.discriminator_params(lambda size, widths, k, dense: count_discriminator_params(2 * size, widths, k, dense))


# ----------------------------------------------------------------------------
# Notebook 02.


def test_start_size_accepts_the_package_and_refuses_wrong_arithmetic():
    checks.start_size(models.generator_start_size)
    with pytest.raises(AssertionError, match=r"start_size\(64, 3, 3\) returned 5, expected 6"):
        checks.start_size(lambda size, n, k: size // 2 ** n - k)

    def never_refuses(size, n, k):
        return size // 2 ** n - (k - 1)

    with pytest.raises(AssertionError, match=r"start_size\(60, 3, 3\) returned 5.*raise ValueError"):
        checks.start_size(never_refuses)


def small_generator(order=("unpool", "deconv", "relu", "dropout", "batchnorm"), tanh=True, start=6, kernel=3):
    noise = keras.Input((8,))
    x = layers.Dense(start * start * 8)(noise)
    x = layers.Reshape((start, start, 8))(x)
    make = {"unpool": lambda: Unpooling2D(2, mode="nearest"), "deconv": lambda: FullConv2D(8, kernel),
            "relu": layers.ReLU, "dropout": lambda: layers.Dropout(0.1),
            "batchnorm": layers.BatchNormalization}
    for _ in range(2):
        for kind in order:
            x = make[kind]()(x)
    x = FullConv2D(3, kernel, activation="tanh" if tanh else None)(x)
    return keras.Model(noise, x)


def test_generator_accepts_the_exercise_design(capsys):
    checks.generator(models.build_generator(latent_dim=8, image_size=32, widths=(16, 8)), 32, latent_dim=8, blocks=2)
    assert "OK: generator: noise (8,) -> 2 blocks" in capsys.readouterr().out
    checks.generator(small_generator(), 32, blocks=2)


@pytest.mark.parametrize("model, check_kwargs, message", [
    (lambda: small_generator(tanh=False), {}, r"not a tanh"),
    (lambda: small_generator(order=("unpool", "deconv", "relu", "batchnorm", "dropout")), {},
     r"Block 1 is Unpooling2D -> FullConv2D -> ReLU -> BatchNormalization -> Dropout; expected .*reorder"),
    (lambda: small_generator(order=("unpool", "deconv", "relu", "dropout")), {}, r"Block 1 is .*; expected"),
    (lambda: small_generator(start=5), {}, r"output shape is \(None, 28, 28, 3\), expected \(None, 32, 32, 3\)"),
    (lambda: small_generator(), {"blocks": 3}, r"Found 2 block\(s\).*expected 3"),
    (lambda: small_generator(), {"latent_dim": 100}, r"noise has 8 numbers, expected latent_dim=100"),
])
def test_generator_says_what_is_wrong(model, check_kwargs, message):
    with pytest.raises(AssertionError, match=message):
        checks.generator(model(), 32, **check_kwargs)


def test_generator_names_conv2d_transpose():
    noise = keras.Input((8,))
    x = layers.Reshape((7, 7, 8))(layers.Dense(7 * 7 * 8)(noise))
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="valid", output_padding=1)(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.BatchNormalization()(x)
    model = keras.Model(noise, FullConv2D(3, 3, activation="tanh")(x))
    with pytest.raises(AssertionError, match="Conv2DTranspose, which does unpooling and the convolution in one"):
        checks.generator(model, 18)
    checks.generator(model, 18, order=("Conv2DTranspose", "ReLU", "Dropout", "BatchNormalization"))


# ----------------------------------------------------------------------------
# Notebook 03.


def margin_rule(err_real, err_fake, margin=0.3):
    train_d = not (err_real < margin or err_fake < margin)
    train_g = not (err_real > 1 - margin or err_fake > 1 - margin)
    if not train_d and not train_g:
        return True, True
    return train_d, train_g


def test_balance_rule_accepts_the_blogs_rule_in_both_forms(capsys):
    checks.balance_rule(margin_rule)
    checks.balance_rule(balance.MarginRule())  # the package's rule, with decide() on tensors
    assert capsys.readouterr().out.count("OK: balance rule") == 2


@pytest.mark.parametrize("rule, message", [
    (lambda r, f: (True, True), r"never skips a turn"),
    (lambda r, f: (not (r < 0.3 or f < 0.3), not (r > 0.7 or f > 0.7)),
     r"err_real=0.1, err_fake=0.9 your rule skips both networks.*if both would be skipped, both train"),
    (lambda r, f: margin_rule(r, f)[::-1], r"err_real=0.2, err_fake=0.5 .*D is already too good"),
    (lambda r, f: balance.SuccessRule().decide(r, f, 0.5, 0.5), r"never skips"),
    (lambda r, f: (True,), r"return two booleans"),
])
def test_balance_rule_says_what_is_wrong(rule, message):
    with pytest.raises(AssertionError, match=message):
        checks.balance_rule(rule)


def test_balance_rule_with_non_strict_margins_fails_on_the_edge():
    def non_strict(r, f):
        train_d, train_g = not (r <= 0.3 or f <= 0.3), not (r >= 0.7 or f >= 0.7)
        return (True, True) if not (train_d or train_g) else (train_d, train_g)

    with pytest.raises(AssertionError, match=r"err_real=0.3, err_fake=0.5 .*test is strict"):
        checks.balance_rule(non_strict)


def success_rule(d_real, d_fake, upper=0.8):
    train_d = not (d_real > upper and d_fake > upper)
    train_g = not (1 - d_fake > upper)
    return (True, True) if not (train_d or train_g) else (train_d, train_g)


def test_success_rule_accepts_the_rule_and_the_package():
    checks.success_rule(success_rule)
    checks.success_rule(lambda d_real, d_fake: balance.SuccessRule().decide(0.0, 0.0, d_real, d_fake))
    with pytest.raises(AssertionError, match=r"d_real_success=0.95, d_fake_success=0.6 .*above 80% on both"):
        checks.success_rule(lambda r, f: (not (r > 0.8 or f > 0.8), not (1 - f > 0.8)))
    with pytest.raises(AssertionError, match=r"d_real_success=0.9, d_fake_success=0.9 your rule skips both"):
        checks.success_rule(lambda r, f: (not (r > 0.8 and f > 0.8), not (f > 0.8)))
    with pytest.raises(AssertionError, match=r"d_real_success=0.5, d_fake_success=0.1 .*G fools D"):
        checks.success_rule(lambda r, f: (not (r > 0.8 and f > 0.8), True))


def success_rates(real_logits, fake_logits):
    d_fake = float(np.mean(np.ravel(fake_logits) < 0))
    return float(np.mean(np.ravel(real_logits) > 0)), d_fake, 1.0 - d_fake


def test_success_rates_accepts_right_rates_and_explains_wrong_ones():
    checks.success_rates(success_rates)
    with pytest.raises(AssertionError, match="compared with 0, not 0.5"):
        checks.success_rates(lambda r, f: (np.mean(np.ravel(r) > 0.5), np.mean(np.ravel(f) < 0.5),
                                           1 - np.mean(np.ravel(f) < 0.5)))
    with pytest.raises(AssertionError, match="1 - D's success on fakes"):
        checks.success_rates(lambda r, f: success_rates(r, f)[:2] + success_rates(r, f)[1:2])
    with pytest.raises(AssertionError, match="swapped"):
        checks.success_rates(lambda r, f: success_rates(f, r))
    with pytest.raises(AssertionError, match="exactly 0"):
        checks.success_rates(lambda r, f: (np.mean(np.ravel(r) >= 0), np.mean(np.ravel(f) < 0),
                                           np.mean(np.ravel(f) > 0)))


def recorded_steps():
    rng = np.random.default_rng(0)
    steps = []
    for err_real, err_fake in rng.uniform(0, 1, size=(200, 2)):
        train_d, train_g = margin_rule(err_real, err_fake)
        steps.append({"err_real": err_real, "err_fake": err_fake, "d_updated": float(train_d),
                      "g_updated": float(train_g), "d_real_success": 0.5, "d_fake_success": 0.5})
    return steps


def test_rule_replay_finds_the_step_where_a_rule_disagrees_with_the_run():
    steps = recorded_steps()
    share = checks.rule_replay(margin_rule, steps)
    assert share == pytest.approx(np.mean([s["d_updated"] for s in steps]))
    with pytest.raises(AssertionError, match=r"Step \d+: err_real=.*the run trained D=.*your rule says"):
        checks.rule_replay(lambda r, f: (not (r < 0.3 or f < 0.3), True), steps)
    with pytest.raises(AssertionError, match="run the training cell"):
        checks.rule_replay(margin_rule, [])


# ----------------------------------------------------------------------------
# Notebook 04.


def test_critic_schedule_accepts_the_package_and_refuses_off_by_one():
    reference = types.SimpleNamespace(warmup_iterations=25, warmup_every=500, warmup_critic=100, n_critic=5)
    checks.critic_schedule(lambda i: wgan.critic_iterations(reference, i))
    with pytest.raises(AssertionError, match=r"iteration 24 your schedule gives 5 critic steps, expected 100"):
        checks.critic_schedule(lambda i: 100 if i < 24 or i % 500 == 0 else 5)
    with pytest.raises(AssertionError, match=r"iteration 500 .*every 500th"):
        checks.critic_schedule(lambda i: 100 if i < 25 else 5)


def clip_in_place(critic, clip_value):
    for variable in critic.trainable_variables:
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))


def test_clipping_accepts_the_package_and_a_plain_version():
    checks.clipping(clip_in_place)
    checks.clipping(lambda critic, c: wgan.clip_weights(types.SimpleNamespace(critic=critic, clip_value=c)))


def test_clipping_says_what_is_wrong():
    def not_assigned(critic, c):
        for variable in critic.trainable_variables:
            np.clip(variable.numpy(), -c, c)

    with pytest.raises(AssertionError, match="Nothing changed.*assign"):
        checks.clipping(not_assigned)

    def kernels_only(critic, c):
        for variable in critic.trainable_variables:
            if "kernel" in variable.path:
                variable.assign(tf.clip_by_value(variable, -c, c))

    with pytest.raises(AssertionError, match=r"bias still has values up to 0\.0\d+, outside"):
        checks.clipping(kernels_only)

    def rescaled(critic, c):
        for variable in critic.trainable_variables:
            variable.assign(variable * c / tf.reduce_max(tf.abs(variable)))

    with pytest.raises(AssertionError, match="already inside .* changed.*not a rescaling"):
        checks.clipping(rescaled)

    def every_variable(critic, c):
        for variable in critic.variables:
            variable.assign(tf.clip_by_value(variable, -c, c))

    with pytest.raises(AssertionError, match="moving statistics"):
        checks.clipping(every_variable)

    with pytest.raises(AssertionError, match="already inside"):
        checks.clipping(lambda critic, c: clip_in_place(critic, 0.01))  # ignores the clip value it is given


def gradient_penalty(critic, real, fake, alpha, per_image=True, squared=True, at=None):
    between = real + alpha * (fake - real) if at is None else at(real, fake)
    with tf.GradientTape() as tape:
        tape.watch(between)
        scores = critic(between, training=True)
    grads = tf.reshape(tape.gradient(scores, between), (tf.shape(real)[0], -1))
    if per_image:
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1))
    else:
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads)))
    difference = norms - 1.0
    return tf.reduce_mean(tf.square(difference) if squared else tf.abs(difference))


def test_penalty_accepts_the_package_and_a_plain_version():
    checks.penalty(gradient_penalty)
    checks.penalty(lambda critic, real, fake, alpha: wgan.penalty(types.SimpleNamespace(critic=critic, noise_seed=None),
                                                                  real, fake, alpha))


@pytest.mark.parametrize("kwargs, message", [
    ({"per_image": False}, "one norm per image"),
    ({"squared": False}, r"square the difference"),
    ({"at": lambda real, fake: real}, r"gradient at real; use x_hat"),
])
def test_penalty_says_what_is_wrong(kwargs, message):
    with pytest.raises(AssertionError, match=message):
        checks.penalty(lambda critic, real, fake, alpha: gradient_penalty(critic, real, fake, alpha, **kwargs))


# ----------------------------------------------------------------------------
# Notebook 05.


def test_interpolation_accepts_the_package_and_refuses_lerp_and_nan():
    checks.interpolation(explorer.slerp)
    with pytest.raises(AssertionError, match="That is linear interpolation"):
        checks.interpolation(explorer.lerp)

    def no_fallback(a, b, t):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        omega = np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)

    with pytest.raises(AssertionError, match=r"slerp\(a, a, 0.5\).*NaN values.*fall back"):
        checks.interpolation(no_fallback)


def brightness(images):
    return np.asarray(images).mean(axis=(1, 2, 3))


def tiny_generator():
    noise = keras.Input((6,))
    x = layers.Dense(4 * 4 * 3, kernel_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=1))(noise)
    return keras.Model(noise, layers.Activation("tanh")(layers.Reshape((4, 4, 3))(x)))


def test_latent_direction_accepts_a_fitted_direction_and_refuses_wrong_ones():
    generator = tiny_generator()
    z = np.random.default_rng(1).normal(size=(256, 6)).astype(np.float32)
    values = brightness(generator.predict(z, verbose=0))
    coefficients = np.linalg.lstsq(z, values - values.mean(), rcond=None)[0]
    direction = coefficients / np.linalg.norm(coefficients)
    assert checks.latent_direction(generator, direction, brightness) > 0
    with pytest.raises(AssertionError, match="raised the measure for only"):
        checks.latent_direction(generator, -direction, brightness)
    with pytest.raises(AssertionError, match="divide it by its length"):
        checks.latent_direction(generator, coefficients * 10, brightness)
    with pytest.raises(AssertionError, match=r"shape \(5,\)"):
        checks.latent_direction(generator, direction[:5], brightness)


def truncated(num, dim, threshold, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(num, dim))
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.normal(size=outside.sum())
        outside = np.abs(z) > threshold
    return z


def test_truncated_noise_accepts_resampling_and_refuses_clipping_and_rescaling():
    checks.truncated_noise(truncated)
    with pytest.raises(AssertionError, match="that is clipping"):
        checks.truncated_noise(lambda n, d, t, seed=0: np.clip(np.random.default_rng(seed).normal(size=(n, d)), -t, t))
    with pytest.raises(AssertionError, match="standard deviation"):
        checks.truncated_noise(lambda n, d, t, seed=0: np.random.default_rng(seed).uniform(-t, t, size=(n, d)))
    with pytest.raises(AssertionError, match="different noise"):
        checks.truncated_noise(lambda n, d, t, seed=0: truncated(n, d, t, seed=None))


# ----------------------------------------------------------------------------
# The students' copy.


def exercise_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("## Exercises\n### Exercise 1: add\nWrite `add`."),
        nbformat.v4.new_code_cell(
            "from gan_helpers import checks\n\n\ndef add(a, b):\n    \"\"\"Sum.\"\"\"\n"
            "    ### BEGIN SOLUTION\n    total = a + b  # the solution\n    return total\n    ### END SOLUTION\n\n\n"
            "print(add(1, 2))",
            execution_count=3, outputs=[nbformat.v4.new_output("stream", name="stdout", text="3\n")]),
        nbformat.v4.new_code_cell("print('kept')", execution_count=4,
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="kept\n")]),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint(answer)"),
        nbformat.v4.new_markdown_cell("Your answer:\n### BEGIN SOLUTION\nBecause it is.\n### END SOLUTION"),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def test_student_copy_replaces_solutions_with_nbgraders_stub_and_keeps_the_rest(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    original = exercise_notebook()
    nbformat.write(original, source / "00_x.ipynb")
    removed = student.write_release(source, tmp_path / "out")
    assert removed == {"00_x.ipynb": 3}
    copy = nbformat.read(tmp_path / "out" / "notebooks" / "00_x.ipynb", as_version=4)
    nbformat.validate(copy)
    cells = copy.cells
    stub = ('    raise NotImplementedError("Exercise 1 of notebook 00: write your answer here (Run All stops at the '
            'first exercise not written yet).")')
    assert cells[1].source == ('from gan_helpers import checks\n\n\ndef add(a, b):\n    """Sum."""\n'
                               f"    # YOUR CODE HERE\n{stub}\n\n\nprint(add(1, 2))")
    assert cells[1].outputs == [] and cells[1].execution_count is None
    # An output the student has not earned goes too, unless the cell is marked as a figure of the data.
    assert cells[2].source == original.cells[2].source and cells[2].outputs == []
    assert cells[3].source == f"# YOUR CODE HERE\n{stub.strip()}\nprint(answer)"
    assert cells[4].source == "Your answer:\nYOUR ANSWER HERE"
    assert cells[0] == original.cells[0] and copy.metadata == original.metadata
    text = (tmp_path / "out" / "notebooks" / "00_x.ipynb").read_text()
    for solution in ("the solution", "answer = 42", "Because it is", "SOLUTION"):
        assert solution not in text


def test_student_copy_refuses_unbalanced_markers_and_writing_over_the_source(tmp_path):
    with pytest.raises(ValueError, match="never closed"):
        student.clear_solution_regions("### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(ValueError, match="without a"):
        student.clear_solution_regions("x = 1\n### END SOLUTION\n")
    with pytest.raises(ValueError, match="inside another"):
        student.clear_solution_regions("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n")
    nbformat.write(exercise_notebook(), tmp_path / "a.ipynb")
    with pytest.raises(ValueError, match="would delete the solutions"):
        student.write_release(tmp_path, tmp_path)


def test_student_copy_replaces_a_solution_cell_without_markers_whole(tmp_path):
    notebook = exercise_notebook()
    cell = nbformat.v4.new_code_cell("answer = 6 * 7  # the whole cell is the answer\nprint(answer)",
                                     metadata={"nbgrader": {"solution": True, "grade_id": "bare"}})
    notebook.cells.append(cell)
    nbformat.write(notebook, tmp_path / "a.ipynb")
    assert student.write_release(tmp_path / "a.ipynb", tmp_path / "out") == {"a.ipynb": 4}
    copy = nbformat.read(tmp_path / "out" / "notebooks" / "a.ipynb", as_version=4)
    assert copy.cells[-1].source.startswith("# YOUR CODE HERE\nraise NotImplementedError(\"Exercise 1 of notebook a.")
    assert "6 * 7" not in (tmp_path / "out" / "notebooks" / "a.ipynb").read_text()


def test_student_copy_never_writes_through_links_to_the_source(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(exercise_notebook(), source / "a.ipynb")
    before = (source / "a.ipynb").read_bytes()
    out = tmp_path / "release"
    (out / "gan_helpers").mkdir(parents=True)
    models = PROJECT_ROOT / "gan_helpers" / "models.py"
    (out / "gan_helpers" / "models.py").symlink_to(models)  # a link into the workbook's own package
    package = models.read_bytes()
    with pytest.raises(ValueError, match="leads to .* of the workbook"):
        student.write_release(source, out)
    assert models.read_bytes() == package and not (out / "notebooks").exists()
    (tmp_path / "linked").symlink_to(source)  # the output folder is the source folder under another name
    with pytest.raises(ValueError, match="would delete the solutions"):
        student.write_release(source, tmp_path / "linked")
    assert (source / "a.ipynb").read_bytes() == before


def test_student_copy_checks_every_notebook_before_writing_any(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(exercise_notebook(), source / "a.ipynb")
    bad = exercise_notebook()
    bad.cells[1].source += "\n### BEGIN SOLUTION\n"  # never closed
    nbformat.write(bad, source / "b.ipynb")
    (source / "c.ipynb").write_text('{"cells": [], "nbformat": 4}')  # no metadata: not a valid notebook
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "gan_helpers.student", str(source), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "b.ipynb" in result.stderr and "never closed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not out.exists() or not list(out.rglob("*"))  # nothing written, not even a.ipynb
    (source / "b.ipynb").unlink()
    result = subprocess.run([sys.executable, "-m", "gan_helpers.student", str(source), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "c.ipynb is not a valid notebook" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not list(out.rglob("*.ipynb"))


def test_student_command_on_the_workbook(tmp_path):
    """The real notebooks: every exercise loses its solution, every other cell is unchanged."""
    out = tmp_path / "student"
    result = subprocess.run([sys.executable, "-m", "gan_helpers.student", str(NOTEBOOKS), str(out)],
                            capture_output=True, text=True, check=True)
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert sorted(path.name for path in (out / "notebooks").glob("*.ipynb")) == names
    assert result.stdout.count("solution(s) removed") == len(names)
    grade_ids = []
    for name in names:
        original = nbformat.read(NOTEBOOKS / name, as_version=4)
        copy = nbformat.read(out / "notebooks" / name, as_version=4)
        nbformat.validate(copy)
        raw = (out / "notebooks" / name).read_text()
        assert "### BEGIN SOLUTION" not in raw and "### END SOLUTION" not in raw, name
        solutions = [i for i, cell in enumerate(original.cells) if "### BEGIN SOLUTION" in cell.source]
        core = [i for i in solutions if original.cells[i].source.startswith("#| export")]  # tests/test_release.py
        exercises = [i for i in solutions if i not in core]
        assert 2 <= len(exercises) <= 4, f"{name}: {len(exercises)} exercise cells"
        # nbgrader's ClearSolutions (enforce_metadata) needs every cell with a solution region marked as a solution.
        marks = [original.cells[i].metadata.get("nbgrader", {}) for i in solutions]
        assert all(mark.get("solution") is True and mark.get("grade") is False for mark in marks), name
        grade_ids.extend(mark["grade_id"] for mark in marks)
        kept = [cell for cell in original.cells if not student.instructor_only(cell) and not student.self_study_only(cell)]
        assert len(copy.cells) == len(kept)
        index = {id(cell): i for i, cell in enumerate(original.cells)}
        for before, after in zip(kept, copy.cells):
            i = index[id(before)]
            if i in exercises:
                assert "# YOUR CODE HERE\n" in after.source and "raise NotImplementedError(\"Exercise " in after.source
                assert after.outputs == [] and after.execution_count is None
                # The scaffold stays: the self-check call after the solution is still there.
                assert before.source.split("### END SOLUTION")[-1] in after.source
                solution = before.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                assert solution.strip() and solution not in after.source
            elif i not in core:
                assert after.source == student.without_outputs_note(before.source), f"{name}: cell {i} changed"
                assert after.metadata == before.metadata, f"{name}: cell {i} changed"
        headings = [cell.source.splitlines()[0] for cell in original.cells if cell.cell_type == "markdown"]
        assert "## Exercises" in headings, name
        assert json.loads(raw)["nbformat"] == 4
    assert len(grade_ids) == len(set(grade_ids)), "nbgrader needs a unique grade_id per cell"
