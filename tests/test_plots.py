"""Plots that write files: the GIF of the fixed batch over epochs."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from gan_helpers import plots


def _frames():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8) for _ in range(3)]


def test_gif_frames_carry_their_labels(tmp_path):
    frames = _frames()
    plots.save_gif(frames, tmp_path / "plain.gif", upscale=1)
    plots.save_gif(frames, tmp_path / "labelled.gif", upscale=1, labels=["epoch 1", "epoch 2", "epoch 3"])
    plain = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(tmp_path / "plain.gif"))]
    labelled = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(tmp_path / "labelled.gif"))]
    assert len(plain) == len(labelled) == 3
    assert plain[0].shape == (20, 30, 3)
    assert labelled[0].shape == (20 + 16, 30, 3)  # a band on top for the label
    for frame in labelled:
        band = frame[:16]
        assert (band < 128).any() and (band > 200).mean() > 0.5  # dark text on white
    # the labels differ, so the bands differ; the pictures below them are the frames
    assert not np.array_equal(labelled[0][:16], labelled[2][:16])
    assert np.abs(labelled[0][16:].astype(int) - plain[0].astype(int)).mean() < 40  # GIF palette round-off


def test_gif_needs_one_label_per_frame(tmp_path):
    with pytest.raises(ValueError, match="3 frames but 2 labels"):
        plots.save_gif(_frames(), tmp_path / "x.gif", labels=["a", "b"])


class _Run:
    def __init__(self, values):
        self.steps = [{"g_success": v} for v in values]
        self.history = [{"d_real_success": 0.81, "d_fake_success": 0.62, "g_success": 0.38}]


def test_success_table_and_curves_show_each_runs_numbers():
    import matplotlib

    matplotlib.use("Agg")
    trained = {"a": _Run([0.0, 1.0, 0.5]), "b": _Run([0.2, 0.2])}
    results = {name: {"d_on_train_faces": 0.97, "d_on_heldout_faces": 0.41, "steps": len(run.steps),
                      "diversity_ratio": 0.93, "swd": 61.25} for name, run in trained.items()}
    table = plots.success_table(trained, results).splitlines()
    assert len(table) == 4
    row = table[2].split()
    assert row[0] == "a" and row[1:4] == ["0.81", "0.62", "0.38"] and row[4:6] == ["|", "0.97"]
    assert row[-3:] == ["3", "0.93", "61.2"] or row[-3:] == ["3", "0.93", "61.3"]
    ax = plots.success_curves(trained, window=2)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [0.0, 0.5, 0.75])  # trailing mean of 2
    np.testing.assert_allclose(lines[1].get_ydata(), [0.2, 0.2])


def test_balance_evidence_draws_one_dot_per_seed_and_the_mean():
    import matplotlib

    matplotlib.use("Agg")
    rows = [{"setting": "s", "rule": rule, "seed": seed, "swd": 10.0 * seed + (5 if rule == "margin" else 0)}
            for rule in ("always", "margin") for seed in (0, 1, 2)]
    fig = plots.balance_evidence(rows, keys=("swd",))
    ax = fig.axes[0]
    dots = [np.asarray(c.get_offsets()) for c in ax.collections if c.get_offsets().size and len(c.get_offsets()) == 3]
    assert [sorted(d[:, 1]) for d in dots] == [[0, 10, 20], [5, 15, 25]]
    means = [seg[0][1] for c in ax.collections for seg in getattr(c, "get_segments", lambda: [])()]
    assert sorted(means) == [10.0, 15.0]


def test_median_filter_uses_full_windows_only_and_leaves_the_edges_out():
    rng = np.random.default_rng(0)
    values = np.linspace(0, 10, 40) + rng.normal(size=40)
    out = plots.median_filter(values, window=7)
    assert np.isnan(out[:3]).all() and np.isnan(out[-3:]).all()
    np.testing.assert_allclose(out[3:-3], [np.median(values[i - 3:i + 4]) for i in range(3, 37)])
    # a straight line is its own centred median: nothing bends, at the edges either
    line = np.arange(30.0)
    smoothed = plots.median_filter(line, window=11)
    np.testing.assert_array_equal(smoothed[5:-5], line[5:-5])
    # shorter than the window: the largest odd window that fits (5 of 6 points)
    short = plots.median_filter([5.0, 1, 4, 2, 3, 9], window=101)
    assert np.isnan(short[[0, 1, 4, 5]]).all() and short[2] == 3 and short[3] == 3


def test_wgan_progress_marks_each_grid_on_the_estimate_curve():
    import matplotlib

    matplotlib.use("Agg")
    steps = [{"wasserstein": 10.0 - i / 10, "g_updated": float(i % 5 == 4)} for i in range(500)]
    images = np.zeros((16, 8, 8, 3), np.uint8)
    fig = plots.wgan_progress(steps, [(20, images, "20 it."), (80, images, "80 it.")], window=11)
    curve = fig.axes[0]
    raw = curve.get_lines()[0]
    np.testing.assert_allclose(raw.get_ydata(), [s["wasserstein"] for s in steps if s["g_updated"]])
    marks = [line.get_xdata()[0] for line in curve.get_lines()[2:]]
    assert marks == [20, 80]
    assert [ax.get_title() for ax in fig.axes[1:]] == ["A: 20 it.", "B: 80 it."]


def test_a_monitor_drawn_before_the_first_step_warns_nothing():
    """Ctrl-C at step 0 draws the monitor of a run without steps: no "No artists with labels" warnings."""
    import warnings

    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for monitor in (plots.training_monitor, plots.wgan_monitor):
            plt.close(monitor([], title="stopped at step 0"))
    assert not [str(w.message) for w in caught]
