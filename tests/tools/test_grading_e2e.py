"""nbgrader on the course's notebooks as a teacher runs it (issue 13's "Done when"), with its default settings.

Every notebook becomes an assignment (``course.py nbgrader``'s layout); ``nbgrader generate_assignment``
makes the release copies, ``nbgrader autograde`` scores three students: "blank" hands in the release
copies of the first and the last notebook unchanged (0 on every exercise; each hand-in costs a notebook
run, and tests/tools/test_student.py compares every notebook's student copy with nbgrader's release, stub
for stub), "teacher" the teacher's notebooks (full marks on every check; written answers left to grade by
hand), "mistake" notebook 03 with one classic rnn_2 mistake (layer 2 reuses layer 1's recurrent weights
W_hh1: it runs and gives wrong numbers), which loses exactly check_rnn_2's points. The kernels run with
DEEP_RNN_SMOKE=1 (every training epoch cut to 2 minibatches: the scores depend only on the exercise cells,
and nbgrader carries on past a failing assert cell).
"""
import json
import shutil
import time
from pathlib import Path

import pytest

from tools import grading
from tools.grading import scores

ROOT = Path(__file__).resolve().parents[2]
MISTAKE = ("H2 @ W_hh2", "H2 @ W_hh1")  # in rnn_2's solution cell: layer 2 reads layer 1's recurrent weights


def with_mistake(path, grade_id="rnn_2"):
    """The notebook at `path` with MISTAKE made in the solution cell of `grade_id`."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    source = "".join(cell["source"])
    assert MISTAKE[0] in source, f"the {grade_id} solution no longer holds {MISTAKE[0]!r}: update MISTAKE"
    cell["source"] = source.replace(MISTAKE[0], MISTAKE[1])
    return json.dumps(nb, indent=1, ensure_ascii=False)


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades_every_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEP_RNN_SMOKE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    course = tmp_path / "course"
    names = grading.layout_course(ROOT / "notebooks", course)
    grading.run_nbgrader(course, "generate_assignment", "*")
    handed = {"blank": {}, "teacher": {}, "mistake": {}}
    for name in names:
        release = course / "release" / name
        links = [f.name for f in (course / "source" / name).glob("figures/*")]
        assert sorted(f.name for f in release.glob("figures/*")) == sorted(links), f"{name}: figures missing"
        for student, source in [("blank", release), ("teacher", course / "source" / name)]:
            if student == "blank" and name not in (names[0], names[-1]):
                continue
            (course / "submitted" / student / name).mkdir(parents=True)
            shutil.copy(source / f"{name}.ipynb", course / "submitted" / student / name)
            handed[student][name] = True
    (mistaken,) = [n for n in names if n.startswith("03_")]
    (course / "submitted" / "mistake" / mistaken).mkdir(parents=True)
    (course / "submitted" / "mistake" / mistaken / f"{mistaken}.ipynb").write_text(
        with_mistake(course / "source" / mistaken / f"{mistaken}.ipynb"), encoding="utf-8")
    handed["mistake"][mistaken] = True
    grading.run_nbgrader(course, "autograde", "*")
    rows = scores.scores(course, handed, names)
    seconds = time.perf_counter() - start

    def table(student):
        return {(r["notebook"], r["grade_id"]): r for r in rows if r["student"] == student}
    blank, teacher, mistake = table("blank"), table("teacher"), table("mistake")
    assert all(r["grade_id"] for r in rows), [r for r in rows if not r["grade_id"]]  # every notebook graded
    assert {r["notebook"] for r in blank.values()} == {names[0], names[-1]}
    assert {r["notebook"] for r in teacher.values()} == set(names)
    assert {k: r["points"] for k, r in blank.items()} == {k: 0.0 for k in blank}
    checks = {k: r for k, r in teacher.items() if k[1].startswith("check_")}
    assert len(checks) >= len(names) and all(r["note"] == "" for r in checks.values())
    assert {k: r["points"] for k, r in checks.items()} == {k: r["max_points"] for k, r in checks.items()}
    written = {k: r for k, r in teacher.items() if k not in checks}
    assert all(r["points"] == "" and r["note"] == "to grade by hand" for r in written.values())
    lost = {k: (teacher[k]["points"], r["points"]) for k, r in mistake.items() if r["points"] != teacher[k]["points"]}
    assert lost == {(mistaken, "check_rnn_2"): (grading.POINTS["check_rnn_2"], 0.0)}
    with capsys.disabled():
        print(f"\n[nbgrader end to end: {len(names)} notebooks, {sum(map(len, handed.values()))} autograded, "
              f"{seconds:.0f} s]")
