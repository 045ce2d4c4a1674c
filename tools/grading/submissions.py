"""What students handed in: the folder's layout (checked before any work), and each notebook read against
the teacher's (its exercises found, its nbgrader metadata restored).

SUBMISSIONS_DIR/<student_id>/<NN_name>.ipynb, one folder per student, notebooks named as shipped.
Refused before anything runs, every problem on an ``error:`` line of its own: symbolic links (a linked
student folder would be graded twice, a linked notebook could be the teacher's), student ids that are
not nbgrader's (``[A-Za-z0-9_-]+``, the whole name), a folder or an unknown name where a notebook
should be, loops of links. Skipped with a line saying so: folders and files whose names start with
``.``, files beside the student folders, students with no notebook.

A notebook that cannot be graded does not stop the others: :func:`read_notebook` says what is wrong
with it (empty, not JSON, not a notebook, not this course's) and the grader gives its exercises 0
points with that note.
"""
import ast
import builtins
import json
from dataclasses import dataclass, field
from pathlib import Path

from .markers import ASSIGNS, DEFINES, GRADE_ID, TEXT_STUB, source_of, strip_region
from .safe_files import symlink_loop

MAX_BYTES = 50 * 2**20  # a course notebook with outputs is a few MB


def layout_problems(folder, known):
    """([problem, ...], {student: {assignment: path}}, [skipped line, ...]) for SUBMISSIONS_DIR `folder`."""
    folder = Path(folder)
    example = f"{folder}/<student_id>/{known[0]}.ipynb"
    if symlink_loop(folder):
        return [f"SUBMISSIONS_DIR {str(folder)!r} is a loop of symbolic links"], {}, []
    if not folder.exists():
        return [f"SUBMISSIONS_DIR {str(folder)!r}: no such folder; give a folder holding one folder per student, "
                f"each with the notebooks they handed in ({known[0]}.ipynb, ...)"], {}, []
    if not folder.is_dir():
        return [f"SUBMISSIONS_DIR {str(folder)!r} is a file, not a folder: give the folder that holds one folder "
                f"per student, e.g. {example}"], {}, []
    problems, found, skipped = [], {}, []
    for student in sorted(folder.iterdir()):
        if student.name.startswith("."):
            skipped.append(f"skipped {student}: its name starts with '.' (a hidden {kind(student)})")
        elif student.is_symlink():
            problems.append(f"{student} is a symbolic link (to {link_target(student)}): give each student a real "
                            f"folder (a link would grade a folder twice, or what lies elsewhere); replace it by a copy")
        elif not student.is_dir():
            skipped.append(f"skipped {student}: a file, not a student folder")
        elif not GRADE_ID.fullmatch(student.name):
            problems.append(f"student folder {student.name!r} in {folder}: nbgrader's student ids may hold only "
                            f"letters, digits, '_' and '-'; rename the folder")
        else:
            notebooks = notebooks_of(student, known, problems, skipped)
            if notebooks:
                found[student.name] = notebooks
            elif notebooks is not None:
                skipped.append(f"skipped {student}: no notebooks in it")
    if not problems and not found:
        problems.append(f"SUBMISSIONS_DIR {str(folder)!r} holds no submissions: expected "
                        f"{folder}/<student_id>/<notebook>.ipynb, e.g. {folder}/alice/{known[0]}.ipynb")
    return problems, found, skipped


def notebooks_of(student, known, problems, skipped):
    """{assignment: path} of one student folder; appends what is wrong to `problems` (then returns None)."""
    notebooks, before = {}, len(problems)
    for path in sorted(student.iterdir()):
        if path.name.startswith("."):
            if path.name != ".ipynb_checkpoints":
                skipped.append(f"skipped {path}: its name starts with '.' (a hidden {kind(path)})")
        elif path.is_symlink():
            problems.append(f"{path} is a symbolic link (to {link_target(path)}): a submission must be the "
                            f"student's own file; replace the link by a copy of what the student handed in")
        elif path.suffix != ".ipynb":
            continue
        elif path.is_dir():
            problems.append(f"{path} is a folder, not a notebook: put the student's {path.name} file there")
        elif path.stem not in known:
            problems.append(f"{path}: {path.name!r} is not one of the course's notebooks; name it as shipped: "
                            f"{', '.join(n + '.ipynb' for n in known)}")
        else:
            notebooks[path.stem] = path
    return None if len(problems) > before else notebooks


def kind(path):
    return "folder" if path.is_dir() and not path.is_symlink() else "file"


def link_target(path):
    import os
    return os.readlink(path)


# ---- one notebook, read against the teacher's ----------------------------------------------------

@dataclass
class Exercise:
    """One grade cell of the teacher's notebook: an autograded check or a written answer."""
    grade_id: str
    points: float
    solution: str = ""       # a check: the grade_id (function name) of its solution cell
    source: str = ""         # a check: the teacher's check cell (hidden tests included)
    stub: str = ""           # an answer: its text in the student copy


@dataclass
class Teacher:
    """What grading needs from a teacher's notebook."""
    name: str
    exercises: list
    metadata: dict           # grade_id -> the nbgrader metadata the markers give

    @classmethod
    def of(cls, path):
        """From the notebook's committed nbgrader metadata (``course.py stamp`` writes it from the markers)."""
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        exercises, solution, metadata = [], None, {}
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader")
            if not meta:
                continue
            metadata[meta["grade_id"]] = meta
            if meta["solution"] and cell["cell_type"] == "code":
                solution = meta["grade_id"]
            elif meta["grade"] and not meta["solution"]:
                exercises.append(Exercise(meta["grade_id"], meta["points"], solution=solution,
                                          source=source_of(cell)))
            elif meta["grade"]:
                stub, _ = strip_region(source_of(cell), "SOLUTION", stub=TEXT_STUB)
                exercises.append(Exercise(meta["grade_id"], meta["points"], stub=stub))
        if not exercises:
            raise ValueError(f"{path}: no cell carries nbgrader metadata: run `python3 course.py stamp`")
        return cls(Path(path).stem, exercises, metadata)


@dataclass
class Plan:
    """A submission read against its teacher's notebook: what to run, where each check goes, the answers."""
    steps: list = field(default_factory=list)      # ("cell", index, source) | ("check", Exercise)
    answers: dict = field(default_factory=dict)    # grade_id -> the student's text, or None if missing
    missing: list = field(default_factory=list)    # grade_ids of solution cells not in the notebook
    notes: list = field(default_factory=list)      # e.g. "metadata changed: grade cells restored"


def read_notebook(path):
    """(notebook dict, None) or (None, why it cannot be graded)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return None, "not graded: the file is empty"
    if size > MAX_BYTES:
        return None, f"not graded: {size / 2**20:.0f} MB, larger than any notebook of the course"
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not graded: not a notebook (not UTF-8 text)"
    except (ValueError, RecursionError) as err:
        where = f" at line {err.lineno}" if hasattr(err, "lineno") else ""
        return None, f"not graded: not a notebook (not valid JSON{where})"
    if type(nb) is not dict or type(nb.get("cells")) is not list:
        return None, "not graded: not a Jupyter notebook (no list of cells)"
    for index, cell in enumerate(nb["cells"]):
        source = cell.get("source") if type(cell) is dict else None
        if (type(cell) is not dict or cell.get("cell_type") not in ("code", "markdown", "raw")
                or not (type(source) is str or (type(source) is list and all(type(s) is str for s in source)))
                or type(cell.get("metadata", {})) is not dict):
            return None, f"not graded: cell {index} is not a notebook cell (its JSON was edited by hand?)"
    return nb, None


def grade_id_of(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    grade_id = meta.get("grade_id") if type(meta) is dict else None
    return grade_id if type(grade_id) is str else None


def defines(source, name):
    """Whether a code cell's source defines `name` at its top level (def, class or the first assignment)."""
    return any((m := DEFINES.match(line) or ASSIGNS.match(line)) and m.group(1) == name for line in source.splitlines())


def plan(nb, teacher):
    """The Plan for a submission (a notebook dict from read_notebook), or (None, why) if it is not this
    course's notebook. Cells are matched to the teacher's by grade_id, else by what they define (a
    solution cell) or hold (``<!-- grade_id: ... -->``, an answer); metadata that differs is restored."""
    cells, result = nb["cells"], Plan()
    solutions = {e.solution for e in teacher.exercises if e.solution}
    answers = [e.grade_id for e in teacher.exercises if not e.solution]
    checks = {e.grade_id: e for e in teacher.exercises if e.solution}
    by_id, changed = {}, False
    for index, cell in enumerate(cells):
        grade_id = grade_id_of(cell)
        if grade_id is None:
            changed |= "nbgrader" in cell.get("metadata", {})
            continue
        want, have = teacher.metadata.get(grade_id), cell["metadata"]["nbgrader"]
        if grade_id in by_id or want is None or any(have.get(k) != v for k, v in want.items()):
            changed = True  # nbgrader's own keys (checksum, cell_type) may differ
        if want is not None and grade_id not in by_id:
            by_id[grade_id] = index
    for name in solutions:
        if name not in by_id or cells[by_id[name]]["cell_type"] != "code":
            index = next((i for i, c in enumerate(cells) if c["cell_type"] == "code" and grade_id_of(c) is None
                          and defines(source_of(c), name)), None)
            changed |= index is not None
            if index is None:
                by_id.pop(name, None)
            else:
                by_id[name] = index
    for name in answers:
        if name not in by_id or cells[by_id[name]]["cell_type"] != "markdown":
            marker = f"grade_id: {name}"
            index = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                          and marker in source_of(c)), None)
            changed |= index is not None
            if index is None:
                by_id.pop(name, None)
            else:
                by_id[name] = index
    if not any(name in by_id for name in [*solutions, *answers]):
        shown = ", ".join([*sorted(solutions), *answers])
        return None, f"not graded: not this course's notebook (it holds none of {teacher.name}'s exercises: {shown})"
    if changed:
        result.notes.append("metadata changed: grade cells restored")
    check_at = {}
    for grade_id, exercise in checks.items():
        if exercise.solution not in by_id:
            result.missing.append(exercise.solution)
            continue
        after = by_id[exercise.solution]
        placed = by_id.get(grade_id)
        check_at.setdefault(placed if placed is not None and placed > after else after, []).append(exercise)
    skip = {by_id[g] for g in checks if g in by_id}
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and index not in skip:
            result.steps.append(("cell", index, source_of(cell)))
        for exercise in check_at.get(index, []):
            result.steps.append(("check", exercise))
    for name in answers:
        result.answers[name] = source_of(cells[by_id[name]]) if name in by_id else None
    return result, None


def loaded_names(source):
    """The names a check cell reads that the student's notebook provides (not ``checks``, not builtins)."""
    tree = ast.parse(source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted(names - {"checks"} - set(dir(builtins)))


def unanswered(text, stub):
    """Whether a written answer is the student copy's stub (or empty)."""
    return text is None or " ".join(text.split()) in ("", " ".join(stub.split()))
