"""The Setup section every notebook runs: versions, seeds, plot defaults, smoke switch."""

from __future__ import annotations

import os
import platform
import sys
import warnings
from pathlib import Path

#: Where notebooks save their figures (git-ignored), as in handson-ml3.
IMAGES_DIR = Path("images")


#: How the smoke switch reads a variable, as most tools read true and false.
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def smoke_test() -> bool:
    """Whether every costly setting shrinks to seconds: ``GAN_SMOKE`` when it is set, else ``CI``.

    Each reads true as ``1/true/yes/on`` and false as ``0/false/no/off`` or empty (any case). Another value
    of ``GAN_SMOKE`` is an error; another value of ``CI`` (some services set their own name) counts as true.
    """
    smoke = os.environ.get("GAN_SMOKE")
    if smoke is not None:
        value = smoke.strip().lower()
        if value not in TRUE + FALSE:
            raise ValueError(f"GAN_SMOKE={smoke!r} is neither true nor false: set it to 1 (smoke mode: tiny "
                             "settings) or 0 (real work), or unset it.")
        return value in TRUE
    ci = os.environ.get("CI")
    return ci is not None and ci.strip().lower() not in FALSE


_STDERR_FILTER = []


def quiet_tensorflow(tf) -> None:
    """Keep what a reader cannot act on out of the notebook: TensorFlow's C++ notices on standard error
    (the oneDNN ``E0000`` line at the first step, :func:`gan_helpers._quiet.filter_stderr`, once per kernel)
    and its Python warnings about ``tf.function`` retracing (the logger at ERROR); other warnings show without
    the path of the file that raised them. Errors still show."""
    if not _STDERR_FILTER:
        from gan_helpers._quiet import filter_stderr

        _STDERR_FILTER.append(filter_stderr())
    tf.get_logger().setLevel("ERROR")
    warnings.formatwarning = _short_warning
    from gan_helpers.progress import in_notebook

    if in_notebook():
        warnings.showwarning = show_warning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the workbook's own message in a notebook: a line of Markdown ("**Possible mode collapse:**
    ...") rather than a red standard-error box, which reads as a failure. A warning the student is meant to
    see is part of the lesson (03 and 04 show mode collapse on purpose)."""
    from IPython.display import Markdown, display

    text = str(message)
    head, sep, rest = text.partition(": ")
    if not sep or len(head) > 60:
        head, rest = category.__name__, text
    display(Markdown(f"⚠️ **{head}:** {_escape_markdown(rest)}"))


def _escape_markdown(text: str) -> str:
    """``text`` with the characters Markdown would read as formatting escaped."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def _short_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the reader needs it, ``UserWarning: message``: without the path of the file that raised
    it (a path of the machine that ran the notebook) or its source line."""
    return f"{category.__name__}: {message}\n"


def setup(seed: int = 42, quiet: bool = False) -> bool:
    """Check versions, seed every generator, set plot defaults; return the smoke flag."""
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    import keras
    import matplotlib as mpl
    import numpy as np

    quiet_tensorflow(tf)

    assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"
    assert keras.__version__.startswith("3."), f"Keras 3 is required, found {keras.__version__}"
    keras.utils.set_random_seed(seed)
    mpl.rc("axes", labelsize=12, titlesize=12)
    mpl.rc("figure", dpi=90)
    mpl.rc("image", interpolation="nearest")
    smoke = smoke_test()
    if smoke:
        label_smoke_figures()
    if not quiet:
        print(f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
              f"NumPy {np.__version__}; {os.cpu_count()} CPU core(s); seed {seed}; "
              f"smoke mode {'ON (tiny settings)' if smoke else 'off (real work)'}")
    return smoke


#: What every figure a notebook shows in smoke mode says in its corner.
SMOKE_LABEL = "smoke mode: tiny settings, not a real result"


def mark_smoke(fig) -> None:
    """Write :data:`SMOKE_LABEL` in the figure's lower right corner (once)."""
    if not any(text.get_gid() == "smoke-label" for text in fig.texts):
        fig.text(0.995, 0.005, SMOKE_LABEL, ha="right", va="bottom", fontsize=9, color="#b00000", gid="smoke-label",
                 bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})


def label_smoke_figures() -> bool:
    """In a notebook in smoke mode, label every figure it shows with :data:`SMOKE_LABEL`: a figure drawn from
    seconds of training (noise faces, one-point curves) then cannot be mistaken for the result the prose
    describes. Wraps IPython's PNG formatter for figures; returns whether it could (not outside a kernel)."""
    from gan_helpers.progress import in_notebook

    if not in_notebook():
        return False
    from IPython import get_ipython
    from matplotlib.figure import Figure

    try:  # loading the inline backend registers its PNG formatter (pyplot loads it only at the first figure)
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        return False

    formatter = get_ipython().display_formatter.formatters["image/png"]
    try:
        original = formatter.lookup_by_type(Figure)
    except KeyError:
        return False
    if getattr(original, "labels_smoke", False):
        return True

    def png(fig, *args, **kwargs):
        mark_smoke(fig)
        return original(fig, *args, **kwargs)

    png.labels_smoke = True
    formatter.for_type(Figure, png)
    return True


def dataset_for_notebook(smoke: bool) -> Path:
    """LFW as found by :func:`gan_helpers.data.find_data_dir`.

    In smoke mode without LFW (a CI machine without the dataset), a small
    synthetic folder is made instead so the notebook still runs end to end.
    """
    from gan_helpers import data

    try:
        return data.find_data_dir()
    except data.DatasetNotFoundError:
        if not smoke:
            raise
        import tempfile

        from gan_helpers.synthetic import make_face_folder

        print("LFW not found; smoke mode uses a small synthetic face folder instead.")
        return make_face_folder(Path(tempfile.mkdtemp()) / "synthetic-faces", people=12, per_person=12)


def save_fig(name: str, fig=None, tight_layout: bool = True, resolution: int = 110) -> Path:
    """Save the current (or given) figure as ``images/<name>.png`` next to the notebook."""
    import matplotlib.pyplot as plt

    fig = fig or plt.gcf()
    IMAGES_DIR.mkdir(exist_ok=True)
    path = IMAGES_DIR / f"{name}.png"
    if tight_layout:
        fig.tight_layout()
    from gan_helpers import files

    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=resolution)
    return path


#: The note that replaces a figure of LFW photographs in a committed notebook.
PHOTO_NOTE = "[A figure of LFW photographs was here: run this cell to see the faces. LFW images stay out of git.]\n"


def shows_lfw_photos(cell) -> bool:
    """Whether a cell is marked as drawing LFW photographs or crops of them (metadata ``workbook.shows_lfw``)."""
    return bool(cell.get("metadata", {}).get("workbook", {}).get("shows_lfw"))


def strip_lfw_photos(path) -> int:
    """Remove the pictures from the outputs of a notebook's cells marked :func:`shows_lfw_photos`, in place.

    Printed text stays; each picture becomes one line of :data:`PHOTO_NOTE`. Run it on a notebook's real-mode
    run before committing it (``python -m gan_helpers.notebook --strip-photos notebooks/00_data.ipynb``).
    Returns the number of pictures removed.
    """
    import nbformat

    from gan_helpers import files

    notebook = nbformat.read(path, as_version=4)
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or not shows_lfw_photos(cell):
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data", {})
            if any(key.startswith("image/") for key in data):
                removed += 1
                if not any(o.get("text") == PHOTO_NOTE for o in outputs):
                    outputs.append(nbformat.v4.new_output("stream", name="stdout", text=PHOTO_NOTE))
            else:
                outputs.append(output)
        cell.outputs = outputs
    with files.atomic_path(Path(path)) as tmp:
        nbformat.write(notebook, tmp)
    return removed


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gan_helpers.notebook")
    parser.add_argument("--strip-photos", nargs="+", metavar="NOTEBOOK", required=True,
                        help="remove the pictures of the cells marked as showing LFW photographs")
    for notebook_path in parser.parse_args().strip_photos:
        print(f"{notebook_path}: {strip_lfw_photos(notebook_path)} picture(s) of LFW removed")
