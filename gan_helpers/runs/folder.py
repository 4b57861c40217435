"""``RunFolder``: a run folder's checks, lock and files, once each; no TensorFlow.

The command line checks a new folder or a folder to resume here before it pays for TensorFlow, and
:class:`gan_helpers.runs.Run` writes its settings and CSVs through it.

A run folder holds::

    config.json           what was trained, how (enough to rebuild everything)
    checkpoint.npz        both models, both optimizers, the step, all RNG state (and the averaged G)
    history.csv           one row per epoch: the mean of every metric, skips, minutes
    steps.csv             one row per step: the raw values the live plot draws
    samples/epoch_NNN.png the fixed latent batch after each epoch
    monitor.png           the monitor figure (curves + latest grid)
    generator.keras       the final generator (also written on Ctrl-C and at the budget)
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from gan_helpers import data, files
from gan_helpers.runs.checkpoints import read_config, read_csv, write_csv

#: What a new run writes before its first epoch (removed again when it fails before then).
UNTRAINED = {"config.json", files.LOCK, "samples"}


class RunFolder:
    """The folder of one run (see this module's docstring for what it holds)."""

    def __init__(self, path):
        self.path = Path(path)
        self.existed = self.path.exists()  # before this process wrote anything in it

    # -- a new run -------------------------------------------------------------

    def check_new(self, config: dict) -> None:
        """Whether a new run with ``config`` may start here: outside its dataset, an empty folder."""
        data_path = Path(config["data_dir"]).resolve()
        out_path = self.path.resolve()
        if out_path == data_path or data_path in out_path.parents:
            raise ValueError(f"--out {self.path} is inside the dataset {config['data_dir']}: the run's pictures would "
                             "become training faces. Choose a folder outside it (e.g. runs/mine).")
        replicas = config.get("replicas") or (2 if config.get("distribute") == "mirrored" else None)
        batch = config.get("batch_size", 64)
        if replicas and isinstance(batch, int) and batch < replicas:
            raise ValueError(f"--replicas {replicas} splits each batch of {batch} images, but each replica needs at "
                             f"least one: use at most {batch} replicas, or a larger batch_size.")
        files.check_new_run_folder(self.path)

    @contextlib.contextmanager
    def new_run(self):
        """Around a new run: if it fails before its first epoch, what it wrote is removed (so the same
        ``--out`` works again); a folder with anything else in it stays."""
        try:
            yield self
        except Exception:
            self._remove_untrained()
            raise

    def _remove_untrained(self) -> None:
        if not self.path.is_dir():
            return
        entries = {path.name: path for path in self.path.iterdir()}
        if not set(entries) <= UNTRAINED or ("samples" in entries and any(entries["samples"].iterdir())):
            return
        with contextlib.suppress(OSError):
            for path in entries.values():
                path.rmdir() if path.is_dir() else path.unlink()
            if not self.existed:
                self.path.rmdir()

    # -- resuming --------------------------------------------------------------

    @contextlib.contextmanager
    def resuming(self, budget):
        """Around ``train --resume``: the folder checked, locked (one writer, before anything in it is
        touched; a multi-worker run's chief locks it in ``Run.resume``) and its devices configured,
        before TensorFlow starts."""
        from gan_helpers.devices import configure_devices

        stored = read_config(self.path)  # "not a run folder" or "damaged", in one line
        budget.check()
        files.check_writable(self.path)
        with self.locked(stored.get("distribute") != "multi-worker"):
            configure_devices(stored.get("distribute"), stored.get("replicas"))
            yield stored

    def check_same_faces(self, stored: dict, data_dir, switch_data: bool = False) -> None:
        """A resumed run trains on its own faces: ``data_dir`` may be where they are now, not others."""
        if data_dir is None:
            return
        recorded = stored.get("data_dir")
        moved = data.find_data_dir(data_dir)
        if recorded and Path(recorded).exists() and Path(recorded).resolve() != moved.resolve() and not switch_data:
            raise ValueError(f"--resume trains on the run's own dataset, {recorded}; --data {data_dir} is "
                             "another. Drop --data, or start a new run with --out to train on other faces.")

    @contextlib.contextmanager
    def locked(self, enabled: bool = True):
        """This process as the folder's one writer while inside (a second process is refused, naming this one)."""
        if enabled:
            files.lock_run_folder(self.path)
        try:
            yield self
        finally:
            if enabled:
                files.unlock_run_folder(self.path)

    # -- files -----------------------------------------------------------------

    def write_settings(self, config: dict) -> None:
        """config.json, and the samples folder the epochs draw into."""
        (self.path / "samples").mkdir(parents=True, exist_ok=True)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in config.items()}
        files.write_text(self.path / "config.json", json.dumps(config, indent=2))

    def write_rows(self, history: list[dict], steps: list[dict]) -> None:
        write_csv(self.path / "history.csv", history)
        write_csv(self.path / "steps.csv", steps)

    def read_rows(self, epoch: int, steps: int) -> tuple[list[dict], list[dict]]:
        """The CSVs up to ``epoch`` and ``steps`` (checkpoints written before the history was stored in them)."""
        history = [row for row in read_csv(self.path / "history.csv") if row["epoch"] <= epoch]
        return history, read_csv(self.path / "steps.csv")[:steps]


def training_faces(config: dict, resumed: bool, progress: bool = False):
    """The faces a run trains on, loaded from ``config["data_dir"]``; records in ``config`` where they were
    found and which they are (a resumed run is refused other faces than its own)."""
    recorded = config.get("data_dir")
    if resumed and recorded and not Path(recorded).exists():
        raise FileNotFoundError(f"The run's dataset {recorded} (its config.json's data_dir) is not there any "
                                "more; if the faces moved, resume with --data NEW_PLACE (in Python, "
                                "run.config['data_dir'] = NEW_PLACE).")
    faces = data.load_dataset(recorded, config["image_size"], crop=config.get("crop", data.DEFAULT_CROP),
                              limit=config.get("limit"), progress=progress)
    # Record where the faces came from, also when it was found through LFW_DIR or the defaults, and
    # which faces they are: resuming on other faces would train on them and break the held-out split.
    found = data.fingerprint(faces.source)
    recorded = config.get("dataset")
    if resumed and recorded and recorded != found:
        raise ValueError(
            f"The faces at {faces.source} are not the ones this run trained on ({found['images']:,} images "
            f"now, {recorded['images']:,} then{'' if found['images'] != recorded['images'] else ', other names'}"
            "): resuming would train on other faces, and evaluate would hold out people the run has seen. "
            "Resume with the run's own faces (--data), start a new run with --out, or switch on purpose "
            "with --switch-data.")
    config["data_dir"], config["dataset"] = str(faces.source), found
    return data.training_part(faces, config["holdout"])
