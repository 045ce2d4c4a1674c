"""helpers/checks/nb02_bptt.py: rnn_backward (BPTT over all T steps), the right answer, each wrong
accumulation through time named, other seeds and sizes (the hidden tests), and the built-in stand-in."""
import pytest
import torch

from helpers import checks

from .util import fails


def _bptt(carry=True, accumulate=True, every_output=True, time_scale=1.0):
    """A backward pass over T steps; the flags switch on one classic mistake each."""
    def rnn_backward(dO, inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        Hs = [H]
        for X_t in inputs:
            Hs.append(torch.tanh(X_t @ W_xh + Hs[-1] @ W_hh + b_h))
        T = len(inputs)
        dO = dO.reshape(T, -1, dO.shape[-1])
        grads = [torch.zeros_like(p) for p in params]
        dH_next = torch.zeros_like(H)
        for t in reversed(range(T)):
            shares = [None, None, None, Hs[t + 1].T @ dO[t], dO[t].sum(0)]
            dH = (dO[t] @ W_hq.T if every_output or t == T - 1 else 0) + (dH_next if carry else 0)
            dZ = dH * (1 - Hs[t + 1] ** 2)
            shares[:3] = inputs[t].T @ dZ, Hs[t].T @ dZ, dZ.sum(0)
            dH_next = dZ @ W_hh.T
            for i, share in enumerate(shares):
                grads[i] = grads[i] + share / time_scale if accumulate else share
        return grads
    return rnn_backward


rnn_backward = _bptt()
CORRECT = {"check_rnn_backward": rnn_backward}


@pytest.mark.parametrize("wrong, phrases", [
    (_bptt(carry=False), ["dW_xh", "gradient from later steps is missing"]),
    (_bptt(accumulate=False), ["share of step 1", "+="]),
    (_bptt(every_output=False), ["only the last step's output reaches the hidden state"]),
    (_bptt(time_scale=4.0), ["divided", "number of steps T"]),
    (lambda dO, inputs, state, params: _bptt()(dO, inputs, state, params)[:4], ["five gradients", "a list of 4"]),
    (lambda dO, inputs, state, params: [g.T if g.dim() == 2 else g for g in _bptt()(dO, inputs, state, params)],
     ["dW_xh should have the shape of W_xh, (3, 5)", "(transposed)"]),
    (lambda dO, inputs, state, params: _bptt()(dO, inputs, state, params)[:2]
     + [torch.zeros(2, 5), *_bptt()(dO, inputs, state, params)[3:]], ["db_h", "sums over both"]),
])
def test_rnn_backward_mistakes(wrong, phrases):
    fails(checks.check_rnn_backward, wrong, *phrases)


def test_gradcheck_catches_a_backward_that_remembers_its_first_call():
    memory = {}

    def remembers(dO, inputs, state, params):
        key = tuple(inputs.shape)
        memory.setdefault(key, rnn_backward(dO, inputs, state, params))
        return memory[key]
    checks.check_rnn_backward(rnn_backward)  # the right answer passes first
    fails(checks.check_rnn_backward, remembers, "gradcheck", "keep state between calls")


@pytest.mark.parametrize("seed, sizes", [(1, (6, 2, 5, 3)), (2, (1, 4, 3, 3)), (3, None)])
def test_rnn_backward_hidden_cases(seed, sizes, capsys):
    checks.check_rnn_backward(rnn_backward, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.startswith("✓ rnn_backward")


def test_stand_in_equals_autograd_on_float32_and_is_used_when_yours_fails(capsys):
    def stub(*args):
        raise NotImplementedError("Exercise: write this part")
    stand_in = checks.yours_or_builtin("rnn_backward", stub)
    assert stand_in is not stub and "rnn_backward" in capsys.readouterr().out
    T, B, V, h = 5, 3, 4, 6
    inputs = torch.nn.functional.one_hot(torch.randint(V, (T, B)), V).float()
    H0, dO = torch.randn(B, h), torch.randn(T * B, V)
    params = [0.3 * torch.randn(s) for s in ((V, h), (h, h), (h,), (h, V), (V,))]
    for got, want in zip(stand_in(dO, inputs, (H0,), params), rnn_backward(dO, inputs, (H0,), params)):
        assert torch.allclose(got, want, atol=1e-5)
    assert checks.yours_or_builtin("rnn_backward", rnn_backward) is rnn_backward
