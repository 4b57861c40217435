"""Small synthetic face folders, for tests and for notebooks without LFW.

The images are simple cartoon faces (a skin-coloured oval, two eyes, a mouth)
with random colours, positions and sizes, laid out like LFW: one folder per
"person", files ``<Person>_NNNN.<ext>``. They are drawn, not copied from any
dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def draw_face(rng: np.random.Generator, size: int = 250) -> Image.Image:
    """One cartoon face on a random background, as an RGB PIL image."""
    background = tuple(int(v) for v in rng.integers(0, 256, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    centre = size / 2 + rng.normal(0, size * 0.02, 2)
    half_w, half_h = size * rng.uniform(0.22, 0.28), size * rng.uniform(0.28, 0.34)
    skin = tuple(int(v) for v in np.clip(rng.normal([200, 160, 130], 30), 0, 255))
    draw.ellipse([centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h], fill=skin)
    eye_y = centre[1] - half_h * 0.2
    eye_r = size * rng.uniform(0.02, 0.035)
    for side in (-1, 1):
        x = centre[0] + side * half_w * 0.45
        draw.ellipse([x - eye_r, eye_y - eye_r, x + eye_r, eye_y + eye_r], fill=(30, 30, 30))
    mouth_y = centre[1] + half_h * 0.45
    mouth_w = half_w * rng.uniform(0.3, 0.6)
    draw.rectangle([centre[0] - mouth_w, mouth_y - size * 0.01, centre[0] + mouth_w, mouth_y + size * 0.015],
                   fill=(150, 40, 40))
    return image


def make_face_folder(root: str | os.PathLike, people: int = 6, per_person: int = 5,
                     size: int | tuple[int, int] = 250, formats=("jpg",), grayscale_every: int = 0,
                     seed: int = 0) -> Path:
    """Write a folder of per-person synthetic face images and return its path.

    Args:
        size: side of the square images, or ``(width, height)``: the face is
            drawn in the central square and the rest is background.
        formats: file endings used in turn ("jpg", "png", "pgm").
        grayscale_every: if > 0, every n-th image is stored in grayscale.
    """
    width, height = (size, size) if isinstance(size, int) else size
    root = Path(root)
    rng = np.random.default_rng(seed)
    count = 0
    for person in range(people):
        name = f"Person_{person:03d}"
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_person):
            ext = formats[count % len(formats)]
            image = draw_face(rng, min(width, height))
            if (width, height) != image.size:
                # The background colour is that of the corner, which the face never reaches.
                canvas = Image.new("RGB", (width, height), image.getpixel((0, 0)))
                canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
                image = canvas
            if ext == "pgm" or (grayscale_every and count % grayscale_every == grayscale_every - 1):
                image = image.convert("L")
            image.save(folder / f"{name}_{index + 1:04d}.{ext}")
            count += 1
    return root
