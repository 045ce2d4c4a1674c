"""helpers/checks/nb01_mlp.py: perplexity and make_windows, right answers and each classic mistake."""
import math

import pytest
import torch

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def perplexity(mean_loss):
    return math.exp(mean_loss)


def make_windows(corpus, k):
    n = len(corpus) - k
    return (torch.tensor([corpus[i:i + k] for i in range(n)]),
            torch.tensor([corpus[i + k] for i in range(n)]))



CORRECT = {"check_perplexity": perplexity, "check_make_windows": make_windows}


@pytest.mark.parametrize("wrong, phrase", [
    (lambda loss: loss, "the loss itself"),
    (lambda loss: 2 ** loss, "natural log"),
    (lambda loss: math.exp(-loss), "reciprocal"),
])
def test_perplexity_mistakes(wrong, phrase):
    message = fails(checks.check_perplexity, wrong, phrase)
    assert "should be exp(" in message


def test_perplexity_must_return_a_number():
    fails(checks.check_perplexity, lambda loss: [math.exp(loss)], "should return a float", "a list of 1")


def test_perplexity_accepts_a_one_element_tensor(capsys):
    checks.check_perplexity(lambda loss: torch.exp(torch.tensor(loss, dtype=torch.float64)))
    assert capsys.readouterr().out.startswith("✓ perplexity")


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
