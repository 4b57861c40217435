"""Checks of notebook 05: the latent space."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.checks._report import _fail, _ok


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
