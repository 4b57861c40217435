"""The eight-Gaussians toy: the data, the mode-coverage criterion, the critic surface, and a WGAN-GP that learns."""

import numpy as np
import pytest

from gan_helpers import toy, wgan
from gan_helpers._quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

#: gan_toy.py's centres, written out here: radius 2 at multiples of 45 degrees, then divided by 1.414.
ANGLES = np.deg2rad(np.arange(8) * 45.0)
CENTRES = 2.0 / 1.414 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)


def nearest_centre(points):
    return np.linalg.norm(points[:, None] - CENTRES[None], axis=-1).argmin(axis=1)


def test_eight_gaussians_is_gan_toys_mixture():
    # The same set of centres, in any order.
    centres = toy.mode_centres()
    assert sorted(nearest_centre(centres).tolist()) == list(range(8))
    np.testing.assert_allclose(np.sort(np.linalg.norm(centres, axis=1)), np.full(8, 2 / 1.414), rtol=1e-6)

    points = toy.eight_gaussians(16_000, seed=0)
    assert points.shape == (16_000, 2) and points.dtype == np.float32
    np.testing.assert_array_equal(points, toy.eight_gaussians(16_000, seed=0))
    assert not np.array_equal(points, toy.eight_gaussians(16_000, seed=1))
    labels = nearest_centre(points)
    counts = np.bincount(labels, minlength=8)
    assert np.all(np.abs(counts - 2000) < 5 * np.sqrt(16_000 * 1 / 8 * 7 / 8))  # each centre equally likely
    offsets = points - CENTRES[labels]
    np.testing.assert_allclose(offsets.mean(axis=0), 0.0, atol=5 * 0.0142 / np.sqrt(16_000))
    np.testing.assert_allclose(offsets.std(axis=0), 0.02 / 1.414, rtol=0.03)  # gan_toy: N(0, 0.02) / 1.414


def test_modes_covered_on_hand_made_samples():
    assert toy.modes_covered(CENTRES) == 8
    report = toy.mode_report(CENTRES)
    assert report["counts"] == [1] * 8 and report["high_quality"] == 1.0
    assert toy.modes_covered(np.repeat(CENTRES[3:4], 1000, axis=0)) == 1
    far = np.random.default_rng(0).uniform(5, 10, size=(1000, 2))
    assert toy.modes_covered(far) == 0 and toy.mode_report(far)["high_quality"] == 0.0
    # Points just inside and just outside the radius of 0.1 around one centre.
    direction = np.array([np.cos(0.3), np.sin(0.3)])
    inside, outside = CENTRES[0] + 0.099 * direction, CENTRES[0] + 0.101 * direction
    assert toy.mode_report(np.array([inside, outside]))["high_quality"] == 0.5
    # Seven modes evenly, the eighth empty: 7.
    rng = np.random.default_rng(1)
    seven = np.repeat(CENTRES[:7], 140, axis=0) + rng.normal(0, 0.014, (980, 2))
    assert toy.modes_covered(seven) == 7
    # A mode needs 2.5% of the samples: 24 of 1,000 is not enough, 26 is.
    for share, covered in [(24, 7), (26, 8)]:
        samples = np.concatenate([seven[:1000 - share], np.repeat(CENTRES[7:], share, axis=0)])
        assert toy.modes_covered(samples) == covered, share
    # Samples smeared evenly along the ring cover no mode (about 2.25% lie near each centre).
    theta = np.linspace(0, 2 * np.pi, 1000, endpoint=False) + 0.001
    ring = 2 / 1.414 * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    assert toy.modes_covered(ring) == 0
    with pytest.raises(ValueError, match="samples"):
        toy.mode_report(np.zeros((5, 3)))


def test_critic_surface_is_the_critics_values_on_the_grid():
    w, b = np.array([0.5, -2.0], np.float32), 0.25
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        1, kernel_initializer=keras.initializers.Constant(w.reshape(2, 1)),
        bias_initializer=keras.initializers.Constant(b))])
    model = wgan.WGAN(toy.build_toy_models(seed=0, width=8)[0], critic, clip_value=None, gradient_penalty=1.0)
    x, y, values = toy.critic_surface(model, grid=7, extent=3.0)
    np.testing.assert_allclose(x, np.linspace(-3, 3, 7))
    np.testing.assert_allclose(y, np.linspace(-3, 3, 7))
    np.testing.assert_allclose(values, w[0] * x[None, :] + w[1] * y[:, None] + b, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def trained_wgan_gp():
    import time

    start = time.perf_counter()
    model = toy.train_toy("wgan-gp", steps=600, seed=0)
    return model, time.perf_counter() - start


def test_wgan_gp_covers_the_eight_modes(trained_wgan_gp):
    model, seconds = trained_wgan_gp
    assert int(model.gen_iterations.numpy()) == 600
    samples = toy.sample_toy(model, 1000, seed=1)
    report = toy.mode_report(samples)
    assert report["covered"] >= 7, report
    assert report["high_quality"] >= 0.4, report
    # Against a generator that has not learnt: the same networks untrained cover (almost) nothing.
    untrained = toy.build_toy_model("wgan-gp", seed=0)
    assert toy.mode_report(toy.sample_toy(untrained, 1000, seed=1))["high_quality"] < 0.1
    print(f"WGAN-GP toy: {seconds:.1f} s, {report}")


def test_gan_and_clipped_wgan_train_on_points_and_plot(trained_wgan_gp):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {}
    for variant, steps in [("gan", 60), ("wgan", 20)]:
        untrained = toy.build_toy_model(variant, seed=0)
        before = [v.numpy().copy() for v in untrained.generator.trainable_variables]
        model = toy.train_toy(variant, steps=steps, seed=0)
        assert all(not np.allclose(a, v.numpy()) for a, v in zip(before, model.generator.trainable_variables))
        samples = toy.sample_toy(model, 200)
        assert samples.shape == (200, 2) and np.isfinite(samples).all()
        results[variant] = model
    assert int(results["wgan"].gen_iterations.numpy()) == 20
    assert max(float(np.abs(v.numpy()).max()) for v in results["wgan"].critic.trainable_variables) <= 0.01 + 1e-7
    assert float(results["gan"].trackers["d_updated"].result()) == 1.0  # balance "always": both every step
    results["wgan-gp"] = trained_wgan_gp[0]
    fig = toy.plot_toy(results, num_samples=200)
    assert len(fig.axes) == 6  # three panels, then their colour bars
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert [title.split("\n")[0] for title in titles] == ["GAN (balance 'always')", "WGAN (clipping)", "WGAN-GP"]
    assert titles[2].split("\n")[1].startswith(f"{toy.modes_covered(toy.sample_toy(results['wgan-gp']))}/8 modes")
    plt.close(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        toy.build_toy_models("lsgan")
    with pytest.raises(ValueError, match="Unknown toy settings"):
        toy.build_toy_model("wgan-gp", lr=1e-3)
    with pytest.raises(ValueError, match="steps"):
        toy.train_toy("gan", steps=0)
