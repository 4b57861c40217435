"""Finding LFW, turning it into training tensors, and caching the result.

As in the blog post the exercise comes from ("Generating Faces with Torch"), every 250x250 image loses 50 px
on each side (the crop is a fraction of the shorter side, 0.2 by default, or a number of pixels: see
:func:`check_crop`), is resized bicubically to ``image_size`` (64) and scaled to [-1, 1] for training; 16-bit
images keep their high byte. The uint8 result is cached, keyed by the source files (names, sizes, times) and
the settings; the source is never written to. Any folder of per-person image folders (JPEG, PNG, PGM) or an
LFW ``.tgz`` archive works. Unreadable files are skipped with one warning naming the list of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import json
import os
import sys
import tarfile
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from gan_helpers import PROJECT_ROOT, files
# One image's preprocessing and the tf.data pipeline live in their own modules; their names stay
# importable from here (data.preprocess_image, data.make_dataset, ...).
from gan_helpers.images import (DEFAULT_CROP, BadCropError, CropTooLarge, load_one, to_8_bit,  # noqa: F401
                                check_crop, crop_box, crop_pixels, open_image, parse_crop, preprocess_image,
                                read_image, to_float, to_uint8)
from gan_helpers.pipeline import MIRROR_SEED_KEY, NotEnoughImagesError, make_dataset  # noqa: F401

#: File name endings read as images; every other file is ignored.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp")
#: Where the data finder looks when neither an argument nor LFW_DIR is given.
DEFAULT_CANDIDATES = (
    "data/lfw-deepfunneled",
    "data/lfw",
    "data/lfw_funneled",
    "data/lfw-deepfunneled.tgz",
    "data/lfw.tgz",
    "data/lfw-funneled.tgz",
)
#: A course machine's shared copy, looked for beside the project's folder.
SHARED_COPY = "shared/datasets/lfw-deepfunneled"
#: Environment variable that points at the dataset.
ENV_VAR = "LFW_DIR"
#: Bump when the preprocessing changes so old caches are rebuilt.
#: 3: 16-bit images are scaled to 8 bits (they were clipped to white); crops can be fractions.
#: 4: photos are turned upright by their EXIF orientation before the crop.
CACHE_FORMAT = 4
#: Valid image sides: even numbers from 16 to 128 (see :func:`check_image_size`).
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 128
#: The blog's split was 13,000 training and 233 validation images.
DEFAULT_VALIDATION_FRACTION = 233 / 13233

HOW_TO_GET_LFW = (
    "Get LFW with `python -m gan_helpers download --dest data/` (about 110 MB), "
    "or point at an existing copy with `--data DIR` or the environment variable "
    f"{ENV_VAR}=DIR (a folder of per-person image folders, or lfw-deepfunneled.tgz)."
)


class DatasetNotFoundError(FileNotFoundError):
    """The dataset folder or archive is missing or holds no images."""


@dataclasses.dataclass(frozen=True)
class ImageFile:
    """One source image: its path relative to the dataset root and its person."""

    relpath: str
    person: str
    size: int = 0
    mtime_ns: int = 0


@dataclasses.dataclass
class Faces:
    """Preprocessed faces with what is known about each of them."""

    images: np.ndarray  # uint8 (N, S, S, 3)
    people: np.ndarray  # str (N,), the person (folder name) of each image
    files: list[str]  # relative path of each image
    skipped: list[tuple[str, str]]  # (relative path, reason) of each unreadable file
    source: Path  # the folder or archive that was read
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_people(self) -> int:
        return len(set(self.people.tolist()))


# ----------------------------------------------------------------------------
# Finding the dataset.


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the dataset folder or archive to read.

    The order is: the explicit ``data_dir`` argument, then the environment
    variable ``LFW_DIR``, then ``data/lfw-deepfunneled``, ``data/lfw``,
    ``data/lfw_funneled`` (and the same names as ``.tgz`` archives) under the
    project root and under the current directory, and last a course machine's
    shared copy, ``../shared/datasets/lfw-deepfunneled`` beside the project.
    """
    if data_dir is not None:
        if not str(data_dir).strip():  # Path("") is the current folder: never what an empty path meant
            raise ValueError("The dataset path is empty (an unset variable in quotes, like --data \"$LFW\"?); "
                             "give the folder or .tgz of the faces, or leave --data out to search the defaults.")
        return _check_exists(Path(data_dir), "the path you gave")
    if os.environ.get(ENV_VAR):
        return _check_exists(Path(os.environ[ENV_VAR]), f"the environment variable {ENV_VAR}")
    tried = []
    candidates = [base / name for base in dict.fromkeys([PROJECT_ROOT, Path.cwd()]) for name in DEFAULT_CANDIDATES]
    # Last, the shared copy a course machine keeps beside the clone.
    candidates.append(PROJECT_ROOT.parent / SHARED_COPY)
    for path in candidates:
        tried.append(str(path))
        if path.exists():
            return path
    raise DatasetNotFoundError(
        "No face dataset found: no argument was given, the environment variable "
        f"{ENV_VAR} is not set, and none of these exists: {', '.join(tried)}. {HOW_TO_GET_LFW}"
    )


def _check_exists(path: Path, origin: str) -> Path:
    if not path.exists():
        raise DatasetNotFoundError(f"Dataset path {path} (from {origin}) does not exist. {HOW_TO_GET_LFW}")
    return path


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def list_images(source: str | os.PathLike) -> list[ImageFile]:
    """List the image files of a dataset folder or ``.tgz`` archive, sorted.

    The person of an image is the name of the folder that holds it. Files
    that are not images (by their ending) and hidden files are ignored.
    """
    source = Path(source)
    if source.is_file():
        files = _list_archive(source)
    elif source.is_dir():
        files = _list_folder(source)
    else:
        raise DatasetNotFoundError(f"Dataset path {source} does not exist. {HOW_TO_GET_LFW}")
    if not files:
        raise DatasetNotFoundError(
            f"Dataset path {source} holds no images (looked for {', '.join(IMAGE_EXTENSIONS)} "
            f"files in per-person folders). {HOW_TO_GET_LFW}"
        )
    return sorted(files, key=lambda f: f.relpath)


def fingerprint(source: str | os.PathLike) -> dict:
    """What identifies a dataset cheaply (a run records it: config.json's ``dataset``): its number of
    images and a hash of their relative paths."""
    names = [f.relpath for f in list_images(source)]
    return {"images": len(names), "names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]}


def _list_folder(root: Path) -> list[ImageFile]:
    try:
        str(root).encode("utf-8")
    except UnicodeEncodeError:  # every name below would fail alike: one error, not a warning for each
        shown = os.fsencode(root).decode("utf-8", "backslashreplace")
        raise ValueError(f"The dataset folder {shown} has a path that is not valid UTF-8 (the cache cannot "
                         "record it): rename the folder, or move it to a path of plain characters.") from None
    files = []
    # Each folder to visit comes with the identities (device, inode) of itself and of the
    # folders above it: a folder reached again below itself is a symbolic link loop.
    root_stat = root.stat()
    stack = [(root, ((root_stat.st_dev, root_stat.st_ino),))]
    while stack:
        folder, above = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as error:
            if folder == root:
                raise
            _warn_unlistable(folder, error)
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                entry.path.encode("utf-8")
            except UnicodeEncodeError:  # bytes that are not UTF-8 in a name: the cache and its list cannot hold it
                shown = os.fsencode(entry.path).decode("utf-8", "backslashreplace")
                warnings.warn(f"Skipped {shown}: its name is not valid UTF-8; rename it to use it.", stacklevel=3)
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    stat = entry.stat()
                    identity = (stat.st_dev, stat.st_ino)
                    if identity in above:
                        _warn_unlistable(entry.path, OSError(errno.ELOOP, "it leads back to a folder it is in"))
                        continue
                    stack.append((Path(entry.path), above + (identity,)))
                elif _is_image_name(entry.name) and entry.is_file():
                    stat = entry.stat()
                    rel = Path(entry.path).relative_to(root).as_posix()
                    person = folder.name if folder != root else root.name
                    files.append(ImageFile(rel, person, stat.st_size, stat.st_mtime_ns))
            except OSError as error:
                # A link to itself (or in a circle) cannot even be looked at: ELOOP.
                _warn_unlistable(entry.path, error)
    return files


def _warn_unlistable(path, error: OSError) -> None:
    """Warn that one entry of a dataset folder is left out, and why, in words."""
    if error.errno == errno.ELOOP:
        why = f"a symbolic link loop: {error.strerror}"
    else:
        why = f"{type(error).__name__}: {error.strerror or error}"
    fix = ("Remove or fix the link to silence this warning." if error.errno == errno.ELOOP else
           "Give this program permission to read it (chmod), or remove it, to silence this warning."
           if error.errno in (errno.EACCES, errno.EPERM) else "Fix or remove it to silence this warning.")
    warnings.warn(f"Skipped {path} while listing the dataset ({why}); the rest of the folder is used. {fix}",
                  stacklevel=4)


def _list_archive(archive: Path) -> list[ImageFile]:
    """The archive's images. It is read to its end: tarfile stops quietly at a damaged header, which would
    leave the rest of the faces out, so what follows the last member must be the archive's zero padding."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            tar.fileobj.seek(tar.offset)
            while chunk := tar.fileobj.read(1 << 20):
                if chunk.count(0) != len(chunk):
                    raise tarfile.ReadError(f"a damaged header after {len(members):,} files, with more behind it")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetNotFoundError(f"Dataset archive {archive} is damaged or not a tar archive "
                                   f"({type(error).__name__}: {error}). Download it again or extract it by "
                                   "hand and point at the folder.") from error
    files = []
    for member in members:
        parts = PurePosixPath(member.name).parts
        if not _is_image_name(parts[-1]):
            continue
        person = parts[-2] if len(parts) >= 2 else archive.stem
        files.append(ImageFile(member.name, person, member.size, int(member.mtime)))
    return files


# ----------------------------------------------------------------------------
# Loading, caching.


def default_cache_dir() -> Path:
    """``GAN_CACHE_DIR`` if set, else ``data/cache`` in the project (git-ignored)."""
    if os.environ.get("GAN_CACHE_DIR"):
        return Path(os.environ["GAN_CACHE_DIR"])
    return PROJECT_ROOT / "data" / "cache"


def check_image_size(image_size: int) -> None:
    """The one check of which image sides are valid: even integers from 16 to 128.

    :func:`load_dataset` runs it before it looks at any file; training and
    preparing show its message: ``image_size must be an even integer from 16
    to 128. Received: image_size=1024``.
    """
    if (isinstance(image_size, (bool, np.bool_)) or not isinstance(image_size, (int, np.integer))
            or image_size % 2 or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE):
        raise ValueError(f"image_size must be an even integer from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}. "
                         f"Received: image_size={image_size!r}")


#: The former private name, kept for code that still uses it.
_check_image_size = check_image_size


def _crop_label(crop: int | float) -> str:
    """How a crop appears in a cache file name: ``0.2`` (a fraction) or ``50px`` (pixels)."""
    return repr(crop) if isinstance(crop, float) else f"{crop}px"


def cache_key(source: Path, files: list[ImageFile], image_size: int, crop: int | float) -> str:
    """A hash of the file list (names, sizes, times) and the settings.

    A fraction and a number of pixels never share a key (``0.2`` is not ``0``).
    """
    crop = check_crop(crop)
    digest = hashlib.sha1()
    crop_kind = "fraction" if isinstance(crop, float) else "pixels"
    digest.update(json.dumps([CACHE_FORMAT, str(source.resolve()), image_size, crop_kind, crop]).encode())
    for f in files:
        digest.update(f"{f.relpath}\0{f.size}\0{f.mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_dataset(
    data_dir: str | os.PathLike | None = None,
    image_size: int = 64,
    crop: int | float = DEFAULT_CROP,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    limit: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Faces:
    """Load and preprocess every face of a dataset, using the on-disk cache.

    Args:
        data_dir: folder of per-person image folders, or a ``.tgz`` archive.
            ``None`` searches as :func:`find_data_dir` does.
        image_size: side of the square output, an even number from 16 to 128.
        crop: removed from every side before resizing: a float is a fraction
            of the shorter side in [0, 0.5) (default 0.2, the blog's 50 px of
            LFW's 250), an int is pixels (e.g. 50); see :func:`check_crop`.
        cache_dir: where the preprocessed array is kept (see :func:`default_cache_dir`).
        use_cache: ``False`` always decodes the images and writes no cache.
        limit: use only the first ``limit`` files (sorted by path); for quick looks.
        workers: decoding threads (default: one per core).
        progress: show a progress bar while decoding.

    Unreadable files are skipped with one warning; the full list with the
    reasons is in ``Faces.skipped`` and, with the cache, in the file
    ``<cache name>.skipped.txt`` next to it, which the warning names.
    """
    # The settings are checked before any file is looked at, decoded or allocated for.
    check_image_size(image_size)
    crop = check_crop(crop)
    source = find_data_dir(data_dir)
    files = list_images(source)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a whole number of at least 1 (or None: every file). Received: limit={limit!r}")
        files = files[:limit]
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(source, files, image_size, crop)
    stem = cache_dir / f"faces_{image_size}px_crop{_crop_label(crop)}_{key}"
    if use_cache:
        cached = _read_cache(stem, image_size)
        if cached is not None:
            images, meta = cached
            return Faces(images, np.array(meta["people"]), meta["files"], meta["skipped"], source, from_cache=True)

    images, kept, skipped = _decode_all(source, files, image_size, crop, workers, progress)
    if skipped:
        _warn_skipped(skipped, len(files), source, stem if use_cache else None, cache_dir)
    if not kept:
        raise NotEnoughImagesError(f"None of the {len(files)} image files in {source} could be read.")
    people = [f.person for f in kept]
    meta = {"files": [f.relpath for f in kept], "people": people, "skipped": skipped,
            "source": str(source), "image_size": image_size, "crop": crop, "format": CACHE_FORMAT}
    if use_cache:
        _write_cache(stem, images, meta)
    return Faces(images, np.array(people), meta["files"], skipped, source)


def _warn_skipped(skipped, total: int, source, stem, cache_dir) -> None:
    """One warning at load_dataset's caller: the first three unreadable files, where the list is (``stem``: the cache's)."""
    listed = _write_skipped_list(_cache_file(stem, ".skipped.txt"), skipped, source, total) if stem else None
    shown = "; ".join(f"{path} ({reason})" for path, reason in skipped[:3])
    if listed is None:  # no cache to write it beside (use_cache=False) or no room there: the temporary folder
        import tempfile

        listed = _write_skipped_list(Path(tempfile.gettempdir()) / f"gan-helpers-skipped-{os.getpid()}.txt",
                                     skipped, source, total)
    where = (f"The full list with the reasons is in {listed}." if listed is not None else
             "The list could not be written" + (f" in {cache_dir} nor" if stem else "") + " in the temporary "
             "folder: free some disk space and load the dataset again to get it.")
    warnings.warn(f"Skipped {len(skipped)} unreadable image(s) of {total} in {source}: {shown}"
                  + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "") + f". {where}", stacklevel=3)


def load_faces(data_dir=None, image_size: int = 64, **kwargs) -> np.ndarray:
    """The preprocessed faces as a uint8 array ``(N, S, S, 3)`` (see :func:`load_dataset`)."""
    return load_dataset(data_dir, image_size, **kwargs).images


def _decode_all(source: Path, files, image_size, crop, workers, progress):
    """Decode every file in parallel; returns (images, kept files, skipped (path, reason))."""
    workers = workers or os.cpu_count() or 1
    relpaths = [f.relpath for f in files]
    bar = _progress_bar(len(files), f"Preparing {source.name} at {image_size}x{image_size}", progress)
    images = np.empty((len(files), image_size, image_size, 3), np.uint8)
    errors: list[Exception | None] = []
    if source.is_file():
        # An archive is read sequentially in one pass; decoding runs on threads.
        with tarfile.open(source, "r:*") as tar, ThreadPoolExecutor(workers) as pool:
            wanted = set(relpaths)
            futures = {}
            for member in tar:
                if member.name in wanted and member.isfile():
                    payload = tar.extractfile(member).read()
                    futures[member.name] = pool.submit(
                        load_one, lambda _rel, d=payload: io.BytesIO(d), member.name, image_size, crop)
            for i, rel in enumerate(relpaths):
                array, error = futures[rel].result()
                if array is not None:
                    images[i] = array
                errors.append(error)
                bar.update(1)
    else:
        # Chunks of files per task: few, large results to send back from the workers.
        chunk = 512
        starts = range(0, len(relpaths), chunk)
        with _folder_pool(workers, len(files)) as pool:
            tasks = [(str(source), relpaths[i:i + chunk], image_size, crop) for i in starts]
            for i, (block, block_errors) in zip(starts, pool.map(_decode_chunk, *zip(*tasks))):
                images[i:i + len(block)] = block
                errors.extend(block_errors)
                bar.update(len(block))
    bar.close()
    # Crop settings that leave nothing are a configuration error, not a bad file.
    failed = [e for e in errors if e is not None]
    if failed and len(failed) == len(errors) and all(isinstance(e, CropTooLarge) for e in failed):
        raise failed[0]
    ok = np.array([e is None for e in errors], bool)
    kept = [f for f, good in zip(files, ok) if good]
    skipped = [(f.relpath, f"{type(e).__name__}: {e}") for f, e in zip(files, errors) if e is not None]
    return (images if ok.all() else images[ok]), kept, skipped


def _decode_chunk(root: str, relpaths: list[str], image_size: int, crop: int | float):
    """Decode files below ``root`` (in a worker): one array, and an exception (or None) per file."""
    base = Path(root)
    block = np.zeros((len(relpaths), image_size, image_size, 3), np.uint8)
    errors = []
    for i, rel in enumerate(relpaths):
        array, error = load_one(lambda r: base / r, rel, image_size, crop)
        if array is not None:
            block[i] = array
        errors.append(error)
    return block, errors


def _folder_pool(workers: int, num_files: int):
    """Worker processes for large folders, threads otherwise.

    Decoding is CPU-bound and Pillow holds the GIL for part of it, so two
    forked processes decode LFW about 1.3x faster than two threads on a
    2-core machine (benchmarks/bench_data.py). Forking is only safe while
    TensorFlow (and its thread pools) is not loaded, and spawned workers
    would re-run a caller's unguarded script, so once TensorFlow is imported,
    or for small folders that do not repay the start-up, threads are used.
    """
    if workers > 1 and num_files >= 2000 and "tensorflow" not in sys.modules and os.name == "posix":
        import multiprocessing

        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    return ThreadPoolExecutor(workers)


def _progress_bar(total: int, desc: str, enabled: bool):
    from gan_helpers.progress import bar as tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, mininterval=0.5)


def _cache_file(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix``: the stem may hold a dot (``crop0.2``), so no ``with_suffix``."""
    return stem.with_name(stem.name + suffix)


def _read_cache(stem: Path, image_size: int):
    npy, meta_path = _cache_file(stem, ".npy"), _cache_file(stem, ".json")
    if not (npy.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if not isinstance(meta, dict):
            raise ValueError(f"{meta_path.name} holds {type(meta).__name__}, not a JSON object")
        # A file cut short (a full disk, a killed process), even to 0 bytes, is damaged, not fatal.
        images = np.load(npy, allow_pickle=False)
        expected = (len(meta["files"]), image_size, image_size, 3)
        if images.dtype != np.uint8 or images.shape != expected or len(meta["people"]) != expected[0]:
            raise ValueError(f"cached array is {images.dtype} {images.shape}, expected uint8 {expected}")
        meta["skipped"] = [(str(path), str(reason)) for path, reason in meta["skipped"]]
    except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
        warnings.warn(f"Cache {npy} is unreadable or stale ({type(error).__name__}: {error}); rebuilding it.",
                      stacklevel=3)
        return None
    return images, meta


def _write_atomically(path: Path, write) -> None:
    """``write(f)`` into ``path`` through :func:`gan_helpers.files.atomic_path`: readers see the old file or
    the new one, never half of one."""
    with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def _write_cache(stem: Path, images: np.ndarray, meta: dict) -> None:
    """Write the array, then its description, each atomically; on failure leave neither.

    The description is written last, so a reader that finds it (both files
    are needed to use the cache) also finds the complete array.
    """
    written = []
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        files.remove_stray_temporaries(stem.parent)  # left by a cache write that was killed (not running ones)
        for path, write in ((_cache_file(stem, ".npy"), lambda f: np.save(f, images, allow_pickle=False)),
                            (_cache_file(stem, ".json"), lambda f: f.write(json.dumps(meta).encode()))):
            _write_atomically(path, write)
            written.append(path)
    except OSError as error:
        # Half a cache is no cache: remove the part this call wrote.
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        warnings.warn(f"Could not write the cache in {stem.parent} ({error}); "
                      "set GAN_CACHE_DIR to a writable folder to keep it.", stacklevel=3)


def _write_skipped_list(path: Path, skipped: list[tuple[str, str]], source: Path, total: int) -> Path | None:
    """Write every skipped file and its reason, one a line, atomically; the path, or None if it failed."""
    lines = [f"# {len(skipped)} of {total} image files in {source} could not be read and were skipped.",
             "# One a line: the path in the dataset, a tab, the reason."]
    lines += [f"{rel}\t{' '.join(reason.split())}" for rel, reason in skipped]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, lambda f: f.write(("\n".join(lines) + "\n").encode()))
    except OSError:
        return None
    return path


# ----------------------------------------------------------------------------
# Splits by person and the evaluation holdout (the tf.data pipeline: gan_helpers.pipeline).


def split_by_person(people, validation_fraction: float = DEFAULT_VALIDATION_FRACTION, seed: int = 0):
    """Split image indices so that no person is on both sides.

    People are shuffled with ``seed`` and moved to validation one by one,
    skipping anyone whose images would overshoot the target, until
    validation holds ``round(validation_fraction * N)`` images (or as close
    as the people allow). Returns two sorted integer arrays
    ``(train_indices, validation_indices)``.
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in [0, 1). Received: validation_fraction={validation_fraction}")
    people = np.asarray(people)
    names, inverse, counts = np.unique(people, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    target = round(validation_fraction * len(people))
    in_validation = np.zeros(len(names), bool)
    total = 0
    for person in order:
        if total >= target:
            break
        if total + counts[person] <= target:
            in_validation[person] = True
            total += counts[person]
    is_val = in_validation[inverse]
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def train_and_holdout(data_dir=None, image_size: int = 64, crop: int | float = DEFAULT_CROP,
                      num_holdout: int | None = None,
                      **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The faces split by person as every evaluation here uses it: ``(train, holdout)`` uint8 arrays.

    80% of the images (by person, :func:`split_by_person` with seed 0) are for
    training; the held-out faces of the other people are what generated faces
    are compared with, the first ``num_holdout`` of them if given. Other
    arguments go to :func:`load_dataset`.
    """
    faces = load_dataset(data_dir, image_size, crop=crop, **kwargs)
    train_idx, holdout_idx = split_by_person(faces.people, validation_fraction=EVALUATION_HOLDOUT, seed=0)
    if len(train_idx) == 0 or len(holdout_idx) == 0:
        raise NotEnoughImagesError(
            f"{faces.source} has {len(faces)} images of {faces.num_people} people, too few to hold "
            f"{EVALUATION_HOLDOUT:.0%} of them out by person for evaluation; it needs images of several people.")
    return faces.images[train_idx], faces.images[holdout_idx][:num_holdout]


#: The fraction of images (whole people) that evaluation holds out, and that training leaves out.
EVALUATION_HOLDOUT = 0.2


def training_part(faces: Faces, holdout: float = EVALUATION_HOLDOUT) -> np.ndarray:
    """The images a run trains on: all but the people :func:`train_and_holdout` holds out (same split).

    ``holdout=0`` returns every image.
    """
    if not holdout:
        return faces.images
    train_idx, _ = split_by_person(faces.people, validation_fraction=holdout, seed=0)
    return faces.images[train_idx]
