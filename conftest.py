"""Settings for every pytest run in the repository: the tests, and the notebooks run by nbval.

At the root, so that it applies however pytest is started: ``python -m pytest``, ``python -m pytest
tests``, or one notebook as nbval's documentation shows, ``python -m pytest notebooks/04_wgan.ipynb``.
"""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # The suite runs on two pytest-xdist workers (pyproject.toml's addopts), one per core of a 2-core
    # machine: one thread each for TensorFlow's and oneDNN's kernels, instead of two workers fighting
    # over both cores (the fast subset: 123 s against 143 s). Set before any test imports TensorFlow;
    # the processes that tests start inherit it.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Keep each notebook's cells together on one pytest-xdist worker (``--dist loadgroup``).

    nbval runs a notebook's cells in order in one kernel, so they must not be spread over workers;
    every other test is independent and may go to either.
    """
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=item.path.name))
