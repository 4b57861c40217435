"""Training runs that survive: settings, the model factory, checkpoints, callbacks, ``Run`` and experiments.

The rooms, each a module of this package:

==================  ===================================================================
``settings``        the settings' schema (:class:`Settings`: types, ranges, defaults, checked once),
                    what a run resolved (:class:`Resolved`), :func:`default_config`, stored configs
``budget``          :class:`Budget`: a training budget as one value, checked once
``folder``          :class:`RunFolder`: a run folder's checks, lock and files, without TensorFlow
``factory``         the one model factory: the GAN, WGAN or WGAN-GP of a config (:func:`build`)
``checkpoints``     run-folder files: the checkpoint, the CSVs, config.json, saved models
``callbacks``       the Keras callbacks of a run (budget, snapshots, progress bar, NaN guard, monitor)
``epochs``          a run's epochs: the loop, each epoch's end, interruptions, failed writes
``run``             :class:`Run`: build or resume, train, checkpoint, sample
``experiments``     several runs compared, evaluation at marks, :func:`watch`, the balance-rule study
==================  ===================================================================

Devices and ``tf.distribute`` strategies live in :mod:`gan_helpers.devices`, which does not start
TensorFlow. Everything a notebook or a script uses is importable from ``gan_helpers.runs`` itself.
"""

import importlib

#: Where each name lives: the rooms are imported when a name is first used, so that the rooms without
#: TensorFlow (``budget``, ``folder``, ``checkpoints``) can be imported without starting it.
_HOMES = {
    "devices": ("is_chief", "make_strategy"),
    "runs.budget": ("Budget", "check_budget"),
    "runs.callbacks": ("Monitor", "ProgressBar", "Snapshots", "StopAtBudget", "StopOnNaN", "StopWhenTerminated"),
    "runs.checkpoints": ("CHECKPOINT", "PREVIOUS_CHECKPOINT", "CheckpointError", "load_checkpoint", "read_config",
                         "read_csv", "save_checkpoint", "save_model", "write_csv"),
    "runs.experiments": ("BALANCE_SETTINGS", "balance_table", "compare_balance_rules", "evaluate_at_marks",
                         "evaluate_run", "results_table", "train_and_evaluate", "train_until", "watch"),
    "runs.factory": ("build",),
    "runs.folder": ("RunFolder",),
    "runs.run": ("COLLAPSE_FRACTION", "Run", "TrainingDiverged"),
    "runs.settings": ("BLOG_RECIPE", "DISTRIBUTE", "MODEL_DEFAULTS", "PRECISIONS", "REFERENCE_RATES", "Resolved",
                      "Settings", "default_config", "resolved_rates", "upgrade_config"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name):
    if name not in _HOME_OF:
        raise AttributeError(f"module 'gan_helpers.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gan_helpers.{_HOME_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOME_OF))


__all__ = [
    "BALANCE_SETTINGS", "BLOG_RECIPE", "Budget", "CHECKPOINT", "COLLAPSE_FRACTION", "CheckpointError",
    "DISTRIBUTE", "MODEL_DEFAULTS", "Monitor", "PRECISIONS", "PREVIOUS_CHECKPOINT", "ProgressBar",
    "REFERENCE_RATES", "Resolved", "Run", "RunFolder", "Settings", "Snapshots", "StopAtBudget", "StopOnNaN",
    "StopWhenTerminated",
    "TrainingDiverged", "balance_table", "build", "check_budget", "compare_balance_rules", "default_config",
    "evaluate_at_marks", "evaluate_run", "is_chief", "load_checkpoint", "make_strategy", "read_config",
    "read_csv", "resolved_rates", "results_table", "save_checkpoint", "save_model", "train_and_evaluate",
    "train_until", "upgrade_config", "watch", "write_csv",
]
