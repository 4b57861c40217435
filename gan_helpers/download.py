"""Downloading LFW: fetch, verify the checksum, extract safely.

The deep-funneled archive comes from the official LFW site; if that fails,
the funneled archive from the mirror that scikit-learn's ``fetch_lfw_people``
uses is tried. Every file is checked against its published checksum before
anything is extracted, and extraction refuses absolute paths, ``..`` and
links that point outside the destination.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath


@dataclasses.dataclass(frozen=True)
class Source:
    """One place to download an archive from, with its checksum."""

    url: str
    filename: str
    algorithm: str  # a hashlib name: "md5", "sha256", ...
    digest: str
    folder: str  # the top folder the archive extracts to


#: The official deep-funneled archive (MD5 as published on the LFW site),
#: then scikit-learn's mirror of the funneled archive (its SHA-256).
LFW_SOURCES = (
    Source("http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz", "lfw-deepfunneled.tgz",
           "md5", "68331da3eb755a505a502b5aacb3c201", "lfw-deepfunneled"),
    Source("https://ndownloader.figshare.com/files/5976015", "lfw-funneled.tgz",
           "sha256", "b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a", "lfw_funneled"),
)


class DownloadError(RuntimeError):
    """No source could be downloaded, verified and extracted."""


class UnsafeArchiveError(DownloadError):
    """The archive holds a member that would land outside the destination."""


class ArchiveLayoutError(DownloadError):
    """The archive did not extract to the folder it was expected to, and its own is not clear."""


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(source: Source, dest: Path, timeout: float = 60, progress: bool = True) -> Path:
    """Download ``source`` into ``dest`` and verify it; returns the archive path.

    The download goes to a ``.part`` file that is renamed only once the
    checksum matches, so an interrupted or corrupt download never looks done.
    An archive already present with the right checksum is reused.
    """
    from gan_helpers.progress import bar as tqdm

    dest.mkdir(parents=True, exist_ok=True)
    target = dest / source.filename
    if target.exists() and file_digest(target, source.algorithm) == source.digest:
        return target
    part = target.with_name(target.name + ".part")
    digest = hashlib.new(source.algorithm)
    request = urllib.request.Request(source.url, headers={"User-Agent": "gan_helpers"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=source.filename, disable=not progress) as bar:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                digest.update(block)
                bar.update(len(block))
    if digest.hexdigest() != source.digest:
        part.unlink()
        raise DownloadError(
            f"Checksum mismatch for {source.url}: {source.algorithm} is {digest.hexdigest()}, "
            f"expected {source.digest}. The file was deleted; try again or use another source."
        )
    os.replace(part, target)
    return target


def check_members(tar: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    """Return the archive's members, or raise if any would escape ``dest``."""
    dest = dest.resolve()
    members = tar.getmembers()
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or member.name.startswith(("/", "\\")):
            raise UnsafeArchiveError(f"Refusing to extract: member {member.name!r} has an absolute path or '..'.")
        if member.isdev():
            raise UnsafeArchiveError(f"Refusing to extract: member {member.name!r} is a device file.")
        if member.issym() or member.islnk():
            link = PurePosixPath(member.linkname)
            base = dest / name.parent if member.issym() else dest
            resolved = (base / link).resolve() if not link.is_absolute() else Path(link)
            if link.is_absolute() or not resolved.is_relative_to(dest):
                raise UnsafeArchiveError(
                    f"Refusing to extract: link {member.name!r} points outside the destination ({member.linkname!r}).")
    return members


def _same_tree(new: Path, old: Path) -> bool:
    """Whether ``old`` holds exactly the files of ``new`` with the same sizes (a dataset extracted before)."""
    if not old.exists() or new.is_dir() != old.is_dir():
        return False
    if not new.is_dir():
        return new.stat().st_size == old.stat().st_size

    def listing(root: Path) -> dict:
        return {path.relative_to(root).as_posix(): path.stat().st_size for path in root.rglob("*") if path.is_file()}

    return listing(new) == listing(old)


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` after checking every member; all of it, or nothing.

    Nothing is written unless every member is safe. Python's own ``"data"``
    extraction filter is applied as a second guard. The archive is extracted
    into a temporary folder inside ``dest`` whose top-level entries are moved
    into ``dest`` only when the whole archive is out: an extraction stopped by
    a full disk or an interruption leaves no half dataset that could later be
    taken for a whole one (the temporary folder is removed, and one left by a
    killed process is removed by the next call).
    """
    import shutil

    from gan_helpers import files

    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob(".extracting.*"):
        pid = stale.name.rsplit(".", 1)[-1]
        if pid.isdigit() and not files.process_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    staging = dest / f".extracting.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            check_members(tar, staging)
            tar.extractall(staging, filter="data")
        entries = sorted(staging.iterdir())
        same = [e for e in entries if _same_tree(e, dest / e.name)]
        for entry in same:  # extracted before, whole: nothing to replace
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        entries = [e for e in entries if e not in same]
        taken = [dest / e.name for e in entries
                 if (dest / e.name).exists() and not ((dest / e.name).is_dir() and not any((dest / e.name).iterdir()))]
        if taken:  # checked before anything moves: the archive goes in whole or not at all
            raise ArchiveLayoutError(f"{', '.join(map(str, taken))} already exists with other files than this "
                                     "archive holds; remove it, or give another --dest.")
        for entry in entries:
            target = dest / entry.name
            if target.is_dir():
                target.rmdir()  # an empty folder of the same name is no dataset: replace it
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def extracted_folder(archive: Path, dest: Path, expected: Path) -> Path:
    """The folder the archive extracted to: ``expected`` if it is there, else the archive's own top folder.

    Raises a clear error when neither is a folder, rather than naming a folder that does not exist.
    """
    if expected.is_dir():
        return expected
    with tarfile.open(archive, "r:*") as tar:
        tops = sorted({PurePosixPath(m.name).parts[0] for m in tar.getmembers() if PurePosixPath(m.name).parts})
    folders = [dest / top for top in tops if (dest / top).is_dir()]
    if len(folders) == 1:
        return folders[0]
    raise ArchiveLayoutError(f"{archive.name} did not extract to {expected}; it holds "
                        f"{', '.join(tops[:5]) or 'nothing'} at its top level. Give the folder that holds the "
                        f"per-person folders with --folder NAME (or --data {dest}/NAME when preparing).")


def download(dest: str | os.PathLike = "data", sources=LFW_SOURCES, extract: bool = True,
             timeout: float = 60, progress: bool = True) -> Path:
    """Fetch the first source that works, verify it, extract it; return the dataset folder."""
    dest = Path(dest)
    errors = []
    for source in sources:
        folder = dest / source.folder
        if folder.is_dir() and any(folder.iterdir()):
            return folder
        try:
            archive = fetch(source, dest, timeout=timeout, progress=progress)
            if not extract:
                return archive
        except (DownloadError, urllib.error.URLError, OSError, tarfile.TarError) as error:
            errors.append(f"{source.url}: {error}")
            continue
        try:
            safe_extract(archive, dest)
            return extracted_folder(archive, dest, folder)
        except (UnsafeArchiveError, ArchiveLayoutError):
            raise
        except (OSError, tarfile.TarError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise DownloadError(f"{archive} is downloaded and verified, but extracting it into {dest} failed "
                                f"({reason}); nothing was left half-extracted. Free some space and run the same "
                                "command again (the archive is reused), or use the archive as it is: "
                                f"python -m gan_helpers prepare --data {archive}") from None
    raise DownloadError(
        "Could not download LFW from any source:\n  " + "\n  ".join(errors)
        + f"\nDownload lfw-deepfunneled.tgz by hand, put it in {dest}/ and run "
        "`python -m gan_helpers prepare`; the archive is read without extracting it."
    )
