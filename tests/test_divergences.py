import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from gan_helpers import divergences


def test_js_matches_scipy():
    rng = np.random.default_rng(0)
    p, q = rng.random(50), rng.random(50)
    assert divergences.js_divergence(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-9)


def test_wasserstein_matches_scipy():
    grid = np.linspace(0, 1, 101)
    rng = np.random.default_rng(1)
    p, q = rng.random(101), rng.random(101)
    expected = wasserstein_distance(grid, grid, p, q)
    assert divergences.wasserstein_1d(p, q, grid) == pytest.approx(expected, rel=1e-3)


def test_js_saturates_while_wasserstein_grows():
    js, w = divergences.separated_gaussians([0.0, 0.5, 1.0, 2.0])
    assert js[0] == pytest.approx(0, abs=1e-9)
    assert js[2] == pytest.approx(np.log(2), rel=1e-3) and js[3] == pytest.approx(np.log(2), rel=1e-3)
    np.testing.assert_allclose(w, [0.0, 0.5, 1.0, 2.0], atol=2e-3)
