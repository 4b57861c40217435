"""Grading the handout with nbgrader: the points of every check and exercise, and the course folder.

    python -m gan_helpers.grading course COURSE_DIR [--assignment gan_faces]

writes an nbgrader course: ``COURSE_DIR/nbgrader_config.py`` and the assignment's source,
``COURSE_DIR/source/ASSIGNMENT/``, which holds the handout (:mod:`gan_helpers.student`) with the
instructor's notebooks at its top in place of the scaffolded ones. In those notebooks:

- each core exercise's cell (``01.1`` ... ``04.5``) is an nbgrader solution cell, as in the repository;
- each check that follows it (metadata ``workbook.check``) is a locked, autograded test cell with the
  points of :data:`POINTS`;
- each end-of-notebook exercise is a manually graded answer with the points of :data:`POINTS`
  (its self-check runs in the same cell, so the grader sees its verdict).

:data:`POINTS` is the one place the weights are written: edit it (or pass ``--points FILE``, a JSON
object of the same keys) and write the course again. nbgrader then does the rest::

    cd COURSE_DIR
    nbgrader generate_assignment gan_faces     # release/gan_faces: solutions and outputs cleared
    nbgrader release_assignment gan_faces      # with an exchange (JupyterHub); or hand release/ out
    nbgrader collect gan_faces                 # or copy each submission to submitted/STUDENT/gan_faces/
    GAN_SMOKE=1 nbgrader autograde gan_faces   # smoke mode: the notebooks run in seconds
    nbgrader generate_feedback gan_faces

A check that fails, or crashes on a blank scaffold, scores 0 for its cell. When grading, the course's
configuration leaves the submission's own ``gan_helpers`` folder behind (``CourseDirectory.ignore``),
so the checks that grade are the instructor's installed package, not a copy the student could edit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: Points of the autograded checks (by core exercise) and of the manually graded exercises (by their
#: nbgrader grade_id). 100 in all: 70 for the core, 30 for the end-of-notebook exercises.
POINTS = {
    "01.1": 10, "02.1": 10,
    "03.1": 3, "03.2": 5, "03.3": 4, "03.4": 8, "03.5": 10,
    "04.1": 3, "04.2": 3, "04.3": 5, "04.4": 5, "04.5": 4,
    "nb00_exercise1": 1, "nb00_exercise2": 1, "nb00_exercise3": 1,
    "nb01_exercise1": 2, "nb01_exercise2": 2, "nb01_exercise3": 1,
    "nb02_exercise1": 1, "nb02_exercise2": 2, "nb02_exercise3": 2,
    "nb03_exercise1": 2, "nb03_exercise2": 2, "nb03_exercise3": 2,
    "nb04_exercise1": 2, "nb04_exercise2": 2, "nb04_exercise3": 2,
    "nb05_exercise1": 2, "nb05_exercise2": 2, "nb05_exercise3": 1,
}

ASSIGNMENT = "gan_faces"

CONFIG = '''# nbgrader's configuration for the GAN Faces Workbook (written by `python -m gan_helpers.grading course`).
import sys

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "gan-faces"
# Training cells run for minutes in real mode; autograde in smoke mode (GAN_SMOKE=1) to take seconds.
c.Execute.timeout = 3600
if "autograde" in sys.argv:
    # Grade with the instructor's installed gan_helpers: the submission's own copy stays behind.
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "gan_helpers"]
'''


def _grade(grade_id: str, points: int | None = None, solution: bool = False, locked: bool = False) -> dict:
    metadata = {"grade": points is not None, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                "solution": solution, "task": False}
    if points is not None:
        metadata["points"] = points
    return metadata


def graded_notebook(notebook, points: dict):
    """The instructor's notebook as an nbgrader source: checks are locked test cells, exercises manually
    graded answers, each with its points; the instructors' notes and the self-study cells are left out."""
    import copy

    from gan_helpers import student

    notebook = copy.deepcopy(notebook)
    notebook.cells = [c for c in notebook.cells if not student.instructor_only(c) and not student.self_study_only(c)]
    for cell in notebook.cells:
        metadata = cell.get("metadata", {})
        check = metadata.get("workbook", {}).get("check")
        nbgrader = metadata.get("nbgrader", {})
        if check:
            cell.metadata["nbgrader"] = _grade(f"check_{check.replace('.', '_')}", points[check], locked=True)
        elif nbgrader.get("solution") and nbgrader["grade_id"] in points:
            cell.metadata["nbgrader"] = _grade(nbgrader["grade_id"], points[nbgrader["grade_id"]], solution=True)
        lines = cell.source.lstrip("\n").split("\n")
        if cell.cell_type == "code" and lines[0].startswith("#| export"):
            cell.source = "\n".join([student.HANDOUT_MARKER.format(module=lines[0].split()[2])] + lines[1:])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def write_course(out, assignment: str = ASSIGNMENT, points: dict | None = None) -> Path:
    """Write an nbgrader course for the workbook to ``out``; returns the assignment's source folder."""
    import nbformat

    from gan_helpers import PROJECT_ROOT, files, student

    points = dict(POINTS if points is None else points)
    notebooks = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
    written, _ = student.release_files(PROJECT_ROOT / "notebooks", "handout")
    source = Path(out) / "source" / assignment
    graded = {}
    for path in notebooks:
        graded[path.name] = graded_notebook(nbformat.read(path, as_version=4), points)
    graded_keys = {c.metadata["workbook"]["check"] if c.metadata.get("workbook", {}).get("check")
                   else c.metadata["nbgrader"]["grade_id"]
                   for nb in graded.values() for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    exercises = {c.metadata["nbgrader"]["grade_id"] for nb in graded.values() for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("solution") and "exercise" in c.metadata["nbgrader"]["grade_id"]}
    if set(points) != graded_keys or not exercises <= graded_keys:
        wrong = sorted(set(points) - graded_keys) or sorted((graded_keys | exercises) - set(points))
        raise ValueError(f"The points do not match the notebooks' checks and exercises ({', '.join(wrong)}): give "
                         "points for exactly the keys of gan_helpers.grading.POINTS.")
    for name, data in written.items():
        if name.startswith("notebooks/"):
            continue
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(data)
    for name, notebook in graded.items():
        files.write_text(source / name, nbformat.writes(notebook))
    files.write_text(Path(out) / "nbgrader_config.py", CONFIG)
    return source


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.grading",
                                     description="Write an nbgrader course for the workbook (see this module's help).")
    commands = parser.add_subparsers(dest="command", required=True)
    course = commands.add_parser("course", help="write COURSE_DIR/nbgrader_config.py and source/ASSIGNMENT/")
    course.add_argument("course_dir")
    course.add_argument("--assignment", default=ASSIGNMENT)
    course.add_argument("--points", help="a JSON file of points, with the keys of gan_helpers.grading.POINTS")
    args = parser.parse_args(argv)
    try:
        points = json.loads(Path(args.points).read_text()) if args.points else None
        source = write_course(args.course_dir, args.assignment, points)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    total = sum((POINTS if points is None else points).values())
    print(f"Wrote {source} ({total} points). Next, in {args.course_dir}: "
          f"`nbgrader generate_assignment {args.assignment}`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
