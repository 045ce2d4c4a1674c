"""Notebook 02 under plain `jupyter nbconvert --execute`, with OMP_NUM_THREADS unset: idle vs one busy core.

This is how a notebook runs when someone else starts the kernel (plain JupyterLab, VS Code,
another CI): nothing sets OMP_NUM_THREADS, so only `import helpers` (which asks torch for
one thread unless the user chose) keeps training fast when another program keeps a core
busy. The notebook is executed twice, into a temporary folder: once alone, once beside a
process spinning a CPU-bound loop; both times and their ratio are printed. Target: the
busy run within 2x of the idle one. Other programs running on the machine count too, so
say so when you report the numbers.

    .venv/bin/python benchmarks/bench_threads.py [--notebook notebooks/02_rnn_one_layer.ipynb]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPIN = "while True: pass"  # keeps one core busy


def execute(notebook, out_dir):
    """Seconds that `jupyter nbconvert --to notebook --execute` takes, with OMP/MKL_NUM_THREADS unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--output-dir", out_dir, str(notebook)]
    tic = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "02_rnn_one_layer.ipynb")
    args = parser.parse_args()
    print(f"{args.notebook.name}, OMP_NUM_THREADS unset, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as out_dir:
        idle = execute(args.notebook, out_dir)
        print(f"idle:                 {idle:6.1f} s", flush=True)
        spinner = subprocess.Popen([sys.executable, "-c", SPIN])
        try:
            busy = execute(args.notebook, out_dir)
        finally:
            spinner.kill()
            spinner.wait()
    print(f"beside one busy core: {busy:6.1f} s")
    print(f"ratio busy / idle:    {busy / idle:6.2f}  (target: at most 2)")


if __name__ == "__main__":
    main()
