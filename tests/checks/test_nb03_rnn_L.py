"""helpers/checks/nb03_rnn_L.py: rnn_L with per-layer hidden sizes, right answers and each classic
mistake, other seeds and sizes (the hidden tests), the stacked-nn.RNN stand-in."""
import pytest
import torch

from helpers import checks
from helpers.checks.nb03_rnn_L import rnn_L_case, rnn_L_reference, torch_rnn_L

from .util import fails


def rnn_L(inputs, state, params, *, reads_top=True, carry=True, below=True, keep_state=False):
    """rnn_L by hand (the notebook's); the keywords make one slip each."""
    *layer_params, W_hq, b_q = params
    layers = [layer_params[i:i + 3] for i in range(0, len(layer_params), 3)]
    state_in, state = tuple(state), list(state)
    outputs = []
    for X_t in inputs:
        H_below, bottom = X_t, None
        for l, (W_xh, W_hh, b_h) in enumerate(layers):
            prev = state[l] if carry else state_in[l]
            state[l] = torch.tanh((H_below if below else X_t) @ W_xh + prev @ W_hh + b_h)
            H_below = state[l]
            bottom = state[0]
        outputs.append((H_below if reads_top else bottom) @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (state_in if keep_state else tuple(state))


CORRECT = {"check_rnn_L": rnn_L}


def test_reference_is_rnn_L_by_hand():
    for V, hiddens, seed in [(5, (4, 3, 6), 0), (3, (2,), 1), (7, (3, 3, 3, 3), 2)]:
        case = rnn_L_case(V, hiddens, 4, 3, seed)
        expected, final = rnn_L(*case)
        with torch.no_grad():
            got, got_final = rnn_L_reference(*case)
        assert torch.allclose(got, expected, atol=1e-5)
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got_final, final))


def rnn_2_only(inputs, state, params):
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    return rnn_L(inputs, state, params)


@pytest.mark.parametrize("wrong, phrases", [
    (rnn_2_only, ["rnn_L raised ValueError", "three tensors per layer"]),
    (lambda i, s, p: rnn_L(i, s, p, reads_top=False), ["raised RuntimeError"]),
    (lambda i, s, p: rnn_L(i, s, p, carry=False), ["not carried across time steps"]),
    (lambda i, s, p: rnn_L(i, s, p, below=False), ["raised RuntimeError", "layer l reads layer l-1"]),
    (lambda i, s, p: rnn_L(i, s, p, keep_state=True), ["returned state is not", "equals the state you received"]),
    (lambda i, s, p: (rnn_L(i, s, p)[0], rnn_L(i, s, p)[1][::-1]), ["[(2, 4), (2, 3), (2, 6)]"]),
    (lambda i, s, p: (rnn_L(i, s, p)[0].reshape(i.shape[0], i.shape[1], -1), rnn_L(i, s, p)[1]),
     ["outputs should be (6, 5)", "not torch.stack"]),
    (lambda i, s, p: (rnn_L(i, s, p)[0], rnn_L(i, s, p)[1][-1]), ["tuple of 3 tensors"]),
    (lambda i, s, p: rnn_L(i, s, [t.detach() for t in p]), ["no gradient reaches"]),
])
def test_rnn_L_mistakes(wrong, phrases):
    fails(checks.check_rnn_L, wrong, *phrases)


def test_rnn_L_output_from_the_wrong_layer_with_equal_widths():
    def reads_bottom(inputs, state, params):  # runs when every layer has the same width
        return rnn_L(inputs, state, params, reads_top=False)
    fails(lambda fn: checks.check_rnn_L(fn, seed=3, sizes=(4, (3, 3, 3), 3, 2)), reads_bottom,
          "top layer's parameters (W_xh3, W_hh3, b_h3) get no gradient", "must read the top layer")


def test_rnn_L_state_upside_down_with_equal_widths():
    fails(lambda fn: checks.check_rnn_L(fn, seed=3, sizes=(4, (3, 3), 3, 2)),
          lambda i, s, p: (rnn_L(i, s, p)[0], rnn_L(i, s, p)[1][::-1]), "upside down")


@pytest.mark.parametrize("seed, sizes", [(3, (4, (2, 5, 3, 4), 3, 2)), (4, (9, (1,), 5, 1)), (5, None)])
def test_rnn_L_hidden_cases(seed, sizes, capsys):
    checks.check_rnn_L(rnn_L, seed=seed, sizes=sizes)
    checks.check_rnn_L(torch_rnn_L, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.count("✓ rnn_L") == 2


def test_rnn_L_builtin_trains_params():
    inputs, state, params = rnn_L_case(5, (4, 3), 3, 2, 0)
    params = [p.requires_grad_(True) for p in params]
    outputs, _ = torch_rnn_L(inputs, state, params)
    outputs.sum().backward()
    assert all(p.grad is not None for p in params)
