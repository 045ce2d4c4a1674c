"""What a student copy shows when it is run with no exercise solved, read from the copy itself.

A student copy (``tools.student``) replaces each solution with
``raise NotImplementedError("Exercise: <task>")``. Run top to bottom:

* the friendly message ``NotImplementedError: Exercise: <task>`` is the error output of the
  check right after the exercise (the next code cell), or of the exercise cell itself when the
  stub stands at the top level of the cell rather than inside a function;
* each ``checks.yours_or_builtin("name", ...)`` cell prints one line
  ``using ... in place of your name: ...`` and the notebook goes on with the stand-in;
* no other cell shows an error.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUB = re.compile(r'^([ \t]*)raise NotImplementedError\(("Exercise: .*")\)[ \t]*$', re.M)
FALLBACK = re.compile(r"""yours_or_builtin\(\s*["'](\w+)["']""")


@dataclass
class Expected:
    """Cell numbers are 1-based over all cells, as in the page report."""
    messages: dict[int, list[str]]  # cell -> the friendly messages its error output shows
    notes: dict[int, list[str]]     # cell -> the exercise names whose fallback note it prints


def expected_in_page(student: Path) -> Expected:
    nb = nbformat.read(student, as_version=4)
    code = [(number, cell.source) for number, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"]
    messages: dict[int, list[str]] = {}
    notes: dict[int, list[str]] = {}
    for index, (number, source) in enumerate(code):
        for indent, literal in STUB.findall(source):
            at = number if not indent or index + 1 == len(code) else code[index + 1][0]
            messages.setdefault(at, []).append(f"NotImplementedError: {ast.literal_eval(literal)}")
        if names := FALLBACK.findall(source):
            notes[number] = names
    return Expected(messages, notes)


def exercise_problems(report: dict, expected: Expected) -> list[str]:
    """Errors anywhere but at the checks, checks without their friendly message, missing notes."""
    shown: dict[int, str] = {}
    for err in report["errors"]:
        shown[err["cell"]] = shown.get(err["cell"], "") + err["text"] + "\n"
    problems = [
        f"error output in cell {cell}, which is not the check of an unsolved exercise: ...{text.strip()[-500:]}"
        for cell, text in shown.items() if cell not in expected.messages
    ]
    for cell, messages in expected.messages.items():
        problems += [
            f"cell {cell}, the check after an unsolved exercise, should show `{message}`; "
            f"it shows {('...' + shown[cell].strip()[-300:]) if cell in shown else 'no error'}"
            for message in messages if message not in shown.get(cell, "")
        ]
    for cell, names in expected.notes.items():
        printed = report["stdout"].get(str(cell), "")
        problems += [
            f"cell {cell} should print `using ... in place of your {name}: ...`; it printed {printed.strip()[:300]!r}"
            for name in names if not re.search(rf"^using .+ in place of your {name}\b", printed, re.M)
        ]
    return problems
