"""helpers/checks/nb06_depth.py: stack_step (dropout between layers, checked by its effect) and
residual_step (against RNNStack(residual=True)); right answers, each classic mistake, other seeds,
sizes and cells (the hidden tests), and the PyTorch / RNNStack stand-ins."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import checks
from helpers.checks.nb06_depth import make_cells, stack_residual_step, torch_stack_step

from .util import fails


def stack_step(X_t, Hs, cells, dropout, *, where="between", carry_dropped=False):
    up, new_Hs = X_t, []
    L = len(cells)
    if where == "input":
        up = dropout(up)
    for l, (cell, H) in enumerate(zip(cells, Hs)):
        if where == "recurrent":
            H = dropout(H)
        H = cell(up, H)
        if l < L - 1 and where in ("between", "everywhere"):
            dropped = dropout(H)
            new_Hs.append(dropped if carry_dropped else H)
            up = dropped
        else:
            new_Hs.append(H)
            up = dropout(H) if where in ("top", "everywhere") and l == L - 1 else H
        if where == "F.dropout" and l < L - 1:
            up = F.dropout(H, dropout.p)
    return up, tuple(new_Hs)


def residual_step(X_t, Hs, cells, *, first=False, residual=True, top_residual=True, carry_sum=False):
    up, new_Hs = X_t, []
    for l, (cell, H) in enumerate(zip(cells, Hs)):
        H = cell(up, H)
        top = l == len(cells) - 1
        summed = H + up if residual and (l > 0 or first) and (top_residual or not top) else H
        new_Hs.append(summed if carry_sum else H)
        up = summed
    return up, tuple(new_Hs)


CORRECT = {"check_stack_step": stack_step, "check_residual_step": residual_step}


def test_stack_step_in_eval_mode_equals_nn_rnn():
    cells = make_cells("RNN", 4, 5, 3, 0)
    X, Hs = torch.randn(2, 4), tuple(torch.randn(2, 5) for _ in range(3))
    rnn = nn.RNN(4, 5, num_layers=3)
    with torch.no_grad():
        for l, cell in enumerate(cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(rnn, f"{name}_l{l}").copy_(getattr(cell, name))
        Y, H_n = rnn(X[None], torch.stack(Hs))
        top, new_Hs = stack_step(X, Hs, cells, nn.Dropout(0.5).eval())
    assert torch.allclose(top, Y[0], atol=1e-6) and torch.allclose(torch.stack(new_Hs), H_n, atol=1e-6)


@pytest.mark.parametrize("where, phrases", [
    ("input", ["dropped the input X_t"]),
    ("recurrent", ["recurrent path", "layer 1's previous state"]),
    ("top", ["dropped the top layer's output"]),
    ("everywhere", ["dropped the top layer's output"]),
    ("none", ["never applied"]),
    ("F.dropout", ["eval mode", "F.dropout(x, p) drops even in eval mode"]),
])
def test_stack_step_dropout_in_the_wrong_place(where, phrases):
    fails(checks.check_stack_step, lambda *a: stack_step(*a, where=where), *phrases)


def test_stack_step_carrying_the_dropped_state():
    fails(checks.check_stack_step, lambda *a: stack_step(*a, carry_dropped=True),
          "carries the dropped copy of its state")


@pytest.mark.parametrize("wrong, phrases", [
    (lambda X, Hs, cells, dropout: stack_step(X, Hs, cells, dropout)[0], ["pair (top, new_Hs)"]),
    (lambda X, Hs, cells, dropout: (stack_step(X, Hs, cells, dropout)[0], Hs[:2]), ["3 tensors"]),
    (lambda X, Hs, cells, dropout: (stack_step(X, Hs, cells, dropout)[0], Hs), ["eval mode", "differs"]),
])
def test_stack_step_wrong_results(wrong, phrases):
    fails(checks.check_stack_step, wrong, *phrases)


@pytest.mark.parametrize("wrong, phrases", [
    (lambda *a: residual_step(*a, residual=False), ["no residual connection"]),
    (lambda *a: residual_step(*a, top_residual=False), ["top must include the top layer's residual"]),
    (lambda *a: residual_step(*a, carry_sum=True), ["carried the residual sum"]),
    (lambda *a: (residual_step(*a)[0], residual_step(*a)[1][::-1]), ["differ from RNNStack(residual=True)"]),
])
def test_residual_step_mistakes(wrong, phrases):
    fails(checks.check_residual_step, wrong, *phrases)


def test_residual_on_layer_1_when_widths_allow():
    fails(lambda fn: checks.check_residual_step(fn, seed=2, sizes=(2, 5, 5, 3)),
          lambda *a: residual_step(*a, first=True), "layer 1 gets no residual connection")


def test_residual_step_shape_error_is_quoted():
    fails(checks.check_residual_step, lambda *a: residual_step(*a, first=True), "raised RuntimeError")


@pytest.mark.parametrize("seed, sizes, cell", [(3, (2, 3, 4, 2), "RNN"), (4, (5, 6, 3, 4), "GRU"), (5, None, "GRU"),
                                               (6, (1, 2, 2, 1), "RNN")])
def test_hidden_cases_and_stand_ins(seed, sizes, cell, capsys):
    checks.check_stack_step(stack_step, seed=seed, sizes=sizes, cell=cell)
    checks.check_residual_step(residual_step, seed=seed, sizes=sizes, cell=cell)
    checks.check_residual_step(stack_residual_step, seed=seed, sizes=sizes, cell=cell)
    assert capsys.readouterr().out.count("✓") == 3
    # nn.RNN(dropout=) draws its own masks, out of the recording module's sight: compare in eval mode
    cells = make_cells(cell, *(sizes or (3, 4, 5, 3))[1:], seed)
    B, d = (sizes or (3, 4))[:2]
    X, Hs = torch.randn(B, d), tuple(torch.randn(B, cells[0].hidden_size) for _ in cells)
    with torch.no_grad():
        ours = stack_step(X, Hs, cells, nn.Dropout(0.5).eval())
        theirs = torch_stack_step(X, Hs, cells, nn.Dropout(0.5).eval())
    assert torch.allclose(ours[0], theirs[0], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours[1], theirs[1]))


def test_stand_ins_pass_gradients_to_the_cells():
    cells = make_cells("GRU", 3, 4, 2, 0)
    X, Hs = torch.randn(2, 3), tuple(torch.randn(2, 4) for _ in range(2))
    for step in (lambda: torch_stack_step(X, Hs, cells, nn.Dropout(0.3)), lambda: stack_residual_step(X, Hs, cells)):
        cells.zero_grad()
        top, _ = step()
        top.sum().backward()
        assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in cells.parameters())


def test_stack_step_stand_in_drops_between_layers_in_training_mode():
    cells = make_cells("RNN", 3, 4, 2, 0)
    X, Hs = torch.randn(64, 3), tuple(torch.randn(64, 4) for _ in range(2))
    with torch.no_grad():
        _, (H1, H2) = torch_stack_step(X, Hs, cells, nn.Dropout(0.5))
        _, (E1, E2) = torch_stack_step(X, Hs, cells, nn.Dropout(0.5).eval())
    assert torch.allclose(H1, E1) and not torch.allclose(H2, E2)


def one_layer_width(num_params, vocab_size, embed_size, *, skip=()):
    V, E = vocab_size, embed_size
    parts = {"embedding": lambda h: V * E, "lstm": lambda h: 4 * h * (E + h + 2),
             "one bias": lambda h: -4 * h if "one bias" in skip else 0, "output": lambda h: h * V + V}
    count = lambda h: sum(f(h) for name, f in parts.items() if name not in skip)  # noqa: E731
    return min(range(1, 1000), key=lambda h: abs(count(h) - num_params))


CORRECT["check_one_layer_width"] = one_layer_width


def test_stack_count_is_the_modules_numel():
    from helpers.checks.nb06_depth import stack_count
    from helpers.stacks import RNNStack
    assert stack_count(96, 66, 32) == sum(p.numel() for p in RNNStack(66, 96, 1, embed_size=32).parameters())


@pytest.mark.parametrize("skip, phrase", [(("embedding",), "too large"),
                                          (("output",), "too large")])
def test_one_layer_width_mistakes(skip, phrase):
    fails(checks.check_one_layer_width, lambda n, V, E: one_layer_width(n, V, E, skip=skip), phrase, "come closer")


def test_one_layer_width_refuses_a_non_integer():
    fails(checks.check_one_layer_width, lambda n, V, E: 96.0, "whole number")


@pytest.mark.parametrize("seed, sizes", [(3, None), (4, None), (0, (123_456, 40, 16))])
def test_one_layer_width_hidden_cases_and_stand_in(seed, sizes, capsys):
    from helpers.checks.nb06_depth import bisect_width
    checks.check_one_layer_width(one_layer_width, seed=seed, sizes=sizes)
    checks.check_one_layer_width(bisect_width, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.count("✓") == 2
