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
import os
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
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is the leftover of an interrupted atomic write (or of older versions' ``.tmp``)."""
    name = path.name
    return name.startswith(".") and (PARTIAL in name or name.endswith(".tmp"))


def remove_stray_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the leftovers of interrupted writes in ``folder`` (not recursive); return them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if path.is_file() and is_temporary(path):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


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
