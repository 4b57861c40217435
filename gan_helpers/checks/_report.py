"""Reporting: how a check says OK or what is wrong."""

from __future__ import annotations

import contextlib
import functools

import numpy as np


def _fail(message: str):
    raise AssertionError(message)


_QUIET = []


def _ok(message: str) -> None:
    if not _QUIET:
        print(f"OK: {message}")


@contextlib.contextmanager
def _quiet():
    """No ``OK:`` line from the checks called inside (a check that runs another as one of its parts)."""
    _QUIET.append(True)
    try:
        yield
    finally:
        _QUIET.pop()


def _keras():
    from gan_helpers._quiet import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def _as_bool(value, what: str) -> bool:
    array = np.asarray(value)
    if array.size != 1:
        _fail(f"{what} should be one boolean, got an array of shape {array.shape}.")
    return bool(array.reshape(()))


def _as_float(value, what: str) -> float:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"{what} should be a number, got {value!r}.")
    if array.size != 1:
        _fail(f"{what} should be one number, got an array of shape {array.shape}.")
    return float(array.reshape(()))


def _call(fn, name: str, *args, **kwargs):
    """``fn(*args, **kwargs)``, with the two failures a student meets first turned into messages.

    A scaffold that still raises ``NotImplementedError`` is "not written yet"; a Python ``if``,
    ``and`` or ``or`` on a tensor inside a compiled step gets the TensorFlow way to say it.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        _fail(f"{name} is not written yet: its body still raises NotImplementedError. Replace that line with "
              "your code (the docstring says what it gets and what it returns), run its cell, then this one.")
    except TypeError as error:
        if "OperatorNotAllowedInGraphError" in type(error).__name__ or "as a Python `bool`" in str(error):
            _fail(f"{name} uses a tensor as a Python bool (an `if`, `and`, `or` or `not` on a tensor), which a "
                  "compiled training step cannot do: the value is only known when the step runs. Use "
                  "tf.logical_and / tf.logical_or / tf.logical_not for booleans, tf.where to choose values, "
                  "and tf.cond to run one branch or the other.")
        raise


def _refuses(build, name: str, cases) -> None:
    """Each ``(kwargs, what)`` of ``cases`` must make ``build(**kwargs)`` raise ValueError (a docstring's Raises)."""
    for kwargs, what in cases:
        try:
            build(**kwargs)
        except ValueError:
            continue
        _fail(f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) built a model; {what} should raise "
              "ValueError with a message that says which values work (the docstring's Raises).")


def core(check):
    """A core exercise's check: when it passes in the handout, the cells that define what it was given go
    into the handout's package (:func:`gan_helpers.handout.keep`), so that the later notebooks run them."""

    @functools.wraps(check)
    def run(*objects, **kwargs):
        check(*objects, **kwargs)
        from gan_helpers import handout

        handout.keep(*objects)

    return run
