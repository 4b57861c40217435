"""Helpers the tests share: the command line in a subprocess, its one-line errors, tiny models' warnings.

Fixtures live in conftest.py; these are plain functions (``from helpers import run_cli``).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import warnings

import pytest

def run_cli(*args, timeout=600, **env):
    """``python -m gan_helpers ARGS`` in a subprocess, as a user runs it; ``env`` adds variables."""
    return subprocess.run([sys.executable, "-m", "gan_helpers", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env})


def one_line_error(result, *fragments):
    """The workbook's promise: exit status 2, one line starting with 'error:', no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def config_json(config: dict) -> str:
    """A run config for ``--config`` (the image size goes by ``--size``)."""
    return json.dumps({k: v for k, v in config.items() if k != "image_size"})


def default_sigint():
    """Run in a child before it starts (``preexec_fn``): Ctrl-C's default handling.

    A test runner started in the background has SIGINT ignored, and its children inherit that; Python
    then installs no KeyboardInterrupt handler, and a test's SIGINT would reach a process that ignores it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def expect_collapse():
    """Tiny test models draw near-constant images, so the monitor's collapse warning is expected (and asserted)."""
    return pytest.warns(UserWarning, match="Possible mode collapse")


@contextlib.contextmanager
def tiny_models():
    """Tiny test models may draw near-constant images: the monitor's collapse warning may come or not.

    Whether it comes depends on the seed and the settings, and the tests that use this are not about it;
    tests/test_faults.py asserts the warning itself.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Possible mode collapse", category=UserWarning)
        yield
