import numpy as np
import pytest

from gan_helpers.fakes import make_fakes, real_vs_fake


def faces(n=4, s=32):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8)


def test_shuffled_keeps_the_pixels_and_moves_the_patches():
    x = faces()
    out = make_fakes(x, "shuffled", np.random.default_rng(1), patch=8)
    assert out.shape == x.shape
    for a, b in zip(x, out):
        assert sorted(a.reshape(-1, 3).tolist()) == sorted(b.reshape(-1, 3).tolist())
    assert not np.array_equal(x, out)


def test_blurred_is_smoother_and_noise_is_uniform():
    x = faces()
    blurred = make_fakes(x, "blurred", np.random.default_rng(0)).astype(float)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.5 * np.abs(np.diff(x.astype(float), axis=1)).mean()
    noise = make_fakes(np.zeros((50, 16, 16, 3), np.uint8), "noise", np.random.default_rng(0))
    assert abs(noise.mean() - 127.5) < 2


def test_real_vs_fake_labels():
    x, y, kinds = real_vs_fake(faces(10), np.random.default_rng(0))
    assert x.shape == (20, 32, 32, 3) and x.min() >= -1 and x.max() <= 1
    assert y.sum() == 10 and set(kinds[y == 1]) == {"real"} and "real" not in set(kinds[y == 0])
    with pytest.raises(ValueError, match="kind"):
        make_fakes(faces(), "cartoon", np.random.default_rng(0))
