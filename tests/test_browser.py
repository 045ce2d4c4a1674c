"""Run every course notebook in a real JupyterLab, driven by headless Chromium.

What a learner sees is checked here, not what nbval compares: widgets that render,
figures that show up, no tracebacks, and a depth explorer that reacts to its controls.

Run:
    cd /work/main && .venv/bin/pytest tests/test_browser.py -q -p no:cacheprovider -x

Needs Debian/Ubuntu's Chromium (``apt-get install chromium`` gives /usr/bin/chromium);
Playwright's own browser download is not used. Without Chromium (or without the
``playwright`` package) the tests skip; with ``CI=true`` they fail instead.

How it works
------------
* One JupyterLab for the module, started from this interpreter (``sys.executable -m
  jupyter lab``) on 127.0.0.1, a free port, a random token, ``--no-browser``,
  ``--ServerApp.allow_root=True``. Its root is a temporary workspace that mirrors the repo
  layout: ``notebooks/`` and ``figures/`` are *copied* there, so nothing JupyterLab does
  (autosave, checkpoints) can touch the repo's notebooks. Autosave is off as well (user
  settings in a temporary dir); a warning says so if a notebook changed on disk meanwhile
  (someone else re-executed it). ``import helpers`` still works (the package is installed in the venv) and data
  comes from DEEP_RNN_DATA as usual.
* One Chromium for the module; each notebook in a fresh page (own JupyterLab workspace).
  Edit > Clear Outputs of All Cells, then Run > Run All Cells; wait until no cell shows
  ``[*]`` and the kernel is idle; then fail on: error/traceback outputs, code cells that did
  not run, "Error displaying widget" / ipywidgets error views, widget outputs that never
  rendered, and fewer rendered images than the notebook file has image/png outputs (at
  least one when the file has any). Each notebook's kernel is shut down afterwards (the
  depth explorer's notebook only after the explorer test, which goes on with its page).
* A screenshot of the whole notebook goes to ``screenshots/<notebook-stem>.png`` (repo root,
  gitignored), also when the test fails.

Development hook: ``DEEP_RNN_BROWSER_NOTEBOOKS=<glob>`` (absolute, or relative to the repo
root) replaces ``notebooks/[0-9][0-9]_*.ipynb`` as the notebooks to run; the matched files
are copied into the temporary workspace's ``notebooks/`` folder.

DOM contract for the depth explorer (``helpers.widgets.depth_explorer()``)
--------------------------------------------------------------------------
``test_depth_explorer_reacts_in_the_page`` takes the first notebook whose code contains
``depth_explorer(``, runs it (or goes on with the page and kernel that the run test left open
for it), moves the slider and switches the cell *in the page*, and reads only the page (never
the kernel). It relies on:

1. The explorer is one displayed widget (one cell output) holding all of the below.
2. An ``ipywidgets.IntSlider`` with ``description="layers"`` (value = L, step 1, max > min).
3. A cell selector with ``description="cell"`` offering "RNN", "GRU", "LSTM": an
   ``ipywidgets.ToggleButtons``, ``Dropdown`` or ``RadioButtons``.
4. Shape table: an ``HTML`` widget whose value contains ``<table class="shape-table">``
   with a row whose first cell is exactly ``h_n`` and whose next cell holds the shape, e.g.
   ``(2, 32, 256)``: its first integer is L. (A ``c_n`` row for LSTM is optional; if it is
   there its first integer must be L too.) Other rows are ignored.
5. Parameter table: ``<table class="param-table">`` (HTML widget) with one row per
   recurrent layer whose first cell is ``layer 1``, ``layer 2``, ... and whose last cell is
   that layer's parameter count as an integer (``,`` or ``_`` as thousands separators
   allowed), i.e. ``params_per_layer(cell, ...)[l - 1]``. Other rows (header, ``total``) are
   ignored. Counts are proportional to the gate count (RNN 1, GRU 3, LSTM 4), so switching
   the cell must multiply every layer's count by exactly g_new / g_old.
6. Grid: an element with the class ``depth-grid`` inside the explorer, e.g. an
   ``<svg class="depth-grid">`` in an HTML widget, or any widget given
   ``.add_class("depth-grid")`` (Image/HTML/Output); not empty, and its markup changes when
   L or the cell changes.
7. Everything updates from ``observe`` callbacks (no button press) within 90 s.

The test moves ``layers`` one step with the keyboard (focus the slider handle, ArrowRight, or
ArrowLeft at the maximum; typing into the readout is the fallback), expects L+-1 in the
readout, in ``h_n`` and as the number of ``layer k`` rows, and a changed grid; then picks
another cell (LSTM, or GRU when LSTM is on) and expects the per-layer counts to scale by the
gate ratio and the grid to change. It saves ``screenshots/<stem>-explorer.png``.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "screenshots"
NOTEBOOKS_ENV = "DEEP_RNN_BROWSER_NOTEBOOKS"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
MAX_SCREENSHOT_HEIGHT = 32000  # px; a taller notebook is cut at the bottom (22,800 px verified)

# The machine has 2 shared cores: be generous.
SERVER_START_TIMEOUT_S = 180
PAGE_LOAD_TIMEOUT_S = 180
KERNEL_READY_TIMEOUT_S = 180
RUN_TIMEOUT_S = 600  # Run All Cells to idle; a notebook's budget is 60 s, but the cores are shared
RENDER_SETTLE_TIMEOUT_S = 30
EXPLORER_UPDATE_TIMEOUT_S = 90
POLL_S = 0.5

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}

# Settings written to a temporary user-settings dir for the test server only.
LAB_USER_SETTINGS = {
    # Never write anything back to the opened notebooks.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Attach every cell to the DOM so that every output can be inspected and photographed.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No news/update toasts (the network is closed anyway).
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# --------------------------------------------------------------------------- notebooks
def _notebook_paths() -> list[Path]:
    pattern = os.environ.get(NOTEBOOKS_ENV, "").strip()
    if pattern:
        if not os.path.isabs(pattern):
            pattern = str(REPO / pattern)
        return sorted(Path(p) for p in glob.glob(pattern) if p.endswith(".ipynb"))
    return sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _code_sources(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _uses_depth_explorer(path: Path) -> bool:
    try:
        return any("depth_explorer(" in src for src in _code_sources(path))
    except Exception:  # unreadable notebook: the run test reports it
        return False


def _png_outputs(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


NOTEBOOKS = _notebook_paths()
EXPLORER_NOTEBOOKS = [p for p in NOTEBOOKS if _uses_depth_explorer(p)]


def _workspace_rel(path: Path) -> str:
    """Path of a notebook's copy, relative to the JupyterLab root (the workspace)."""
    return f"notebooks/{path.name}"


# --------------------------------------------------------------------------- skipping
def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        _skip_or_fail(
            "no Chromium found (/usr/bin/chromium, chromium, chromium-browser on PATH); "
            "install it with `apt-get install chromium` (Debian/Ubuntu)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("the playwright package is missing; install the test extras: pip install -e '.[test]'")
    return path


# --------------------------------------------------------------------------- JupyterLab
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Lab:
    """A JupyterLab server started by the test, and its REST API."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.root = tmp / "root"
        self.token = secrets.token_hex(24)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    # REST ---------------------------------------------------------------
    def api(self, method: str, path: str, timeout: float = 30):
        req = urllib.request.Request(
            self.base_url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with _NO_PROXY.open(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def session_for(self, rel: str) -> dict | None:
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == rel:
                return session
        return None

    def shutdown_session(self, rel: str) -> None:
        """Shut down the notebook's kernel (DELETE /api/sessions/<id> stops it)."""
        with contextlib.suppress(Exception):
            session = self.session_for(rel)
            if session:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    # process ------------------------------------------------------------
    def start(self) -> None:
        settings_dir = self.tmp / "user-settings"
        for rel, value in LAB_USER_SETTINGS.items():
            target = settings_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),  # ignore ~/.jupyter
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.allow_root=True",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.proc.returncode} before serving:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                if self.api("GET", "/api/status", timeout=5) is not None:
                    return
            time.sleep(POLL_S)
        raise RuntimeError(f"JupyterLab did not answer /api/status within {SERVER_START_TIMEOUT_S}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        import psutil  # a dependency of ipykernel

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)  # kernels included
        except psutil.Error:
            children = []
        with contextlib.suppress(Exception):
            for kernel in self.api("GET", "/api/kernels", timeout=10):
                with contextlib.suppress(Exception):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the server also shuts its kernels down
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        alive = [c for c in children if c.is_running()]
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _populate_workspace(root: Path) -> None:
    """Mirror the repo layout in the server root: copies of notebooks/ and figures/."""
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    (root / "notebooks").mkdir(parents=True)
    for folder in ("figures",):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    if os.environ.get(NOTEBOOKS_ENV, "").strip():
        for path in NOTEBOOKS:
            shutil.copy2(path, root / "notebooks" / path.name)
    elif (REPO / "notebooks").is_dir():
        shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=ignore, dirs_exist_ok=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium_path):
    lab = Lab(tmp_path_factory.mktemp("jupyterlab"))
    _populate_workspace(lab.root)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def kept_runs(lab, browser):
    """Notebook runs kept open for a later test (the depth explorer); closed at the end."""
    kept: dict[str, NotebookRun] = {}
    yield kept
    for run in kept.values():
        run.close()


# --------------------------------------------------------------------------- page scripts
STATUS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel');
  const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const bar = document.querySelector('#jp-main-statusbar');
  const barText = bar ? bar.innerText : null;
  const prompts = panel ? Array.from(panel.querySelectorAll('.jp-Notebook .jp-CodeCell'))
      .map(c => { const p = c.querySelector('.jp-InputPrompt'); return p ? p.textContent.trim() : ''; }) : [];
  const dialog = document.querySelector('.jp-Dialog');
  return {
    panel: !!panel,
    indicator: indicator ? indicator.getAttribute('data-status') : null,
    statusbarIdle: barText === null ? null : /\\bIdle\\b/.test(barText),
    prompts: prompts,
    dialog: dialog ? dialog.innerText.replace(/\\s+/g, ' ').trim().slice(0, 500) : null,
  };
}"""

REPORT_JS = """() => {
  const nb = document.querySelector('.jp-NotebookPanel .jp-Notebook');
  if (!nb) return null;
  const cells = Array.from(nb.querySelectorAll('.jp-Cell'));
  const cellOf = el => cells.indexOf(el.closest('.jp-Cell')) + 1;
  const text = el => (el.innerText || el.textContent || '').trim();
  const outputs = Array.from(nb.querySelectorAll('.jp-OutputArea-output'));
  const errors = outputs
    .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
                 && /Traceback|Error/.test(text(o)))
    .map(o => ({cell: cellOf(o), text: text(o).slice(-500)}));
  // ipywidgets' renderer is a Lumino Panel without a data-mime-type attribute.
  const views = outputs.filter(o => o.classList.contains('lm-Panel') || !o.hasAttribute('data-mime-type')
      || o.getAttribute('data-mime-type') === 'application/vnd.jupyter.widget-view+json');
  const widgets = {rendered: 0, closed: 0, errors: [], unrendered: []};
  for (const v of views) {
    const t = text(v);
    if (v.querySelector('.jupyter-widgets-error-widget, .widget-error') || t.includes('Error displaying widget')) {
      widgets.errors.push({cell: cellOf(v), text: t.slice(0, 300) || '(ipywidgets error view)'});
    } else if (v.classList.contains('lm-mod-hidden')) {
      widgets.closed += 1;  // widget.close() hides its view: fine
    } else if (v.querySelector('.jupyter-widgets')) {
      widgets.rendered += 1;
    } else {
      widgets.unrendered.push({cell: cellOf(v), text: t.slice(0, 200)});
    }
  }
  const stray = Array.from(nb.querySelectorAll('.jp-Cell-outputArea'))
    .filter(a => text(a).includes('Error displaying widget')).map(cellOf);
  const imgs = Array.from(nb.querySelectorAll('.jp-RenderedImage img'));
  const codeCells = cells.filter(c => c.classList.contains('jp-CodeCell'));
  return {
    cells: cells.length,
    prompts: codeCells.map(c => ({cell: cellOf(c),
        prompt: (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim()})),
    errors: errors,
    widgets: widgets,
    strayWidgetErrors: stray,
    images: {total: imgs.length, rendered: imgs.filter(i => i.complete && i.naturalWidth > 0).length},
  };
}"""

SCROLL_JS = """() => {
  const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  if (!outer) return null;
  outer.scrollTop = 0;
  const cells = outer.querySelectorAll('.jp-Cell');
  const last = cells.length ? cells[cells.length - 1] : null;
  const content = last ? last.getBoundingClientRect().bottom - outer.getBoundingClientRect().top : outer.scrollHeight;
  return {content: content, clientHeight: outer.clientHeight, innerHeight: window.innerHeight};
}"""


class RunFailure(Exception):
    """The notebook could not be opened, started or run to completion."""


class NotebookRun:
    """One notebook opened in its own page and run top to bottom."""

    def __init__(self, browser, lab: Lab, source: Path):
        self.lab = lab
        self.source = source
        self.rel = _workspace_rel(source)
        self.page = browser.new_page(viewport=dict(VIEWPORT))
        self.page.set_default_timeout(60_000)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)[:500]))
        self.seconds: dict[str, float] = {}

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text[:500])

    # steps ---------------------------------------------------------------
    def open(self) -> None:
        t0 = time.monotonic()
        workspace = "browser-" + re.sub(r"[^A-Za-z0-9-]", "-", self.source.stem) + "-" + secrets.token_hex(3)
        url = (
            f"{self.lab.base_url}/lab/workspaces/{workspace}/tree/"
            f"{urllib.parse.quote(self.rel)}?token={self.lab.token}"
        )
        self.page.goto(url, wait_until="domcontentloaded", timeout=PAGE_LOAD_TIMEOUT_S * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=PAGE_LOAD_TIMEOUT_S * 1000)
        with contextlib.suppress(Exception):  # collapse the file browser: wider notebook, better screenshots
            current_tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
            if current_tab.count():
                current_tab.first.click(timeout=5_000)
        self.seconds["open"] = time.monotonic() - t0

    def status(self) -> dict:
        return self.page.evaluate(STATUS_JS)

    def kernel_state(self) -> str | None:
        session = self.lab.session_for(self.rel)
        return session["kernel"].get("execution_state") if session else None

    def wait_kernel_ready(self) -> None:
        """Idle in the page (toolbar + status bar) and in the server, three polls in a row."""
        t0 = time.monotonic()
        deadline = t0 + KERNEL_READY_TIMEOUT_S
        stable, status, state = 0, {}, None
        while time.monotonic() < deadline:
            status = self.status()
            if status["dialog"]:  # e.g. a kernel picker: take the default
                with contextlib.suppress(Exception):
                    self.page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=5_000)
                stable = 0
                time.sleep(POLL_S)
                continue
            state = self.kernel_state()
            ready = (
                status["indicator"] == "idle"
                and status["statusbarIdle"] is not False
                and state == "idle"
            )
            stable = stable + 1 if ready else 0
            if stable >= 3:
                self.seconds["kernel"] = time.monotonic() - t0
                return
            time.sleep(POLL_S)
        raise RunFailure(
            f"kernel not ready after {KERNEL_READY_TIMEOUT_S}s "
            f"(toolbar status {status.get('indicator')!r}, server state {state!r})"
        )

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()

    def run_all(self) -> None:
        """Clear all outputs, Run All Cells, wait until nothing is queued and the kernel is idle."""
        t0 = time.monotonic()
        self.menu("Edit", "Clear Outputs of All Cells")
        if not self.status()["prompts"]:
            return
        for attempt in range(3):
            self.menu("Run", "Run All Cells")
            self._wait_settled(t0)
            if any(re.fullmatch(r"\[\d+\]:?", p) for p in self.status()["prompts"]):
                self.seconds["run"] = time.monotonic() - t0
                return
            # Nothing ran: the request was lost (e.g. the kernel connection was still
            # being set up). Make sure the kernel is ready and ask again.
            self.wait_kernel_ready()
        raise RunFailure("Run > Run All Cells ran no cell (3 attempts)")

    def _wait_settled(self, t0: float) -> None:
        deadline = t0 + RUN_TIMEOUT_S
        stable, status, state = 0, {}, None
        while time.monotonic() < deadline:
            status = self.status()
            if status["dialog"]:
                raise RunFailure(f"JupyterLab showed a dialog while running: {status['dialog']}")
            state = self.kernel_state()
            if state == "dead":
                raise RunFailure("the kernel died while running")
            busy = any("*" in p for p in status["prompts"])
            settled = not busy and state == "idle" and status["indicator"] in ("idle", None)
            stable = stable + 1 if settled else 0
            if stable >= 3:
                return
            time.sleep(POLL_S)
        done = sum(1 for p in status.get("prompts", []) if re.fullmatch(r"\[\d+\]:?", p))
        raise RunFailure(
            f"not finished after {RUN_TIMEOUT_S}s: {done}/{len(status.get('prompts', []))} code cells done, "
            f"kernel {state!r}"
        )

    def report(self) -> dict:
        """Collect the page's outputs once widgets and images have had time to render."""
        deadline = time.monotonic() + RENDER_SETTLE_TIMEOUT_S
        while True:
            report = self.page.evaluate(REPORT_JS)
            images, widgets = report["images"], report["widgets"]
            if (images["rendered"] == images["total"] and not widgets["unrendered"]) or time.monotonic() > deadline:
                return report
            time.sleep(POLL_S)

    def screenshot(self, path: Path) -> Path | None:
        """Whole notebook: make the viewport as tall as the notebook, then photograph it."""
        with contextlib.suppress(Exception):
            path.parent.mkdir(parents=True, exist_ok=True)
            dims = self.page.evaluate(SCROLL_JS)
            if dims:
                height = dims["innerHeight"] - dims["clientHeight"] + dims["content"] + 40
                height = max(VIEWPORT["height"], min(height, MAX_SCREENSHOT_HEIGHT))
                self.page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height)})
                self.page.wait_for_timeout(1000)  # relayout, images
                self.page.evaluate(SCROLL_JS)
            self.page.screenshot(path=str(path), timeout=120_000)
            return path
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.page.close()
        self.lab.shutdown_session(self.rel)


def _problems(report: dict, source: Path) -> list[str]:
    problems = []
    sources = _code_sources(source)
    prompts = report["prompts"]
    if len(prompts) != len(sources):
        problems.append(f"the page shows {len(prompts)} code cells, the file has {len(sources)}")
    not_run = [
        p["cell"]
        for p, src in zip(prompts, sources)
        if src.strip() and not re.fullmatch(r"\[\d+\]:?", p["prompt"])
    ]
    if not_run:
        shown = ", ".join(map(str, not_run[:8])) + (", ..." if len(not_run) > 8 else "")
        problems.append(f"{len(not_run)} code cell(s) did not run (cell numbers, 1-based): {shown}")
    for err in report["errors"]:
        problems.append(f"error output in cell {err['cell']}: ...{err['text']}")
    widgets = report["widgets"]
    for err in widgets["errors"]:
        problems.append(f"widget failed to display in cell {err['cell']}: {err['text']}")
    for cell in report["strayWidgetErrors"]:
        if not any(err["cell"] == cell for err in widgets["errors"]):
            problems.append(f"'Error displaying widget' in the outputs of cell {cell}")
    for view in widgets["unrendered"]:
        problems.append(
            f"widget output in cell {view['cell']} has no rendered view "
            f"({widgets['rendered']} rendered, {len(widgets['unrendered'])} not)"
        )
    expected = _png_outputs(source)
    images = report["images"]
    if images["rendered"] < expected or (expected and not images["rendered"]):
        problems.append(
            f"{images['rendered']} rendered images ({images['total']} <img> in total), "
            f"but the notebook file has {expected} image/png outputs"
        )
    return problems


def _run_notebook(browser, lab: Lab, source: Path) -> tuple[NotebookRun, list[str]]:
    """Open and run one notebook; return the run (page still open) and its problems."""
    run = NotebookRun(browser, lab, source)
    problems: list[str] = []
    try:
        run.open()
        run.wait_kernel_ready()
        run.run_all()
        problems = _problems(run.report(), source)
    except RunFailure as exc:
        problems = [str(exc)]
    except Exception as exc:  # playwright timeouts and friends: report with the screenshot
        problems = [f"{type(exc).__name__}: {exc}"]
    return run, problems


def _failure_message(run: NotebookRun, problems: list[str], shot: Path | None) -> str:
    lines = [f"{run.source.name} in JupyterLab: {len(problems)} problem(s)"]
    lines += [f"  - {p}" for p in problems]
    lines.append(f"screenshot: {shot or '(none)'}")
    if run.page_errors:
        lines.append("uncaught page errors: " + " | ".join(run.page_errors[:5]))
    if run.console_errors:
        lines.append("browser console errors: " + " | ".join(e.splitlines()[0] for e in run.console_errors[:5]))
    return "\n".join(lines)


def _params(paths: list[Path], none_reason: str):
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=none_reason), id="none")]
    return [pytest.param(p, id=p.stem) for p in paths]


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("source", _params(NOTEBOOKS, "no notebooks/[0-9][0-9]_*.ipynb yet"))
def test_notebook_runs_cleanly_in_jupyterlab(source: Path, lab, browser, kept_runs):
    digest = _sha256(source)
    run, problems = _run_notebook(browser, lab, source)
    keep = False
    try:
        shot = run.screenshot(SCREENSHOTS / f"{source.stem}.png")
        print(f"{source.name}: timings {({k: round(v, 1) for k, v in run.seconds.items()})}, screenshot {shot}")
        keep = not problems and source in EXPLORER_NOTEBOOKS[:1]
        if keep:
            kept_runs[str(source)] = run  # the explorer test goes on with this page and kernel
    finally:
        if not keep:
            run.close()
    if _sha256(source) != digest:  # JupyterLab only ever sees a copy, so this means a concurrent edit
        warnings.warn(f"{source} changed on disk while its browser test ran (the test ran the earlier version)")
    if problems:
        pytest.fail(_failure_message(run, problems, shot), pytrace=False)


EXPLORER_JS = """(root) => {
  const txt = e => (e.innerText || e.textContent || '').replace(/\\s+/g, ' ').trim();
  const labelled = (sel, name) => Array.from(root.querySelectorAll(sel)).find(w => {
    const l = w.querySelector(':scope > .widget-label'); return l && txt(l) === name; });
  const hash = s => { let h = 2166136261; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); } return (h >>> 0).toString(16) + ':' + s.length; };
  const rows = sel => { const t = root.querySelector(sel); return t ? Array.from(t.querySelectorAll('tr'))
      .map(tr => Array.from(tr.querySelectorAll('td, th')).map(txt)).filter(r => r.length >= 2) : null; };
  const shape = rows('table.shape-table');
  const dims = name => { const r = shape && shape.find(r => r[0] === name); return r ? (r.slice(1).join(' ').match(/\\d+/g) || []).map(Number) : null; };
  const params = rows('table.param-table');
  const layers = params ? params.filter(r => /^layer\\s*\\d+$/i.test(r[0]))
      .map(r => parseInt(r[r.length - 1].replace(/[,_\\s]/g, ''), 10)) : null;
  const slider = labelled('.widget-slider', 'layers');
  const handle = slider && slider.querySelector('.noUi-handle');
  const readout = slider && slider.querySelector('.widget-readout');
  let cell = null, cellKind = null;
  const dd = labelled('.widget-dropdown', 'cell');
  const tb = labelled('.widget-toggle-buttons', 'cell');
  const rb = labelled('.widget-radio', 'cell');
  if (dd) { cellKind = 'dropdown'; const s = dd.querySelector('select'); cell = s ? s.options[s.selectedIndex].text.trim() : null; }
  else if (tb) { cellKind = 'toggle'; const b = tb.querySelector('button.mod-active'); cell = b ? txt(b) : null; }
  else if (rb) { cellKind = 'radio'; const i = rb.querySelector('input:checked'); cell = i ? txt(i.closest('label')) : null; }
  const grid = root.querySelector('.depth-grid');
  return {
    slider: slider ? {value: readout ? parseInt(txt(readout), 10) : null,
                      min: handle ? parseFloat(handle.getAttribute('aria-valuemin')) : null,
                      max: handle ? parseFloat(handle.getAttribute('aria-valuemax')) : null} : null,
    cell: cell, cellKind: cellKind,
    h_n: dims('h_n'), c_n: dims('c_n'), layers: layers,
    grid: grid ? {sig: hash(grid.innerHTML), empty: !grid.querySelector('img, svg, canvas, table') && !txt(grid)} : null,
  };
}"""


def _explorer_fail(source: Path, message: str) -> None:
    pytest.fail(
        f"{source.name}, depth explorer (DOM contract: top of tests/test_browser.py):\n{message}", pytrace=False
    )


def _explorer_root(page):
    layers_slider = page.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(r"^\s*layers\s*$"))
    )
    return (
        page.locator(".jp-Notebook .jp-OutputArea-output")
        .filter(has=layers_slider)
        .filter(has=page.locator("table.shape-table"))
        .first
    )


def _wait_for(read, ok, timeout_s: float):
    """Poll read() until ok(state); return (success, last state)."""
    deadline = time.monotonic() + timeout_s
    state = read()
    while not ok(state) and time.monotonic() < deadline:
        time.sleep(POLL_S)
        state = read()
    return ok(state), state


def _contract_problems(state: dict, where: str) -> list[str]:
    problems = []
    if not state["slider"] or state["slider"]["value"] is None:
        problems.append(f"{where}: no IntSlider with description 'layers' (and a readout)")
    if state["cell"] not in GATES:
        problems.append(f"{where}: no cell selector with description 'cell' showing RNN/GRU/LSTM (got {state['cell']!r})")
    if not state["h_n"]:
        problems.append(f"{where}: no <table class=\"shape-table\"> row 'h_n' with a shape")
    if not state["layers"] or any(n != n for n in state["layers"]):  # NaN check
        problems.append(f"{where}: no <table class=\"param-table\"> rows 'layer 1'.. with integer counts")
    if not state["grid"] or state["grid"]["empty"]:
        problems.append(f"{where}: no non-empty element with class 'depth-grid'")
    if not problems:
        L = state["slider"]["value"]
        if state["h_n"][0] != L or len(state["layers"]) != L:
            problems.append(
                f"{where}: slider says L={L}, but h_n is {tuple(state['h_n'])} and the parameter "
                f"table has {len(state['layers'])} layer rows"
            )
    return problems


@pytest.mark.parametrize(
    "source", _params(EXPLORER_NOTEBOOKS[:1], "no notebook calls depth_explorer( yet")
)
def test_depth_explorer_reacts_in_the_page(source: Path, lab, browser, kept_runs):
    run = kept_runs.pop(str(source), None)
    if run is None:  # the run test did not leave it open (deselected, or it failed)
        run, problems = _run_notebook(browser, lab, source)
        if problems:
            shot = run.screenshot(SCREENSHOTS / f"{source.stem}.png")
            run.close()
            pytest.fail(_failure_message(run, problems, shot), pytrace=False)
    page = run.page
    try:
        root = _explorer_root(page)
        try:
            root.wait_for(state="attached", timeout=30_000)
        except Exception:
            _explorer_fail(source, "no widget output with a 'layers' slider and a table.shape-table")
        root.scroll_into_view_if_needed()
        read = lambda: root.evaluate(EXPLORER_JS)  # noqa: E731
        before = read()
        problems = _contract_problems(before, "initial state")
        if problems:
            _explorer_fail(source, "\n".join(problems))

        # 1. Move the layers slider by one step with the keyboard.
        L0, smax = before["slider"]["value"], before["slider"]["max"]
        key, L1 = ("ArrowRight", L0 + 1) if smax is None or L0 < smax else ("ArrowLeft", L0 - 1)
        slider = root.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text=re.compile(r"^\s*layers\s*$"))
        ).first
        slider.locator(".noUi-handle").focus()
        page.keyboard.press(key)
        moved, _ = _wait_for(read, lambda s: s["slider"]["value"] == L1, 10)
        if not moved:  # fall back to typing into the readout
            readout = slider.locator(".widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(str(L1))
            page.keyboard.press("Enter")
        ok, after_layers = _wait_for(
            read,
            lambda s: s["slider"]["value"] == L1
            and s["h_n"] and s["h_n"][0] == L1
            and s["layers"] is not None and len(s["layers"]) == L1
            and s["grid"] and s["grid"]["sig"] != before["grid"]["sig"],
            EXPLORER_UPDATE_TIMEOUT_S,
        )
        if not ok:
            _explorer_fail(
                source,
                f"after moving 'layers' {L0} -> {L1} (key {key}) the page did not show L={L1} in the "
                f"slider, h_n and the parameter table, with a changed grid, within "
                f"{EXPLORER_UPDATE_TIMEOUT_S}s:\n  before: {before}\n  after:  {after_layers}",
            )

        # 2. Switch the cell type.
        c0 = after_layers["cell"]
        c1 = "LSTM" if c0 != "LSTM" else "GRU"
        selector_kind = {"dropdown": ".widget-dropdown", "toggle": ".widget-toggle-buttons", "radio": ".widget-radio"}
        selector = root.locator(selector_kind[after_layers["cellKind"]]).filter(
            has=page.locator(".widget-label", has_text=re.compile(r"^\s*cell\s*$"))
        ).first
        if after_layers["cellKind"] == "dropdown":
            selector.locator("select").select_option(label=c1)
        elif after_layers["cellKind"] == "toggle":
            selector.locator("button", has_text=re.compile(rf"^\s*{c1}\s*$")).click()
        else:
            selector.locator("label", has_text=re.compile(rf"^\s*{c1}\s*$")).click()
        g0, g1 = GATES[c0], GATES[c1]
        old = after_layers["layers"]
        ok, after_cell = _wait_for(
            read,
            lambda s: s["cell"] == c1
            and s["layers"] is not None and len(s["layers"]) == L1
            and all(n * g0 == o * g1 for n, o in zip(s["layers"], old))
            and s["grid"] and s["grid"]["sig"] != after_layers["grid"]["sig"],
            EXPLORER_UPDATE_TIMEOUT_S,
        )
        if not ok:
            _explorer_fail(
                source,
                f"after switching the cell {c0} -> {c1} the page did not update within "
                f"{EXPLORER_UPDATE_TIMEOUT_S}s: every per-layer parameter count should scale by "
                f"{g1}/{g0} and the grid should change:\n  before: {after_layers}\n  after:  {after_cell}",
            )
        if not after_cell["h_n"] or after_cell["h_n"][0] != L1:
            _explorer_fail(source, f"after switching the cell, h_n lost L={L1}: {after_cell['h_n']}")
        if after_cell["c_n"] is not None and after_cell["c_n"][:1] != [L1]:
            _explorer_fail(source, f"c_n should start with L={L1}: {after_cell['c_n']}")
    finally:
        with contextlib.suppress(Exception):  # the explorer as the test left it, also on failure
            SCREENSHOTS.mkdir(exist_ok=True)
            _explorer_root(page).screenshot(path=str(SCREENSHOTS / f"{source.stem}-explorer.png"), timeout=30_000)
        run.close()
