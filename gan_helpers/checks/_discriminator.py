"""Checks of notebook 01: the discriminator."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.checks._report import _as_float, _call, _fail, _keras, _ok, _quiet, _refuses


#: The exercise's block: Conv2D -> MaxPooling2D -> ReLU -> (Spatial)Dropout.
DISCRIMINATOR_BLOCK = ("Conv2D", "MaxPooling2D", "ReLU", "Dropout")
_DROPOUTS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")


def _activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _tokens(model) -> list[tuple[str, object]]:
    """(kind, layer) for each layer in order; an activation inside a layer becomes its own token."""
    tokens = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if kind in _DROPOUTS:
            kind = "Dropout"
        elif kind == "Activation":
            if _activation_name(layer) == "linear":  # e.g. a float32 cast at the end: computes nothing
                continue
            kind = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}.get(_activation_name(layer),
                                                                              _activation_name(layer))
        tokens.append((kind, layer))
        inner = _activation_name(layer) if type(layer).__name__ != "Activation" else None
        if inner and inner != "linear":  # e.g. Conv2D(..., activation="relu"): a ReLU right after the layer
            tokens.append(({"relu": "ReLU"}.get(inner, inner), layer))
    return tokens


def _blocks(tokens, first: str, stop: tuple[str, ...]):
    """Split the tokens before the first ``stop`` kind into blocks that each start with ``first``."""
    blocks, current = [], None
    for kind, layer in tokens:
        if kind in stop:
            break
        if kind == first:
            current = []
            blocks.append(current)
        if current is not None:
            current.append((kind, layer))
    return blocks


def discriminator(model, image_size: int | None = None, batch_norm: bool = False,
                  order=DISCRIMINATOR_BLOCK, blocks: int = 3) -> None:
    """Check a discriminator against the exercise's design.

    ``blocks`` conv blocks, each exactly ``order`` (the exercise's
    Conv2D -> MaxPooling2D -> ReLU -> Dropout, where SpatialDropout2D counts as
    dropout), dropout with a rate above 0 in every block and after the dense
    layers, no BatchNormalization unless ``batch_norm=True`` (then one in every
    block, which is left out when comparing the order), and one logit: output
    shape ``(None, 1)``, no sigmoid.
    """
    keras = _keras()
    if not isinstance(model, keras.Model):
        _fail(f"Expected a keras.Model, got {type(model).__name__}; did you return the model from your builder?")
    input_shape = tuple(model.input_shape)
    if len(input_shape) != 4 or input_shape[-1] != 3 or input_shape[1] != input_shape[2]:
        _fail(f"The input shape is {input_shape}; D judges square RGB images: (None, S, S, 3).")
    if image_size is not None and input_shape[1] != image_size:
        _fail(f"The input is {input_shape[1]}x{input_shape[2]}, expected {image_size}x{image_size}.")
    output_shape = tuple(model.output_shape)
    if output_shape != (None, 1):
        hint = (" Two outputs with a softmax is a classifier of two classes; the exercise's D has one logit "
                "(real if > 0)." if output_shape[-1:] == (2,) else " End with Dense(1) after Flatten.")
        _fail(f"The output shape is {output_shape}, expected (None, 1): one real/fake logit per image.{hint}")
    tokens = _tokens(model)
    if tokens and tokens[-1][0] == "sigmoid":
        _fail("D ends in a sigmoid. Output the logit itself (Dense(1) with no activation): the losses take "
              "logits (from_logits=True), which is numerically safer, and a logit > 0 means 'real'.")
    found = _blocks(tokens, "Conv2D", stop=("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"))
    if len(found) != blocks:
        _fail(f"Found {len(found)} conv block(s) (each starts at a Conv2D before Flatten), expected {blocks}.")
    expected = " -> ".join(order)
    for i, block in enumerate(found, start=1):
        kinds = [kind for kind, _ in block]
        has_bn = "BatchNormalization" in kinds
        if has_bn and not batch_norm:
            _fail(f"Block {i} has BatchNormalization: the exercise's D has none (the blog found that a D with "
                  "batch norm becomes too strong). Add it only when batch_norm=True is asked for.")
        if batch_norm and not has_bn:
            _fail(f"Block {i} has no BatchNormalization, but batch_norm=True asks for one in every block "
                  "(after the convolution).")
        if batch_norm and kinds[:2] != ["Conv2D", "BatchNormalization"]:
            _fail(f"Block {i} is {' -> '.join(kinds)}: with batch_norm=True the BatchNormalization comes right "
                  "after the convolution (Conv2D -> BatchNormalization -> MaxPooling2D -> ...), as the docstring "
                  "says, so that it normalises what the convolution computed before pooling picks the maxima.")
        kinds = [kind for kind in kinds if kind != "BatchNormalization"]
        if tuple(kinds) != tuple(order):
            hint = ""
            if sorted(kinds) == sorted(order):
                hint = " The same layers in another order: reorder them."
            elif "Dropout" not in kinds and "Dropout" in order:
                hint = " Dropout is missing: the exercise asks for a lot of dropout in D (SpatialDropout2D(0.2))."
            _fail(f"Block {i} is {' -> '.join(kinds)}; expected {expected}.{hint}")
        for kind, layer in block:
            if kind == "Dropout" and not getattr(layer, "rate", 0) > 0:
                _fail(f"Block {i}'s dropout ({layer.name}) has rate {getattr(layer, 'rate', 0)}; use a rate "
                      "above 0 (the exercise's 0.2).")
    after = tokens[tokens.index(found[-1][-1]) + 1:]
    dense_dropouts = [layer for kind, layer in after if kind == "Dropout" and getattr(layer, "rate", 0) > 0]
    if "Dense" in [kind for kind, _ in after[:-1]] and not dense_dropouts:
        _fail("There is no dropout after the dense layer(s); the exercise's D has Dropout(0.5) after each one.")
    if not batch_norm and any(kind == "BatchNormalization" for kind, _ in tokens):
        _fail("There is a BatchNormalization outside the conv blocks; the exercise's D has none.")
    out = np.asarray(model(np.zeros((2,) + input_shape[1:], np.float32), training=False))
    if out.shape != (2, 1) or not np.isfinite(out).all():
        _fail(f"On a batch of 2 images the output has shape {out.shape} (finite: {bool(np.isfinite(out).all())}); "
              "expected (2, 1), finite.")
    norm = "batch norm in every block" if batch_norm else "no batch norm"
    _ok(f"discriminator: {blocks} blocks of {expected}, {norm}, "
        f"dropout in every block{' and after the dense layer' if dense_dropouts else ''}, one logit (None, 1); "
        f"{model.count_params():,} parameters.")


def same_outputs(reference, model, inputs, atol: float = 1e-4, training: bool = False) -> float:
    """Check that ``model`` computes what ``reference`` computes on ``inputs``; returns the largest difference.

    Compared in inference mode by default, where dropout is off and batch norm
    uses its moving statistics, so both are deterministic.
    """
    inputs = np.asarray(inputs, np.float32)
    a = np.asarray(reference(inputs, training=training))
    b = np.asarray(model(inputs, training=training))
    if a.shape != b.shape:
        _fail(f"The outputs differ in shape: {a.shape} (reference) vs {b.shape} (yours).")
    if not np.isfinite(b).all():
        _fail("Your model's output has NaN or inf values.")
    worst = float(np.abs(a - b).max())
    scale = float(np.abs(a).max())
    if worst > atol * max(1.0, scale):
        _fail(f"The outputs differ by up to {worst:.3g} (the reference's values reach {scale:.3g}). Did you copy "
              "every weight into your model (and in the right form)? Compare in inference mode (training=False): "
              "in training mode dropout makes every call different.")
    _ok(f"same outputs: largest difference {worst:.1e} on {len(inputs)} inputs (float32 round-off).")
    return worst


def _tiny_discriminator(batch_norm: bool, seed: int):
    keras = _keras()
    initializer = keras.initializers.GlorotUniform(seed=seed)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", kernel_initializer=initializer)(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(1, kernel_initializer=initializer)(x))


def batch_dependence(fn) -> None:
    """Check ``fn(discriminator, real, fake) -> float``: how much D's logits for ``real`` change
    when they are judged in one mixed batch with ``fake`` instead of in a batch of their own
    (training mode, largest absolute change).

    Tried on two small discriminators without dropout built here: without batch
    norm the answer must be 0 (up to round-off); with batch norm it must not.
    """
    rng = np.random.default_rng(0)
    real = (0.5 + 0.2 * rng.normal(size=(8, 8, 8, 3))).astype(np.float32)
    fake = (-0.5 + 0.2 * rng.normal(size=(8, 8, 8, 3))).astype(np.float32)
    plain = _as_float(fn(_tiny_discriminator(False, 1), real, fake), "The value for a D without batch norm")
    with_bn = _as_float(fn(_tiny_discriminator(True, 1), real, fake), "The value for a D with batch norm")
    for value, name in ((plain, "without"), (with_bn, "with")):
        if not math.isfinite(value) or value < 0:
            _fail(f"For a D {name} batch norm you returned {value}; return the largest absolute change, a number >= 0.")
    if plain > 1e-4:
        _fail(f"For a D *without* batch norm (and without dropout) you found a change of {plain:.3g}. Its logits "
              "cannot depend on the other images of the batch: compare the logits of the same real images (the "
              "first len(real) rows of the mixed batch's logits) with those from the batch of reals alone.")
    if with_bn < 1e-3:
        _fail(f"For a D *with* batch norm you found a change of {with_bn:.3g}, so your function misses the effect. "
              "Call D with training=True (as in a training step): in inference mode batch norm uses its moving "
              "statistics, which do not depend on the batch. Judge the mixed batch np.concatenate([real, fake]).")
    _ok(f"batch_dependence: 0 without batch norm ({plain:.1e}), {with_bn:.3f} with batch norm on the check's "
        "small Ds.")


def _expected_discriminator_params(image_size, widths, kernel_size, dense_units) -> dict:
    parts, channels = {}, 3
    for i, width in enumerate(widths, start=1):
        parts[f"block{i} Conv2D"] = kernel_size * kernel_size * channels * width + width
        channels = width
    features = (image_size // 2 ** len(widths)) ** 2 * channels
    for i, units in enumerate(dense_units, start=1):
        parts[f"Dense({units})"] = features * units + units
        features = units
    parts["logit Dense(1)"] = features + 1
    return parts


#: (image_size, widths, kernel_size, dense_units): the exercise's D, the blog's D, a small one.
DISCRIMINATOR_PARAM_CASES = [
    (64, (32, 64, 96), 3, (256,)),
    (64, (32, 64, 96), 5, (1024,)),
    (32, (8, 16, 16), 3, (16,)),
    (64, (16, 32, 64, 128), 3, (64, 32)),
]


def discriminator_params(fn) -> None:
    """Check ``fn(image_size, widths, kernel_size, dense_units) -> int``: D's number of parameters.

    The expected counts are the closed form: each Conv2D has k*k*in*out weights
    plus ``out`` biases; pooling, ReLU and dropout have none; the flattened
    features after n blocks are (S / 2**n)**2 * last width; each Dense has
    in*out weights plus ``out`` biases.
    """
    for image_size, widths, kernel_size, dense_units in DISCRIMINATOR_PARAM_CASES:
        parts = _expected_discriminator_params(image_size, widths, kernel_size, dense_units)
        expected = sum(parts.values())
        got = fn(image_size, widths, kernel_size, dense_units)
        if int(got) != expected:
            biases = sum(widths) + sum(dense_units) + 1
            if int(got) == expected - biases:
                _fail(f"For image_size={image_size}, widths={widths}, kernel_size={kernel_size}, "
                      f"dense_units={dense_units} you counted {int(got):,} parameters, expected {expected:,}: "
                      f"the {biases:,} biases are missing (one per filter of each Conv2D, one per unit of each Dense).")
            conv = sum(v for k, v in parts.items() if "Conv2D" in k)
            flat = (image_size // 2 ** len(widths)) ** 2 * widths[-1]
            _fail(f"For image_size={image_size}, widths={widths}, kernel_size={kernel_size}, "
                  f"dense_units={dense_units} you counted {int(got):,} parameters, expected {expected:,}. "
                  f"Check the parts: the convolutions hold {conv:,} (k*k*in*out + out each, starting from 3 "
                  f"input channels), the flattened features are {flat:,} after {len(widths)} max-pools "
                  f"({image_size} / 2**{len(widths)} = {image_size // 2 ** len(widths)} pixels a side), and "
                  "every Dense layer has in*out + out.")
    parts = _expected_discriminator_params(*DISCRIMINATOR_PARAM_CASES[0])
    largest = max(parts, key=parts.get)
    _ok(f"discriminator_params: all {len(DISCRIMINATOR_PARAM_CASES)} designs counted right; in the exercise's D "
        f"the {largest} layer holds {parts[largest] / sum(parts.values()):.0%} of the {sum(parts.values()):,}.")


def synthetic_faces(num: int = 16, size: int = 32, seed: int = 0) -> np.ndarray:
    """``num`` drawn faces (:mod:`gan_helpers.synthetic`) as floats in [-1, 1], shape ``(num, size, size, 3)``."""
    from PIL import Image

    from gan_helpers.synthetic import draw_face

    rng = np.random.default_rng(seed)
    faces = [np.asarray(draw_face(rng).resize((size, size), Image.BILINEAR), np.float32) for _ in range(num)]
    return np.stack(faces) / 127.5 - 1.0


#: Training steps of the builder's check: enough for a D that learns to lower its loss on drawn faces.
LEARNING_STEPS = 8


def _trains(model, loss_fn, inputs, steps: int = 3, learning_rate: float = 1e-3) -> list[float]:
    """``steps`` RMSProp steps on ``loss_fn(model(inputs, training=True))``; the losses."""
    keras = _keras()
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    optimizer = keras.optimizers.RMSprop(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(model(inputs, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        if any(g is None for g in grads):
            missing = [v.path for v, g in zip(model.trainable_variables, grads) if g is None]
            _fail(f"No gradient reaches {missing[0]}: a layer is not connected from the input to the output "
                  "(is every layer called on the output of the one before?).")
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses


def discriminator_builder(build) -> None:
    """Check the core exercise ``build_discriminator``: behaviour, not text.

    With its default arguments it must build the exercise's D for 64x64 faces
    (three blocks Conv2D -> MaxPooling2D -> ReLU -> Dropout, dense layers with
    dropout, one logit, no batch norm: :func:`discriminator`) with the closed-form
    parameter count of widths (32, 64, 96), 3x3 kernels and Dense(256); the
    arguments ``image_size``, ``batch_norm`` and the dropout rates must do what
    they say; and the network must train a few steps on drawn faces without NaN.
    """
    keras = _keras()
    name = "build_discriminator"
    model = _call(build, name)
    if model is None:
        _fail(f"{name}() returned None: end it with `return keras.Model(inputs, logit, name=name)`.")
    with _quiet():
        discriminator(model, image_size=64)
    got, parts = model.count_params(), _expected_discriminator_params(64, (32, 64, 96), 3, (256,))
    if got != sum(parts.values()):
        _fail(f"{name}() has {got:,} parameters; the exercise's D with its default arguments has "
              f"{sum(parts.values()):,} (" + ", ".join(f"{k} {v:,}" for k, v in parts.items()) + "). Compare "
              "with model.summary(): are the widths 32, 64, 96, the kernels 3x3, 'same' padding (so that only "
              "the max-pools halve the image), and one Dense(256) before the logit?")
    names = {layer.name for layer in model.layers}
    missing = [f"block{i}_dropout" for i in (1, 2, 3) if f"block{i}_dropout" not in names]
    if missing:
        _fail(f"{name}() has no layer named {missing[0]}: name each block's layers as the docstring says "
              "(block1_conv, block1_pool, block1_relu, block1_dropout, ...); the notebook reads the feature maps "
              "by these names.")
    small = _call(build, name, image_size=32)
    if tuple(small.input_shape) != (None, 32, 32, 3):
        _fail(f"{name}(image_size=32) takes inputs of shape {tuple(small.input_shape)}; use image_size for the "
              "Input's side.")
    with_bn = _call(build, name, image_size=32, batch_norm=True)
    with _quiet():
        discriminator(with_bn, image_size=32, batch_norm=True)
    plain = _call(build, name, image_size=32, conv_dropout=0.0, dense_dropout=0.0)
    rates = {layer.name: layer.rate for layer in plain.layers if hasattr(layer, "rate")}
    if any(rate != 0 for rate in rates.values()):
        _fail(f"{name}(conv_dropout=0.0, dense_dropout=0.0) still has dropout rates {rates}: pass conv_dropout "
              "to the blocks' dropout and dense_dropout to the dense layers' dropout.")
    other = _call(build, name, image_size=32, conv_dropout=0.1, dense_dropout=0.3, dense_units=(64, 32))
    spatial = [type(layer).__name__ for layer in other.layers if type(layer).__name__.endswith("Dropout2D")]
    if len(spatial) != 3:
        _fail(f"{name}'s blocks use {len(spatial)} SpatialDropout2D layers, expected one per block: the blog drops "
              "whole feature maps (SpatialDropout2D), not single values (Dropout).")
    block_rates = [layer.rate for layer in other.layers if type(layer).__name__ == "SpatialDropout2D"]
    dense_rates = [layer.rate for layer in other.layers if type(layer).__name__ == "Dropout"]
    units = [layer.units for layer in other.layers if type(layer).__name__ == "Dense"]
    if block_rates != [0.1] * 3 or dense_rates != [0.3, 0.3]:
        _fail(f"{name}(conv_dropout=0.1, dense_dropout=0.3, dense_units=(64, 32)) has block dropout rates "
              f"{block_rates} and dense dropout rates {dense_rates}; expected [0.1, 0.1, 0.1] and [0.3, 0.3].")
    if units != [64, 32, 1]:
        _fail(f"{name}(dense_units=(64, 32)) has Dense layers of {units} units; expected [64, 32, 1]: one Dense -> "
              "ReLU -> Dropout per entry of dense_units, then the logit.")
    _refuses(build, name, (({"image_size": 60}, "an image_size that 2 ** len(widths) = 8 does not divide"),
                           ({"conv_dropout": 1.5}, "a dropout rate of 1.5"), ({"dense_dropout": -0.1}, "a rate of -0.1")))
    faces = synthetic_faces(16, 32)
    from gan_helpers.fakes import make_fakes

    fakes = make_fakes(((faces + 1) * 127.5).astype(np.uint8), "blurred", np.random.default_rng(1))
    images = np.concatenate([faces, fakes.astype(np.float32) / 127.5 - 1.0])
    labels = np.concatenate([np.ones((16, 1)), np.zeros((16, 1))]).astype(np.float32)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    # Dropout off (``plain``), so that the loss measures what the steps learnt rather than which units dropped.
    # RMSProp's first steps overshoot now and then: one step's loss can jump above the first one's (0.59 -> 0.74
    # at the 9th step on one of 60 initialisations at 3e-4). So D learns when the best loss of the last half of
    # the steps is below the first; on 60 other initialisations it is 0.055-0.131 below.
    losses = _trains(plain, lambda logits: bce(labels, logits), images, steps=LEARNING_STEPS, learning_rate=3e-4)
    best_late = min(losses[LEARNING_STEPS // 2:])
    if not all(math.isfinite(loss) for loss in losses):
        _fail(f"Training D on 16 drawn faces and 16 blurred fakes gave the losses {losses}: not finite. Look for "
              "a layer that can divide by zero or overflow (D should have none: convolutions, max-pooling, ReLU, "
              "dropout and dense layers only).")
    if not best_late < losses[0]:
        _fail(f"{LEARNING_STEPS} training steps of D (dropout off) on 16 drawn faces and 16 blurred fakes did not "
              f"lower its loss (first {losses[0]:.3f}, best of the last {LEARNING_STEPS - LEARNING_STEPS // 2} "
              f"{best_late:.3f}): D does not learn. Is every layer connected, "
              "and does the last Dense(1) have no activation (a logit)?")
    _ok(f"{name}: the exercise's D at 64x64 with {got:,} parameters; image_size, batch_norm and the dropout "
        f"rates work; {LEARNING_STEPS} training steps on drawn faces lower its loss "
        f"({losses[0]:.3f} -> {best_late:.3f}).")
