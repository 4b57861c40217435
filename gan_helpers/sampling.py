"""Loading saved generators and drawing faces from them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def load_generator(path: str | os.PathLike):
    """A generator from a ``.keras`` file or a run folder (its ``generator.keras``)."""
    from gan_helpers import layers  # noqa: F401  (registers the custom layers)
    from gan_helpers._quiet import import_tensorflow

    import_tensorflow()
    import keras

    path = Path(path)
    if path.is_dir():
        path = path / "generator.keras"
    if not path.exists():
        raise FileNotFoundError(f"No generator at {path}: give a .keras file written by `train`, or its run folder.")
    try:
        model = keras.saving.load_model(path, compile=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path} could not be loaded as a Keras model ({error}).") from error
    if len(model.input_shape) != 2 or len(model.output_shape) != 4:
        raise ValueError(f"{path} is not a generator (input {model.input_shape}, output {model.output_shape}); "
                         "it should map noise vectors to images.")
    return model


#: The generator this repository ships (see pretrained/README.md).
PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained" / "generator.keras"
#: The better of the WGAN port's two variants trained on LFW (same card: pretrained/README.md).
PRETRAINED_WGAN = PRETRAINED.with_name("wgan_generator.keras")


def load_pretrained(path=None):
    """The shipped generator (or the one at ``path``), with a clear error if it is missing."""
    path = Path(path) if path is not None else PRETRAINED
    if not path.exists() and path in (PRETRAINED, PRETRAINED_WGAN):
        raise FileNotFoundError(
            f"The shipped generator {path} is missing; restore it with `git checkout -- pretrained/`, "
            "or train one with `python -m gan_helpers train --minutes 15 --out runs/mine` and pass "
            "--model runs/mine.")
    return load_generator(path)


def demo(path=None, num: int = 64, seed: int = 0, out=None, show: bool = False):
    """Faces from the shipped generator: a grid PNG at ``out`` and, in a notebook, on screen.

    Returns the uint8 images.
    """
    from gan_helpers import plots

    images = generate(load_pretrained(path), num, seed=seed)
    if out is not None:
        plots.save_grid(images, out, columns=min(8, num), upscale=2)
    if show:
        import matplotlib.pyplot as plt

        plots.show_grid(images, columns=min(8, num), title=f"{num} faces from the shipped generator (seed {seed})",
                        scale=1.5)
        plt.show()
    return images


def latent_dim(generator) -> int:
    return int(generator.input_shape[-1])


def noise(generator, num: int, seed: int = 0) -> np.ndarray:
    """Standard normal latent vectors, reproducible from ``seed``."""
    return np.random.default_rng(seed).normal(size=(num, latent_dim(generator))).astype(np.float32)


def generate(generator, num: int, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """uint8 images ``(num, S, S, 3)`` from ``num`` seeded noise vectors (inference mode)."""
    from gan_helpers.plots import as_uint8

    return as_uint8(generator.predict(noise(generator, num, seed), batch_size=batch_size, verbose=0))
