"""Tests for tools/grading: nbgrader metadata stamped from the markers (and the committed notebooks
carry exactly that), the nbgrader course folder, and `grade`'s refusals before any work. One real
nbgrader run (generate + autograde) on a tiny notebook; the full one is in test_grading_e2e.py."""
import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import tools
from tools import grading
from tools import student as export
from tools.grading import __main__ as cli
from tools.grading import markers as stamping
from tools.grading import scores as grade_module

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


def test_stamp_command_check_exits_1_until_stamped(course, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    monkeypatch.setattr(tools, "ROOT", course)
    assert cli.main(["stamp", "--check"]) == 1
    assert "would stamp" in capsys.readouterr().out
    assert cli.main(["stamp"]) == 0
    assert cli.main(["stamp", "--check"]) == 0
    assert "  01_lesson: 6 points (2 checks, 1 written answers)" in capsys.readouterr().out


# ---- grade: refusals before any work ---------------------------------------------------------

def stamped_submission(course, student="alice", name="01_lesson.ipynb"):
    folder = course / "subs" / student
    folder.mkdir(parents=True, exist_ok=True)
    nb = lesson()
    stamping.stamp_notebook(nb, points=POINTS)
    nbformat.write(nb, folder / name)
    return folder / name


@pytest.mark.parametrize("make, expected", [
    (lambda c: c / "nowhere", "SUBMISSIONS_DIR '{c}/nowhere': no such folder"),
    (lambda c: (c / "subs").mkdir() or c / "subs", "holds no submissions: expected {c}/subs/<student_id>/"),
    (lambda c: stamped_submission(c, name="01_lesson (1).ipynb").parent.parent,
     "'01_lesson (1).ipynb' is not one of the course's notebooks; name it as shipped: 01_lesson.ipynb"),
    (lambda c: stamped_submission(c, student="bob smith").parent.parent, "student folder 'bob smith'"),
    (lambda c: (stamped_submission(c).write_text("{not json"), c / "subs")[1], "not a readable notebook"),
    (lambda c: (nbformat.write(lesson(), stamped_submission(c)), c / "subs")[1], "no cell carries nbgrader metadata"),
])
def test_grade_refuses_bad_submissions_before_any_work(course, make, expected, monkeypatch):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    monkeypatch.setattr(grade_module, "run_nbgrader", lambda *a, **k: pytest.fail("nbgrader ran"))
    folder = make(course)
    with pytest.raises(ValueError) as info:
        grading.grade(folder, course / "scores.csv", notebooks_dir=course / "notebooks")
    assert expected.format(c=course) in str(info.value)


def test_grade_refuses_an_out_path_it_cannot_write(course, monkeypatch):
    monkeypatch.setattr(grade_module, "run_nbgrader", lambda *a, **k: pytest.fail("nbgrader ran"))
    stamped_submission(course)
    for out in [course, course / "no" / "scores.csv"]:
        with pytest.raises(ValueError, match="--out .*: give a file name in an existing folder"):
            grading.grade(course / "subs", out, notebooks_dir=course / "notebooks")


def test_grade_command_prints_errors_and_exits_1(course, monkeypatch, capsys):
    monkeypatch.setattr(tools, "ROOT", course)
    assert cli.main(["grade", str(course / "nowhere")]) == 1
    assert "error: SUBMISSIONS_DIR" in capsys.readouterr().err


def test_totals_per_notebook_and_overall():
    rows = [dict(student="a", notebook="01", grade_id="check_x", points=2.0, max_points=2.0, note=""),
            dict(student="a", notebook="01", grade_id="why", points="", max_points=3.0, note="to grade by hand"),
            dict(student="a", notebook="02", grade_id="check_y", points=0.0, max_points=1.0, note="")]
    totals = [r for r in grade_module.with_totals(rows) if r["grade_id"] == "total"]
    assert [(r["notebook"], r["points"], r["max_points"], r["note"]) for r in totals] == [
        ("01", 2.0, 5.0, "1 answer to grade by hand"), ("02", 0.0, 1.0, ""), ("all", 2.0, 6.0,
                                                                              "1 answer to grade by hand")]


# ---- one real nbgrader run ---------------------------------------------------------------------

@pytest.mark.slow
def test_grade_runs_nbgrader_generate_and_autograde(course, monkeypatch, capsys):
    """Blank release copy: 0 everywhere; solved: full marks on the checks, the answer left to grade by hand;
    a solution that special-cases the visible check loses to the hidden test; an unchanged `course.py student`
    copy is graded too (0 on the checks)."""
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    grading.layout_course(course / "notebooks", course / "nbcourse")
    grading.run_nbgrader(course / "nbcourse", "generate_assignment", "01_lesson")
    release = course / "nbcourse" / "release" / "01_lesson"
    assert (release / "figures" / "grid.png").is_file()
    blank = nbformat.read(release / "01_lesson.ipynb", as_version=4)
    assert "BEGIN HIDDEN TESTS" not in nbformat.writes(blank) and "Rubric" not in nbformat.writes(blank)
    (course / "subs" / "blank").mkdir(parents=True)
    nbformat.write(blank, course / "subs" / "blank" / "01_lesson.ipynb")
    stamped_submission(course, "solved")
    grading.stamp(course / "notebooks", points=POINTS)  # as committed
    export.make_student_version(course / "notebooks", course / "exported")  # course.py student's copy, unchanged
    (course / "subs" / "exported").mkdir()
    shutil.copy(course / "exported" / "01_lesson.ipynb", course / "subs" / "exported")
    cheat = stamped_submission(course, "cheat")
    nb = nbformat.read(cheat, as_version=4)
    nb.cells[2].source = "def double(x):\n    return 6 if x == 3 else 0"
    nbformat.write(nb, cheat)
    rows = grading.grade(course / "subs", course / "scores.csv", notebooks_dir=course / "notebooks")
    table = {(r["student"], r["grade_id"]): (r["points"], r["note"]) for r in rows if r["notebook"] != "all"}
    assert table == {
        ("blank", "check_double"): (0.0, ""), ("blank", "check_half"): (0.0, ""), ("blank", "why_double"): (0.0, ""),
        ("blank", "total"): (0.0, ""),
        ("exported", "check_double"): (0.0, ""), ("exported", "check_half"): (0.0, ""),
        ("exported", "why_double"): (0.0, ""), ("exported", "total"): (0.0, ""),  # unchanged answer: 0
        ("cheat", "check_double"): (0.0, ""), ("cheat", "check_half"): (1.0, ""),
        ("cheat", "why_double"): ("", "to grade by hand"), ("cheat", "total"): (1.0, "1 answer to grade by hand"),
        ("solved", "check_double"): (2.0, ""), ("solved", "check_half"): (1.0, ""),
        ("solved", "why_double"): ("", "to grade by hand"), ("solved", "total"): (3.0, "1 answer to grade by hand"),
    }
    with open(course / "scores.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == grade_module.COLUMNS and len(written) == len(rows)
    assert "solved: 3 / 6 points (1 answer to grade by hand)" in capsys.readouterr().out


def test_commands_take_another_notebooks_folder(course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(stamping, "POINTS", POINTS)
    assert cli.main(["stamp", "--check", "--notebooks", str(course / "notebooks")]) == 1
    assert cli.main(["nbgrader", str(tmp_path / "nbc"), "--notebooks", str(course / "notebooks")]) == 0
    assert (tmp_path / "nbc" / "source" / "01_lesson" / "01_lesson.ipynb").is_file()
    assert cli.main(["stamp", "--notebooks", str(tmp_path / "nowhere")]) == 1
    assert f"--notebooks {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err
