"""course.py grade: autograde a folder of submitted notebooks with nbgrader into a score table (CSV).

SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb, one folder per student, notebooks named as shipped.
A temporary nbgrader course is laid out as ``course.py nbgrader`` does; nbgrader generates each
assignment handed in (the grade cells, hidden tests included, come from the teacher's notebook,
never from the submission) and autogrades every submission of it with its default settings. The
table has one row per student, notebook and grade cell, then a ``total`` row per notebook and
one for all notebooks (``all``); a written answer not yet graded by hand has empty points.
"""
import csv
import json
import shutil
import tempfile
from pathlib import Path

from .. import repo_root
from .folder import layout_course, run_nbgrader
from .markers import GRADE_ID, notebooks_in

COLUMNS = ["student", "notebook", "grade_id", "points", "max_points", "note"]


def submissions_in(folder, known):
    """{student_id: {assignment: notebook path}} from folder/<student_id>/<NN_name>.ipynb, checked first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"SUBMISSIONS_DIR {str(folder)!r}: no such folder; give a folder holding one folder "
                         f"per student, each with the notebooks they handed in ({known[0]}.ipynb, ...)")
    found = {}
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not GRADE_ID.match(student.name):
            raise ValueError(f"student folder {student.name!r} in {folder}: nbgrader's student ids may hold "
                             f"only letters, digits, '_' and '-'; rename the folder")
        notebooks = {}
        for path in sorted(student.glob("*.ipynb")):
            if path.stem not in known:
                raise ValueError(f"{path}: {path.name!r} is not one of the course's notebooks; name it as "
                                 f"shipped: {', '.join(n + '.ipynb' for n in known)}")
            try:
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                stamped = any("nbgrader" in cell.get("metadata", {}) for cell in cells)
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise ValueError(f"{path}: not a readable notebook ({err}); ask the student for the .ipynb file "
                                 f"again") from None
            if not stamped:
                raise ValueError(f"{path}: no cell carries nbgrader metadata, so its exercises cannot be found; "
                                 f"students must work on copies from `python3 course.py student` or nbgrader's "
                                 f"release/ folder (a teacher's notebook needs `python3 course.py stamp`)")
            notebooks[path.stem] = path
        if notebooks:
            found[student.name] = notebooks
        else:
            print(f"{student}: no notebooks in it, skipped")
    if not found:
        raise ValueError(f"SUBMISSIONS_DIR {str(folder)!r} holds no submissions: expected "
                         f"{folder}/<student_id>/<notebook>.ipynb, e.g. {folder}/alice/{known[0]}.ipynb")
    return found


def scores(course_dir, submissions, names):
    """[row dict] read from the gradebook of `course_dir` after autograde, in the notebooks' cell order."""
    from nbgrader.api import Gradebook, MissingEntry
    rows = []
    with Gradebook(f"sqlite:///{Path(course_dir) / 'gradebook.db'}") as gb:
        for student, handed in submissions.items():
            for assignment in names:
                if assignment not in handed:
                    continue
                order = [c.name for c in gb.find_notebook(assignment, assignment).grade_cells]
                try:
                    graded = gb.find_submission_notebook(assignment, assignment, student)
                except MissingEntry:
                    rows.append(dict(student=student, notebook=assignment, grade_id="", points="", max_points="",
                                     note="not graded: nbgrader could not autograde it (see its log above)"))
                    continue
                for g in sorted(graded.grades, key=lambda g: order.index(g.name) if g.name in order else 0):
                    manual = g.needs_manual_grade and g.manual_score is None
                    note = "to grade by hand" if manual else ""
                    if manual and g.cell.cell_type == "code":  # a check cell nbgrader did not find: 0
                        manual, note = False, "check cell missing from the submission (deleted, or its metadata lost)"
                    rows.append(dict(student=student, notebook=assignment, grade_id=g.name,
                                     points="" if manual else g.score, max_points=g.max_score, note=note))
    return rows


def with_totals(rows):
    """`rows` plus, per student, a 'total' row per notebook and one for all notebooks ('all')."""
    out = []
    for student in dict.fromkeys(r["student"] for r in rows):
        mine = [r for r in rows if r["student"] == student]
        for notebook in dict.fromkeys(r["notebook"] for r in mine):
            part = [r for r in mine if r["notebook"] == notebook]
            out += part + [total_row(student, notebook, part)]
        out.append(total_row(student, "all", mine))
    return out


def total_row(student, notebook, rows):
    graded = [r for r in rows if r["grade_id"]]
    to_do = sum(1 for r in graded if r["points"] == "")
    return dict(student=student, notebook=notebook, grade_id="total",
                points=sum(float(r["points"]) for r in graded if r["points"] != ""),
                max_points=sum(float(r["max_points"]) for r in graded),
                note=f"{to_do} answer{'s' if to_do != 1 else ''} to grade by hand" if to_do else "")


def grade(submissions_dir, out="scores.csv", notebooks_dir=None, quiet=True):
    """Autograde SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb; write the score table to `out`; return its rows."""
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else repo_root() / "notebooks"
    known = [p.stem for p in notebooks_in(notebooks_dir)]
    if not known:
        raise ValueError(f"{notebooks_dir} holds no NN_*.ipynb notebooks to grade against")
    out = Path(out)
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"--out {str(out)!r}: give a file name in an existing folder, e.g. --out scores.csv")
    submissions = submissions_in(submissions_dir, known)
    names = [n for n in known if any(n in handed for handed in submissions.values())]
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        course = Path(tmp)
        layout_course(notebooks_dir, course, names)
        for student, handed in submissions.items():
            for assignment, path in handed.items():
                target = course / "submitted" / student / assignment
                target.mkdir(parents=True)
                shutil.copy2(path, target / path.name)
        handed_in = sum(len(h) for h in submissions.values())
        print(f"nbgrader: generating {len(names)} assignments ({', '.join(names)}), then autograding "
              f"{handed_in} notebooks of {len(submissions)} students", flush=True)
        run_nbgrader(course, "generate_assignment", "*", "--force", quiet=quiet)  # "*": every assignment
        run_nbgrader(course, "autograde", "*", "--force", quiet=quiet)
        rows = with_totals(scores(course, submissions, names))
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        if row["notebook"] == "all":
            note = f" ({row['note']})" if row["note"] else ""
            print(f"{row['student']}: {row['points']:g} / {row['max_points']:g} points{note}")
    print(f"wrote {out} ({len(rows)} rows)")
    return rows
