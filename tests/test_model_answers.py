"""Model answers and rubrics quote only numbers that the notebook prints or a results file holds.

The teacher's notebooks carry, for each question graded by hand, a model answer and a rubric in
the answer cell's solution region. A number typed there from an older run misleads every grader,
so each decimal number in it (and each number written with thousands separators) must round from
a number in that notebook's committed outputs or in results/*.json. Numbers in `code` spans
(settings such as `lr=0.01`) are exempt; so are plain whole numbers (seeds, layers, points).
To quote a result, print it in a cell and copy it as printed, or point to the cell.
"""
import json
import re
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
QUOTED = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\w.]*\d)")
PRINTED = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


def solution_text(source):
    """The text between ### BEGIN SOLUTION and ### END SOLUTION, without `code` spans."""
    parts = re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", source, flags=re.S)
    return re.sub(r"`[^`]*`", " ", "\n".join(parts))


def as_decimal(text):
    return Decimal(text.replace(",", ""))


def printed_numbers(nb):
    found = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")] + [v for k, v in out.get("data", {}).items() if k.startswith("text/")]
            for text in texts:
                found.update(as_decimal(n) for n in PRINTED.findall("".join(text)) if "e" not in n)
    return found


def stored_numbers():
    found = set()

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            found.add(Decimal(repr(float(x))))
    for path in (ROOT / "results").glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def rounds_from(quoted, known):
    """Whether some known number rounds, at the quoted number's decimals, to the quoted number."""
    q = as_decimal(quoted)
    places = Decimal(1).scaleb(q.as_tuple().exponent)
    return any(k.quantize(places) == q for k in known if abs(k - q) < 1)


def answers(nb):
    for cell in nb.cells:
        grade_id = re.search(r"<!--\s*grade_id:\s*(\w+)", cell.source) if cell.cell_type == "markdown" else None
        if grade_id:
            yield grade_id.group(1), solution_text(cell.source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_a_model_answer_is_printed_or_stored(path):
    nb = nbformat.read(path, as_version=4)
    known = printed_numbers(nb) | stored_numbers()
    unbacked = {gid: [n for n in QUOTED.findall(text) if not rounds_from(n, known)] for gid, text in answers(nb)}
    unbacked = {gid: numbers for gid, numbers in unbacked.items() if numbers}
    assert not unbacked, (f"{path.name}: model answers quote numbers that no output of the notebook prints and no "
                          f"results/*.json holds: {unbacked}. Print them in a cell, or point to the cell that does.")


def test_the_rule_catches_a_pasted_number():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output("stream", text="k = 3: 5.873\n")]),
        nbformat.v4.new_markdown_cell("<!-- grade_id: q -->\n### BEGIN SOLUTION\nk = 3: 5.87, k = 10: 9.90; "
                                      "`lr=0.01`, 2 points, 1,200 steps\n### END SOLUTION")])
    known = printed_numbers(nb)
    (gid, text), = answers(nb)
    assert [n for n in QUOTED.findall(text) if not rounds_from(n, known)] == ["9.90", "1,200"]
