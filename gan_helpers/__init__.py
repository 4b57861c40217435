"""Helpers for the GAN Faces Workbook.

The notebooks import everything they need from here; this package is the
single source of truth for the data pipeline, the layers, the models, the
training loops, the metrics, the plots and the widgets.

Importing ``gan_helpers`` is cheap on purpose: TensorFlow is only imported by
the sub-modules that need it (``layers``, ``models``, ...), so the command
line answers ``--help`` and ``prepare`` without waiting for TensorFlow.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root when the package is used from a checkout (editable install).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
