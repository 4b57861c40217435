"""The shipped generator: it loads, draws varied faces, and `demo` shows them without a dataset."""

import subprocess
import sys

import numpy as np
import pytest

from gan_helpers import metrics, sampling


@pytest.fixture(scope="module")
def shipped():
    if not sampling.PRETRAINED.exists():
        pytest.fail(f"The shipped generator {sampling.PRETRAINED} is missing from the repository.")
    return sampling.load_pretrained()


def test_shipped_generator_draws_varied_faces(shipped):
    assert shipped.input_shape == (None, 100) and shipped.output_shape == (None, 64, 64, 3)
    faces = sampling.generate(shipped, 64, seed=0)
    assert faces.dtype == np.uint8 and faces.shape == (64, 64, 64, 3)
    # OpenCV's face detector finds a face in most samples (noise gives 0, real LFW about 0.99) ...
    assert metrics.face_rate(faces) >= 0.8
    # ... and they are not one face over and over (real LFW faces: about 0.21).
    assert metrics.pixel_spread(faces) >= 0.12
    assert metrics.mean_pairwise_distance(faces) >= 0.15
    # The same seed gives the same faces.
    np.testing.assert_array_equal(faces[:4], sampling.generate(shipped, 4, seed=0))


def test_demo_needs_no_dataset(tmp_path):
    env = {"LFW_DIR": str(tmp_path / "nothing-here"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "gan_helpers", "demo", "--out", str(tmp_path / "demo.png")],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "Wrote 64 faces" in result.stdout
