"""course.py: `lab` started as a user starts it (address, token, landing page, clean stop), and setup's venv check.

The lab test runs the real launcher against a hostile Jupyter config (ip='0.0.0.0', no token,
another base URL and landing page) and no cached corpora, then stops it with SIGTERM.
"""
import hashlib
import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180  # s for setup's checks plus JupyterLab's start on a loaded 2-core machine
STEP_TIMEOUT = 30  # s for anything else: a kernel to start, course.py and JupyterLab to stop

HOSTILE_CONFIG = """\
c.ServerApp.ip = '0.0.0.0'
c.ServerApp.token = ''
c.IdentityProvider.token = ''
c.ServerApp.base_url = '/elsewhere/'
c.ServerApp.default_url = '/tree'
c.ServerApp.port_retries = 50
"""


def load_course():
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, token=None):
    """(status, Location header) of GET path on 127.0.0.1:port, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Authorization": f"token {token}"} if token else {})
        response = connection.getresponse()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


class Output:
    """Collects a process's output lines in a thread, so that reading it never blocks the test."""

    def __init__(self, stream):
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True).start()

    def wait_for(self, pattern, proc, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match or proc.poll() is not None:
                return match
            time.sleep(0.2)
        return None

    def text(self):
        return "".join(self.lines)


def descendants(pid):
    """The processes below `pid` that are still there (JupyterLab starts short-lived helpers too)."""
    return [p for p in psutil.Process(pid).children(recursive=True) if p.is_running()]


def cmdline(process):
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return ""


def listening(processes):
    found = set()
    for p in processes:
        try:
            found |= {c.laddr for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            pass
    return {(a.ip, a.port) for a in found}


def non_loopback_ipv4():
    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family == socket.AF_INET and not a.address.startswith("127.")]


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGTERM and process sessions are POSIX")
def test_lab_serves_notebooks_on_loopback_with_a_token_and_stops_with_it(tmp_path):
    stamp = ROOT / ".venv" / ".course-installed"
    want = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    # Checked here so that this test never reinstalls the venv itself (`course.py test` sets it up first).
    assert stamp.exists() and want in stamp.read_text().split(), \
        "the venv is not set up for this pyproject.toml: run `python3 course.py setup`"
    config_dir = tmp_path / "jupyter"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.py").write_text(HOSTILE_CONFIG)
    (tmp_path / "no-corpora").mkdir()
    # A python3 kernel of the user's own (another Python, without helpers) and no preference for the
    # venv's kernels, as when the venv's folder belongs to another user: the venv's kernel must win.
    user_kernel = tmp_path / ".local" / "share" / "jupyter" / "kernels" / "python3"
    user_kernel.mkdir(parents=True)
    (user_kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "someone else's Python", "language": "python"}))
    closed = free_port()  # nothing listens there: a download through this "proxy" fails at once, offline
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_") and k.lower() != "no_proxy"}
    env.update(HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(config_dir), DEEP_RNN_DATA=str(tmp_path / "no-corpora"),
               http_proxy=f"http://127.0.0.1:{closed}", https_proxy=f"http://127.0.0.1:{closed}",
               JUPYTER_PREFER_ENV_PATH="0")
    port = free_port()
    course = subprocess.Popen([sys.executable, "course.py", "lab", "--port", str(port), "--no-browser"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Output(course.stdout)
    tree = []
    try:
        url = out.wait_for(r"http://127\.0\.0\.1:(\d+)/lab/tree/notebooks\?token=([0-9a-f]{48})\s",
                           course, START_TIMEOUT)
        assert url, f"no URL printed within {START_TIMEOUT} s:\n{out.text()}"
        assert "packages: already installed" in out.text()
        # No corpora: it says what to run, with the venv's interpreter, and starts anyway.
        assert "The corpora are not here and could not be downloaded. JupyterLab starts anyway" in out.text()
        assert "`.venv/bin/python -m helpers`" in out.text()
        assert int(url[1]) == port
        token = url[2]
        tree = descendants(course.pid)

        # The token works, and nothing works without it; / lands on the notebooks folder.
        assert get(port, "/api/contents/notebooks")[0] == 403
        assert get(port, "/api/contents/notebooks", token)[0] == 200
        status, location = get(port, "/", token)
        assert (status, urlsplit(location).path) == (302, "/lab/tree/notebooks")
        assert get(port, "/lab/tree/notebooks", token)[0] == 200
        # The token is not on any command line (other users could read it in the process list).
        assert not any(token in cmdline(p) for p in tree)

        # JupyterLab listens on 127.0.0.1 only, whatever the config said.
        assert listening(tree) == {("127.0.0.1", port)}
        for address in non_loopback_ipv4():
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(2)
                s.connect((address, port))

        # A kernel, so that the stop is checked to leave no kernel behind either.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)
        connection.request("POST", "/api/kernels", body="{}", headers={"Authorization": f"token {token}"})
        assert connection.getresponse().status == 201
        connection.close()
        deadline = time.monotonic() + STEP_TIMEOUT
        while not any("ipykernel" in cmdline(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
            tree = descendants(course.pid)
        kernels = [p for p in tree if "ipykernel" in cmdline(p)]
        assert kernels, [cmdline(p) for p in tree]
        assert kernels[0].cmdline()[0] == sys.executable, "the kernel is not the venv's Python"
        assert not any(token in str(p.environ()) for p in kernels), "the kernel inherited the token"

        course.send_signal(signal.SIGTERM)
        assert course.wait(STEP_TIMEOUT) == 0
        gone, alive = psutil.wait_procs(tree, timeout=STEP_TIMEOUT)
        assert not alive, f"left running: {[cmdline(p) for p in alive]}"
        assert "stopping JupyterLab" in out.text()
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.1", port))
    finally:
        for p in [*tree, course]:
            try:
                p.kill()
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass
        course.wait(STEP_TIMEOUT)


def test_port_option_is_taken_out_and_checked():
    course = load_course()
    assert course.port_option(["--no-browser", "--port", "9000"]) == (9000, ["--no-browser"])
    assert course.port_option(["--port=9001"]) == (9001, [])
    assert course.port_option(["--ServerApp.x=1"]) == (None, ["--ServerApp.x=1"])
    for bad in (["--port", "abc"], ["--port"], ["--port=0"], ["--port=70000"]):
        with pytest.raises(SystemExit, match=r"--port needs a port number from 1 to 65535, got '"):
            course.port_option(bad)


def test_this_venv_imports_helpers_from_this_checkout():
    course = load_course()
    assert course.helpers_origin(course.PY) == ROOT / "helpers" / "__init__.py"


def fake_venv(folder, helpers_parent):
    """A bare venv (no pip) whose site-packages puts `helpers_parent` on sys.path, as an editable install does."""
    venv.create(folder, with_pip=False, symlinks=os.name != "nt")
    py = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "course_helpers.pth").write_text(f"{helpers_parent}\n")
    return py


@pytest.mark.parametrize("copied", [True, False])
def test_setup_reinstalls_a_venv_copied_from_another_clone(tmp_path, monkeypatch, capsys, copied):
    other_clone = tmp_path / "other-clone"
    (other_clone / "helpers").mkdir(parents=True)
    (other_clone / "helpers" / "__init__.py").write_text("")
    course = load_course()
    folder = tmp_path / ".venv"
    py = fake_venv(folder, other_clone if copied else ROOT)
    stamp = folder / ".course-installed"
    stamp.write_text(hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest() + "\n")
    calls = []
    monkeypatch.setattr(course, "VENV", folder)
    monkeypatch.setattr(course, "PY", py)
    monkeypatch.setattr(course, "STAMP", stamp)
    monkeypatch.setattr(course, "run", lambda *args, **kwargs: calls.append(args) or 0)
    monkeypatch.setattr(course, "corpora", lambda required=True: None)
    course.setup()
    printed = capsys.readouterr().out
    if copied:
        assert course.helpers_origin(py) == other_clone / "helpers" / "__init__.py"
        assert f"{folder} imports helpers from {other_clone / 'helpers' / '__init__.py'}, " \
               "not from this folder: reinstalling" in printed
        assert [a[1:4] for a in calls] == [("-m", "pip", "install")]
    else:
        assert "packages: already installed" in printed
        assert calls == []


def test_tool_paths_are_made_absolute_against_the_callers_folder(tmp_path, monkeypatch):
    course = load_course()
    monkeypatch.chdir(tmp_path)
    assert course.from_callers_folder(["out", "--notebooks", "nb", "--flag"]) == \
        [str(tmp_path / "out"), "--notebooks", str(tmp_path / "nb"), "--flag"]
    assert course.from_callers_folder(["--notebooks=nb", str(tmp_path / "abs")]) == \
        [f"--notebooks={tmp_path / 'nb'}", str(tmp_path / "abs")]
    assert course.from_callers_folder([""]) == [""]  # left for tools.student to refuse by name


@pytest.mark.slow
def test_student_command_writes_a_relative_out_dir_in_the_callers_folder(tmp_path):
    """`python3 course.py student mine` run from another folder writes there, not into the course folder."""
    done = subprocess.run([sys.executable, str(ROOT / "course.py"), "student", "mine"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=START_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(p.name for p in (tmp_path / "mine").glob("[0-9][0-9]_*.ipynb"))
    assert written == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert f"wrote {tmp_path / 'mine' / written[0]}" in done.stdout
    assert not (ROOT / "mine").exists()


def test_execute_runs_the_named_notebooks_only_and_refuses_others(tmp_path, monkeypatch):
    course = load_course()
    calls = []
    monkeypatch.setattr(course, "setup", lambda *a, **k: None)
    monkeypatch.setattr(course, "run", lambda *args, **kwargs: calls.append(args) or 0)
    monkeypatch.chdir(ROOT / "notebooks")
    first = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[0]
    monkeypatch.setattr(sys, "argv", ["course.py", "execute", first.name])  # relative to the caller's folder
    assert course.execute() == 0
    assert calls[-1][-1] == first and first.name not in map(str, calls[-1][:-1])
    monkeypatch.setattr(sys, "argv", ["course.py", "execute", str(tmp_path / "other.ipynb")])
    with pytest.raises(SystemExit, match=r"execute takes the course's notebooks .* got: .*other\.ipynb"):
        course.execute()
    assert len(calls) == 1  # nothing run for a notebook outside notebooks/
