"""helpers/checks/nb03_mistakes.py: the reference rnn_2 is nn.RNN(num_layers=2) and equals rnn_2 written
by hand; each classic mistake, computed there by PyTorch's modules, equals the mistake written by hand
as a learner writes it; no mistake computes what the reference computes; no hand-written forward."""
import ast
import inspect

import pytest
import torch

from helpers.checks import nb03_mistakes
from helpers.checks.nb03_mistakes import MISTAKES, param_shapes_2, rnn_2_case, rnn_2_reference

CASES = [(5, 4, 3, 2, 0), (4, 4, 3, 2, 1), (6, 3, 5, 4, 7), (3, 3, 4, 1, 8)]


def by_hand(inputs, state, params, act1=torch.tanh, act2=torch.tanh, out_act=None, reuse=(), reads="H2",
            layer1_prev="H2_never", layer2_in="H1_t", layer2_prev="H2", carried=("H1", "H2"), start=None):
    """rnn_2 written out by hand with one or more slips (the defaults are right)."""
    W = dict(zip(nb03_mistakes.PARAM_NAMES_2, params))
    for name in reuse:
        W[name.replace("1", "2")] = W[name]
    H1_0, H2_0 = state if start is None else start
    H1, H2, outputs = H1_0, H2_0, []
    for X in inputs:
        H1_prev = H1
        H1 = act1(X @ W["W_xh1"] + (H2 if layer1_prev == "H2" else H1) @ W["W_hh1"] + W["b_h1"])
        inp2 = {"H1_t": H1, "H1_t-1": H1_prev, "X_t": X}[layer2_in]
        prev2 = {"H2": H2, "H1_t": H1, "H1_t-1": H1_prev}[layer2_prev]
        H2 = act2(inp2 @ W["W_xh2"] + prev2 @ W["W_hh2"] + W["b_h2"])
        Y = (H1 if reads == "H1" else H2) @ W["W_hq"] + W["b_q"]
        outputs.append(out_act(Y) if out_act else Y)
        H1 = H1 if "H1" in carried else H1_0
        H2 = H2 if "H2" in carried else H2_0
    return torch.cat(outputs, dim=0), (H1, H2)


def linear(t):
    return t


def zeros(state):
    return tuple(torch.zeros_like(s) for s in state)


# the hand-written twin of each entry of MISTAKES, in the same order
TWINS = [
    lambda i, s, p: by_hand(i, s, p, reuse=("W_xh1", "W_hh1", "b_h1")),
    lambda i, s, p: by_hand(i, s, p, reuse=("W_xh1",)),
    lambda i, s, p: by_hand(i, s, p, reuse=("W_hh1", "b_h1")),
    lambda i, s, p: by_hand(i, s, p, reuse=("W_hh1",)),
    lambda i, s, p: by_hand(i, s, p, layer1_prev="H2", layer2_prev="H1_t", start=(s[0], s[0])),
    lambda i, s, p: by_hand(i, s, p, layer1_prev="H2", layer2_prev="H1_t", start=(s[1], s[1])),
    lambda i, s, p: by_hand(i, s, p, layer1_prev="H2"),
    lambda i, s, p: by_hand(i, s, p, layer2_prev="H1_t"),
    lambda i, s, p: by_hand(i, s, p, layer2_prev="H1_t-1"),
    lambda i, s, p: by_hand(i, s, p, reads="H1"),
    lambda i, s, p: by_hand(i, s, p, layer2_in="X_t"),
    lambda i, s, p: by_hand(i, s, p, layer2_in="H1_t-1"),
    lambda i, s, p: by_hand(i, s, p, carried=()),
    lambda i, s, p: by_hand(i, s, p, carried=("H1",)),
    lambda i, s, p: by_hand(i, s, p, carried=("H2",)),
    lambda i, s, p: by_hand(i, s, p, carried=(), start=zeros(s)),
    lambda i, s, p: by_hand(i, s, p, start=zeros(s)),
    lambda i, s, p: by_hand(i, s, p, act1=linear, act2=linear),
    lambda i, s, p: by_hand(i, s, p, act1=linear),
    lambda i, s, p: by_hand(i, s, p, act2=linear),
    lambda i, s, p: by_hand(i, s, p, act1=torch.relu, act2=torch.relu),
    lambda i, s, p: by_hand(i, s, p, act1=torch.sigmoid, act2=torch.sigmoid),
    lambda i, s, p: by_hand(i, s, p, out_act=torch.tanh),
]


@pytest.mark.parametrize("V, h, T, B, seed", CASES)
def test_reference_is_rnn_2_by_hand(V, h, T, B, seed):
    case = rnn_2_case(V, h, T, B, seed)
    expected, (H1, H2) = by_hand(*case)
    with torch.no_grad():
        got, (got_H1, got_H2) = rnn_2_reference(*case)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(got_H1, H1, atol=1e-6) and torch.allclose(got_H2, H2, atol=1e-6)


def test_parameter_shapes_come_from_nn_rnn():
    assert param_shapes_2(5, 4) == [(5, 4), (4, 4), (4,), (4, 4), (4, 4), (4,), (4, 5), (5,)]


@pytest.mark.parametrize("index", range(len(MISTAKES)))
@pytest.mark.parametrize("V, h, T, B, seed", CASES)
def test_each_mistake_equals_its_hand_written_twin_and_differs_from_the_reference(index, V, h, T, B, seed):
    case = rnn_2_case(V, h, T, B, seed)
    wrong, _ = MISTAKES[index]
    try:
        twin, _ = TWINS[index](*case)
    except RuntimeError:  # a shape error when vocab_size != num_hiddens: PyTorch's version fails too
        with pytest.raises(RuntimeError), torch.no_grad():
            wrong(*case)
        return
    with torch.no_grad():
        got = wrong(*case)
        reference, _ = rnn_2_reference(*case)
    assert torch.allclose(got, twin, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(got, reference, atol=1e-3)


def test_no_hand_written_forward_in_the_module():
    """The module computes with PyTorch's modules: its code has no matrix product (`@`) at all."""
    tree = ast.parse(inspect.getsource(nb03_mistakes))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.MatMult)]
    assert len(TWINS) == len(MISTAKES)
