"""Shared pytest configuration for the course's tests: the order they run in.

Browser tests (marker ``browser``, tests/browser/) drive JupyterLab in headless Chromium and
run every notebook there; the notebooks (``--nbval``) train too. In one process the browser
tests go last, so that they start only after everything that trains has finished and never
compete with it for the two CPU cores.

Under pytest-xdist (``python3 course.py test`` runs ``-n 2 --dist loadfile
--no-loadscope-reorder``) the browser tests go FIRST: they are the longest file, so one worker
takes them at once while the other works through the unit tests and then the notebooks, which
go last. ``loadfile`` keeps a file's tests, and so a notebook's cells, in one worker and in order;
``--no-loadscope-reorder`` keeps this order (xdist would otherwise sort files by test count).
"""


def is_browser(item):
    return item.get_closest_marker("browser") is not None


def is_notebook(item):
    return item.path.suffix == ".ipynb"


def pytest_collection_modifyitems(session, config, items):
    """Browser tests last in one process; under xdist browser tests first and notebooks last.
    Each group keeps its collection order."""
    browser = [item for item in items if is_browser(item)]
    notebooks = [item for item in items if is_notebook(item) and not is_browser(item)]
    others = [item for item in items if not is_browser(item) and not is_notebook(item)]
    if hasattr(config, "workerinput"):  # an xdist worker: every worker orders its collection alike
        items[:] = browser + others + notebooks
    else:
        items[:] = others + notebooks + browser
