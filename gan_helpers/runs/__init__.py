"""Training runs that survive: settings, the model factory, checkpoints, callbacks, ``Run`` and experiments.

The rooms, each a module of this package:

==================  ===================================================================
``settings``        the defaults as data, their checks, stored configs brought up to date,
                    budgets (:func:`default_config`, :data:`MODEL_DEFAULTS`, :data:`BLOG_RECIPE`)
``factory``         the one model factory: the GAN, WGAN or WGAN-GP of a config (:func:`build`)
``checkpoints``     run-folder files: the checkpoint, the CSVs, config.json, saved models
``callbacks``       the Keras callbacks of a run (budget, snapshots, progress bar, NaN guard, monitor)
``run``             :class:`Run`: build or resume, train, checkpoint, sample
``experiments``     several runs compared, evaluation at marks, :func:`watch`, the balance-rule study
==================  ===================================================================

Devices and ``tf.distribute`` strategies live in :mod:`gan_helpers.devices`, which does not start
TensorFlow. Everything a notebook or a script uses is importable from ``gan_helpers.runs`` itself.
"""

from gan_helpers.devices import is_chief, make_strategy
from gan_helpers.runs.callbacks import Monitor, ProgressBar, Snapshots, StopAtBudget, StopOnNaN, StopWhenTerminated
from gan_helpers.runs.checkpoints import (CHECKPOINT, PREVIOUS_CHECKPOINT, CheckpointError, load_checkpoint,
                                          read_config, read_csv, save_checkpoint, save_model, write_csv)
from gan_helpers.runs.experiments import (BALANCE_SETTINGS, balance_table, compare_balance_rules, evaluate_at_marks,
                                          evaluate_run, results_table, train_and_evaluate, train_until, watch)
from gan_helpers.runs.factory import build
from gan_helpers.runs.run import COLLAPSE_FRACTION, Run, TrainingDiverged
from gan_helpers.runs.settings import (BLOG_RECIPE, DISTRIBUTE, MODEL_DEFAULTS, PRECISIONS, REFERENCE_RATES,
                                       check_budget, default_config, resolved_rates, upgrade_config)

__all__ = [
    "BALANCE_SETTINGS", "BLOG_RECIPE", "CHECKPOINT", "COLLAPSE_FRACTION", "CheckpointError", "DISTRIBUTE",
    "MODEL_DEFAULTS", "Monitor", "PRECISIONS", "PREVIOUS_CHECKPOINT", "ProgressBar", "REFERENCE_RATES", "Run",
    "Snapshots", "StopAtBudget", "StopOnNaN", "StopWhenTerminated", "TrainingDiverged", "balance_table", "build", "check_budget",
    "compare_balance_rules", "default_config", "evaluate_at_marks", "evaluate_run", "is_chief", "load_checkpoint",
    "make_strategy", "read_config", "read_csv", "resolved_rates", "results_table", "save_checkpoint", "save_model",
    "train_and_evaluate", "train_until", "upgrade_config", "watch", "write_csv",
]
