"""Pictures: image grids and the dataset plots the notebooks show."""

from __future__ import annotations

import math

import numpy as np


def as_uint8(images) -> np.ndarray:
    """Images as uint8; floats are taken to be in [-1, 1] (the models' range)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.round((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


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
    Image.fromarray(grid.squeeze()).save(path)


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
