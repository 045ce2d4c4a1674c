"""Tests for tools/grading: nbgrader metadata stamped from the markers (and the committed notebooks
carry exactly that), the one marker module the student export shares, the nbgrader course folder and
what it refuses to overwrite, the submissions folder checked before any work, each notebook graded on
its own, every check run here against a student's function over the wire (each notebook's solutions
score full marks, stubs and known mistakes 0), and the sandbox (rights, environment, limits, time).
The end-to-end runs (`course.py grade` on five kinds of hand-in, nbgrader itself) are in
test_grading_e2e.py."""
import ast
import csv
import importlib
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import tools
from tools import grading
from tools import student as export
from tools.grading import __main__ as cli
from tools.grading import autograde, runner, sandbox, submissions, wire
from tools.grading import markers as stamping
from tools.grading import scores as grade_module
from tools.grading.remote import Remote

ROOT = Path(__file__).resolve().parents[2]
REAL = sorted((ROOT / "notebooks").glob(stamping.NOTEBOOK_GLOB))
POINTS = {"check_double": 2, "check_half": 1, "why_double": 3}

CHECKS = ("class checks:  # stands in for helpers.checks: no torch needed\n"
          "    @staticmethod\n"
          "    def check_double(fn, n=3):\n"
          "        assert fn(n) == 2 * n, f'double({n}) should be {2 * n}'\n"
          "        print('✓ double')\n"
          "    @staticmethod\n"
          "    def check_half(fn):\n"
          "        assert fn(4) == 2\n")
DOUBLE = ("def double(x):\n"
          "    # Exercise: return twice x\n"
          "    ### BEGIN SOLUTION\n"
          "    return 2 * x\n"
          "    ### END SOLUTION")
CHECK_DOUBLE = ("checks.check_double(double)\n"
                "### BEGIN HIDDEN TESTS\n"
                "checks.check_double(double, n=11)\n"
                "### END HIDDEN TESTS")
HALF = ("half = None\n"
        "### BEGIN SOLUTION\n"
        "half = lambda x: x // 2\n"
        "### END SOLUTION")
ANSWER = ("<!-- grade_id: why_double -->\n"
          "### BEGIN SOLUTION\n"
          "Because 2x is x + x. *Rubric:* 3 points for the sum.\n"
          "### END SOLUTION")


def lesson():
    """A notebook with two checked exercises (one with hidden tests), a written answer and a demo check call."""
    cells = [
        new_markdown_cell("# Lesson\n\n![grid](../figures/grid.png)"),
        new_code_cell(CHECKS, execution_count=1),
        new_code_cell(DOUBLE, execution_count=2, metadata={"tags": ["keep"]}),
        new_code_cell(CHECK_DOUBLE, execution_count=3,
                      outputs=[new_output("stream", name="stdout", text="✓ double\n")]),
        new_code_cell("checks.check_double(double)  # a demo, not graded", execution_count=4),
        new_code_cell(HALF, execution_count=5),
        new_code_cell("checks.check_half(half)", execution_count=6),
        new_markdown_cell("**Question.** Why is `double(x)` equal to `x + x`?"),
        new_markdown_cell(ANSWER),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def as_dict(nb):
    return json.loads(nbformat.writes(nb))


def meta(grade_id, solution, grade, locked, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
         "task": False}
    return m if points is None else {**m, "points": points}


@pytest.fixture
def course(tmp_path):
    """A tiny course: notebooks/01_lesson.ipynb, notebooks/scratch.ipynb (not numbered), figures/grid.png."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "grid.png").write_bytes(b"\x89PNG fake")
    nbformat.write(lesson(), tmp_path / "notebooks" / "01_lesson.ipynb")
    nbformat.write(lesson(), tmp_path / "notebooks" / "scratch.ipynb")
    return tmp_path


# ---- stamp ------------------------------------------------------------------------------

def test_metadata_derived_from_the_markers():
    metas = stamping.derive_metadata(as_dict(lesson()), points=POINTS)
    assert metas == [
        None, None,
        meta("double", True, False, False),              # solution: grade_id = the def it sits in
        meta("check_double", False, True, True, 2),      # the check right after: locked, with points
        None,                                            # a check call elsewhere is not graded
        meta("half", True, False, False),                # no def: the first name assigned
        meta("check_half", False, True, True, 1),
        None,
        meta("why_double", True, True, False, 3),        # a written answer, graded by hand
    ]


def test_stamp_changes_only_the_nbgrader_metadata_and_is_idempotent(course):
    path = course / "notebooks" / "01_lesson.ipynb"
    before = json.loads(path.read_text())
    assert grading.stamp(course / "notebooks", points=POINTS) == [path]
    text = path.read_text()
    after = json.loads(text)
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"  # as Jupyter writes it
    for cell in after["cells"]:
        cell["metadata"].pop("nbgrader", None)
    assert after == before
    assert grading.stamp(course / "notebooks", points=POINTS) == []
    assert path.read_text() == text
    assert not (course / "notebooks" / "scratch.ipynb").read_text().count('"nbgrader"')  # not numbered


def test_stamp_check_writes_nothing_and_stale_metadata_is_removed(course):
    path = course / "notebooks" / "01_lesson.ipynb"
    nb = lesson()
    nb.cells[4].metadata["nbgrader"] = meta("check_double_again", False, True, True, 5)  # stale
    nbformat.write(nb, path)
    text = path.read_text()
    assert grading.stamp(course / "notebooks", check=True, points=POINTS) == [path]
    assert path.read_text() == text
    grading.stamp(course / "notebooks", points=POINTS)
    assert "nbgrader" not in json.loads(path.read_text())["cells"][4]["metadata"]


def stamp_error(cells, points=POINTS):
    with pytest.raises(grading.StampError) as info:
        stamping.derive_metadata(as_dict(new_notebook(cells=cells)), name="01_x.ipynb", points=points)
    return str(info.value)


def test_a_grade_id_without_points_names_the_table():
    message = stamp_error([new_code_cell(DOUBLE), new_code_cell(CHECK_DOUBLE)], points={})
    assert "01_x.ipynb, cell 1" in message and "'check_double'" in message and "tools/grading/points.py" in message


def test_a_solution_needs_its_check_right_after_it():
    for after in [[], [new_markdown_cell("text")], [new_code_cell("print(double(2))")]]:
        message = stamp_error([new_code_cell(DOUBLE), *after])
        assert "cell 0" in message and "checks.check_double(double)" in message


@pytest.mark.parametrize("cells, expected", [
    ([new_code_cell(DOUBLE), new_code_cell(CHECK_DOUBLE), new_code_cell(DOUBLE), new_code_cell(CHECK_DOUBLE)],
     "cells 0 and 2: both have grade_id 'double'"),
    ([new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS")], "hidden tests belong"),
    ([new_markdown_cell("### BEGIN SOLUTION\nan answer\n### END SOLUTION")], "<!-- grade_id: some_name -->"),
    ([new_markdown_cell("Mark your answer with `### BEGIN SOLUTION`.")], "names an nbgrader marker"),
    ([new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")], "never closed"),
    ([new_code_cell("### END SOLUTION")], "END SOLUTION without BEGIN"),
    ([new_code_cell("### BEGIN SOLUTION\n1 + 1\n### END SOLUTION")], "must define a name"),
    ([new_markdown_cell("<!-- grade_id: why double -->\n### BEGIN SOLUTION\nx\n### END SOLUTION")],
     "<!-- grade_id: some_name -->"),
])
def test_bad_markers_are_refused_with_where_and_why(cells, expected):
    assert expected in stamp_error(cells)


def test_grade_ids_are_unique_across_the_course(course):
    nbformat.write(lesson(), course / "notebooks" / "02_again.ipynb")
    with pytest.raises(grading.StampError, match="'double' is in both 01_lesson.ipynb and 02_again.ipynb"):
        grading.stamp(course / "notebooks", check=True, points=POINTS)


# ---- the committed notebooks ---------------------------------------------------------------

@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_committed_notebook_carries_the_stamped_metadata(path):
    """Fails when a notebook's nbgrader metadata drifts from its markers: run `python3 course.py stamp`."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    have = [cell["metadata"].get("nbgrader") for cell in nb["cells"]]
    want = stamping.derive_metadata(nb, path.name)
    drift = [f"cell {i}: has {h}, markers give {w}" for i, (h, w) in enumerate(zip(have, want)) if h != w]
    assert not drift, f"{path.name} is not stamped (python3 course.py stamp):\n" + "\n".join(drift)


def test_every_point_in_the_table_is_used_and_grade_ids_are_unique():
    grading.stamp(ROOT / "notebooks", check=True)  # raises on a grade_id used twice in the course
    used = {m["grade_id"] for path in REAL
            for m in stamping.derive_metadata(json.loads(path.read_text(encoding="utf-8")), path.name) if m}
    assert sorted(set(grading.POINTS) - used) == []
    assert all(isinstance(p, int) and p > 0 for p in grading.POINTS.values())




# ---- one marker module for the student export and grading (issue 21) --------------------------

def own_markers(path):
    """The regexes, notebook globs and figure links a module's code (not its docstrings) spells out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
    return [ast.unparse(node) for node in ast.walk(tree)
            if (isinstance(node, ast.Attribute) and ast.unparse(node) == "re.compile")
            or (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and ("[0-9][0-9]_" in node.value or node.value.startswith("../figures/")))]


def test_the_student_export_and_grading_share_one_marker_module():
    for path in (ROOT / "tools" / "student.py", ROOT / "tools" / "grading" / "folder.py"):
        assert own_markers(path) == [], f"{path.name} defines markers of its own"
    assert export.markers is stamping
    text = "![grid](../figures/grid.png), see ../figures/deep_rnn_grid.png"
    student, _, links = export.student_notebook(new_notebook(cells=[new_markdown_cell(text)]))
    assert links and student.cells[0].source == stamping.local_figure_links(text) == (
        "![grid](figures/grid.png), see figures/deep_rnn_grid.png")
    assert stamping.figure_links(text) == ["grid.png", "deep_rnn_grid.png"]


# ---- the nbgrader course folder ------------------------------------------------------------

def test_course_folder_holds_each_notebook_stamped_with_its_figures(course, tmp_path, monkeypatch):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    out = tmp_path / "nbcourse"
    assert grading.layout_course(course / "notebooks", out) == ["01_lesson"]
    folder = out / "source" / "01_lesson"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "source/01_lesson/01_lesson.ipynb", "source/01_lesson/figures/grid.png"]
    nb = nbformat.read(folder / "01_lesson.ipynb", as_version=4)
    assert "![grid](figures/grid.png)" in nb.cells[0].source and "../figures" not in nbformat.writes(nb)
    assert nb.cells[3].metadata.nbgrader == meta("check_double", False, True, True, 2)
    nbformat.validate(nb)


def test_a_missing_figure_is_named(course, tmp_path, monkeypatch):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    (course / "figures" / "grid.png").unlink()
    with pytest.raises(FileNotFoundError, match="01_lesson.ipynb links ../figures/grid.png"):
        grading.layout_course(course / "notebooks", tmp_path / "nbcourse")
    assert not (tmp_path / "nbcourse").exists()  # checked before anything is written


def test_nbgrader_command_lays_out_the_course_and_prints_the_standard_commands(course, tmp_path, monkeypatch,
                                                                               capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    monkeypatch.setattr(tools, "ROOT", course)
    assert cli.main(["nbgrader", str(tmp_path / "nbcourse")]) == 0
    printed = capsys.readouterr().out
    for command in ["nbgrader generate_assignment 01_lesson", "nbgrader autograde 01_lesson",
                    "submitted/<student_id>/01_lesson/01_lesson.ipynb", "nbgrader export", "Formgrader",
                    "bin/activate"]:
        assert command in printed
    assert (tmp_path / "nbcourse" / "source" / "01_lesson" / "01_lesson.ipynb").is_file()


def nbgrader_cli(course, out, *extra):
    return cli.main(["nbgrader", str(out), "--notebooks", str(course / "notebooks"), *extra])


def test_nbgrader_refuses_to_overwrite_an_edited_source_notebook_until_forced(course, tmp_path, monkeypatch,
                                                                               capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    out = tmp_path / "nbcourse"
    target = out / "source" / "01_lesson" / "01_lesson.ipynb"
    assert nbgrader_cli(course, out) == 0 and nbgrader_cli(course, out) == 0  # the same text again: fine
    edited = target.read_text().replace("# Lesson", "# Lesson, as the teacher edited it")
    target.write_text(edited)
    capsys.readouterr()
    assert nbgrader_cli(course, out) == 1
    assert (f"error: {target} exists and differs from the notebook `course.py nbgrader` would write there "
            f"(edited by hand?): nothing was written; keep your copy elsewhere, or pass --force to overwrite "
            f"it") in capsys.readouterr().err
    assert target.read_text() == edited
    assert nbgrader_cli(course, out, "--force") == 0
    assert "as the teacher edited it" not in target.read_text()


@pytest.mark.parametrize("link", ["source", "source/01_lesson", "source/01_lesson/01_lesson.ipynb",
                                  "source/01_lesson/figures/grid.png"])
def test_nbgrader_never_writes_through_a_symbolic_link(course, tmp_path, monkeypatch, capsys, link):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "nbcourse"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("precious")
    (out / link).parent.mkdir(parents=True, exist_ok=True)
    if link.endswith((".ipynb", ".png")):
        (out / link).symlink_to(elsewhere / "precious")
    else:
        (out / link).symlink_to(elsewhere, target_is_directory=True)
    for force in ([], ["--force"]):
        assert nbgrader_cli(course, out, *force) == 1
        assert (f"error: {out / link} is a symbolic link (to {elsewhere}") in capsys.readouterr().err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious"]
    assert (elsewhere / "precious").read_text() == "precious"


@pytest.mark.parametrize("make, expected", [
    (lambda t: ((t / "a-file").write_text("x"), t / "a-file")[1], "COURSE_DIR {t}/a-file is a file, not a folder"),
    (lambda t: (t / "loop").symlink_to(t / "loop") or t / "loop", "COURSE_DIR {t}/loop is a loop of symbolic links"),
    (lambda t: " ", "COURSE_DIR is empty (' '): name the folder for the nbgrader course"),
])
def test_nbgrader_names_a_course_dir_it_cannot_use(course, tmp_path, monkeypatch, capsys, make, expected):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    assert nbgrader_cli(course, make(tmp_path)) == 1
    assert f"error: {expected.format(t=tmp_path)}" in capsys.readouterr().err


def test_stamp_command_check_exits_1_until_stamped(course, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    monkeypatch.setattr(tools, "ROOT", course)
    assert cli.main(["stamp", "--check"]) == 1
    assert "would stamp" in capsys.readouterr().out
    assert cli.main(["stamp"]) == 0
    assert cli.main(["stamp", "--check"]) == 0
    assert "  01_lesson: 6 points (2 checks, 1 written answers)" in capsys.readouterr().out


def test_commands_take_another_notebooks_folder(course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    assert cli.main(["stamp", "--check", "--notebooks", str(course / "notebooks")]) == 1
    assert cli.main(["nbgrader", str(tmp_path / "nbc"), "--notebooks", str(course / "notebooks")]) == 0
    assert (tmp_path / "nbc" / "source" / "01_lesson" / "01_lesson.ipynb").is_file()
    assert cli.main(["stamp", "--notebooks", str(tmp_path / "nowhere")]) == 1
    assert f"--notebooks {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err


# ---- grade: the submissions folder, checked before any work ----------------------------------------

def stamped_submission(course, student="alice", name="01_lesson.ipynb", edit=None):
    folder = course / "subs" / student
    folder.mkdir(parents=True, exist_ok=True)
    nb = lesson()
    stamping.stamp_notebook(nb, points=POINTS)
    if edit:
        edit(nb)
    nbformat.write(nb, folder / name)
    return folder / name


def never_graded(monkeypatch):
    monkeypatch.setattr(autograde.Notebook, "grade", lambda self: pytest.fail("a notebook was graded"))


@pytest.mark.parametrize("make, expected", [
    (lambda c: c / "nowhere", "SUBMISSIONS_DIR '{c}/nowhere': no such folder"),
    (lambda c: (c / "subs").mkdir() or c / "subs", "holds no submissions: expected {c}/subs/<student_id>/"),
    (lambda c: stamped_submission(c, name="01_lesson (1).ipynb").parent.parent,
     "'01_lesson (1).ipynb' is not one of the course's notebooks; name it as shipped: 01_lesson.ipynb"),
    (lambda c: stamped_submission(c, student="bob smith").parent.parent, "student folder 'bob smith'"),
    (lambda c: stamped_submission(c, student="bob\n").parent.parent, "student folder 'bob\\n'"),  # fullmatch
    (lambda c: (stamped_submission(c), (c / "subs" / "alias").symlink_to(c / "subs" / "alice"))[0].parent.parent,
     "{c}/subs/alias is a symbolic link (to {c}/subs/alice): give each student a real folder"),
    (lambda c: ((c / "subs" / "bob").mkdir(parents=True),
                (c / "subs" / "bob" / "01_lesson.ipynb").symlink_to(c / "notebooks" / "01_lesson.ipynb"),
                c / "subs")[-1],
     "{c}/subs/bob/01_lesson.ipynb is a symbolic link (to {c}/notebooks/01_lesson.ipynb): a submission must be"),
    (lambda c: ((c / "subs" / "bob" / "01_lesson.ipynb").mkdir(parents=True), c / "subs")[1],
     "{c}/subs/bob/01_lesson.ipynb is a folder, not a notebook"),
    (lambda c: ((c / "subs" / "bob").mkdir(parents=True),
                (c / "subs" / "bob" / "01_lesson.ipynb").symlink_to(c / "subs" / "bob" / "01_lesson.ipynb"),
                c / "subs")[-1], "{c}/subs/bob/01_lesson.ipynb is a symbolic link"),
    (lambda c: (c / "loop").symlink_to(c / "loop") or c / "loop", "SUBMISSIONS_DIR '{c}/loop' is a loop of symbolic"),
    (lambda c: ((c / "subs.zip").write_text("PK"), c / "subs.zip")[1], "SUBMISSIONS_DIR '{c}/subs.zip' is a file, not"),
])
def test_grade_refuses_bad_layouts_before_any_work(course, make, expected, monkeypatch):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    never_graded(monkeypatch)
    folder = make(course)
    with pytest.raises(ValueError) as info:
        grading.grade(folder, course / "scores.csv", notebooks_dir=course / "notebooks")
    assert expected.format(c=course) in str(info.value)
    assert not (course / "scores.csv").exists()


def test_grade_command_prints_each_problem_on_an_error_line(course, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    never_graded(monkeypatch)
    stamped_submission(course, student="bob smith")
    (course / "subs" / "alias").symlink_to(course / "subs" / "bob smith")
    assert cli.main(["grade", str(course / "subs"), "--notebooks", str(course / "notebooks")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), lines
    assert cli.main(["grade", str(course / "nowhere"), "--notebooks", str(course / "notebooks")]) == 1
    assert "error: SUBMISSIONS_DIR" in capsys.readouterr().err


def test_grade_refuses_an_out_path_or_a_limit_it_cannot_use(course, monkeypatch):
    never_graded(monkeypatch)
    stamped_submission(course)
    for out in [course, course / "no" / "scores.csv"]:
        with pytest.raises(ValueError, match="--out .*: give a file name in an existing folder"):
            grading.grade(course / "subs", out, notebooks_dir=course / "notebooks")
    with pytest.raises(ValueError, match="--timeout needs a number of at least 1, got 0"):
        grading.grade(course / "subs", course / "s.csv", notebooks_dir=course / "notebooks", timeout=0)


# ---- grade: each notebook on its own, the CSV always written --------------------------------------

def stand_in_run(monkeypatch, course):
    """Notebook.run without a runner: the lesson's two checks pass. The teacher's notebook stamped, as committed."""
    grading.stamp(course / "notebooks", points=POINTS)

    def run(self, plan):
        assert [s[0] for s in plan.steps].count("check") == 2
        return {"check_double": (2.0, ""), "check_half": (1.0, "")}, "not graded"
    monkeypatch.setattr(autograde.Notebook, "run", run)


def test_a_bad_notebook_costs_only_its_own_points_and_the_csv_is_always_written(course, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    stand_in_run(monkeypatch, course)
    stamped_submission(course, "alice")
    (stamped_submission(course, "bob")).write_text("")
    (stamped_submission(course, "carol")).write_text('{"cells": [')
    foreign = new_notebook(cells=[new_code_cell("print('another course')", metadata={"nbgrader": meta(
        "other_exercise", True, False, False)})])
    nbformat.write(foreign, stamped_submission(course, "dave"))

    def hand_edited(nb):
        nb.cells[2].metadata["nbgrader"].update(grade=True, points=100)
    stamped_submission(course, "erin", edit=hand_edited)
    unstamped = course / "subs" / "fred" / "01_lesson.ipynb"
    unstamped.parent.mkdir()
    nbformat.write(lesson(), unstamped)  # no metadata at all: the exercises found by what their cells define
    (course / "subs" / ".git").mkdir()
    (course / "subs" / "notes.txt").write_text("x")
    rows = grading.grade(course / "subs", course / "scores.csv", notebooks_dir=course / "notebooks")
    table = {(r["student"], r["grade_id"]): (r["points"], r["note"]) for r in rows if r["notebook"] == "01_lesson"}
    restored = "metadata changed: grade cells restored"
    assert table == {
        ("alice", "check_double"): (2.0, ""), ("alice", "check_half"): (1.0, ""),
        ("alice", "why_double"): ("", "to grade by hand"), ("alice", "total"): (3.0, "1 answer to grade by hand"),
        ("bob", "check_double"): (0.0, "not graded: the file is empty"),
        ("bob", "check_half"): (0.0, "not graded: the file is empty"),
        ("bob", "why_double"): (0.0, "not graded: the file is empty"),
        ("bob", "total"): (0.0, "3 not graded or tampered"),
        ("carol", "check_double"): (0.0, "not graded: not a notebook (not valid JSON at line 1)"),
        ("carol", "check_half"): (0.0, "not graded: not a notebook (not valid JSON at line 1)"),
        ("carol", "why_double"): (0.0, "not graded: not a notebook (not valid JSON at line 1)"),
        ("carol", "total"): (0.0, "3 not graded or tampered"),
        **{("dave", g): (0.0, "not graded: not this course's notebook (it holds none of 01_lesson's exercises: "
                              "double, half, why_double)") for g in ("check_double", "check_half", "why_double")},
        ("dave", "total"): (0.0, "3 not graded or tampered"),
        ("erin", "check_double"): (2.0, restored), ("erin", "check_half"): (1.0, restored),
        ("erin", "why_double"): ("", f"to grade by hand; {restored}"),
        ("erin", "total"): (3.0, "1 answer to grade by hand"),
        ("fred", "check_double"): (2.0, restored), ("fred", "check_half"): (1.0, restored),
        ("fred", "why_double"): ("", f"to grade by hand; {restored}"),
        ("fred", "total"): (3.0, "1 answer to grade by hand"),
    }
    assert [r["max_points"] for r in rows if r["student"] == "erin"][:3] == [2, 1, 3]  # not the 100 it claimed
    with open(course / "scores.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == grade_module.COLUMNS and len(written) == len(rows)
    printed = capsys.readouterr().out
    assert f"skipped {course}/subs/.git: its name starts with '.' (a hidden folder)" in printed
    assert f"skipped {course}/subs/notes.txt: a file, not a student folder" in printed
    assert "alice: 3 / 6 points (1 answer to grade by hand)" in printed


def test_unanswered_written_answers_score_0(course, monkeypatch):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    stand_in_run(monkeypatch, course)
    nb = lesson()
    stamping.stamp_notebook(nb, points=POINTS)
    nbformat.write(nb, course / "notebooks" / "01_lesson.ipynb")
    export.make_student_version(course / "notebooks", course / "exported")
    (course / "subs" / "blank").mkdir(parents=True)
    (course / "subs" / "blank" / "01_lesson.ipynb").write_bytes((course / "exported" / "01_lesson.ipynb").read_bytes())
    rows = grading.grade(course / "subs", course / "scores.csv", notebooks_dir=course / "notebooks")
    assert [(r["grade_id"], r["points"], r["note"]) for r in rows][2] == ("why_double", 0.0, "not answered")


def test_a_runner_that_cannot_start_stops_grading_with_its_log_and_the_csv_written(course, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    grading.stamp(course / "notebooks", points=POINTS)
    monkeypatch.setattr(sandbox, "RUNNER", course / "no-runner.py")  # as if the sandbox user could not read it
    stamped_submission(course, "alice")
    stamped_submission(course, "bob")
    assert cli.main(["grade", str(course / "subs"), "--out", str(course / "scores.csv"),
                     "--notebooks", str(course / "notebooks")]) == 1
    err, out = capsys.readouterr()[::-1]
    assert "error: student code could not be started" in err and "no-runner.py" in err, err
    with open(course / "scores.csv", newline="") as f:
        assert {(r["student"], r["note"]) for r in csv.DictReader(f) if r["grade_id"] == "check_double"} == {
            ("alice", "not graded: grading stopped here")}
    kept = Path(out.split("kept the grading folder ")[1].split()[0])
    assert "no-runner.py" in (kept / "alice" / "01_lesson" / "log.txt").read_text()
    shutil.rmtree(kept)


def test_totals_per_notebook_and_overall():
    rows = [dict(student="a", notebook="01", grade_id="check_x", points=2.0, max_points=2.0, note=""),
            dict(student="a", notebook="01", grade_id="why", points="", max_points=3.0, note="to grade by hand"),
            dict(student="a", notebook="02", grade_id="check_y", points=0.0, max_points=1.0, note="")]
    totals = [r for r in grade_module.with_totals(rows) if r["grade_id"] == "total"]
    assert [(r["notebook"], r["points"], r["max_points"], r["note"]) for r in totals] == [
        ("01", 2.0, 5.0, "1 answer to grade by hand"), ("02", 0.0, 1.0, ""), ("all", 2.0, 6.0,
                                                                              "1 answer to grade by hand")]


# ---- every check run here, against the student's function over the wire -------------------------------

class Loopback:
    """The runner's side of the wire in this process: the grader's messages go through JSON to its handlers."""

    def __init__(self, namespace):
        self.side = runner.Runner.__new__(runner.Runner)
        self.side.calls, self.side.shell = {}, SimpleNamespace(user_ns=namespace)
        self.deadline = math.inf

    def request(self, message, deadline, what=""):
        message = wire.loads(wire.dumps(message))
        if message["op"] == "release":
            self.side.calls.clear()
            return {"released": True}
        return wire.loads(wire.dumps(getattr(self.side, message["op"])(message)))


def solutions(path, edit=lambda source: source):
    """The solution cells of a teacher's notebook, each passed through `edit`, run in a namespace of their own."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    import helpers
    from helpers import checks
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "d2l": helpers, "checks": checks}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        grading_meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and grading_meta.get("solution"):
            exec(edit(stamping.source_of(cell)), namespace)
    return namespace


def checked(path, namespace, only=None):
    """{check grade_id: points} of the teacher's check cells (hidden tests included; those of the solution
    `only`, or all) run here over the wire."""
    teacher = submissions.Teacher.of(path)
    graded = autograde.Notebook("x", teacher, path, None, SimpleNamespace(timeout=120), math.inf)
    remote = Remote(Loopback(namespace))
    return {e.grade_id: graded.check(remote, e)[0] for e in teacher.exercises
            if e.solution and only in (None, e.solution)}


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_every_check_gives_the_solutions_full_marks_and_the_stubs_none_over_the_wire(path):
    teacher = submissions.Teacher.of(path)
    full = {e.grade_id: float(e.points) for e in teacher.exercises if e.solution}
    assert checked(path, solutions(path)) == full
    assert checked(path, solutions(path, lambda source: export.student_source(source)[0])) == dict.fromkeys(full, 0.0)


MISTAKES = {  # what each one tests of the wire: the check must see it as it would in one process
    "01": ("window_features", "k = windows.shape[1]", "return F.one_hot(windows, vocab_size).float().reshape("
           "len(windows), -1) @ W_xh", "a function the check refuses (mock.patch of F.one_hot)"),
    "02": ("rnn_step", "H @ W_hh + b_h)", "H @ W_hh + b_h).detach()", "a gradient that does not reach the inputs"),
    "03": ("rnn_2", "H2 @ W_hh2", "H2 @ W_hh1", "wrong values (layer 2 reads layer 1's recurrent weights)"),
    "06": ("stack_step", "up = dropout(H) if l < len(cells) - 1 else H", "up = H",
           "what a module passed in records (the dropout never applied)"),
}


@pytest.mark.parametrize("number", sorted(MISTAKES))
def test_a_known_mistake_loses_its_points_over_the_wire(number):
    name, old, new, _ = MISTAKES[number]
    (path,) = [p for p in REAL if p.name.startswith(number)]

    def mistake(source):
        if not re.search(rf"^def {name}\(", source, re.M):
            return source
        assert old in source, f"{path.name}: {name}'s solution no longer holds {old!r}: update MISTAKES"
        return source.replace(old, new, 1)
    assert checked(path, solutions(path, mistake), only=name) == {f"check_{name}": 0.0}


def test_in_place_changes_and_the_generator_come_back_over_the_wire():
    (path,) = [p for p in REAL if p.name.startswith("06")]
    namespace = solutions(path)
    namespace["in_place"] = lambda logits, temperature, generator=None: logits.div_(max(temperature, 1)).argmax(-1)
    namespace["global_rng"] = lambda logits, temperature, generator=None: (
        logits.argmax(-1) if temperature == 0 else torch_multinomial(logits, temperature))
    teacher = submissions.Teacher.of(path)
    (exercise,) = [e for e in teacher.exercises if e.grade_id == "check_sample_next"]
    graded = autograde.Notebook("x", teacher, path, None, SimpleNamespace(timeout=120), math.inf)
    for name in ("in_place", "global_rng"):
        exercise.source = f"checks.check_sample_next({name})"
        assert graded.check(Remote(Loopback(namespace)), exercise)[0] == 0.0, name


def torch_multinomial(logits, temperature):
    """A draw that ignores the generator passed in (so two equally seeded calls differ)."""
    import torch
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1).squeeze(-1)


# ---- what the runner names as tampering ------------------------------------------------------------

class FakeShell:
    """What the runner's Watch reads of an IPython shell."""

    def __init__(self):
        self.input_transformers_cleanup, self.input_transformers_post, self.ast_transformers = [], [], []
        self.input_transformer_manager = SimpleNamespace(cleanup_transforms=[], line_transforms=[],
                                                         token_transformers=[])


@pytest.fixture(scope="module")
def watch():
    importlib.import_module("helpers.checks")  # loaded before the snapshot, as the runner loads it
    return runner.Watch(FakeShell())


TAMPERING = {
    "helpers.checks.check_make_windows": lambda mp, shell: mp.setattr(
        __import__("helpers.checks").checks, "check_make_windows", lambda *a, **k: print("✓")),
    "helpers.checks.core.close": lambda mp, shell: mp.setattr(
        __import__("helpers.checks.core").checks.core.close, "__code__", (lambda a, b, atol=0: True).__code__),
    "torch.allclose": lambda mp, shell: mp.setattr(__import__("torch"), "allclose", lambda *a, **k: True),
    "torch.Tensor.__eq__": lambda mp, shell: mp.setattr(__import__("torch").Tensor, "__eq__", lambda a, b: True),
    "builtins.abs": lambda mp, shell: mp.setattr(__import__("builtins"), "abs", lambda x: 0),
    "IPython's input_transformers_post": lambda mp, shell: shell.input_transformers_post.append(lambda lines: []),
    "IPython's ast_transformers": lambda mp, shell: shell.ast_transformers.append(object()),
}


@pytest.mark.parametrize("named", sorted(TAMPERING))
def test_the_runner_names_what_a_cell_tampered_with(watch, monkeypatch, named):
    assert watch.changes() == []
    try:
        TAMPERING[named](monkeypatch, watch.shell)
        assert named in watch.changes()
    finally:
        monkeypatch.undo()
        for name in runner.SHELL_LISTS:
            getattr(watch.shell, name).clear()
    assert watch.changes() == []


def test_the_runner_names_a_trace_function_and_not_torchs_own_wrappers(watch, monkeypatch):
    import functools
    import sys

    import torch
    previous = sys.gettrace()
    sys.settrace(lambda *args: None)
    try:
        assert "sys.settrace" in watch.changes()
    finally:
        sys.settrace(previous)
    monkeypatch.setattr(torch, "manual_seed", functools.wraps(torch.manual_seed)(lambda seed: seed))
    assert watch.changes() == []  # as torch._dynamo wraps torch.manual_seed when it loads


# ---- the sandbox: rights, environment, folders, limits, time -------------------------------------

@pytest.mark.slow
def test_student_code_runs_unprivileged_scrubbed_and_limited_and_is_stopped_at_its_time(monkeypatch):
    from helpers.corpora import data_dir
    monkeypatch.setenv("COURSE_SECRET_TOKEN", "hunter2")
    user = sandbox.sandbox_user()
    assert (user is None) == (os.geteuid() != 0)
    settings = grade_module.Settings(file_mb=1, user=user)
    deadline, folder = time.monotonic() + 300, sandbox.grading_folder()
    notebook = folder / "alice" / "01"
    runner_ = sandbox.Runner(notebook, user=user, limits=settings.limits(deadline), data_dir=str(data_dir()),
                             deadline=deadline)
    runner_.grace = 2
    runner_.start()
    try:
        def cell(source, timeout=60):
            return runner_.request({"op": "cell", "source": source}, time.monotonic() + timeout)
        assert cell("import os, resource\n"
                    "def probe():\n"
                    "    try:\n"
                    "        open('/etc/grader-was-here', 'w')\n"
                    "        wrote = True\n"
                    "    except OSError:\n"
                    "        wrote = False\n"
                    "    open(os.path.join(os.environ['HOME'], 'notes.txt'), 'w').write('mine')\n"
                    "    try:\n"
                    "        open('big', 'wb').write(b'x' * 2**21)\n"
                    "        big = True\n"
                    "    except OSError:\n"
                    "        big = False\n"
                    "    return (os.geteuid(), sorted(os.environ), os.getcwd(), os.environ['HOME'], wrote, big,\n"
                    "            resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU))"
                    )["error"] is None
        uid, env, cwd, home, wrote, big, memory, cpu = Remote(runner_).call("probe", (), {})
        assert set(env) <= set(sandbox.environment(Path(home), "")) and "COURSE_SECRET_TOKEN" not in env
        assert (cwd, home) == (str(notebook / "work"), str(notebook / "home"))
        assert not big, "a file past --file-size was written"
        assert memory == (grade_module.MEMORY_MB * 2**20,) * 2 and 0 < cpu[0] == cpu[1] <= 330
        if user:
            assert uid == user[0] and not wrote and not Path("/etc/grader-was-here").exists()
        start = time.monotonic()
        with pytest.raises(sandbox.CallTimedOut):  # interrupted at its timeout, as Jupyter interrupts
            cell("while True:\n    pass", timeout=1)
        assert cell("x = 1")["error"] is None and time.monotonic() - start < 30  # and the runner lives on
        with pytest.raises(sandbox.RunnerLost, match="did not stop when interrupted"):
            cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", timeout=1)
        assert runner_.ended().startswith("killed")
    finally:
        runner_.close()
    assert sorted(p.name for p in notebook.iterdir()) == ["log.txt"]  # HOME and work removed
    shutil.rmtree(folder)


def test_stamp_runs_without_torch():
    """course.py stamp runs with the Python that started course.py (no venv, so perhaps no torch)."""
    import subprocess
    import sys
    code = ("import sys, runpy; sys.modules['torch'] = None; "  # `import torch` now raises ImportError
            "sys.argv = ['tools.grading', 'stamp', '--check']; runpy.run_module('tools.grading', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True)
    assert "No module named" not in done.stderr and "import of torch halted" not in done.stderr, done.stderr
    assert "points" in done.stdout, done.stdout + done.stderr
