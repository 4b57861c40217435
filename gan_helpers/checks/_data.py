"""Checks of notebook 00: the data."""

from __future__ import annotations

import numpy as np

from gan_helpers.checks._report import _fail, _ok


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
