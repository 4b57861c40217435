"""Unpooling2D and FullConv2D against independent numpy/scipy references."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from gan_helpers.layers import FullConv2D, Unpooling2D, transposed_kernel

import keras  # noqa: E402  (imported after gan_helpers so TensorFlow loads quietly)

RNG = np.random.default_rng(0)


def unpool_reference(x, rows, cols, mode):
    """Plain loops: each value to the top-left of its block, or repeated over it."""
    b, h, w, c = x.shape
    out = np.zeros((b, h * rows, w * cols, c), x.dtype)
    for i in range(h):
        for j in range(w):
            if mode == "zeros":
                out[:, i * rows, j * cols] = x[:, i, j]
            else:
                out[:, i * rows:(i + 1) * rows, j * cols:(j + 1) * cols] = x[:, i, j][:, None, None]
    return out


def full_conv_reference(x, kernel, bias, stride):
    """Sum over input channels of scipy's 'full' cross-correlation, then subsample by the stride."""
    b, h, w, cin = x.shape
    kh, kw, _, cout = kernel.shape
    out = np.zeros((b, h + kh - 1, w + kw - 1, cout))
    for n in range(b):
        for o in range(cout):
            out[n, :, :, o] = sum(correlate2d(x[n, :, :, c], kernel[:, :, c, o], mode="full") for c in range(cin))
    return out[:, ::stride[0], ::stride[1]] + bias


@pytest.mark.parametrize("size, mode", [(2, "zeros"), (2, "nearest"), ((3, 2), "zeros"), ((1, 3), "nearest")])
def test_unpooling_matches_reference(size, mode):
    x = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    layer = Unpooling2D(size, mode=mode)
    rows, cols = (size, size) if isinstance(size, int) else size
    out = np.asarray(layer(x))
    np.testing.assert_array_equal(out, unpool_reference(x, rows, cols, mode))
    assert layer.compute_output_shape(x.shape) == out.shape


def test_unpooling_zeros_keeps_the_sum_and_nearest_keeps_the_mean():
    x = RNG.normal(size=(1, 4, 4, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(Unpooling2D(2)(x)).sum(), x.sum(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(Unpooling2D(2, mode="nearest")(x)).mean(), x.mean(), rtol=1e-5)


@pytest.mark.parametrize("kernel_size, strides", [(3, 1), (5, 1), ((2, 4), 1), (3, 2), (4, (2, 3))])
def test_full_conv_matches_scipy(kernel_size, strides):
    x = RNG.normal(size=(2, 7, 6, 3)).astype("float32")
    layer = FullConv2D(4, kernel_size, strides=strides, bias_initializer="random_normal")
    out = np.asarray(layer(x))
    stride = (strides, strides) if isinstance(strides, int) else strides
    expected = full_conv_reference(x, np.asarray(layer.kernel), np.asarray(layer.bias), stride)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert layer.compute_output_shape(x.shape) == out.shape


def test_full_conv_grows_by_kernel_minus_one():
    assert FullConv2D(8, 5)(np.zeros((1, 10, 10, 2), "float32")).shape == (1, 14, 14, 8)


def test_compute_output_shape_keeps_unknown_sizes():
    assert Unpooling2D(2).compute_output_shape((None, None, 5, 3)) == (None, None, 10, 3)
    assert FullConv2D(4, 3).compute_output_shape((None, None, 5, 3)) == (None, None, 7, 4)
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, FullConv2D(2, 3)(Unpooling2D(2)(inputs)))
    assert model.output_shape == (None, None, None, 2)
    assert model(np.zeros((1, 5, 6, 3), "float32")).shape == (1, 12, 14, 2)


def test_zeros_unpooling_then_full_conv_equals_transposed_convolution():
    """The identity notebook 02 teaches, with a kernel shared between the two."""
    x = RNG.normal(size=(2, 5, 6, 3)).astype("float32")
    full = FullConv2D(4, 5, bias_initializer="random_normal")
    ours = np.asarray(full(Unpooling2D(2)(x)))
    transposed = keras.layers.Conv2DTranspose(4, 5, strides=2, padding="valid", output_padding=1)
    transposed.build(x.shape)
    transposed.kernel.assign(transposed_kernel(full.kernel))
    transposed.bias.assign(full.bias)
    theirs = np.asarray(transposed(x))
    assert ours.shape == theirs.shape == (2, 2 * 5 + 4, 2 * 6 + 4, 4)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_config_round_trip():
    for layer in (Unpooling2D((2, 3), mode="nearest", name="u"),
                  FullConv2D(7, (3, 5), strides=2, activation="tanh", use_bias=False, name="f",
                             kernel_regularizer="l2")):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config


def test_model_with_both_layers_saves_and_reloads(tmp_path):
    inputs = keras.Input((6, 6, 3))
    x = Unpooling2D(2, name="unpool")(inputs)
    x = FullConv2D(4, 3, activation="relu", name="deconv")(x)
    model = keras.Model(inputs, x)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)  # no custom_objects: the layers are registered
    x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(reloaded(x)))
    assert isinstance(reloaded.get_layer("deconv"), FullConv2D)


@pytest.mark.parametrize("make, message", [
    (lambda: Unpooling2D(0), "size"),
    (lambda: Unpooling2D(2.5), "size"),
    (lambda: Unpooling2D((2, 2, 2)), "size"),
    (lambda: Unpooling2D(2, mode="bilinear"), "mode"),
    (lambda: FullConv2D(0, 3), "filters"),
    (lambda: FullConv2D(4, -1), "kernel_size"),
    (lambda: FullConv2D(4, 3, strides=0), "strides"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=f"{message}.*Received"):
        make()


# -- the exercise's block computed as one transposed convolution ---------------------

@pytest.mark.parametrize("mode", ["nearest", "zeros"])
@pytest.mark.parametrize("height, width, kernel_size", [(4, 4, 3), (5, 7, 3), (6, 5, 5)])
def test_unpool_and_convolve_equals_the_two_layers_forward_and_backward(mode, height, width, kernel_size):
    import tensorflow as tf

    from gan_helpers.layers import unpool_and_convolve

    x = tf.constant(RNG.normal(size=(2, height, width, 3)).astype(np.float32))
    kernel = tf.Variable(RNG.normal(size=(kernel_size, kernel_size, 3, 4)).astype(np.float32))
    unpool, conv = Unpooling2D(2, mode=mode), FullConv2D(4, kernel_size, use_bias=False)
    conv.build((None, None, None, 3))
    conv.kernel.assign(kernel)
    upstream = tf.constant(RNG.normal(size=(2, 2 * height + kernel_size - 1, 2 * width + kernel_size - 1, 4))
                           .astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        written = conv(unpool(x))
        fused = unpool_and_convolve(x, kernel, mode)
        written_loss, fused_loss = tf.reduce_sum(written * upstream), tf.reduce_sum(fused * upstream)
    assert fused.shape == written.shape
    np.testing.assert_allclose(fused.numpy(), written.numpy(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(fused_loss, kernel).numpy(),
                               tape.gradient(written_loss, conv.kernel).numpy(), atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(fused_loss, x).numpy(), tape.gradient(written_loss, x).numpy(),
                               atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("unpooling", ["nearest", "zeros"])
def test_a_fused_generator_is_the_same_generator(tmp_path, unpooling):
    from gan_helpers import models
    from gan_helpers.layers import fuse_unpooling

    keras.utils.set_random_seed(0)
    generator = models.build_generator(latent_dim=8, image_size=32, widths=(8, 8), unpooling=unpooling, dropout=0.0)
    noise = RNG.normal(size=(16, 8)).astype(np.float32)
    weights = [w.copy() for w in generator.get_weights()]

    def draw(training):  # from the same weights every time (a training call moves batch norm's statistics)
        generator.set_weights(weights)  # the two forms take each other's weights
        return np.asarray(generator(noise, training=training))

    written = {training: draw(training) for training in (False, True)}
    assert fuse_unpooling(generator) == 2  # both blocks; to_rgb has no unpooling before it
    for training in (False, True):  # inference, and batch norm on the batch's statistics
        np.testing.assert_allclose(draw(training), written[training], atol=1e-5)
    generator.set_weights(weights)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert not any(getattr(layer, "fused", False) or getattr(layer, "fused_unpooling", None) for layer in loaded.layers)
    np.testing.assert_allclose(np.asarray(loaded(noise)), written[False], atol=1e-5)  # saved as the exercise's
    assert fuse_unpooling(generator, enable=False) == 2
    np.testing.assert_allclose(draw(False), written[False], atol=1e-6)
