"""Independent runs on every idle core: one process per run, each with one thread.

The course's models are small, so one thread per process is fastest (see `helpers`'s docstring);
a second core helps only by running a second, independent run: another seed, or another model of
the same comparison. `map_runs` does that with forked worker processes:

    results = parallel.map_runs(train_one, [0, 1, 2])          # train_one(seed) -> anything picklable

processes="auto" (the default) uses as many processes as there are idle cores (the CPU count
minus the 1-minute load average, rounded), so on a busy machine, or under a test runner that
already keeps both cores busy, it falls back to one process: the same results, one after another.
Give `processes=1` to force that, or a number to choose. Forked workers need an OS with fork
(Linux, macOS); elsewhere everything runs in this process. What a run prints in a worker is
discarded (a worker must not write to a notebook's output), so pass `verbose=False, plot=False`
to `train_ch8` there; the results come back in order.
"""
import multiprocessing
import os
import sys

import torch

__all__ = ["idle_cores", "choose_processes", "map_runs"]

_JOB = None  # (function, items) of the map in progress: forked workers inherit it, nothing is pickled


def idle_cores():
    """CPU count minus the 1-minute load average, rounded, at least 0 (CPU count where unknown)."""
    count = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return count
    return max(0, min(count, round(count - load)))


def choose_processes(num_runs, processes="auto"):
    """How many worker processes `map_runs` uses for `num_runs` runs (1: none, all here)."""
    if processes == "auto":
        if "fork" not in multiprocessing.get_all_start_methods():
            return 1
        return max(1, min(num_runs, idle_cores()))
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be 'auto' or a whole number >= 1 (1: one after another), got {processes!r}")
    return min(processes, max(num_runs, 1))


def _run(index):
    torch.set_num_threads(1)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # never the parent's notebook output
    fn, items = _JOB
    return fn(items[index])


def map_runs(fn, items, processes="auto"):
    """[fn(item) for item in items], spread over `choose_processes(len(items), processes)` processes."""
    global _JOB
    if not callable(fn):
        raise TypeError(f"map_runs: fn must be a function of one item, got {type(fn).__name__}")
    items = list(items)
    count = choose_processes(len(items), processes)
    if count == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    if _JOB is not None:
        raise RuntimeError("map_runs: already running (a run cannot start more runs)")
    _JOB = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            return pool.map(_run, range(len(items)), chunksize=1)
    finally:
        _JOB = None
