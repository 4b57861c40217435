"""The shipped generators: they load, draw varied faces, and `demo` shows them without a dataset."""

import subprocess
import sys

import numpy as np
import pytest

from gan_helpers import metrics, sampling


# Each shipped file, with the face rate its samples must at least reach (its measured rate on 2,000
# samples is in pretrained/README.md: 0.999 and 0.962; noise gives 0, real LFW faces about 0.99).
SHIPPED = {"gan": (sampling.PRETRAINED, 0.8), "wgan": (sampling.PRETRAINED_WGAN, 0.8)}


@pytest.fixture(scope="module", params=sorted(SHIPPED))
def shipped(request):
    path, min_face_rate = SHIPPED[request.param]
    if not path.exists():
        pytest.fail(f"The shipped generator {path} is missing from the repository.")
    return sampling.load_pretrained(path), min_face_rate


def test_shipped_generator_draws_varied_faces(shipped):
    generator, min_face_rate = shipped
    assert generator.input_shape == (None, 100) and generator.output_shape == (None, 64, 64, 3)
    faces = sampling.generate(generator, 64, seed=0)
    assert faces.dtype == np.uint8 and faces.shape == (64, 64, 64, 3)
    # OpenCV's face detector finds a face in most samples ...
    if min_face_rate is not None:
        assert metrics.face_rate(faces) >= min_face_rate
    # ... and they are not one face over and over (real LFW faces: about 0.21).
    assert metrics.pixel_spread(faces) >= 0.12
    assert metrics.mean_pairwise_distance(faces) >= 0.15
    # The same seed gives the same faces. (Compared at the same batch size: another size may take
    # another CPU kernel, whose rounding can move a pixel by one level.)
    np.testing.assert_array_equal(faces, sampling.generate(generator, 64, seed=0))
    np.testing.assert_allclose(faces[:4].astype(int), sampling.generate(generator, 4, seed=0), atol=1)


def test_a_missing_shipped_generator_says_how_to_restore_it(monkeypatch, tmp_path):
    monkeypatch.setattr(sampling, "PRETRAINED_WGAN", tmp_path / "wgan_generator.keras")
    with pytest.raises(FileNotFoundError, match="git checkout -- pretrained/"):
        sampling.load_pretrained(sampling.PRETRAINED_WGAN)


@pytest.mark.slow
def test_demo_needs_no_dataset(tmp_path):
    env = {"LFW_DIR": str(tmp_path / "nothing-here"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "gan_helpers", "demo", "--out", str(tmp_path / "demo.png")],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "Wrote 64 faces" in result.stdout
