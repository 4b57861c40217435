"""Shared fixtures: small image folders the tests build themselves, and LFW when present."""

import os
from pathlib import Path

import pytest

from gan_helpers.synthetic import make_face_folder

LFW_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "lfw-deepfunneled"


@pytest.fixture
def face_folder(tmp_path):
    """Six people, five 250x250 images each, in JPEG, PNG and PGM, some grayscale."""
    return make_face_folder(tmp_path / "faces", people=6, per_person=5, formats=("jpg", "png", "pgm"),
                            grayscale_every=4)


@pytest.fixture(scope="session")
def faces_dir(tmp_path_factory):
    """Eight synthetic people, twelve 96x96 JPEGs each: enough for small trainings and a person split."""
    return make_face_folder(tmp_path_factory.mktemp("f") / "faces", people=8, per_person=12, size=96)


@pytest.fixture(scope="session")
def drawn(faces_dir, tmp_path_factory):
    """:func:`faces_dir`'s faces, loaded at 32x32 (uint8)."""
    from gan_helpers import data

    return data.load_faces(faces_dir, 32, crop=0, cache_dir=tmp_path_factory.mktemp("c"), progress=False)


@pytest.fixture
def cli_env(tmp_path):
    """Environment for a command-line run: its own cache folder."""
    return {"GAN_CACHE_DIR": str(tmp_path / "cache")}


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def lfw_dir():
    """The real LFW folder, or a skip that says how to provide it."""
    path = Path(os.environ.get("LFW_DIR", LFW_DEFAULT))
    if not path.is_dir():
        pytest.skip(f"LFW not found at {path}: set LFW_DIR to the lfw-deepfunneled folder to run this test")
    return path
