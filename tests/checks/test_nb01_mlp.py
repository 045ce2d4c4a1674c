"""helpers/checks/nb01_mlp.py: make_windows and window_features, right answers and each
classic mistake, other seeds and sizes (the hidden tests), and the built-in stand-ins."""
import pytest
import torch
from torch.nn import functional as F

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def make_windows(corpus, k):
    n = len(corpus) - k
    return (torch.tensor([corpus[i:i + k] for i in range(n)]),
            torch.tensor([corpus[i + k] for i in range(n)]))



def window_features(windows, W_xh, vocab_size):
    k = windows.shape[1]
    return W_xh[torch.arange(k) * vocab_size + windows].sum(dim=1)


CORRECT = {"check_make_windows": make_windows, "check_window_features": window_features}


def _windows(transform):
    def make(corpus, k):
        return transform(corpus, k, len(corpus) - k)
    return make


@pytest.mark.parametrize("wrong, phrases", [
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n - 1)]),
                               torch.tensor([c[i + k] for i in range(n - 1)]))),
     ["X should be (n, k) = (7, 3)", "one window too few", "you returned (6, 3)"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]).T,
                               torch.tensor([c[i + k] for i in range(n)]))), ["transposed"]),
    (_windows(lambda c, k, n: (torch.Tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([c[i + k] for i in range(n)]))), ["torch.long", "torch.float32"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([c[i + k - 1] for i in range(n)]))),
     ["y[0] should be corpus[3] = 1", "last token inside the window"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i + 1:i + k + 1] for i in range(n)]),
                               torch.tensor([c[i + k] for i in range(n)]))),
     ["X[0] should be corpus[0:3] = [3, 1, 4]", "one token too late"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([[c[i + k]] for i in range(n)]))), ["(7,)", "extra axis"]),
    (_windows(lambda c, k, n: ([c[i:i + k] for i in range(n)], [c[i + k] for i in range(n)])),
     ["should be a torch tensor"]),
    (_windows(lambda c, k, n: torch.tensor([c[i:i + k] for i in range(n)])), ["pair (X, y)"]),
])
def test_make_windows_mistakes(wrong, phrases):
    fails(checks.check_make_windows, wrong, *phrases)


@pytest.mark.parametrize("seed, sizes", [(3, (50, 7)), (4, (9, 1)), (5, None)])
def test_make_windows_hidden_cases(seed, sizes, capsys):
    checks.check_make_windows(make_windows, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.startswith("✓ make_windows")
    hard_coded = {tuple(c): make_windows(c, k) for c, k in [([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 3),
                                                            ([7, 0, 2, 5, 1], 1), ([2, 7, 1, 8, 2, 8, 1, 8], 5)]}
    fails(lambda fn: checks.check_make_windows(fn, seed=seed, sizes=sizes),
          lambda corpus, k: hard_coded.get(tuple(corpus), (torch.zeros(1, 1, dtype=torch.long),) * 2))


def test_make_windows_builtin_passes_its_check(capsys):
    from helpers.checks.nb01_mlp import unfold_windows
    checks.check_make_windows(unfold_windows)
    checks.check_make_windows(unfold_windows, seed=9, sizes=(40, 6))


@pytest.mark.parametrize("wrong, phrases", [
    (lambda w, W, V: F.one_hot(w, V).float().reshape(len(w), -1) @ W, ["called F.one_hot", "pick"]),
    (lambda w, W, V: torch.eye(V)[w].reshape(len(w), -1) @ W, ["called F.one_hot"]),
    (lambda w, W, V: W[w].sum(dim=1), ["rows of position 0", "j * vocab_size + x"]),
    (lambda w, W, V: W[w * w.shape[1] + torch.arange(w.shape[1])].sum(dim=1), ["not x * k + j"]),
    (lambda w, W, V: W[torch.arange(w.shape[1]) * V + w].mean(dim=1), ["their mean"]),
    (lambda w, W, V: W[torch.arange(w.shape[1]) * V + w], ["should be (4, 6)", "(4, 3, 6)", "sum over the k"]),
    (lambda w, W, V: W.detach()[torch.arange(w.shape[1]) * V + w].sum(dim=1), ["no gradient reaches W_xh"]),
])
def test_window_features_mistakes(wrong, phrases):
    fails(checks.check_window_features, wrong, *phrases)


@pytest.mark.parametrize("seed, sizes", [(3, (5, 10, 28, 8)), (4, (1, 2, 3, 1))])
def test_window_features_hidden_cases(seed, sizes, capsys):
    checks.check_window_features(window_features, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.startswith("✓ window_features")


def test_window_features_builtin_is_the_one_hot_product():
    from helpers.checks.nb01_mlp import one_hot_features
    windows, W = torch.tensor([[1, 0, 2]]), torch.randn(9, 4)
    assert torch.allclose(one_hot_features(windows, W, 3), window_features(windows, W, 3))
