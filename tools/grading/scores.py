"""course.py grade: autograde a folder of submitted notebooks into a score table (CSV), each student on their own.

SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb, one folder per student, notebooks named as shipped
(tools/grading/submissions.py checks the layout before any work). Each submitted notebook runs in a
sandboxed process of its own (tools/grading/sandbox.py); the checks run in this process, against the
student's functions (tools/grading/autograde.py), so student code can neither reach them nor change
their verdict. nbgrader itself is not needed here (``course.py nbgrader`` is the nbgrader workflow).

The table has one row per student, notebook and grade cell, then a ``total`` row per notebook and
one for all notebooks (``all``); a written answer not yet graded by hand has empty points. A
notebook that cannot be graded gets 0 on its exercises and a note saying why; the others are graded
and the CSV is always written. When something failed, the grading folder (each runner's log) is kept
and its place printed.
"""
import csv
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import repo_root
from .markers import notebooks_in
from .sandbox import grading_folder, readable_by_others, rights_note, sandbox_user
from .submissions import Teacher, layout_problems

COLUMNS = ["student", "notebook", "grade_id", "points", "max_points", "note"]
TIMEOUT = 300          # seconds per cell: 06's longest training cell takes about 45 s on a slow 2-core CPU
STUDENT_TIME = 3600    # seconds per student, all notebooks: the six take about 6 min there, one after another
MEMORY_MB = 6144       # address space per runner (torch alone maps about 0.8 GB)
FILE_MB = 256          # largest file a runner may write, its own output log included


@dataclass
class Settings:
    """How student code runs: per-cell timeout, time per student, limits, the user, data and startup hooks."""
    timeout: float = TIMEOUT
    student_time: float = STUDENT_TIME
    memory_mb: int = MEMORY_MB
    file_mb: int = FILE_MB
    user: tuple = None
    data_dir: str = ""
    startup: tuple = ()

    def limits(self, deadline):
        cpu = max(10, int(deadline - time.monotonic()) + 30)
        return {"cpu": cpu, "memory": self.memory_mb * 2**20, "fsize": self.file_mb * 2**20, "core": 0,
                "nproc": 512 if self.user else None}


def startup_files(ipython_dir):
    """[(path, source)] of IPYTHONDIR/profile_default/startup/*.py, run by each runner before the student's
    cells as a kernel started with IPYTHONDIR runs them (a test harness's hook; the grader's, never a student's)."""
    if not ipython_dir:
        return ()
    folder = Path(ipython_dir) / "profile_default" / "startup"
    return tuple((str(p), p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.py")))


def check_settings(timeout, student_time, memory_mb, file_mb):
    for name, value, least in (("--timeout", timeout, 1), ("--time-per-student", student_time, 1),
                               ("--memory", memory_mb, 1024), ("--file-size", file_mb, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= least:
            raise ValueError(f"{name} needs a number of at least {least}, got {value!r}")


def grade(submissions_dir, out="scores.csv", notebooks_dir=None, *, timeout=TIMEOUT,
          student_time=STUDENT_TIME, memory_mb=MEMORY_MB, file_mb=FILE_MB, user="nobody", keep=False,
          ipython_dir=None):
    """Autograde SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb; write the score table to `out`; return its rows.

    ValueError, before any student code runs, for a bad layout or argument (every problem on a line).
    `ipython_dir` (default: $IPYTHONDIR) names an IPython folder whose startup files each runner runs first.
    """
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else repo_root() / "notebooks"
    paths = {p.stem: p for p in notebooks_in(notebooks_dir)}
    if not paths:
        raise ValueError(f"{notebooks_dir} holds no NN_*.ipynb notebooks to grade against")
    out = Path(out)
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"--out {str(out)!r}: give a file name in an existing folder, e.g. --out scores.csv")
    check_settings(timeout, student_time, memory_mb, file_mb)
    problems, found, skipped = layout_problems(submissions_dir, list(paths))
    if problems:
        raise ValueError("\nerror: ".join(problems))
    for line in skipped:
        print(line)
    from helpers.corpora import data_dir

    from .autograde import Notebook, rows_for  # torch: only for grading, not for stamp or nbgrader
    settings = Settings(timeout, student_time, memory_mb, file_mb, sandbox_user(user), str(data_dir()),
                        startup_files(os.environ.get("IPYTHONDIR") if ipython_dir is None else ipython_dir))
    print(rights_note(settings.user), flush=True)
    if settings.user and readable_by_others(notebooks_dir):
        print(f"warning: {notebooks_dir} (the teacher's notebooks, with the solutions) can be read by other users, "
              f"so student code could read it while it is graded: `chmod o-rwx {notebooks_dir}` (the grader "
              f"reads it as root) or grade in a container", flush=True)
    teachers = {name: Teacher.of(paths[name]) for name in paths if any(name in h for h in found.values())}
    folder = grading_folder()
    rows, failed = [], False
    try:
        for student, handed in found.items():
            begun = time.monotonic()
            deadline = begun + student_time
            print(f"{student}: grading {', '.join(handed)}", end="", flush=True)
            for name in (n for n in paths if n in handed):
                graded = Notebook(student, teachers[name], handed[name], folder / student / name, settings,
                                  deadline)
                try:
                    rows += graded.grade()
                except BaseException as err:  # Ctrl-C, or a runner that cannot start at all (the setup's fault)
                    why = "grading was interrupted" if isinstance(err, KeyboardInterrupt) else "grading stopped here"
                    rows += rows_for(student, teachers[name], {}, note=f"not graded: {why}")
                    failed = True
                    raise
                failed |= graded.failed
            print(f" ({time.monotonic() - begun:.0f} s)", flush=True)
    finally:
        write(rows, out)
        report(rows, out)
        if failed or keep:
            print(f"kept the grading folder {folder} (each notebook's runner log: "
                  f"{folder}/<student>/<notebook>/log.txt)", flush=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return with_totals(rows)


def write(rows, out):
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(with_totals(rows))


def report(rows, out):
    table = with_totals(rows)
    for r in table:
        if r["notebook"] == "all":
            note = f" ({r['note']})" if r["note"] else ""
            print(f"{r['student']}: {r['points']:g} / {r['max_points']:g} points{note}")
    odd = [r for r in rows if r["note"].startswith(("not graded", "tampered", "timed out", "metadata"))]
    for r in odd:
        print(f"  {r['student']}, {r['notebook']}, {r['grade_id']}: {r['note']}", file=sys.stderr)
    print(f"wrote {out} ({len(table)} rows)")


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
    odd = sum(1 for r in graded if r["note"].startswith(("not graded", "tampered")))
    notes = [f"{to_do} answer{'s' if to_do != 1 else ''} to grade by hand" if to_do else "",
             f"{odd} not graded or tampered" if odd else ""]
    return dict(student=student, notebook=notebook, grade_id="total",
                points=sum(float(r["points"]) for r in graded if r["points"] != ""),
                max_points=sum(float(r["max_points"]) for r in graded),
                note="; ".join(n for n in notes if n))
