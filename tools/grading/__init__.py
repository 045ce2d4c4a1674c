"""Grading: stamp the notebooks' nbgrader metadata, lay out an nbgrader course, grade submissions to a CSV.

    python3 course.py stamp [--check]        nbgrader metadata of notebooks/*.ipynb from their markers
    python3 course.py nbgrader COURSE_DIR [--force]   an nbgrader course folder (source/NN_name/), then its commands
    python3 course.py grade SUBMISSIONS_DIR [--out scores.csv] [--timeout S] ...
                                             scores of SUBMISSIONS_DIR/<student>/NN_*.ipynb

(``python -m tools.grading stamp|nbgrader|grade ...`` from the repository root is the same; ``--help``
lists each command's options.) The markers in the notebooks are the source of truth
(:mod:`tools.grading.markers`, shared with the student export), the points are in
:mod:`tools.grading.points`; nbgrader's cell metadata is derived from both and committed. Modules:
``points`` (the table), ``markers`` (markers -> metadata, the notebook glob, figure links),
``safe_files`` (writing without following links or overwriting edits), ``folder`` (the nbgrader course
folder, running nbgrader), ``submissions`` (the hand-ins, read against the teacher's notebooks),
``sandbox`` / ``runner`` / ``wire`` (student code in a process of its own), ``remote`` and
``autograde`` (the checks, run in the grader against the student's functions), ``scores`` (the CSV).
Course tooling, not installed with ``helpers``.
"""
from .folder import layout_course, nbgrader_commands, run_nbgrader
from .markers import StampError, derive_metadata, stamp, stamp_notebook
from .points import POINTS
from .scores import grade

__all__ = ["POINTS", "StampError", "derive_metadata", "stamp_notebook", "stamp", "layout_course",
           "nbgrader_commands", "run_nbgrader", "grade"]
