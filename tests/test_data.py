"""The data pipeline: finding, decoding, caching, splitting and batching faces."""

import argparse
import json
import os
import re
import struct
import tarfile
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_helpers import data
from gan_helpers.synthetic import make_face_folder


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
    # A fraction is of the shorter side: 0.2 of 250 is the blog's 50 px, 0.2 of 92 is round(18.4) = 18 px.
    assert data.crop_box(250, 250, 0.2) == (50, 50, 200, 200)
    assert data.crop_box(92, 112, 0.2) == (18, 28, 74, 84)
    assert data.crop_box(92, 112, 0.0) == (0, 10, 92, 102)
    with pytest.raises(data.CropTooLarge, match=r"crop=0\.49 \(122 px\) from every side leaves 6 px"):
        data.crop_box(250, 250, 0.49)


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
    # The default crop, 0.2 of the side, is the blog's 50 px of LFW's 250x250 images, byte for byte.
    pixels = data.load_dataset(lfw_dir, 32, crop=50, cache_dir=tmp_path, limit=200, progress=False)
    assert not pixels.from_cache and np.array_equal(faces.images, pixels.images)


# ----------------------------------------------------------------------------
# Faults: 16-bit images, damaged caches, crops as fractions, symlink loops,
# the list of skipped files, settings checked first, cache writes that fail.


def write_png16(path, values):
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit colour): gray (H, W) or RGB (H, W, 3)."""
    values = np.asarray(values, np.uint16)
    height, width = values.shape[:2]
    colour_type = 0 if values.ndim == 2 else 2
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in values)

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_16_bit_gray_and_colour_images_keep_their_high_byte(tmp_path):
    rng = np.random.default_rng(0)
    gray, gray_pgm = (rng.integers(0, 65536, (32, 32)).astype(np.uint16) for _ in range(2))
    colour = rng.integers(0, 65536, (32, 32, 3)).astype(np.uint16)
    root = tmp_path / "faces16"
    for person in ("Gray", "Colour", "Netpbm"):
        (root / person).mkdir(parents=True)
    Image.fromarray(gray).save(root / "Gray" / "Gray_0001.png")  # Pillow writes 16-bit gray itself
    with Image.open(root / "Gray" / "Gray_0001.png") as image:
        assert image.mode.startswith("I")  # really 16 bits on disk, not reduced on the way
    write_png16(root / "Colour" / "Colour_0001.png", colour)
    (root / "Netpbm" / "Netpbm_0001.pgm").write_bytes(b"P5\n32 32\n65535\n" + gray_pgm.astype(">u2").tobytes())
    expected = {"Gray/Gray_0001.png": np.repeat((gray >> 8)[..., None], 3, axis=2),
                "Colour/Colour_0001.png": colour >> 8,
                "Netpbm/Netpbm_0001.pgm": np.repeat((gray_pgm >> 8)[..., None], 3, axis=2)}
    # crop=0 at the stored size: the pipeline's output is exactly the stored pixels, as 8 bits.
    faces = data.load_dataset(root, 32, crop=0, use_cache=False, progress=False)
    assert not faces.skipped and len(faces) == 3
    for i, rel in enumerate(faces.files):
        assert 10 < faces.images[i].mean() < 245  # not a solid white (or black) image
        np.testing.assert_array_equal(faces.images[i], expected[rel].astype(np.uint8), err_msg=rel)
        np.testing.assert_array_equal(data.read_image(root, rel), expected[rel].astype(np.uint8), err_msg=rel)


def damage_npy_empty(npy, meta):
    npy.write_bytes(b"")


def damage_npy_truncated(npy, meta):
    npy.write_bytes(npy.read_bytes()[:-100])


def damage_json_empty(npy, meta):
    meta.write_bytes(b"")


def damage_json_garbled(npy, meta):
    meta.write_bytes(b"\xff\xfe{not json")


def damage_json_bad_skipped_list(npy, meta):
    description = json.loads(meta.read_text())
    description["skipped"] = 5
    meta.write_text(json.dumps(description))


@pytest.mark.parametrize("damage", [damage_npy_empty, damage_npy_truncated, damage_json_empty,
                                    damage_json_garbled, damage_json_bad_skipped_list])
def test_a_damaged_cache_is_rebuilt_with_a_warning(face_folder, cache_dir, damage):
    first = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    [npy], [meta] = cache_dir.glob("*.npy"), cache_dir.glob("*.json")
    damage(npy, meta)
    with pytest.warns(UserWarning, match="unreadable or stale.*rebuilding it"):
        rebuilt = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert not rebuilt.from_cache and np.array_equal(rebuilt.images, first.images)
    # The rebuilt cache is whole again and used from then on.
    again = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert again.from_cache and np.array_equal(again.images, first.images) and again.skipped == []


def test_the_default_crop_is_the_fraction_0_2_which_on_lfw_sizes_is_the_blogs_50_px(face_folder, cache_dir):
    assert data.DEFAULT_CROP == 0.2 and isinstance(data.DEFAULT_CROP, float)
    default = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    fraction = data.load_dataset(face_folder, 32, crop=0.2, cache_dir=cache_dir, progress=False)
    pixels = data.load_dataset(face_folder, 32, crop=50, cache_dir=cache_dir, progress=False)
    assert fraction.from_cache  # the same setting as the default
    assert not pixels.from_cache  # a fraction and pixels never share a cache
    assert np.array_equal(default.images, pixels.images)  # byte-identical on 250x250 images
    assert sorted(p.name.split("_")[2] for p in cache_dir.glob("*.npy")) == ["crop0.2", "crop50px"]


def test_faces_of_any_size_load_with_default_settings(tmp_path, monkeypatch):
    """92x112 grayscale PGM faces (the size of the AT&T / ORL set) were refused: crop 50 px of 92."""
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    folder = make_face_folder(tmp_path / "orl", people=4, per_person=3, size=(92, 112), formats=("pgm",))
    with Image.open(next(folder.rglob("*.pgm"))) as image:
        assert image.size == (92, 112) and image.mode == "L"
    images = data.load_faces(folder, image_size=32)
    assert images.shape == (12, 32, 32, 3)
    assert np.array_equal(images[..., 0], images[..., 2])  # gray stays gray
    # The default crop is 0.2 of the shorter side: 18 px of 92, the same as giving 18 px.
    assert np.array_equal(images, data.load_faces(folder, 32, crop=18, use_cache=False, progress=False))


def test_check_crop_tells_fractions_from_pixels_and_refuses_the_rest():
    for crop, expected in ((0, 0), (50, 50), (0.2, 0.2), (0.0, 0.0), (np.int64(3), 3), (np.float64(0.25), 0.25)):
        checked = data.check_crop(crop)
        assert checked == expected and type(checked) is type(expected), crop
    for bad, message in ((-5, r"crop must be .*Received: crop=-5$"),
                         (0.5, r"Received: crop=0\.5$"),
                         (-0.1, r"Received: crop=-0\.1$"),
                         (50.0, r"For 50 pixels give the int 50\. Received: crop=50\.0$"),
                         (float("nan"), r"Received: crop=nan$"),
                         (True, r"Received: crop=True of type bool"),
                         ("0.2", r"Received: crop='0\.2' of type str"),
                         (None, r"Received: crop=None")):
        with pytest.raises(ValueError, match=message):
            data.check_crop(bad)


def test_parse_crop_reads_the_command_line():
    assert [(v, type(v)) for v in map(data.parse_crop, ("0.2", ".25", "0.0", "1e-1", "50", " 18 ", "0"))] == [
        (0.2, float), (0.25, float), (0.0, float), (0.1, float), (50, int), (18, int), (0, int)]
    for bad in ("-5", "0.5", "50.0", "2e1", "abc", "", "nan", "0x10"):
        with pytest.raises(ValueError, match=r"^--crop must be .*Received: --crop"):
            data.parse_crop(bad)
    # Used as an argparse type, the message reaches the user instead of "invalid parse_crop value".
    parser = argparse.ArgumentParser()
    parser.add_argument("--crop", type=data.parse_crop, default=data.DEFAULT_CROP)
    assert parser.parse_args(["--crop", "50"]).crop == 50 and parser.parse_args([]).crop == 0.2
    parser.exit_on_error = False
    with pytest.raises(argparse.ArgumentError, match=r"For 50 pixels write --crop 50"):
        parser.parse_args(["--crop", "50.0"])


def test_settings_are_checked_before_any_file_is_looked_at(face_folder, cache_dir, monkeypatch):
    assert data._check_image_size is data.check_image_size  # the old name still works
    with pytest.raises(ValueError, match=r"^image_size must be an even integer from 16 to 128\. "
                                         r"Received: image_size=1024$"):
        data.check_image_size(1024)

    def must_not_run(*args, **kwargs):
        pytest.fail("a file was listed or decoded before the settings were checked")

    monkeypatch.setattr(data, "list_images", must_not_run)
    monkeypatch.setattr(data, "_decode_all", must_not_run)
    # A wrong size is reported even for a folder that does not exist: it is the first thing checked.
    with pytest.raises(ValueError, match=r"image_size must be .*Received: image_size=1024"):
        data.load_dataset(face_folder.parent / "nowhere", image_size=1024, cache_dir=cache_dir)
    # A wrong crop is one clear error, not thirty skipped files and "none could be read".
    for bad, message in ((-5, r"crop must be .*Received: crop=-5$"), (0.5, r"Received: crop=0\.5$"),
                         (True, "Received: crop=True")):
        with pytest.raises(ValueError, match=message):
            data.load_dataset(face_folder, 32, crop=bad, cache_dir=cache_dir)
    assert not cache_dir.exists()


@pytest.mark.parametrize("make_loop", ["file_to_itself", "folder_to_itself", "folder_to_its_parent"])
def test_a_symlink_loop_is_skipped_with_a_warning_and_the_rest_loads(face_folder, cache_dir, make_loop):
    person = face_folder / "Person_002"
    link = {"file_to_itself": person / "Loop_0001.jpg", "folder_to_itself": person / "Loop",
            "folder_to_its_parent": person / "Up"}[make_loop]
    os.symlink(".." if make_loop == "folder_to_its_parent" else link.name, link)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        faces = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert len(faces) == 30 and not faces.skipped  # every image once, none through the loop
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and str(link) in messages[0] and "symbolic link loop" in messages[0]


def test_every_skipped_file_is_listed_next_to_the_cache(face_folder, cache_dir):
    broken = []
    for i in range(7):
        path = face_folder / f"Person_{i % 6:03d}" / f"Broken_{i:04d}.png"
        path.write_bytes(b"not an image %d" % i)
        broken.append(path.relative_to(face_folder).as_posix())
    with pytest.warns(UserWarning, match=r"Skipped 7 unreadable") as caught:
        faces = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert len(faces) == 30 and sorted(path for path, _ in faces.skipped) == sorted(broken)
    [message] = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    listed = re.search(r"The full list with the reasons is in (\S+\.skipped\.txt)\.", message)
    assert listed, message
    listing = Path(listed.group(1))
    assert listing.parent == cache_dir and listing.name.endswith(".skipped.txt")
    lines = [line.split("\t") for line in listing.read_text().splitlines() if not line.startswith("#")]
    assert sorted(path for path, _ in lines) == sorted(broken)
    assert all(reason.startswith("UnidentifiedImageError") for _, reason in lines)
    # Without the cache nothing is written beside it: the list goes to the temporary folder, which the warning
    # names (a user of the command line has no Faces object to look in).
    elsewhere = cache_dir.parent / "no-cache"
    with pytest.warns(UserWarning, match=r"Skipped 7 ") as caught:
        data.load_dataset(face_folder, 32, cache_dir=elsewhere, use_cache=False, progress=False)
    assert not elsewhere.exists()
    [message] = [str(w.message) for w in caught if "Skipped" in str(w.message)]
    listing = Path(re.search(r"The full list with the reasons is in (\S+\.txt)\.", message).group(1))
    assert listing.parent == Path(tempfile.gettempdir()) and "Faces.skipped" not in message
    assert sum(not line.startswith("#") for line in listing.read_text().splitlines()) == 7
    listing.unlink()


def test_a_dataset_folder_whose_path_is_not_utf8_is_one_error(face_folder, tmp_path):
    import shutil

    folder = Path(os.fsdecode(bytes(tmp_path) + b"/faces-\xe9"))
    shutil.copytree(face_folder, folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"faces-\\xe9 has a path that is not valid UTF-8.*rename the folder"):
            data.list_images(folder)
    assert not caught  # not a warning for every person folder


def test_a_folder_that_cannot_be_read_is_called_a_permission_problem(face_folder, monkeypatch):
    locked = face_folder / "Person_003"
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.warns(UserWarning, match=r"Person_003 while listing.*Permission denied.*permission to read") as caught:
        files = data.list_images(face_folder)
    assert "link" not in str(caught[0].message) and len(files) == 25


def test_a_huge_image_is_named_in_the_warning(face_folder, monkeypatch):
    from PIL import Image

    from gan_helpers import images

    relpath = next(face_folder.rglob("*.jpg")).relative_to(face_folder).as_posix()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40_000)  # the test's 250x250 faces are over it, not twice
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning, module="PIL.Image")
        array, error = images.load_one(lambda rel: face_folder / rel, relpath, 32, 0.2)
    assert error is None and array.shape == (32, 32, 3)
    assert [str(w.message).split(" is ")[0] for w in caught] == [relpath]


def test_a_cache_write_that_fails_midway_leaves_no_temporary_or_partial_files(face_folder, cache_dir, monkeypatch):
    def full_disk(file, *args, **kwargs):
        file.write(b"\x93NUMPY half an array")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full_disk)
    with pytest.warns(UserWarning, match="Could not write the cache.*No space left"):
        faces = data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False)
    assert len(faces) == 30
    assert [p.name for p in cache_dir.iterdir()] == []  # no .tmp, no array, no description
    monkeypatch.undo()
    assert not data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False).from_cache
    assert data.load_dataset(face_folder, 32, cache_dir=cache_dir, progress=False).from_cache


def test_a_damaged_archive_is_an_error_not_half_a_dataset(tmp_path):
    import tarfile

    from gan_helpers.synthetic import make_face_folder

    faces = make_face_folder(tmp_path / "faces", people=10, per_person=15, size=96)
    for name, mode in (("faces.tgz", "w:gz"), ("faces.tar", "w")):
        with tarfile.open(tmp_path / name, mode) as tar:
            tar.add(faces, arcname="faces")
        assert len(data.list_images(tmp_path / name)) == 150
    packed = bytearray((tmp_path / "faces.tgz").read_bytes())  # 2,000 bytes altered mid-archive
    middle = len(packed) // 2
    packed[middle:middle + 2000] = bytes(b ^ 0x5A for b in packed[middle:middle + 2000])
    (tmp_path / "flip.tgz").write_bytes(bytes(packed))
    with pytest.raises(data.DatasetNotFoundError, match="flip.tgz is damaged"):
        data.list_images(tmp_path / "flip.tgz")
    plain = bytearray((tmp_path / "faces.tar").read_bytes())  # a member's header overwritten halfway through
    with tarfile.open(tmp_path / "faces.tar") as tar:
        header = tar.getmembers()[len(tar.getmembers()) // 2].offset
    plain[header:header + 512] = b"\x01" * 512
    (tmp_path / "header.tar").write_bytes(bytes(plain))
    with pytest.raises(data.DatasetNotFoundError, match="header.tar is damaged .*damaged header"):
        data.list_images(tmp_path / "header.tar")


def test_a_photo_is_loaded_upright_by_its_exif_orientation(tmp_path):
    from PIL import Image

    from gan_helpers import images

    # A tall picture, top half red, stored sideways (rotated 90 degrees) with the tag that says so.
    upright = np.zeros((120, 80, 3), np.uint8)
    upright[:60, :, 0] = 255
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what the camera wrote: 80 x 120 wide
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6  # "rotate 90 degrees clockwise to view"
    (tmp_path / "person").mkdir()
    stored.save(tmp_path / "person" / "person_0001.jpg", exif=exif, quality=95)
    shown = images.read_image(tmp_path, "person/person_0001.jpg")
    assert shown.shape == (120, 80, 3)
    assert shown[:50, :, 0].mean() > 200 and shown[70:, :, 0].mean() < 50  # red on top, as photographed
    small = images.read_image(tmp_path, "person/person_0001.jpg", image_size=16, crop=0)
    assert small[:6, :, 0].mean() > 200 and small[-6:, :, 0].mean() < 50
