"""Grading with the real nbgrader: the handout as an nbgrader assignment, autograded in smoke mode.

A blank submission scores 0 of the autograded points, the instructor's solutions score all of them,
and a submission with one classic mistake (clipping the generator too, in 04.2) loses exactly that
check's points. Needs the instructor's install (``pip install -r requirements-instructor.txt``).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gan_helpers import grading

ASSIGNMENT = grading.ASSIGNMENT


def test_the_points_are_one_table_that_the_notebooks_grade(tmp_path):
    source = grading.write_course(tmp_path / "course")
    graded = {}
    for path in sorted(source.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                key = cell.metadata.get("workbook", {}).get("check") or meta["grade_id"]
                graded[key] = meta["points"]
                # a check is a locked test cell; an exercise a manually graded answer
                assert meta["locked"] != meta["solution"], (path.name, key)
    assert graded == grading.POINTS and sum(graded.values()) == 100
    assert (tmp_path / "course" / "nbgrader_config.py").is_file() and (source / "gan_helpers" / "models.py").is_file()
    other = dict(grading.POINTS, **{"03.4": 20})
    assert grading.write_course(tmp_path / "other", points=other)
    cells = nbformat.read(tmp_path / "other" / "source" / ASSIGNMENT / "03_training.ipynb", as_version=4).cells
    assert [c.metadata["nbgrader"]["points"] for c in cells if c.metadata.get("workbook", {}).get("check") == "03.4"] == [20]
    with pytest.raises(ValueError, match="do not match"):
        grading.write_course(tmp_path / "bad", points={**grading.POINTS, "09.9": 1})


def nbgrader(course, *args, **env):
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                            timeout=2400, env={**os.environ, "GAN_SMOKE": "1", **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {notebook.name: {grade.name: grade.auto_score for grade in notebook.grades
                                if grade.name.startswith("check_")} for notebook in submission.notebooks}


@pytest.mark.slow
def test_nbgrader_autogrades_blank_solved_and_one_mistake(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is the instructor's install: pip install -r "
                                           "requirements-instructor.txt")
    course = tmp_path / "course"
    source = grading.write_course(course)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = course / "release" / ASSIGNMENT
    assert "### BEGIN SOLUTION" not in (release / "03_training.ipynb").read_text()
    submitted = course / "submitted"
    shutil.copytree(release, submitted / "blank" / ASSIGNMENT)
    shutil.copytree(release, submitted / "solved" / ASSIGNMENT)
    for path in source.glob("*.ipynb"):  # the instructor's solutions as a submission
        shutil.copy(path, submitted / "solved" / ASSIGNMENT / path.name)
    # One classic mistake: clip_weights clips the generator as well as the critic.
    mistake = submitted / "mistake" / ASSIGNMENT
    mistake.mkdir(parents=True)
    notebook = nbformat.read(source / "04_wgan.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "def clip_weights" in c.source)
    old = "for variable in self.critic.trainable_variables:"
    assert old in cell.source
    cell.source = cell.source.replace(old, "for variable in self.critic.trainable_variables + "
                                           "self.generator.trainable_variables:")
    nbformat.write(notebook, mistake / "04_wgan.ipynb")
    nbgrader(course, "autograde", ASSIGNMENT)
    checks = {key: points for key, points in grading.POINTS.items() if "." in key}
    blank, solved, wrong = (scores(course, student) for student in ("blank", "solved", "mistake"))
    assert sum(sum(n.values()) for n in blank.values()) == 0
    full = {f"check_{key.replace('.', '_')}": points for key, points in checks.items()}
    assert {name: score for n in solved.values() for name, score in n.items()} == full
    assert sum(wrong["04_wgan"].values()) == sum(solved["04_wgan"].values()) - grading.POINTS["04.2"]
    assert wrong["04_wgan"]["check_04_2"] == 0
    # The feedback a student gets names the failed check.
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", "mistake")
    feedback = (course / "feedback" / "mistake" / ASSIGNMENT / "04_wgan.html").read_text()
    assert "changed the generator" in feedback
    json.dumps(wrong)  # the scores are plain numbers


def test_the_instructors_guide_states_the_points_of_the_table():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "instructors.md").read_text()
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in guide.splitlines()
            if line.startswith("| 0") and line.count("|") == 4}
    stated = {}
    for notebook, (core, exercises) in rows.items():
        for part in core.split(","):
            if ":" in part:
                key, points = part.split(":")
                stated[key.strip()] = int(points)
        for number, points in enumerate(exercises.split(","), start=1):
            stated[f"nb{notebook}_exercise{number}"] = int(points)
    assert stated == grading.POINTS
