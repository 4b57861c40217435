"""A release of the workbook: a folder that can be handed out by itself.

    python -m gan_helpers.student notebooks/ OUT              # the handout (default)
    python -m gan_helpers.student notebooks/ OUT --self-study # the workbook's own code as a fallback
    python -m gan_helpers.student notebooks/ OUT --solutions  # the solutions, for after the deadline

OUT holds ``notebooks/``, the package ``gan_helpers/`` (its edition named in
``gan_helpers/edition.json``, read by :mod:`gan_helpers.handout`), ``requirements.txt`` and
``pyproject.toml`` (``pip install -r requirements.txt`` installs it, editable), the students'
``README.md`` (``docs/handout-README.md`` of the repository), ``data/README.md`` and the shipped
generators in ``pretrained/``.

The exercises are written with their solutions, so that CI runs them (under
nbval the cells execute as committed). A solution is the part of a cell
between nbgrader's markers::

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

In the handout and self-study editions every such region, markers included,
becomes a stub at the marker's indentation: nbgrader's ``# YOUR CODE HERE``
and a ``raise NotImplementedError(...)`` that names the exercise and says that
Run All stops there (``YOUR ANSWER HERE`` in a markdown cell), as nbgrader's
``ClearSolutions`` preprocessor does. A cell marked as a solution
(``metadata.nbgrader.solution``) without markers is replaced whole by the stub.

The **core exercises** are the cells that the package is exported from
(``#| export``, :mod:`gan_helpers.export`): the discriminator, the generator,
the balance rules, the training step and the WGAN's methods. Their solution
regions sit inside the function bodies, after the signature and a docstring
that states the contract and hints. In the release each region becomes::

    raise NotImplementedError("Exercise 01.1: write build_discriminator ...")

numbered by notebook and in order, and the check in the next cell says "not
written yet" until the student writes the body. In the **handout** the
package's exported regions are these scaffolds too, so no file of the
handout holds a solution; the cell keeps its ``#| export`` line, and when its
check passes the student's cell goes into the handout's package
(:func:`gan_helpers.handout.keep`), so the later notebooks and the command
line train the student's own networks. The **self-study** edition keeps the
workbook's code in the package and the notebooks' cells that offer it as a
fallback (metadata ``workbook.self_study``); the handout leaves those out.

Outputs a student has not earned are cleared: every code cell's output goes,
except in the cells marked ``workbook.keeps_output`` (figures of the data
and of the theory, which no student code feeds), and with them each
notebook's note on where its outputs come from (:data:`OUTPUTS_NOTE`). Cells meant for
instructors and maintainers only (metadata ``workbook.instructor_only``)
are left out of every edition.

Why not nbgrader itself for the release: the handout's scaffolds keep the
contract docstring around each stub and carry the package along, which
``generate_assignment`` does not do; the markers and the cells' nbgrader
metadata are nbgrader's, so an instructor who uses nbgrader can release the
notebooks with it instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from gan_helpers import handout
from gan_helpers.export import BEGIN, END_SOLUTION as END  # nbgrader's markers

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
    """Whether a cell is for instructors and maintainers only (left out of every release)."""
    return bool(cell.get("metadata", {}).get("workbook", {}).get("instructor_only"))


def self_study_only(cell) -> bool:
    """Whether a cell is for the self-study edition only (the fallback to the workbook's own code)."""
    return bool(cell.get("metadata", {}).get("workbook", {}).get("self_study"))


def keeps_output(cell) -> bool:
    """Whether a cell's output is a figure of the data or of the theory, which no student code feeds."""
    return bool(cell.get("metadata", {}).get("workbook", {}).get("keeps_output"))


#: The editions a release can be: the handout (default), the handout with the workbook's code as a
#: fallback, and the solutions (the instructor's notebooks, for after the deadline).
EDITIONS = tuple(e for e in handout.EDITIONS if e != "repository")

#: Lines around package code that the handout leaves out (it would show a solution); the release puts
#: :data:`NOT_IN_HANDOUT_STUB` in its place.
NOT_IN_HANDOUT = re.compile(r"^( *)# %% not in the handout: ([^\n]+)\n.*?^ *# %% end of what is not in the handout\n",
                            re.M | re.S)
NOT_IN_HANDOUT_STUB = ('{indent}raise NotImplementedError("The handout leaves this out ({why}): it is the workbook\'s '
                       'own code for training on several devices. Train on one device.")\n')

#: A notebook's note on where its committed outputs come from: left out where the outputs are cleared.
OUTPUTS_NOTE = "*The outputs below come from"

#: What the handout's core cells start with: where the cell goes once its check passes.
HANDOUT_MARKER = "#| export {module}  # when the check below passes, this cell is copied there"


def without_outputs_note(source: str, note: str = OUTPUTS_NOTE) -> str:
    """A markdown cell's text without the paragraph that says where the notebook's outputs come from (the
    paragraph that starts with ``note``: :data:`OUTPUTS_NOTE`, or a translation's)."""
    if note not in source:
        return source
    return "\n\n".join(p for p in source.split("\n\n") if not p.startswith(note)).rstrip("\n")


def student_notebook(notebook, number: str = "00", edition: str = "handout"):
    """A copy of an nbformat notebook for a release; returns ``(notebook, solutions removed)``.

    A solution is a marked region, or a whole cell marked as a solution (``metadata.nbgrader.solution``)
    that has no markers. ``number`` ("01", ...) numbers the exercises: "Exercise 01.1", "01.2", ... for
    the core ones. The ``"solutions"`` edition keeps every solution; the others clear them, and clear
    every output except those of cells marked ``workbook.keeps_output`` (an output a student has not
    earned: a check's verdict, a layer table, samples, an answer). The handout keeps each core cell's
    ``#| export`` line (:data:`HANDOUT_MARKER`); the other editions drop it and the handout drops the
    self-study cells.
    """
    import copy
    import itertools

    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}. Received: edition={edition!r}")
    notebook = copy.deepcopy(notebook)
    notebook.cells = [cell for cell in notebook.cells if not instructor_only(cell)
                      and (edition == "self-study" or not self_study_only(cell))]
    total, core = 0, (f"{number}.{k}" for k in itertools.count(1))
    exercise = 0
    for index, cell in enumerate(notebook.cells):
        headings = re.findall(r"^#+\s*Exercise (\d+)", cell.source, re.M) if cell.cell_type == "markdown" else []
        exercise = int(headings[-1]) if headings else exercise
        lines = cell.source.lstrip("\n").split("\n")
        exported = cell.cell_type == "code" and bool(_EXPORT.match(lines[0]))
        if exported:
            if BEGIN not in cell.source:
                raise ValueError(f"cell {index} is exported ({lines[0].strip()}) but has no {BEGIN!r} region: a "
                                 "core exercise marks the body of each function it asks for.")
            module = lines[0].split()[2] if len(lines[0].split()) > 2 else ""
            kept = [HANDOUT_MARKER.format(module=module)] if edition == "handout" else []
            cell.source = "\n".join(kept + lines[1:])  # the '#| export' line is the maintainers' elsewhere
        if cell.cell_type == "markdown" and edition != "solutions":  # no outputs, so no note about them
            cell.source = without_outputs_note(cell.source)
        if edition == "solutions":  # the answers stay; their markers go
            cell.source = "\n".join(line for line in cell.source.split("\n") if line.strip() not in (BEGIN, END))
            continue
        stub = MARKDOWN_STUB if cell.cell_type == "markdown" else (
            CODE_STUB[0], f'raise NotImplementedError("Exercise {exercise} of notebook {number}: write your answer '
                          'here (Run All stops at the first exercise not written yet).")') if exercise else CODE_STUB
        cell.source, regions = clear_solution_regions(cell.source, stub, where=f"cell {index}",
                                                      exercises=core if exported else None)
        if not regions and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source, regions = "\n".join(stub), 1  # a solution cell without markers: all of it is the answer
        if cell.cell_type == "code" and (regions or not keeps_output(cell)):
            cell.outputs, cell.execution_count = [], None
        total += regions
    return notebook, total


def _source_notebooks(source: Path) -> list[Path]:
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; give the notebooks' folder (e.g. notebooks/).")
    notebooks = sorted(source.glob("*.ipynb")) if source.is_dir() else [source]
    if not notebooks:
        raise FileNotFoundError(f"No notebooks (*.ipynb) in {source}.")
    return notebooks


def _release_notebooks(notebooks, edition: str, lang: str | None = None) -> dict[str, tuple]:
    """``{name: (nbformat notebook, solutions removed)}``, every notebook read and checked first; with
    ``lang``, its markdown cells in that language (:mod:`gan_helpers.translations`)."""
    import nbformat

    from gan_helpers import translations

    copies = {}
    for path in notebooks:
        try:
            copies[path.name] = student_notebook(nbformat.read(path, as_version=4), path.name[:2], edition)
            if lang:
                note = translations.OUTPUTS_NOTES[lang] if edition != "solutions" else None
                translations.translate_notebook(copies[path.name][0], path, lang,
                                                lambda text: without_outputs_note(text, note) if note else text)
            nbformat.validate(copies[path.name][0])
        except ValueError as error:  # a damaged notebook, a marker out of place
            raise ValueError(f"{path}: {' '.join(str(error).split())[:300]}") from None
        except Exception as error:  # nbformat's schema errors (jsonschema's ValidationError) and the like
            raise ValueError(f"{path} is not a valid notebook ({type(error).__name__}: "
                             f"{' '.join(str(error).split())[:200]})") from None
    return copies


def _package_files(edition: str, notebooks: dict, lang: str | None = None) -> dict[str, bytes]:
    """The package as the release holds it: in the handout, every exported region is the scaffold of the
    handout's notebook cell that exports it (the regions of notebooks not in the release too)."""
    from gan_helpers import PROJECT_ROOT, export

    package = PROJECT_ROOT / "gan_helpers"
    files = {path.relative_to(PROJECT_ROOT).as_posix(): path.read_bytes() for path in sorted(package.rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json")
             and path.name != "edition.json"}
    files["gan_helpers/edition.json"] = (json.dumps({"edition": edition, "lang": lang or "en"}) + "\n").encode()
    if edition != "handout":
        return files
    for name, data in files.items():
        if name.endswith(".py") and b"# %% not in the handout" in data:
            files[name] = NOT_IN_HANDOUT.sub(lambda m: NOT_IN_HANDOUT_STUB.format(indent=m.group(1), why=m.group(2)),
                                             data.decode()).encode()
    cells = {}
    own = {path.name: path for path in (PROJECT_ROOT / "notebooks").glob("*.ipynb")}
    sources = {name: _release_notebooks([path], "handout")[name][0] for name, path in own.items()
               if name not in notebooks}
    sources.update({name: notebook for name, (notebook, _) in notebooks.items()})
    for name, notebook in sorted(sources.items()):
        for cell in notebook.cells:
            parsed = cell.cell_type == "code" and export.parse_cell(cell.source, name)
            if parsed:
                cells[(parsed[0], ", ".join(parsed[1]))] = export.ExportedCell(Path(name), *parsed)
    scaffolded = set()
    for (module, key), cell in cells.items():
        relative = module.relative_to(PROJECT_ROOT).as_posix()
        text = files[relative].decode()
        body, end = export._region(text, cell)
        files[relative] = (text[:body] + cell.code + text[end:]).encode()
        scaffolded.add((relative, key))
    regions = {(name, match.group(1)) for name, data in files.items() if name.endswith(".py")
               for match in export.REGION_HEADER.finditer(data.decode())}
    if regions - scaffolded:
        left = ", ".join(f"{key} in {name}" for name, key in sorted(regions - scaffolded))
        raise ValueError(f"No notebook cell exports {left}: the handout would carry its solution. Run "
                         "`python -m gan_helpers.export --check`.")
    return files


def release_files(source, edition: str = "handout", lang: str | None = None) -> tuple[dict[str, bytes], dict[str, int]]:
    """Every file of a release, ``{relative path: content}``, and the solutions removed per notebook.

    The folder holds the notebooks (``notebooks/``), the package (``gan_helpers/``, with its edition in
    ``gan_helpers/edition.json``), what installs it (``requirements.txt``, ``pyproject.toml``), the
    students' README, ``data/README.md``, the glossary and the shipped generators (``pretrained/``). With
    ``lang`` (``"he"``), the notebooks' prose, the README and the glossary are the translations, right to left.
    """
    import nbformat

    from gan_helpers import PROJECT_ROOT

    source = Path(source)
    from gan_helpers import translations

    if lang:
        translations.check_language(lang)
    copies = _release_notebooks(_source_notebooks(source), edition, lang)
    files = {f"notebooks/{name}": nbformat.writes(notebook).encode() for name, (notebook, _) in copies.items()}
    files.update(_package_files(edition, copies, lang))
    files["README.md"] = (PROJECT_ROOT / "docs" / "handout-README.md").read_bytes()
    for name in ("requirements.txt", "pyproject.toml", "data/README.md", "docs/glossary.md",
                 "pretrained/README.md", "pretrained/generator.keras", "pretrained/wgan_generator.keras"):
        files[name] = (PROJECT_ROOT / name).read_bytes()
    if lang:
        for english, name in zip(translations.documents(PROJECT_ROOT), ("README.md", "docs/glossary.md")):
            stale = translations.document_status(english, lang)
            if stale:
                raise ValueError(f"{translations.translated_document(english, lang).name}: {stale}. Run python -m "
                                 "gan_helpers.translations status.")
            files[name] = translations.right_to_left(translations.document_text(english, lang)).encode()
    return files, {name: removed for name, (_, removed) in copies.items()}


def write_release(source, out, edition: str = "handout", force: bool = False, lang: str | None = None
                  ) -> dict[str, int]:
    """Write the release of the notebooks in ``source`` (a folder or one notebook) to the folder ``out``.

    Everything is made and checked before anything is written. A file of ``out`` that differs from what
    the release would write (a student's work) is never replaced silently: the release refuses, or with
    ``force`` keeps it beside the new one as ``NAME.backup-YYYYMMDD-HHMMSS``. Files the release does not
    write (runs, figures) are left alone. Returns the solutions removed per notebook.
    """
    import time

    from gan_helpers import PROJECT_ROOT, files as atomic

    out = Path(out)
    if out.resolve() == PROJECT_ROOT or out.resolve() in {Path(source).resolve(), Path(source).resolve().parent}:
        raise ValueError(f"{out} is the workbook itself: writing there would delete the solutions. Give another "
                         "folder.")
    written, removed = release_files(source, edition, lang)
    originals = {(PROJECT_ROOT / name).resolve() for name in written} | {
        path.resolve() for path in _source_notebooks(Path(source))} | {(PROJECT_ROOT / "docs" / "handout-README.md").resolve()}
    changed = []
    for name, data in written.items():
        target = out / name
        if target.resolve() in originals:
            raise ValueError(f"{target} leads to {target.resolve()} of the workbook (a link?): writing it would "
                             "change the workbook. Give a folder without links into it.")
        if target.is_file() and target.read_bytes() != data:
            changed.append(name)
    if changed and not force:
        raise FileExistsError(
            f"{out} already holds {len(changed)} file(s) that differ from a fresh release (your work?): "
            f"{', '.join(changed[:4])}{', ...' if len(changed) > 4 else ''}. Nothing was written. For a fresh copy "
            "give another folder, or add --force to replace them, each kept beside it as NAME.backup-<time>.")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in changed:
        (out / name).rename((out / name).with_name(f"{(out / name).name}.backup-{stamp}"))
    for name, data in written.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            with atomic.atomic_path(target) as tmp:  # replaces a link itself, never what it points to
                tmp.write_bytes(data)
    return removed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gan_helpers.student",
        description="Write a release of the workbook into a folder of its own: the notebooks (solutions cleared, "
                    "as nbgrader's ClearSolutions does, and outputs a student has not earned), the package (in the "
                    "handout, every exported solution is its scaffold), and what installs and starts it.")
    parser.add_argument("source", help="a folder of notebooks (e.g. notebooks/) or one notebook")
    parser.add_argument("out_dir", help="the folder to write the release to (not the workbook)")
    editions = parser.add_mutually_exclusive_group()
    editions.add_argument("--self-study", action="store_const", const="self-study", dest="edition",
                          help="keep the workbook's own code in the package, with the notebooks' fallback to it "
                               "(for someone learning alone)")
    editions.add_argument("--solutions", action="store_const", const="solutions", dest="edition",
                          help="the solutions edition: the notebooks with their solutions (after the deadline)")
    parser.add_argument("--lang", choices=("en", "he"), default="en",
                        help="the language of the notebooks' prose, the README and the glossary (he: Hebrew, "
                             "right to left; code, checks and printed text stay English)")
    parser.add_argument("--force", action="store_true",
                        help="replace files that differ from a fresh release, keeping each as NAME.backup-<time>")
    args = parser.parse_args(argv)
    edition = args.edition or "handout"
    try:
        removed = write_release(args.source, args.out_dir, edition, force=args.force,
                                lang=None if args.lang == "en" else args.lang)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, count in removed.items():
        print(f"{Path(args.out_dir) / 'notebooks' / name}: {count} solution(s) removed")
    print(f"The {edition} edition is in {args.out_dir}: `cd {args.out_dir}`, `pip install -r requirements.txt`, "
          "`jupyter lab notebooks/` (its README.md says more).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
