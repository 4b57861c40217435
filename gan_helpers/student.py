"""The students' copy of the notebooks: every solution removed, everything else kept.

    python -m gan_helpers.student notebooks/ OUT_DIR

The exercises at the end of each notebook are written with their solutions,
so that CI runs them (under nbval the cells execute as committed). A
solution is the part of a cell between nbgrader's markers::

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

This writes a copy of each notebook in which every such region, markers
included, becomes nbgrader's stub at the marker's indentation::

    # YOUR CODE HERE
    raise NotImplementedError()

(``YOUR ANSWER HERE`` in a markdown cell), which is what nbgrader's
``ClearSolutions`` preprocessor does with its default settings. A cell
marked as a solution (``metadata.nbgrader.solution``) without markers is
replaced whole by the stub, as ``ClearSolutions`` does. The code
before and after the markers, the scaffold with the self-check call, stays.

The **core exercises** are the cells that the package is exported from
(``#| export``, :mod:`gan_helpers.export`): the discriminator, the generator,
the balance rules, the training step and the WGAN's methods. Their solution
regions sit inside the function bodies, after the signature and a docstring
that states the contract and hints. In the release each region becomes::

    raise NotImplementedError("Exercise 01.1: write build_discriminator ...")

numbered by notebook and in order, the ``#| export`` line is dropped, and
the check in the next cell says "not written yet" until the student writes
the body. Cells meant for instructors and maintainers only (metadata
``workbook.instructor_only``: where a cell is exported to, what the
repository's copy holds) are left out of the release.
The outputs and execution counts of the cells whose solution was removed
are cleared (they showed the solution at work); every other cell, output
and metadata field is kept as it is.

Why not nbgrader itself: nbgrader is a course-management system (a
database of students and submissions, a Jupyter server extension,
autograding, feedback) with many dependencies, and what is needed here is a
text transformation of about 40 lines. The markers are nbgrader's, and
each exercise cell carries nbgrader's solution-cell metadata
(``metadata.nbgrader.solution``, which ClearSolutions requires by default),
so the notebooks stay nbgrader-compatible: an instructor who uses nbgrader
can release them with ``nbgrader generate_assignment`` (whose ClearSolutions
step works on the same markers) instead of this command.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)

_BEGIN = re.compile(r"^(\s*)" + re.escape(BEGIN) + r"\s*$")
_END = re.compile(r"^\s*" + re.escape(END) + r"\s*$")


_DEFINITION = re.compile(r"^(\s*)(?:async\s+)?(?:def|class)\s+(\w+)")
_EXPORT = re.compile(r"^\s*#\|\s*export\s")


def _enclosing_names(lines: list[str], index: int) -> str:
    """``Class.method`` or ``function``: the definitions that enclose line ``index``."""
    names, indent = [], len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        match = _DEFINITION.match(line)
        if match and len(match.group(1)) < indent:
            names.insert(0, match.group(2))
            indent = len(match.group(1))
    return ".".join(names) or "this cell's code"


def core_stub(exercise: str, name: str) -> tuple[str, ...]:
    """The body a core exercise's solution region becomes in the release."""
    return (f'raise NotImplementedError("Exercise {exercise}: write {name} (its docstring says what it gets and '
            'returns).")',)


def clear_solution_regions(source: str, stub=CODE_STUB, where: str = "a cell", exercises=None) -> tuple[str, int]:
    """``source`` with every solution region replaced by ``stub``; returns ``(text, regions removed)``.

    ``exercises``: an iterator of exercise numbers ("01.1", ...) for a core exercise's cell; each region then
    becomes :func:`core_stub` with the next number and the name of the definition around it.
    """
    lines, out, regions, inside, indent = source.split("\n"), [], 0, False, ""
    for number, line in enumerate(lines, start=1):
        begin = _BEGIN.match(line)
        if begin:
            if inside:
                raise ValueError(f"{where}, line {number}: {BEGIN!r} inside another solution region.")
            inside, indent = True, begin.group(1)
            continue
        if _END.match(line):
            if not inside:
                raise ValueError(f"{where}, line {number}: {END!r} without a {BEGIN!r} before it.")
            body = stub if exercises is None else core_stub(next(exercises), _enclosing_names(lines, number - 1))
            out.extend(indent + stub_line for stub_line in body)
            inside, regions = False, regions + 1
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN!r} is never closed by {END!r}.")
    return "\n".join(out), regions


def instructor_only(cell) -> bool:
    """Whether a cell is for instructors and maintainers only (left out of the release)."""
    return bool(cell.get("metadata", {}).get("workbook", {}).get("instructor_only"))


def student_notebook(notebook, number: str = "00"):
    """A copy of an nbformat notebook without solutions; returns ``(notebook, solutions removed)``.

    A solution is a marked region, or a whole cell marked as a solution (``metadata.nbgrader.solution``)
    that has no markers. ``number`` ("01", ...) numbers the core exercises: "Exercise 01.1", "01.2", ...
    """
    import copy
    import itertools

    notebook = copy.deepcopy(notebook)
    notebook.cells = [cell for cell in notebook.cells if not instructor_only(cell)]
    total, core = 0, (f"{number}.{k}" for k in itertools.count(1))
    for index, cell in enumerate(notebook.cells):
        stub = CODE_STUB if cell.cell_type == "code" else MARKDOWN_STUB
        lines = cell.source.lstrip("\n").split("\n")
        exported = cell.cell_type == "code" and bool(_EXPORT.match(lines[0]))
        if exported:
            if BEGIN not in cell.source:
                raise ValueError(f"cell {index} is exported ({lines[0].strip()}) but has no {BEGIN!r} region: a "
                                 "core exercise marks the body of each function it asks for.")
            cell.source = "\n".join(lines[1:])  # the '#| export' line is the instructor's
        cell.source, regions = clear_solution_regions(cell.source, stub, where=f"cell {index}",
                                                      exercises=core if exported else None)
        if not regions and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source, regions = "\n".join(stub), 1  # a solution cell without markers: all of it is the answer
        if regions and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        total += regions
    return notebook, total


def write_student_copies(source, out_dir) -> dict[str, int]:
    """Write the student copy of every notebook in ``source`` (a folder or one file) to ``out_dir``.

    Returns the number of solution regions removed per notebook name.
    """
    import nbformat

    from gan_helpers import files

    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; give the notebooks' folder (e.g. notebooks/).")
    notebooks = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not notebooks:
        raise FileNotFoundError(f"No notebooks (*.ipynb) in {source}.")
    originals = {path.resolve() for path in notebooks}
    if out_dir.resolve() in {path.parent for path in originals}:
        raise ValueError(f"{out_dir} is where the notebooks are: writing there would delete the solutions. "
                         "Give another folder.")
    # Every target is checked, and every copy made, before anything is written: a target that is (or
    # links to) a source notebook is refused, and a notebook that cannot be read stops the release whole.
    copies = {}
    for path in notebooks:
        target = out_dir / path.name
        if target.resolve() in originals:
            raise ValueError(f"{target} leads to the source notebook {target.resolve()} (a link?): writing it "
                             "would delete the solutions. Give a folder without links to the notebooks.")
        try:
            copies[target] = student_notebook(nbformat.read(path, as_version=4), number=path.name[:2])
            nbformat.validate(copies[target][0])
        except ValueError as error:  # a damaged notebook, a marker out of place
            raise ValueError(f"{path}: {' '.join(str(error).split())[:300]}") from None
        except Exception as error:  # nbformat's schema errors (jsonschema's ValidationError) and the like
            raise ValueError(f"{path} is not a valid notebook ({type(error).__name__}: "
                             f"{' '.join(str(error).split())[:200]})") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = {}
    for target, (notebook, count) in copies.items():
        removed[target.name] = count
        with files.atomic_path(target) as tmp:  # replaces a link itself, never what it points to
            nbformat.write(notebook, tmp)
    return removed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gan_helpers.student",
        description="Write the notebooks without their solutions (### BEGIN/END SOLUTION regions become "
                    "'# YOUR CODE HERE' + 'raise NotImplementedError()', as nbgrader's ClearSolutions does).")
    parser.add_argument("source", help="a folder of notebooks (e.g. notebooks/) or one notebook")
    parser.add_argument("out_dir", help="the folder to write the students' copies to (not the source folder)")
    args = parser.parse_args(argv)
    try:
        removed = write_student_copies(args.source, args.out_dir)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, count in removed.items():
        print(f"{Path(args.out_dir) / name}: {count} solution(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
