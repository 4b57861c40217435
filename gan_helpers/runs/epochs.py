"""A :class:`~gan_helpers.runs.Run`'s epochs: the loop, each epoch's end (samples, checkpoint, CSVs), an
interruption (Ctrl-C, SIGTERM), a failed write (a full disk) and a loss that diverged."""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from gan_helpers import data, files, metrics, plots
from gan_helpers.pipeline import worker_dataset
from gan_helpers.runs.callbacks import ProgressBar, collapse_message, epoch_row
from gan_helpers.runs.checkpoints import CHECKPOINT, load_checkpoint, save_checkpoint
from gan_helpers.runs.folder import training_faces


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def check_faces(run, progress: bool = False) -> None:
    """The run's training faces, loaded if not given, checked against its settings before anything is written."""
    if run.images is None:
        run.images = training_faces(run.config, run.resumed, progress)
    if run.images.shape[1] != run.config["image_size"]:
        raise ValueError(f"The images are {run.images.shape[1]} px but the run is configured for "
                         f"{run.config['image_size']} px.")
    if len(run.images) < run.config["batch_size"]:  # before the folder is written: nothing to clean up
        raise ValueError(f"batch_size {run.config['batch_size']} is more than the {len(run.images):,} training "
                         "faces; give a smaller batch_size.")
    if run.real_spread is None:
        sample = run.images[np.random.default_rng(0).choice(len(run.images), min(len(run.images), 512),
                                                            replace=False)]
        run.real_spread = metrics.pixel_spread(sample)


def train_epochs(run, budget, callbacks, stop, nan_guard, monitor) -> None:
    """Whole epochs until the budget; Ctrl-C (or SIGTERM on the command line) ends the epoch early and saves."""
    run.interrupted, run.interruption = False, None
    run._seconds_before_call = run.seconds  # for the resume hint's remaining minutes
    files.defer_termination, files.termination_requested = True, False
    try:
        while (budget.epochs is None or run.epoch < budget.epochs) and not stop.hit:
            started, steps_before = time.monotonic(), len(run.steps)
            run.gan.fit(epoch_dataset(run), epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
            run.seconds += time.monotonic() - started
            if files.termination_requested:  # SIGTERM: stopped after a whole step, as Ctrl-C stops
                raise files.Terminated()
            if nan_guard.bad_step is not None:
                diverged(run, nan_guard.bad_step)
            run.epoch += 1
            end_epoch(run, steps_before, monitor, partial=stop.hit)
        if files.termination_requested:  # SIGTERM during the last epoch's end: saved, and reported as such
            raise files.Terminated()
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM on the command line
        run.interrupted, run.interruption = True, interruption
        print(f"\nInterrupted at epoch {run.epoch}, step {len(run.steps)}: models and history kept.")
        with writing(run, budget):
            end_epoch(run, len(run.steps), monitor, partial=True, record=False)
    except OSError as error:
        write_failed(run, error, budget)
    finally:
        files.defer_termination = False
        for callback in callbacks:
            if isinstance(callback, ProgressBar):
                callback.close()


def write_failed(run, error: OSError, budget) -> None:
    """A write of the run folder failed (a full disk): say which file, and that the run can go on."""
    if not run.writes:
        raise error
    raise OSError(f"{error} The run in {run.run_dir} keeps its last complete checkpoint and can go on: free "
                  f"some space, then resume with: {run._resume_command(budget)}") from None


@contextlib.contextmanager
def writing(run, budget):
    """Around a write of the run folder: a failed write said as :func:`write_failed` says it."""
    try:
        yield
    except OSError as error:
        write_failed(run, error, budget)


def epoch_dataset(run):
    """This epoch's batches; on a multi-worker run, this worker's part of each global batch."""
    batch, seed = run.config["batch_size"], run.config["seed"] + run.epoch

    def make():
        return data.make_dataset(run.images, batch, seed=seed, mirror=run.config["mirror"])

    return make() if run.config["distribute"] != "multi-worker" else worker_dataset(run.strategy, make, batch)


def diverged(run, bad_step):
    message = (f"A loss became NaN or infinite at step {bad_step + 1} of epoch {run.epoch + 1}; "
               "training stopped. Try lower learning rates.")
    if run.run_dir is not None and (run.run_dir / CHECKPOINT).exists():
        progress = load_checkpoint(run.gan, run.run_dir, run.average)
        run.steps = run.steps[:progress["steps"]]
        message += f" The last good checkpoint (epoch {progress['epoch']}) is kept and restored in memory."
    raise TrainingDiverged(message)


def end_epoch(run, steps_before, monitor, partial=False, record=True):
    """An epoch's end: its history row, the fixed batch's samples, the collapse check, and (for a run that
    writes its folder) the grid, the checkpoint and the CSVs; then the monitor."""
    new_steps = run.steps[steps_before:]
    if record and new_steps:
        run.history.append(epoch_row(run, new_steps, partial))
    run.last_samples = run.sample(run.fixed_noise)
    spread = metrics.pixel_spread(run.last_samples)
    peak = max((h["fixed_batch_spread"] for h in run.history if "fixed_batch_spread" in h), default=0.0)
    if run.history and record:
        run.history[-1]["fixed_batch_spread"] = spread
    message = collapse_message(spread, peak, run.real_spread)
    if message and not run.collapse_warned:
        run.collapse_warned = True
        warnings.warn(message + " The warning comes once per run; history.csv's fixed_batch_spread has every "
                      "epoch's value.", stacklevel=3)
    if run.writes:
        plots.save_grid(run.last_samples, run.run_dir / "samples" / f"epoch_{run.epoch:03d}.png", columns=8)
        if record:
            # The checkpoint first: it holds the history too, so CSVs written after it can always be
            # made to match it again (Run.resume rewrites them from the checkpoint).
            save_checkpoint(run.gan, run.run_dir, {"epoch": run.epoch, "steps": len(run.steps),
                                                   "seconds": run.seconds},
                            history=run.history, steps=run.steps, average=run.average)
        run.folder.write_rows(run.history, run.steps)
    monitor.draw(run.last_samples)
