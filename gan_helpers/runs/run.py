"""``Run``: training runs that survive: a run folder, checkpoints, exact resume, budgets, monitoring.

A run folder holds::

    config.json           what was trained, how (enough to rebuild everything)
    checkpoint.npz        both models, both optimizers, the step, all RNG state (and the averaged G)
    history.csv           one row per epoch: the mean of every metric, skips, minutes
    steps.csv             one row per step: the raw values the live plot draws
    samples/epoch_NNN.png the fixed latent batch after each epoch
    monitor.png           the monitor figure (curves + latest grid)
    generator.keras       the final generator (also written on Ctrl-C and at the budget)

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

import json
import math
import time
import warnings
from pathlib import Path

import numpy as np

from gan_helpers import averaging, data, files, metrics, plots
from gan_helpers.devices import is_chief, make_strategy
from gan_helpers.runs.callbacks import (Monitor, ProgressBar, Snapshots, StopAtBudget, StopOnNaN,
                                        StopWhenTerminated)
from gan_helpers.runs import checkpoints
from gan_helpers.runs.checkpoints import (CHECKPOINT, PREVIOUS_CHECKPOINT, load_checkpoint, read_config, read_csv,
                                          save_checkpoint, write_csv)
from gan_helpers.runs.factory import build
from gan_helpers.runs.settings import check_budget, check_stored, default_config, resolved_rates

#: Mode-collapse warning: the fixed batch's pixel spread below this fraction of real faces' (near-constant samples),
COLLAPSE_FRACTION = 0.25
#: or below COLLAPSE_LOST of real faces' after falling under COLLAPSE_DROP of the highest spread the run's fixed
#: batch had (variety the run had and lost, as when G learns much faster than D). The warning comes once per Run.
COLLAPSE_LOST = 0.5
COLLAPSE_DROP = 0.6


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


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
        self.epoch = 0
        self.seconds = 0.0
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
        run was made with other settings is refused, naming the settings that
        differ, rather than silently continuing the old run.
        """
        run_dir = Path(run_dir)
        if (run_dir / "config.json").exists():
            stored = resolved_rates(check_stored(read_config(run_dir), Path(run_dir) / "config.json"))
            wanted = resolved_rates(json.loads(json.dumps(default_config(**config), default=str)))
            differ = sorted(k for k in set(stored) | set(wanted)
                            if k not in ("data_dir", "dataset", "fused", "precision_reason")
                            and stored.get(k) != wanted.get(k)
                            and not (k == "precision" and str(wanted.get("precision_reason")).startswith("auto"))
                            and not (k == "replicas" and wanted.get(k) is None))
            if differ:
                raise ValueError(f"{run_dir} holds a run with other settings ({', '.join(differ)}: "
                                 f"{', '.join(f'{stored.get(k)!r} there, {wanted.get(k)!r} here' for k in differ[:3])}); "
                                 "use another folder for these settings, or delete that one to start over.")
            run = cls.resume(run_dir, images)
            print(f"Continuing the run in {run_dir} (epoch {run.epoch}, {run.seconds / 60:.1f} min so far).")
            return run
        return cls(config, run_dir, images)

    @classmethod
    def resume(cls, run_dir, images=None) -> "Run":
        """Rebuild a run from its folder and restore its last checkpoint.

        A run stopped before its first checkpoint starts again from epoch 0
        with its settings. Leftovers of interrupted writes are removed, and the
        CSVs are rewritten from the checkpoint, so they never hold epochs the
        checkpoint does not.
        """
        run_dir = Path(run_dir)
        config = check_stored(read_config(run_dir), run_dir / "config.json")
        locks = config.get("distribute") != "multi-worker" or is_chief(make_strategy("multi-worker"))
        if locks:
            files.lock_run_folder(run_dir)  # one writer, before anything in the folder is touched
        try:
            return cls._resume_locked(config, run_dir, images)
        finally:
            if locks:
                files.unlock_run_folder(run_dir)

    @classmethod
    def _resume_locked(cls, config, run_dir, images):
        run = cls(config, run_dir, images)
        run.resumed = True
        if run.writes:
            files.remove_stray_temporaries(run_dir, only_dead=False)  # the lock is ours: every leftover is stale
        if not (run_dir / CHECKPOINT).exists() and not (run_dir / PREVIOUS_CHECKPOINT).exists():
            print(f"{run_dir} has no checkpoint yet (stopped in its first epoch); starting it from epoch 0.")
            return run
        progress = load_checkpoint(run.gan, run_dir, run.average)
        run.epoch, run.seconds = progress["epoch"], progress["seconds"]
        if "history" in progress:
            run.history, run.steps = progress["history"], progress["steps_rows"]
        else:  # checkpoints written before the history was stored in them
            run.history = [row for row in read_csv(run_dir / "history.csv") if row["epoch"] <= run.epoch]
            run.steps = read_csv(run_dir / "steps.csv")[:progress["steps"]]
        if run.writes:
            run._write_csvs()
        return run

    def _ensure_images(self, progress: bool = False):
        if self.images is None:
            recorded = self.config.get("data_dir")
            if self.resumed and recorded and not Path(recorded).exists():
                raise FileNotFoundError(f"The run's dataset {recorded} (its config.json's data_dir) is not there any "
                                        "more; if the faces moved, resume with --data NEW_PLACE (in Python, "
                                        "run.config['data_dir'] = NEW_PLACE).")
            faces = data.load_dataset(self.config.get("data_dir"), self.config["image_size"],
                                      crop=self.config.get("crop", data.DEFAULT_CROP),
                                      limit=self.config.get("limit"), progress=progress)
            # Record where the faces came from, also when it was found through LFW_DIR or the defaults, and
            # which faces they are: resuming on other faces would train on them and break the held-out split.
            found = data.fingerprint(faces.source)
            recorded = self.config.get("dataset")
            if self.resumed and recorded and recorded != found:
                raise ValueError(
                    f"The faces at {faces.source} are not the ones this run trained on ({found['images']:,} images "
                    f"now, {recorded['images']:,} then{'' if found['images'] != recorded['images'] else ', other names'}"
                    "): resuming would train on other faces, and evaluate would hold out people the run has seen. "
                    "Resume with the run's own faces (--data), start a new run with --out, or switch on purpose "
                    "with --switch-data.")
            self.config["data_dir"], self.config["dataset"] = str(faces.source), found
            self.images = data.training_part(faces, self.config["holdout"])
        if self.images.shape[1] != self.config["image_size"]:
            raise ValueError(f"The images are {self.images.shape[1]} px but the run is configured for "
                             f"{self.config['image_size']} px.")
        if self.real_spread is None:
            sample = self.images[np.random.default_rng(0).choice(len(self.images), min(len(self.images), 512),
                                                                 replace=False)]
            self.real_spread = metrics.pixel_spread(sample)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run folder (it has one, and is not a non-chief worker)."""
        return self.run_dir is not None and self.is_chief

    def _prepare_folder(self):
        if not self.writes:
            return
        if not self.resumed:
            files.check_new_run_folder(self.run_dir)
            self.resumed = True  # from now on this run owns the folder
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.config.items()}
        files.write_text(self.run_dir / "config.json", json.dumps(config, indent=2))

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
        first ends the run.

        ``snapshot_minutes`` saves the generator to ``snapshots/`` in the run
        folder when the run's total training time passes each value;
        ``snapshot_steps`` when its total number of steps reaches each value.
        ``callbacks``: more Keras callbacks, called after the run's own (the
        averaged generator, if any, is already updated when they see a step).

        Ctrl-C stops cleanly: models and history stay in memory and are
        saved to the run folder. A NaN loss raises :class:`TrainingDiverged`
        after restoring the last good checkpoint.
        """
        check_budget(epochs, minutes, done_epochs=self.epoch, generator_iterations=generator_iterations,
                     done_iterations=self.generator_iterations, steps=steps, done_steps=len(self.steps))
        if self.config["distribute"] == "multi-worker" and (minutes, generator_iterations, steps) != (None,) * 3:
            # Each worker would stop at its own step and leave the others waiting in a collective.
            raise ValueError("A multi-worker run needs an epoch budget (--epochs E), not --minutes "
                             "(nor a budget in steps or generator iterations).")
        self._ensure_images(progress=verbose > 0)
        if len(self.images) < self.config["batch_size"]:  # before the folder is written: nothing to clean up
            raise ValueError(f"batch_size {self.config['batch_size']} is more than the {len(self.images):,} training "
                             "faces; give a smaller batch_size.")
        if self.writes:  # one writer while this trains (a second process is refused, naming this one)
            if not self.resumed:
                files.check_new_run_folder(self.run_dir)
            files.lock_run_folder(self.run_dir)
        try:
            return self._train_locked(epochs, minutes, verbose, live, live_every_steps, snapshot_minutes, callbacks,
                                      generator_iterations, steps, snapshot_steps)
        finally:
            if self.writes:
                files.unlock_run_folder(self.run_dir)

    def _train_locked(self, epochs, minutes, verbose, live, live_every_steps, snapshot_minutes, callbacks,
                      generator_iterations, steps, snapshot_steps):
        self._prepare_folder()
        deadline = time.monotonic() + 60 * minutes if minutes is not None else math.inf
        budget, nan_guard = StopAtBudget(deadline, self, generator_iterations, steps), StopOnNaN()
        monitor = Monitor(self, live=live, every_steps=live_every_steps)
        extra_callbacks, callbacks = list(callbacks), [monitor, nan_guard, budget]
        if self.average is not None:
            callbacks.insert(0, averaging.UpdateAverage(self.average))
        if verbose:
            steps_per_epoch = len(self.images) // self.config["batch_size"]
            callbacks.append(ProgressBar(self, epochs=epochs, minutes=minutes, steps_per_epoch=steps_per_epoch,
                                         generator_iterations=generator_iterations, steps=steps))
        if snapshot_minutes or snapshot_steps:
            if self.run_dir is None:
                raise ValueError("snapshot_minutes and snapshot_steps need a run folder (run_dir).")
            callbacks.append(Snapshots(self, snapshot_minutes, snapshot_steps))
        callbacks += extra_callbacks
        self.interrupted, self.interruption = False, None
        self._seconds_before_call = self.seconds  # for the resume hint's remaining minutes
        callbacks.append(StopWhenTerminated())
        files.defer_termination, files.termination_requested = True, False
        try:
            while (epochs is None or self.epoch < epochs) and not budget.hit:
                dataset = self._dataset()
                started = time.monotonic()
                steps_before = len(self.steps)
                self.gan.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
                self.seconds += time.monotonic() - started
                if files.termination_requested:  # SIGTERM: stopped after a whole step, as Ctrl-C stops
                    raise files.Terminated()
                if nan_guard.bad_step is not None:
                    self._diverged(nan_guard.bad_step)
                self.epoch += 1
                self._end_epoch(steps_before, monitor, partial=budget.hit)
            if files.termination_requested:  # SIGTERM during the last epoch's end: saved, and reported as such
                raise files.Terminated()
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM on the command line (a KeyboardInterrupt too)
            self.interrupted, self.interruption = True, stop
            print(f"\nInterrupted at epoch {self.epoch}, step {len(self.steps)}: models and history kept.")
            with self._writing(epochs, minutes, steps, generator_iterations):
                self._end_epoch(len(self.steps), monitor, partial=True, record=False)
        except OSError as error:
            self._write_failed(error, epochs, minutes, steps, generator_iterations)
        finally:
            files.defer_termination = False
            for callback in callbacks:
                if isinstance(callback, ProgressBar):
                    callback.close()
        if self.writes:
            with self._writing(epochs, minutes, steps, generator_iterations):
                self.save_generator()
            where = f" Resume with: {self.resume_command(epochs, minutes, steps, generator_iterations)}" \
                if self.interrupted else ""
            print(f"Saved to {self.run_dir}.{where}")
        return self.history

    def _write_failed(self, error: OSError, *budget):
        """A write of the run folder failed (a full disk): say which file, and that the run can go on."""
        if not self.writes:
            raise error
        raise OSError(f"{error} The run in {self.run_dir} keeps its last complete checkpoint and can go on: free "
                      f"some space, then resume with: {self.resume_command(*budget)}") from None

    def _writing(self, *budget):
        import contextlib

        @contextlib.contextmanager
        def guard():
            try:
                yield
            except OSError as error:
                self._write_failed(error, *budget)

        return guard()

    def resume_command(self, epochs=None, minutes=None, steps=None, generator_iterations=None) -> str:
        """The command that continues this run to the budget it was given, ready to paste (quoted)."""
        import shlex

        if epochs is not None:
            budget = f"--epochs {epochs}"
        elif minutes is not None:
            used = (self.seconds - getattr(self, "_seconds_before_call", self.seconds)) / 60  # by this call
            budget = f"--minutes {max(0.1, math.ceil(10 * (minutes - used)) / 10):g}"
        else:
            budget = "--minutes 10"  # the command line has no steps budget: any budget of the user's choice
        return f"python -m gan_helpers train --resume {shlex.quote(str(self.run_dir))} {budget}"

    def _dataset(self):
        """This epoch's batches; on a multi-worker run, this worker's part of each global batch.

        Every worker shuffles the same way (the same seed), cuts each global batch into as many
        equal parts as workers and keeps its own, then one part per local replica: a global batch
        holds each image at most once, and holds the images one device's batch would.
        """
        batch = self.config["batch_size"]
        seed = self.config["seed"] + self.epoch

        def make():
            return data.make_dataset(self.images, batch, seed=seed, mirror=self.config["mirror"])

        if self.config["distribute"] != "multi-worker":
            return make()
        replicas = self.strategy.num_replicas_in_sync
        if batch % replicas:
            raise ValueError(f"batch_size {batch} must be a multiple of the {replicas} replicas.")

        def shard(context):
            workers, worker = context.num_input_pipelines, context.input_pipeline_id
            part = batch // workers
            dataset = make().map(lambda images: images[worker * part:(worker + 1) * part])
            return dataset.unbatch().batch(context.get_per_replica_batch_size(batch), drop_remainder=True)

        return self.strategy.distribute_datasets_from_function(shard)

    def _diverged(self, bad_step):
        message = (f"A loss became NaN or infinite at step {bad_step + 1} of epoch {self.epoch + 1}; "
                   "training stopped. Try lower learning rates.")
        if self.run_dir is not None and (self.run_dir / CHECKPOINT).exists():
            progress = load_checkpoint(self.gan, self.run_dir, self.average)
            self.steps = self.steps[:progress["steps"]]
            message += f" The last good checkpoint (epoch {progress['epoch']}) is kept and restored in memory."
        raise TrainingDiverged(message)

    def _collapse_message(self, spread: float, peak: float) -> str | None:
        """Why the fixed batch's pixel ``spread`` looks like mode collapse, given its highest earlier ``peak``."""
        real = self.real_spread
        if not real:
            return None
        if spread < COLLAPSE_FRACTION * real:
            return (f"Possible mode collapse: the fixed batch's pixel spread is {spread:.3f}, below "
                    f"{COLLAPSE_FRACTION:.0%} of real faces' {real:.3f} (near-constant samples).")
        if spread < COLLAPSE_LOST * real and spread < COLLAPSE_DROP * peak:
            return (f"Possible mode collapse: the fixed batch's pixel spread fell to {spread:.3f} from {peak:.3f} "
                    f"earlier in this run, below {COLLAPSE_LOST:.0%} of real faces' {real:.3f}.")
        return None

    def _end_epoch(self, steps_before, monitor, partial=False, record=True):
        new_steps = self.steps[steps_before:]
        if record and new_steps:
            row = {"epoch": self.epoch, "steps": len(self.steps), "minutes": round(self.seconds / 60, 3),
                   "partial": int(partial)}
            for key in new_steps[0]:
                if key != "step":
                    values = np.array([s[key] for s in new_steps], float)
                    # NaN where no step had the value (e.g. Loss_G in a WGAN epoch without generator updates).
                    row[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            if hasattr(self.gan, "d_skips"):
                row["d_skips"] = int(self.gan.d_skips.numpy())
                row["g_skips"] = int(self.gan.g_skips.numpy())
            else:
                row["gen_iterations"] = int(self.gan.gen_iterations.numpy())
            self.history.append(row)
        self.last_samples = self.sample(self.fixed_noise)
        spread = metrics.pixel_spread(self.last_samples)
        peak = max((h["fixed_batch_spread"] for h in self.history if "fixed_batch_spread" in h), default=0.0)
        if self.history and record:
            self.history[-1]["fixed_batch_spread"] = spread
        message = self._collapse_message(spread, peak)
        if message and not self.collapse_warned:
            self.collapse_warned = True
            warnings.warn(message + " The warning comes once per run; history.csv's fixed_batch_spread has every "
                          "epoch's value.", stacklevel=3)
        if self.writes:
            plots.save_grid(self.last_samples, self.run_dir / "samples" / f"epoch_{self.epoch:03d}.png", columns=8)
            if record:
                # The checkpoint first: it holds the history too, so CSVs written after it can always be
                # made to match it again (Run.resume rewrites them from the checkpoint).
                save_checkpoint(self.gan, self.run_dir, {"epoch": self.epoch, "steps": len(self.steps),
                                                         "seconds": self.seconds},
                                history=self.history, steps=self.steps, average=self.average)
            self._write_csvs()
        monitor.draw(self.last_samples)

    def _write_csvs(self):
        write_csv(self.run_dir / "history.csv", self.history)
        write_csv(self.run_dir / "steps.csv", self.steps)

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
        """uint8 images from the generator in inference mode (``averaged``: see :meth:`generator`).

        ``run.sample(noise, averaged=False)`` next to ``run.sample(noise)`` shows
        the raw and the averaged generator side by side.
        """
        generator = self.generator(averaged)
        return plots.as_uint8(generator.predict(np.asarray(noise, np.float32), verbose=0, batch_size=256))

    def save_generator(self, path=None, averaged: bool | None = None) -> Path:
        """Save the generator (the averaged one if the run has one) to ``generator.keras`` or ``path``."""
        path = Path(path) if path is not None else self.run_dir / "generator.keras"
        checkpoints.save_model(self.generator(averaged), path)
        return path

