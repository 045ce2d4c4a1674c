"""Utilities that notebooks and the training loop share: d2l's `try_gpu`, `Timer`, `Accumulator`,
plus `set_seed`, `EvalMode`, what /proc/cpuinfo says, and the one-thread setting of `import helpers`."""
import functools
import os
import random
import time

import torch
from torch import nn

from ._validate import is_whole

__all__ = ["try_gpu", "set_seed", "Timer", "Accumulator"]


def try_gpu(i=0):
    """GPU i if it exists, else the CPU (d2l)."""
    if not is_whole(i) or i < 0:
        raise ValueError(f"try_gpu(i): i must be a GPU number >= 0 (0 is the first GPU), got {i!r}. "
                         "try_gpu() gives GPU 0, or the CPU when there is no GPU.")
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def set_seed(seed):
    """Seed Python's and PyTorch's random generators so a notebook run repeats."""
    random.seed(seed)
    torch.manual_seed(seed)


class EvalMode:
    """Within `with EvalMode(net):` a module net is in eval() (no dropout); its own mode comes back
    after, also after an error or Ctrl-C. Anything else (a scratch model) is left alone."""

    def __init__(self, net):
        self.net, self.was_training = net, isinstance(net, nn.Module) and net.training

    def __enter__(self):
        if isinstance(self.net, nn.Module):
            self.net.eval()
        return self.net

    def __exit__(self, *exc):
        if isinstance(self.net, nn.Module):
            self.net.train(self.was_training)


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


@functools.cache
def cpuinfo():
    """The text of /proc/cpuinfo ('' where there is none: not Linux, or not readable)."""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


def _physical_cores():
    """The number of (physical id, core id) pairs /proc/cpuinfo lists; 0 where it lists none."""
    cores, physical = set(), None
    for line in cpuinfo().splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "physical id":
            physical = value
        elif key == "core id":
            cores.add((physical, value))
    return len(cores)


def _default_thread_counts():
    """The thread counts torch may have picked by itself: its physical cores (as /proc/cpuinfo
    lists them on Linux), the logical CPUs, or the CPUs this process may run on."""
    counts = {os.cpu_count() or 1}
    if hasattr(os, "sched_getaffinity"):
        counts.add(len(os.sched_getaffinity(0)))
    if _physical_cores():
        counts.add(_physical_cores())
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
