"""A training budget as one value: epochs, minutes, steps, generator iterations; checked in one place.

Imports no TensorFlow, so the command line checks a budget before paying for that import.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import time

import numpy as np


@dataclasses.dataclass(frozen=True)
class Budget:
    """When a training stops: whichever given limit comes first.

    ``epochs``, ``steps`` and ``generator_iterations`` count the run's totals (earlier sessions
    included); ``minutes`` counts this call's training time.
    """

    epochs: int | None = None
    minutes: float | None = None
    steps: int | None = None
    generator_iterations: int | None = None

    def check(self, done_epochs: int = 0, done_iterations: int = 0, done_steps: int = 0,
              distribute=None) -> Budget:
        """This budget, if it is given and trains something more; else one line naming the fix."""
        if self == Budget():
            raise ValueError("Give a budget: --minutes M or --epochs E (epochs=E or minutes=M in Python).")
        minutes = self.minutes
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                    or not math.isfinite(minutes) or minutes <= 0):
            raise ValueError(f"--minutes must be a positive number. Received: {minutes}")
        if self.epochs is not None:
            _check_total(self.epochs, done_epochs, "--epochs", "epochs", ", or --minutes")
        if self.generator_iterations is not None:
            _check_total(self.generator_iterations, done_iterations, "generator_iterations", "generator iterations")
        if self.steps is not None:
            _check_total(self.steps, done_steps, "steps", "training steps")
        if distribute == "multi-worker" and (minutes, self.generator_iterations, self.steps) != (None,) * 3:
            # Each worker would stop at its own step and leave the others waiting in a collective.
            raise ValueError("A multi-worker run needs an epoch budget (--epochs E), not --minutes "
                             "(nor a budget in steps or generator iterations).")
        return self

    def deadline(self) -> float:
        """The ``time.monotonic()`` at which the minutes run out (infinity without minutes)."""
        return time.monotonic() + 60 * self.minutes if self.minutes is not None else math.inf

    def resume_command(self, run_dir, used_minutes: float = 0.0) -> str:
        """The command that continues the run in ``run_dir`` to this budget, ready to paste (quoted).

        ``used_minutes``: what this call already trained of ``minutes``.
        """
        if self.epochs is not None:
            flag = f"--epochs {self.epochs}"
        elif self.minutes is not None:
            flag = f"--minutes {max(0.1, math.ceil(10 * (self.minutes - used_minutes)) / 10):g}"
        else:
            flag = "--minutes 10"  # the command line has no steps budget: any budget of the user's choice
        return f"python -m gan_helpers train --resume {shlex.quote(str(run_dir))} {flag}"


def check_budget(epochs=None, minutes=None, done_epochs: int = 0, generator_iterations=None,
                 done_iterations: int = 0, steps=None, done_steps: int = 0) -> None:
    """A training budget must be given and must be something that trains (:meth:`Budget.check`)."""
    Budget(epochs, minutes, steps, generator_iterations).check(done_epochs, done_iterations, done_steps)


def _check_total(value, done: int, name: str, counted: str, alternative: str = "") -> None:
    """A budget that counts the run's total (epochs, generator iterations, steps): a whole number above ``done``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1. Received: {value}")
    if value <= done:
        raise ValueError(f"{name} counts the run's total {counted}, and this run already has {done}; "
                         f"give more than {done}{alternative}.")
