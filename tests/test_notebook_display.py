"""What a notebook shows: progress bars replaced in place, warnings as the workbook's own messages, smoke labels."""

import sys
import types

from gan_helpers import progress


def fake_notebook(monkeypatch):
    """An IPython with a kernel, and a display() that records what each display id shows last."""
    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    outputs = []

    class Handle:
        def __init__(self, index):
            self.index = index

        def update(self, obj, raw=False):
            outputs[self.index] = obj["text/plain"]

    def display(obj, raw=False, display_id=False):
        outputs.append(obj["text/plain"])
        return Handle(len(outputs) - 1)

    monkeypatch.setattr(IPython.display, "display", display)
    return outputs


def test_a_notebook_bar_keeps_its_final_state_in_one_output(monkeypatch):
    outputs = fake_notebook(monkeypatch)
    assert progress.in_notebook()
    with progress.bar(total=40, desc="Preparing", unit="img", mininterval=0) as bar:
        for _ in range(40):
            bar.update(1)
    assert len(outputs) == 1, outputs
    assert outputs[0].startswith("Preparing: 100%") and "40/40" in outputs[0]


def test_a_bar_that_does_not_stay_leaves_an_empty_output(monkeypatch):
    outputs = fake_notebook(monkeypatch)
    for _ in progress.bar(range(3), desc="directions", leave=False, mininterval=0):
        pass
    assert outputs == [""]


def test_outside_a_notebook_it_is_tqdms_text_bar(capsys):
    assert not progress.in_notebook()
    for _ in progress.bar(range(3), desc="sampling", file=sys.stderr, mininterval=0):
        pass
    assert "sampling: 100%" in capsys.readouterr().err


def test_a_warning_in_a_notebook_is_the_workbooks_own_message(monkeypatch):
    import IPython.display

    from gan_helpers import notebook

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    notebook.show_warning(UserWarning("Possible mode collapse: the fixed_batch_spread is 0.048 [near-constant]"),
                          UserWarning, "x.py", 1)
    assert len(shown) == 1 and isinstance(shown[0], IPython.display.Markdown)
    assert shown[0].data == ("⚠️ **Possible mode collapse:** the fixed\\_batch\\_spread is 0.048 "
                             "\\[near-constant\\]")


def test_smoke_mode_labels_a_figure_once():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_helpers import notebook

    fig = plt.figure()
    notebook.mark_smoke(fig)
    notebook.mark_smoke(fig)
    assert [t.get_text() for t in fig.texts] == [notebook.SMOKE_LABEL]
    plt.close(fig)
