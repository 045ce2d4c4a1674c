"""Tests for helpers/parallel.py: the same results in worker processes as one after another."""
import os

import pytest
import torch

from helpers import parallel
from helpers.stacks import RNNStack
from helpers.utils import set_seed


def train_one(seed):
    """A few Adam steps of a tiny stack on random tokens: deterministic for a seed."""
    set_seed(seed)
    net = RNNStack(10, 8, 2, cell="GRU", embed_size=4)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    X = torch.randint(0, 10, (4, 6))
    for _ in range(3):
        y_hat, _ = net(X, net.begin_state("cpu", 4))
        loss = torch.nn.functional.cross_entropy(y_hat, X.T.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("a worker's print goes nowhere")
    return seed, loss.item(), torch.get_num_threads()


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_two_processes_give_what_one_gives_in_order(capfd):
    here = parallel.map_runs(train_one, [0, 1, 2], processes=1)
    there = parallel.map_runs(train_one, [0, 1, 2], processes=2)
    assert [r[:2] for r in there] == [r[:2] for r in here]
    assert all(threads == 1 for *_, threads in there)
    assert capfd.readouterr().out.count("a worker's print goes nowhere") == 3  # only the 3 runs here printed


def test_auto_uses_the_idle_cores_only(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.7, 1.0, 1.0))
    assert parallel.idle_cores() == 0 and parallel.choose_processes(9) == 1   # a core busy: one process
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 1.0, 1.0))
    assert parallel.choose_processes(9) == 2 and parallel.choose_processes(1) == 1
    assert parallel.choose_processes(9, processes=1) == 1 and parallel.choose_processes(2, processes=8) == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "two"])
def test_a_bad_process_count_is_refused(bad):
    with pytest.raises(ValueError, match=r"processes must be 'auto' or a whole number >= 1.*got"):
        parallel.map_runs(train_one, [0], processes=bad)


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be a function of one item, got int"):
        parallel.map_runs(3, [0])
