"""Tests for tools/student.py, the student export: student versions lose every solution and
every output, stop at the first exercise with a friendly NotImplementedError, and pass every
check once the solutions are pasted back. Also run over the course's real notebooks."""
import copy
import re
import runpy
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import tools
from tools import student as export
from tools.grading import markers

ROOT = Path(__file__).resolve().parents[2]
REAL = sorted((ROOT / "notebooks").glob(markers.NOTEBOOK_GLOB))
STUB = re.compile(r'^(\s*)raise NotImplementedError\("Exercise: (.*)"\)$')

TASK_1 = "return the windows X (n, k) and the next tokens y (n,)"
SOLUTION_1 = "return torch.tensor([corpus[i:i + k] for i in range(len(corpus) - k)]), torch.tensor(corpus[k:])"
SOLUTION_2 = ["pre = X_t @ W_xh + H @ W_hh + b_h", "return torch.tanh(pre)"]


def fake_notebook():
    """Two exercises in d2l style, with outputs as if executed; one links a figure."""
    cells = [
        new_markdown_cell("# Fake lesson\n\n![grid](../figures/grid.png)"),
        new_code_cell("import math\nimport torch\nfrom helpers import checks\nprint('ready')",
                      execution_count=1, outputs=[new_output("stream", name="stdout", text="ready\n")]),
        new_markdown_cell("## Exercise 1\nWrite `make_windows`."),
        new_code_cell("def make_windows(corpus, k):\n"
                      f"    # Exercise: {TASK_1}\n"
                      "    ### BEGIN SOLUTION\n"
                      f"    {SOLUTION_1}\n"
                      "    ### END SOLUTION", execution_count=2),
        new_code_cell("checks.check_make_windows(make_windows)", execution_count=3,
                      outputs=[new_output("stream", name="stdout", text="✓ make_windows: ...\n")]),
        new_markdown_cell("## Exercise 2\nWrite `rnn_step`."),
        new_code_cell("def rnn_step(X_t, H, W_xh, W_hh, b_h):\n"
                      "    ### BEGIN SOLUTION\n"
                      + "".join(f"    {line}\n" for line in SOLUTION_2) +
                      "    ### END SOLUTION", execution_count=4),
        new_code_cell("checks.check_rnn_step(rnn_step)", execution_count=5,
                      outputs=[new_output("execute_result", data={"text/plain": "None"}, execution_count=5)]),
    ]
    cells[3].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def course(tmp_path):
    """A tiny course folder: notebooks/01_fake.ipynb, notebooks/scratch.ipynb, figures/grid.png."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "grid.png").write_bytes(b"\x89PNG fake")
    nbformat.write(fake_notebook(), tmp_path / "notebooks" / "01_fake.ipynb")
    nbformat.write(fake_notebook(), tmp_path / "notebooks" / "scratch.ipynb")  # not numbered: skipped
    return tmp_path


def solution_blocks(source):
    """The lines strictly inside each BEGIN/END block of a cell's source."""
    blocks, current = [], None
    for line in source.splitlines():
        if markers.BEGIN.match(line):
            current = []
        elif markers.END.match(line):
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def code_sources(nb):
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def paste_solutions(student, teacher):
    """Put the teacher's solution blocks back in place of the student's stubs (same indentation)."""
    pasted = []
    for mine, theirs in zip(code_sources(student), code_sources(teacher)):
        blocks = iter(solution_blocks(theirs))
        begin_indents = iter(markers.BEGIN.match(l).group(1) for l in theirs.splitlines()
                             if markers.BEGIN.match(l))
        lines = []
        for line in mine.splitlines():
            stub = STUB.match(line)
            if stub:
                assert stub.group(1) == next(begin_indents), "the stub keeps the block's indentation"
                lines += next(blocks)
            else:
                lines.append(line)
        pasted.append("\n".join(lines))
    return pasted


def run_cells(sources):
    namespace = {"__name__": "__main__"}
    for index, source in enumerate(sources):
        exec(compile(source, f"<cell {index}>", "exec"), namespace)
    return namespace


def assert_no_solution_text(student, teacher):
    """No markers anywhere; no line of a solution block survives in its cell."""
    for cell in student.cells:
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
    assert len(student.cells) == len(teacher.cells)
    for mine, theirs in zip(student.cells, teacher.cells):
        if mine.cell_type != "code":
            continue
        blocks = solution_blocks(theirs.source)
        outside = set(export.student_source(theirs.source)[0].splitlines())
        for line in (l for block in blocks for l in block):
            if line.strip() and line not in outside:
                assert line not in mine.source.splitlines(), f"solution line left in: {line!r}"


# ---------------------------------------------------------------------------------------
# student_source
# ---------------------------------------------------------------------------------------

def test_student_source_replaces_block_at_its_indentation_with_the_task():
    source = ("def f(x):\n    y = 1\n    # Exercise: add one to x\n    ### BEGIN SOLUTION\n"
              "    return x + y\n    ### END SOLUTION\n\nz = 2\n### BEGIN SOLUTION\nw = z * 2\n### END SOLUTION")
    new, tasks = export.student_source(source)
    assert tasks == ["add one to x", "write this part"]
    assert new.splitlines() == [
        "def f(x):", "    y = 1", "    # Exercise: add one to x",
        '    raise NotImplementedError("Exercise: add one to x")', "", "z = 2",
        'raise NotImplementedError("Exercise: write this part")']


def test_student_source_quotes_the_task_safely():
    new, _ = export.student_source('# Exercise: print "hi" \\ 隐状态\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION')
    namespace = {}
    with pytest.raises(NotImplementedError) as info:
        exec(new, namespace)
    assert str(info.value) == 'Exercise: print "hi" \\ 隐状态'


def test_student_source_leaves_cells_without_exercises_alone():
    source = "x = 1\nprint(x)"
    assert export.student_source(source) == (source, [])


@pytest.mark.parametrize("source, phrase", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside the block"),
])
def test_student_source_rejects_broken_markers(source, phrase):
    with pytest.raises(ValueError, match=re.escape(phrase)):
        export.student_source(source, where="nb, cell 3")


# ---------------------------------------------------------------------------------------
# a fake notebook with two exercises
# ---------------------------------------------------------------------------------------

def test_fake_notebook_student_version(course, capsys):
    before = (course / "notebooks" / "01_fake.ipynb").read_bytes()
    written = export.make_student_version(course / "notebooks", course / "out")
    target = course / "out" / "01_fake.ipynb"
    assert written == {target: [TASK_1, "write this part"]}
    assert not (course / "out" / "scratch.ipynb").exists()
    printed = capsys.readouterr().out
    assert f"wrote {target} (2 exercises)" in printed
    teacher = nbformat.read(course / "notebooks" / "01_fake.ipynb", as_version=4)
    student = nbformat.read(target, as_version=4)
    nbformat.validate(student)

    # no solution text, outputs and execution counts cleared, nbclient's timing gone
    assert_no_solution_text(student, teacher)
    text = target.read_text()
    assert SOLUTION_1 not in text and all(line not in text for line in SOLUTION_2)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None and "execution" not in cell.metadata
    # stubs carry the task, at the block's indentation; the task comment stays
    codes = code_sources(student)
    assert f'    raise NotImplementedError("Exercise: {TASK_1}")' in codes[1].splitlines()
    assert f"    # Exercise: {TASK_1}" in codes[1].splitlines()
    assert '    raise NotImplementedError("Exercise: write this part")' in codes[3].splitlines()
    # the figure link still resolves: figures/ copied next to the notebooks
    assert "![grid](figures/grid.png)" in student.cells[0].source
    assert (course / "out" / "figures" / "grid.png").read_bytes() == b"\x89PNG fake"
    # the teacher's notebook is untouched
    assert (course / "notebooks" / "01_fake.ipynb").read_bytes() == before


def test_student_version_stops_at_the_first_exercise(course):
    export.make_student_version(course / "notebooks", course / "out")
    student = nbformat.read(course / "out" / "01_fake.ipynb", as_version=4)
    sources = code_sources(student)
    namespace = {"__name__": "__main__"}
    reached = []
    with pytest.raises(NotImplementedError) as info:
        for index, source in enumerate(sources):
            reached.append(index)
            exec(compile(source, f"<cell {index}>", "exec"), namespace)
    assert str(info.value) == f"Exercise: {TASK_1}"
    assert reached == [0, 1, 2]  # the check cell right after the first exercise


def test_pasting_the_solutions_back_passes_every_check(course, capsys):
    export.make_student_version(course / "notebooks", course / "out")
    teacher = nbformat.read(course / "notebooks" / "01_fake.ipynb", as_version=4)
    student = nbformat.read(course / "out" / "01_fake.ipynb", as_version=4)
    run_cells(paste_solutions(student, teacher))
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in printed if line.startswith("✓")] == ["✓ make_windows", "✓ rnn_step"]


def test_refuses_to_overwrite_the_teacher_notebooks(course):
    with pytest.raises(ValueError, match="overwrite"):
        export.make_student_version(course / "notebooks", course / "notebooks" / ".")


def test_broken_markers_name_the_notebook_and_cell(course):
    nb = fake_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("    ### END SOLUTION", "")
    nbformat.write(nb, course / "notebooks" / "02_broken.ipynb")
    with pytest.raises(ValueError, match=r"02_broken.ipynb, cell 3, line 3: .* never closed"):
        export.make_student_version(course / "notebooks", course / "out")
    assert export.main([str(course / "out"), "--notebooks", str(course / "notebooks")]) == 1


def test_command_line(course, monkeypatch, capsys):
    """`python -m tools.student OUT_DIR --notebooks DIR`, run in-process (no second torch import)."""
    out = course / "student"
    monkeypatch.setattr(sys, "argv", ["student", str(out), "--notebooks", str(course / "notebooks")])
    monkeypatch.delitem(sys.modules, "tools.student")  # run it afresh as __main__, as -m does
    with pytest.raises(SystemExit) as info:
        runpy.run_module("tools.student", run_name="__main__")
    assert info.value.code == 0
    assert f"wrote {out / '01_fake.ipynb'} (2 exercises)" in capsys.readouterr().out
    assert (out / "01_fake.ipynb").exists() and (out / "figures" / "grid.png").exists()


def test_command_line_needs_the_course_repository(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "ROOT", tmp_path)  # found from tools/'s own place; here: no notebooks/
    with pytest.raises(SystemExit) as info:
        export.main([str(tmp_path / "out")])
    assert f"{tmp_path} has no notebooks/ folder" in str(info.value.code)
    assert not (tmp_path / "out").exists()


def test_command_line_names_a_missing_notebooks_folder(tmp_path, capsys):
    assert export.main([str(tmp_path / "out"), "--notebooks", str(tmp_path / "nowhere")]) == 1
    assert f"--notebooks {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# the course's real notebooks
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_student(tmp_path_factory):
    if not REAL:
        pytest.skip("no notebooks/[0-9][0-9]_*.ipynb yet")
    out = tmp_path_factory.mktemp("student")
    written = export.make_student_version(ROOT / "notebooks", out)
    return out, written


def test_real_notebooks_have_no_solution_text(real_student):
    out, written = real_student
    assert sorted(p.name for p in written) == [p.name for p in REAL]
    for path in REAL:
        teacher = nbformat.read(path, as_version=4)
        student = nbformat.read(out / path.name, as_version=4)
        assert_no_solution_text(student, teacher)
        has_exercises = any(solution_blocks(c.source) for c in teacher.cells if c.cell_type == "code")
        stubs = sum(bool(STUB.match(line)) for src in code_sources(student) for line in src.splitlines())
        assert stubs == len(written[out / path.name])
        if has_exercises:
            assert stubs >= 1, f"{path.name}: exercises but no NotImplementedError stub"
        for cell in student.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


def test_real_notebooks_have_at_least_eight_exercises(real_student):
    out, written = real_student
    if len(REAL) < 5:
        pytest.skip(f"only {len(REAL)} of the 5 notebooks exist so far; the count is checked once all do")
    total = sum(len(tasks) for tasks in written.values())
    assert total >= 8, {p.name: tasks for p, tasks in written.items()}


@pytest.mark.slow
def test_real_student_notebook_stops_with_the_friendly_message(real_student):
    """Run the setup cell, then the first exercise and the cells after it, in a real kernel."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    out, written = real_student
    path = next((p for p in sorted(written) if written[p]), None)
    if path is None:
        pytest.skip("no real notebook has exercises yet")
    student = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(student.cells) if c.cell_type == "code"]
    first = next(i for i in code if any(STUB.match(l) for l in student.cells[i].source.splitlines()))
    task = written[path][0]

    def run(cells):
        cells = [copy.deepcopy(c) for c in cells]
        for c in cells:  # check cells are tagged raises-exception so that Run All goes on: stop here
            c.metadata["tags"] = [t for t in c.metadata.get("tags", []) if t != "raises-exception"]
        nb = nbformat.v4.new_notebook(cells=cells, metadata=student.metadata)
        client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(out)}})
        with pytest.raises(CellExecutionError) as info:
            client.execute()
        return info.value

    # Fast path: the setup cell, the exercise and the two code cells after it (the check).
    following = [i for i in code if i > first][:2]
    error = run([student.cells[i] for i in sorted({code[0], first, *following})])
    if error.ename != "NotImplementedError":
        # The exercise needs earlier cells: run everything up to and including its check.
        error = run(student.cells[:(following[-1] if following else first) + 1])
    assert error.ename == "NotImplementedError", str(error)
    assert error.evalue == f"Exercise: {task}"


# ---------------------------------------------------------------------------------------
# an unsafe OUT_DIR is refused before anything is written (issue 12)
# ---------------------------------------------------------------------------------------

def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*")) if folder.exists() else []


def test_a_symlinked_notebook_in_out_is_refused_and_its_target_untouched(course):
    elsewhere = course / "elsewhere.txt"
    elsewhere.write_text("precious")
    out = course / "out"
    out.mkdir()
    (out / "01_fake.ipynb").symlink_to(elsewhere)
    with pytest.raises(ValueError, match=re.escape(
            f"{out / '01_fake.ipynb'} is a symbolic link (to {elsewhere}): the student export never "
            "writes through one; remove it or name another OUT_DIR")):
        export.make_student_version(course / "notebooks", out)
    assert elsewhere.read_text() == "precious"
    assert files_under(out) == [Path("01_fake.ipynb")]


@pytest.mark.parametrize("link", ["figures", "figures/grid.png"])
def test_a_symlinked_figures_folder_or_file_in_out_is_refused(course, link):
    elsewhere = course / "elsewhere"
    elsewhere.mkdir()
    out = course / "out"
    (out / "figures").mkdir(parents=True)
    if link == "figures":
        (out / "figures").rmdir()
        (out / "figures").symlink_to(elsewhere, target_is_directory=True)
    else:
        (elsewhere / "grid.png").write_text("precious")
        (out / link).symlink_to(elsewhere / "grid.png")
    with pytest.raises(ValueError, match=re.escape(f"{out / link} is a symbolic link (to ")):
        export.make_student_version(course / "notebooks", out)
    assert files_under(elsewhere) == ([] if link == "figures" else [Path("grid.png")])
    assert link == "figures" or (elsewhere / "grid.png").read_text() == "precious"
    assert not (out / "01_fake.ipynb").exists()  # refused before any notebook was written


def test_out_dir_that_is_a_file_is_refused(course, capsys):
    out = course / "out.txt"
    out.write_text("a file")
    with pytest.raises(ValueError, match=re.escape(f"OUT_DIR {out} is a file, not a folder: name a new "
                                                   "folder or an existing one")):
        export.make_student_version(course / "notebooks", out)
    assert out.read_text() == "a file"
    assert export.main([str(out), "--notebooks", str(course / "notebooks")]) == 1
    assert f"error: OUT_DIR {out} is a file, not a folder" in capsys.readouterr().err


def test_out_dir_that_is_a_broken_symlink_is_refused(course):
    out = course / "out"
    out.symlink_to(course / "gone", target_is_directory=True)
    with pytest.raises(ValueError, match=re.escape(f"OUT_DIR {out} is a symbolic link to {course / 'gone'}, "
                                                   "which does not exist: name a real folder")):
        export.make_student_version(course / "notebooks", out)
    assert not (course / "gone").exists()


def test_an_empty_out_dir_is_refused_not_taken_as_the_working_folder(course, monkeypatch, capsys):
    monkeypatch.chdir(course)
    before = files_under(course)
    assert export.main(["", "--notebooks", str(course / "notebooks")]) == 1
    assert "error: OUT_DIR is empty (''): name the folder for the student notebooks, e.g. " \
           "`python3 course.py student ~/student-notebooks`" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"OUT_DIR is empty \(' '\)"):
        export.make_student_version(course / "notebooks", " ")
    assert files_under(course) == before


def test_a_relative_out_dir_is_taken_from_the_working_folder(course, tmp_path, monkeypatch, capsys):
    caller = tmp_path / "caller"
    caller.mkdir()
    monkeypatch.chdir(caller)
    assert export.main(["mine", "--notebooks", str(course / "notebooks")]) == 0
    assert f"wrote {caller / 'mine' / '01_fake.ipynb'} (2 exercises)" in capsys.readouterr().out
    assert (caller / "mine" / "figures" / "grid.png").exists()


@pytest.mark.parametrize("where", ["notebooks", "notebooks/student", "tests", "tests/deep/student"])
def test_out_dir_where_pytest_collects_is_refused(course, where):
    (course / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests", "notebooks"]\n')
    (course / "tests").mkdir()
    out = course / where
    before = files_under(course)
    message = ("would overwrite the solutions" if where == "notebooks" else
               f"OUT_DIR {out} lies in {course / where.split('/')[0]}, where pytest would collect the student "
               f"notebooks and fail on every exercise: write them outside it, e.g. to {course / 'student'}")
    with pytest.raises(ValueError, match=re.escape(message)):
        export.make_student_version(course / "notebooks", out)
    assert files_under(course) == before


def test_out_dir_that_is_the_course_folder_is_refused(course):
    with pytest.raises(ValueError, match=re.escape(
            f"OUT_DIR {course} is the course folder itself: its figures/ would be copied onto themselves; "
            f"name a folder of its own, e.g. {course / 'student'}")):
        export.make_student_version(course / "notebooks", course)
    assert not (course / "01_fake.ipynb").exists()


def test_out_dir_below_a_file_gives_a_clear_error(course, capsys):
    (course / "a-file").write_text("x")
    out = course / "a-file" / "out"
    assert export.main([str(out), "--notebooks", str(course / "notebooks")]) == 1
    assert f"error: cannot write the student notebooks to {str(out)!r}: " in capsys.readouterr().err


def test_written_files_are_readable_by_others(course):
    import os
    export.make_student_version(course / "notebooks", course / "out")
    umask = os.umask(0)
    os.umask(umask)
    for path in [course / "out" / "01_fake.ipynb", course / "out" / "figures" / "grid.png"]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------------------------
# the same exercise set as nbgrader's release (issue 13)
# ---------------------------------------------------------------------------------------

GRADED_POINTS = {"check_rnn_step": 2, "check_make_windows": 1, "why_tanh": 2}
HIDDEN = "### BEGIN HIDDEN TESTS\nchecks.check_rnn_step(rnn_step, seed=7)\n### END HIDDEN TESTS"
ANSWER = ("<!-- grade_id: why_tanh -->\n### BEGIN SOLUTION\ntanh keeps H in (-1, 1).\n"
          "*Rubric:* 2 points for naming the range.\n### END SOLUTION")


def graded_notebook():
    """fake_notebook() with a hidden test, a written answer with its rubric, stamped as tools/grading does."""
    nb = fake_notebook()
    nb.cells[7].source += "\n" + HIDDEN
    nb.cells.append(new_markdown_cell("**Question.** Why tanh?"))
    nb.cells.append(new_markdown_cell(ANSWER))
    markers.stamp_notebook(nb, points=GRADED_POINTS)
    return nb


def nbgrader_release(nb):
    """What nbgrader generate_assignment does to the cells' sources and locks (its own preprocessors)."""
    from copy import deepcopy

    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions, LockCells
    nb = deepcopy(nb)
    for preprocessor in (LockCells, ClearSolutions, ClearHiddenTests, ClearMarkScheme):
        nb, _ = preprocessor().preprocess(nb, {})
    return nb


def as_nbgrader_writes_it(source):
    """A student copy's stub written as nbgrader's: `# YOUR CODE HERE` then `raise NotImplementedError()`."""
    return "\n".join(f"{s.group(1)}# YOUR CODE HERE\n{s.group(1)}raise NotImplementedError()" if (s := STUB.match(l))
                     else l for l in source.split("\n")).replace("](figures/", "](../figures/")


def assert_same_exercise_set(student, release, name):
    assert len(student.cells) == len(release.cells), name
    for index, (mine, theirs) in enumerate(zip(student.cells, release.cells)):
        where = f"{name}, cell {index}"
        assert as_nbgrader_writes_it(mine.source) == theirs.source, where
        for key in ("nbgrader", "deletable", "editable"):
            assert mine.metadata.get(key) == theirs.metadata.get(key), f"{where}: metadata {key}"


def test_student_copy_has_nbgraders_exercise_set(course):
    teacher = graded_notebook()
    nbformat.write(teacher, course / "notebooks" / "01_fake.ipynb")
    export.make_student_version(course / "notebooks", course / "out")
    student = nbformat.read(course / "out" / "01_fake.ipynb", as_version=4)
    assert_same_exercise_set(student, nbgrader_release(teacher), "01_fake.ipynb")
    text = (course / "out" / "01_fake.ipynb").read_text()
    for gone in ["HIDDEN TESTS", "seed=7", "Rubric", "tanh keeps H", "SOLUTION"]:
        assert gone not in text
    assert student.cells[7].source == "checks.check_rnn_step(rnn_step)"
    assert student.cells[9].source == "<!-- grade_id: why_tanh -->\nYOUR ANSWER HERE"
    assert student.cells[7].metadata.nbgrader.points == 2 and student.cells[7].metadata.editable is False


@pytest.mark.parametrize("source, phrase", [
    ("x = 1\n### BEGIN HIDDEN TESTS\nassert x", "line 2: '### BEGIN HIDDEN TESTS' is never closed"),
    ("x = 1\n### END HIDDEN TESTS", "line 2: '### END HIDDEN TESTS' without '### BEGIN HIDDEN TESTS'"),
    ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS", "line 2: '### BEGIN HIDDEN TESTS' inside the block"),
])
def test_broken_hidden_test_markers_name_the_notebook_and_cell(course, source, phrase):
    nb = fake_notebook()
    nb.cells[4].source = source
    nbformat.write(nb, course / "notebooks" / "02_broken.ipynb")
    with pytest.raises(ValueError, match=re.escape(f"02_broken.ipynb, cell 4, {phrase}")):
        export.make_student_version(course / "notebooks", course / "out")


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_student_copy_has_nbgraders_exercise_set(path, real_student):
    """Needs the committed nbgrader metadata: nbgrader refuses unstamped cells (`python3 course.py stamp`)."""
    out, _ = real_student
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(out / path.name, as_version=4)
    unstamped = [i for i, c in enumerate(teacher.cells) if "SOLUTION" in c.source and "nbgrader" not in c.metadata]
    assert not unstamped, f"{path.name}: solutions in cells {unstamped}, no nbgrader metadata: python3 course.py stamp"
    assert_same_exercise_set(student, nbgrader_release(teacher), path.name)
