#!/usr/bin/env python3
"""The course's commands, with nothing but Python 3.11+ and the package index needed.

    python3 course.py lab [--port N] [JupyterLab options]   set up, then open the course in JupyterLab
    python3 course.py test       set up, then run every test (unit, notebooks, browser)
    python3 course.py execute [NOTEBOOK ...]   re-run every notebook (or those named) in place from a clean kernel
    python3 course.py bench      the training-speed benchmark
    python3 course.py figures    redraw figures/
    python3 course.py student OUT_DIR   write the student versions of the notebooks
    python3 course.py stamp      write the nbgrader metadata of notebooks/ from their markers (--check: only say)
    python3 course.py nbgrader COURSE_DIR   an nbgrader course folder of the notebooks, and its commands
    python3 course.py grade SUBMISSIONS_DIR [--out scores.csv]   autograde SUBMISSIONS_DIR/<student>/NN_*.ipynb

Setting up creates .venv/ at the repo root when missing, installs the pinned
packages and `helpers` (editable), and makes sure both corpora are cached.
Each step is skipped when it is already done. On Windows, type `py` instead of `python3`.
"""
import hashlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-installed"


# The course's models are small, and for them one thread per kernel is fastest: a step
# has many tiny operations, and extra OpenMP threads only wait (spinning, or sleeping and
# waking). On a busy 2-core machine spinning threads made training 10-50x slower. Kernels
# and tests inherit this; set OMP_NUM_THREADS yourself to override. `bench` keeps the default.
def one_thread():
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def absolute_data_dir():
    """Kernels run in notebooks/, so a relative DEEP_RNN_DATA is made absolute here, once."""
    if os.environ.get("DEEP_RNN_DATA"):
        os.environ["DEEP_RNN_DATA"] = str(Path(os.environ["DEEP_RNN_DATA"]).expanduser().resolve())


def run(*args, **kwargs):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs).returncode


def helpers_origin(py=PY):
    """The file that `py` imports helpers from (found, not imported), or None.

    A .venv copied from another clone imports that clone's helpers. `-I` leaves the current
    folder off sys.path, as it is for a kernel started in notebooks/.
    """
    code = "import importlib.util as u; s = u.find_spec('helpers'); print(s.origin if s else '')"
    found = subprocess.run([str(py), "-I", "-c", code], capture_output=True, text=True).stdout.strip()
    return Path(found).resolve() if found else None


def corpora(required=True):
    """Cache and verify both corpora with `python -m helpers`; stop without them if `required`."""
    fetch = f"{PY.relative_to(ROOT)} -m helpers"
    if required:
        if run(PY, "-m", "helpers") != 0:
            sys.exit(f"The corpora are needed for this command: fix the problem above, then check with `{fetch}`.")
        return
    done = subprocess.run([str(PY), "-m", "helpers"], cwd=ROOT, capture_output=True, text=True)
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        print(f"\nThe corpora are not here and could not be downloaded. JupyterLab starts anyway: every "
              f"notebook can be read, and a cell that loads text stops with a message naming the missing "
              f"file. To get them, connect to the internet and run `{fetch}` in {ROOT} (it also says "
              f"where to put the files by hand), then restart the kernel.\n", flush=True)


def setup(extras="", need_corpora=True):
    """Create .venv, install the pins and helpers, cache the corpora.

    Installing is skipped when pyproject.toml has not changed and the venv imports helpers from this folder.
    """
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    absolute_data_dir()
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    want = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    have = STAMP.read_text().split() if STAMP.exists() else []
    origin = helpers_origin(PY)
    here = origin == ROOT / "helpers" / "__init__.py"
    if here and want in have and (not extras or f"{want}[{extras}]" in have):
        print("packages: already installed", flush=True)
    else:
        if have and not here:
            print(f"{VENV} imports helpers from {origin or 'nowhere'}, not from this folder: reinstalling", flush=True)
        spec = f".[{extras}]" if extras else "."
        if run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", spec) != 0:
            sys.exit("pip install failed (see above)")
        STAMP.write_text(f"{want}\n{want}[{extras}]\n" if extras else f"{want}\n")
    if extras == "test":
        install_d2l()
    corpora(required=need_corpora)


D2L = "0.17.6"  # the real d2l library, for tests/test_d2l_parity.py only


def install_d2l():
    """Install the real d2l for the parity test, without its dependencies (torchvision, pandas and
    old pins the course does not use; the test stubs what it imports). Skipped when installed."""
    site = [*VENV.glob("lib/python3*/site-packages"), VENV / "Lib" / "site-packages"]
    if any((folder / f"d2l-{D2L}.dist-info").is_dir() for folder in site):
        return
    if run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", f"d2l=={D2L}") != 0:
        sys.exit("pip install d2l failed (see above)")


# JupyterLab is started from Python so that the token it is given on its command line (which
# wins over any config file) is not visible to other users in the process list. Its server reads
# options from sys.argv; the token comes through the environment and is removed from it there,
# so kernels do not inherit it.
LAUNCH_LAB = ("import os, sys; from jupyterlab.labapp import main; "
              "sys.argv.append('--IdentityProvider.token=' + os.environ.pop('COURSE_LAB_TOKEN')); "
              "sys.exit(main())")
LAB_STOP_TIMEOUT = 20  # seconds JupyterLab gets to shut its kernels down before it is killed


def port_option(args):
    """Take `--port N` or `--port=N` out of `args`; return (port or None, the other args)."""
    port, rest = None, []
    args = iter(args)
    for arg in args:
        if arg == "--port" or arg.startswith("--port="):
            value = arg.partition("=")[2] or next(args, "")
            if not value.isdigit() or not 0 < int(value) < 65536:
                sys.exit(f"--port needs a port number from 1 to 65535, got {value!r}")
            port = int(value)
        else:
            rest.append(arg)
    return port, rest


def free_port(first=8888, count=100):
    """The first port from `first` on that nothing listens on at 127.0.0.1."""
    for port in range(first, first + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    sys.exit(f"no free port in {first}-{first + count - 1}; choose one with --port N")


def serving(port, token):
    """Whether the JupyterLab server with this token answers on 127.0.0.1:port (no proxy involved)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class Stop(Exception):
    """course.py was asked to stop (SIGINT, SIGTERM or SIGHUP)."""


def lab_env(token):
    """JupyterLab's environment: the token (removed again before kernels start), and the venv's own
    kernelspec first. In a venv Jupyter prefers it anyway, unless the venv's folder belongs to another
    user; then a python3 kernel in ~/.local/share/jupyter (another Python, without helpers) would win."""
    return {**os.environ, "COURSE_LAB_TOKEN": token, "JUPYTER_PREFER_ENV_PATH": "1"}


def lab():
    """JupyterLab on 127.0.0.1 with a fresh token, opening on notebooks/, stopped when course.py is.

    Options after `lab` go to JupyterLab; the address, port, token and base URL are set last so
    that neither they nor a user's Jupyter config (say ip='0.0.0.0', token='') can open the
    server to the network.
    """
    setup(need_corpora=False)
    one_thread()
    port, options = port_option(sys.argv[2:])
    port = port or free_port()
    token = secrets.token_hex(24)
    args = [PY, "-c", LAUNCH_LAB, f"--ServerApp.root_dir={ROOT}",
            # LabApp.default_url, not ServerApp.default_url: JupyterLab overrides the latter.
            "--LabApp.default_url=/lab/tree/notebooks", *options,
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            "--ServerApp.sock=", "--ServerApp.base_url=/"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    url = f"http://127.0.0.1:{port}/lab/tree/notebooks?token={token}"
    print("+", PY, "-c '<start JupyterLab>'", *args[3:], flush=True)

    def stop(signum, frame):
        raise Stop
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    for sig in signals:
        signal.signal(sig, stop)
    proc = None
    try:
        # Its own session: a Ctrl-C in the terminal reaches course.py only, which stops JupyterLab once.
        proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, env=lab_env(token),
                                start_new_session=os.name != "nt")
        while proc.poll() is None and not serving(port, token):
            time.sleep(0.5)
        if proc.poll() is None:
            print(f"\nThe course is open at\n\n    {url}\n\n(the token in it is the password; "
                  f"stop JupyterLab with Ctrl-C here)\n", flush=True)
        return proc.wait()
    except Stop:
        return stop_lab(proc, signals) if proc else 0


def stop_lab(proc, signals, timeout=LAB_STOP_TIMEOUT):
    """SIGTERM lets JupyterLab shut its kernels down; after `timeout` s (or a second Ctrl-C) it is killed."""
    def kill(signum=None, frame=None):
        if proc.poll() is None:
            if os.name == "nt":
                proc.kill()
            else:
                os.killpg(proc.pid, signal.SIGKILL)
    for sig in signals:
        signal.signal(sig, kill)
    print("stopping JupyterLab", flush=True)
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"JupyterLab did not stop within {timeout} s: killing it", flush=True)
        kill()
        proc.wait()
    return 0


def test():
    setup("test")
    one_thread()
    # The linter first (seconds; its rules are in pyproject.toml), then one pytest run on two
    # workers (pytest-xdist): one takes the browser test (the longest), the other the unit tests
    # and then every notebook under strict nbval, in the order tests/conftest.py sets (kept by
    # --no-loadscope-reorder). `loadfile` keeps each file's tests, and so each notebook's cells,
    # in one worker and in order. Options given after `test` win (e.g. `-n 0`: one process).
    if run(PY, "-m", "ruff", "check", ".") != 0:
        print("ruff check failed (see above): fix what it lists, then run the tests again.", flush=True)
        return 1
    return run(PY, "-m", "pytest", "--nbval", "--nbval-current-env", "-n", "2", "--dist", "loadfile",
               "--no-loadscope-reorder", *sys.argv[2:])


def execute():
    setup()
    one_thread()
    course = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    named = [Path(a).resolve() for a in from_callers_folder(sys.argv[2:])]
    strangers = [str(p) for p in named if p not in course]
    if strangers:
        sys.exit(f"execute takes the course's notebooks ({ROOT / 'notebooks'}/NN_*.ipynb), got: {', '.join(strangers)}")
    notebooks = named or course
    return run(PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               "--ExecutePreprocessor.timeout=600", *notebooks)


def from_callers_folder(args, path_options=("--notebooks",)):
    """Tools run in ROOT: make their path arguments (positional, or after `path_options`) absolute
    against the folder course.py was started in. An empty one stays empty, for the tool to refuse."""
    def absolute(value):
        return str(Path(value).expanduser().absolute()) if value.strip() else value
    result, args = [], iter(args)
    for arg in args:
        name, eq, value = arg.partition("=")
        if arg in path_options:
            result += [arg, absolute(next(args, ""))]
        elif eq and name in path_options:
            result.append(f"{name}={absolute(value)}")
        else:
            result.append(arg if arg.startswith("-") else absolute(arg))
    return result


def main():
    commands = {
        "lab": lab,
        "test": test,
        "execute": execute,
        "bench": lambda: (setup(), run(PY, "benchmarks/bench_train.py", *sys.argv[2:]))[1],
        "figures": lambda: (setup(), run(PY, "-m", "tools.figures", *sys.argv[2:]))[1],
        "student": lambda: (setup(), run(PY, "-m", "tools.student", *from_callers_folder(sys.argv[2:])))[1],
        "stamp": lambda: run(sys.executable, "-m", "tools.grading", "stamp",  # json only: no setup
                             *from_callers_folder(sys.argv[2:])),
        "nbgrader": lambda: (setup("test"), one_thread(),
                             run(PY, "-m", "tools.grading", "nbgrader", *from_callers_folder(sys.argv[2:])))[2],
        "grade": lambda: (setup("test"), one_thread(),
                          run(PY, "-m", "tools.grading", "grade",
                              *from_callers_folder(sys.argv[2:], ("--out", "--notebooks"))))[2],
        "setup": lambda: setup("test") or 0,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
