"""An interactive latent-space explorer for JupyterLab (ipywidgets).

Sliders move the latent vector along the generator's principal directions
(found once per generator and cached), a button draws a new face, and a
second panel interpolates between two faces, linearly or spherically.

The directions follow GANSpace's idea in its simplest form: generate many
images, find the principal components of the images, and regress each
component's scores on the latent vectors; the regression coefficients are
the latent direction that moves the output most along that component.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np

from gan_helpers import plots, sampling


def slerp(a, b, t: float):
    """Spherical interpolation between latent vectors ``a`` and ``b`` (keeps their norm profile)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def lerp(a, b, t: float):
    """Linear interpolation between latent vectors."""
    return ((1 - t) * np.asarray(a, np.float32) + t * np.asarray(b, np.float32)).astype(np.float32)


def interpolate(a, b, t: float, mode: str = "spherical"):
    if mode not in ("linear", "spherical"):
        raise ValueError(f"mode must be 'linear' or 'spherical'. Received: mode={mode!r}")
    return slerp(a, b, t) if mode == "spherical" else lerp(a, b, t)


def principal_directions(generator, num: int = 8, samples: int = 1024, seed: int = 0,
                         progress: bool = True) -> np.ndarray:
    """``num`` unit latent directions, ordered by how much of the output variance they carry."""
    from gan_helpers.progress import bar as tqdm

    dim = sampling.latent_dim(generator)
    z = np.random.default_rng(seed).normal(size=(samples, dim)).astype(np.float32)
    batches = tqdm(range(0, samples, 256), desc="the sliders' directions (once per generator)", unit="batch",
                   disable=not progress, leave=False)
    images = np.concatenate([np.asarray(generator.predict(z[i:i + 256], batch_size=256, verbose=0), np.float32)
                             for i in batches]).reshape(samples, -1)
    images -= images.mean(axis=0)
    # Principal components of the images, via the small Gram matrix.
    _, _, components = np.linalg.svd(images, full_matrices=False)
    scores = images @ components[:num].T  # (samples, num)
    coefficients, *_ = np.linalg.lstsq(z, scores, rcond=None)  # (dim, num)
    directions = coefficients.T
    return (directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def cached_directions(generator, key: str, num: int = 8, cache_dir=None) -> np.ndarray:
    """:func:`principal_directions`, computed once per generator ``key`` and kept on disk."""
    from gan_helpers.data import default_cache_dir

    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"directions_{hashlib.sha1(f'{key}:{num}'.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        try:
            directions = np.load(path, allow_pickle=False)
            if directions.shape == (num, sampling.latent_dim(generator)):
                return directions
        except (OSError, ValueError):
            pass
    directions = principal_directions(generator, num)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        from gan_helpers import files

        with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, directions, allow_pickle=False)
    except OSError:
        pass
    return directions


def _png(image: np.ndarray, upscale: int) -> bytes:
    from PIL import Image

    picture = Image.fromarray(image)
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _explorer_box(widgets):
    """An ``HBox`` whose text form (what a notebook shows where the widget cannot be drawn, e.g. a saved
    notebook opened without a kernel) says what it is instead of listing its children."""

    class ExplorerBox(widgets.HBox):
        def __repr__(self):
            return "[The latent explorer: run the cell to use its sliders. A still picture of its face is below.]"

    return ExplorerBox


class LatentExplorer:
    """Sliders over a generator's latent space.

    Args:
        model: a generator ``.keras`` file or run folder; ``None`` uses the shipped one.
        num_directions: how many principal-direction sliders.
        seed: the first face.
        upscale: how much larger than the generator's output the face is shown.

    ``explorer.widget`` is the ipywidgets box to display; ``explorer.latent``
    the current latent vector and ``explorer.image`` the face shown (uint8).
    """

    def __init__(self, model=None, num_directions: int = 6, seed: int = 0, upscale: int = 4, strength: float = 3.0):
        import ipywidgets as widgets

        from gan_helpers._quiet import import_tensorflow

        tf = import_tensorflow()
        path = Path(model) if model is not None else sampling.PRETRAINED
        self.generator = sampling.load_pretrained(path) if model is None else sampling.load_generator(path)
        generator_file = path / "generator.keras" if path.is_dir() else path
        key = f"{generator_file.resolve()}:{generator_file.stat().st_mtime_ns}"
        self.directions = cached_directions(self.generator, key, num_directions)
        self.dim = sampling.latent_dim(self.generator)
        self.rng = np.random.default_rng(seed)
        self.upscale = upscale
        self._render_fn = tf.function(lambda z: self.generator(z, training=False))
        self.base = self._new_vector()
        self.other = self._new_vector()
        self.render_ms: list[float] = []

        wide = {"layout": widgets.Layout(width="460px"), "style": {"description_width": "90px"}}
        self.sliders = [widgets.FloatSlider(value=0.0, min=-strength, max=strength, step=0.1,
                                            description=f"direction {i + 1}", continuous_update=False,
                                            readout_format=".1f", **wide) for i in range(num_directions)]
        self.new_face = widgets.Button(description="new face", icon="refresh")
        self.new_target = widgets.Button(description="new second face")
        self.mix = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="to 2nd face",
                                       continuous_update=False, **wide)
        self.mode = widgets.ToggleButtons(options=["spherical", "linear"], value="spherical", description="path")
        self.reset = widgets.Button(description="reset sliders")
        side = f"{int(self.generator.output_shape[1]) * upscale}px"
        self.picture = widgets.Image(format="png", layout=widgets.Layout(width=side, height=side, min_width=side))
        self.status = widgets.HTML()
        for control in [*self.sliders, self.mix, self.mode]:
            control.observe(self._changed, names="value")
        self.new_face.on_click(lambda _: self._replace("base"))
        self.new_target.on_click(lambda _: self._replace("other"))
        self.reset.on_click(self._reset)
        controls = widgets.VBox([widgets.HTML("<b>Principal directions</b>"), *self.sliders,
                                 widgets.HBox([self.new_face, self.reset]),
                                 widgets.HTML("<b>Interpolation</b>"), self.mix, self.mode, self.new_target,
                                 self.status])
        self.widget = _explorer_box(widgets)([self.picture, controls], layout=widgets.Layout(align_items="flex-start"))
        self.update()

    def show(self):
        """Show the explorer, and under it a still picture of its face until the browser draws the widget.

        The still picture is what a saved notebook (or one run without a browser, as nbval runs it) shows where
        the sliders need a running kernel; while the browser loads the widget it shows that something is
        coming. Once the widget's first view appears (ipywidgets counts views), the picture is removed, so a
        student sees one face, the live one.
        """
        from IPython.display import display

        self.widget._view_count = 0
        display(self.widget)
        still = display(self.preview(), display_id=True)

        def drawn(change):
            if change["new"]:
                still.update({"text/plain": ""}, raw=True)
                self.widget.unobserve(drawn, names="_view_count")

        self.widget.observe(drawn, names="_view_count")

    def preview(self):
        """The face shown now, as a still picture (``IPython.display.Image``): what a reader of a saved
        notebook sees where the sliders need a running kernel."""
        from IPython.display import Image

        return Image(data=_png(self.image, self.upscale), format="png")

    # -- state ------------------------------------------------------------------

    def _new_vector(self):
        return self.rng.normal(size=self.dim).astype(np.float32)

    @property
    def latent(self) -> np.ndarray:
        """The latent vector shown now: the interpolated face plus the slider offsets."""
        z = interpolate(self.base, self.other, self.mix.value, self.mode.value) if self.mix.value else self.base
        offsets = np.array([s.value for s in self.sliders], np.float32)
        return (z + offsets @ self.directions).astype(np.float32)

    def render(self, latent) -> np.ndarray:
        return plots.as_uint8(np.asarray(self._render_fn(np.asarray(latent, np.float32)[None]))[0])

    def update(self):
        start = time.perf_counter()
        self.image = self.render(self.latent)
        self.picture.value = _png(self.image, self.upscale)
        elapsed = 1e3 * (time.perf_counter() - start)
        self.render_ms.append(elapsed)
        self.status.value = f"<small>rendered in {elapsed:.0f} ms</small>"

    def _changed(self, change):
        self.update()

    def _replace(self, which):
        setattr(self, which, self._new_vector())
        self.update()

    def _reset(self, _=None):
        for slider in self.sliders:
            slider.unobserve(self._changed, names="value")
            slider.value = 0.0
            slider.observe(self._changed, names="value")
        self.update()

    def strip(self, steps: int = 8, mode: str = "spherical", slider: int | None = None, span: float = 3.0):
        """uint8 images along an interpolation (base -> other) or along one slider's direction."""
        if slider is None:
            latents = [interpolate(self.base, self.other, t, mode) for t in np.linspace(0, 1, steps)]
        else:
            latents = [self.base + a * self.directions[slider] for a in np.linspace(-span, span, steps)]
        return np.stack([self.render(z) for z in latents])

    def _ipython_display_(self):
        self.show()


def explore(model=None, **kwargs) -> LatentExplorer:
    """Build an explorer and show it (in a notebook)."""
    explorer = LatentExplorer(model, **kwargs)
    explorer.show()
    return explorer
