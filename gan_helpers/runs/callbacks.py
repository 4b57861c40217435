"""The Keras callbacks of a run: its budget, snapshots, the progress bar, the NaN guard and the monitor."""

from __future__ import annotations

import math
import time

import numpy as np

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from gan_helpers import files, plots  # noqa: E402
from gan_helpers.runs import checkpoints  # noqa: E402


class StopAtBudget(keras.callbacks.Callback):
    """Stop at a deadline (``time.monotonic()``), or when the run has made ``generator_iterations`` or ``steps``.

    Checked after every step. Generator iterations are the steps that updated
    G (every step of an "always" GAN; one in n_critic + 1 of a WGAN), counted
    over the whole run, earlier sessions included; so are ``steps``.
    """

    def __init__(self, deadline: float, run=None, generator_iterations: int | None = None,
                 steps: int | None = None):
        super().__init__()
        self.deadline = deadline
        self.run, self.target, self.steps = run, generator_iterations, steps
        self.hit = False
        self._counted, self._iterations = 0, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.target is not None:
            new = self.run.steps[self._counted:]
            self._iterations += sum(s.get("g_updated", 1.0) >= 0.5 for s in new)
            self._counted += len(new)
        if (time.monotonic() >= self.deadline or (self.target is not None and self._iterations >= self.target)
                or (self.steps is not None and len(self.run.steps) >= self.steps)):
            self.hit = True
            self.model.stop_training = True


class Snapshots(keras.callbacks.Callback):
    """Save the generator when the run's training time passes each of ``minutes``, and at each of ``steps``.

    Saved as ``snapshots/generator_{M}min.keras`` and ``snapshots/generator_{N}steps.keras``.
    """

    def __init__(self, run, minutes=(), steps=()):
        super().__init__()
        self.run = run
        self.pending = sorted(m for m in minutes if 60 * m > run.seconds)
        self.pending_steps = sorted(n for n in steps if n > len(run.steps))
        self.epoch_started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = self.run.seconds + time.monotonic() - self.epoch_started
        names = []
        while self.pending and elapsed >= 60 * self.pending[0]:
            names.append(f"generator_{self.pending.pop(0):g}min.keras")
        while self.pending_steps and len(self.run.steps) >= self.pending_steps[0]:
            names.append(f"generator_{self.pending_steps.pop(0)}steps.keras")
        for name in names if self.run.writes else ():
            folder = self.run.run_dir / "snapshots"
            folder.mkdir(exist_ok=True)
            checkpoints.save_model(self.run.generator(), folder / name)


class ProgressBar(keras.callbacks.Callback):
    """A progress bar that counts what will really run.

    With an epoch budget it counts steps (``epochs`` total, so the epochs
    already done are not counted again); with a time budget it counts
    seconds of the budget, since the number of steps that fit is not known
    in advance. Either way the step, the epoch and the latest success rates
    (or the Wasserstein estimate) are shown beside it.
    """

    def __init__(self, run, epochs=None, minutes=None, steps_per_epoch: int = 0, generator_iterations=None,
                 steps=None):
        super().__init__()
        from gan_helpers.progress import bar as tqdm

        self.run = run
        self.by_time = minutes is not None
        self.by_iterations = not self.by_time and generator_iterations is not None and epochs is None
        self.started = time.monotonic()
        if self.by_time:
            total = round(60 * minutes)
            self.bar = tqdm(total=total, desc="training", unit="s", mininterval=0.5,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of the budget "
                                       "[{elapsed}<{remaining}{postfix}]")
        elif self.by_iterations:
            self.bar = tqdm(total=max(0, generator_iterations - run.generator_iterations), desc="training",
                            unit="G it.", mininterval=0.5)
        else:
            total = max(0, (epochs - run.epoch) * steps_per_epoch) if epochs is not None else math.inf
            if steps is not None:  # a step budget, alone or with an epoch budget: whichever comes first
                total = min(total, max(0, steps - len(run.steps)))
            self.bar = tqdm(total=total, desc="training", unit="step", mininterval=0.5)

    def on_train_batch_end(self, batch, logs=None):
        last = self.run.steps[-1] if self.run.steps else {}
        if self.by_time:
            self.bar.n = min(self.bar.total, time.monotonic() - self.started)
        elif self.by_iterations:
            self.bar.n = min(self.bar.total, self.bar.n + int(last.get("g_updated", 1.0) >= 0.5))
        else:
            self.bar.n = min(self.bar.total, self.bar.n + 1)
        shown = {k: last[k] for k in ("d_real_success", "d_fake_success", "g_success", "wasserstein") if k in last}
        self.bar.set_postfix({"epoch": self.run.epoch + 1, "step": len(self.run.steps),
                              **{k: f"{v:.2f}" for k, v in shown.items()}}, refresh=False)
        self.bar.update(0)

    def close(self):
        self.bar.close()


def decay_factor(step: int, lr_decay) -> float:
    """The learning rates' multiplier for the step after ``step`` steps: 1 before ``first``, then falling
    linearly to 0 at ``last`` (``lr_decay = [first, last]``; pix2pix and CycleGAN decay this way)."""
    first, last = lr_decay
    return min(1.0, max(0.0, (last - step) / (last - first)))


class DecayRates(keras.callbacks.Callback):
    """Set both optimizers' learning rates before each step where they change, from ``lr_decay`` and the step count.

    The rate follows the run's total steps (earlier sessions included), so a resumed run continues the
    same schedule; the rates are the run's own (``d_learning_rate``, ``g_learning_rate``) times
    :func:`decay_factor`.
    """

    def __init__(self, run):
        super().__init__()
        from gan_helpers.runs.settings import resolved_rates

        self.run = run
        rates = resolved_rates(run.config)
        self.rates = (rates["d_learning_rate"], rates["g_learning_rate"])
        self.factor = None

    def on_train_batch_begin(self, batch, logs=None):
        factor = decay_factor(len(self.run.steps), self.run.config["lr_decay"])
        if factor == self.factor:
            return
        self.factor = factor
        for optimizer, rate in zip((self.model.d_optimizer, self.model.g_optimizer), self.rates):
            optimizer.learning_rate = rate * factor


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember the step."""

    def __init__(self):
        super().__init__()
        self.bad_step = None

    def on_train_batch_end(self, batch, logs=None):
        values = [float(v) for v in (logs or {}).values()]
        if any(not math.isfinite(v) for v in values):
            self.bad_step = batch
            self.model.stop_training = True


class StopWhenTerminated(keras.callbacks.Callback):
    """Stop after the current step once the command line's SIGTERM handler asked for it (files.py)."""

    def on_train_batch_end(self, batch, logs=None):
        from gan_helpers import files

        if files.termination_requested:
            self.model.stop_training = True


class Monitor(keras.callbacks.Callback):
    """Records every step, and after every epoch draws the curves and the fixed-batch grid.

    In a notebook the figure is redrawn in place (``live=True``); it is
    always saved as ``monitor.png`` and the grid as ``samples/epoch_NNN.png``
    when a run folder is given.
    """

    def __init__(self, run, live: bool = False, every_steps: int = 0):
        super().__init__()
        self.run = run
        self.live = live
        self.every_steps = every_steps

    def on_train_batch_end(self, batch, logs=None):
        gan = self.model
        row = {name: float(var.numpy()) for name, var in gan.last_step.items()}
        row["step"] = len(self.run.steps) + 1
        self.run.steps.append(row)
        if self.live and self.every_steps and row["step"] % self.every_steps == 0:
            self.draw(samples=None)

    def draw(self, samples):
        import matplotlib.pyplot as plt

        fig = plots.training_monitor(self.run.steps, samples if samples is not None else self.run.last_samples,
                                     title=self.run.title())
        if self.run.writes:
            with files.atomic_path(self.run.run_dir / "monitor.png") as tmp:
                fig.savefig(tmp, dpi=80)
        if self.live:
            from IPython.display import clear_output, display

            clear_output(wait=True)
            display(fig)
        plt.close(fig)



#: Mode-collapse warning: the fixed batch's pixel spread below this fraction of real faces' (near-constant samples),
COLLAPSE_FRACTION = 0.25
#: or below COLLAPSE_LOST of real faces' after falling under COLLAPSE_DROP of the highest spread the run's fixed
#: batch had (variety the run had and lost, as when G learns much faster than D). The warning comes once per Run.
COLLAPSE_LOST = 0.5
COLLAPSE_DROP = 0.6


def collapse_message(spread: float, peak: float, real) -> str | None:
    """Why the fixed batch's pixel ``spread`` looks like mode collapse, given its highest earlier ``peak``
    and real faces' spread ``real``."""
    if not real:
        return None
    if spread < COLLAPSE_FRACTION * real:
        return (f"Possible mode collapse: the fixed batch's pixel spread is {spread:.3f}, below "
                f"{COLLAPSE_FRACTION:.0%} of real faces' {real:.3f} (near-constant samples).")
    if spread < COLLAPSE_LOST * real and spread < COLLAPSE_DROP * peak:
        return (f"Possible mode collapse: the fixed batch's pixel spread fell to {spread:.3f} from {peak:.3f} "
                f"earlier in this run, below {COLLAPSE_LOST:.0%} of real faces' {real:.3f}.")
    return None


def epoch_row(run, new_steps: list[dict], partial: bool) -> dict:
    """history.csv's row of the epoch whose steps are ``new_steps``: the mean of every metric, skips, minutes."""
    row = {"epoch": run.epoch, "steps": len(run.steps), "minutes": round(run.seconds / 60, 3),
           "partial": int(partial)}
    for key in new_steps[0]:
        if key != "step":
            values = np.array([s[key] for s in new_steps], float)
            # NaN where no step had the value (e.g. Loss_G in a WGAN epoch without generator updates).
            row[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    if hasattr(run.gan, "d_skips"):
        row["d_skips"] = int(run.gan.d_skips.numpy())
        row["g_skips"] = int(run.gan.g_skips.numpy())
    else:
        row["gen_iterations"] = int(run.gan.gen_iterations.numpy())
    return row


def run_callbacks(run, budget, verbose, live, live_every_steps, snapshot_minutes, snapshot_steps, extra):
    """The callbacks of one ``Run.train`` call, in their order, and the three the loop reads."""
    from gan_helpers import averaging

    steps, decay = budget.steps, run.config.get("lr_decay")
    if decay is not None:  # the rates are 0 from the decay's last step on: the run ends there
        if len(run.steps) >= decay[1]:
            raise ValueError(f"This run's learning rates fell to 0 at step {decay[1]} (lr_decay {decay}), and it "
                             f"has {len(run.steps)} steps: training it further changes nothing. Start a new run "
                             "with a later lr_decay to train longer.")
        steps = decay[1] if steps is None else min(steps, decay[1])
    stop, nan_guard = StopAtBudget(budget.deadline(), run, budget.generator_iterations, steps), StopOnNaN()
    monitor = Monitor(run, live=live, every_steps=live_every_steps)
    callbacks = [monitor, nan_guard, stop]
    if decay is not None:
        callbacks.insert(0, DecayRates(run))
    if run.average is not None:
        callbacks.insert(0, averaging.UpdateAverage(run.average))
    if verbose:
        callbacks.append(ProgressBar(run, epochs=budget.epochs, minutes=budget.minutes,
                                     steps_per_epoch=len(run.images) // run.config["batch_size"],
                                     generator_iterations=budget.generator_iterations, steps=budget.steps))
    if snapshot_minutes or snapshot_steps:
        if run.run_dir is None:
            raise ValueError("snapshot_minutes and snapshot_steps need a run folder (run_dir).")
        callbacks.append(Snapshots(run, snapshot_minutes, snapshot_steps))
    return callbacks + list(extra) + [StopWhenTerminated()], stop, nan_guard, monitor
