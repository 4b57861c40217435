"""The notebooks are the source of the exercise's code; this writes it into the package.

The exercise's own code (the discriminator and generator builders, the GAN's
``train_step`` and balance rules, the WGAN's steps) is written in the
notebooks, where students read and change it. A code cell whose first line is

    #| export gan_helpers/models.py

is copied, without that line, into the named module, between the two marker
lines that name what the cell defines::

    # %% exported: build_discriminator (notebooks/01_discriminator.ipynb) -- edit it there, then run
    #    python -m gan_helpers.export
    def build_discriminator(...):
        ...
    # %% end of exported code

The package, the command line, the benchmarks and the tests run that copy.
``python -m gan_helpers.export --check`` (and ``tests/test_export.py`` in CI)
fails when a notebook and the package differ, so there is one source.

Why not nbdev: it exports whole modules from notebooks and brings its own
project layout and a dozen dependencies; here only a few functions live in
notebooks and everything else (plumbing, serialisation, checkpoints) stays
ordinary Python, so a marked region per exported cell is enough. The idea
and the marker syntax are nbdev's (``#| export``) and d2l's (``#@save``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from gan_helpers import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
MARKER = re.compile(r"^#\|\s*export\s+(\S+)\s*$")
END = "# %% end of exported code"
HINT = "#    python -m gan_helpers.export"


@dataclass(frozen=True)
class ExportedCell:
    """One exported cell: its notebook, target module, the names it defines and its code."""

    notebook: Path
    module: Path
    names: tuple[str, ...]
    code: str

    @property
    def key(self) -> str:
        return ", ".join(self.names)

    def header(self) -> str:
        return f"# %% exported: {self.key} ({_shown(self.notebook)}) -- edit it there, then run"


def _shown(path: Path) -> str:
    """A path as the messages show it: relative to the project when it is inside it."""
    try:
        return Path(path).relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _defined_names(code: str, where: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise ValueError(f"An exported cell of {where} is not valid Python ({error}); fix it in the notebook.") from None
    names = tuple(node.name for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    if not names:
        raise ValueError(f"An exported cell of {where} defines no function or class; only definitions are exported.")
    return names


def exported_cells(notebooks=None) -> list[ExportedCell]:
    """Every ``#| export`` cell of the notebooks, in notebook order."""
    cells = []
    for notebook in sorted(notebooks or NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(Path(notebook).read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            first, _, rest = source.partition("\n")
            match = MARKER.match(first.strip())
            if match:
                code = rest.strip("\n") + "\n"
                cells.append(ExportedCell(Path(notebook).resolve(), (PROJECT_ROOT / match.group(1)).resolve(),
                                          _defined_names(code, Path(notebook).name), code))
    return cells


def _region(text: str, cell: ExportedCell) -> tuple[int, int]:
    """Character offsets of the code between the cell's two marker lines in ``text``."""
    start_marker = f"# %% exported: {cell.key} ("
    start = text.find(start_marker)
    if start < 0:
        raise ValueError(f"{_shown(cell.module)} has no region for '{cell.key}' "
                         f"(from {cell.notebook.name}); add the marker lines '{cell.header()}' / '{HINT}' "
                         f"and '{END}' where the code belongs.")
    body = text.index("\n", text.index(HINT, start)) + 1
    end = text.index(END, body)
    return body, end


def differences(notebooks=None) -> list[str]:
    """What differs between the notebooks' exported cells and the package (empty when in sync)."""
    problems = []
    for cell in exported_cells(notebooks):
        text = cell.module.read_text()
        body, end = _region(text, cell)
        if text[body:end] != cell.code:
            problems.append(f"{cell.key}: {_shown(cell.module)} differs from {_shown(cell.notebook)}")
    return problems


def export(notebooks=None) -> list[str]:
    """Write every exported cell into its module's region; returns the keys that changed."""
    changed = []
    for cell in exported_cells(notebooks):
        text = cell.module.read_text()
        body, end = _region(text, cell)
        if text[body:end] != cell.code:
            start = text.find(f"# %% exported: {cell.key} (")
            new = text[:start] + cell.header() + "\n" + HINT + "\n" + cell.code + text[end:]
            from gan_helpers import files

            files.write_text(cell.module, new)
            changed.append(cell.key)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.export",
                                     description="Copy the notebooks' '#| export' cells into gan_helpers.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the two differ")
    args = parser.parse_args(argv)
    if args.check:
        problems = differences()
        for problem in problems:
            print(f"out of sync: {problem}", file=sys.stderr)
        if problems:
            print("Run `python -m gan_helpers.export` to copy the notebooks' cells into the package.", file=sys.stderr)
        return 1 if problems else 0
    changed = export()
    print(f"Exported {len(changed)} changed cell(s){': ' + '; '.join(changed) if changed else ''}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
