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


class _Counting:
    """An iterable of minibatches that counts how many were taken."""

    def __init__(self, batches):
        self.batches, self.taken = batches, 0

    def __iter__(self):
        for batch in self.batches:
            self.taken += 1
            yield batch


def test_smoke_knob_cuts_every_epoch_to_two_minibatches(monkeypatch):
    """$DEEP_RNN_SMOKE (the grading test's knob) stops train_epoch_ch8 and evaluate_perplexity early."""
    import helpers
    from helpers.utils import smoke_batches

    monkeypatch.delenv("DEEP_RNN_SMOKE", raising=False)
    assert smoke_batches() is None
    monkeypatch.setenv("DEEP_RNN_SMOKE", "0")
    assert smoke_batches() is None
    batches = list(helpers.SeqDataLoader.from_corpus(list(range(5)) * 200, None, 2, 5))
    assert len(batches) > 10
    net = helpers.stacked_rnn("RNN", 5, 8, 1)
    full = _Counting(batches)
    helpers.evaluate_perplexity(net, full, "cpu")
    assert full.taken == len(batches)

    monkeypatch.setenv("DEEP_RNN_SMOKE", "1")
    assert smoke_batches() == 2
    train, valid = _Counting(batches), _Counting(batches)
    helpers.train_ch8(net, train, None, 0.1, 3, "cpu", valid_iter=valid, verbose=False, plot=False,
                      precision="fp32")
    # train_ch8 reads one minibatch of each iterator first to check it, then 2 per epoch.
    assert train.taken == 1 + 3 * 2 and valid.taken == 1 + 3 * 2
