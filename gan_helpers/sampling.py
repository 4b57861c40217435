"""Loading saved generators and drawing faces from them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def check_generator_path(path: str | os.PathLike) -> Path:
    """The ``.keras`` file a generator path names, checked without TensorFlow; a clear error if wrong.

    A run folder stands for its ``generator.keras``. The file must exist,
    end in ``.keras`` and be a complete zip archive (a ``.keras`` file is one).
    """
    import zipfile

    path = Path(path)
    if path.is_dir():
        path = path / "generator.keras"
    if not path.exists():
        raise FileNotFoundError(f"No generator at {path}: give a .keras file written by `train`, or its run folder.")
    if path.suffix != ".keras":
        raise ValueError(f"{path} is not a .keras file; give a generator saved by `train` "
                         "(a run folder's generator.keras) or pretrained/generator.keras.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is damaged or incomplete (not a whole .keras archive, {path.stat().st_size:,} "
                         "bytes); save or copy it again, or use the run's snapshots/ or pretrained/generator.keras.")
    return path


def load_generator(path: str | os.PathLike):
    """A generator from a ``.keras`` file or a run folder (its ``generator.keras``)."""
    path = check_generator_path(path)
    from gan_helpers import layers  # noqa: F401  (registers the custom layers)
    from gan_helpers._quiet import import_tensorflow

    import_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for damaged archives (KeyError, zipfile errors, ...)
        if isinstance(error, (KeyboardInterrupt, MemoryError)):
            raise
        message = " ".join(str(error).split())[:160]
        raise ValueError(f"{path} could not be loaded as a Keras model ({type(error).__name__}: {message}).") from None
    if len(model.input_shape) != 2 or len(model.output_shape) != 4:
        raise ValueError(f"{path} is not a generator (input {model.input_shape}, output {model.output_shape}); "
                         "it should map noise vectors to images.")
    _, height, width, channels = model.output_shape
    if height != width or channels != 3:
        raise ValueError(f"{path} draws {height}x{width} images with {channels} channel(s); the workbook's tools "
                         "take square RGB images (3 channels).")
    return model


def to_images(generator, z, batch_size: int = 256) -> np.ndarray:
    """uint8 images from the noise ``z`` (inference mode); a generator that outputs NaN is refused.

    Outputs outside the models' range [-1, 1] are clipped, with one warning.
    """
    import warnings

    from gan_helpers.plots import as_uint8

    values = np.asarray(generator.predict(z, batch_size=batch_size, verbose=0))
    broken = ~np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if broken.any():
        raise ValueError(f"The generator drew {int(broken.sum())} of {len(values)} images with NaN or infinite "
                         "values: it is broken (a training that diverged?). Use an earlier snapshot, or resume the "
                         "run from its last good checkpoint.")
    low, high = float(values.min()), float(values.max())
    if low < -1.001 or high > 1.001:
        warnings.warn(f"The generator's outputs go from {low:.3g} to {high:.3g}, outside [-1, 1] (a tanh output "
                      "stays inside); they are clipped.", stacklevel=2)
    return as_uint8(values)


#: The generator this repository ships (see pretrained/README.md).
PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained" / "generator.keras"
#: The better of the WGAN port's two variants trained on LFW (same card: pretrained/README.md).
PRETRAINED_WGAN = PRETRAINED.with_name("wgan_generator.keras")


#: Where notebook 03 keeps its main run, from the notebooks' folder: in real mode and in smoke mode.
MAIN_RUNS = {False: Path("runs") / "03_training" / "main", True: Path("runs") / "03_smoke" / "main"}


def notebook_generator(smoke: bool, folder=".") -> Path:
    """The generator notebook 05 explores: the one notebook 03's main run saved (``MAIN_RUNS``, under
    ``folder``), else the shipped one. Prints which, and how to get the other."""
    run = Path(folder) / MAIN_RUNS[bool(smoke)] / "generator.keras"
    shipped = Path(os.path.relpath(PRETRAINED, folder))  # as the notebook's folder sees it, no machine path
    if run.is_file():
        print(f"Exploring your generator: {run} (notebook 03's main run).\n"
              f"To explore the shipped one instead, use {shipped}.")
        return run
    print(f"No generator from notebook 03's main run yet ({run} is missing).\n"
          f"Exploring the shipped one, {shipped}.\n"
          "Run notebook 03's main run, then this notebook again, to explore yours.")
    return PRETRAINED


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
    """uint8 images ``(num, S, S, 3)`` from ``num`` seeded noise vectors (inference mode; :func:`to_images`)."""
    return to_images(generator, noise(generator, num, seed), batch_size=batch_size)


#: How many images the grid of :func:`sample_to_files` shows.
GRID_IMAGES = 64


def sample_to_files(path, num: int, out, seed: int = 0, batch_size: int = 256, progress: bool = True) -> np.ndarray:
    """Write ``num`` images to ``out.npy`` in batches (any ``num`` fits in memory) and a grid to ``out.png``.

    The images are the same as ``generate(generator, num, seed)``: the noise
    is drawn batch by batch from one random stream. The ``.npy`` is written
    atomically, its whole size reserved first, so a full disk is one clear
    error (not a crash halfway) and leaves nothing behind. Returns the grid's
    images (the first :data:`GRID_IMAGES`).
    """
    from gan_helpers.progress import bar as tqdm

    from gan_helpers import files, plots

    generator = load_generator(path)
    rng = np.random.default_rng(seed)
    size = int(generator.output_shape[1])
    out = Path(out)
    target = out.with_name(out.name + ".npy")
    files.remove_stray_temporaries(target.parent)  # leftovers of earlier runs that were killed
    with files.atomic_path(target) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(num, size, size, 3))
        files.reserve(tmp, target)
        with tqdm(total=num, unit="img", desc="sampling", disable=not progress, mininterval=0.5) as bar:
            for start in range(0, num, batch_size):
                count = min(batch_size, num - start)
                z = rng.normal(size=(count, latent_dim(generator))).astype(np.float32)
                array[start:start + count] = to_images(generator, z, batch_size=count)
                bar.update(count)
        array.flush()
        grid = np.array(array[:GRID_IMAGES])
        del array
    plots.save_grid(grid, out.with_name(out.name + ".png"), columns=min(8, num), upscale=2)
    return grid
