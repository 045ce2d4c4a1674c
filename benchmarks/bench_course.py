"""How long the course's own commands take on this machine: the quick test loop, each notebook run
top to bottom, and (with --full, minutes) the whole test command.

    .venv/bin/python benchmarks/bench_course.py                       # quick, then every notebook
    .venv/bin/python benchmarks/bench_course.py --no-notebooks --full  # the two test commands
    .venv/bin/python benchmarks/bench_course.py --no-quick 05 06       # two notebooks

* quick: `python3 course.py test --quick` (ruff, then the unit tests). Target: 60 s.
* notebooks: each notebooks/NN_*.ipynb executed by nbclient in a fresh kernel with one thread
  (OMP_NUM_THREADS=1), notebooks/ as its working folder, nothing written back; and their total.
  Kernel start and imports count. Target: 60 s each.
* full: `python3 course.py test` (ruff, unit tests, notebooks under strict nbval, grading,
  browser). Target: 6 minutes.

Times are wall-clock seconds. Each line also gives the load average (1 min) before and after:
other programs on the machine slow everything down, so report it with the numbers. The test
commands' output goes to a log file each (named on their line), kept.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TARGETS = {"quick": 60, "notebook": 60, "full": 360}  # seconds, from the speed issue


def load():
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def verdict(seconds, target):
    return f"within the {target} s target" if seconds <= target else f"OVER the {target} s target"


def course_command(*args, log_dir):
    """Run `python3 course.py ARGS` in the course folder; print its time, exit status and last line."""
    command = [sys.executable, str(ROOT / "course.py"), *args]
    shown = "python3 course.py " + " ".join(args)
    log = Path(log_dir) / ("course-" + "-".join(a.strip("-") for a in args) + ".log")
    before = load()
    tic = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - tic
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    last = lines[-1].strip("= ") if lines else "(no output)"
    print(f"`{shown}`: {seconds:.1f} s, exit {code} ({last}); load {before} -> {load()}; log {log}", flush=True)
    return seconds


def run_notebook(path):
    """Seconds to execute `path` in a fresh kernel (one thread, notebooks/ as working folder), and
    None or the error that stopped it."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    tic = time.perf_counter()
    try:
        client.execute()
        error = None
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1][:200]
    return time.perf_counter() - tic, error


def notebooks(names):
    """Time each notebook (all of notebooks/NN_*.ipynb, or those named) and print their total."""
    os.environ["OMP_NUM_THREADS"] = "1"  # the kernels inherit it, as course.py's do
    os.environ["JUPYTER_PREFER_ENV_PATH"] = "1"  # this venv's python3 kernel, as course.py lab chooses
    if os.environ.get("DEEP_RNN_DATA"):  # the kernels run in notebooks/
        os.environ["DEEP_RNN_DATA"] = str(Path(os.environ["DEEP_RNN_DATA"]).expanduser().resolve())
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    chosen = [p for p in every if not names or p.name in names or p.stem in names or p.name[:2] in names]
    if not chosen:
        sys.exit(f"error: no notebook matches {' '.join(names)}; choose from {', '.join(p.name for p in every)}")
    print(f"each notebook executed by nbclient in a fresh kernel, OMP_NUM_THREADS=1, in {NOTEBOOKS}:", flush=True)
    total = 0.0
    for path in chosen:
        before = load()
        seconds, error = run_notebook(path)
        total += seconds
        status = f"FAILED: {error}" if error else verdict(seconds, TARGETS["notebook"])
        print(f"  {path.name}: {seconds:.1f} s, {status}; load {before} -> {load()}", flush=True)
    print(f"  total of {len(chosen)} notebooks: {total:.1f} s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action=argparse.BooleanOptionalAction, default=True,
                        help="time `python3 course.py test --quick` (default: yes)")
    parser.add_argument("--notebooks", action=argparse.BooleanOptionalAction, default=True,
                        help="time each notebook (default: yes)")
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=False,
                        help="time `python3 course.py test`, minutes (default: no)")
    parser.add_argument("notebook", nargs="*", help="notebooks to time (NN, NN_name or NN_name.ipynb; default: all)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load average {load()} at the start", flush=True)
    logs = tempfile.mkdtemp(prefix="bench-course-") if args.quick or args.full else None  # kept
    if args.quick:
        seconds = course_command("test", "--quick", log_dir=logs)
        print(f"  quick loop {verdict(seconds, TARGETS['quick'])}", flush=True)
    if args.notebooks:
        notebooks(args.notebook)
    if args.full:
        seconds = course_command("test", log_dir=logs)
        print(f"  full test command {verdict(seconds, TARGETS['full'])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
