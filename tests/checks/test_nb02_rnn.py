"""helpers/checks/nb02_rnn.py: rnn_step and rnn_step_backward, right answers and each
classic mistake, other seeds and sizes (the hidden tests), and the built-in stand-ins."""
import pytest
import torch

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def rnn_step(X_t, H, W_xh, W_hh, b_h):
    return torch.tanh(X_t @ W_xh + H @ W_hh + b_h)



def rnn_step_backward(dH_new, X_t, H, W_xh, W_hh, b_h):
    H_new = torch.tanh(X_t @ W_xh + H @ W_hh + b_h)
    dZ = dH_new * (1 - H_new ** 2)
    return dZ @ W_xh.T, dZ @ W_hh.T, X_t.T @ dZ, H.T @ dZ, dZ.sum(dim=0)


CORRECT = {"check_rnn_step": rnn_step, "check_rnn_step_backward": rnn_step_backward}


def _backward(change):
    def backward(dH_new, X_t, H, W_xh, W_hh, b_h):
        H_new = torch.tanh(X_t @ W_xh + H @ W_hh + b_h)
        return change(dH_new, X_t, H, W_xh, W_hh, b_h, H_new)
    return backward


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


@pytest.mark.parametrize("seed, sizes", [(3, (5, 2, 3)), (4, (1, 7, 7)), (5, None)])
def test_rnn_step_hidden_cases(seed, sizes, capsys):
    checks.check_rnn_step(rnn_step, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.startswith("✓ rnn_step")


def test_rnn_step_hidden_case_catches_hard_coded_sizes():
    def hard_coded(X, H, Wx, Wh, b):
        return torch.tanh(X @ Wx + H @ Wh + b)[:, :4] if H.shape[1] == 4 else torch.zeros(2, 4)
    fails(lambda fn: checks.check_rnn_step(fn, seed=3, sizes=(5, 2, 3)), hard_coded, "should be (5, 3)")


@pytest.mark.parametrize("wrong, phrases", [
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (d @ Wx.T, d @ Wh.T, X.T @ d, H.T @ d, d.sum(0))),
     ["gradcheck", "disagrees", "tanh derivative is missing"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, H.T @ dZ, dZ.sum(0)))(
        d * (1 - H ** 2))), ["previous state H"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh, X.T @ dZ, H.T @ dZ, dZ.sum(0)))(
        d * (1 - Hn ** 2))), ["your dH:", "W_hh.T"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, H.T @ dZ, dZ.mean(0)))(
        d * (1 - Hn ** 2))), ["your db_h", "averaged over the batch"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, dZ.T @ H, dZ.sum(0)))(
        d * (1 - Hn ** 2))), ["your dW_hh", "transposed"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, H.T @ dZ, dZ))(
        d * (1 - Hn ** 2))), ["db_h should have the shape of b_h, (4,)", "sums dZ over the batch"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, dZ.T @ X, H.T @ dZ, dZ.sum(0)))(
        d * (1 - Hn ** 2))), ["dW_xh should have the shape of W_xh, (3, 4)", "transposed"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, H.T @ dZ))(
        d * (1 - Hn ** 2))), ["tuple of five gradients", "a tuple of 4"]),
    (_backward(lambda d, X, H, Wx, Wh, b, Hn: (lambda dZ: (dZ @ Wx.T, dZ @ Wh.T, X.T @ dZ, H.T @ dZ, dZ.sum(0)))(
        d * Hn * (1 - Hn))), ["sigmoid's derivative"]),
])
def test_rnn_step_backward_mistakes(wrong, phrases):
    fails(checks.check_rnn_step_backward, wrong, *phrases)


def test_rnn_step_backward_runs_without_autograd():
    def uses_autograd(dH_new, X_t, H, W_xh, W_hh, b_h):
        inputs = [t.requires_grad_(True) for t in (X_t, H, W_xh, W_hh, b_h)]
        H_new = torch.tanh(inputs[0] @ inputs[2] + inputs[1] @ inputs[3] + inputs[4])
        return torch.autograd.grad(H_new, inputs, dH_new)
    fails(checks.check_rnn_step_backward, uses_autograd, "raised RuntimeError")


@pytest.mark.parametrize("seed, sizes", [(3, (5, 2, 3)), (4, (1, 6, 6))])
def test_rnn_step_backward_hidden_cases(seed, sizes, capsys):
    checks.check_rnn_step_backward(rnn_step_backward, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.startswith("✓ rnn_step_backward")


def test_builtins_pass_their_checks(capsys):
    from helpers.checks.nb02_rnn import autograd_step_backward, rnn_cell_step
    checks.check_rnn_step(rnn_cell_step)
    checks.check_rnn_step_backward(autograd_step_backward)
    assert capsys.readouterr().out.count("✓") == 2
