"""helpers/checks/nb04_lstm_step.py: lstm_step from the four gate blocks, right answers and each classic
mistake (every wrong gate order is named), other seeds and sizes, the nn.LSTMCell stand-in."""
import itertools

import pytest
import torch
from torch import nn

from helpers import checks
from helpers.checks.nb04_lstm_step import torch_lstm_step

from .util import fails


def lstm_step(X_t, H, C, weight_ih, weight_hh, bias_ih, bias_hh, order="ifgo", g_act=torch.tanh,
              use_f=True, use_i=True, use_o=True, tanh_C=True, b_hh=True):
    gates = X_t @ weight_ih.T + bias_ih + H @ weight_hh.T + (bias_hh if b_hh else 0)
    blocks = dict(zip(order, gates.chunk(4, dim=1)))
    i, f, g, o = torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"]), g_act(blocks["g"]), torch.sigmoid(blocks["o"])
    C_new = (f if use_f else 1) * C + (i if use_i else 1) * g
    H_new = (o if use_o else 1) * (torch.tanh(C_new) if tanh_C else C_new)
    return H_new, C_new


CORRECT = {"check_lstm_step": lstm_step}


def test_lstm_step_by_hand_equals_nn_lstm_cell():
    cell = nn.LSTMCell(3, 4)
    X, H, C = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        expected = cell(X, (H, C))
        got = lstm_step(X, H, C, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, expected))


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("ifgo") if "".join(p) != "ifgo"])
def test_every_wrong_gate_order_is_named(order):
    message = fails(checks.check_lstm_step, lambda *a: lstm_step(*a, order=order), "PyTorch's order is (i, f, g, o)")
    assert f"you split the gates as ({', '.join(order)})" in message


@pytest.mark.parametrize("wrong, phrases", [
    (lambda *a: lstm_step(*a, b_hh=False), ["bias_hh is missing"]),
    (lambda *a: lstm_step(*a, use_f=False), ["forget gate is missing"]),
    (lambda *a: lstm_step(*a, use_i=False), ["input gate is missing"]),
    (lambda *a: lstm_step(*a, use_o=False), ["output gate is missing"]),
    (lambda *a: lstm_step(*a, tanh_C=False), ["C_new is right but H_new is not", "tanh on the memory cell"]),
    (lambda *a: lstm_step(*a, g_act=torch.sigmoid), ["differ from nn.LSTMCell's", "g = tanh"]),
    (lambda X, H, C, *w: lstm_step(X, H, H, *w), ["read H where it needs the old memory cell"]),
    (lambda *a: lstm_step(*a)[::-1], ["you returned (C_new, H_new)"]),
    (lambda *a: lstm_step(*a)[0], ["pair (H_new, C_new)"]),
    (lambda X, H, C, Wi, Wh, bi, bh: lstm_step(X, H, C, Wi.T, Wh.T, bi, bh), ["raised RuntimeError", "(4h, d)"]),
    (lambda *a: tuple(t.detach() for t in lstm_step(*a)), ["no gradient reaches"]),
])
def test_lstm_step_mistakes(wrong, phrases):
    fails(checks.check_lstm_step, wrong, *phrases)


def test_lstm_step_with_memory_between_calls_fails_the_sequence_test():
    memory = {}

    def stateful(X, H, C, *w):
        H = memory.get("H", H)
        H_new, C_new = lstm_step(X, H, C, *w)
        memory["H"] = H_new
        return H_new, C_new
    fails(checks.check_lstm_step, stateful, "lstm_step")


@pytest.mark.parametrize("seed, sizes", [(3, (5, 2, 3)), (4, (1, 8, 8)), (5, None)])
def test_lstm_step_hidden_cases(seed, sizes, capsys):
    checks.check_lstm_step(lstm_step, seed=seed, sizes=sizes)
    checks.check_lstm_step(torch_lstm_step, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.count("✓ lstm_step") == 2
