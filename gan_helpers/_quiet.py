"""Import TensorFlow without its start-up chatter.

TensorFlow's C++ side prints several log lines to the process's standard
error while it loads (oneDNN notices, CUDA probing), before the usual
``TF_CPP_MIN_LOG_LEVEL`` setting takes effect. In a notebook they land in
the first cell's output. This module loads TensorFlow with file descriptor 2
pointed at /dev/null, then restores it; Python errors still surface as
exceptions.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real file descriptor (some embedded consoles)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import (once) and return the ``tensorflow`` module, quietly."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _stderr_silenced():
            import tensorflow as tf

            tf.constant(0)  # the first op starts the runtime, which logs too
    return sys.modules["tensorflow"]
