"""Checks of notebook 02: the generator."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.checks._discriminator import _blocks, _tokens
from gan_helpers.checks._report import _call, _quiet, _refuses, _fail, _keras, _ok


#: (image_size, num_blocks, kernel_size) -> start side h0, from 2**n * (h0 + k - 1) = S.
START_SIZE_CASES = [((64, 3, 3), 6), ((64, 3, 5), 4), ((64, 3, 7), 2), ((32, 2, 5), 4), ((32, 2, 3), 6),
                    ((128, 4, 3), 6), ((128, 3, 3), 14)]
#: Sizes that no start side reaches: not a multiple of 2**n, or h0 would be below 1.
IMPOSSIBLE_START_SIZES = [(60, 3, 3), (16, 3, 3), (16, 2, 7)]

#: The exercise's generator block: Unpooling2D -> FullConv2D -> ReLU -> Dropout -> BatchNormalization.
GENERATOR_BLOCK = ("Unpooling2D", "FullConv2D", "ReLU", "Dropout", "BatchNormalization")


def start_size(fn) -> None:
    """Check ``fn(image_size, num_blocks, kernel_size) -> h0``, the side of the first small image.

    Each block maps h to 2h + (k - 1) and the last full convolution adds k - 1,
    so the output side is 2**n * (h0 + k - 1). Sizes that cannot be reached
    must raise ``ValueError``.
    """
    for args, expected in START_SIZE_CASES:
        got = fn(*args)
        if got != expected:
            size, n, k = args
            _fail(f"start_size{args} returned {got!r}, expected {expected}: with {n} blocks and {k}x{k} kernels "
                  f"the side goes h -> 2h + {k - 1} per block, then + {k - 1} for the last full convolution, so "
                  f"S = 2**n * (h0 + k - 1) and h0 = {size} / {2 ** n} - {k - 1} = {expected}.")
    for args in IMPOSSIBLE_START_SIZES:
        try:
            got = fn(*args)
        except ValueError:
            continue
        size, n, k = args
        _fail(f"start_size{args} returned {got!r}; no start side reaches {size}x{size} with {n} blocks and "
              f"{k}x{k} kernels ({size} / {2 ** n} - {k - 1} = {size / 2 ** n - (k - 1):g} is not a whole number "
              "of at least 1): raise ValueError with a message that says which sizes work.")
    _ok(f"start_size: {len(START_SIZE_CASES)} sizes right (64x64 with three 3x3 blocks starts at 6x6: "
        "6 -> 14 -> 30 -> 62 -> 64) and impossible sizes refused.")


def generator(model, image_size: int, latent_dim: int | None = None, order=GENERATOR_BLOCK,
              blocks: int | None = None) -> None:
    """Check a generator against the exercise's design.

    Noise ``(None, latent_dim)`` in, images ``(None, S, S, 3)`` out, in [-1, 1]
    through a final ``tanh``; every block exactly ``order`` (the exercise's
    Unpooling2D -> FullConv2D -> ReLU -> Dropout -> BatchNormalization), and
    ``blocks`` of them if given.
    """
    keras = _keras()
    if not isinstance(model, keras.Model):
        _fail(f"Expected a keras.Model, got {type(model).__name__}; did you return the model from your builder?")
    input_shape = tuple(model.input_shape)
    if len(input_shape) != 2:
        _fail(f"The input shape is {input_shape}; G takes noise vectors: (None, latent_dim).")
    if latent_dim is not None and input_shape[1] != latent_dim:
        _fail(f"The noise has {input_shape[1]} numbers, expected latent_dim={latent_dim}.")
    expected_shape = (None, image_size, image_size, 3)
    if tuple(model.output_shape) != expected_shape:
        _fail(f"The output shape is {tuple(model.output_shape)}, expected {expected_shape}. A block maps h to "
              "2h + (k - 1) and the last full convolution adds k - 1: start from h0 = S / 2**n - (k - 1) "
              "(your start_size), and end with a full convolution to 3 channels.")
    tokens = _tokens(model)
    if not tokens or tokens[-1][0] != "tanh":
        _fail("The last layer is not a tanh: end with FullConv2D(3, k, activation='tanh') so the fakes are in "
              "[-1, 1], the range of the real faces.")
    kinds = [kind for kind, _ in tokens]
    if "Conv2DTranspose" in kinds and "Conv2DTranspose" not in order:
        _fail("The generator uses Conv2DTranspose, which does unpooling and the convolution in one layer; the "
              f"exercise asks for the two-layer form, {order[0]} then {order[1]}.")
    found = _blocks(tokens, order[0], stop=())
    if blocks is not None and len(found) != blocks:
        _fail(f"Found {len(found)} block(s) (each starts at a {order[0]}), expected {blocks}.")
    if not found:
        _fail(f"Found no block starting with {order[0]}; every block is {' -> '.join(order)}.")
    for i, block in enumerate(found, start=1):
        kinds = [kind for kind, _ in block]
        if i == len(found):  # the last block runs into the final convolution to RGB
            kinds = kinds[:len(order)]
        if tuple(kinds) != tuple(order):
            hint = " The same layers in another order: reorder them." if sorted(kinds) == sorted(order) else ""
            _fail(f"Block {i} is {' -> '.join(kinds)}; expected {' -> '.join(order)}.{hint}")
    noise = np.random.default_rng(0).normal(scale=10.0, size=(4, input_shape[1])).astype(np.float32)
    out = np.asarray(model(noise, training=False))
    if not np.isfinite(out).all() or out.min() < -1 or out.max() > 1:
        _fail(f"On loud noise the output spans [{out.min():.3f}, {out.max():.3f}]; it must stay in [-1, 1] (tanh).")
    _ok(f"generator: noise ({input_shape[1]},) -> {len(found)} blocks of {' -> '.join(order)} -> tanh -> "
        f"images {image_size}x{image_size}x3 in [-1, 1]; {model.count_params():,} parameters.")


def _expected_generator_params(latent_dim, image_size, widths, kernel_size, start_channels=None) -> dict:
    """The weights of G's dense and convolution layers (batch norm's are left out), in closed form."""
    num_blocks, k = len(widths), kernel_size
    start = image_size // 2 ** num_blocks - (k - 1)  # h -> 2h + (k - 1) per block, + (k - 1) at the end
    channels = start_channels or 2 * widths[0]
    parts = {"project Dense": latent_dim * start * start * channels + start * start * channels}
    for i, width in enumerate(widths, start=1):
        parts[f"block{i} FullConv2D"] = k * k * channels * width + width
        channels = width
    parts["to_rgb FullConv2D"] = k * k * channels * 3 + 3
    return parts


def generator_builder(build) -> None:
    """Check the core exercise ``build_generator``: behaviour, not text.

    With its default arguments it must build the exercise's G for 64x64 faces
    from 100 noise numbers (:func:`generator`: blocks of Unpooling2D ->
    FullConv2D -> ReLU -> Dropout -> BatchNormalization, a tanh at the end),
    whose dense and convolution layers hold the closed-form number of weights
    for widths (128, 64, 32), 3x3 kernels and a first small image of 6x6x256;
    ``image_size``, ``unpooling`` and ``batch_norm`` must do what they say; and
    it must train a few steps against a small fixed D without NaN.
    """
    keras = _keras()
    name = "build_generator"
    model = _call(build, name)
    if model is None:
        _fail(f"{name}() returned None: end it with `return keras.Model(noise, image, name=name)`.")
    with _quiet():
        generator(model, 64, latent_dim=100, blocks=3)
    names = [layer.name for layer in model.layers]
    if not any(n.startswith("block1_") for n in names) or "to_rgb" not in names:
        _fail(f"{name}()'s layers are named {names[1:4]}...: name them as the docstring says (project, block1_unpool, "
              "block1_deconv, ..., to_rgb); the notebook's exercises find the blocks by these names.")
    parts = _expected_generator_params(100, 64, (128, 64, 32), 3)
    got = {layer.name: layer.count_params() for layer in model.layers
           if type(layer).__name__ in ("Dense", "FullConv2D")}
    if sum(got.values()) != sum(parts.values()):
        _fail(f"{name}()'s dense and full-convolution layers hold {sum(got.values()):,} weights "
              f"({', '.join(f'{k} {v:,}' for k, v in got.items())}); the exercise's G has "
              f"{sum(parts.values()):,} ({', '.join(f'{k} {v:,}' for k, v in parts.items())}). Is the first small "
              "image 6x6 with 2 * widths[0] = 256 channels (generator_start_size), and are the widths 128, 64, 32?")
    momenta = {layer.name: layer.momentum for layer in model.layers if type(layer).__name__ == "BatchNormalization"}
    if not momenta or any(abs(m - 0.9) > 1e-9 for m in momenta.values()):
        _fail(f"{name}()'s batch norm momenta are {momenta}; expected 0.9 each (batch_norm_momentum): Keras' 0.99 "
              "makes the moving statistics that sampling uses lag far behind the batches of a short training.")
    kinds = [kind for kind, _ in _tokens(model)]  # a ReLU layer, Activation("relu") or Dense(activation="relu")
    if kinds[kinds.index("Dense"):kinds.index("Dense") + 3] != ["Dense", "ReLU", "BatchNormalization"]:
        _fail(f"{name}()'s first layers after the input are {kinds[:4]}; expected Dense -> ReLU -> "
              "BatchNormalization -> Reshape (the small image), as the docstring says.")
    rates = [layer.rate for layer in _call(build, name, dropout=0.25).layers if type(layer).__name__ == "Dropout"]
    if rates != [0.25] * 3:
        _fail(f"{name}(dropout=0.25) has dropout rates {rates}; expected [0.25, 0.25, 0.25], one per block.")
    _refuses(build, name, (({"latent_dim": 0}, "a latent_dim of 0"), ({"dropout": 1.0}, "a dropout rate of 1.0"),
                           ({"image_size": 63}, "an image_size that no start size reaches")))
    for mode in ("nearest", "zeros"):
        modes = {layer.mode for layer in _call(build, name, latent_dim=16, image_size=32, unpooling=mode).layers
                 if type(layer).__name__ == "Unpooling2D"}
        if modes != {mode}:
            _fail(f"{name}(unpooling={mode!r}) has unpooling layers of mode {sorted(modes)}: pass `unpooling` to "
                  "every Unpooling2D(2, mode=unpooling); without it each layer uses its own default.")
    small = _call(build, name, latent_dim=16, image_size=32, unpooling="zeros", batch_norm=False)
    with _quiet():
        generator(small, 32, latent_dim=16, order=GENERATOR_BLOCK[:-1])
    if any(type(layer).__name__ == "BatchNormalization" for layer in small.layers):
        _fail(f"{name}(batch_norm=False) still has BatchNormalization layers: add them only when batch_norm is true.")
    inputs = keras.Input((32, 32, 3))
    critic = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(inputs)))
    noise = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    from gan_helpers.checks._discriminator import _trains

    critic.trainable = False
    losses = _trains(small, lambda fakes: keras.ops.mean(keras.ops.softplus(-critic(fakes))), noise, steps=3)
    if not all(math.isfinite(loss) for loss in losses):
        _fail(f"Training G for 3 steps against a small fixed D gave the losses {losses}: not finite.")
    _ok(f"{name}: the exercise's G at 64x64 ({model.count_params():,} parameters), image_size, unpooling and "
        f"batch_norm work; 3 training steps against a fixed D: loss {losses[0]:.3f} -> {losses[-1]:.3f}, finite.")
