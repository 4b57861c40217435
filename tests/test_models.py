"""The discriminator, the generator, the critic, and the cost report."""

import numpy as np
import pytest

from gan_helpers import models
from gan_helpers.layers import FullConv2D, Unpooling2D

import keras  # noqa: E402


@pytest.mark.parametrize("size, widths", [(32, (64, 32)), (64, (128, 64, 32)), (128, (32, 16, 16, 8))])
def test_generator_output_is_exactly_the_image_size(size, widths):
    g = models.build_generator(latent_dim=16, image_size=size, widths=widths)
    out = np.asarray(g(np.random.default_rng(0).normal(size=(2, 16)).astype("float32")))
    assert out.shape == (2, size, size, 3)
    assert out.min() >= -1 and out.max() <= 1  # tanh


def test_generator_block_order_is_unpool_deconv_relu_dropout_batchnorm():
    g = models.build_generator()
    types = [type(layer).__name__ for layer in g.layers if layer.name.startswith("block1_")]
    assert types == ["Unpooling2D", "FullConv2D", "ReLU", "Dropout", "BatchNormalization"]
    assert sum(isinstance(layer, Unpooling2D) for layer in g.layers) == 3
    assert isinstance(g.layers[-1], FullConv2D)


@pytest.mark.parametrize("kernel, size", [(3, 64), (5, 64), (7, 64), (5, 32)])
def test_start_size_arithmetic(kernel, size):
    start = models.generator_start_size(size, 3 if size == 64 else 2, kernel)
    g = models.build_generator(latent_dim=8, image_size=size, kernel_size=kernel,
                               widths=(16, 8, 8) if size == 64 else (16, 8))
    assert g.get_layer("small_image").output.shape[1] == start
    assert g.output_shape == (None, size, size, 3)


def test_impossible_generator_size_explains_itself():
    with pytest.raises(ValueError, match="multiple of 8"):
        models.build_generator(image_size=60)


def test_discriminator_structure_and_logit():
    d = models.build_discriminator()
    assert d.output_shape == (None, 1)
    names = [type(layer).__name__ for layer in d.layers if layer.name.startswith("block")]
    assert names == ["Conv2D", "MaxPooling2D", "ReLU", "SpatialDropout2D"] * 3
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)
    with_bn = models.build_discriminator(batch_norm=True)
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in with_bn.layers) == 3


def test_discriminator_dropout_is_active_only_in_training():
    d = models.build_discriminator(image_size=32, conv_dropout=0.5, dense_dropout=0.5)
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(d(x, training=False)), np.asarray(d(x, training=False)))
    assert not np.allclose(np.asarray(d(x, training=True)), np.asarray(d(x, training=True)))


def test_critics():
    assert models.build_critic().output_shape == (None, 1)
    dcgan = models.build_critic(architecture="dcgan")
    assert dcgan.output_shape == (None, 1)
    assert not any(isinstance(layer, keras.layers.Activation) for layer in dcgan.layers)
    with pytest.raises(ValueError, match="architecture"):
        models.build_critic(architecture="resnet")


def test_layer_costs_match_hand_counts():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8*8*4 outputs, 27 MACs each, + bias
    x = FullConv2D(2, 3)(x)  # 10*10*2 outputs, 36 MACs each, + bias
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(5)(x)  # 200*5 MACs + 5
    rows = models.layer_costs(keras.Model(inputs, x))
    assert [r["flops"] for r in rows] == [2 * 256 * 27 + 256, 2 * 200 * 36 + 200, 0, 2 * 1000 + 5]
    assert [r["params"] for r in rows] == [3 * 3 * 3 * 4 + 4, 3 * 3 * 4 * 2 + 2, 0, 200 * 5 + 5]
    assert "total" in models.cost_table(keras.Model(inputs, x))


def test_generator_saves_and_reloads_with_identical_outputs(tmp_path):
    g = models.build_generator(latent_dim=8, image_size=32, widths=(16, 8))
    g.save(tmp_path / "g.keras")
    again = keras.saving.load_model(tmp_path / "g.keras")
    z = np.random.default_rng(2).normal(size=(3, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(g(z, training=False)), np.asarray(again(z, training=False)))
