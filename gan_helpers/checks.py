"""Self-checks for the notebooks' exercises: each one says what is wrong and how to fix it.

Every notebook ends with a section "Exercises"; the code cell of an exercise
ends with a call to one of these functions, for example::

    checks.discriminator(my_discriminator)      # notebook 01
    checks.balance_rule(margin_rule)            # notebook 03

A check prints one line starting with ``OK:`` when the answer is right, and
raises ``AssertionError`` otherwise, with a message that names the case that
failed, what was expected, and a hint. The checks are written independently
of the package's own implementation: the expected values are tables written
out here from the blog's and the papers' rules (the margin rule's cases, the
WGAN schedule, the crop boxes), closed forms (the slerp, the parameter
count, the gradient penalty of a linear critic), or small models built here,
never by calling ``gan_helpers.models``, ``balance`` or ``wgan``. So a bug in
the package cannot make a wrong answer pass.

The checks, by notebook:

- 00: ``crop_box(fn)``, ``scaling(to_float, to_uint8)``, ``person_split(split, people)``;
- 01: ``discriminator(model, image_size=None, batch_norm=False, order=DISCRIMINATOR_BLOCK)``,
  ``same_outputs(reference, model, inputs)``, ``batch_dependence(fn)``, ``discriminator_params(fn)``;
- 02: ``start_size(fn)``, ``generator(model, image_size, latent_dim=None, order=GENERATOR_BLOCK)``;
- 03: ``balance_rule(rule)``, ``success_rule(rule)``, ``rule_replay(rule, steps)``, ``success_rates(fn)``;
- 04: ``clipping(clip_fn)``, ``critic_schedule(fn)``, ``penalty(fn)``;
- 05: ``interpolation(fn)``, ``latent_direction(generator, direction, measure)``, ``truncated_noise(fn)``.

TensorFlow and Keras are imported only by the checks that need them.
"""

from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------
# Reporting.


def _fail(message: str):
    raise AssertionError(message)


def _ok(message: str) -> None:
    print(f"OK: {message}")


def _keras():
    from gan_helpers._quiet import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def _as_bool(value, what: str) -> bool:
    array = np.asarray(value)
    if array.size != 1:
        _fail(f"{what} should be one boolean, got an array of shape {array.shape}.")
    return bool(array.reshape(()))


def _as_float(value, what: str) -> float:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"{what} should be a number, got {value!r}.")
    if array.size != 1:
        _fail(f"{what} should be one number, got an array of shape {array.shape}.")
    return float(array.reshape(()))


# ----------------------------------------------------------------------------
# Notebook 00: the data.

#: (width, height, crop, expected box (left, top, right, bottom), what the case is about)
CROP_BOX_CASES = [
    (250, 250, 0.2, (50, 50, 200, 200),
     "an LFW image with the default crop, the fraction 0.2 of the side: the blog's 50 px of 250 from every side"),
    (250, 250, 50, (50, 50, 200, 200), "the same crop given as whole pixels (an int is pixels)"),
    (250, 250, 0, (0, 0, 250, 250), "crop 0 keeps the whole image"),
    (250, 250, 0.1, (25, 25, 225, 225), "the fraction 0.1 of 250 is 25 px from every side"),
    (92, 112, 0.2, (18, 28, 74, 84),
     "a 92x112 face: 0.2 of the shorter side (92) is round(18.4) = 18 px; the image is first cut to its central "
     "92x92 square, so the top edge moves down by (112 - 92) / 2 = 10 px more"),
    (92, 112, 10, (10, 20, 82, 92), "10 px from every side of the central 92x92 square of a 92x112 image"),
    (112, 92, 0.2, (28, 18, 84, 74), "a landscape 112x92 image: the central square is cut from the wider side"),
]


def crop_box(fn) -> None:
    """Check ``fn(width, height, crop) -> (left, top, right, bottom)``: the square the recipe keeps.

    A float ``crop`` is a fraction of the shorter side, ``round(crop * min(width, height))``
    pixels cut from every side of the central square; an int is pixels.
    """
    for width, height, crop, expected, what in CROP_BOX_CASES:
        got = fn(width, height, crop)
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            _fail(f"crop_box({width}, {height}, {crop!r}) returned {got!r}; return four whole numbers "
                  "(left, top, right, bottom), as PIL's Image.crop takes them.")
        if got == expected:
            continue
        hints = []
        if len(got) == 4 and (got[2] - got[0]) != (got[3] - got[1]):
            hints.append("the box is not square: cut the image to its central square first "
                         "(side = min(width, height)), then remove the crop from every side of it")
        if isinstance(crop, float) and crop and got == (0, 0, width, height):
            hints.append("a float crop is a fraction of the shorter side: cut round(crop * min(width, height)) "
                         "pixels, not int(crop) = 0")
        if isinstance(crop, int) and crop > 1 and len(got) == 4 and got[0] < 0:
            hints.append("an int crop is already pixels: do not multiply it by the side")
        hint = ("; ".join(hints) or "a float is a fraction of the shorter side, an int is pixels; the box is the "
                "central square minus the crop on every side") + "."
        _fail(f"crop_box({width}, {height}, {crop!r}) returned {got}, expected {expected}: {what}. Hint: {hint}")
    _ok(f"crop_box: all {len(CROP_BOX_CASES)} cases right (0.2 of LFW's 250 px is the blog's 50 px; "
        "other sizes keep their central square).")


def scaling(to_float, to_uint8) -> None:
    """Check the scaling of pixels to [-1, 1] (``to_float``) and back to uint8 (``to_uint8``)."""
    pixels = np.repeat(np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1), 3, axis=-1)
    scaled = np.asarray(to_float(pixels))
    if scaled.shape != pixels.shape:
        _fail(f"to_float changed the shape from {pixels.shape} to {scaled.shape}; scale every value, keep the shape.")
    if not np.issubdtype(scaled.dtype, np.floating):
        _fail(f"to_float returned dtype {scaled.dtype}; the networks need floats: convert first "
              "(np.asarray(images, np.float32)), then scale.")
    low, high = float(scaled.min()), float(scaled.max())
    if abs(low - 0.0) < 1e-6 and abs(high - 1.0) < 1e-6:
        _fail("to_float scales to [0, 1]; the generator ends in tanh and draws in [-1, 1], so the real faces must "
              "be in [-1, 1] too: x / 127.5 - 1.")
    if abs(low + 1) > 1e-6 or abs(high - 1) > 1e-6:
        _fail(f"to_float maps 0..255 to [{low:.4f}, {high:.4f}]; it should map 0 to -1 and 255 to 1 "
              "(x / 127.5 - 1). If the range looks strange, the subtraction may have wrapped around in uint8: "
              "convert to float before subtracting.")
    expected = pixels.astype(np.float64) / 127.5 - 1
    worst = float(np.abs(scaled - expected).max())
    if worst > 1e-5:
        _fail(f"to_float is not the straight line x / 127.5 - 1 (off by up to {worst:.4f}).")
    back = np.asarray(to_uint8(scaled))
    if back.dtype != np.uint8:
        _fail(f"to_uint8 returned dtype {back.dtype}; return uint8 (.astype(np.uint8)), what images are stored as.")
    if back.shape != pixels.shape:
        _fail(f"to_uint8 changed the shape from {pixels.shape} to {back.shape}.")
    wrong = np.flatnonzero(back[0, ..., 0].ravel() != np.arange(256))
    if wrong.size:
        value = int(wrong[0])
        _fail(f"to_uint8(to_float(x)) is not x: {value} came back as {int(back[0, ..., 0].ravel()[value])} "
              f"({wrong.size} of the 256 values are wrong). In float32, (x + 1) * 127.5 is not always a whole "
              "number (0.9999999 instead of 1): round to the nearest integer (np.round) before casting, since "
              "astype(np.uint8) truncates.")
    outside = np.array([-3.0, -1.5, -1.0, 0.0, 1.0, 1.2, 7.0], np.float32)
    got = np.asarray(to_uint8(outside))
    expected_outside = np.array([0, 0, 0, 128, 255, 255, 255], np.uint8)
    if not np.array_equal(got, expected_outside):
        _fail(f"to_uint8({outside.tolist()}) returned {got.tolist()}, expected {expected_outside.tolist()}: "
              "a generator's output can leave [-1, 1] slightly (or a lot, before tanh); clip to [0, 255] "
              "(np.clip) before casting, or the values wrap around (300 becomes 44).")
    _ok("to_float maps 0..255 onto [-1, 1] and to_uint8 brings every value back exactly, clipping what is outside.")


def _long_tail_people(seed: int = 0) -> np.ndarray:
    """A small LFW-like list of people: one with many images, a few with several, most with one; mixed order."""
    names = ["George"] * 40 + ["Colin"] * 12 + ["Tony"] * 8 + ["Donald"] * 5
    names += [f"person_{i:03d}" for i in range(300)]
    names += [f"pair_{i:02d}" for i in range(10) for _ in range(2)]
    return np.random.default_rng(seed).permutation(np.array(names))


def person_split(split, people=None, validation_fraction: float = 0.2) -> None:
    """Check ``split(people, validation_fraction, seed) -> (train_indices, validation_indices)``.

    Every image index is on exactly one side, no person is on both sides, the
    validation side holds about ``validation_fraction`` of the images, and
    the same seed gives the same split. It is checked on a small long-tailed
    list of people made here and, if given, on ``people`` (e.g. ``faces.people``).
    """
    built_in = _long_tail_people()
    lists = [(f"a long-tailed list of {len(built_in)} images of {len(set(built_in.tolist()))} people", built_in)]
    if people is not None:
        lists.append((f"the {len(people):,} images you passed", np.asarray(people)))
    for name, people_list in lists:
        n = len(people_list)
        train, val = split(people_list, validation_fraction, 0)
        train, val = (np.asarray(part) if np.size(part) else np.zeros(0, np.int64) for part in (train, val))
        for side, idx in (("train", train), ("validation", val)):
            if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
                _fail(f"On {name}: the {side} part should be a 1-D array of image indices (integers), "
                      f"got shape {idx.shape} and dtype {idx.dtype}. Return indices, not the names or the images.")
        both = np.concatenate([train, val])
        if both.size and (both.min() < 0 or both.max() >= n):
            _fail(f"On {name}: indices must be in 0..{n - 1}; found {int(both.min())}..{int(both.max())}.")
        counts = np.bincount(both, minlength=n)
        if (counts > 1).any():
            _fail(f"On {name}: image {int(np.argmax(counts > 1))} is in the split {int(counts.max())} times; "
                  "every image belongs to exactly one side.")
        if (counts == 0).any():
            _fail(f"On {name}: {int((counts == 0).sum())} images are on neither side (e.g. image "
                  f"{int(np.argmax(counts == 0))}); every image belongs to exactly one side.")
        shared = sorted(set(people_list[train].tolist()) & set(people_list[val].tolist()))
        if shared:
            _fail(f"On {name}: {len(shared)} people have images on both sides, e.g. {shared[0]!r}. Split the *people* "
                  "(np.unique(people)), then give each image the side of its person; splitting the images "
                  "directly puts one person's photos on both sides, so validation faces would not be new faces.")
        target = validation_fraction * n
        largest = int(np.unique(people_list, return_counts=True)[1].max())
        if not val.size or not train.size or abs(val.size - target) > max(0.25 * target, largest):
            _fail(f"On {name}: validation holds {val.size} of {n} images; aim for about "
                  f"{validation_fraction:.0%} ({target:.0f}), within one person's images.")
        again = [np.asarray(part) for part in split(people_list, validation_fraction, 0)]
        if not (np.array_equal(np.sort(again[0]), np.sort(train)) and np.array_equal(np.sort(again[1]), np.sort(val))):
            _fail(f"On {name}: two calls with seed 0 gave different splits; draw the people's order from "
                  "np.random.default_rng(seed) so a split can be reproduced.")
    _ok(f"person_split: no person on both sides, every image on one side, about {validation_fraction:.0%} "
        "held out, reproducible from the seed.")


# ----------------------------------------------------------------------------
# Notebook 01: the discriminator.

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
            _fail(f"Block {i} has BatchNormalization: the exercise's D has none (the blog found that D with batch "
                  "norm becomes too strong; notebook 03 shows it when D judges mixed batches). Remove it, or call "
                  "checks.discriminator(model, batch_norm=True) where the exercise asks for batch norm.")
        if batch_norm and not has_bn:
            _fail(f"Block {i} has no BatchNormalization, but batch_norm=True asks for one in every block "
                  "(after the convolution).")
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


# ----------------------------------------------------------------------------
# Notebook 02: the generator.

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


# ----------------------------------------------------------------------------
# Notebook 03: the balance rules.

#: The blog's margin rule with margin 0.3, written out case by case:
#: (err_real, err_fake, expected (train_d, train_g), why).
BALANCE_CASES = [
    (0.50, 0.50, (True, True), "both errors are between 0.3 and 0.7: the networks are balanced and both train"),
    (0.20, 0.50, (False, True), "err_real < 0.3: D is already too good on real faces, so D skips its turn"),
    (0.50, 0.10, (False, True), "err_fake < 0.3: D is already too good on the fakes, so D skips its turn"),
    (0.10, 0.20, (False, True), "both errors < 0.3: D is too good, so D skips its turn"),
    (0.80, 0.50, (True, False), "err_real > 0.7: D is losing, so G (which needs no help) skips its turn"),
    (0.50, 0.90, (True, False), "err_fake > 0.7: D is losing, so G skips its turn"),
    (0.90, 0.80, (True, False), "both errors > 0.7: D is losing, so G skips its turn"),
    (0.10, 0.90, (True, True), "err_real < 0.3 would skip D and err_fake > 0.7 would skip G: "
                               "if both would be skipped, both train"),
    (0.80, 0.20, (True, True), "err_real > 0.7 would skip G and err_fake < 0.3 would skip D: "
                               "if both would be skipped, both train"),
    (0.30, 0.50, (True, True), "err_real is exactly 0.3: the blog's test is strict (err < 0.3 skips D), "
                               "so D trains"),
    (0.50, 0.70, (True, True), "err_fake is exactly 0.7: the blog's test is strict (err > 0.7 skips G), "
                               "so G trains"),
    (0.29, 0.69, (False, True), "err_real = 0.29 is just below 0.3: D skips its turn"),
    (0.31, 0.71, (True, False), "err_fake = 0.71 is just above 0.7: G skips its turn"),
]


def _decide(rule, err_real, err_fake, d_real_success=float("nan"), d_fake_success=float("nan")):
    if hasattr(rule, "decide"):
        result = rule.decide(err_real, err_fake, d_real_success, d_fake_success)
    else:
        result = rule(err_real, err_fake)
    try:
        train_d, train_g = result
    except (TypeError, ValueError):
        _fail(f"The rule returned {result!r}; return two booleans: (train_d, train_g).")
    return _as_bool(train_d, "train_d"), _as_bool(train_g, "train_g")


def balance_rule(rule) -> None:
    """Check a margin rule against the blog's table of cases (margin 0.3).

    ``rule`` is a function ``rule(err_real, err_fake) -> (train_d, train_g)``
    or an object with the package's ``decide(err_real, err_fake, d_real_success,
    d_fake_success)`` method. The blog's rule: if err_real or err_fake < 0.3,
    skip D; if either > 0.7, skip G; if both would be skipped, train both.
    """
    results = [(case, _decide(rule, case[0], case[1])) for case in BALANCE_CASES]
    if all(got == (True, True) for _, got in results):
        _fail("Your rule never skips a turn: it always trains both networks (that is the 'always' control of "
              "section 4). The blog's rule skips D when err_real or err_fake < 0.3 (D is already too good) and "
              "skips G when either is > 0.7 (D is losing).")
    for (err_real, err_fake, expected, why), got in results:
        if got == (False, False):
            _fail(f"For err_real={err_real}, err_fake={err_fake} your rule skips both networks: nothing would "
                  "train. The blog's last rule: if both would be skipped, both train.")
    for (err_real, err_fake, expected, why), got in results:
        if got != expected:
            _fail(f"For err_real={err_real}, err_fake={err_fake} your rule returned (train_d={got[0]}, "
                  f"train_g={got[1]}), expected (train_d={expected[0]}, train_g={expected[1]}): {why}.")
    _ok(f"balance rule: all {len(BALANCE_CASES)} cases of the blog's margin rule right, including 'if both would "
        "be skipped, both train' and the strict margins.")


#: The success-rate rule as the exercise phrases it, upper 0.8, written out case by case:
#: (d_real_success, d_fake_success, expected (train_d, train_g), why).
SUCCESS_RULE_CASES = [
    (0.5, 0.5, (True, True), "D is right on half of each: nobody is too good, both train"),
    (0.9, 0.9, (False, True), "D is right on more than 80% of the real faces *and* of the fakes: D is too good "
                              "and skips its turn"),
    (0.95, 0.6, (True, True), "D is right on 95% of the real faces but only 60% of the fakes: it is too good "
                              "only when it is above 80% on both halves"),
    (0.6, 0.85, (True, True),
     "D is right on 85% of the fakes but only 60% of the real faces: not above 80% on both, so D trains"),
    (0.5, 0.1, (True, False), "G fools D with 90% of its fakes (1 - 0.1): G is too good and skips its turn"),
    (0.95, 0.15, (True, False), "G's success is 1 - 0.15 = 0.85 > 0.8: G skips its turn"),
    (0.8, 0.8, (True, True), "exactly 80%: the rule's tests are strict (> 0.8), so nobody skips"),
    (0.5, 0.25, (True, True), "G's success is 1 - 0.25 = 0.75, not above 0.8: G trains"),
]


def success_rule(rule) -> None:
    """Check ``rule(d_real_success, d_fake_success) -> (train_d, train_g)``, the success-rate rule (upper 0.8).

    D is too good when it is right on more than 80% of the real faces and of the
    fakes: D skips its turn. G is too good when more than 80% of its fakes pass
    (1 - d_fake_success > 0.8): G skips its turn. If both would be skipped, both train.
    """
    for d_real, d_fake, expected, why in SUCCESS_RULE_CASES:
        result = rule(d_real, d_fake)
        try:
            train_d, train_g = result
        except (TypeError, ValueError):
            _fail(f"The rule returned {result!r}; return two booleans: (train_d, train_g).")
        got = (_as_bool(train_d, "train_d"), _as_bool(train_g, "train_g"))
        if got == (False, False):
            _fail(f"For d_real_success={d_real}, d_fake_success={d_fake} your rule skips both networks: nothing "
                  "would train. If both would be skipped, both train. (With the right tests both cannot be too "
                  "good at once: G's success is 1 - d_fake_success.)")
        if got != expected:
            _fail(f"For d_real_success={d_real}, d_fake_success={d_fake} your rule returned (train_d={got[0]}, "
                  f"train_g={got[1]}), expected (train_d={expected[0]}, train_g={expected[1]}): {why}.")
    _ok(f"success rule: all {len(SUCCESS_RULE_CASES)} cases right (D skips when above 80% on both halves, "
        "G skips when more than 80% of its fakes pass).")


#: (real logits, fake logits, expected (d_real_success, d_fake_success, g_success), what the case is about)
SUCCESS_CASES = [
    ([2.0, -1.0, 0.5, 3.0], [-2.0, -0.1, 1.0, -3.0], (0.75, 0.75, 0.25),
     "3 of 4 real logits are > 0 and 3 of 4 fake logits are < 0"),
    ([0.3, 0.2], [-0.3, -0.2], (1.0, 1.0, 0.0),
     "small logits count too: a logit > 0 means 'real' (probability sigmoid(0.3) = 0.57 > 0.5)"),
    ([[-4.0], [5.0], [-0.5]], [[4.0], [-5.0], [0.5]], (1 / 3, 1 / 3, 2 / 3),
     "D's output has shape (batch, 1): one logit per image"),
    ([0.0, 0.0], [0.0, 0.0], (0.0, 0.0, 1.0),
     "a logit of exactly 0 is neither > 0 nor < 0: D is right on neither half, and G's success is 1 - D's "
     "success on the fakes"),
]


def success_rates(fn) -> None:
    """Check ``fn(real_logits, fake_logits) -> (d_real_success, d_fake_success, g_success)``.

    D on real = fraction of real images with logit > 0; D on fakes = fraction of
    fakes with logit < 0; G = 1 - D on fakes (the fakes D does not call fake).
    """
    for real, fake, expected, what in SUCCESS_CASES:
        result = fn(np.asarray(real, np.float32), np.asarray(fake, np.float32))
        try:
            got = tuple(_as_float(v, "each success rate") for v in result)
        except TypeError:
            _fail(f"success_rates returned {result!r}; return three numbers.")
        if len(got) != 3:
            _fail(f"success_rates returned {len(got)} values; return three: "
                  "(d_real_success, d_fake_success, g_success).")
        if np.allclose(got, expected, atol=1e-6):
            continue
        r, f = np.ravel(real), np.ravel(fake)
        half = (np.mean(r > 0.5), np.mean(f < 0.5), 1 - np.mean(f < 0.5))
        hint = ""
        if np.allclose(got, half, atol=1e-6) or np.isclose(got[0], np.mean(r > 0.5)):
            hint = (" A logit is compared with 0, not 0.5: sigmoid(0) = 0.5, so logit > 0 is probability > 0.5. "
                    "(If you applied the sigmoid yourself, compare the probabilities with 0.5.)")
        elif abs(got[2] - got[1]) < 1e-9 and abs(expected[2] - expected[1]) > 1e-9:
            hint = " G's success is the share of fakes that D takes for real: 1 - D's success on fakes."
        elif abs(got[0] - np.mean(f > 0)) < 1e-9 and abs(got[1] - np.mean(r < 0)) < 1e-9:
            hint = " The two halves are swapped: the first argument holds the logits of the real images."
        _fail(f"For real logits {real} and fake logits {fake} you returned "
              f"{tuple(round(v, 4) for v in got)}, expected {tuple(round(v, 4) for v in expected)}: {what}.{hint}")
    _ok(f"success_rates: all {len(SUCCESS_CASES)} cases right (real if logit > 0, fake if < 0, G = 1 - D on fakes).")


def rule_replay(rule, steps, margin: float = 0.3) -> float:
    """Replay ``rule`` on the steps a run recorded and compare with the turns the run took.

    ``steps`` are the run's per-step rows (``run.steps``: ``err_real``, ``err_fake``,
    ``d_updated``, ``g_updated``) from a run trained with the margin rule.
    Steps whose errors lie within 1e-6 of a margin are left out (float32
    round-off decides those). Returns the fraction of steps where D trained.
    """
    if not steps:
        _fail("No steps to replay: run the training cell of section 3 first (run.steps is empty).")
    compared, d_trained = 0, 0
    edges = (margin, 1 - margin)
    for number, step in enumerate(steps, start=1):
        err_real, err_fake = float(step["err_real"]), float(step["err_fake"])
        if not (math.isfinite(err_real) and math.isfinite(err_fake)):
            continue
        if any(abs(err - edge) < 1e-6 for err in (err_real, err_fake) for edge in edges):
            continue
        recorded = (step["d_updated"] >= 0.5, step["g_updated"] >= 0.5)
        got = _decide(rule, err_real, err_fake)
        if got != recorded:
            _fail(f"Step {number}: err_real={err_real:.4f}, err_fake={err_fake:.4f}; the run trained "
                  f"D={recorded[0]}, G={recorded[1]}, your rule says D={got[0]}, G={got[1]}. "
                  "Run checks.balance_rule(your_rule) for the case that explains it.")
        compared += 1
        d_trained += recorded[0]
    if not compared:
        _fail("None of the steps had finite errors away from the margins; train a little longer.")
    g_trained = sum(step["g_updated"] >= 0.5 for step in steps) / len(steps)
    _ok(f"rule_replay: your rule takes the same turns as the run on all {compared} steps compared "
        f"(D trained on {d_trained / compared:.0%} of them, G on {g_trained:.0%} of all steps).")
    return d_trained / compared


# ----------------------------------------------------------------------------
# Notebook 04: the WGAN.

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


# ----------------------------------------------------------------------------
# Notebook 05: the latent space.


def _slerp_reference(a, b, t):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    omega = math.acos(np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))
    if omega < 1e-9:
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


def interpolation(fn) -> None:
    """Check a spherical interpolation ``fn(a, b, t)`` between latent vectors.

    slerp(a, b, t) = (sin((1 - t) omega) a + sin(t omega) b) / sin(omega), with
    omega the angle between a and b; for vectors that point the same way
    (omega = 0) it falls back to the straight line.
    """
    rng = np.random.default_rng(0)
    a100, b100 = rng.normal(size=100), rng.normal(size=100)
    cases = [
        ([1.0, 0.0], [0.0, 1.0], 0.0, "t = 0 is the first vector"),
        ([1.0, 0.0], [0.0, 1.0], 1.0, "t = 1 is the second vector"),
        ([1.0, 0.0], [0.0, 1.0], 0.5, "half way along the quarter circle from (1, 0) to (0, 1)"),
        ([3.0, 0.0], [0.0, 3.0], 1 / 3, "a third of the way along the arc of radius 3: 3 (cos 30°, sin 30°)"),
        ([2.0, 0.0, 0.0], [0.0, 1.0, 1.0], 0.25, "vectors of different lengths"),
        (a100, b100, 0.5, "two 100-dimensional Gaussian latent vectors"),
    ]
    for a, b, t, what in cases:
        got = np.asarray(fn(np.asarray(a, np.float32), np.asarray(b, np.float32), t), np.float64)
        expected = _slerp_reference(a, b, t)
        if got.shape != expected.shape:
            _fail(f"slerp of vectors of shape {expected.shape} returned shape {got.shape}.")
        if np.allclose(got, expected, atol=1e-4 * max(1.0, float(np.linalg.norm(expected)))):
            continue
        linear = (1 - t) * np.asarray(a) + t * np.asarray(b)
        hint = ""
        if np.allclose(got, linear, atol=1e-4):
            hint = (f" That is linear interpolation: its length there is {np.linalg.norm(linear):.3f} against "
                    f"{np.linalg.norm(expected):.3f} on the arc. Walk along the arc: "
                    "(sin((1 - t) omega) a + sin(t omega) b) / sin(omega), omega = arccos(a.b / (|a| |b|)).")
        _fail(f"For a={np.round(a[:3], 3).tolist()}{'...' if len(a) > 3 else ''}, t={t:.3g} ({what}) you returned "
              f"{np.round(got[:3], 4).tolist()}{'...' if len(got) > 3 else ''}, expected "
              f"{np.round(expected[:3], 4).tolist()}{'...' if len(expected) > 3 else ''}.{hint}")
    # A random a (whose a.b / (|a| |b|) rounds to just below or to exactly 1, depending on the CPU) and one
    # whose cosine is exactly 1 everywhere (|(1, 2, 2)| = 3), so omega = 0 is met on every machine.
    for vector in (a100, np.array([1.0, 2.0, 2.0])):
        same = np.asarray(fn(np.asarray(vector, np.float32), np.asarray(vector, np.float32), 0.5), np.float64)
        if np.all(np.isfinite(same)) and np.allclose(same, vector, atol=1e-4):
            continue
        _fail("slerp(a, a, 0.5) should be a itself; you returned "
              f"{'NaN values' if not np.all(np.isfinite(same)) else 'another vector'}. When a and b point the same "
              "way, omega = 0 and sin(omega) = 0: fall back to linear interpolation there.")
    _ok("interpolation: spherical, right at both ends, along the arc, for unequal lengths and for a = b.")


def latent_direction(generator, direction, measure, num: int = 64, span: float = 2.0, seed: int = 0) -> float:
    """Check that moving along ``direction`` in latent space raises ``measure`` of the generated faces.

    ``direction``: a unit vector of the generator's latent size; ``measure``:
    images (floats in [-1, 1], shape (n, S, S, 3)) -> one number per image.
    Fresh faces (seeded, not the ones you fitted on) are drawn at ``z - span * d``
    and ``z + span * d``; the measure must rise for most of them. Returns the mean rise.
    """
    dim = int(generator.input_shape[-1])
    direction = np.asarray(direction, np.float64)
    if direction.shape != (dim,):
        _fail(f"The direction has shape {direction.shape}; it must be one latent vector of shape ({dim},).")
    norm = float(np.linalg.norm(direction))
    if not math.isfinite(norm) or abs(norm - 1) > 1e-3:
        _fail(f"The direction has length {norm:.4g}; divide it by its length (np.linalg.norm) so that a step of "
              "1 along it is comparable with a slider step.")
    z = np.random.default_rng(10_000 + seed).normal(size=(num, dim))
    low = np.asarray(generator.predict((z - span * direction).astype(np.float32), verbose=0))
    high = np.asarray(generator.predict((z + span * direction).astype(np.float32), verbose=0))
    values_low, values_high = np.asarray(measure(low), np.float64), np.asarray(measure(high), np.float64)
    if values_low.shape != (num,):
        _fail(f"measure(images) returned shape {values_low.shape}; return one number per image: ({num},).")
    rise = values_high - values_low
    share = float(np.mean(rise > 0))
    if share < 0.75:
        _fail(f"Moving {span} along your direction raised the measure for only {share:.0%} of {num} fresh faces "
              f"(mean change {rise.mean():+.4f}). Fit the direction on many faces: regress the measure of "
              "generated faces on their latent vectors (np.linalg.lstsq), and check its sign.")
    _ok(f"latent_direction: moving {span} along it raises the measure for {share:.0%} of {num} fresh faces "
        f"(mean {rise.mean():+.4f}).")
    return float(rise.mean())


def truncated_noise(fn, threshold: float = 1.0) -> None:
    """Check ``fn(num, dim, threshold, seed) -> array``: standard normal values, redrawn while |z| > threshold.

    Resampled, not clipped: no values pile up at ±threshold; the spread matches
    a normal distribution truncated at ±threshold; the same seed gives the same noise.
    """
    z = np.asarray(fn(200, 100, threshold, 0))
    if z.shape != (200, 100):
        _fail(f"fn(200, 100, {threshold}, 0) returned shape {z.shape}, expected (200, 100).")
    if np.abs(z).max() > threshold + 1e-6:
        _fail(f"Values reach {np.abs(z).max():.3f}, beyond the threshold {threshold}; redraw every value with "
              "|z| > threshold until none is left.")
    at_edge = float(np.mean(np.isclose(np.abs(z), threshold, atol=1e-6)))
    if at_edge > 0.01:
        _fail(f"{at_edge:.0%} of the values sit exactly at ±{threshold}: that is clipping, which piles the whole "
              "tail onto the edge. Redraw those values from the normal distribution instead.")
    # The standard deviation of a standard normal truncated at ±a: sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1)).
    a = threshold
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    expected = math.sqrt(1 - 2 * a * phi / math.erf(a / math.sqrt(2)))
    spread = float(z.std())
    if abs(spread - expected) > 0.05 * expected:
        _fail(f"The values spread with standard deviation {spread:.3f}; a normal distribution truncated at "
              f"±{threshold} has {expected:.3f}. Draw from np.random.default_rng(seed).normal() and redraw the "
              "values outside; do not rescale them.")
    if not np.array_equal(z, np.asarray(fn(200, 100, threshold, 0))):
        _fail("Two calls with seed 0 gave different noise; draw from np.random.default_rng(seed).")
    _ok(f"truncated_noise: all |z| <= {threshold}, none piled at the edge, spread {spread:.3f} "
        f"(expected {expected:.3f}), reproducible.")
