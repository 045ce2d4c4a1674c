"""Grading with nbgrader: stamp the notebooks' metadata, lay out an nbgrader course, grade to a CSV.

    python3 course.py stamp [--check]            write nbgrader metadata into notebooks/*.ipynb
    python3 course.py nbgrader COURSE_DIR        an nbgrader course folder (source/NN_name/), then its commands
    python3 course.py grade SUBMISSIONS_DIR [--out scores.csv]   autograde SUBMISSIONS_DIR/<student>/NN_name.ipynb

(``python -m tools.grading stamp|nbgrader|grade ...`` from the repository root is the same.)

The markers in the notebooks are the source of truth; nbgrader's cell metadata is derived from
them and committed (``stamp``), with the points from :data:`POINTS`:

- a code cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` is a *solution* cell; its
  grade_id is the name it defines (the ``def``/``class`` the region sits in, else the first
  name it assigns), e.g. ``rnn_2``;
- the code cell right after it, which calls ``checks.check_<name>(...)``, is a locked,
  autograded *grade* cell with grade_id ``check_<name>`` (the check it calls). Only grade cells
  may hold ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (nbgrader's release removes them);
- a markdown cell holding the solution markers is an answer graded by hand; its grade_id is
  given in the cell as ``<!-- grade_id: NAME -->``; the region holds the model answer and a
  rubric (nbgrader's release and ``course.py student`` replace it by "YOUR ANSWER HERE").

Every grade cell's points come from POINTS; nbgrader counts none for solution cells.
Course tooling, not installed with ``helpers``.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import repo_root

__all__ = ["POINTS", "derive_metadata", "stamp_notebook", "stamp", "layout_course", "grade", "main"]

# Points of every autograded check and every answer graded by hand, by grade_id.
POINTS = {
    # 01_mlp_no_state
    "check_make_windows": 3,
    "check_perplexity": 1,
    # 02_rnn_one_layer
    "check_init_rnn_state": 1,
    "check_rnn_step": 2,
    # 03_rnn_2_by_hand
    "check_get_params_2": 2,
    "check_init_rnn_2_state": 1,
    "check_rnn_2": 4,
    # 04_lstm_num_layers
    "check_lstm_shapes": 2,
    "check_lstm_params": 2,
    # 05_experiments
    "check_deep_begin_state": 1,
}

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
DEFINES = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
ASSIGNS = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
CHECK_CALL = re.compile(r"\bchecks\.(check_\w+)\s*\(")
ANSWER_ID = re.compile(r"<!--\s*grade_id:\s*([A-Za-z0-9_-]+)\s*-->")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")  # what nbgrader accepts
FIGURE_LINK = re.compile(r"\.\./figures/([A-Za-z0-9_.-]+)")
NBGRADER_NAMES = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                  "BEGIN MARK SCHEME", "END MARK SCHEME")


class StampError(ValueError):
    """A notebook's markers do not give a valid nbgrader assignment (the message says where and why)."""


def source_of(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def regions(source, where):
    """{'SOLUTION': n, 'HIDDEN TESTS': n}: how many well-formed regions of each kind `source` holds.

    nbgrader finds its markers anywhere in a line, so a line naming one that is not a marker
    line of its own (say, prose quoting it) is refused here rather than mangled by nbgrader.
    """
    counts, open_kind = {"SOLUTION": 0, "HIDDEN TESTS": 0}, None
    for number, line in enumerate(source.splitlines(), start=1):
        marker = MARKER.match(line)
        if not marker:
            if any(name in line for name in NBGRADER_NAMES):
                raise StampError(f"{where}, line {number}: {line.strip()!r} names an nbgrader marker but is not "
                                 f"one (a marker is a line of its own, e.g. '### BEGIN SOLUTION'); nbgrader "
                                 f"would cut the cell there: reword it")
            continue
        edge, kind = marker.groups()
        if edge == "BEGIN":
            if open_kind:
                raise StampError(f"{where}, line {number}: BEGIN {kind} inside an open {open_kind} region")
            open_kind = kind
        elif open_kind != kind:
            raise StampError(f"{where}, line {number}: END {kind} without BEGIN {kind}")
        else:
            counts[kind], open_kind = counts[kind] + 1, None
    if open_kind:
        raise StampError(f"{where}: BEGIN {open_kind} is never closed by END {open_kind}")
    return counts


def defined_name(source, where):
    """The name a solution cell defines: the top-level def/class holding the region, else the first assignment."""
    lines = source.splitlines()
    begin = next(i for i, line in enumerate(lines) if MARKER.match(line) and "BEGIN" in line)
    for line in reversed(lines[:begin + 1]):
        found = DEFINES.match(line)
        if found:
            return found.group(1)
    for line in lines:
        found = ASSIGNS.match(line)
        if found:
            return found.group(1)
    raise StampError(f"{where}: a solution cell must define a name (def, class or an assignment at the top "
                     f"level) to give its grade_id; this one defines none")


def nbgrader_meta(grade_id, solution, grade, locked, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def points_of(grade_id, points, where):
    if grade_id not in points:
        raise StampError(f"{where}: grade_id {grade_id!r} has no points: add it to POINTS in tools/grading.py "
                         f"(known: {', '.join(sorted(points)) or 'none'})")
    return points[grade_id]


def derive_metadata(nb, name="notebook", points=None):
    """The nbgrader metadata every cell of `nb` (a notebook dict) should carry: a list, None for plain cells."""
    points = POINTS if points is None else points
    metas = [None] * len(nb["cells"])
    counts = [regions(source_of(cell), f"{name}, cell {i}") for i, cell in enumerate(nb["cells"])]
    for i, (cell, count) in enumerate(zip(nb["cells"], counts)):
        where, source = f"{name}, cell {i}", source_of(cell)
        if cell["cell_type"] == "raw" and (count["SOLUTION"] or count["HIDDEN TESTS"]):
            raise StampError(f"{where}: a raw cell cannot hold nbgrader regions")
        if count["SOLUTION"] and cell["cell_type"] == "markdown":
            answer = ANSWER_ID.search(source)
            if not answer:
                raise StampError(f"{where}: a markdown answer needs its grade_id in the cell, as "
                                 f"'<!-- grade_id: some_name -->' above '### BEGIN SOLUTION'")
            metas[i] = nbgrader_meta(answer.group(1), True, True, False, points_of(answer.group(1), points, where))
        elif count["SOLUTION"]:
            grade_id = defined_name(source, where)
            metas[i] = nbgrader_meta(grade_id, True, False, False)
            after = nb["cells"][i + 1] if i + 1 < len(nb["cells"]) else None
            check = CHECK_CALL.search(source_of(after)) if after and after["cell_type"] == "code" else None
            if not check or counts[i + 1]["SOLUTION"]:
                raise StampError(f"{where}: the solution cell of {grade_id!r} must be followed right away by a "
                                 f"code cell that calls its check, e.g. checks.check_{grade_id}({grade_id})")
            metas[i + 1] = nbgrader_meta(check.group(1), False, True, True,
                                         points_of(check.group(1), points, f"{name}, cell {i + 1}"))
    for i, count in enumerate(counts):
        if count["HIDDEN TESTS"] and not (metas[i] and metas[i]["grade"] and not metas[i]["solution"]):
            raise StampError(f"{name}, cell {i}: hidden tests belong in the check cell right after a solution "
                             f"cell (nbgrader refuses them anywhere else)")
    seen = {}
    for i, meta in enumerate(metas):
        if meta:
            if not GRADE_ID.match(meta["grade_id"]):
                raise StampError(f"{name}, cell {i}: grade_id {meta['grade_id']!r} may hold only letters, "
                                 f"digits, '_' and '-'")
            if meta["grade_id"] in seen:
                raise StampError(f"{name}, cells {seen[meta['grade_id']]} and {i}: both have grade_id "
                                 f"{meta['grade_id']!r}; grade_ids must be unique")
            seen[meta["grade_id"]] = i
    return metas


def stamp_notebook(nb, name="notebook", points=None):
    """Write the derived nbgrader metadata into `nb` (a notebook dict) in place; True if anything changed."""
    changed = False
    for cell, meta in zip(nb["cells"], derive_metadata(nb, name, points)):
        if cell["metadata"].get("nbgrader") != meta:
            changed = True
            if meta is None:
                del cell["metadata"]["nbgrader"]
            else:
                cell["metadata"]["nbgrader"] = meta
    return changed


def dumps(nb):
    """A notebook dict as Jupyter and nbformat write it (so a stamped file differs only where it changed)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebooks_in(folder):
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


def stamp(notebooks_dir, check=False, points=None):
    """Stamp every NN_*.ipynb of `notebooks_dir`; returns the paths that changed (or would, with `check`).

    Only the cells' ``metadata.nbgrader`` changes; grade_ids must be unique across the course
    (POINTS is one table for all notebooks).
    """
    changed, owners = [], {}
    for path in notebooks_in(notebooks_dir):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if stamp_notebook(nb, path.name, points):
            changed.append(path)
            if not check:
                path.write_text(dumps(nb), encoding="utf-8")
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id and grade_id in owners:
                raise StampError(f"grade_id {grade_id!r} is in both {owners[grade_id]} and {path.name}: "
                                 f"grade_ids must be unique across the course")
            if grade_id:
                owners[grade_id] = path.name
    return changed


# ---------------------------------------------------------------------------------------
# An nbgrader course folder
# ---------------------------------------------------------------------------------------

def layout_course(notebooks_dir, course_dir, names=None):
    """Write COURSE_DIR/source/NN_name/NN_name.ipynb (stamped) for each notebook, with the figures it links.

    nbgrader copies an assignment folder's other files into release/, so the figures go beside
    the notebook and ``../figures/x.png`` becomes ``figures/x.png``. Returns the assignment names.
    """
    notebooks_dir, course_dir = Path(notebooks_dir), Path(course_dir)
    paths = [p for p in notebooks_in(notebooks_dir) if names is None or p.stem in names]
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        stamp_notebook(nb, path.name)
        folder = course_dir / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for cell in nb["cells"]:
            text = source_of(cell)
            for figure in FIGURE_LINK.findall(text):
                found = notebooks_dir.parent / "figures" / figure
                if not found.is_file():
                    raise FileNotFoundError(f"{path.name} links ../figures/{figure}, which is not in {found.parent}")
                (folder / "figures").mkdir(exist_ok=True)
                shutil.copy2(found, folder / "figures" / figure)
            if FIGURE_LINK.search(text):
                cell["source"] = text.replace("../figures/", "figures/").splitlines(keepends=True)
        (folder / path.name).write_text(dumps(nb), encoding="utf-8")
    return [p.stem for p in paths]


def nbgrader_commands(names):
    """The standard nbgrader commands, with its default settings, that a teacher runs in the course folder."""
    lines = ["nbgrader generate_assignment {a}        # release/{a}/: hand this folder out"]
    lines += ["# collect: students' notebooks go in submitted/<student_id>/{a}/{a}.ipynb "
              "(nbgrader collect does it with an exchange)",
              "nbgrader autograde {a}                  # runs each submission, scores the check cells",
              "nbgrader formgrader                     # or JupyterLab's Formgrader: grade the written answers"]
    body = "\n".join("    " + line.format(a=names[0]) for line in lines)
    return (f"{body}\n    nbgrader export                         # grades.csv: every student, every assignment\n"
            f"\nThe assignments: {', '.join(names)}. Run nbgrader from the course's environment "
            f"(.venv/bin/nbgrader, or activate it), which runs the kernels; it sets OMP_NUM_THREADS=1 "
            f"for speed, and DEEP_RNN_DATA if the corpora are not in the course's cache.")


# ---------------------------------------------------------------------------------------
# course.py grade: a folder of submissions to a score table
# ---------------------------------------------------------------------------------------

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
                json.loads(path.read_text(encoding="utf-8"))["cells"]
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}: not a readable notebook ({err}); ask the student for the .ipynb file "
                                 f"again") from None
            notebooks[path.stem] = path
        if notebooks:
            found[student.name] = notebooks
    if not found:
        raise ValueError(f"SUBMISSIONS_DIR {str(folder)!r} holds no submissions: expected "
                         f"{folder}/<student_id>/<notebook>.ipynb, e.g. {folder}/alice/{known[0]}.ipynb")
    return found


def run_nbgrader(course_dir, *args, quiet=True):
    """Run one nbgrader command in `course_dir` with its default settings; raise with its log on failure."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_dir}"]
    # nbgrader runs `alembic` (its gradebook's migrations) from PATH: the venv's bin/ comes first.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run(command, cwd=course_dir, env=env, capture_output=quiet, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout or ''}{done.stderr or ''}")
    return done


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
                    rows.append(dict(student=student, notebook=assignment, grade_id=g.name,
                                     points="" if manual else g.score, max_points=g.max_score,
                                     note="to grade by hand" if manual else ""))
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
    """Autograde SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb with nbgrader; write the score table to `out`.

    A temporary nbgrader course is built as ``course.py nbgrader`` does; for each notebook handed
    in, nbgrader generates the assignment (the grade cells, hidden tests included, come from the
    teacher's notebook, not from the submission) and autogrades every submission of it. Returns the rows.
    """
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else repo_root() / "notebooks"
    known = [p.stem for p in notebooks_in(notebooks_dir)]
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
        for assignment in names:
            print(f"grading {assignment} ({sum(assignment in h for h in submissions.values())} submissions)",
                  flush=True)
            run_nbgrader(course, "generate_assignment", assignment, "--force", quiet=quiet)
            run_nbgrader(course, "autograde", assignment, "--force", quiet=quiet)
        rows = with_totals(scores(course, submissions, names))
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "notebook", "grade_id", "points", "max_points", "note"])
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        if row["notebook"] == "all":
            note = f" ({row['note']})" if row["note"] else ""
            print(f"{row['student']}: {row['points']:g} / {row['max_points']:g} points{note}")
    print(f"wrote {out} ({len(rows)} rows)")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.grading", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    stamp_cmd = commands.add_parser("stamp", help="write nbgrader metadata into notebooks/*.ipynb")
    stamp_cmd.add_argument("--check", action="store_true", help="only say which notebooks would change (exit 1)")
    course_cmd = commands.add_parser("nbgrader", help="lay out an nbgrader course folder")
    course_cmd.add_argument("course_dir")
    grade_cmd = commands.add_parser("grade", help="autograde a folder of submissions into a CSV")
    grade_cmd.add_argument("submissions_dir")
    grade_cmd.add_argument("--out", default="scores.csv", help="the score table to write (default: scores.csv)")
    grade_cmd.add_argument("--verbose", action="store_true", help="show nbgrader's own log")
    args = parser.parse_args(argv)
    notebooks = repo_root() / "notebooks"
    try:
        if args.command == "stamp":
            changed = stamp(notebooks, check=args.check)
            for path in changed:
                print(f"{'would stamp' if args.check else 'stamped'} {path}")
            print(f"{len(changed)} notebook{'s' if len(changed) != 1 else ''} "
                  f"{'to stamp' if args.check else 'changed'}")
            return 1 if args.check and changed else 0
        if args.command == "nbgrader":
            names = layout_course(notebooks, args.course_dir)
            print(f"wrote {len(names)} assignments to {Path(args.course_dir) / 'source'}\n\n"
                  f"In {args.course_dir}, for each assignment (here the first):\n\n{nbgrader_commands(names)}")
            return 0
        grade(args.submissions_dir, args.out, quiet=not args.verbose)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
