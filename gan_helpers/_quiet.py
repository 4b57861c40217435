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


#: TensorFlow's C++ log lines that are noise for the user, not errors (matched anywhere in a line).
NOISE = (
    "oneDNN supports DT_INT32 only on platforms with AVX-512",  # an E0000 line, although nothing is wrong
    "oneDNN custom operations are on",
    "Skipping loop optimization for Merge node with control input",  # a W0000 line at a tf.cond in a step
)


def _copy_lines(read_end: int, real: int, patterns) -> None:
    """Copy the lines of the pipe ``read_end`` to descriptor ``real``, except those holding one of ``patterns``."""
    with os.fdopen(read_end, "rb", buffering=0) as source:
        pending = b""
        while True:
            chunk = source.read(65536)
            if not chunk:
                break
            pending += chunk
            # Progress bars redraw with \r and no \n: pass partial lines on at once, unless they
            # could be the start of a noise line.
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not any(p in line for p in patterns):
                    os.write(real, line + b"\n")
            if pending and not pending.startswith((b"E0000", b"W0000", b"I0000")):
                os.write(real, pending)
                pending = b""
        if pending and not any(p in pending for p in patterns):
            os.write(real, pending)


def filter_stderr(noise=NOISE):
    """Drop TensorFlow's noise lines from this process's standard error (file descriptor 2), for good.

    TensorFlow's C++ side writes some lines straight to descriptor 2 long
    after it is imported (the oneDNN ``E0000`` notice at the first training
    step), where ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them without hiding
    real errors. The command line calls this once: descriptor 2 becomes a
    pipe whose lines are copied to the real standard error by a thread,
    except those containing one of ``noise``. Everything else, Python
    tracebacks included, passes unchanged. Returns a function that restores
    descriptor 2 and waits until every line is written (also run at exit).
    """
    import atexit
    import threading

    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError):
        return lambda: None
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    patterns = tuple(p.encode() for p in noise)

    thread = threading.Thread(target=_copy_lines, args=(read_end, real, patterns), name="stderr-filter", daemon=True)
    thread.start()
    done = []

    def restore():
        if done:
            return
        done.append(True)
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(real, 2)  # closes the pipe's last write end: the thread reads to the end and stops
        thread.join(timeout=5)
        os.close(real)

    atexit.register(restore)
    return restore
