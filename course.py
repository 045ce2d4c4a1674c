#!/usr/bin/env python3
"""The course's commands, with nothing but Python 3.11+ and the package index needed.

    python3 course.py --help           every command, one line each
    python3 course.py lab [--port N]   set up, then open the course in JupyterLab
    python3 course.py test [--quick]   set up, then run every test (--quick: ruff and the unit tests)

Setting up creates .venv/ at the repo root when missing, installs the pinned
packages and `helpers` (editable), and makes sure both corpora are cached.
Each step is skipped when it is already done. On Windows, type `py` instead of `python3`.
"""
import argparse
import errno
import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
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


def run(*args, cwd=ROOT, **kwargs):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=cwd, **kwargs).returncode


def run_in_callers_folder(py, module, *args):
    """`py -m module args` in the folder course.py was started in, so that relative paths in `args`
    (and the tool's default paths, such as grade's scores.csv) are the caller's. The course is put
    on the module path, and `-P` keeps the caller's folder off it, whatever that folder holds."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return run(py, "-P", "-m", module, *args, cwd=Path.cwd(), env={**os.environ, "PYTHONPATH": path})


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


def packages_hash():
    """A hash of what pyproject.toml installs (its [project] and [build-system] tables): editing
    the tools' settings there (ruff, pytest) does not reinstall."""
    import tomllib  # Python 3.11+, checked by setup first
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installs = {key: config.get(key) for key in ("project", "build-system")}
    return hashlib.sha1(json.dumps(installs, sort_keys=True).encode()).hexdigest()


def setup(extras="", need_corpora=True):
    """Create .venv, install the pins and helpers, cache the corpora.

    Installing is skipped when what pyproject.toml installs has not changed (packages_hash) and
    the venv imports helpers from this folder.
    """
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    absolute_data_dir()
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    want = packages_hash()
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
FIRST_PORT, PORTS_TRIED = 8888, 100  # without --port: the first free port of 8888-8987
LAB_STARTS = 3  # JupyterLab starts tried when another program takes the free port first


def port_number(value):
    """argparse type of --port: a whole number from 1 to 65535."""
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"needs a port number from 1 to 65535, got {value!r}")
    return int(value)


def port_problem(port):
    """Why JupyterLab could not listen on 127.0.0.1:port (a sentence), or None when it can."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return None
        except PermissionError:
            return (f"port {port} is below 1024, which only an administrator may open on this system; "
                    f"choose one from 1024 up (--port 8888), or leave --port out to take a free one")
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (f"port {port} is in use by another program (a JupyterLab already running?); "
                        f"choose another with --port N, or leave --port out to take a free one")
            return f"cannot listen on 127.0.0.1:{port}: {error.strerror}"


def free_port(first=FIRST_PORT, count=PORTS_TRIED):
    """The first port from `first` on that nothing listens on at 127.0.0.1."""
    for port in range(first, first + count):
        if port_problem(port) is None:
            return port
    sys.exit(f"error: no free port in {first}-{first + count - 1}; choose one with --port N")


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


def lab_env(token, scratch=None, teacher=False):
    """JupyterLab's environment: the token (removed again before kernels start), and the venv's own
    kernelspec first. In a venv Jupyter prefers it anyway, unless the venv's folder belongs to another
    user; then a python3 kernel in ~/.local/share/jupyter (another Python, without helpers) would win.
    With a `scratch` folder, the folders Jupyter, IPython and matplotlib write in the home go there
    when the home cannot be written (see homeless_env). Unless `teacher`, LEARNER_CONFIG comes first
    on Jupyter's config path: nbgrader's teacher tools stay out of a learner's JupyterLab."""
    env = {**os.environ, "COURSE_LAB_TOKEN": token, "JUPYTER_PREFER_ENV_PATH": "1",
           **(homeless_env(scratch) if scratch else {})}
    if not teacher:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(LEARNER_CONFIG),
                                                                   os.environ.get("JUPYTER_CONFIG_PATH")]))
    return env


# nbgrader (installed with the test extra, for teachers) adds an Nbgrader menu, Formgrader, the Create
# Assignment sidebar and Validate to every JupyterLab of the venv: noise for a learner. This config
# folder turns its Lab and server extensions off, as `jupyter labextension disable` and `jupyter server
# extension disable` would, without touching the user's own Jupyter config. `lab --teacher` keeps them.
LEARNER_CONFIG = ROOT / "tools" / "lab" / "learner"


# What JupyterLab, its kernels and matplotlib create in the home folder, by the variable that moves it.
HOME_FOLDERS = {"JUPYTER_RUNTIME_DIR": "runtime", "JUPYTER_DATA_DIR": "data", "IPYTHONDIR": "ipython",
                "MPLCONFIGDIR": "matplotlib"}


def homeless_env(scratch):
    """Variables that move HOME_FOLDERS into `scratch` when the home folder cannot be written (HOME
    unset or missing for a service user, a read-only home), where JupyterLab would stop with a
    traceback; {} when it can. Without a home there is no Jupyter config to read either: the config
    folder moves too. Variables the user set stay as they are."""
    home = Path(os.path.expanduser("~"))
    if home.is_dir() and os.access(home, os.W_OK):
        return {}
    moved = {**HOME_FOLDERS, **({} if home.is_dir() else {"JUPYTER_CONFIG_DIR": "config"})}
    return {name: str(Path(scratch) / folder) for name, folder in moved.items() if name not in os.environ}


def read_only_warning(folder=ROOT):
    """A warning when `folder` cannot be written: notebooks open and run there, but saving fails."""
    if os.access(folder, os.W_OK):
        return None
    return (f"warning: the course folder {folder} is read-only for you: notebooks open and run, but "
            f"saving them fails. To keep your work, copy the folder somewhere you can write and start "
            f"`python3 course.py lab` there.")


def lab(args, options):
    """JupyterLab on 127.0.0.1 with a fresh token, opening on notebooks/, stopped when course.py is.

    `options` (those course.py does not know) go to JupyterLab; the address, port, token and base
    URL are set last so that neither they nor a user's Jupyter config (say ip='0.0.0.0', token='')
    can open the server to the network. Without --port the first free port from 8888 on is taken,
    and the next one when another program (a second `course.py lab`) takes it while JupyterLab starts.
    """
    if args.port and port_problem(args.port):
        sys.exit(f"error: {port_problem(args.port)}")
    setup(need_corpora=False)
    one_thread()
    warning = read_only_warning()
    if warning:
        print(warning, flush=True)
    with tempfile.TemporaryDirectory(prefix="course-lab-") as scratch:
        if homeless_env(scratch):
            print(f"note: your home folder cannot be written: Jupyter's own files go to {scratch} "
                  f"until JupyterLab stops", flush=True)
        for _ in range(LAB_STARTS):
            port = args.port or free_port()
            served, code = serve_lab(port, options, scratch, teacher=args.teacher)
            if served or args.port or port_problem(port) is None:
                return code  # served, or failed for a reason JupyterLab printed above
            print(f"port {port} was taken by another program while JupyterLab started: trying the next free one",
                  flush=True)
    sys.exit(f"error: JupyterLab could not keep a free port in {LAB_STARTS} starts; choose one with --port N")


def serve_lab(port, options, scratch=None, teacher=False):
    """Start JupyterLab on `port`, print its URL once it answers, wait until it or course.py stops.
    Returns (whether it served, its exit code)."""
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
    proc, served = None, False
    try:
        # Its own session: a Ctrl-C in the terminal reaches course.py only, which stops JupyterLab once.
        proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, env=lab_env(token, scratch, teacher),
                                start_new_session=os.name != "nt")
        while proc.poll() is None and not serving(port, token):
            time.sleep(0.5)
        served = proc.poll() is None
        if served:
            print(f"\nThe course is open at\n\n    {url}\n\n(the token in it is the password; "
                  f"stop JupyterLab with Ctrl-C here)\n", flush=True)
        return served, proc.wait()
    except Stop:
        return True, stop_lab(proc, signals) if proc else 0


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

# `test --quick`: what `pytest -m` leaves out (markers in pyproject.toml). Without --nbval no
# notebook is collected either.
QUICK = "not slow and not browser"


def test(args, options):
    """ruff, then pytest on two workers: everything under strict nbval, or with --quick the unit tests only.

    Two workers (pytest-xdist): one takes the browser test (the longest file), the other the unit
    tests and then every notebook, in the order tests/conftest.py sets (kept by
    --no-loadscope-reorder). `loadfile` keeps each file's tests, and so each notebook's cells, in one
    worker and in order. Options course.py does not know go to pytest and win (e.g. `-n 0`: one process).
    """
    setup("test")
    one_thread()
    if run(PY, "-m", "ruff", "check", ".") != 0:
        print("ruff check failed (see above): fix what it lists, then run the tests again.", flush=True)
        return 1
    if args.quick:  # on both cores too; the slowest tests are named, to be marked slow if they should be
        return run(PY, "-m", "pytest", "-q", "-m", QUICK, "-n", "2", "--durations=5", "--durations-min=1",
                   *options)
    return run(PY, "-m", "pytest", "--nbval", "--nbval-current-env", "-n", "2", "--dist", "loadfile",
               "--no-loadscope-reorder", *options)


def execute(args, options):
    setup()
    one_thread()
    course = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    named = [Path(a).expanduser().resolve() for a in args.notebooks]  # relative to the caller's folder
    strangers = [str(p) for p in named if p not in course]
    if strangers:
        sys.exit(f"execute takes the course's notebooks ({ROOT / 'notebooks'}/NN_*.ipynb), got: {', '.join(strangers)}")
    notebooks = named or course
    return run(PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               "--ExecutePreprocessor.timeout=600", *notebooks)


def reproduce(args, options):
    setup()
    one_thread()
    if not (ROOT / "tools" / "reference.py").exists():
        sys.exit(f"error: reproduce needs tools/reference.py (the reference experiments), which is not in "
                 f"{ROOT / 'tools'}: update the course folder (git pull)")
    return run(PY, "-m", "tools.reference", *options)


def grading(subcommand):
    """A command of `python -m tools.grading`, with the test extra (nbgrader) set up first."""
    def command(args, options):
        setup("test")
        one_thread()
        return run_in_callers_folder(PY, "tools.grading", subcommand, *options)
    return command


def stamp(args, options):
    """Only json is needed: no setup, this Python."""
    return run_in_callers_folder(sys.executable, "tools.grading", "stamp", *options)


def student(args, options):
    setup()
    return run_in_callers_folder(PY, "tools.student", *options)


def tool(*command):
    """A command that sets up, then runs `PY *command` in the course folder with course.py's options."""
    def run_tool(args, options):
        setup()
        return run(PY, *command, *options)
    return run_tool


def lab_arguments(parser):
    parser.add_argument("--port", type=port_number, metavar="N",
                        help="the port on 127.0.0.1 (default: the first free one from 8888)")
    parser.add_argument("--teacher", action="store_true",
                        help="keep nbgrader's teacher tools (Nbgrader menu, Formgrader, Create Assignment, "
                             "Validate); a learner's lab leaves them out")


def test_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help=f"ruff, then the unit tests only (pytest -m '{QUICK}': no notebooks, "
                             f"browser, grading end to end, JupyterLab or kernels): the edit loop")


def execute_arguments(parser):
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebooks/NN_*.ipynb (default: all)")


# name: (what it does, in one line; the function; who gets the options course.py does not know
# (None: nobody, they are an error); its own arguments). A command whose options all go to a tool
# has no -h of its own: `course.py grade --help` is the tool's help.
COMMANDS = {
    "lab": ("set up, then open the course in JupyterLab", lab, "JupyterLab", lab_arguments),
    "test": ("set up, then ruff and every test (--quick: the unit tests)", test, "pytest", test_arguments),
    "execute": ("re-run the notebooks in place from a clean kernel", execute, None, execute_arguments),
    "reproduce": ("[NAME ...] [--jobs N]: list or run the reference experiments",
                  reproduce, "tools.reference", None),
    "bench": ("the training-speed benchmark", tool("benchmarks/bench_train.py"), "bench_train.py", None),
    "figures": ("redraw figures/", tool("-m", "tools.figures"), "tools.figures", None),
    "student": ("OUT_DIR: write the student versions of the notebooks", student, "tools.student", None),
    "stamp": ("nbgrader metadata from the exercise markers (--check: only say)", stamp, "tools.grading", None),
    "nbgrader": ("COURSE_DIR: an nbgrader course folder of the notebooks",
                 grading("nbgrader"), "tools.grading", None),
    "grade": ("SUBMISSIONS_DIR [--out CSV]: autograde handed-in notebooks",
              grading("grade"), "tools.grading", None),
    "setup": ("create .venv, install the pins and helpers, cache the corpora",
              lambda args, options: setup("test") or 0, None, None),
}


def parser():
    """course.py's command line: one subcommand per entry of COMMANDS."""
    top = argparse.ArgumentParser(prog="python3 course.py", description=__doc__.split("\n\n")[0],
                                  epilog=__doc__.split("\n\n", 2)[2], allow_abbrev=False,
                                  formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(
                                      prog, max_help_position=18, width=96))
    commands = top.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name, (summary, function, passes_to, arguments) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, allow_abbrev=False,
                                  add_help=passes_to in (None, "JupyterLab", "pytest"),
                                  description=summary + (f"; other options go to {passes_to}" if passes_to else ""))
        if arguments:
            arguments(sub)
        sub.set_defaults(function=function, passes_to=passes_to, parser=sub)
    return top


def main(argv=None):
    top = parser()
    args, options = top.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        top.print_help()
        return 2
    if options and args.passes_to is None:
        args.parser.error(f"unrecognized arguments: {' '.join(options)}")
    return args.function(args, options)


if __name__ == "__main__":
    sys.exit(main())
