"""The release of the workbook's own notebooks: a handout folder with no solution in it, no output a
student has not earned, and the student's own code in its package once each check passes.

Run on the real notebooks: every core piece (the cells the package is exported from) reaches the
student as a signature, a docstring and a ``raise NotImplementedError("Exercise NN.k: ...")``, in the
notebook and in the handout's package; every core check fails on its blank scaffold with its own "not
written yet" message; with the instructor's solutions put back into the scaffolds the release is the
instructor's notebooks again (which CI runs under nbval); no file of the handout holds a line of an
exported solution; and in a solved handout the notebooks train and explore the student's networks.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gan_helpers import export, student
from helpers import run_notebook, solve_release

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CORE_NOTEBOOKS = ("01_discriminator", "02_generator", "03_training", "04_wgan")
STUB = re.compile(r'^(\s*)raise NotImplementedError\("Exercise (\d\d)\.(\d+): write ([\w.]+) ', re.M)


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("handout")
    student.write_release(NOTEBOOKS, out)
    return out


@pytest.fixture(scope="module")
def release(handout):
    return {name: nbformat.read(handout / "notebooks" / f"{name}.ipynb", as_version=4) for name in CORE_NOTEBOOKS}


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


def shown_cells(notebook):
    """The cells a release keeps: neither the instructors' notes nor the self-study fallbacks."""
    return [c for c in notebook.cells if not student.instructor_only(c) and not student.self_study_only(c)]


@pytest.mark.parametrize("name", CORE_NOTEBOOKS)
def test_every_core_piece_is_a_numbered_scaffold(release, name):
    original = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    stubs = [m for cell in release[name].cells for m in STUB.finditer(cell.source)]
    expected = sum(len(solution_regions(cell.source)) for cell in core_cells(original))
    assert expected >= 1 and len(stubs) == expected
    assert [int(m.group(3)) for m in stubs] == list(range(1, expected + 1))
    assert {m.group(2) for m in stubs} == {name[:2]}
    # The handout keeps each core cell's export line, which says where the cell goes once its check passes.
    markers = [cell.source.split("\n")[0] for cell in core_cells(release[name])]
    assert len(markers) == len(core_cells(original)) and all("when the check below passes" in m for m in markers)
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
    dropped = [c for c in original.cells if student.instructor_only(c) or student.self_study_only(c)]
    assert dropped and all(c.cell_type == "markdown" for c in dropped)
    original.cells = shown_cells(original)
    assert [c.cell_type for c in copy.cells] == [c.cell_type for c in original.cells]
    for before, after in zip(original.cells, copy.cells):
        if before.cell_type == "code" and before.source.startswith("#| export"):
            _, _, body = before.source.partition("\n")
            assert put_back(after.source.partition("\n")[2], body) == body
            assert after.outputs == []
        elif "### BEGIN SOLUTION" not in before.source:
            assert after.source == student.without_outputs_note(before.source) and after.metadata == before.metadata
            if before.cell_type == "code":
                assert after.outputs == (before.outputs if student.keeps_output(before) else [])


def exported_solution_lines() -> set[str]:
    """Every line of an exported solution's body that says something (not a comment, not the contract, not
    a line the package also writes outside the exported regions)."""
    outside = []
    for path in (ROOT / "gan_helpers").rglob("*.py"):
        text = path.read_text()
        for match in reversed(list(export.REGION_HEADER.finditer(text))):
            text = text[:match.start()] + text[text.index(export.END, match.start()):]
        outside.append(text)
    outside = "\n".join(outside)  # e.g. a check's hint that quotes a line: given to every student
    lines = set()
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = core_cells(nbformat.read(path, as_version=4))
        contract = "\n".join(student.clear_solution_regions(cell.source, ())[0] for cell in cells)
        lines |= {line.strip() for cell in cells for region in solution_regions(cell.source) for line in region
                  if len(line.strip()) > 20 and not line.strip().startswith("#") and line.strip() not in contract
                  and line.strip() not in outside}
    return lines


def test_no_file_of_the_handout_holds_a_line_of_an_exported_solution(handout):
    lines = exported_solution_lines()
    assert len(lines) >= 50
    texts = [path for path in handout.rglob("*") if path.is_file() and path.suffix != ".keras"]
    assert any(path.name == "models.py" for path in texts) and any(path.suffix == ".ipynb" for path in texts)
    for path in texts:
        text = path.read_text()
        leaked = sorted(line for line in lines if line in text)
        assert not leaked, f"{path.relative_to(handout)}: solution lines in the handout: {leaked[:3]}"
        if path.suffix == ".ipynb":  # nor the instructors' notes, nor a marker left behind
            assert "repository's copy" not in text and "### BEGIN SOLUTION" not in text, path
    assert not list(handout.rglob("__pycache__"))


def test_a_blank_handout_shows_no_unearned_output(handout):
    for path in sorted((handout / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code" or not cell.outputs:
                continue
            assert student.keeps_output(cell), (path.name, cell.source[:80])
            text = json.dumps(cell.outputs)
            assert "OK: " not in text and "parameters" not in text and "your prediction" not in text, path.name
        assert not any("Stuck?" in cell.source for cell in notebook.cells), path.name
    # The figures of the data and the theory stay.
    assert any(c.get("outputs") for c in nbformat.read(handout / "notebooks" / "02_generator.ipynb", as_version=4).cells)


def test_every_link_of_the_handouts_notebooks_and_readme_leads_to_a_file_of_the_handout(handout):
    """The handout is all a student has: a link to the workbook's docs/ must lead to a copy in the handout."""
    documents = [*sorted((handout / "notebooks").glob("*.ipynb")), handout / "README.md"]
    checked = 0
    for document in documents:
        text = document.read_text(encoding="utf-8")
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if link.startswith(("http://", "https://", "mailto:", "attachment:")):
                continue
            checked += 1
            assert (document.parent / link).exists(), f"{document.name} links {link}, which the handout lacks"
    assert checked >= 6  # at least the glossary, from each notebook


def handout_python(handout, code, **env):
    """Python in a subprocess that imports the handout's package (as a student's install does)."""
    return subprocess.run([sys.executable, "-c", code], cwd=handout / "notebooks", capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(handout), **env}, timeout=300)


def test_the_handouts_package_is_its_notebooks_scaffolds(handout):
    result = handout_python(handout, "import sys; from gan_helpers import export, handout; "
                                     "print(handout.edition(), export.PROJECT_ROOT); sys.exit(export.main(['--check']))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["handout", str(handout.resolve())]
    models = (handout / "gan_helpers" / "models.py").read_text()
    assert 'raise NotImplementedError("Exercise 01.1: write build_discriminator' in models
    assert 'raise NotImplementedError("Exercise 02.1: write build_generator' in models
    assert json.loads((handout / "gan_helpers" / "edition.json").read_text()) == {"edition": "handout", "lang": "en"}
    training = (handout / "gan_helpers" / "training.py").read_text()  # the several-devices step, a near-solution
    assert "The handout leaves this out" in training and 'values["g_success"] = 1.0 -' not in training
    for name in ("README.md", "requirements.txt", "pyproject.toml", "data/README.md", "pretrained/generator.keras"):
        assert (handout / name).is_file(), name


def keep_in_a_copy(handout, tmp_path, code):
    """Run ``code`` in a copy of the handout; returns the copy and the lines it printed."""
    import shutil

    copy = tmp_path / "handout"
    shutil.copytree(handout, copy)
    result = handout_python(copy, code)
    assert result.returncode == 0, result.stderr
    return copy, result.stdout.splitlines()


def test_a_passed_check_keeps_the_students_cell_in_the_handouts_package(handout, tmp_path):
    """keep() with the cells a kernel ran: the module's file and the module already loaded both change."""
    original = nbformat.read(NOTEBOOKS / "04_wgan.ipynb", as_version=4)
    cell = next(c for c in core_cells(original) if "def critic_iterations" in c.source)
    solved = "#| export gan_helpers/wgan.py  # a comment\n" + export.without_solution_markers(
        cell.source.partition("\n")[2])
    code = f"""
import json
from gan_helpers import checks, handout, wgan
cell = {json.dumps(solved)}
namespace = {{}}
exec(cell, namespace)
history = ["x = 1", cell, "print(x)"]
handout.keep(namespace["critic_iterations"], history=history)
print("class uses it:", wgan.WGAN.critic_iterations is wgan.critic_iterations, wgan.critic_iterations(
    type("S", (), dict(warmup_iterations=25, warmup_every=500, warmup_critic=100, n_critic=5))(), 30))
bad = cell.replace("def critic_iterations", "print('hello')\\ndef critic_iterations")
handout.keep(namespace["critic_iterations"], history=[bad])
handout.keep(namespace["critic_iterations"], history=[cell.replace("self.n_critic", "undefined_name")])
"""
    copy, lines = keep_in_a_copy(handout, tmp_path, code)
    assert lines[0].startswith("Saved: your critic_iterations is now in gan_helpers/wgan.py"), lines
    assert lines[1] == "class uses it: True 5"
    assert lines[2].startswith("Not saved into gan_helpers/wgan.py: line 1 runs code at the cell's top level"), lines
    assert lines[3].startswith("Not saved into gan_helpers/wgan.py: it uses `undefined_name`"), lines
    text = (copy / "gan_helpers" / "wgan.py").read_text()
    assert "Exercise 04.1" not in text and "undefined_name" not in text and "hello" not in text
    # In the repository nothing is kept.
    from gan_helpers import handout as repository

    assert repository.edition() == "repository" and repository.keep(len, history=[solved]) is None


def test_the_editions(tmp_path):
    study, solutions = tmp_path / "study", tmp_path / "solutions"
    student.write_release(NOTEBOOKS, study, "self-study")
    student.write_release(NOTEBOOKS, solutions, "solutions")
    for out, edition in ((study, "self-study"), (solutions, "solutions")):
        assert json.loads((out / "gan_helpers" / "edition.json").read_text())["edition"] == edition
        assert (out / "gan_helpers" / "models.py").read_text() == (ROOT / "gan_helpers" / "models.py").read_text()
    first = nbformat.read(study / "notebooks" / "01_discriminator.ipynb", as_version=4)
    assert any("Stuck?" in c.source for c in first.cells) and STUB.search("\n".join(c.source for c in first.cells))
    answers = (solutions / "notebooks" / "03_training.ipynb").read_text()
    assert "### BEGIN SOLUTION" not in answers and "Exercise 03.5: write" not in answers
    assert "def train_step(self, real_images):" in answers and '"OK: ' in answers


def test_the_release_never_replaces_a_students_work(tmp_path):
    out = tmp_path / "mine"
    student.write_release(NOTEBOOKS, out)
    student.write_release(NOTEBOOKS, out)  # the same release again: nothing differs, nothing to refuse
    work = out / "notebooks" / "01_discriminator.ipynb"
    work.write_text(work.read_text().replace("Exercise 01.1: write", "my own build_discriminator"))
    (out / "runs").mkdir()
    (out / "runs" / "keep.txt").write_text("a run")
    mine = work.read_bytes()
    result = subprocess.run([sys.executable, "-m", "gan_helpers.student", str(NOTEBOOKS), str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "notebooks/01_discriminator.ipynb" in result.stderr
    assert "Nothing was written" in result.stderr and "--force" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and work.read_bytes() == mine
    result = subprocess.run([sys.executable, "-m", "gan_helpers.student", str(NOTEBOOKS), str(out), "--force"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    backups = list(work.parent.glob("01_discriminator.ipynb.backup-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == mine
    assert "Exercise 01.1: write" in work.read_text() and (out / "runs" / "keep.txt").read_text() == "a run"


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
        after = [c for c in cells[i + 1:] if c.cell_type == "code"]
        check_cells = after[:next(k for k, c in enumerate(after) if not c.metadata.get("workbook", {}).get("check"))]
        check_lines = [line for c in check_cells for line in c.source.split("\n") if line.startswith("checks.")]
        assert check_lines, f"{name}: no check after the scaffold of cell {i}"
        for line in check_lines:
            with pytest.raises(AssertionError, match="is not written yet") as caught:
                exec(line, namespace)
            # Its own message: it names one of this cell's pieces.
            assert any(m.group(4).split(".")[-1] in str(caught.value) or m.group(4) in str(caught.value)
                       for m in stubs), (line, str(caught.value))
            checked += 1
    assert checked >= 1


@pytest.mark.slow
def test_a_solved_handout_trains_and_explores_the_students_own_generator(tmp_path):
    """The student's G, edited to other widths where the check does not look, is what 03 trains and 05 explores."""
    out = tmp_path / "handout"
    student.write_release(NOTEBOOKS, out)
    solve_release(out, NOTEBOOKS, names=("01_discriminator", "02_generator", "03_training", "05_latent_explorer"))
    second = out / "notebooks" / "02_generator.ipynb"
    notebook = nbformat.read(second, as_version=4)
    cell = core_cells(notebook)[0]
    old = 'FullConv2D(width, kernel_size, name=f"block{i}_deconv")'
    assert old in cell.source
    cell.source = cell.source.replace(old, 'FullConv2D(width if width >= 32 else 3 * width, kernel_size, '
                                           'name=f"block{i}_deconv")')  # smoke mode's widths (16, 8) triple
    nbformat.write(notebook, second)
    env = {"PYTHONPATH": str(out), "GAN_SMOKE": "1"}
    for name in ("01_discriminator", "02_generator", "03_training"):
        run_notebook(out / "notebooks" / f"{name}.ipynb", **env)
    assert "width if width >= 32 else 3 * width" in (out / "gan_helpers" / "models.py").read_text()
    result = handout_python(out, "from gan_helpers import sampling\n"
                                 "g = sampling.load_generator('runs/03_smoke/main/generator.keras')\n"
                                 "print([l.filters for l in g.layers if l.name.endswith('_deconv')])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[48, 24]"  # the package's own G would have [16, 8]
    explored = run_notebook(out / "notebooks" / "05_latent_explorer.ipynb", **env)
    printed = "".join(o.get("text", "") for c in explored.cells if c.cell_type == "code" for o in c.outputs)
    assert "Exploring your generator: runs/03_smoke/main/generator.keras" in printed


def test_a_kept_cell_leaves_the_loaded_modules_source_readable(handout, tmp_path):
    """TensorFlow's AutoGraph reads a method's source by its line numbers: after the file changes under a
    loaded module, the methods the kernel already has must still find their own lines, and the kept
    functions theirs (a new student saw GAN.record converted as apply_step)."""

    original = nbformat.read(NOTEBOOKS / "03_training.ipynb", as_version=4)
    cell = next(c for c in core_cells(original) if "def train_step" in c.source)
    solved = "#| export gan_helpers/training.py\n" + export.without_solution_markers(cell.source.partition("\n")[2])
    code = f"""
import inspect, json
from gan_helpers import checks, handout, training
cell = {json.dumps(solved)}
namespace = {{}}
exec(cell, namespace)
handout.keep(namespace["score_batch"], history=[cell])
print(inspect.getsource(training.GAN.record).strip().splitlines()[0])
print(inspect.getsource(training.score_batch).strip().splitlines()[0])
"""
    _, lines = keep_in_a_copy(handout, tmp_path, code)
    assert lines[0].startswith("Saved: your score_batch, train_step"), lines
    assert lines[1].startswith("def record("), lines
    assert lines[2].startswith("def score_batch(self, real_images, noise)"), lines
