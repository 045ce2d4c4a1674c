"""The browser test's reading of a student version (exercises.py), on a small made-up one: where
the friendly messages and fallback notes go, and what counts as a problem. No browser needed."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .exercises import exercise_problems, expected_in_page

MESSAGE = "NotImplementedError: Exercise: return tanh(X W + b)"


def student_version(tmp_path):
    cells = [
        new_markdown_cell("# Lesson"),
        new_code_cell("from helpers import checks"),
        new_code_cell('def step(X, W, b):\n    # Exercise: return tanh(X W + b)\n'
                      '    raise NotImplementedError("Exercise: return tanh(X W + b)")'),
        new_code_cell("checks.check_step(step)"),
        new_code_cell('step = checks.yours_or_builtin("step", step)'),
        new_code_cell('# Exercise: a number\nraise NotImplementedError("Exercise: a number")'),
    ]
    path = tmp_path / "01_lesson.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def page(errors=(), stdout=None):
    """The parts of js/report.js's report that exercises.py reads."""
    return {"errors": [{"cell": cell, "text": text} for cell, text in errors], "stdout": stdout or {}}


def test_the_message_goes_to_the_check_after_the_exercise_and_the_note_to_the_fallback(tmp_path):
    expected = expected_in_page(student_version(tmp_path))
    assert expected.messages == {4: [MESSAGE], 6: ["NotImplementedError: Exercise: a number"]}
    assert expected.notes == {5: ["step"]}


def test_a_page_that_shows_them_all_has_no_problem(tmp_path):
    expected = expected_in_page(student_version(tmp_path))
    shown = page(errors=[(4, f"Traceback ...\n{MESSAGE}"), (6, "NotImplementedError: Exercise: a number")],
                 stdout={"5": "using torch.tanh in place of your step: it raised NotImplementedError: ...\n"})
    assert exercise_problems(shown, expected) == []


def test_an_error_elsewhere_a_missing_message_and_a_missing_note_are_problems(tmp_path):
    expected = expected_in_page(student_version(tmp_path))
    shown = page(errors=[(5, "NameError: name 'torch' is not defined")])
    problems = exercise_problems(shown, expected)
    assert problems[0].startswith("error output in cell 5, which is not the check of an unsolved exercise")
    assert problems[1].startswith(f"cell 4, the check after an unsolved exercise, should show `{MESSAGE}`")
    assert problems[3].startswith("cell 5 should print `using ... in place of your step: ...`")
    assert len(problems) == 4
