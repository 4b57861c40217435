"""One source: the exercise's code is written in the notebooks and exported into gan_helpers."""

import inspect
import json
from pathlib import Path

import pytest

from gan_helpers import balance, export, models, training, wgan

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def code_cells(name):
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_the_package_is_exactly_what_the_notebooks_export():
    assert export.differences() == [], "run `python -m gan_helpers.export` after editing an exported cell"


@pytest.mark.parametrize("notebook, functions", [
    ("01_discriminator.ipynb", [models.build_discriminator]),
    ("02_generator.ipynb", [models.build_generator]),
    ("03_training.ipynb", [training.GAN.train_step, balance.MarginRule, balance.SuccessRule,
                           balance.AlwaysTrainBoth]),
    ("04_wgan.ipynb", [wgan.WGAN.critic_step, wgan.WGAN.generator_step, wgan.WGAN.penalty,
                       wgan.WGAN.clip_weights, wgan.WGAN.critic_iterations]),
])
def test_what_the_package_runs_is_written_in_a_notebook_cell(notebook, functions):
    cells = [export.without_solution_markers(cell) for cell in code_cells(notebook)]
    for function in functions:
        source = inspect.getsource(function).rstrip("\n")  # a cell keeps no final newline
        assert any(source in cell for cell in cells), f"{function.__qualname__} is not in {notebook}"


def test_every_exported_cell_names_its_module_and_defines_something():
    cells = export.exported_cells()
    modules = {cell.module.name for cell in cells}
    assert {"models.py", "training.py", "balance.py", "wgan.py"} <= modules
    assert all(cell.names for cell in cells)


def _project(tmp_path, cell_code, module_code):
    module = tmp_path / "mod.py"
    module.write_text(module_code)
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": [f"#| export {module}\n", cell_code]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return module, notebook


REGION = ("import math\n\n"
          "# %% exported: area (nb.ipynb) -- edit it there, then run\n"
          "#    python -m gan_helpers.export\n"
          "def area(r):\n    return math.pi * r * r\n"
          "# %% end of exported code\n\nTAIL = 1\n")


def test_an_edited_cell_is_drift_until_exported(tmp_path):
    module, notebook = _project(tmp_path, "def area(r):\n    return math.pi * r ** 2\n", REGION)
    assert export.differences([notebook]) == [f"area: {module} differs from {notebook}"]
    assert export.export([notebook]) == ["area"]
    assert export.differences([notebook]) == []
    text = module.read_text()
    assert "return math.pi * r ** 2\n# %% end of exported code\n\nTAIL = 1\n" in text
    assert text.startswith("import math\n\n# %% exported: area (") and text.count("# %% exported") == 1
    namespace = {}
    exec(compile(text, str(module), "exec"), namespace)
    assert namespace["area"](2) == pytest.approx(12.566370614359172)
    assert export.export([notebook]) == []  # nothing left to change


def test_a_cell_without_a_region_or_definition_is_a_clear_error(tmp_path):
    _, notebook = _project(tmp_path, "def volume(r):\n    return r\n", REGION)
    with pytest.raises(ValueError, match="no region for 'volume'"):
        export.differences([notebook])
    _, notebook = _project(tmp_path, "x = 1\n", REGION)
    with pytest.raises(ValueError, match="defines no function or class"):
        export.exported_cells([notebook])


def test_a_stale_second_copy_of_a_region_is_drift(tmp_path):
    stale = REGION.replace("TAIL = 1\n", "# %% exported: area (nb.ipynb) -- edit it there, then run\n"
                           "#    python -m gan_helpers.export\ndef area(r):\n    return 3 * r * r\n"
                           "# %% end of exported code\n")
    module, notebook = _project(tmp_path, "def area(r):\n    return math.pi * r * r\n", stale)
    assert export.differences([notebook]) == [f"area: {module} holds 2 regions for it (the last one runs); "
                                              "delete all but the one the notebook exports"]


def test_a_region_whose_cell_lost_its_marker_is_drift(tmp_path):
    module, notebook = _project(tmp_path, "def area(r):\n    return math.pi * r * r\n", REGION)
    cells = json.loads(notebook.read_text())
    cells["cells"][1]["source"] = ["def area(r):\n    return math.pi * r * r\n"]  # the '#| export' line deleted
    notebook.write_text(json.dumps(cells))
    problems = export.differences([notebook], modules=[module])
    assert len(problems) == 1 and "a region that no notebook cell exports" in problems[0], problems


def test_blank_lines_before_the_marker_still_export_and_are_checked(tmp_path):
    module, notebook = _project(tmp_path, "def area(r):\n    return 2 * r\n", REGION)
    cells = json.loads(notebook.read_text())
    cells["cells"][1]["source"] = ["\n", "\n"] + cells["cells"][1]["source"]
    notebook.write_text(json.dumps(cells))
    assert export.differences([notebook]) == [f"area: {module} differs from {notebook}"]
    assert export.export([notebook]) == ["area"] and export.differences([notebook]) == []


def test_the_same_name_in_two_cells_is_refused(tmp_path):
    module, notebook = _project(tmp_path, "def area(r):\n    return math.pi * r * r\n", REGION)
    cells = json.loads(notebook.read_text())
    cells["cells"].append({**cells["cells"][1], "source": [f"#| export {module}\n", "def area(r):\n    return 1\n"]})
    notebook.write_text(json.dumps(cells))
    with pytest.raises(export.ExportError, match="'area' is exported to .* by two cells"):
        export.differences([notebook])


@pytest.mark.parametrize("damage, message", [
    ("notebook", "is not a readable notebook"),
    ("syntax", "is not valid Python"),
    ("module", "cannot be read"),
    ("end", "has no '# %% end of exported code' line"),
])
def test_what_cannot_be_checked_is_one_line_with_exit_2(tmp_path, monkeypatch, capsys, damage, message):
    module, notebook = _project(tmp_path, "def area(r):\n    return math.pi * r * r\n", REGION)
    if damage == "notebook":
        notebook.write_text('{"cells": [')
    elif damage == "syntax":
        cells = json.loads(notebook.read_text())
        cells["cells"][1]["source"][1] = "def area(r:\n    return r\n"
        notebook.write_text(json.dumps(cells))
    elif damage == "module":
        module.unlink()
    else:
        module.write_text(REGION.replace("# %% end of exported code\n", ""))
    monkeypatch.setattr(export, "NOTEBOOKS", tmp_path)
    monkeypatch.setattr(export, "PROJECT_ROOT", tmp_path)
    for argv in (["--check"], []):
        assert export.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
