"""Utilities that notebooks and the training loop share: d2l's `try_gpu`, `Timer`, `Accumulator`,
plus `set_seed` and the one-thread setting that `import helpers` applies."""
import numbers
import os
import random
import time

import torch

__all__ = ["try_gpu", "set_seed", "Timer", "Accumulator"]

SMOKE_ENV = "DEEP_RNN_SMOKE"  # set to 1: every epoch stops after SMOKE_BATCHES minibatches
SMOKE_BATCHES = 2


def smoke_batches():
    """None normally; SMOKE_BATCHES when $DEEP_RNN_SMOKE is set to anything but '' or '0'.

    Only for tests that run whole notebooks to check something other than learning (the grading
    test: scores depend on the exercise cells alone). Models then stay untrained, so the notebooks'
    own asserts on what was learnt fail; never set it to read or teach from a notebook."""
    return SMOKE_BATCHES if os.environ.get(SMOKE_ENV, "") not in ("", "0") else None


def try_gpu(i=0):
    """GPU i if it exists, else the CPU (d2l)."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
        raise ValueError(f"try_gpu(i): i must be a GPU number >= 0 (0 is the first GPU), got {i!r}. "
                         "try_gpu() gives GPU 0, or the CPU when there is no GPU.")
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def set_seed(seed):
    """Seed Python's and PyTorch's random generators so a notebook run repeats."""
    random.seed(seed)
    torch.manual_seed(seed)


class Timer:
    """Record multiple running times (d2l)."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out


class Accumulator:
    """Accumulate sums over n variables (d2l)."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        # .detach(): the book adds the loss itself (l * n), which needs no gradient here
        self.data = [a + float(b.detach() if torch.is_tensor(b) else b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def _default_thread_counts():
    """The thread counts torch may have picked by itself: its physical cores (as /proc/cpuinfo
    lists them on Linux), the logical CPUs, or the CPUs this process may run on."""
    counts = {os.cpu_count() or 1}
    if hasattr(os, "sched_getaffinity"):
        counts.add(len(os.sched_getaffinity(0)))
    try:
        with open("/proc/cpuinfo") as f:
            cores, physical = set(), None
            for line in f:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "physical id":
                    physical = value
                elif key == "core id":
                    cores.add((physical, value))
        if cores:
            counts.add(len(cores))
    except OSError:
        pass
    return counts


def one_thread_unless_chosen():
    """`torch.set_num_threads(1)` unless the user chose: OMP_NUM_THREADS or MKL_NUM_THREADS is set,
    or torch's thread count is not one it picks by itself. Returns True when it set one thread."""
    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return False
    if torch.get_num_threads() not in _default_thread_counts():
        return False
    torch.set_num_threads(1)
    return True
