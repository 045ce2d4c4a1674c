"""Student versions: write the notebooks with every exercise solution replaced by a stub.

    python3 course.py student OUT_DIR
    python -m tools.student OUT_DIR          (the same, from the repository root)

Every ``notebooks/[0-9][0-9]_*.ipynb`` is written to OUT_DIR with each solution block (the
lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``, markers included) replaced by
``raise NotImplementedError("Exercise: <task>")`` at the block's indentation, where <task> is
the text of a ``# Exercise: ...`` comment right above the block (else "write this part").
Check cells lose their hidden tests (``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS``),
and in a markdown answer the region between the solution markers (model answer and rubric) becomes
"YOUR ANSWER HERE"; ``### BEGIN MARK SCHEME`` regions go too. So the student copy has exactly the
exercise set of nbgrader's release/ (tools/grading): the same cells stubbed, hidden tests and rubrics
removed, the committed nbgrader metadata kept, and the cells nbgrader locks made non-deletable (check
cells also non-editable), so that ``course.py grade`` can score what comes back.
All outputs and execution counts are cleared. When the notebooks show ``../figures/...``,
figures/ is copied into OUT_DIR and the links become ``figures/...`` so that OUT_DIR is
self-contained (``helpers`` itself comes from the installed course package). Course tooling:
not installed with ``helpers`` and never imported by it.

Nothing is written until every check has passed: OUT_DIR must be a folder (or not exist yet),
outside notebooks/ and every folder pytest collects (``testpaths`` in pyproject.toml), and no
file or folder it would write may be a symbolic link (nothing is ever written through one).
"""
import argparse
import json
import shutil
import sys
import tomllib
from pathlib import Path

import nbformat

from . import add_notebooks_option, notebooks_folder
from .grading import markers
from .grading.safe_files import checked_folder, open_new, refuse_symlinks

__all__ = ["student_source", "student_notebook", "make_student_version", "main"]

GENERIC_TASK = "write this part"
WHO = "the student export"


def student_source(source, where="cell"):
    """Replace each solution block of one code cell's source; returns (new_source, [task, ...])."""
    out, tasks = [], []
    inside = None  # line number of the open BEGIN marker
    for number, line in enumerate(source.splitlines(), start=1):
        begin = markers.BEGIN.match(line)
        if inside is None:
            if begin:
                inside = number
                previous = next((l for l in reversed(out) if l.strip()), "")
                task = markers.TASK.match(previous)
                task = task.group(1) if task and task.group(1) else GENERIC_TASK
                tasks.append(task)
                message = json.dumps(f"Exercise: {task}", ensure_ascii=False)
                out.append(f"{begin.group(1)}raise NotImplementedError({message})")
            elif markers.END.match(line):
                raise ValueError(f"{where}, line {number}: '### END SOLUTION' without '### BEGIN SOLUTION'")
            else:
                out.append(line)
        elif begin:
            raise ValueError(f"{where}, line {number}: '### BEGIN SOLUTION' inside the block opened "
                             f"on line {inside}")
        elif markers.END.match(line):
            inside = None
    if inside is not None:
        raise ValueError(f"{where}, line {inside}: '### BEGIN SOLUTION' is never closed by '### END SOLUTION'")
    return "\n".join(out), tasks


def lock_like_nbgrader(cell):
    """The locks nbgrader's release sets (LockCells' defaults), from the cell's nbgrader metadata."""
    grading = cell.metadata.get("nbgrader", {})
    if grading.get("solution"):
        cell.metadata["deletable"] = False
    elif grading.get("grade") or grading.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def student_notebook(nb, name="notebook"):
    """A student copy of a notebook node (modified in place); returns (nb, tasks, links_figures)."""
    tasks, links_figures = [], False
    for index, cell in enumerate(nb.cells):
        if markers.figure_links(cell.source):
            links_figures = True
            cell.source = markers.local_figure_links(cell.source)
        for kind in markers.TEACHER_ONLY:
            cell.source, _ = markers.strip_region(cell.source, kind, where=f"{name}, cell {index}")
        lock_like_nbgrader(cell)
        if cell.cell_type == "markdown":
            cell.source, _ = markers.strip_region(cell.source, "SOLUTION", f"{name}, cell {index}",
                                                  stub=markers.TEXT_STUB)
        if cell.cell_type == "code":
            cell.source, found = student_source(cell.source, where=f"{name}, cell {index}")
            tasks += found
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # nbclient's timing record
    nb.metadata.pop("widgets", None)  # saved widget state belongs to cleared outputs
    return nb, tasks, links_figures


def _testpaths(course):
    """The folders pytest collects in `course`, from its pyproject.toml (none without one)."""
    pyproject = course / "pyproject.toml"
    if not pyproject.is_file():
        return []
    options = tomllib.loads(pyproject.read_text()).get("tool", {}).get("pytest", {}).get("ini_options", {})
    return [course / path for path in options.get("testpaths", [])]


def _checked_out_dir(src, out_dir):
    """OUT_DIR as an absolute path; ValueError, before anything is written, where writing there is unsafe."""
    out = checked_folder(out_dir, "OUT_DIR", "the student notebooks", "python3 course.py student ~/student-notebooks")
    course, real = src.resolve().parent, out.resolve()
    if real == src.resolve():
        raise ValueError(f"{out} is the source folder: the student version would overwrite the solutions")
    if real == course:
        raise ValueError(f"OUT_DIR {out} is the course folder itself: its figures/ would be copied onto "
                         f"themselves; name a folder of its own, e.g. {course / 'student'}")
    for inside in [src.resolve(), *(p.resolve() for p in _testpaths(course))]:
        if real == inside or inside in real.parents:
            raise ValueError(f"OUT_DIR {out} lies in {inside}, where pytest would collect the student "
                             f"notebooks and fail on every exercise: write them outside it, "
                             f"e.g. to {course / 'student'}")
    return out


def make_student_version(src_notebooks_dir, out_dir):
    """Write the student version of every NN_*.ipynb of src_notebooks_dir to out_dir.

    Returns {notebook path written: [task, ...]}; prints one line per file written.
    Raises ValueError before writing anything when out_dir is unsafe (see the module docstring).
    """
    src = Path(src_notebooks_dir)
    out = _checked_out_dir(src, out_dir)
    students, links_figures = [], False
    for path in markers.notebooks_in(src):
        nb = nbformat.read(path, as_version=4)
        nb, tasks, links = student_notebook(nb, name=path.name)
        links_figures |= links
        nbformat.validate(nb)
        students.append((out / path.name, nb, tasks))
    figures = src.parent / "figures"
    copies = []
    if links_figures and figures.is_dir():
        copies = [(f, out / "figures" / f.relative_to(figures)) for f in sorted(figures.rglob("*")) if f.is_file()]
    refuse_symlinks(out, [target for target, _, _ in students] + [target for _, target in copies], WHO, "OUT_DIR")

    written = {}
    out.mkdir(parents=True, exist_ok=True)
    for target, nb, tasks in students:
        with open_new(target, "w") as f:
            nbformat.write(nb, f)
        written[target] = tasks
        print(f"wrote {target} ({len(tasks)} exercise{'s' if len(tasks) != 1 else ''})")
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as f, open_new(target, "wb") as g:
            shutil.copyfileobj(f, g)
    if copies:
        print(f"copied {figures} to {out / 'figures'}")
    if not written:
        print(f"no notebooks matching {markers.NOTEBOOK_GLOB} in {src}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.student", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", default="student",
                        help="where to write the student notebooks (default: student/)")
    add_notebooks_option(parser)
    args = parser.parse_args(argv)
    notebooks = notebooks_folder(args.notebooks)
    if notebooks is None:
        return 1
    try:
        make_student_version(notebooks, args.out_dir)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: cannot write the student notebooks to {args.out_dir!r}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
