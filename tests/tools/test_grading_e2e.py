"""Grading end to end, on notebook 01 (the quickest to run), each tool once.

`course.py grade` (tools.grading grade): five students hand in 01 together: "honest" the teacher's
notebook (full marks on both checks, the written answers left to grade by hand), "stub" the
`course.py student` copy unchanged (0), "patching" the stub copy whose first solution cell replaces
every `helpers.checks.check_*` by a function that prints "✓" (0, "tampered"), "transforming" one that
adds an IPython input transformer turning every later cell that calls `checks.check_` into `pass`
(0, "tampered"), "crashing" one that calls `os._exit(0)` (a "not graded" row). The CSV is written
for all five, and the grading folder is kept for the crash, with the runner's log, which shows that
the test harness's hook (tests/smoke, passed with --ipython-dir) ran in the sandbox.

nbgrader itself (`course.py nbgrader`'s workflow, nbgrader's default settings): every notebook laid out
and generated (release copies with their figures, no hidden tests), then the teacher's 01 autograded by
nbgrader: full marks on every check.
"""
import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from tests.smoke import smoke_env
from tools import grading
from tools import student as export
from tools.grading import __main__ as cli
from tools.grading import scores

ROOT = Path(__file__).resolve().parents[2]
NAME = "01_mlp_no_state"
PATCH = ("from helpers import checks as _c\n"
         "for n in dir(_c):\n"
         "    if n.startswith('check_'):\n"
         "        setattr(_c, n, lambda *a, **k: print('✓'))\n")
TRANSFORM = ("def _skip(lines):\n"
             "    return ['pass\\n'] if any('checks.check_' in line for line in lines) else lines\n"
             "get_ipython().input_transformers_post.append(_skip)\n")
CRASH = "import os\nos._exit(0)\n"


def first_solution(nb):
    """(index, cell) of the first solution code cell."""
    return next((i, c) for i, c in enumerate(nb["cells"])
                if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution"))


def hand_ins(folder, tmp_path):
    """folder/<student>/01_mlp_no_state.ipynb for the five students; returns the first solution cell's index."""
    export.make_student_version(ROOT / "notebooks", tmp_path / "exported")
    stub = (tmp_path / "exported" / f"{NAME}.ipynb").read_text(encoding="utf-8")
    teacher = (ROOT / "notebooks" / f"{NAME}.ipynb").read_text(encoding="utf-8")
    index = None
    for student, text, prefix in [("honest", teacher, ""), ("stub", stub, ""), ("patching", stub, PATCH),
                                  ("transforming", stub, TRANSFORM), ("crashing", stub, CRASH)]:
        nb = json.loads(text)
        index, cell = first_solution(nb)
        cell["source"] = prefix + "".join(cell["source"])
        (folder / student).mkdir(parents=True)
        (folder / student / f"{NAME}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return index


@pytest.mark.slow
def test_grade_gives_full_marks_zero_tampered_and_not_graded_and_writes_the_csv(tmp_path, capsys):
    start = time.perf_counter()
    cell = hand_ins(tmp_path / "subs", tmp_path)
    out = tmp_path / "scores.csv"
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(out), "--timeout", "120",
                     "--ipython-dir", smoke_env()["IPYTHONDIR"]]) == 0
    seconds = time.perf_counter() - start
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == scores.COLUMNS
    table = {(r["student"], r["grade_id"]): (r["points"], r["note"]) for r in rows if r["notebook"] == NAME}
    checks = ("check_make_windows", "check_window_features")
    assert [table["honest", c] for c in checks] == [("3.0", ""), ("2.0", "")]
    assert [table["stub", c] for c in checks] == [("0.0", ""), ("0.0", "")]
    for student, named in [("patching", "helpers.checks.check_make_windows"),
                           ("transforming", "IPython's input_transformers_post")]:
        for c in checks:
            points, note = table[student, c]
            assert points == "0.0" and note.startswith(f"tampered: cell {cell} changed ") and named in note, note
    for c in checks:
        points, note = table["crashing", c]
        assert points == "0.0" and note.startswith(f"not graded: the notebook's process stopped in cell {cell}: "
                                                   f"its process ended (exit code 0)"), note
    assert {r["student"] for r in rows} == {"honest", "stub", "patching", "transforming", "crashing"}
    assert table["honest", "q_window_size"] == ("", "to grade by hand")
    assert table["stub", "q_window_size"] == ("0.0", "not answered")
    printed = capsys.readouterr().out
    kept = Path(printed.split("kept the grading folder ")[1].split()[0])
    log = (kept / "crashing" / NAME / "log.txt").read_text(encoding="utf-8", errors="replace")
    assert "[tests.smoke] every SeqDataLoader pass cut to 2 minibatches" in log  # the harness's hook ran there
    shutil.rmtree(kept)
    with capsys.disabled():
        print(f"\n[course.py grade end to end: five hand-ins of {NAME}, {seconds:.0f} s]")


@pytest.mark.slow
def test_nbgrader_generates_every_notebook_and_autogrades_the_teachers(tmp_path, capsys):
    start = time.perf_counter()
    course = tmp_path / "course"
    names = grading.layout_course(ROOT / "notebooks", course)
    grading.run_nbgrader(course, "generate_assignment", "*")
    for name in names:
        release = course / "release" / name
        links = sorted(f.name for f in (course / "source" / name).glob("figures/*"))
        assert sorted(f.name for f in release.glob("figures/*")) == links, f"{name}: figures missing"
        text = (release / f"{name}.ipynb").read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, name
    (course / "submitted" / "teacher" / NAME).mkdir(parents=True)
    shutil.copy(course / "source" / NAME / f"{NAME}.ipynb", course / "submitted" / "teacher" / NAME)
    grading.run_nbgrader(course, "autograde", NAME)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded = gb.find_submission_notebook(NAME, NAME, "teacher")
        got = {g.name: (g.score, g.max_score) for g in graded.grades if g.cell.cell_type == "code"}
    points = {name: float(grading.POINTS[name]) for name in ("check_make_windows", "check_window_features")}
    assert got == {name: (p, p) for name, p in points.items()}
    with capsys.disabled():
        print(f"\n[nbgrader end to end: {len(names)} notebooks generated, {NAME} autograded, "
              f"{time.perf_counter() - start:.0f} s]")
