"""Shared pytest configuration for the course's tests: what `course.py test --quick` leaves out,
and the order the tests run in.

Markers (declared in pyproject.toml):

* ``browser``: drives JupyterLab in headless Chromium (tests/browser/).
* ``slow``: seconds of work, or another process: trains a model, starts a Jupyter kernel or
  server or nbgrader, or runs a Python that imports torch.

``python3 course.py test --quick`` runs ``pytest -m "not slow and not browser"`` without
``--nbval``, so no notebook either: the unit tests, the edit loop. Mark a new test ``slow``
when it does any of the above.

Order. In one process the browser tests go last, so that they start only after everything that
trains has finished. Under pytest-xdist (``python3 course.py test`` runs ``-n 2 --dist loadfile
--no-loadscope-reorder``) each file is one unit of work, handed to whichever worker is free in
this order, longest first so that the two workers finish together: the browser tests, the files
with a slow test, the notebooks (longest first, by the run time recorded in their cells'
metadata when they were last executed), then the other files. ``loadfile`` keeps a file's
tests, and so a notebook's cells, in one worker and in order; ``--no-loadscope-reorder`` keeps
this order (xdist would otherwise sort files by test count).
"""
import datetime
import functools
import json


def is_browser(item):
    return item.get_closest_marker("browser") is not None


def is_notebook(item):
    return item.path.suffix == ".ipynb"


@functools.cache
def recorded_seconds(path):
    """The run time of a notebook's cells as recorded in their metadata (nbclient's timing), 0 if none."""
    def seconds(timing):
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if not (start and end):
            return 0.0
        return (datetime.datetime.fromisoformat(end) - datetime.datetime.fromisoformat(start)).total_seconds()
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return sum(seconds(cell.get("metadata", {}).get("execution", {})) for cell in cells)
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def pytest_collection_modifyitems(session, config, items):
    """Browser tests last in one process; under xdist the order of the docstring. Each group keeps
    its collection order (the notebooks: longest first)."""
    browser = [item for item in items if is_browser(item)]
    notebooks = sorted((item for item in items if is_notebook(item) and not is_browser(item)),
                       key=lambda item: -recorded_seconds(item.path))  # stable: a notebook's cells stay in order
    others = [item for item in items if not is_browser(item) and not is_notebook(item)]
    if hasattr(config, "workerinput"):  # an xdist worker: every worker orders its collection alike
        slow_files = {item.path for item in others if item.get_closest_marker("slow")}
        slow = [item for item in others if item.path in slow_files]
        quick = [item for item in others if item.path not in slow_files]
        items[:] = browser + slow + notebooks + quick
    else:
        items[:] = others + notebooks + browser
