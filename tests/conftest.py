"""Shared pytest configuration for the course's tests.

Browser tests (marker ``browser``, tests/browser/) drive JupyterLab in headless
Chromium and re-run every notebook. They are moved to the end of the run so that, in one
``pytest --nbval`` session, they start only after everything that trains has finished and
never compete with it for the two CPU cores.
"""


def pytest_collection_modifyitems(session, config, items):
    """Move items marked ``browser`` to the end, keeping the relative order of both groups."""
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    if browser:
        others = [item for item in items if item.get_closest_marker("browser") is None]
        items[:] = others + browser
