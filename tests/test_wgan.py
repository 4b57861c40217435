"""WGAN and WGAN-GP: the reference schedule, clipping, the penalty, fresh noise for G, no backward pass
through G in critic steps, the reference's DCGAN networks, and tf.distribute."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gan_helpers import models, wgan
from gan_helpers._quiet import import_tensorflow
from helpers import run_cli

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


def test_penalty_works_on_samples_of_any_rank():
    """Points (batch, 2) as in the toy, and sequences (batch, 3, 2): the same hand-computed penalty."""
    w = np.array([0.5, -1.0, 2.0, 0.25, 1.5, -0.5], np.float32)
    for shape in [(6,), (3, 2)]:
        inputs = keras.Input(shape)
        dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(w.reshape(6, 1)))
        critic = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
        model = wgan.WGAN(keras.Sequential([keras.Input((3,)), keras.layers.Dense(6), keras.layers.Reshape(shape)]),
                          critic, clip_value=None, gradient_penalty=10.0)
        real, fake = tf.random.normal((5, *shape)), tf.random.normal((5, *shape))
        expected = (np.sqrt((w ** 2).sum()) - 1) ** 2
        assert float(model.penalty(real, fake)) == pytest.approx(expected, rel=1e-5)
        alpha = tf.reshape(tf.linspace(0.0, 1.0, 5), (5,) + (1,) * len(shape))
        assert float(model.penalty(real, fake, alpha)) == pytest.approx(expected, rel=1e-5)


def linear_wgan(learning_rate):
    """G(z) = z W + b (3 -> 2) and D(x) = x v + d, trained with plain SGD, one critic step per G step."""
    keras.utils.set_random_seed(3)
    generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="generator")
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)], name="critic")
    model = wgan.WGAN(generator, critic, clip_value=None, gradient_penalty=0.0, n_critic=1,
                      warmup_iterations=0, warmup_every=0, seed=5)
    model.compile(keras.optimizers.SGD(learning_rate), keras.optimizers.SGD(learning_rate))
    return model


def expected_generator_kernel(model, real, noise, g_noise, learning_rate):
    """The G kernel after one critic step on (real, noise) and one G step on g_noise, by hand.

    Critic: Loss_D = mean(D(real)) - mean(D(G(noise))), so dLoss_D/dv = mean(real) - mean(G(noise)).
    Generator: Loss_G = mean(D(G(z))) with the updated v, so dLoss_G/dW = outer(mean(z), v).
    """
    w, b = (x.numpy() for x in model.generator.layers[-1].weights)
    v = model.critic.layers[-1].kernel.numpy()[:, 0]
    fake = noise @ w + b
    v_after = v - learning_rate * (real.mean(axis=0) - fake.mean(axis=0))
    return w - learning_rate * np.outer(g_noise.mean(axis=0), v_after)


def _pytorch_rmsprop(weights, gradients, lr, alpha=0.99, eps=1e-8):
    """torch.optim.RMSprop's update (torch/optim/rmsprop.py, no momentum, not centred), in numpy."""
    square_avg = np.zeros_like(weights)
    for g in gradients:
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        weights = weights - lr * g / (np.sqrt(square_avg) + eps)
    return weights


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-5])
def test_the_clipped_wgans_optimizer_is_the_references_pytorch_rmsprop(scale):
    """Gradients as small as a clipped critic's (1e-5) must move the weights as PyTorch's RMSprop would;
    Keras' default RMSprop (epsilon 1e-7 inside the root) moves them 10-100x less at that scale."""
    rng = np.random.default_rng(0)
    start = rng.uniform(-0.01, 0.01, size=50)
    gradients = [scale * rng.standard_normal(50) for _ in range(20)]
    expected = _pytorch_rmsprop(start, gradients, 5e-5)
    variable = keras.Variable(start.astype("float32"))
    optimizer = wgan.reference_rmsprop()
    for g in gradients:
        optimizer.apply_gradients([(tf.constant(g, tf.float32), variable)])
    moved, expected_moved = np.asarray(variable) - start, expected - start
    np.testing.assert_allclose(moved, expected_moved, rtol=1e-3, atol=1e-9)
    assert np.abs(expected_moved).max() > 1e-5  # the weights did move: the comparison means something
    if scale < 1e-3:  # Keras' own RMSprop (epsilon inside the root) is what the port must not use
        default = keras.Variable(start.astype("float32"))
        keras_rmsprop = keras.optimizers.RMSprop(5e-5, rho=0.99)
        for g in gradients:
            keras_rmsprop.apply_gradients([(tf.constant(g, tf.float32), default)])
        assert np.abs(np.asarray(default) - start).max() < 0.2 * np.abs(expected_moved).max()


def test_both_wgans_get_the_references_optimizers_by_default():
    generator, critic = models.build_dcgan_generator(image_size=16, width=8), models.build_dcgan_critic(16, 8)
    clipped = wgan.build_wgan(generator, critic, "wgan")
    assert isinstance(clipped.d_optimizer, wgan.TorchRMSprop)
    assert (clipped.d_optimizer.rho, clipped.d_optimizer.epsilon) == (0.99, 1e-8)
    assert float(clipped.g_optimizer.learning_rate) == pytest.approx(5e-5)
    generator, critic = models.build_dcgan_generator(image_size=16, width=8), models.build_dcgan_critic(16, 8, False)
    gp = wgan.build_wgan(generator, critic, "wgan-gp")
    assert isinstance(gp.d_optimizer, keras.optimizers.Adam)
    assert (gp.d_optimizer.beta_1, gp.d_optimizer.beta_2, gp.d_optimizer.epsilon) == (0.0, 0.9, 1e-8)


def test_the_generator_step_draws_fresh_noise():
    lr = 0.1
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 2)).astype("float32")
    noise = rng.normal(1.0, 1.0, size=(16, 3)).astype("float32")  # mean far from 0: easy to tell apart
    g_noise = rng.normal(-1.0, 1.0, size=(16, 3)).astype("float32")
    alpha = np.zeros((16, 1), np.float32)  # unused without a penalty

    # Given the generator's noise as a 4th element, the G update is the hand-computed one with it.
    model = linear_wgan(lr)
    with_g_noise = expected_generator_kernel(model, real, noise, g_noise, lr)
    reused = expected_generator_kernel(model, real, noise, noise, lr)
    assert not np.allclose(with_g_noise, reused, atol=1e-3)  # the two hypotheses differ
    model.fit(tf.data.Dataset.from_tensors((real, noise, alpha, g_noise)), epochs=1, verbose=0)
    assert int(model.gen_iterations.numpy()) == 1
    np.testing.assert_allclose(model.generator.layers[-1].kernel.numpy(), with_g_noise, rtol=1e-4, atol=1e-6)

    # Not given, it is drawn fresh: the G update is not the one with the critic step's noise...
    model = linear_wgan(lr)
    reused = expected_generator_kernel(model, real, noise, noise, lr)
    w0 = model.generator.layers[-1].kernel.numpy()
    model.fit(tf.data.Dataset.from_tensors((real, noise)), epochs=1, verbose=0)
    assert int(model.gen_iterations.numpy()) == 1
    moved = model.generator.layers[-1].kernel.numpy()
    assert not np.allclose(moved, reused, atol=1e-3)
    # ...but an update with *some* N(0, 1) noise: W0 - W = lr * outer(mean(z), v), solved for mean(z)
    # with the critic's kernel v after its step (the generator step does not change it).
    v = model.critic.layers[-1].kernel.numpy()[:, 0]
    implied_mean = (w0 - moved) @ v / (lr * v @ v)
    assert np.abs(implied_mean).max() < 4 / np.sqrt(16)  # 4 sigma for a mean of 16 draws; noise's is about 1


class RecordingTape(tf.GradientTape):
    """A GradientTape that remembers which variables it watched."""

    records = []

    def __exit__(self, *args):
        RecordingTape.records.append({id(v) for v in self.watched_variables()})
        return super().__exit__(*args)


@pytest.mark.parametrize("variant", ["wgan", "wgan-gp"])
def test_critic_steps_run_no_backward_pass_through_the_generator(variant, monkeypatch):
    model = tiny(variant)
    generator_ids = {id(v.value) for v in model.generator.trainable_variables}
    critic_ids = {id(v.value) for v in model.critic.trainable_variables}
    monkeypatch.setattr(tf, "GradientTape", RecordingTape)
    RecordingTape.records = []
    real = tf.random.uniform((4, 32, 32, 3), -1, 1)
    model.generator_turn = False
    model.train_step(real)  # eagerly, so that every tape of the critic step is recorded
    assert RecordingTape.records, "the critic step used no tape"
    assert all(critic_ids <= watched for watched in RecordingTape.records[:1])  # the critic's own tape
    assert not any(generator_ids & watched for watched in RecordingTape.records)
    # The instrument works: a generator step's tape does watch the generator.
    RecordingTape.records = []
    model.generator_turn = True
    model.train_step(real)
    assert any(generator_ids <= watched for watched in RecordingTape.records)


# The reference's networks (martinarjovsky/WassersteinGAN, models/dcgan.py), as layer lists written here
# from its loops: (in_channels, out_channels) of each 4x4 convolution (no biases) and the channels of each
# batch norm (weight and bias: 2 trainable numbers per channel, plus running mean and variance).

def reference_dcgan_g(isize, nz, ngf, nc=3):
    cngf, tisize = ngf // 2, 4
    while tisize != isize:
        cngf, tisize = cngf * 2, tisize * 2
    convs, norms, sizes = [(nz, cngf)], [cngf], [4]
    csize = 4
    while csize < isize // 2:
        convs.append((cngf, cngf // 2))
        norms.append(cngf // 2)
        cngf, csize = cngf // 2, csize * 2
        sizes.append(csize)
    convs.append((cngf, nc))
    sizes.append(isize)
    return convs, norms, sizes


def reference_dcgan_d(isize, ndf, nc=3):
    convs, norms, sizes = [(nc, ndf)], [], [isize // 2]
    csize, cndf = isize // 2, ndf
    while csize > 4:
        convs.append((cndf, cndf * 2))
        norms.append(cndf * 2)
        cndf, csize = cndf * 2, csize // 2
        sizes.append(csize)
    convs.append((cndf, 1))
    sizes.append(1)
    return convs, norms, sizes


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


@pytest.mark.parametrize("isize, width", [(32, 64), (64, 64), (32, 16), (64, 16)])
def test_dcgan_networks_match_the_references_layer_lists(isize, width):
    g = models.build_dcgan_generator(latent_dim=100, image_size=isize, width=width)
    convs, norms, sizes = reference_dcgan_g(isize, 100, width)
    assert g.input_shape == (None, 100) and g.output_shape == (None, isize, isize, 3)
    assert trainable_count(g) == sum(i * o * 16 for i, o in convs) + sum(2 * c for c in norms)
    assert g.count_params() == sum(i * o * 16 for i, o in convs) + sum(4 * c for c in norms)
    transposed = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [(layer.input.shape[-1], layer.filters) for layer in transposed] == convs
    assert [layer.output.shape[1] for layer in transposed] == sizes
    assert not any(layer.use_bias for layer in transposed)

    for batch_norm in (True, False):
        c = models.build_critic(isize, architecture="dcgan", width=width, batch_norm=batch_norm)
        convs, norms, sizes = reference_dcgan_d(isize, width)
        norms = norms if batch_norm else []  # DCGAN_D_nobn
        assert c.input_shape == (None, isize, isize, 3) and c.output_shape == (None, 1)
        assert trainable_count(c) == sum(i * o * 16 for i, o in convs) + sum(2 * c for c in norms)
        conv_layers = [layer for layer in c.layers if isinstance(layer, keras.layers.Conv2D)]
        assert [(layer.input.shape[-1], layer.filters) for layer in conv_layers] == convs
        assert [layer.output.shape[1] for layer in conv_layers] == sizes
        assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in c.layers) == len(norms)
        relus = [layer for layer in c.layers if isinstance(layer, keras.layers.LeakyReLU)]
        assert len(relus) == len(convs) - 1 and all(r.negative_slope == pytest.approx(0.2) for r in relus)


def test_dcgan_generator_output_and_initialisation():
    keras.utils.set_random_seed(0)
    g = models.build_dcgan_generator(latent_dim=100, image_size=64, width=64)
    kernels = np.concatenate([layer.kernel.numpy().ravel() for layer in g.layers
                              if isinstance(layer, keras.layers.Conv2DTranspose)])
    assert abs(kernels.mean()) < 1e-3 and kernels.std() == pytest.approx(0.02, rel=0.02)
    gammas = np.concatenate([layer.gamma.numpy() for layer in g.layers
                             if isinstance(layer, keras.layers.BatchNormalization)])
    betas = np.concatenate([layer.beta.numpy() for layer in g.layers
                            if isinstance(layer, keras.layers.BatchNormalization)])
    assert gammas.mean() == pytest.approx(1.0, abs=2e-3) and gammas.std() == pytest.approx(0.02, rel=0.15)
    assert not betas.any()
    images = np.asarray(g(np.random.default_rng(0).normal(size=(4, 100)).astype("float32"), training=True))
    assert images.shape == (4, 64, 64, 3) and np.abs(images).max() <= 1.0 and images.std() > 0.01
    c = models.build_critic(64, architecture="dcgan")
    kernels = np.concatenate([layer.kernel.numpy().ravel() for layer in c.layers
                              if isinstance(layer, keras.layers.Conv2D)])
    assert kernels.std() == pytest.approx(0.02, rel=0.02)


def torch_conv_transpose(x, kernel, stride, pad):
    """PyTorch's ConvTranspose2d (no bias) in numpy; ``kernel`` in Keras' (kh, kw, out, in) layout."""
    h, w, _ = x.shape
    k = kernel.shape[0]
    full = np.zeros(((h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]))
    for i in range(h):
        for j in range(w):
            full[i * stride:i * stride + k, j * stride:j * stride + k] += np.einsum("abon,n->abo", kernel, x[i, j])
    return full[pad:full.shape[0] - pad, pad:full.shape[1] - pad]


def torch_conv(x, kernel, stride, pad):
    """PyTorch's Conv2d (no bias) in numpy; ``kernel`` in Keras' (kh, kw, in, out) layout."""
    x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    k = kernel.shape[0]
    side = (x.shape[0] - k) // stride + 1
    out = np.zeros((side, side, kernel.shape[3]))
    for i in range(side):
        for j in range(side):
            out[i, j] = np.einsum("abn,abno->o", x[i * stride:i * stride + k, j * stride:j * stride + k], kernel)
    return out


def test_strided_layers_pad_as_the_references_padding_1():
    rng = np.random.default_rng(0)
    g = models.build_dcgan_generator(latent_dim=4, image_size=32, width=4)
    for name, side in [("pyramid1_convt", 8), ("final_convt", 16)]:
        layer = g.get_layer(name)
        x = rng.normal(size=(side, side, layer.input.shape[-1])).astype("float32")
        expected = torch_conv_transpose(x.astype("float64"), layer.kernel.numpy(), 2, 1)
        np.testing.assert_allclose(np.asarray(layer(x[None]))[0], expected, rtol=1e-4, atol=1e-5)
    initial = g.get_layer("initial_convt")  # 1x1 -> 4x4, stride 1, no padding
    z = rng.normal(size=(1, 1, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(initial(z[None]))[0], torch_conv_transpose(z, initial.kernel.numpy(), 1, 0),
                               rtol=1e-4, atol=1e-5)
    c = models.build_critic(32, architecture="dcgan", width=4)
    for name, side in [("initial_conv", 32), ("pyramid1_conv", 16)]:
        layer = c.get_layer(name)
        x = rng.normal(size=(side, side, layer.input.shape[-1])).astype("float32")
        expected = torch_conv(x.astype("float64"), layer.kernel.numpy(), 2, 1)
        np.testing.assert_allclose(np.asarray(layer(x[None]))[0], expected, rtol=1e-4, atol=1e-5)
    final = c.get_layer("final_conv")
    x = rng.normal(size=(4, 4, final.input.shape[-1])).astype("float32")
    np.testing.assert_allclose(np.asarray(final(x[None]))[0], torch_conv(x, final.kernel.numpy(), 1, 0),
                               rtol=1e-4, atol=1e-5)


def test_dcgan_networks_save_and_reload(tmp_path):
    keras.utils.set_random_seed(0)
    noise = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
    g = models.build_dcgan_generator(latent_dim=16, image_size=32, width=8)
    c = models.build_critic(32, architecture="dcgan", width=8)
    for model, x in [(g, noise), (c, np.asarray(g(noise)))]:
        model(x, training=True)  # move the batch-norm statistics away from their initial values
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        np.testing.assert_array_equal(np.asarray(again(x, training=False)), np.asarray(model(x, training=False)))
        assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]


def test_both_generator_architectures_have_the_same_contract():
    noise = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    for name in ("exercise", "dcgan"):
        g = models.GENERATORS[name](latent_dim=8, image_size=32)
        assert g.input_shape == (None, 8) and g.output_shape == (None, 32, 32, 3), name
        images = np.asarray(g(noise, training=False))
        assert images.shape == (2, 32, 32, 3) and np.abs(images).max() <= 1.0, name
    assert models.GENERATORS["dcgan"] is models.build_dcgan_generator


def test_bad_dcgan_sizes():
    for size in (8, 40, 48):  # 48 is a multiple of 16, but the reference's loops never reach it from 4
        with pytest.raises(ValueError, match="power of 2"):
            models.build_dcgan_generator(image_size=size)
        with pytest.raises(ValueError, match="power of 2"):
            models.build_critic(size, architecture="dcgan")
    assert models.build_dcgan_generator(latent_dim=4, image_size=16, width=4).output_shape == (None, 16, 16, 3)


def test_the_exercise_critic_has_no_dropout_unless_asked():
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype("float32")
    critic = models.build_critic(32)
    d = models.build_discriminator(32)
    assert [type(layer) for layer in critic.layers] == [type(layer) for layer in d.layers]  # D's layers
    assert critic.count_params() == d.count_params()
    np.testing.assert_array_equal(np.asarray(critic(x, training=True)), np.asarray(critic(x, training=True)))
    dropouts = [layer for layer in critic.layers if isinstance(layer, (keras.layers.Dropout,
                                                                       keras.layers.SpatialDropout2D))]
    assert dropouts and all(layer.rate == 0 for layer in dropouts)
    noisy = models.build_critic(32, conv_dropout=0.2, dense_dropout=0.5)
    assert not np.allclose(np.asarray(noisy(x, training=True)), np.asarray(noisy(x, training=True)))


def test_a_wgan_of_the_reference_networks_trains():
    keras.utils.set_random_seed(0)
    g = models.build_dcgan_generator(latent_dim=8, image_size=32, width=8)
    c = models.build_critic(32, architecture="dcgan", width=8)
    model = wgan.build_wgan(g, c, "wgan", seed=0, n_critic=2, warmup_iterations=0, warmup_every=0)
    before = [v.numpy().copy() for v in g.trainable_variables]
    real = tf.random.uniform((4 * 4, 32, 32, 3), -1, 1)
    history = model.fit(tf.data.Dataset.from_tensor_slices(real).batch(4), epochs=1, verbose=0)
    assert int(model.gen_iterations.numpy()) == 2
    assert np.isfinite(history.history["wasserstein"][-1])
    assert any(not np.allclose(a, v.numpy()) for a, v in zip(before, g.trainable_variables))


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
        g_noise = rng.normal(size=(8, 8)).astype("float32")  # the generator step's own noise
        data = tf.data.Dataset.from_tensor_slices((real, noise, alpha, g_noise)).batch(8)
        model.fit(data, epochs=1, verbose=0)
        return [v.numpy() for v in g.trainable_variables + c.trainable_variables], int(model.gen_iterations.numpy())

    single, g1 = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
    mirrored, g2 = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored))
    moved = max(float(np.abs(a).max()) for a in single)
    print(json.dumps({"max_difference": diff, "gen_iterations": [g1, g2], "moved": moved}))
''')


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["wgan", "wgan-gp"])
def test_train_sample_and_resume_from_the_command_line(variant, tmp_path):
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "faces", people=6, per_person=8, size=64)
    config = json.dumps({"batch_size": 8, "generator": {"widths": [8, 8]},
                         "discriminator": {"widths": [4, 8, 8], "dense_units": [8]}})
    def cli(*args):
        return run_cli(*args, GAN_CACHE_DIR=str(tmp_path / "cache"))

    out = tmp_path / "run"
    result = cli("train", "--model", variant, "--data", str(folder), "--size", "32", "--crop", "0",
                 "--epochs", "1", "--out", str(out), "--config", config, "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wasserstein" in (out / "history.csv").read_text()
    result = cli("train", "--resume", str(out), "--epochs", "2", "--quiet")
    assert result.returncode == 0 and "Trained 2 epoch(s)" in result.stdout, result.stderr[-2000:]
    result = cli("sample", "--model", str(out), "--num", "4", "--out", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr[-2000:]


# -- choosing the networks: runs and the command line ----------------------------

@pytest.mark.parametrize("variant, critic_batch_norm", [("wgan", True), ("wgan-gp", False)])
def test_a_run_builds_the_reference_networks_when_asked(variant, critic_batch_norm):
    from gan_helpers import runs

    config = runs.default_config(model=variant, image_size=32, latent_dim=16, generator_architecture="dcgan",
                                 critic="dcgan", generator={"width": 8}, discriminator={"width": 8})
    model = runs.build(config)
    kinds = {type(layer).__name__ for layer in model.generator.layers}
    assert "Conv2DTranspose" in kinds and "FullConv2D" not in kinds
    critic_kinds = [type(layer).__name__ for layer in model.critic.layers]
    # The reference: batch norm in the clipped WGAN's critic; WGAN-GP's critic must have none.
    assert ("BatchNormalization" in critic_kinds) == critic_batch_norm
    assert model.generator.output_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="generator_architecture must be one of exercise, dcgan"):
        runs.default_config(generator_architecture="resnet")


def test_runs_stored_before_the_new_settings_rebuild_the_networks_they_trained():
    from gan_helpers import runs

    old = {"model": "wgan", "critic": "exercise", "discriminator": {}, "image_size": 32}
    upgraded = runs.upgrade_config(old)
    assert upgraded["generator_architecture"] == "exercise" and upgraded["holdout"] == 0.0
    assert upgraded["discriminator"] == {"conv_dropout": 0.2, "dense_dropout": 0.5}
    assert old == {"model": "wgan", "critic": "exercise", "discriminator": {}, "image_size": 32}  # not modified
    new = runs.default_config(model="wgan")
    assert runs.upgrade_config(json.loads(json.dumps(new))) == json.loads(json.dumps(new))


def test_the_command_line_chooses_both_networks(tmp_path):
    from gan_helpers import cli
    from gan_helpers.synthetic import make_face_folder

    folder = make_face_folder(tmp_path / "faces", people=2, per_person=2, size=64)
    args = cli.build_parser().parse_args(["train", "--model", "wgan-gp", "--architecture", "dcgan", "--size", "32",
                                          "--minutes", "1", "--data", str(folder), "--out", str(tmp_path / "r")])
    config, _ = cli._train_config(args)
    assert config["generator_architecture"] == config["critic"] == "dcgan"
    args = cli.build_parser().parse_args(["train", "--minutes", "1", "--data", str(folder),
                                          "--out", str(tmp_path / "r2")])
    assert "generator_architecture" not in cli._train_config(args)[0]


def test_generator_iteration_budget_of_a_wgan_run(tmp_path):
    from gan_helpers import runs

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    config = {"model": "wgan-gp", "image_size": 32, "batch_size": 8, "latent_dim": 8,
              "generator": {"widths": (8, 8)}, "discriminator": {"widths": (4, 8, 8), "dense_units": (8,)}}
    run = runs.Run(config, None, images=images)
    with pytest.warns(UserWarning, match="Possible mode collapse"):  # tiny networks draw near-constant images
        run.train(generator_iterations=3, verbose=0)
    assert run.generator_iterations == 3
    # WGAN-GP: 5 critic steps per generator iteration, so the budget ran 15 steps, G updated on every 5th
    assert len(run.steps) == 15
    assert [i for i, s in enumerate(run.steps) if s["g_updated"] >= 0.5] == [4, 9, 14]
