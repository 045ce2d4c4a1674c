"""Student versions: write the notebooks with every exercise solution replaced by a stub.

    python3 course.py student OUT_DIR
    python -m tools.student OUT_DIR          (the same, from the repository root)

Every ``notebooks/[0-9][0-9]_*.ipynb`` is written to OUT_DIR with each solution block (the
lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``, markers included) replaced by
``raise NotImplementedError("Exercise: <task>")`` at the block's indentation, where <task> is
the text of a ``# Exercise: ...`` comment right above the block (else "write this part").
All outputs and execution counts are cleared. When the notebooks show ``../figures/...``,
figures/ is copied into OUT_DIR and the links become ``figures/...`` so that OUT_DIR is
self-contained (``helpers`` itself comes from the installed course package). Course tooling:
not installed with ``helpers`` and never imported by it.
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat

from . import repo_root

__all__ = ["student_source", "student_notebook", "make_student_version", "main"]

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
TASK = re.compile(r"^\s*#\s*Exercise:\s*(.*?)\s*$")
GENERIC_TASK = "write this part"
FIGURES_LINK = "../figures/"


def student_source(source, where="cell"):
    """Replace each solution block of one code cell's source; returns (new_source, [task, ...])."""
    out, tasks = [], []
    inside = None  # line number of the open BEGIN marker
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if inside is None:
            if begin:
                inside = number
                previous = next((l for l in reversed(out) if l.strip()), "")
                task = TASK.match(previous)
                task = task.group(1) if task and task.group(1) else GENERIC_TASK
                tasks.append(task)
                message = json.dumps(f"Exercise: {task}", ensure_ascii=False)
                out.append(f"{begin.group(1)}raise NotImplementedError({message})")
            elif END.match(line):
                raise ValueError(f"{where}, line {number}: '### END SOLUTION' without '### BEGIN SOLUTION'")
            else:
                out.append(line)
        elif begin:
            raise ValueError(f"{where}, line {number}: '### BEGIN SOLUTION' inside the block opened "
                             f"on line {inside}")
        elif END.match(line):
            inside = None
    if inside is not None:
        raise ValueError(f"{where}, line {inside}: '### BEGIN SOLUTION' is never closed by '### END SOLUTION'")
    return "\n".join(out), tasks


def student_notebook(nb, name="notebook"):
    """A student copy of a notebook node (modified in place); returns (nb, tasks, links_figures)."""
    tasks, links_figures = [], False
    for index, cell in enumerate(nb.cells):
        if FIGURES_LINK in cell.source:
            links_figures = True
            cell.source = cell.source.replace(FIGURES_LINK, "figures/")
        if cell.cell_type == "code":
            cell.source, found = student_source(cell.source, where=f"{name}, cell {index}")
            tasks += found
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # nbclient's timing record
    nb.metadata.pop("widgets", None)  # saved widget state belongs to cleared outputs
    return nb, tasks, links_figures


def make_student_version(src_notebooks_dir, out_dir):
    """Write the student version of every NN_*.ipynb of src_notebooks_dir to out_dir.

    Returns {notebook path written: [task, ...]}; prints one line per file written.
    """
    src, out = Path(src_notebooks_dir), Path(out_dir)
    if out.resolve() == src.resolve():
        raise ValueError(f"{out} is the source folder: the student version would overwrite the solutions")
    written, links_figures = {}, False
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        nb, tasks, links = student_notebook(nb, name=path.name)
        links_figures |= links
        nbformat.validate(nb)
        target = out / path.name
        nbformat.write(nb, target)
        written[target] = tasks
        print(f"wrote {target} ({len(tasks)} exercise{'s' if len(tasks) != 1 else ''})")
    figures = src.parent / "figures"
    if links_figures and figures.is_dir():
        shutil.copytree(figures, out / "figures", dirs_exist_ok=True)
        print(f"copied {figures} to {out / 'figures'}")
    if not written:
        print(f"no notebooks matching {NOTEBOOK_GLOB} in {src}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.student", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", default="student",
                        help="where to write the student notebooks (default: student/)")
    parser.add_argument("--notebooks", default=None,
                        help="folder of the teacher notebooks (default: the course's notebooks/)")
    args = parser.parse_args(argv)
    notebooks = Path(args.notebooks) if args.notebooks else repo_root() / "notebooks"
    if not notebooks.is_dir():
        print(f"error: --notebooks {notebooks}: no such folder", file=sys.stderr)
        return 1
    try:
        make_student_version(notebooks, args.out_dir)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
