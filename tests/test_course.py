"""course.py: its command line (argparse: help, errors, what passes to JupyterLab, pytest and the tools), `lab`
started as a user starts it (address, token, landing page, clean stop) and its hostile cases (a port in use
or privileged, two at once, a read-only folder, no writable home), and setup's venv check.

The lab test runs the real launcher against a hostile Jupyter config (ip='0.0.0.0', no token,
another base URL and landing page) and no cached corpora, then stops it with SIGTERM.
"""
import errno
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
    want = load_course().packages_hash()
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


def test_help_lists_every_command_on_one_line(capsys):
    course = load_course()
    with pytest.raises(SystemExit) as stopped:
        course.main(["--help"])
    assert stopped.value.code == 0
    printed = capsys.readouterr().out
    for name, (summary, *_) in course.COMMANDS.items():
        assert re.search(rf"^    {name}\s+{re.escape(summary)}$|^    {name}\n\s+{re.escape(summary)}$",
                         printed, re.MULTILINE), name


@pytest.mark.parametrize("argv, phrase", [
    (["execute", "--bogus"], "unrecognized arguments: --bogus"),
    (["setup", "extra"], "unrecognized arguments: extra"),
    (["nosuch"], "invalid choice: 'nosuch'"),
    (["lab", "--port", "abc"], "argument --port: needs a port number from 1 to 65535, got 'abc'"),
    (["lab", "--port"], "argument --port: expected one argument"),
    (["lab", "--port=0"], "argument --port: needs a port number from 1 to 65535, got '0'"),
    (["lab", "--port=70000"], "argument --port: needs a port number from 1 to 65535, got '70000'"),
])
def test_a_bad_option_is_an_argparse_error_naming_it(argv, phrase, capsys, monkeypatch):
    course = load_course()
    monkeypatch.setattr(course, "setup", lambda *a, **k: pytest.fail("set up despite a bad option"))
    with pytest.raises(SystemExit) as stopped:
        course.main(argv)
    assert stopped.value.code == 2
    assert phrase in capsys.readouterr().err


class Calls(list):
    """The commands course.py ran (each a list of strings); `where` holds the folder of each."""

    def __init__(self):
        super().__init__()
        self.where = []

    def __call__(self, *args, cwd=ROOT, **kwargs):
        self.append([str(a) for a in args])
        self.where.append(Path(cwd))
        return 0


def recorded(course, monkeypatch):
    """course.py with setup skipped and every command it would run recorded (and succeeding)."""
    monkeypatch.setattr(course, "setup", lambda *a, **k: None)
    monkeypatch.setattr(course, "run", Calls())
    return course.run


def test_test_passes_unknown_options_to_pytest_after_ruff(monkeypatch):
    course = load_course()
    calls = recorded(course, monkeypatch)
    assert course.main(["test", "-n", "0", "-k", "not slow", "tests/test_models.py"]) == 0
    ruff, pytest_run = calls
    assert ruff[1:] == ["-m", "ruff", "check", "."]
    assert pytest_run[1:4] == ["-m", "pytest", "--nbval"]
    assert pytest_run[-6:] == ["--no-loadscope-reorder", "-n", "0", "-k", "not slow", "tests/test_models.py"]


def test_test_quick_runs_the_unit_tests_without_notebooks(monkeypatch):
    course = load_course()
    calls = recorded(course, monkeypatch)
    assert course.main(["test", "--quick", "-x"]) == 0
    pytest_run = calls[-1]
    assert "--nbval" not in pytest_run
    assert pytest_run[pytest_run.index("-m", 3) + 1] == "not slow and not browser"
    assert pytest_run[-1] == "-x"


def test_test_stops_when_ruff_fails(monkeypatch):
    course = load_course()
    calls = []
    monkeypatch.setattr(course, "setup", lambda *a, **k: None)
    monkeypatch.setattr(course, "run", lambda *args, **kwargs: calls.append(args) or 1)
    assert course.main(["test", "--quick"]) == 1
    assert len(calls) == 1


@pytest.mark.parametrize("argv, tail, in_callers_folder", [
    (["grade", "subs", "--out", "scores.csv", "--timeout", "90"],
     ["tools.grading", "grade", "subs", "--out", "scores.csv", "--timeout", "90"], True),
    (["nbgrader", "course", "--force"], ["tools.grading", "nbgrader", "course", "--force"], True),
    (["student", "mine", "--help"], ["tools.student", "mine", "--help"], True),
    (["stamp", "--check"], ["tools.grading", "stamp", "--check"], True),
    (["reproduce", "ladder", "--jobs", "2"], ["-m", "tools.reference", "ladder", "--jobs", "2"], False),
    (["reproduce"], ["-m", "tools.reference"], False),
    (["figures", "--only", "x"], ["-m", "tools.figures", "--only", "x"], False),
    (["bench", "--seconds", "5"], ["benchmarks/bench_train.py", "--seconds", "5"], False),
])
def test_tool_commands_pass_their_arguments_to_the_tool(argv, tail, in_callers_folder, tmp_path, monkeypatch):
    """Every argument goes to the tool as given (the tools parse their own options); those that take
    paths run in the caller's folder, so that a relative path is the caller's."""
    course = load_course()
    calls = recorded(course, monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert course.main(argv) == 0
    assert calls[-1][-len(tail):] == tail
    assert calls.where[-1] == (tmp_path if in_callers_folder else ROOT)
    if in_callers_folder:
        assert calls[-1][1:3] == ["-P", "-m"]  # the caller's folder is not on the module path


@pytest.mark.slow
def test_a_tool_run_in_the_callers_folder_is_the_course_one(tmp_path):
    """`-P` and PYTHONPATH: a `tools` package in the caller's folder does not shadow the course's."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("raise SystemExit('the decoy tools was imported')")
    done = subprocess.run([sys.executable, str(ROOT / "course.py"), "stamp", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage: python -m tools.grading stamp" in done.stdout


def test_reproduce_says_when_tools_reference_is_missing(tmp_path, monkeypatch):
    course = load_course()
    calls = recorded(course, monkeypatch)
    monkeypatch.setattr(course, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match=r"reproduce needs tools/reference\.py .* not in .*tools"):
        course.main(["reproduce"])
    assert calls == []


def fake_lab(course, monkeypatch, outcomes):
    """lab() with setup skipped and serve_lab replaced: each call records its port and options and
    returns the next of `outcomes` ((served, code), or a function of the port returning them)."""
    starts = []
    monkeypatch.setattr(course, "setup", lambda *a, **k: None)

    def serve_lab(port, options, scratch=None, teacher=False):
        starts.append((port, options))
        outcome = outcomes[len(starts) - 1]
        return outcome(port) if callable(outcome) else outcome
    monkeypatch.setattr(course, "serve_lab", serve_lab)
    return starts


def test_lab_passes_unknown_options_to_jupyterlab_and_takes_the_port(monkeypatch):
    course = load_course()
    starts = fake_lab(course, monkeypatch, [(True, 0)])
    port = free_port()
    assert course.main(["lab", "--no-browser", "--port", str(port), "--ServerApp.x=1"]) == 0
    assert starts == [(port, ["--no-browser", "--ServerApp.x=1"])]


def test_lab_on_a_port_in_use_says_so_before_setting_up(monkeypatch):
    course = load_course()
    starts = fake_lab(course, monkeypatch, [(True, 0)])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=rf"^error: port {port} is in use by another program .* --port N"):
            course.main(["lab", "--port", str(port)])
    assert starts == []


def test_lab_on_a_privileged_port_without_the_right_says_so(monkeypatch):
    course = load_course()

    class Refusing(socket.socket):
        def bind(self, address):
            raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(course.socket, "socket", Refusing)
    assert course.port_problem(80).startswith("port 80 is below 1024, which only an administrator may open")


def test_two_labs_at_once_the_second_takes_the_next_free_port(monkeypatch, capsys):
    """Two `course.py lab` started together both find 8888 free; the one whose JupyterLab loses it
    starts again on the next free port instead of stopping with JupyterLab's error."""
    course = load_course()
    other = socket.socket()

    def lose_the_port(port):
        other.bind(("127.0.0.1", port))  # the other course.py's JupyterLab got there first
        other.listen()
        return False, 1
    monkeypatch.setattr(course, "FIRST_PORT", free_port())
    starts = fake_lab(course, monkeypatch, [lose_the_port, (True, 0)])
    try:
        assert course.main(["lab"]) == 0
    finally:
        other.close()
    (first, _), (second, _) = starts
    assert second != first
    assert f"port {first} was taken by another program while JupyterLab started" in capsys.readouterr().out


def test_lab_that_fails_for_another_reason_is_not_restarted(monkeypatch):
    course = load_course()
    monkeypatch.setattr(course, "FIRST_PORT", free_port())
    starts = fake_lab(course, monkeypatch, [(False, 1)])
    assert course.main(["lab"]) == 1
    assert len(starts) == 1


def test_a_read_only_course_folder_is_named_with_what_to_do(tmp_path, monkeypatch):
    course = load_course()
    assert course.read_only_warning(tmp_path) is None
    monkeypatch.setattr(course.os, "access", lambda path, mode: False)  # as for a user who may not write there
    warning = course.read_only_warning(tmp_path)
    assert warning.startswith(f"warning: the course folder {tmp_path} is read-only for you")
    assert "copy the folder somewhere you can write" in warning


@pytest.mark.parametrize("home", ["unset", "missing", "read-only"])
def test_without_a_writable_home_jupyters_folders_go_to_a_scratch_folder(home, tmp_path, monkeypatch):
    """JupyterLab stops with a traceback when it cannot create its runtime and data folders in the
    home (a service user's /nonexistent, HOME unset for it): they go to the lab's scratch folder."""
    course = load_course()
    for name in [*course.HOME_FOLDERS, "JUPYTER_CONFIG_DIR"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert course.homeless_env(tmp_path / "scratch") == {}
    if home == "unset":
        monkeypatch.delenv("HOME")
        monkeypatch.setattr(course.os.path, "expanduser", lambda path: path)  # no password entry either
    elif home == "missing":
        monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    else:
        monkeypatch.setattr(course.os, "access", lambda path, mode: False)
    env = course.lab_env("t", tmp_path / "scratch")
    assert env["JUPYTER_RUNTIME_DIR"] == str(tmp_path / "scratch" / "runtime")
    assert env["JUPYTER_DATA_DIR"] == str(tmp_path / "scratch" / "data")
    assert env["IPYTHONDIR"] == str(tmp_path / "scratch" / "ipython")
    assert ("JUPYTER_CONFIG_DIR" in env) == (home != "read-only")  # a read-only home's config is still read


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
    stamp.write_text(course.packages_hash() + "\n")
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


def test_only_what_pyproject_installs_decides_a_reinstall(tmp_path, monkeypatch):
    course = load_course()
    monkeypatch.setattr(course, "ROOT", tmp_path)
    text = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text)
    installed = course.packages_hash()
    (tmp_path / "pyproject.toml").write_text(text.replace("[tool.ruff]", "[tool.ruff]\n# a comment\nfix = false"))
    assert course.packages_hash() == installed  # the tools' settings
    (tmp_path / "pyproject.toml").write_text(text.replace('"tqdm==', '"tqdm<5", "x==1.0", "y==', 1))
    assert course.packages_hash() != installed


def test_execute_runs_the_named_notebooks_only_and_refuses_others(tmp_path, monkeypatch):
    course = load_course()
    calls = recorded(course, monkeypatch)
    monkeypatch.chdir(ROOT / "notebooks")
    first = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[0]
    assert course.main(["execute", first.name]) == 0  # relative to the caller's folder
    assert calls[-1][-1] == str(first) and first.name not in calls[-1][:-1]
    with pytest.raises(SystemExit, match=r"execute takes the course's notebooks .* got: .*other\.ipynb"):
        course.main(["execute", str(tmp_path / "other.ipynb")])
    assert len(calls) == 1  # nothing run for a notebook outside notebooks/


def test_a_learners_lab_leaves_nbgrader_out_and_a_teachers_keeps_it(monkeypatch):
    course = load_course()
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/somewhere/else")
    learner, teacher = course.lab_env("t"), course.lab_env("t", teacher=True)
    assert learner["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(course.LEARNER_CONFIG), "/somewhere/else"]
    assert teacher["JUPYTER_CONFIG_PATH"] == "/somewhere/else"
    config = course.LEARNER_CONFIG
    assert json.loads((config / "labconfig" / "page_config.json").read_text()) == {
        "disabledExtensions": {"@jupyter/nbgrader": True}}
    server = json.loads((config / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert server and all(name.startswith("nbgrader.") and on is False for name, on in server.items())
    assert course.parser().parse_args(["lab", "--teacher"]).teacher


@pytest.mark.slow
def test_the_learner_config_disables_every_nbgrader_extension_installed():
    """What `jupyter labextension list` says of nbgrader's Lab extension, and every server extension it has."""
    course = load_course()
    jupyter = Path(sys.executable).with_name("jupyter")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(course.LEARNER_CONFIG), "NO_COLOR": "1"}
    lab = subprocess.run([jupyter, "labextension", "list"], env=env, capture_output=True, text=True)
    listed = [line for line in (lab.stdout + lab.stderr).splitlines() if "@jupyter/nbgrader v" in line]
    assert listed and all("disabled" in line for line in listed), listed
    installed = subprocess.run([sys.executable, "-c", "import nbgrader.server_extensions as s, pkgutil; "
                                "print(*sorted(m.name for m in pkgutil.iter_modules(s.__path__)))"],
                               capture_output=True, text=True).stdout.split()
    server = json.loads((course.LEARNER_CONFIG / "jupyter_server_config.json").read_text())
    assert {f"nbgrader.server_extensions.{m}" for m in installed} <= set(server["ServerApp"]["jpserver_extensions"])
