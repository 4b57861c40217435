"""The latent explorer without a browser: sliders change the latent vector and the face shown."""

import io

import numpy as np
import pytest
from PIL import Image

from gan_helpers import explorer, models


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    g = models.build_generator(latent_dim=12, image_size=32, widths=(16, 8))
    path = tmp_path_factory.mktemp("g") / "generator.keras"
    g.save(path)
    return path


@pytest.fixture
def ui(generator_file, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    return explorer.LatentExplorer(generator_file, num_directions=3, seed=1, upscale=2)


def shown(ui):
    return np.asarray(Image.open(io.BytesIO(ui.picture.value)).convert("RGB"))


def test_slider_moves_the_latent_along_its_direction_and_changes_the_face(ui):
    before_latent, before_image = ui.latent.copy(), ui.image.copy()
    ui.sliders[1].value = 2.0
    np.testing.assert_allclose(ui.latent - before_latent, 2.0 * ui.directions[1], atol=1e-5)
    assert not np.array_equal(ui.image, before_image)
    expected = explorer.plots.as_uint8(np.asarray(ui.generator(ui.latent[None], training=False))[0])
    np.testing.assert_array_equal(ui.image, expected)
    # The picture widget shows that image, enlarged 2x.
    np.testing.assert_array_equal(shown(ui)[::2, ::2], expected)


def test_new_face_button_and_interpolation(ui):
    first = ui.latent.copy()
    ui.new_face.click()
    assert not np.allclose(ui.latent, first)
    ui.mix.value = 1.0
    np.testing.assert_allclose(ui.latent, ui.other, atol=1e-5)
    ui.mode.value = "linear"
    ui.mix.value = 0.5
    np.testing.assert_allclose(ui.latent, 0.5 * (ui.base + ui.other), atol=1e-5)


def test_directions_are_unit_vectors_ordered_and_cached(ui, generator_file, tmp_path):
    assert ui.directions.shape == (3, 12)
    np.testing.assert_allclose(np.linalg.norm(ui.directions, axis=1), 1, atol=1e-5)
    assert list(tmp_path.glob("directions_*.npy"))
    again = explorer.LatentExplorer(generator_file, num_directions=3, seed=1)
    np.testing.assert_array_equal(again.directions, ui.directions)


def test_slerp_and_lerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(explorer.slerp(a, b, 0.5), [np.sqrt(0.5)] * 2, atol=1e-6)
    np.testing.assert_allclose(explorer.lerp(a, b, 0.25), [0.75, 0.25])
    np.testing.assert_allclose(explorer.slerp(a, a, 0.3), a)
    with pytest.raises(ValueError, match="mode"):
        explorer.interpolate(a, b, 0.5, "cubic")


def test_strip_shapes(ui):
    assert ui.strip(steps=5).shape == (5, 32, 32, 3)
    assert ui.strip(steps=4, slider=0).shape == (4, 32, 32, 3)


def test_the_still_preview_is_the_face_shown_and_the_sliders_are_wide(ui):
    import io

    from PIL import Image

    picture = np.asarray(Image.open(io.BytesIO(ui.preview().data)))
    assert picture.shape == (32 * ui.upscale, 32 * ui.upscale, 3)
    np.testing.assert_array_equal(picture[::ui.upscale, ::ui.upscale], ui.image)
    assert all(s.layout.width == "460px" for s in [*ui.sliders, ui.mix])
    # A saved notebook opened without a kernel shows the widget's text form: a sentence, not its children.
    text = ui.widget._repr_mimebundle_()["text/plain"]
    assert text.startswith("[The latent explorer") and "children" not in text


def test_the_still_face_goes_once_the_browser_draws_the_widget(ui, monkeypatch):
    """One face at a time: the still picture stands in until the widget's first view, then it is removed."""
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, obj, raw=False):
            updates.append(obj)

    def display(obj, display_id=False, **kwargs):
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    ui.show()
    assert shown[0] is ui.widget and isinstance(shown[1], IPython.display.Image) and updates == []
    ui.widget._view_count = 1  # what the browser reports when it has drawn the widget
    assert updates == [{"text/plain": ""}]
    ui.widget._view_count = 2  # later views (a second browser tab) change nothing more
    assert len(updates) == 1
