"""helpers/checks/nb02_rnn.py: rnn_step and init_rnn_state, right answers and each classic mistake."""
import pytest
import torch

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def rnn_step(X_t, H, W_xh, W_hh, b_h):
    return torch.tanh(X_t @ W_xh + H @ W_hh + b_h)


def init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)



CORRECT = {"check_rnn_step": rnn_step, "check_init_rnn_state": init_rnn_state}


@pytest.mark.parametrize("wrong, phrases", [
    (lambda X, H, Wx, Wh, b: X @ Wx + H @ Wh + b, ["missing tanh"]),
    (lambda X, H, Wx, Wh, b: torch.relu(X @ Wx + H @ Wh + b), ["relu"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + b), ["previous state H is missing"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh), ["bias b_h is missing"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh.T + b), ["W_hh.T"]),
    (lambda X, H, Wx, Wh, b: (torch.tanh(X @ Wx + H @ Wh + b),), ["tuple of 1"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh + b).detach(), ["no gradient reaches"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx.detach() + H @ Wh + b), ["no gradient reaches W_xh"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(Wx @ X + H @ Wh + b), ["raised RuntimeError", "Hint: shapes"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh + b).T, ["(2, 4)", "you returned (4, 2)"]),
])
def test_rnn_step_mistakes(wrong, phrases):
    fails(checks.check_rnn_step, wrong, *phrases)


@pytest.mark.parametrize("wrong, phrases", [
    (lambda B, h, d: torch.zeros((B, h), device=d), ["trailing comma"]),
    (lambda B, h, d: (torch.ones((B, h), device=d),), ["all zeros"]),
    (lambda B, h, d: (torch.zeros((h, B), device=d),), ["transposed", "(2, 4)", "(4, 2)"]),
    (lambda B, h, d: (torch.zeros((B, h)), torch.zeros((B, h))), ["tuple of 1"]),
    (lambda B, h, d: (torch.zeros((B, h), dtype=torch.long),), ["float"]),
])
def test_init_rnn_state_mistakes(wrong, phrases):
    fails(checks.check_init_rnn_state, wrong, *phrases)
