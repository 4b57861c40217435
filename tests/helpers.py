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


def solve_release(out, notebooks_dir, names=None):
    """Put the workbook's solutions back into the release in ``out`` (as a student who solved it), keeping
    the release's cells otherwise: each cell that lost a solution gets the instructor's cell back without
    its markers, after the handout's ``#| export`` line where it has one. Returns the solved notebooks."""
    import nbformat

    from gan_helpers import student

    solved = {}
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        if names and path.stem not in names:
            continue
        copy = nbformat.read(path, as_version=4)
        original = nbformat.read(notebooks_dir / path.name, as_version=4)
        original.cells = [c for c in original.cells if not student.instructor_only(c)
                          and not student.self_study_only(c)]
        assert len(original.cells) == len(copy.cells), path.name
        for before, after in zip(original.cells, copy.cells):
            if student.BEGIN not in before.source and not before.get("metadata", {}).get("nbgrader", {}).get("solution"):
                continue
            lines = [line for line in before.source.split("\n") if line.strip() not in (student.BEGIN, student.END)]
            if lines[0].startswith("#| export"):
                lines = [after.source.split("\n")[0]] + lines[1:]
            after.source = "\n".join(lines)
        nbformat.write(copy, path)
        solved[path.name] = copy
    return solved


def run_notebook(path, timeout=900, **env):
    """Execute a notebook in place with nbclient (its folder as the working directory), ``env`` added."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    nbformat.write(notebook, path)
    return notebook
