"""The browser tests' JupyterLab: a server started for the tests, its REST API, and the notebooks it shows.

The server runs from this interpreter (``sys.executable -m jupyter lab``) on 127.0.0.1, a free
port, a random token, ``--no-browser``. Its root is a temporary workspace whose ``notebooks/``
holds the *student versions* of the course's notebooks, written by the course's own export
(``tools.student.make_student_version``, figures copied beside them), so nothing JupyterLab does
(autosave, checkpoints) can touch the repo's notebooks; autosave is off as well (user settings
in a temporary folder). The teacher's notebooks are run by strict nbval. The kernels train on
two minibatches per pass (``tests.smoke.smoke_env()``: the test checks what the page shows, not
what is learnt), and an assert that does not hold prints a note instead of stopping Run All
(``smoke_asserts.py``). ``import helpers`` works because the package is installed in the venv;
data comes from DEEP_RNN_DATA as usual.
The server reads its configuration from a folder of its own (JUPYTER_CONFIG_DIR), never the
user's; there nbgrader's JupyterLab and server extensions are turned off (a student's Lab
without nbgrader has none of them).

By default the student versions of notebooks 01, 02 and 04 run: between them they hold every kind of
output and interaction the course has (exercise checks and their fallbacks, tqdm bars, live plots,
figures, the ipywidgets explorer) except 06's HTML unit traces; strict nbval runs all six.
``DEEP_RNN_BROWSER_NOTEBOOKS=<glob>`` (absolute, or relative to the repo root) replaces the
default, e.g. ``'notebooks/[0-9][0-9]_*.ipynb'`` for all.
"""
from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec

from tests.smoke import smoke_env
from tools.student import make_student_version

REPO = Path(__file__).resolve().parents[2]
SMOKE_ASSERTS = Path(__file__).resolve().parent / "smoke_asserts.py"
SCREENSHOTS = REPO / "screenshots"
NOTEBOOKS_ENV = "DEEP_RNN_BROWSER_NOTEBOOKS"
DEFAULT_NOTEBOOKS = ("01", "02", "04")  # see the docstring
SERVER_START_TIMEOUT_S = 180  # the machine has 2 shared cores: be generous
POLL_S = 0.5

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

# Extensions the test server does not load: nbgrader's (installed with the test extra, for the
# grading test) add an Nbgrader menu and server handlers that a student's Lab does not have.
DISABLED_LAB_EXTENSIONS = ["@jupyter/nbgrader"]
DISABLED_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
]


# --------------------------------------------------------------------------- notebooks
def notebook_paths() -> list[Path]:
    pattern = os.environ.get(NOTEBOOKS_ENV, "").strip()
    if pattern:
        if not os.path.isabs(pattern):
            pattern = str(REPO / pattern)
        return sorted(Path(p) for p in glob.glob(pattern) if p.endswith(".ipynb"))
    return sorted(p for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] in DEFAULT_NOTEBOOKS)


def code_sources(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def uses_depth_explorer(path: Path) -> bool:
    try:
        return any("depth_explorer(" in src for src in code_sources(path))
    except Exception:  # unreadable notebook: the run test reports it
        return False


def png_outputs(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


NOTEBOOKS = notebook_paths()
EXPLORER_NOTEBOOKS = [p for p in NOTEBOOKS if uses_depth_explorer(p)]


def workspace_rel(path: Path) -> str:
    """Path of a notebook's student version, relative to the JupyterLab root (the workspace)."""
    return f"notebooks/{path.name}"


def params(paths: list[Path], none_reason: str):
    """One test per notebook, named by its stem; a skipped one when there is none."""
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=none_reason), id="none")]
    return [pytest.param(p, id=p.stem) for p in paths]


# --------------------------------------------------------------------------- skipping
def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


# --------------------------------------------------------------------------- JupyterLab
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Lab:
    """A JupyterLab server started by the test, and its REST API."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.root = tmp / "root"
        self.course = tmp / "course"  # copies the student versions are exported from
        self.token = secrets.token_hex(24)
        self.port = free_port()
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
    def student_version(self, source: Path) -> Path:
        """The student version of `source` this server shows."""
        return self.root / workspace_rel(source)

    def exported_from(self, source: Path) -> Path:
        """The copy of `source` its student version was made from."""
        return self.course / "notebooks" / source.name

    def start(self) -> None:
        settings_dir = self.tmp / "user-settings"
        for rel, value in LAB_USER_SETTINGS.items():
            target = settings_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(value))
        config_dir = self.tmp / "config"
        write_config(config_dir)
        env = {**os.environ, **smoke_env()}  # kernels train on two minibatches per pass: see the docstring
        kernels = write_kernelspec(self.tmp / "jupyter-path")
        env.update(
            JUPYTER_CONFIG_DIR=str(config_dir),  # ignore ~/.jupyter
            # The notebooks' kernel (python3) is this interpreter, whatever python3 kernelspecs
            # the user or the system have: JUPYTER_PATH comes first in Jupyter's search path.
            JUPYTER_PATH=os.pathsep.join(filter(None, [str(kernels), os.environ.get("JUPYTER_PATH")])),
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
        raise RuntimeError(
            f"JupyterLab did not answer /api/status within {SERVER_START_TIMEOUT_S}s:\n{self.log_tail()}")

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


def write_config(config_dir: Path) -> None:
    """The server's own configuration folder: the disabled extensions (what
    `jupyter labextension disable` and `jupyter server extension disable` would write there)."""
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in DISABLED_LAB_EXTENSIONS}}))
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {name: False for name in DISABLED_SERVER_EXTENSIONS}}}))


def write_kernelspec(folder: Path) -> Path:
    """A data folder whose python3 kernel runs this interpreter (the venv, where helpers is installed),
    turns the asserts that cannot hold with training cut into notes (smoke_asserts.py), and keeps no
    history (the smoke profile's folder is in the repo)."""
    write_kernel_spec(folder / "kernels" / "python3",  # ipykernel's own: argv[0] is sys.executable
                      extra_arguments=[f"--IPKernelApp.exec_files={SMOKE_ASSERTS}", "--HistoryManager.enabled=False"])
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def populate_workspace(lab: Lab) -> None:
    """The server root's notebooks/: the student versions of NOTEBOOKS, with their figures.

    The export reads a course folder (notebooks/ beside figures/): `lab.course` is one, made of
    copies of NOTEBOOKS (notebooks/, or the development hook's glob) and of figures/.
    """
    (lab.course / "notebooks").mkdir(parents=True)
    for path in NOTEBOOKS:
        shutil.copy2(path, lab.exported_from(path))
    if (REPO / "figures").is_dir():
        shutil.copytree(REPO / "figures", lab.course / "figures")
    with contextlib.redirect_stdout(io.StringIO()):  # one line per file written
        make_student_version(lab.course / "notebooks", lab.root / "notebooks")

