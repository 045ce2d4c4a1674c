"""helpers/surprisal.py: per-character -log p under a model, its top guesses, and the coloured HTML."""
import math

import pytest
import torch
from torch import nn

from helpers import surprisal
from helpers.data import Vocab
from helpers.evaluation import evaluate_perplexity
from helpers.models import RNNModel


def _model():
    torch.manual_seed(0)
    return RNNModel(nn.RNN(6, 8), 6)


def test_surprisal_is_minus_log_p_with_the_state_carried():
    vocab = Vocab(list("abcde"))
    net, tokens = _model(), [1, 2, 3, 4, 5, 1, 2, 3, 4]
    s, guesses = surprisal.surprisal(net, tokens, vocab, torch.device("cpu"), top=3)
    assert s.shape == (8,) and (s > 0).all() and len(guesses) == 8 and len(guesses[0]) == 3
    X, Y = torch.tensor([tokens[:-1]]), torch.tensor([tokens[1:]])
    ppl = evaluate_perplexity(net, [(X, Y)], torch.device("cpu"))  # one batch: the same characters, same state
    assert math.isclose(math.exp(s.mean().item()), ppl, rel_tol=1e-5)
    probs = [p for _, p in guesses[0]]
    assert probs == sorted(probs, reverse=True) and all(isinstance(c, str) for c, _ in guesses[0])


def test_html_colours_every_character_and_says_the_guesses():
    page = surprisal.surprisal_html("a<b", [0.0, 1.0, 2.0], [[("x", 0.5)]] * 3, scale=2.0, title="t")
    assert page.count("<span") == 3 and "&lt;" in page and "rgb(255,255,255)" in page and "rgb(255,0,0)" in page
    assert "guesses: &#x27;x&#x27; 50%" in page and "<b>t</b>" in page


@pytest.mark.parametrize("call, phrase", [
    (lambda: surprisal.surprisal(_model(), [1], Vocab(list("abcde")), torch.device("cpu")), "at least 2"),
    (lambda: surprisal.surprisal(_model(), [1, 2], Vocab(list("abcde")), torch.device("cpu"), top=9), "top must"),
    (lambda: surprisal.surprisal_html("ab", [1.0]), "one entry per character"),
])
def test_bad_input_is_refused(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call()
