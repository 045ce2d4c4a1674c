"""Grading with nbgrader: stamp the notebooks' metadata, lay out an nbgrader course, grade to a CSV.

    python3 course.py stamp [--check]        nbgrader metadata of notebooks/*.ipynb from their markers
    python3 course.py nbgrader COURSE_DIR    an nbgrader course folder (source/NN_name/), then its commands
    python3 course.py grade SUBMISSIONS_DIR [--out scores.csv]   scores of SUBMISSIONS_DIR/<student>/NN_*.ipynb

(``python -m tools.grading stamp|nbgrader|grade ...`` from the repository root is the same.)
The markers in the notebooks are the source of truth (see :mod:`tools.grading.markers`), the
points are in :mod:`tools.grading.points`; nbgrader's cell metadata is derived from both and
committed. Modules: ``points`` (the table), ``markers`` (markers -> metadata), ``folder`` (the
nbgrader course folder, running nbgrader), ``scores`` (submissions -> CSV). Course tooling, not
installed with ``helpers``.
"""
from .folder import layout_course, nbgrader_commands, run_nbgrader
from .markers import StampError, derive_metadata, stamp, stamp_notebook
from .points import POINTS
from .scores import grade

__all__ = ["POINTS", "StampError", "derive_metadata", "stamp_notebook", "stamp", "layout_course",
           "nbgrader_commands", "run_nbgrader", "grade"]
