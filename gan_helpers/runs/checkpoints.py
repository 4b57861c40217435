"""Run-folder files: the checkpoint, the CSVs, config.json and saved models, each written atomically.

The checkpoint is one ``.npz`` of every variable, keyed by group and
position (``generator/0003``) and checked by shape, with the progress and the
history inside it. Not ``tf.train.Checkpoint``: under Keras 3 (TensorFlow
2.21) its object graph leaves out every ``SeedGenerator`` state (the noise
and each Dropout layer's random stream: 6 of the 36 variables of a small
default GAN), so a resume from it would not draw the same dropout masks and
noise, and exact resume would be lost; and it keys a functional model's
variables by position too (``generator/_operations/14/gamma``), so it would
not survive a reordering of layers either.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from gan_helpers import files

CHECKPOINT = "checkpoint.npz"
PREVIOUS_CHECKPOINT = "checkpoint.previous.npz"


def _state_variables(gan, average=None):
    groups = {
        "generator": gan.generator.variables,
        "discriminator": (gan.critic if hasattr(gan, "critic") else gan.discriminator).variables,
        "g_optimizer": gan.g_optimizer.variables,
        "d_optimizer": gan.d_optimizer.variables,
        "gan": gan.state_variables(),
    }
    if average is not None:  # only then: a run without averaging keeps the layout checkpoints always had
        groups["averaged_generator"] = average.state_variables()
    # Keyed by position: auto-generated variable names (seed_generator_6, ...) differ between processes.
    return [(f"{group}/{i:04d}", v) for group, variables in groups.items() for i, v in enumerate(variables)]


class CheckpointError(ValueError):
    """A checkpoint file is damaged or does not belong to this model."""


def save_checkpoint(gan, run_dir: Path, progress: dict, history=None, steps=None, average=None) -> Path:
    """Write every variable, ``progress`` (epoch, step, ...) and the history atomically.

    ``average`` (a :class:`gan_helpers.averaging.GeneratorAverage`) adds the
    averaged generator's variables and update count, for an exact resume.

    The checkpoint is the run's single record: ``history`` (one dict per
    epoch) and ``steps`` (one dict per step) are stored in it too, so the
    CSVs can always be rewritten to match it. The checkpoint it replaces is
    kept as ``checkpoint.previous.npz``, for :func:`load_checkpoint` to fall
    back to if the new one is ever damaged.
    """
    arrays = {name: np.asarray(v.numpy() if hasattr(v, "numpy") else v)
              for name, v in _state_variables(gan, average)}
    records = {"progress": progress, "history": history or [],
               "step_keys": list(dict.fromkeys(k for row in (steps or []) for k in row))}
    arrays["__progress__"] = np.frombuffer(json.dumps(records["progress"]).encode(), np.uint8)
    arrays["__history__"] = np.frombuffer(json.dumps(records["history"]).encode(), np.uint8)
    arrays["__step_keys__"] = np.frombuffer(json.dumps(records["step_keys"]).encode(), np.uint8)
    arrays["__steps__"] = np.array([[row.get(k, np.nan) for k in records["step_keys"]] for row in steps or []],
                                   np.float64).reshape(len(steps or []), len(records["step_keys"]))
    path = Path(run_dir) / CHECKPOINT
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        if path.exists():
            os.replace(path, path.with_name(PREVIOUS_CHECKPOINT))
    return path


def _read_checkpoint(gan, path: Path, average=None) -> dict:
    """Every array of a checkpoint, checked against ``gan``; a clear :class:`CheckpointError` if damaged.

    A file that cannot be opened (permissions) is not called damaged: that is a ``PermissionError`` that
    names it, and nothing falls back or is rotated away.
    """
    try:
        open(path, "rb").close()
    except PermissionError as error:
        raise PermissionError(f"Cannot read the checkpoint {path} ({error.strerror}); it may be whole: give "
                              "yourself read permission (chmod u+r) and resume again.") from None
    if not zipfile.is_zipfile(path):  # empty, random bytes, or cut before the zip's directory
        raise CheckpointError(f"The checkpoint {path} is damaged or incomplete ({path.stat().st_size:,} bytes, "
                              "not a whole .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as saved:
            contents = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as error:
        # Flipped bytes (Bad CRC-32, BadZipFile) or a damaged member: all the same to the user.
        raise CheckpointError(f"The checkpoint {path} is damaged and cannot be read "
                              f"({type(error).__name__}: {' '.join(str(error).split())[:80]})") from None
    if average is None and any(name.startswith("averaged_generator/") for name in contents):
        # Not a damaged file (no fall-back): the run's settings lost the average that the checkpoint holds.
        raise ValueError(f"The checkpoint {path} holds an averaged generator, but the run's config.json has no "
                         "ema_decay (null or 0: no averaged generator); set ema_decay there to the decay the run "
                         "trained with (e.g. 0.999), or start a new run with --out.")
    mismatched = [n for n, v in _state_variables(gan, average)
                  if n not in contents or tuple(contents[n].shape) != tuple(v.shape)]
    if mismatched or "__progress__" not in contents:
        raise CheckpointError(f"The checkpoint {path} does not match this model ({len(mismatched)} variables "
                              f"differ, first {mismatched[:1]}); was the run's config.json changed?")
    return contents


def load_checkpoint(gan, run_dir: Path, average=None) -> dict:
    """Restore every variable; returns the saved progress, with ``history`` and ``steps`` if stored.

    ``average``: the run's averaged generator, if it has one (restored too).

    A damaged ``checkpoint.npz`` falls back to ``checkpoint.previous.npz``
    (one epoch earlier) with a warning that says so; if neither can be
    read, a one-line :class:`CheckpointError` names the file and what to do.
    """
    run_dir = Path(run_dir)
    path, previous = run_dir / CHECKPOINT, run_dir / PREVIOUS_CHECKPOINT
    if not path.exists() and not previous.exists():
        raise FileNotFoundError(f"No checkpoint in {run_dir} (expected {path}); start a new run with --out instead.")
    try:
        if not path.exists():  # interrupted between keeping the previous one and writing the new one
            raise CheckpointError(f"The checkpoint {path} is missing")
        contents = _read_checkpoint(gan, path, average)
    except CheckpointError as error:
        try:
            contents = _read_checkpoint(gan, previous, average) if previous.exists() else None
        except CheckpointError:
            contents = None
        if contents is None:
            raise CheckpointError(f"{error}, and there is no earlier good checkpoint to fall back to; "
                                  "start a new run with --out (the run's generator.keras, if any, "
                                  "is still usable).") from None
        warnings.warn(f"{error}; resuming from the previous checkpoint {previous} instead "
                      "(one epoch earlier).", stacklevel=2)
    for name, variable in _state_variables(gan, average):
        variable.assign(contents[name])
    if average is not None:
        average.statistics_stale = True
    progress = json.loads(contents["__progress__"].tobytes().decode())
    if "__history__" in contents:
        progress["history"] = json.loads(contents["__history__"].tobytes().decode())
        keys = json.loads(contents["__step_keys__"].tobytes().decode())
        progress["steps_rows"] = [dict(zip(keys, map(float, row))) for row in contents["__steps__"]]
    return progress



def save_model(model, path) -> Path:
    """``model.save(path)``, atomically: an interruption leaves the previous file whole."""
    with files.atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)



def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with files.atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
                for row in csv.DictReader(f)]



def read_config(run_dir) -> dict:
    config_path = Path(run_dir) / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json); "
                                "check the path, or start a new run with --out.")
    try:
        config = json.loads(config_path.read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"The run settings {config_path} are damaged ({error}); fix the file, or start a "
                         "new run with --out.") from None
    return config

