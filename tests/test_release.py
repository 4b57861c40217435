"""The students' release of the workbook's own notebooks: the core exercises become scaffolds.

Run on the real notebooks: every core piece (the cells the package is exported from) reaches the
student as a signature, a docstring and a ``raise NotImplementedError("Exercise NN.k: ...")``;
every core check fails on its blank scaffold with its own "not written yet" message; with the
instructor's solutions put back into the scaffolds the release is the instructor's notebooks again
(which CI runs under nbval); and no line of an exported solution is left in the release.
"""

import re
from pathlib import Path

import nbformat
import pytest

from gan_helpers import export, student

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CORE_NOTEBOOKS = ("01_discriminator", "02_generator", "03_training", "04_wgan")
STUB = re.compile(r'^(\s*)raise NotImplementedError\("Exercise (\d\d)\.(\d+): write ([\w.]+) ', re.M)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    student.write_student_copies(NOTEBOOKS, out)
    return {name: nbformat.read(out / f"{name}.ipynb", as_version=4) for name in CORE_NOTEBOOKS}


def solution_regions(source: str) -> list[list[str]]:
    regions, current = [], None
    for line in source.split("\n"):
        if line.strip() == student.BEGIN:
            current = []
        elif line.strip() == student.END:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def core_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith("#| export")]


@pytest.mark.parametrize("name", CORE_NOTEBOOKS)
def test_every_core_piece_is_a_numbered_scaffold(release, name):
    original = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    stubs = [m for cell in release[name].cells for m in STUB.finditer(cell.source)]
    expected = sum(len(solution_regions(cell.source)) for cell in core_cells(original))
    assert expected >= 1 and len(stubs) == expected
    assert [int(m.group(3)) for m in stubs] == list(range(1, expected + 1))
    assert {m.group(2) for m in stubs} == {name[:2]}
    assert not any(cell.source.lstrip().startswith("#| export") for cell in release[name].cells)
    names = {m.group(4) for m in stubs}
    for cell in core_cells(original):  # every function of a core cell that has a body to write is named
        for defined in export._defined_names(export.without_solution_markers(cell.source.split("\n", 1)[1]), name):
            assert any(n == defined or n.startswith(defined + ".") for n in names) or defined in (
                "MarginRule", "SuccessRule", "AlwaysTrainBoth"), defined


def put_back(release_cell_source: str, original_source: str) -> str:
    """The instructor's solution regions, markers included, in place of the scaffold's stubs."""
    regions = iter(solution_regions(original_source))

    def restore(match):
        indent = match.group(1)
        return "\n".join([indent + student.BEGIN, *next(regions), indent + student.END])

    lines = release_cell_source.split("\n")
    out = [restore(m) if (m := STUB.match(line)) else line for line in lines]
    return "\n".join(out)


@pytest.mark.parametrize("name", CORE_NOTEBOOKS)
def test_the_release_with_the_solutions_put_back_is_the_instructors_notebook(release, name):
    original = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    copy = release[name]
    dropped = [c for c in original.cells if student.instructor_only(c)]
    assert dropped and all(c.cell_type == "markdown" for c in dropped)
    original.cells = [c for c in original.cells if not student.instructor_only(c)]
    assert [c.cell_type for c in copy.cells] == [c.cell_type for c in original.cells]
    for before, after in zip(original.cells, copy.cells):
        if before.cell_type == "code" and before.source.startswith("#| export"):
            marker, _, body = before.source.partition("\n")
            assert put_back(after.source, body) == body
            assert after.outputs == []
        elif "### BEGIN SOLUTION" not in before.source:
            assert after == before


@pytest.mark.parametrize("name", CORE_NOTEBOOKS)
def test_no_line_of_an_exported_solution_is_in_the_release(release, name):
    original = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in release[name].cells)
    # What the scaffold itself states (a docstring may quote a line of the contract) does not count.
    contract = "\n".join(student.clear_solution_regions(cell.source, ())[0] for cell in core_cells(original))
    lines = {line.strip() for cell in core_cells(original) for region in solution_regions(cell.source)
             for line in region if len(line.strip()) > 20 and not line.strip().startswith("#")
             and line.strip() not in contract}
    assert len(lines) >= 5
    leaked = sorted(line for line in lines if line in text)
    assert not leaked, f"{name}: solution lines in the release: {leaked[:3]}"
    # Nor the instructors' notes: where the code is exported to, what the repository's copy holds.
    assert "gan_helpers.export" not in text and "repository's copy" not in text


def scaffold_namespace():
    import keras
    import numpy as np
    import tensorflow as tf

    from gan_helpers import checks, models
    from gan_helpers.balance import BalanceRule
    from gan_helpers.layers import FullConv2D, Unpooling2D

    return {"keras": keras, "layers": keras.layers, "tf": tf, "np": np, "checks": checks, "BalanceRule": BalanceRule,
            "check_rate": models.check_rate, "generator_start_size": models.generator_start_size,
            "FullConv2D": FullConv2D, "Unpooling2D": Unpooling2D}


@pytest.mark.parametrize("name", CORE_NOTEBOOKS)
def test_every_core_check_fails_on_its_blank_scaffold_with_its_own_message(release, name):
    namespace = scaffold_namespace()
    cells = release[name].cells
    checked = 0
    for i, cell in enumerate(cells):
        stubs = list(STUB.finditer(cell.source))
        if not stubs:
            continue
        exec(compile(cell.source, f"{name} cell {i}", "exec"), namespace)
        check_cell = next(c for c in cells[i + 1:] if c.cell_type == "code")
        check_lines = [line for line in check_cell.source.split("\n") if line.startswith("checks.")]
        assert check_lines, f"{name}: no check after the scaffold of cell {i}"
        for line in check_lines:
            with pytest.raises(AssertionError, match="is not written yet") as caught:
                exec(line, namespace)
            # Its own message: it names one of this cell's pieces.
            assert any(m.group(4).split(".")[-1] in str(caught.value) or m.group(4) in str(caught.value)
                       for m in stubs), (line, str(caught.value))
            checked += 1
    assert checked >= 1
