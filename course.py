#!/usr/bin/env python3
"""The course's commands, with nothing but Python 3.11+ and the package index needed.

    python3 course.py lab        set up, then open the course in JupyterLab
    python3 course.py test       set up, then run every test (unit, notebooks, browser)
    python3 course.py execute    re-run every notebook in place from a clean kernel
    python3 course.py bench      the training-speed benchmark
    python3 course.py figures    redraw figures/
    python3 course.py student OUT_DIR   write the student versions of the notebooks

Setting up creates .venv/ at the repo root when missing, installs the pinned
packages and `helpers` (editable), and makes sure both corpora are cached.
Each step is skipped when it is already done.
"""
import hashlib
import os
import subprocess
import sys
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


def setup(extras=""):
    """Create .venv, install the pins (skipped when pyproject.toml has not changed), cache the corpora."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    absolute_data_dir()
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    want = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    have = STAMP.read_text().split() if STAMP.exists() else []
    if want in have and (not extras or f"{want}[{extras}]" in have):
        print("packages: already installed", flush=True)
    else:
        spec = f".[{extras}]" if extras else "."
        if run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", spec) != 0:
            sys.exit("pip install failed (see above)")
        STAMP.write_text(f"{want}\n{want}[{extras}]\n" if extras else f"{want}\n")
    if run(PY, "-m", "helpers") != 0:
        sys.exit(1)


def lab():
    setup()
    one_thread()
    args = ["-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}",
            "--ServerApp.default_url=/lab/tree/notebooks"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    print("JupyterLab starts below: open the http://127.0.0.1:PORT/lab?token=... URL it prints.", flush=True)
    return run(PY, *args)


def test():
    setup("test")
    one_thread()
    # One pytest run: unit tests, then every notebook under strict nbval, then the browser test last.
    return run(PY, "-m", "pytest", "--nbval", "--nbval-current-env", *sys.argv[2:])


def execute():
    setup()
    one_thread()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return run(PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               "--ExecutePreprocessor.timeout=600", *notebooks)


def main():
    commands = {
        "lab": lab,
        "test": test,
        "execute": execute,
        "bench": lambda: (setup(), run(PY, "benchmarks/bench_train.py", *sys.argv[2:]))[1],
        "figures": lambda: (setup(), run(PY, "-m", "helpers.figures", *sys.argv[2:]))[1],
        "student": lambda: (setup(), run(PY, "-m", "helpers.assignments", *sys.argv[2:]))[1],
        "setup": lambda: setup("test") or 0,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
