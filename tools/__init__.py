"""Course tooling for maintainers and teachers: the static figures, the student export, grading.

Not installed with the course (``pip install .`` ships only ``helpers``): run it from the
repository with ``python3 course.py figures`` / ``python3 course.py student OUT_DIR``, or
``python -m tools.figures`` / ``python -m tools.student`` from the repository root. Tools
may import ``helpers``; ``helpers`` never imports tools.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the course repository: tools/ sits at its top


def repo_root():
    """The course repository, found from this file's place; exits with a message if it has no notebooks/."""
    if not (ROOT / "notebooks").is_dir():
        sys.exit(f"error: {ROOT} has no notebooks/ folder, so it is not the course repository; "
                 f"run the tools from a checkout of the course (python3 course.py figures | student).")
    return ROOT


def add_notebooks_option(parser):
    """The --notebooks option every tool takes: the folder of the teacher notebooks."""
    parser.add_argument("--notebooks", default=None,
                        help="folder of the teacher notebooks (default: the course's notebooks/)")


def notebooks_folder(value):
    """The folder named by --notebooks (default: the course's notebooks/), or None after saying why not."""
    notebooks = Path(value) if value else repo_root() / "notebooks"
    if not notebooks.is_dir():
        print(f"error: --notebooks {notebooks}: no such folder", file=sys.stderr)
        return None
    return notebooks
