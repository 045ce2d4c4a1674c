"""Fixtures of the browser tests: Chromium, one JupyterLab (showing the student versions) and one
browser for the package, and the notebook runs the run test keeps open for the explorer test."""
from __future__ import annotations

import contextlib
import importlib

import pytest

from .runner import CHROMIUM_ARGS, NotebookRun
from .server import Lab, find_chromium, populate_workspace, skip_or_fail


@pytest.fixture(scope="package")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        skip_or_fail(
            "no Chromium found (/usr/bin/chromium, chromium, chromium-browser on PATH); "
            "install it with `apt-get install chromium` (Debian/Ubuntu)"
        )
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        skip_or_fail("the playwright package is missing; install the test extras: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="package")
def lab(tmp_path_factory, chromium_path):
    lab = Lab(tmp_path_factory.mktemp("jupyterlab"))
    populate_workspace(lab)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="package")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    try:
        yield browser
    finally:
        with contextlib.suppress(Exception):
            browser.close()
        pw.stop()


@pytest.fixture(scope="package")
def kept_runs(lab, browser):
    """Notebook runs kept open for a later test (the depth explorer); closed at the end."""
    kept: dict[str, NotebookRun] = {}
    yield kept
    for run in kept.values():
        run.close()
