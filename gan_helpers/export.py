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
fails (exit 1) when a notebook and the package differ, so there is one
source: a cell whose code differs from its region, a region that no cell
exports (a deleted ``#| export`` line), a region that appears twice (a stale
copy that would run). A notebook or module it cannot read, a cell that is not
Python, a region without its end line and two cells exporting the same name
are one line each, with exit 2.

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
#: nbgrader's markers around a solution (the release, :mod:`gan_helpers.student`, clears what is between).
BEGIN = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: ``#| export MODULE``, optionally followed by a comment (the handout's line explains itself).
MARKER = re.compile(r"^#\|\s*export\s+(\S+)\s*(#.*)?$")
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


class ExportError(ValueError):
    """A notebook or module that cannot be exported or checked: malformed, or its regions are broken."""


#: A region's first line in a module: ``# %% exported: NAMES (NOTEBOOK) -- ...``.
REGION_HEADER = re.compile(r"^# %% exported: (.+?) \((\S+?)\)", re.M)


def _defined_names(code: str, where: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise ExportError(f"An exported cell of {where} is not valid Python ({error}); fix it in the notebook.") from None
    names = tuple(node.name for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    if not names:
        raise ExportError(f"An exported cell of {where} defines no function or class; only definitions are exported.")
    return names


def without_solution_markers(code: str) -> str:
    """``code`` without its ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines.

    A core exercise's cell marks the solution inside each function body, so that the students' release
    (``gan_helpers.student``) can replace it with a stub; the package holds the code alone.
    """
    return "\n".join(line for line in code.split("\n") if line.strip() not in (BEGIN, END_SOLUTION))


def _read_cells(notebook: Path) -> list:
    try:
        cells = json.loads(Path(notebook).read_text())["cells"]
        if not isinstance(cells, list):
            raise TypeError("'cells' is not a list")
        return [cell for cell in cells if isinstance(cell, dict)]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(f"{_shown(notebook)} is not a readable notebook ({type(error).__name__}: "
                          f"{' '.join(str(error).split())[:120]}); restore it from git.") from None


def parse_cell(source: str, where: str, root=None):
    """``(module, names, code)`` of an exported cell's source, or None when it has no ``#| export`` line.

    ``module`` is the marker's path under ``root`` (the project that holds the package).
    """
    first, _, rest = source.lstrip("\n").partition("\n")
    match = MARKER.match(first.strip())
    if not match:
        return None
    code = without_solution_markers(rest).strip("\n") + "\n"
    return (Path(root or PROJECT_ROOT) / match.group(1)).resolve(), _defined_names(code, where), code


def exported_cells(notebooks=None, root=None) -> list[ExportedCell]:
    """Every ``#| export`` cell of the notebooks, in notebook order.

    The marker is the cell's first line that is not blank (blank lines before it are allowed). Two cells
    that define the same name are refused: each export would undo the other's.
    """
    cells = []
    folder = NOTEBOOKS if root is None else Path(root) / "notebooks"
    for notebook in sorted(notebooks or folder.glob("*.ipynb")):
        for cell in _read_cells(notebook):
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            parsed = parse_cell("".join(source) if isinstance(source, list) else str(source), Path(notebook).name,
                                root)
            if parsed:
                cells.append(ExportedCell(Path(notebook).resolve(), *parsed))
    seen = {}
    for cell in cells:
        for name in cell.names:
            other = seen.setdefault((cell.module, name), cell)
            if other is not cell:
                raise ExportError(f"'{name}' is exported to {_shown(cell.module)} by two cells ({other.notebook.name}: "
                                  f"{other.key}; {cell.notebook.name}: {cell.key}); keep it in one cell.")
    return cells


def _module_text(cell: ExportedCell) -> str:
    try:
        return cell.module.read_text()
    except OSError as error:
        raise ExportError(f"{_shown(cell.module)}, the module that {cell.notebook.name} exports "
                          f"'{cell.key}' to, cannot be read ({error.strerror or error}); check the "
                          "'#| export' line's path.") from None


def _region(text: str, cell: ExportedCell) -> tuple[int, int]:
    """Character offsets of the code between the cell's two marker lines in ``text``."""
    start_marker = f"# %% exported: {cell.key} ("
    start = text.find(start_marker)
    if start < 0:
        raise ExportError(f"{_shown(cell.module)} has no region for '{cell.key}' "
                          f"(from {cell.notebook.name}); add the marker lines '{cell.header()}' / '{HINT}' "
                          f"and '{END}' where the code belongs.")
    hint = text.find(HINT, start)
    end = text.find(END, start)
    if hint < 0 or end < 0 or not hint < end:
        raise ExportError(f"{_shown(cell.module)}'s region for '{cell.key}' has no '{END}' line after it; "
                          "put it back where the exported code ends.")
    body = text.index("\n", hint) + 1
    next_region = REGION_HEADER.search(text, body)
    if next_region and next_region.start() < end:
        raise ExportError(f"{_shown(cell.module)}'s region for '{cell.key}' has no '{END}' line before the "
                          "next region; put it back where the exported code ends.")
    return body, end


def _region_problems(modules, cells) -> list[str]:
    """Regions that no cell exports (orphans) and regions that appear twice (a stale copy runs)."""
    wanted = {(cell.module, cell.key) for cell in cells}
    problems = []
    for module in sorted(set(modules)):
        try:
            text = module.read_text()
        except OSError:
            continue
        keys = [match.group(1) for match in REGION_HEADER.finditer(text)]
        for key in sorted(set(keys)):
            if keys.count(key) > 1:
                problems.append(f"{key}: {_shown(module)} holds {keys.count(key)} regions for it (the last one "
                                "runs); delete all but the one the notebook exports")
            elif (module, key) not in wanted:
                problems.append(f"{key}: {_shown(module)} holds a region that no notebook cell exports (was the "
                                "cell's '#| export' line deleted?); restore the marker or delete the region")
    return problems


def differences(notebooks=None, modules=None) -> list[str]:
    """What differs between the notebooks' exported cells and the package (empty when in sync).

    ``modules``: the modules searched for regions without a cell or twice over (default: every module the
    cells export to, and with the default notebooks every module of the package).
    """
    cells = exported_cells(notebooks)
    problems = []
    for cell in cells:
        text = _module_text(cell)
        body, end = _region(text, cell)
        if text[body:end] != cell.code:
            problems.append(f"{cell.key}: {_shown(cell.module)} differs from {_shown(cell.notebook)}")
    if modules is None:
        modules = {cell.module for cell in cells}
        if notebooks is None:
            modules |= {path.resolve() for path in (PROJECT_ROOT / "gan_helpers").rglob("*.py")}
    return problems + _region_problems([Path(m).resolve() for m in modules], cells)


def write_region(cell: ExportedCell, header: bool = True) -> bool:
    """Write ``cell.code`` into its module's region; True when the module changed.

    ``header``: also rewrite the region's first line from the cell (its notebook's name); the handout
    keeps the line it has.
    """
    from gan_helpers import files

    text = _module_text(cell)
    body, end = _region(text, cell)
    if text[body:end] == cell.code:
        return False
    start = text.find(f"# %% exported: {cell.key} (") if header else body
    head = cell.header() + "\n" + HINT + "\n" if header else ""
    files.write_text(cell.module, text[:start] + head + cell.code + text[end:])
    return True


def export(notebooks=None, root=None) -> list[str]:
    """Write every exported cell into its module's region; returns the keys that changed.

    Regions that no cell exports, or that appear twice, are left for the author to resolve
    (``--check`` names them).
    """
    return [cell.key for cell in exported_cells(notebooks, root) if write_region(cell)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.export",
                                     description="Copy the notebooks' '#| export' cells into gan_helpers.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the two differ")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = differences()
            for problem in problems:
                print(f"out of sync: {problem}", file=sys.stderr)
            if problems:
                print("Run `python -m gan_helpers.export` to copy the notebooks' cells into the package.",
                      file=sys.stderr)
            return 1 if problems else 0
        changed = export()
        problems = [p for p in differences() if " differs from " not in p]
    except ExportError as error:  # exit 2: cannot check at all (1 is drift)
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Exported {len(changed)} changed cell(s){': ' + '; '.join(changed) if changed else ''}.")
    for problem in problems:
        print(f"still to fix by hand: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
