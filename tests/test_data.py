"""The data pipeline: finding, decoding, caching, splitting and batching faces."""

import os
import tarfile
import warnings

import numpy as np
import pytest
from PIL import Image

from gan_helpers import data


def snapshot(folder):
    """Every file below ``folder`` with its size and modification time."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_load_faces_shapes_colour_and_people(face_folder, cache_dir):
    faces = data.load_dataset(face_folder, image_size=32, cache_dir=cache_dir, progress=False)
    assert faces.images.shape == (30, 32, 32, 3)
    assert faces.images.dtype == np.uint8
    assert faces.num_people == 6
    assert sorted(set(faces.people)) == [f"Person_{i:03d}" for i in range(6)]
    # Grayscale sources (PGM, and every fourth image) come out as RGB with three equal channels.
    gray = [i for i, f in enumerate(faces.files) if f.endswith(".pgm")]
    assert gray and all(np.array_equal(faces.images[i, ..., 0], faces.images[i, ..., 2]) for i in gray)
    assert not faces.skipped


def test_preprocess_matches_plain_pil_crop_and_resize(face_folder):
    """Draft-mode decoding must stay close to decoding in full, cropping and resizing."""
    path = next(face_folder.rglob("*.jpg"))
    with Image.open(path) as image:
        fast = data.preprocess_image(image, 64, 50).astype(float)
    reference = np.asarray(Image.open(path).convert("RGB").crop((50, 50, 200, 200))
                           .resize((64, 64), Image.Resampling.BICUBIC)).astype(float)
    assert fast.shape == reference.shape == (64, 64, 3)
    assert np.abs(fast - reference).mean() < 4.0  # out of 255


def test_crop_box_and_bad_crop():
    assert data.crop_box(250, 250, 50) == (50, 50, 200, 200)
    assert data.crop_box(300, 200, 0) == (50, 0, 250, 200)  # central square of a wide image
    with pytest.raises(ValueError, match="crop"):
        data.crop_box(250, 250, 122)


def test_a_crop_that_leaves_nothing_is_one_clear_error_not_thirty_skipped_files(face_folder, cache_dir):
    with pytest.raises(data.CropTooLarge, match=r"crop=122 px .* use a smaller crop"):
        data.load_dataset(face_folder, image_size=32, crop=122, cache_dir=cache_dir, progress=False)
    assert not cache_dir.exists() or not any(cache_dir.iterdir())  # nothing half-written
    # A crop that fits still loads every file.
    assert len(data.load_dataset(face_folder, image_size=32, crop=100, cache_dir=cache_dir, progress=False).images) == 30


def test_every_even_size_from_16_to_128_and_bad_sizes(face_folder, cache_dir):
    for size in (16, 40, 128):
        assert data.load_faces(face_folder, size, cache_dir=cache_dir, limit=2, progress=False).shape == (2, size, size, 3)
    for bad in (15, 17, 130, 8, "64"):
        with pytest.raises(ValueError, match="image_size"):
            data.load_faces(face_folder, bad, cache_dir=cache_dir)


def test_cache_is_reused_rebuilt_when_stale_and_when_corrupt(face_folder, cache_dir):
    first = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert not first.from_cache
    second = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert second.from_cache and np.array_equal(first.images, second.images)
    assert second.files == first.files and list(second.people) == list(first.people)
    # A new image makes the cache stale: the new key misses and the image appears.
    newest = face_folder / "Person_999"
    newest.mkdir()
    Image.new("RGB", (250, 250), (10, 200, 10)).save(newest / "Person_999_0001.png")
    third = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert not third.from_cache and len(third) == 31
    # A corrupt cache file is detected, warned about and rebuilt.
    npy = sorted(cache_dir.glob("*.npy"), key=os.path.getmtime)[-1]
    npy.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="rebuilding"):
        fourth = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert not fourth.from_cache and np.array_equal(fourth.images, third.images)
    assert np.load(npy, allow_pickle=False).shape == (31, 32, 32, 3)
    assert not list(cache_dir.glob(".*tmp"))  # no temporary files left behind


def test_unreadable_images_are_skipped_counted_and_named_once(face_folder, cache_dir):
    before = snapshot(face_folder)
    jpg = next(face_folder.rglob("*.jpg"))
    truncated = jpg.with_name("Truncated_0001.jpg")
    truncated.write_bytes(jpg.read_bytes()[:400])
    (jpg.parent / "Broken_0001.png").write_bytes(b"not an image")
    (jpg.parent / "notes.txt").write_text("not an image, ignored")
    (face_folder / "README.md").write_text("ignored too")
    before = snapshot(face_folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        faces = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    messages = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    assert len(messages) == 1 and "Skipped 2 unreadable" in messages[0]
    assert "Truncated_0001.jpg" in messages[0] and "Broken_0001.png" in messages[0]
    assert len(faces) == 30 and len(faces.skipped) == 2
    assert snapshot(face_folder) == before  # the source folder is never modified


def test_missing_and_empty_folders_name_the_path_and_the_fix(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(data.DatasetNotFoundError, match="nowhere.*download"):
        data.load_faces(missing)
    empty = tmp_path / "empty"
    (empty / "Somebody").mkdir(parents=True)
    (empty / "Somebody" / "readme.txt").write_text("no images here")
    with pytest.raises(data.DatasetNotFoundError, match="holds no images.*LFW_DIR"):
        data.load_faces(empty)


def test_find_data_dir_order(tmp_path, monkeypatch, face_folder):
    monkeypatch.setattr(data, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    with pytest.raises(data.DatasetNotFoundError, match="LFW_DIR"):
        data.find_data_dir()
    default = tmp_path / "data" / "lfw"
    default.mkdir(parents=True)
    assert data.find_data_dir() == tmp_path / "data" / "lfw"
    (tmp_path / "data" / "lfw-deepfunneled").mkdir()
    assert data.find_data_dir() == tmp_path / "data" / "lfw-deepfunneled"
    monkeypatch.setenv(data.ENV_VAR, str(face_folder))
    assert data.find_data_dir() == face_folder
    assert data.find_data_dir(default) == default  # the explicit argument wins
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(data.DatasetNotFoundError, match="typo.*LFW_DIR"):
        data.find_data_dir()


def test_tgz_archive_reads_like_the_folder(face_folder, cache_dir, tmp_path):
    archive = tmp_path / "faces.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(face_folder, arcname="lfw-deepfunneled")
    from_folder = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    from_archive = data.load_dataset(archive, 32, cache_dir=cache_dir, progress=False)
    assert np.array_equal(from_folder.images, from_archive.images)
    assert list(from_folder.people) == list(from_archive.people)


def test_split_by_person_keeps_people_apart():
    rng = np.random.default_rng(0)
    people = np.array([f"p{rng.integers(0, 300)}" for _ in range(3000)])
    train, val = data.split_by_person(people, validation_fraction=0.1, seed=3)
    assert len(train) + len(val) == len(people)
    assert not set(people[train]) & set(people[val])
    assert 280 <= len(val) <= 300  # close to 10% without overshooting
    again, _ = data.split_by_person(people, validation_fraction=0.1, seed=3)
    assert np.array_equal(train, again)
    with pytest.raises(ValueError, match="validation_fraction"):
        data.split_by_person(people, validation_fraction=1.5)


def test_train_and_holdout_is_the_split_by_person_of_the_loaded_faces(face_folder, cache_dir):
    faces = data.load_dataset(face_folder, 32, crop=0, cache_dir=cache_dir, progress=False)
    train, holdout = data.train_and_holdout(face_folder, 32, crop=0, cache_dir=cache_dir, progress=False)
    train_idx, holdout_idx = data.split_by_person(faces.people, validation_fraction=0.2, seed=0)
    np.testing.assert_array_equal(train, faces.images[train_idx])
    np.testing.assert_array_equal(holdout, faces.images[holdout_idx])
    assert set(faces.people[train_idx]).isdisjoint(faces.people[holdout_idx])
    assert len(holdout) == pytest.approx(0.2 * len(faces.images), abs=max(np.unique(faces.people,
                                                                                    return_counts=True)[1]))
    _, first = data.train_and_holdout(face_folder, 32, crop=0, cache_dir=cache_dir, num_holdout=5, progress=False)
    np.testing.assert_array_equal(first, holdout[:5])


def test_tf_data_pipeline_scales_shuffles_and_covers_every_image():
    images = np.arange(10 * 4 * 4 * 3, dtype=np.int64).reshape(10, 4, 4, 3) % 256
    images = images.astype(np.uint8)
    images[:, 0, 0, 0] = np.arange(10)  # a tag per image
    batches = list(data.make_dataset(images, batch_size=5, seed=1))
    assert len(batches) == 2 and batches[0].shape == (5, 4, 4, 3)
    stacked = np.concatenate([b.numpy() for b in batches])
    assert stacked.min() >= -1.0 and stacked.max() <= 1.0
    np.testing.assert_allclose(sorted(stacked.reshape(10, -1).tolist()),
                               sorted((images.reshape(10, -1) / 127.5 - 1).tolist()), atol=1e-6)
    order = np.round((stacked[:, 0, 0, 0] + 1) * 127.5).astype(int)
    assert sorted(order) == list(range(10)) and list(order) != list(range(10))


def test_fewer_images_than_one_batch_is_a_clear_error():
    with pytest.raises(data.NotEnoughImagesError, match="fewer than one batch of 64"):
        data.make_dataset(np.zeros((10, 8, 8, 3), np.uint8), batch_size=64)


def test_lfw_has_13233_images_of_5749_people(lfw_dir, tmp_path):
    files = data.list_images(lfw_dir)
    assert len(files) == 13233
    assert len({f.person for f in files}) == 5749
    faces = data.load_dataset(lfw_dir, 32, cache_dir=tmp_path, limit=200, progress=False)
    assert faces.images.shape == (200, 32, 32, 3)
    # A face crop: mean brightness is in a plausible range, not black or white.
    assert 60 < faces.images.mean() < 190
