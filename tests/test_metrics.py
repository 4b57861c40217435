"""Quality metrics, on cases whose order is known: real vs real < blurred real < noise."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from gan_helpers import data, metrics
from gan_helpers.synthetic import make_face_folder


@pytest.fixture(scope="module")
def drawn_faces(tmp_path_factory):
    folder = make_face_folder(tmp_path_factory.mktemp("m") / "faces", people=20, per_person=12, size=128)
    return data.load_faces(folder, 64, crop=0, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def test_laplacian_pyramid_levels_sum_back_to_the_image():
    x = np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32)
    levels = metrics.laplacian_pyramid(x, min_size=16)
    assert [level.shape[1] for level in levels] == [64, 32, 16]
    # Rebuild: upsample the coarser level the same way and add the band-pass detail.
    current = levels[-1]
    for detail in levels[-2::-1]:
        up = np.zeros_like(detail)
        up[:, ::2, ::2] = current
        current = detail + metrics._blur(up) * 4
    np.testing.assert_allclose(current, x, atol=1e-5)


def test_sliced_wasserstein_of_a_shift_is_the_shift_along_each_direction():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3)).astype(np.float32)
    shift = np.array([0.5, 0.0, 0.0], np.float32)
    # A pure shift moves every 1-D projection by |<shift, d>|; its mean over random unit directions
    # in 3-D is 0.5 * E|d_x| = 0.5 * 0.5.
    value = metrics.sliced_wasserstein(a, a + shift, rng, repeats=16, directions=256)
    assert value == pytest.approx(0.25, rel=0.05)
    assert metrics.sliced_wasserstein(a, a.copy(), rng) == pytest.approx(0.0, abs=1e-6)


def test_swd_orders_real_blurred_noise(drawn_faces):
    half = len(drawn_faces) // 2
    a, b = drawn_faces[:half], drawn_faces[half:2 * half]
    blurred = np.clip(gaussian_filter(a.astype(float), (0, 2, 2, 0)), 0, 255).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, a.shape, dtype=np.uint8)
    real, blur, rand = (metrics.swd(x, b, patches_per_image=32)["avg"] for x in (a, blurred, noise))
    assert real < blur < rand
    assert real * 2 < blur


def test_face_rate_finds_real_faces_and_not_noise(lfw_dir, tmp_path):
    faces = data.load_faces(lfw_dir, 64, cache_dir=tmp_path, limit=60, progress=False)
    assert metrics.face_rate(faces) > 0.9
    noise = np.random.default_rng(0).integers(0, 256, faces.shape, dtype=np.uint8)
    assert metrics.face_rate(noise) < 0.05


def test_diversity_catches_collapse_and_nearest_neighbour_catches_copies(drawn_faces):
    a, b = drawn_faces[:100], drawn_faces[100:200]
    collapsed = np.repeat(a[:1], 100, axis=0)
    assert metrics.pixel_spread(collapsed) < 1e-6 < 0.05 < metrics.pixel_spread(a)
    assert metrics.mean_pairwise_distance(collapsed) == 0
    copies = metrics.nearest_neighbour_distance(a[:10], a)
    np.testing.assert_allclose(copies, 0, atol=3e-3)  # float32 round-off of |x|^2 + |r|^2 - 2 x.r
    assert metrics.nearest_neighbour_distance(b[:10], a).min() > 0.01
    # A brute-force check of one distance.
    small = metrics._small(b[:1]), metrics._small(a)
    expected = np.sqrt(((small[0] - small[1]) ** 2).mean(axis=1)).min()
    assert metrics.nearest_neighbour_distance(b[:1], a)[0] == pytest.approx(expected, rel=1e-4)


def test_evaluate_reports_everything(drawn_faces):
    result = metrics.evaluate(drawn_faces[:60], drawn_faces[60:180], drawn_faces[180:240], with_faces=False)
    assert result["num_images"] == 60
    assert result["swd"] < 100 and result["swd_real_floor"] < 100
    assert 0.5 < result["diversity_ratio"] < 2
    assert 0.5 < result["memorisation_ratio"] < 2


def _mean_brightness_discriminator(threshold: float, batch_norm: bool = False):
    """A D whose logit is the image's mean value minus ``threshold`` (optionally batch-normalised)."""
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(1)
    x = dense(x)
    dense.set_weights([np.full((192, 1), 1 / 192, np.float32), np.array([-threshold], np.float32)])
    if batch_norm:
        x = keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-6)(x)
    return keras.Model(inputs, x)


def test_discriminator_success_against_numpy():
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (150, 8, 8, 3), dtype=np.uint8)
    fake = rng.uniform(-1, 1, (70, 8, 8, 3)).astype(np.float32)
    threshold = 0.02
    d = _mean_brightness_discriminator(threshold)
    expected_real = ((real.astype(np.float64) / 127.5 - 1).mean(axis=(1, 2, 3)) > threshold).mean()
    expected_fake = (fake.mean(axis=(1, 2, 3)) <= threshold).mean()
    assert 0.1 < expected_real < 0.9 and 0.1 < expected_fake < 0.9  # the check is not trivially 0 or 1
    result = metrics.discriminator_success(d, real, fake, batch_size=32)
    assert result == pytest.approx({"real": expected_real, "fake": expected_fake})
    assert metrics.discriminator_success(d, real=real) == pytest.approx({"real": expected_real})


def test_discriminator_success_with_batch_norm_depends_on_the_mode():
    # 64 real images of rising brightness, all above the threshold: judged one by one (inference mode,
    # moving mean 0 and variance 1) all are real; judged as one batch in training mode, batch norm
    # subtracts the batch's mean and exactly the brighter half stays above 0.
    real = np.repeat(np.linspace(0.1, 0.9, 64, dtype=np.float32)[:, None, None, None], 192, axis=1).reshape(64, 8, 8, 3)
    d = _mean_brightness_discriminator(0.0, batch_norm=True)
    assert metrics.discriminator_success(d, real=real)["real"] == 1.0
    moving = [v.numpy().copy() for v in d.non_trainable_variables]
    assert metrics.discriminator_success(d, real=real, training=True)["real"] == 0.5
    for variable, before in zip(d.non_trainable_variables, moving):  # D is left as it was
        np.testing.assert_array_equal(variable.numpy(), before)
    assert metrics.discriminator_success(d, real=real)["real"] == 1.0


def test_describe_breaks_lines_between_pairs_and_keeps_every_value():
    result = {"num_images": 1000, "swd": 43.4415, "swd_real_floor": 21.159, "face_rate": 0.984,
              "memorisation_ratio": 0.94, **{f"metric_number_{i}": i / 7 for i in range(12)}}
    text = metrics.describe(result, width=60)
    lines = text.splitlines()
    assert len(lines) > 3 and all(len(line) <= 60 for line in lines)
    pairs = [item.strip().rsplit(" ", 1) for line in lines for item in line.rstrip(",").split(", ")]
    assert [key for key, _ in pairs] == list(result)
    assert [float(value) for _, value in pairs] == [round(float(v), 3) for v in result.values()]
