"""Writing files so that nothing is lost, and the run folder's file names.

Every file the project writes (generators, CSVs, ``config.json``,
checkpoints, caches, sample arrays) goes through :func:`atomic_path`: the
content is written to a temporary file beside the target and moved over it
with ``os.replace`` only when complete. An interruption (Ctrl-C, a full
disk, SIGKILL) leaves either the old file or the new one, never half of
one. A temporary file left by an interruption is removed on the next
write or by :func:`remove_stray_temporaries`.

This module imports no TensorFlow, so the command line can check paths
before paying for that import.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

#: Marks the temporary files of atomic writes: ``.NAME.PID.partial`` (plus NAME's suffix).
PARTIAL = ".partial"

#: What a training run writes into its folder; a new run refuses a folder that holds any of them.
RUN_FILES = ("config.json", "checkpoint.npz", "checkpoint.previous.npz", "history.csv", "steps.csv",
             "monitor.png", "generator.keras", "samples", "snapshots")


def _temporary_name(path: Path) -> Path:
    # Keep the real suffix last: Keras insists on ``.keras`` when saving a model.
    return path.with_name(f".{path.stem}.{os.getpid()}{PARTIAL}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path to write; on success it replaces ``path`` in one step.

    If the body raises (including ``KeyboardInterrupt``), the temporary file
    is removed and ``path`` keeps its previous content.

    >>> with atomic_path("history.csv") as tmp:   # doctest: +SKIP
    ...     tmp.write_text("epoch\\n1\\n")
    """
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # say which file could not be written
            raise OSError(f"Could not write {path}: {error.strerror or error}.") from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def reserve(path: str | os.PathLike, shown=None) -> None:
    """Allocate the disk blocks of ``path`` at its present size (a file about to be filled through
    a memory map), so that a full disk is an ``OSError`` naming the file now, not a SIGBUS later.

    ``shown``: the name to give in the message (the final name of a temporary file).
    """
    path = Path(path)
    if not hasattr(os, "posix_fallocate"):  # pragma: no cover - macOS, Windows
        return
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, size)
        except OSError as error:
            if error.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem that cannot reserve: write as usual
                return
            raise OSError(f"Cannot reserve {size:,} bytes for {shown or path} ({error.strerror}); free some "
                          "space or write elsewhere.") from None


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


#: A temporary file's name as :func:`atomic_path` makes it: ``.NAME.PID.partial[.ext]``.
_TEMPORARY = re.compile(r"^\..+\.(\d+)" + re.escape(PARTIAL) + r"(\.[^.]+)?$")


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is named as this package's atomic writes name their temporary files (with the
    writer's process id); another program's ``.notes.tmp`` or ``.report.partial.txt`` is not."""
    return bool(_TEMPORARY.match(Path(path).name))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stray_temporaries(folder: str | os.PathLike, only_dead: bool = True) -> list[Path]:
    """Delete the leftovers of interrupted writes in ``folder`` (not recursive); return them.

    Only files named as :func:`atomic_path` names them count. ``only_dead`` (the default) keeps the
    temporary files of processes that are still running (another process may be writing them now).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if not (path.is_file() and is_temporary(path)):
            continue
        pid = int(_TEMPORARY.match(path.name).group(1))
        if only_dead and pid != os.getpid() and process_alive(pid):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, a scheduler, ``docker stop``), handled as Ctrl-C is: a run saves what it has."""


#: True while a training runs that stops by itself on SIGTERM (the command line's handler then asks it to
#: stop after its current step, instead of raising in the middle of a TensorFlow call).
defer_termination = False
#: Set by the command line's SIGTERM handler while :data:`defer_termination` holds.
termination_requested = False


#: The lock file of a run folder (see :func:`lock_run_folder`).
LOCK = ".lock"
_held: dict[Path, list] = {}  # folder -> [open lock file, how many times this process took it]


class FolderBusyError(RuntimeError):
    """Another process is writing this run folder."""


def lock_run_folder(folder: str | os.PathLike) -> Path:
    """Make this process the one writer of a run folder, or raise :class:`FolderBusyError` naming the other.

    An exclusive ``fcntl.flock`` on ``folder/.lock``, taken before anything in the folder is touched
    (:meth:`gan_helpers.runs.Run.train` holds it while it trains, :meth:`~gan_helpers.runs.Run.resume`
    while it tidies the folder, and ``train --resume`` for the whole command). The operating system releases it when the process dies, SIGKILL included, so a crashed
    run never leaves the folder locked. The same process may take it again (each take is released by
    one :func:`unlock_run_folder`). Where ``fcntl`` does not exist (Windows), nothing is locked.
    """
    folder = Path(folder)
    key = folder.resolve()
    if key in _held:
        _held[key][1] += 1
        return folder
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise FolderBusyError(f"{folder} is being written by {owner}; wait for it to finish (or stop it), "
                              "then try again. Two runs writing one folder would destroy each other's "
                              "checkpoints.") from None
    except OSError as error:  # a filesystem without locks (ENOLCK on some network filesystems)
        handle.close()
        import warnings

        warnings.warn(f"Cannot lock {folder} ({error.strerror or error}); make sure no other process writes it "
                      "while this one does.", stacklevel=2)
        return folder
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}")
    handle.flush()
    _held[key] = [handle, 1]
    return folder


def unlock_run_folder(folder: str | os.PathLike) -> None:
    """Give back one take of this process's lock on ``folder``; the last one releases it."""
    key = Path(folder).resolve()
    if key not in _held:
        return
    _held[key][1] -= 1
    if _held[key][1] <= 0:
        _held.pop(key)[0].close()


def run_files_in(folder: str | os.PathLike) -> list[str]:
    """The names of :data:`RUN_FILES` that already exist in ``folder``."""
    folder = Path(folder)
    return [name for name in RUN_FILES if (folder / name).exists()]


def check_new_run_folder(folder: str | os.PathLike) -> Path:
    """Check that a NEW run may write into ``folder``; raise a clear error if not.

    A folder holding any file a run writes is refused, so that no generator,
    history or checkpoint is ever overwritten; a folder with a run's
    ``config.json`` is to be continued with ``--resume``. A path that is a
    file, or a folder that cannot be written, is refused too.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"--out {folder} is a file, not a folder; give a folder for the run "
                              "(it is created if missing).")
    existing = run_files_in(folder) if folder.is_dir() else []
    if existing:
        if "config.json" in existing:
            raise FileExistsError(f"{folder} already holds a run ({', '.join(existing)}); continue it with "
                                  f"--resume {folder}, or choose another --out folder.")
        raise FileExistsError(f"{folder} already holds {', '.join(existing)}, which a new run would overwrite; "
                              "choose another --out folder (or an empty one).")
    check_writable(folder)
    return folder


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that a file can be written in it; raise a clear error if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / ".write-check") as probe:
            probe.write_bytes(b"")
        (folder / ".write-check").unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PermissionError(f"Cannot write to the folder {folder} ({reason}); choose a folder you can "
                              "write to.") from None
    return folder
