"""Pictures: image grids and the dataset plots the notebooks show."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.images import to_uint8


def _legend(ax, **kwargs) -> None:
    """A legend of the labelled lines, where there are any (a monitor drawn at step 0 has none: matplotlib
    would warn "No artists with labels found")."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def as_uint8(images) -> np.ndarray:
    """Images as uint8; floats are taken to be in [-1, 1] (the models' range): :func:`gan_helpers.images.to_uint8`."""
    return to_uint8(images)


def image_grid(images, columns: int | None = None, padding: int = 2, fill: int = 255) -> np.ndarray:
    """Tile ``(N, H, W, C)`` images into one ``(rows*H', cols*W', C)`` uint8 image."""
    images = as_uint8(images)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding, c), fill, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = image
    return grid


def show_grid(images, columns: int | None = None, title: str | None = None, ax=None, scale: float = 1.0):
    """Draw an image grid on ``ax`` (or a new figure sized to the grid); returns the axes."""
    import matplotlib.pyplot as plt

    grid = image_grid(images, columns)
    if ax is None:
        inches = scale * grid.shape[1] / 80, scale * grid.shape[0] / 80
        _, ax = plt.subplots(figsize=(max(inches[0], 2), max(inches[1], 2)))
    ax.imshow(grid.squeeze(), cmap="gray" if grid.shape[-1] == 1 else None)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def save_grid(images, path, columns: int | None = None, upscale: int = 1) -> None:
    """Write an image grid as a PNG file (optionally enlarged by an integer factor)."""
    from PIL import Image

    grid = image_grid(images, columns)
    if upscale > 1:
        grid = grid.repeat(upscale, axis=0).repeat(upscale, axis=1)
    from gan_helpers import files

    with files.atomic_path(path) as tmp:  # a full disk leaves the earlier file whole, and names this one
        Image.fromarray(grid.squeeze()).save(tmp)


def plot_images_per_person(people, ax=None):
    """The long tail: how many people have 1, 2, ... images (log-log), with the top names."""
    import matplotlib.pyplot as plt

    names, counts = np.unique(np.asarray(people), return_counts=True)
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    values, how_many = np.unique(counts, return_counts=True)
    ax.loglog(values, how_many, "o", markersize=4)
    ax.set_xlabel("images of one person")
    ax.set_ylabel("number of people")
    top = np.argsort(counts)[::-1][:3]
    for i in top:
        ax.annotate(names[i].replace("_", " "), (counts[i], 1), textcoords="offset points",
                    xytext=(-10, 12 + 10 * list(top).index(i)), fontsize=8, arrowprops={"arrowstyle": "-"})
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_feature_maps(feature_maps, names, channels: int = 8, image=None):
    """One row per block: the first ``channels`` feature maps of one image."""
    import matplotlib.pyplot as plt

    rows = len(feature_maps) + (image is not None)
    fig, axes = plt.subplots(rows, channels, figsize=(1.4 * channels, 1.5 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    if image is not None:
        axes[0, 0].imshow(as_uint8(image))
        axes[0, 0].set_title("input", fontsize=9)
    for r, (maps, name) in enumerate(zip(feature_maps, names), start=int(image is not None)):
        maps = np.asarray(maps)[0]
        for c in range(min(channels, maps.shape[-1])):
            axes[r, c].imshow(maps[..., c], cmap="viridis")
        axes[r, 0].set_title(f"{name} {maps.shape[0]}x{maps.shape[1]}x{maps.shape[2]}", fontsize=9, loc="left")
    return fig


def plot_curves(histories: dict, metrics=("accuracy", "val_accuracy"), ax=None, ylabel="accuracy"):
    """Training curves of several runs on one axes: solid for the first metric, dashed for the second."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for i, (name, history) in enumerate(histories.items()):
        colour = f"C{i}"
        for metric, style in zip(metrics, ("-", "--", ":")):
            if metric in history:
                ax.plot(np.arange(1, len(history[metric]) + 1), history[metric], style, color=colour,
                        label=f"{name}: {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _legend(ax, fontsize=8)
    return ax


def draw_matrix(array, ax=None, title=None, fmt="{:g}", cmap="Blues", highlight_zero=True):
    """A small 2-D array as a grid of numbered cells (for unpooling and padding pictures)."""
    import matplotlib.pyplot as plt

    array = np.asarray(array)
    ax = ax or plt.subplots(figsize=(0.5 * array.shape[1] + 1, 0.5 * array.shape[0] + 1))[1]
    ax.imshow(array, cmap=cmap, vmin=min(0, array.min()), vmax=max(1e-9, array.max()) * 1.3)
    for (i, j), value in np.ndenumerate(array):
        colour = "lightgray" if highlight_zero and value == 0 else "black"
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(np.arange(-0.5, array.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, array.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def smooth(values, window: int = 25) -> np.ndarray:
    """Trailing moving average (the first points average what there is)."""
    values = np.asarray(values, float)
    if len(values) == 0:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    starts = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (cumulative[1:] - cumulative[starts]) / (np.arange(1, len(values) + 1) - starts)


def _finish_monitor(fig, ax_grid, samples, title):
    """The fixed-batch grid panel and the title, shared by both monitor figures."""
    if samples is not None:
        ax_grid.imshow(image_grid(samples[:36], columns=6))
        ax_grid.set_title("fixed noise batch", fontsize=9)
    ax_grid.set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def median_filter(values, window: int = 101) -> np.ndarray:
    """Centred running median over a full window only (as the WGAN paper smooths its curves).

    Where the window does not fit (the first and last ``window // 2``
    points), the result is NaN, so a plot leaves the edges out instead of
    bending them with padded values. A series shorter than ``window`` gets
    the largest odd window that fits.
    """
    values = np.asarray(values, float)
    window = min(window, len(values) if len(values) % 2 else len(values) - 1)
    if window < 1:
        return values
    half = window // 2
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        windows = np.lib.stride_tricks.sliding_window_view(values, window)
        out[half:len(values) - half] = np.median(windows, axis=1)
    return out


def _plot_median(ax, x, values, window: int, **style):
    """The centred median curve, labelled with the window it used and where it starts."""
    used = min(window, len(values) if len(values) % 2 else len(values) - 1)
    ax.plot(x, median_filter(values, window), label=f"centred median of {used} (from iteration {used // 2 + 1})",
            **style)


def wgan_monitor(steps: list[dict], samples=None, title: str = "", window: int = 101):
    """WGAN figure: the Wasserstein estimate (-Loss_D) against generator iterations, and the grid."""
    import matplotlib.pyplot as plt

    fig, (ax_w, ax_grid) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    at_g = [s for s in steps if s.get("g_updated", 0) >= 0.5]
    if at_g:
        estimate = [s["wasserstein"] for s in at_g]
        x = np.arange(1, len(at_g) + 1)
        ax_w.plot(x, estimate, alpha=0.3, label="-Loss_D")
        _plot_median(ax_w, x, estimate, window)
        _legend(ax_w, fontsize=8)
    else:
        ax_w.text(0.5, 0.5, "no generator iteration yet", transform=ax_w.transAxes, ha="center", color="gray")
    ax_w.set_xlabel("generator iterations")
    ax_w.set_ylabel("Wasserstein estimate")
    ax_w.grid(alpha=0.3)
    return _finish_monitor(fig, ax_grid, samples, title)


def training_monitor(steps: list[dict], samples=None, title: str = "", window: int = 25):
    """The training figure: success rates, the blog's errors, skip rates, and the fixed-batch grid."""
    import matplotlib.pyplot as plt

    if steps and "wasserstein" in steps[0]:
        return wgan_monitor(steps, samples, title)

    fig = plt.figure(figsize=(14, 4.2))
    grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1.3, 1])
    ax_success = fig.add_subplot(grid[0, 0])
    ax_errors = fig.add_subplot(grid[1, 0], sharex=ax_success)
    ax_skips = fig.add_subplot(grid[:, 1])
    ax_grid = fig.add_subplot(grid[:, 2])
    x = np.arange(1, len(steps) + 1)

    def series(key):
        return smooth([s[key] for s in steps], window) if steps and key in steps[0] else None

    for key, label in (("d_real_success", "D on real"), ("d_fake_success", "D on fakes"), ("g_success", "G")):
        values = series(key)
        if values is not None:
            ax_success.plot(x, values, label=label)
    ax_success.set_ylim(-0.02, 1.02)
    ax_success.set_ylabel("success")
    _legend(ax_success, fontsize=7, loc="upper left", ncol=3)
    for key, label in (("err_real", "err real"), ("err_fake", "err fake"), ("err_gen", "err G")):
        values = series(key)
        if values is not None:
            ax_errors.plot(x, values, label=label)
    ax_errors.set_ylabel("cross-entropy")
    ax_errors.set_xlabel("step")
    _legend(ax_errors, fontsize=7, loc="upper left", ncol=3)
    for key, label in (("d_updated", "D skipped"), ("g_updated", "G skipped")):
        values = series(key)
        if values is not None:
            ax_skips.plot(x, 1 - values, label=label)
    ax_skips.set_ylim(-0.02, 1.02)
    ax_skips.set_title(f"skip rate (moving average of {window} steps)", fontsize=9)
    ax_skips.set_xlabel("step")
    _legend(ax_skips, fontsize=8)
    for ax in (ax_success, ax_errors, ax_skips):
        ax.grid(alpha=0.3)
    return _finish_monitor(fig, ax_grid, samples, title)


def save_gif(frames, path, duration_ms: int = 400, upscale: int = 2, labels=None) -> None:
    """An animated GIF from image grids (uint8 arrays) or PNG paths, e.g. the fixed batch over epochs.

    ``labels``: one text per frame (e.g. "epoch 3"), written on a white band
    above the frame, so that a reader knows which moment each frame shows.
    """
    from PIL import Image, ImageDraw

    frames = list(frames)
    if labels is not None and len(labels) != len(frames):
        raise ValueError(f"save_gif got {len(frames)} frames but {len(labels)} labels; give one label per frame.")
    images = []
    for i, frame in enumerate(frames):
        image = Image.open(frame).convert("RGB") if not isinstance(frame, np.ndarray) else Image.fromarray(frame)
        if upscale > 1:
            image = image.resize((image.width * upscale, image.height * upscale), Image.Resampling.NEAREST)
        if labels is not None:
            band = 16
            labelled = Image.new("RGB", (image.width, image.height + band), "white")
            labelled.paste(image, (0, band))
            ImageDraw.Draw(labelled).text((4, 2), str(labels[i]), fill="black")
            image = labelled
        images.append(image)
    if not images:
        raise ValueError("save_gif needs at least one frame.")
    from gan_helpers import files

    with files.atomic_path(path) as tmp:
        images[0].save(tmp, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)


def compare_runs(results: dict, samples: dict, metric_keys=("swd", "face_rate", "diversity_ratio")):
    """Side by side: each run's sample grid, titled with its metrics."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.6), squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items()):
        ax.imshow(image_grid(samples[name][:36], columns=6))
        ax.set_axis_off()
        numbers = ", ".join(f"{k.replace('_ratio', '')} {result[k]:.2f}" for k in metric_keys if k in result)
        ax.set_title(f"{name}\n{numbers}", fontsize=9)
    fig.tight_layout()
    return fig


def success_table(trained: dict, results: dict) -> str:
    """A text table of short GAN runs: D's and G's success in training, and D judging one face at a time.

    ``trained`` and ``results`` are the first two dicts that
    ``runs.train_and_evaluate`` returns. "In training" is the last epoch's
    mean over its batches; "judged one face at a time" is D in inference
    mode (dropout off) on faces it trained on and on held-out faces.
    """
    lines = [f"{'':>28} {'in training (last epoch)':^28} | {'judged one face at a time':^30} |",
             f"{'run':>28} {'D real':>8} {'D fakes':>9} {'G':>6}  | {'D train faces':>14} {'D held-out':>11} | "
             f"{'steps':>6} {'diversity':>9} {'SWD':>6}"]
    for name, run in trained.items():
        last, m = (run.history[-1] if run.history else {}), results[name]
        lines.append(f"{name:>28} {last.get('d_real_success', float('nan')):8.2f} "
                     f"{last.get('d_fake_success', float('nan')):9.2f} {last.get('g_success', float('nan')):6.2f}  | "
                     f"{m.get('d_on_train_faces', float('nan')):14.2f} {m.get('d_on_heldout_faces', float('nan')):11.2f} | "
                     f"{m['steps']:6d} {m['diversity_ratio']:9.2f} {m['swd']:6.1f}")
    return "\n".join(lines)


def success_curves(trained: dict, key: str = "g_success", title: str = "", window: int = 25, ax=None):
    """One curve per run of a per-step number (moving average), e.g. how often G fools D."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.2))
    for name, run in trained.items():
        values = smooth([s[key] for s in run.steps], window)
        ax.plot(values, label=f"{name} ({len(values)} steps)", marker="o" if len(values) < 30 else None)
    ax.set(xlabel="step", ylabel=f"{key.replace('_', ' ')} (moving average)", title=title)
    ax.grid(alpha=0.3)
    _legend(ax, fontsize=8)
    return ax


def balance_evidence(rows: list[dict], keys=("swd", "diversity_ratio", "face_rate")):
    """Each rule's runs as dots, one per seed, for each setting: what the rules change beyond seed noise.

    ``rows`` come from ``runs.compare_balance_rules``. One panel per metric;
    along x, the settings and within each the rules; a bar marks the mean.
    """
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(r["setting"] for r in rows))
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    labels = {"swd": "SWD x1e3 (lower is better)", "diversity_ratio": "diversity ratio (1 = real)",
              "face_rate": "face rate"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        ticks, names = [], []
        for i, setting in enumerate(settings):
            for j, rule in enumerate(rules):
                values = [r[key] for r in rows if r["setting"] == setting and r["rule"] == rule
                          and r.get(key) is not None]
                if not values:
                    continue
                x = i * (len(rules) + 1) + j
                ax.scatter([x] * len(values), values, color=f"C{j}", s=25, zorder=3)
                ax.hlines(np.mean(values), x - 0.35, x + 0.35, color=f"C{j}")
                ticks.append(x)
                names.append(f"{setting}\n{rule}")
        ax.set_xticks(ticks, names, fontsize=8)
        ax.set_title(labels.get(key, key), fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def progress_grids(records: list[dict], count: int = 4) -> list[tuple]:
    """``count`` of :func:`gan_helpers.runs.watch`'s records, evenly spread and always the last, as the
    ``grids`` of :func:`wgan_progress`: ``(generator_iterations, samples, "N min, SWD S")``."""
    if not records:
        return []
    picks = sorted({int(round(i)) for i in np.linspace(0, len(records) - 1, min(count, len(records)))})
    return [(records[i]["generator_iterations"], records[i]["samples"],
             f"{records[i]['minutes']:.0f} min, SWD {records[i]['swd']:.0f}") for i in picks]


def wgan_progress(steps: list[dict], grids: list[tuple], window: int = 101, title: str = ""):
    """The WGAN paper's central figure for one run: the estimate against generator iterations, with grids.

    ``steps``: the run's per-step records (``wasserstein``, ``g_updated``).
    ``grids``: ``(generator_iterations, images, caption)`` taken from the same
    run as it trained; each is drawn under the curve and marked on it, so the
    reader sees the estimate fall as the faces appear.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(max(10, 2.6 * len(grids)), 6.4))
    layout = fig.add_gridspec(2, max(1, len(grids)), height_ratios=[1.1, 1])
    ax_w = fig.add_subplot(layout[0, :])
    estimate = [s["wasserstein"] for s in steps if s.get("g_updated", 0) >= 0.5]
    x = np.arange(1, len(estimate) + 1)
    if estimate:
        ax_w.plot(x, estimate, alpha=0.25, color="C0", label="-Loss_D at each generator iteration")
        _plot_median(ax_w, x, estimate, window, color="C0")
    for i, (at, images, caption) in enumerate(grids):
        ax_w.axvline(at, color="gray", linestyle=":", linewidth=1)
        ax_w.annotate(chr(ord("A") + i), (at, 1), xycoords=("data", "axes fraction"), ha="center", va="bottom")
        ax = fig.add_subplot(layout[1, i])
        ax.imshow(image_grid(np.asarray(images)[:16], columns=4))
        ax.set_axis_off()
        ax.set_title(f"{chr(ord('A') + i)}: {caption}", fontsize=9)
    ax_w.set_xlabel("generator iterations")
    ax_w.set_ylabel("Wasserstein estimate")
    ax_w.grid(alpha=0.3)
    _legend(ax_w, fontsize=8, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
