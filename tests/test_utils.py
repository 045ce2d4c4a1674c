"""helpers/utils.py: try_gpu, set_seed, Timer, Accumulator, and the one-thread setting of `import helpers`."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import helpers

ROOT = Path(__file__).resolve().parents[1]


def test_try_gpu_falls_back_to_cpu_and_set_seed_repeats():
    assert helpers.try_gpu(99) == torch.device("cpu")
    helpers.set_seed(3)
    a = torch.rand(3)
    helpers.set_seed(3)
    assert torch.equal(a, torch.rand(3))


@pytest.mark.parametrize("i", [-1, 0.5])
def test_try_gpu_refuses_an_index_that_is_not_a_gpu_number(i):
    with pytest.raises(ValueError, match=rf"try_gpu\(i\): i must be a GPU number >= 0 .*got {i}\. "
                                         r"try_gpu\(\) gives GPU 0"):
        helpers.try_gpu(i)


def test_accumulator_and_timer():
    acc = helpers.Accumulator(2)
    acc.add(1, torch.tensor(2.0))
    acc.add(3, 4)
    assert (acc[0], acc[1]) == (4.0, 6.0)
    timer = helpers.Timer()
    timer.stop()
    timer.stop()
    assert len(timer.cumsum()) == 2 and timer.cumsum()[-1] == pytest.approx(timer.sum())


@pytest.mark.slow
def test_import_helpers_sets_one_thread_when_omp_num_threads_is_unset():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    code = "import torch; default = torch.get_num_threads(); import helpers; print(default, torch.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    default, after = map(int, out.stdout.split())
    assert default in helpers.utils._default_thread_counts()  # torch's own choice is recognised
    assert after == 1


def test_one_thread_respects_the_users_choice(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    default, saved = max(helpers.utils._default_thread_counts()), torch.get_num_threads()
    try:
        torch.set_num_threads(default + 1)  # a number torch never picks by itself: the user's
        assert not helpers.utils.one_thread_unless_chosen() and torch.get_num_threads() == default + 1
        torch.set_num_threads(default)
        assert helpers.utils.one_thread_unless_chosen() and torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", str(default))
        torch.set_num_threads(default)
        assert not helpers.utils.one_thread_unless_chosen() and torch.get_num_threads() == default
    finally:
        torch.set_num_threads(saved)


def test_eval_mode_switches_dropout_off_and_brings_the_mode_back_also_after_an_error():
    net = torch.nn.Dropout(0.5)
    with helpers.utils.EvalMode(net) as inside:
        assert inside is net and not net.training
    assert net.training
    with pytest.raises(KeyboardInterrupt):
        with helpers.utils.EvalMode(net):
            raise KeyboardInterrupt
    assert net.training
    net.eval()
    with helpers.utils.EvalMode(net):
        pass
    assert not net.training
    with helpers.utils.EvalMode([torch.zeros(2)]):  # a scratch model's parameters: left alone
        pass


def test_physical_cores_are_counted_from_cpuinfo(monkeypatch):
    text = "".join(f"processor : {i}\nphysical id : {i // 4}\ncore id : {i % 4 // 2}\n\n" for i in range(8))
    monkeypatch.setattr(helpers.utils, "cpuinfo", lambda: text)
    assert helpers.utils._physical_cores() == 4  # 2 sockets x 2 cores, 2 threads each
    monkeypatch.setattr(helpers.utils, "cpuinfo", lambda: "")
    assert helpers.utils._physical_cores() == 0 and helpers.utils._default_thread_counts()


RELOAD = """
import importlib, torch
import helpers as d2l
torch.set_num_threads(3)  # the learner's own choice, after the import
train_ch8 = d2l.train_ch8
assert importlib.reload(d2l) is d2l
assert d2l.train_ch8 is train_ch8 and torch.get_num_threads() == 3
it, _, vocab = d2l.load_corpus_splits(8, 10, max_tokens=2000)
h = d2l.train_ch8(d2l.stacked_rnn("RNN", len(vocab), 8, 1), it, vocab, 1.0, 1, "cpu", verbose=False)
assert isinstance(h, d2l.History) and d2l.training.last_history is h
print("ok")
"""


@pytest.mark.slow
def test_importlib_reload_of_helpers_keeps_every_name_and_the_learners_thread_choice():
    """Issue 22, item 12: a notebook that re-runs its import cell with importlib.reload(helpers)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", RELOAD], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr
