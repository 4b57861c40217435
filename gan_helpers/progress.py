"""Progress bars that a saved notebook still shows rightly.

In a terminal, :func:`bar` is tqdm's text bar. In a notebook it is the same text, shown as one output that
is replaced in place (``IPython.display`` with a display id) rather than tqdm's widget: a widget's saved form
is the text it had when it was first drawn, so a notebook saved after the work ends (or run by nbconvert)
would show "0%" forever, while a replaced output keeps its last state: "100% | 13233/13233 [00:40]".
"""

from __future__ import annotations

import io
import sys

from tqdm import std


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (IPython with a kernel), not a terminal or pytest."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class NotebookBar(std.tqdm):
    """tqdm whose every refresh replaces one notebook output (``text/plain``) instead of writing to a stream."""

    def __init__(self, *args, **kwargs):
        self._handle = None
        kwargs["file"] = io.StringIO()  # tqdm's own writes (a newline at the end) go nowhere
        super().__init__(*args, **kwargs)

    def display(self, msg=None, pos=None):
        from IPython.display import display

        text = self.__str__() if msg is None else msg
        if self._handle is None:
            if not text:
                return True
            self._handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": text}, raw=True)
        return True


def bar(*args, **kwargs) -> std.tqdm:
    """A progress bar with tqdm's arguments: :class:`NotebookBar` in a notebook, tqdm's text bar elsewhere."""
    return (NotebookBar if in_notebook() else std.tqdm)(*args, **kwargs)
