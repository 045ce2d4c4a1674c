"""The course's nbgrader markers, read once for the student export and for grading: the regexes,
the notebook glob, the figure links, and the nbgrader metadata every cell derives from them.

- A code cell holding ``### BEGIN SOLUTION`` / ``### END SOLUTION`` is a *solution* cell; its
  grade_id is the name it defines (the ``def``/``class`` the region sits in, else the first
  name it assigns), e.g. ``rnn_2``.
- The code cell right after it, which calls ``checks.check_<name>(...)``, is a locked,
  autograded *grade* cell whose grade_id is the check it calls, e.g. ``check_rnn_2``. Only these
  cells may hold ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.
- A markdown cell holding the solution markers is an answer graded by hand, grade_id given in
  the cell as ``<!-- grade_id: NAME -->``.

Grade cells get their points from POINTS; every other cell carries no nbgrader metadata.
Writing changes only the cells' ``metadata.nbgrader`` (files are written as Jupyter writes them).
``tools/student.py`` (the student export) and ``tools/grading`` (the nbgrader course folder, the
grader) take every marker, the notebook glob and the ``../figures/`` link rewriting from here.
"""
import json
import re
from pathlib import Path

from .points import POINTS

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"  # the course's notebooks: NN_name.ipynb
MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
DEFINES = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
ASSIGNS = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
CHECK_CALL = re.compile(r"\bchecks\.(check_\w+)\s*\(")
ANSWER_ID = re.compile(r"<!--\s*grade_id:\s*([A-Za-z0-9_-]+)\s*-->")
GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")  # what nbgrader accepts as a grade_id or student id: use fullmatch
NBGRADER_NAMES = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                  "BEGIN MARK SCHEME", "END MARK SCHEME")
TASK = re.compile(r"^\s*#\s*Exercise:\s*(.*?)\s*$")  # the comment above a solution region: its task
TEXT_STUB = "YOUR ANSWER HERE"  # what nbgrader's release writes in place of a written answer
TEACHER_ONLY = ("HIDDEN TESTS", "MARK SCHEME")  # regions removed from every cell of a student copy
FIGURE_LINK = re.compile(r"\.\./figures/([A-Za-z0-9_.-]+)")  # a notebook's link to a figure of figures/


def region_markers(kind):
    """(begin, end): the regexes of the marker lines of a ``### BEGIN <kind>`` region; begin's group 1
    is the marker's indentation."""
    return re.compile(rf"^(\s*)#+\s*BEGIN {kind}\s*$"), re.compile(rf"^\s*#+\s*END {kind}\s*$")


BEGIN, END = region_markers("SOLUTION")


def strip_region(source, kind, where="cell", stub=None):
    """`source` with every ``### BEGIN <kind>`` ... ``### END <kind>`` region (markers included) removed,
    or replaced by `stub` at the BEGIN marker's indentation; returns (new source, number of regions)."""
    begin, end = region_markers(kind)
    out, inside, count = [], None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        opened = begin.match(line)
        if opened and inside is not None:
            raise ValueError(f"{where}, line {number}: '### BEGIN {kind}' inside the block opened on line {inside}")
        if opened:
            inside, count = number, count + 1
            if stub is not None:
                out.append(opened.group(1) + stub)
        elif end.match(line):
            if inside is None:
                raise ValueError(f"{where}, line {number}: '### END {kind}' without '### BEGIN {kind}'")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ValueError(f"{where}, line {inside}: '### BEGIN {kind}' is never closed by '### END {kind}'")
    return "\n".join(out), count


def figure_links(text):
    """The names of the figures `text` links as ``../figures/NAME`` (in the order they appear)."""
    return FIGURE_LINK.findall(text)


def local_figure_links(text):
    """`text` with each ``../figures/NAME`` link made ``figures/NAME``: for a copy that has figures/ beside it."""
    return FIGURE_LINK.sub(r"figures/\1", text)


def notebooks_in(folder):
    """The course's notebooks in `folder` (NN_name.ipynb), sorted."""
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


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
        raise StampError(f"{where}: grade_id {grade_id!r} has no points: add it to POINTS in tools/grading/points.py "
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
            if not GRADE_ID.fullmatch(meta["grade_id"]):
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


def points_per_notebook(notebooks_dir, points=None):
    """{notebook name: (points, checks, written answers)} as the markers and POINTS give them."""
    table = {}
    for path in notebooks_in(notebooks_dir):
        metas = [m for m in derive_metadata(json.loads(path.read_text(encoding="utf-8")), path.name, points)
                 if m and m["grade"]]
        table[path.stem] = (sum(m["points"] for m in metas), sum(not m["solution"] for m in metas),
                            sum(m["solution"] for m in metas))
    return table
