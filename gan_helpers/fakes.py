"""Simple fake images, for training the discriminator alone (notebook 01).

Three kinds, from easy to hard to spot: uniform noise, blurred faces (real
faces with the detail removed), and patch-shuffled faces (real pixels and
colours, wrong arrangement).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

FAKE_KINDS = ("noise", "blurred", "shuffled")


def make_fakes(images: np.ndarray, kind: str, rng: np.random.Generator, sigma: float = 1.5,
               patch: int = 16) -> np.ndarray:
    """uint8 fakes shaped like ``images`` (uint8 ``(N, S, S, 3)``)."""
    images = np.asarray(images)
    if kind == "noise":
        return rng.integers(0, 256, images.shape, dtype=np.uint8)
    if kind == "blurred":
        blurred = gaussian_filter(images.astype(np.float32), sigma=(0, sigma, sigma, 0))
        return np.clip(np.round(blurred), 0, 255).astype(np.uint8)
    if kind == "shuffled":
        n, s = images.shape[:2]
        if s % patch:
            raise ValueError(f"patch must divide the image size {s}. Received: patch={patch}")
        k = s // patch
        tiles = images.reshape(n, k, patch, k, patch, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n, k * k, patch, patch, 3)
        order = np.argsort(rng.random((n, k * k)), axis=1)
        tiles = np.take_along_axis(tiles, order[:, :, None, None, None], axis=1)
        return tiles.reshape(n, k, k, patch, patch, 3).transpose(0, 1, 3, 2, 4, 5).reshape(images.shape)
    raise ValueError(f"kind must be one of {FAKE_KINDS}. Received: kind={kind!r}")


def real_vs_fake(images: np.ndarray, rng: np.random.Generator, kinds=FAKE_KINDS):
    """A shuffled labelled set: every real image (label 1) and as many fakes (label 0), kinds mixed.

    Returns ``(x, y, kind)``: float32 images in [-1, 1], float32 labels, and
    for each row the fake kind (``"real"`` for real rows).
    """
    n = len(images)
    which = rng.integers(0, len(kinds), n)
    fakes = np.empty_like(images)
    for i, kind in enumerate(kinds):
        rows = np.flatnonzero(which == i)
        if len(rows):
            fakes[rows] = make_fakes(images[rows], kind, rng)
    x = np.concatenate([images, fakes]).astype(np.float32) / 127.5 - 1.0
    y = np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32)
    labels = np.array(["real"] * n + [kinds[i] for i in which])
    order = rng.permutation(2 * n)
    return x[order], y[order], labels[order]
