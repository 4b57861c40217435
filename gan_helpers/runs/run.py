"""``Run``: training runs that survive: a run folder, checkpoints, exact resume, budgets, monitoring.

A run folder's files: :mod:`gan_helpers.runs.folder`.

Exact resume: every source of randomness lives in a variable that the
checkpoint stores (the noise and dropout seed generators), and each epoch's
shuffle (and, with ``mirror``, its flips) is seeded by ``seed + epoch``, so a
run stopped after epoch k and resumed ends with the same weights as one that
never stopped (on the CPU).

With ``ema_decay`` set, the run also keeps an averaged generator
(:mod:`gan_helpers.averaging`): the samples, the monitor's fixed batch, the
snapshots, the metrics of :func:`train_and_evaluate` and ``generator.keras``
come from it, while the checkpoint keeps the raw generator (the one that
trains) and the average, for an exact resume.
"""


from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from gan_helpers import averaging, data, files, plots
from gan_helpers.devices import is_chief, make_strategy
from gan_helpers.runs import checkpoints
from gan_helpers.runs import epochs as epoch_loop
from gan_helpers.runs.budget import Budget
from gan_helpers.runs.callbacks import COLLAPSE_FRACTION, collapse_message, run_callbacks
from gan_helpers.runs.checkpoints import CHECKPOINT, PREVIOUS_CHECKPOINT, load_checkpoint
from gan_helpers.runs.epochs import TrainingDiverged
from gan_helpers.runs.factory import build
from gan_helpers.runs.folder import RunFolder
from gan_helpers.runs.settings import Settings, check_stored, default_config

__all__ = ["COLLAPSE_FRACTION", "Run", "TrainingDiverged"]


class Run:
    """One training run: build or resume, train for epochs or minutes, checkpoint, sample.

    Args:
        config: see :func:`default_config`.
        run_dir: the run folder (``None``: keep everything in memory only).
        images: uint8 training faces; loaded from ``config["data_dir"]`` if omitted.
    """

    def __init__(self, config: dict, run_dir=None, images=None):
        self.config = default_config(**config)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.folder = RunFolder(run_dir) if run_dir is not None else None
        self.strategy = make_strategy(self.config["distribute"], self.config["replicas"])
        if self.config["distribute"] is not None:
            self.config["replicas"] = int(self.strategy.num_replicas_in_sync)
        # Only the chief of a multi-worker run writes the folder (the other workers read it to resume).
        self.is_chief = is_chief(self.strategy)
        with self.strategy.scope():
            self.gan = build(self.config)
        # The averaged generator, if the run has one: made after build(), from G's initial weights.
        self.average = (averaging.GeneratorAverage(self.gan.generator, self.config["ema_decay"],
                                                   seed=self.config["seed"] + 20_000)
                        if self.config["ema_decay"] else None)
        self.images = images
        self.epoch, self.seconds = 0, 0.0
        self.steps: list[dict] = []
        self.history: list[dict] = []
        self.last_samples = None
        rng = np.random.default_rng(self.config["seed"] + 10_000)
        self.fixed_noise = rng.normal(size=(self.config["num_fixed"], self.config["latent_dim"])).astype(np.float32)
        self.real_spread = None
        self.collapse_warned = False
        self.resumed = False  # True once the folder's earlier run is continued: its files may be rewritten
        self.interrupted = False  # True after a Ctrl-C (or, on the command line, SIGTERM) stopped the last train()
        self.interruption = None  # the KeyboardInterrupt that did

    # -- set-up ---------------------------------------------------------------

    @classmethod
    def open(cls, config: dict, run_dir, images=None) -> "Run":
        """Continue the run in ``run_dir`` if there is one, else start it with ``config``.

        What a notebook wants: run the cell again after an interruption (or to
        train longer) and it carries on instead of starting over. A folder whose
        run was made with other settings (:class:`~gan_helpers.runs.settings.Settings`, compared by
        equality) is refused, naming the settings that differ, rather than silently continuing the old run.
        """
        run_dir = Path(run_dir)
        if not (run_dir / "config.json").exists():
            return cls(config, run_dir, images)
        stored = Settings.of(check_stored(checkpoints.read_config(run_dir), run_dir / "config.json"))
        wanted = Settings.of(default_config(**config))
        if stored != wanted:
            differ = stored.differing(wanted)
            shown = ", ".join(f"{getattr(stored, k)!r} there, {getattr(wanted, k)!r} here" for k in differ[:3])
            raise ValueError(f"{run_dir} holds a run with other settings ({', '.join(differ)}: {shown}); "
                             "use another folder for these settings, or delete that one to start over.")
        run = cls.resume(run_dir, images)
        print(f"Continuing the run in {run_dir} (epoch {run.epoch}, {run.seconds / 60:.1f} min so far).")
        return run

    @classmethod
    def resume(cls, run_dir, images=None, data_dir=None, switch_data: bool = False) -> "Run":
        """Rebuild a run from its folder and restore its last checkpoint.

        A run stopped before its first checkpoint starts again from epoch 0
        with its settings. Leftovers of interrupted writes are removed, and the
        CSVs are rewritten from the checkpoint, so they never hold epochs the
        checkpoint does not. ``data_dir``: where the run's faces are now;
        ``switch_data``: record the faces found now as the run's.
        """
        folder = RunFolder(run_dir)
        config = check_stored(checkpoints.read_config(folder.path), folder.path / "config.json")
        if data_dir is not None:  # the same faces, perhaps moved: anything else would be another run
            folder.check_same_faces(config, data_dir, switch_data)
            config["data_dir"] = str(data.find_data_dir(data_dir))
        if switch_data:
            config["dataset"] = None
        locks = config.get("distribute") != "multi-worker" or is_chief(make_strategy("multi-worker"))
        with folder.locked(locks):  # one writer, before anything in the folder is touched
            run = cls(config, folder.path, images)
            run.resumed = True
            if run.writes:
                files.remove_stray_temporaries(folder.path, only_dead=False)  # the lock is ours: all are stale
            if not (folder.path / CHECKPOINT).exists() and not (folder.path / PREVIOUS_CHECKPOINT).exists():
                print(f"{folder.path} has no checkpoint yet (stopped in its first epoch); starting it from epoch 0.")
                return run
            progress = load_checkpoint(run.gan, folder.path, run.average)
            run.epoch, run.seconds = progress["epoch"], progress["seconds"]
            if "history" in progress:
                run.history, run.steps = progress["history"], progress["steps_rows"]
            else:  # checkpoints written before the history was stored in them
                run.history, run.steps = folder.read_rows(run.epoch, progress["steps"])
            if run.writes:
                folder.write_rows(run.history, run.steps)
            return run

    def _ensure_images(self, progress: bool = False):
        epoch_loop.check_faces(self, progress)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run folder (it has one, and is not a non-chief worker)."""
        return self.run_dir is not None and self.is_chief

    @property
    def generator_iterations(self) -> int:
        """How many steps of this run updated G (every step of an "always" GAN; the WGAN's generator iterations)."""
        return int(sum(s.get("g_updated", 1.0) >= 0.5 for s in self.steps))

    def title(self) -> str:
        rule = f" · balance {self.config['balance']}" if self.config["model"] == "gan" else ""
        rule += f" · averaged G ({self.config['ema_decay']:g})" if self.average is not None else ""
        return (f"{self.config['model']}{rule} · epoch {self.epoch} · "
                f"{self.seconds / 60:.1f} min · step {len(self.steps)}")

    # -- training -------------------------------------------------------------

    def train(self, epochs: int | None = None, minutes: float | None = None, verbose: int = 1,
              live: bool = False, live_every_steps: int = 0, snapshot_minutes=(), callbacks=(),
              generator_iterations: int | None = None, steps: int | None = None,
              snapshot_steps=()) -> list[dict]:
        """Train until ``epochs`` (total, counting earlier ones) or ``minutes`` more have passed.

        ``generator_iterations``: or until the run has updated G that many
        times in all (:attr:`generator_iterations`), the budget that compares
        a GAN with a WGAN at equal generator updates. ``steps``: or until the
        run has made that many training steps in all (the budget that compares
        runs sharing a machine at equal steps). Whichever budget given comes
        first ends the run (:class:`~gan_helpers.runs.budget.Budget`).

        ``snapshot_minutes`` saves the generator to ``snapshots/`` in the run
        folder when the run's total training time passes each value;
        ``snapshot_steps`` when its total number of steps reaches each value.
        ``callbacks``: more Keras callbacks, called after the run's own (the
        averaged generator, if any, is already updated when they see a step).

        Ctrl-C stops cleanly: models and history stay in memory and are
        saved to the run folder. A NaN loss raises :class:`TrainingDiverged`
        after restoring the last good checkpoint.
        """
        budget = Budget(epochs, minutes, steps, generator_iterations).check(
            self.epoch, self.generator_iterations, len(self.steps), self.config["distribute"])
        self._ensure_images(progress=verbose > 0)
        if self.writes and not self.resumed:
            files.check_new_run_folder(self.run_dir)
        with self.folder.locked(self.writes) if self.folder else contextlib.nullcontext():
            if self.writes:
                self.folder.write_settings(self.config)
                self.resumed = True  # from now on this run owns the folder
            made = run_callbacks(self, budget, verbose, live, live_every_steps, snapshot_minutes, snapshot_steps,
                                 callbacks)
            epoch_loop.train_epochs(self, budget, *made)
            if self.writes:
                with epoch_loop.writing(self, budget):
                    self.save_generator()
                where = f" Resume with: {self._resume_command(budget)}" if self.interrupted else ""
                print(f"Saved to {self.run_dir}.{where}")
        return self.history

    def resume_command(self, epochs=None, minutes=None, steps=None, generator_iterations=None) -> str:
        """The command that continues this run to the budget it was given, ready to paste (quoted)."""
        return self._resume_command(Budget(epochs, minutes, steps, generator_iterations))

    def _resume_command(self, budget: Budget) -> str:
        used = (self.seconds - getattr(self, "_seconds_before_call", self.seconds)) / 60  # by this call
        return budget.resume_command(self.run_dir, used)

    def write_missing_generator(self, budget: Budget) -> Path | None:
        """A resumed run whose epoch budget is reached but whose generator was never written (a full disk?):
        write it from the last checkpoint and return where; None when there is training to do."""
        if budget.epochs is None or budget.epochs > self.epoch or (self.run_dir / "generator.keras").exists():
            return None
        return self.save_generator()

    def _collapse_message(self, spread: float, peak: float) -> str | None:
        """Why the fixed batch's pixel ``spread`` looks like mode collapse, given its highest earlier ``peak``."""
        return collapse_message(spread, peak, self.real_spread)

    # -- using the result -----------------------------------------------------

    def generator(self, averaged: bool | None = None):
        """The generator the run samples, measures and saves: the averaged one if the run has one.

        ``averaged=False`` gives the raw generator (the one trained, and kept in
        the checkpoint), ``True`` the averaged one (an error without averaging),
        ``None`` the averaged one when there is one.
        """
        if averaged and self.average is None:
            raise ValueError("This run has no averaged generator; set ema_decay (e.g. 0.999, "
                             "or --ema-decay 0.999) to train with one. Received: averaged=True")
        if averaged is False or self.average is None:
            return self.gan.generator
        return self.average.model

    def sample(self, noise, averaged: bool | None = None) -> np.ndarray:
        """uint8 images from the generator in inference mode (``averaged``: see :meth:`generator`)."""
        generator = self.generator(averaged)
        return plots.as_uint8(generator.predict(np.asarray(noise, np.float32), verbose=0, batch_size=256))

    def save_generator(self, path=None, averaged: bool | None = None) -> Path:
        """Save the generator (the averaged one if the run has one) to ``generator.keras`` or ``path``."""
        path = Path(path) if path is not None else self.run_dir / "generator.keras"
        checkpoints.save_model(self.generator(averaged), path)
        return path

