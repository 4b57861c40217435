"""Why WGAN: distances between distributions that do, or do not, tell how far apart they are.

Used by notebook 04 to redraw the paper's first example: two distributions
whose supports barely overlap. The Jensen-Shannon divergence saturates at
log 2 as soon as they separate, so its gradient vanishes; the earth mover's
(Wasserstein-1) distance keeps growing with the separation.
"""

from __future__ import annotations

import numpy as np


def js_divergence(p, q) -> float:
    """Jensen-Shannon divergence (natural log) of two discrete distributions on the same grid."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a, b):
        mask = (a > 0) & (b > 0)  # b >= a / 2 > 0 wherever a > 0, up to underflow
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def wasserstein_1d(p, q, grid) -> float:
    """Earth mover's distance of two discrete distributions on a 1-D grid: the area between their CDFs."""
    p, q, grid = np.asarray(p, float), np.asarray(q, float), np.asarray(grid, float)
    cdf_gap = np.abs(np.cumsum(p / p.sum()) - np.cumsum(q / q.sum()))
    return float(np.sum(cdf_gap[:-1] * np.diff(grid)))


def separated_gaussians(shifts, width: float = 0.05, grid=None):
    """JS and W1 between N(0, width) and N(shift, width) for each shift, on a fine grid."""
    grid = np.linspace(-1, 3, 8001) if grid is None else grid
    p = np.exp(-0.5 * (grid / width) ** 2)
    js, w = [], []
    for shift in shifts:
        q = np.exp(-0.5 * ((grid - shift) / width) ** 2)
        js.append(js_divergence(p, q))
        w.append(wasserstein_1d(p, q, grid))
    return np.array(js), np.array(w)
