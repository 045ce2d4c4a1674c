"""Checks for notebook 04's `lstm_step`: one LSTM time step written from the four gate blocks of
PyTorch's `weight_ih` / `weight_hh` (`chunk(4)` in PyTorch's order i, f, g, o).

The reference is `nn.LSTMCell` loaded with the same tensors; over a sequence, `nn.LSTM`. A wrong
gate order is recognised by loading `nn.LSTMCell` with the blocks permuted; a gate that was left
out, by a bias that saturates it (sigmoid(50) = 1 in float32).
"""
import itertools

import torch
from torch import nn

from . import modules
from .core import CheckFailed, builtin, call, close, describe, generator, max_diff, passed

__all__ = ["check_lstm_step"]

GATES = ("i", "f", "g", "o")  # PyTorch's order of the four row blocks of weight_ih, weight_hh, biases
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
HINT = ("weight_ih is (4h, d) and weight_hh is (4h, h), four row blocks in PyTorch's order i, f, g, o: "
        "gates = X_t @ weight_ih.T + bias_ih + H @ weight_hh.T + bias_hh, a (batch, 4h) tensor; split it "
        "with gates.chunk(4, dim=1).")


def lstm_cell(X_t, H, C, weights):
    """nn.LSTMCell with these four tensors (PyTorch names, PyTorch layout) -> (H_new, C_new)."""
    module = modules.meta(nn.LSTMCell, weights[0].shape[1], weights[1].shape[1])
    return modules.run(module, dict(zip(NAMES, weights)), X_t, (H, C))


def permuted(weights, order):
    """The weights with their four blocks rearranged: block r of the result is block order[r]."""
    return [w.reshape(4, -1, *w.shape[1:])[list(order)].reshape(w.shape) for w in weights]


def saturated(weights, gate, value):
    """bias_ih with one gate's block pushed to +value (the gate always 1) or -value (always 0)."""
    bias_ih = weights[2].clone().reshape(4, -1)
    bias_ih[GATES.index(gate)] += value
    return [weights[0], weights[1], bias_ih.reshape(-1), weights[3]]


def lstm_case(B, d, h, seed):
    g = generator(seed)
    weights = [torch.randn(s, generator=g) * 0.7 for s in ((4 * h, d), (4 * h, h), (4 * h,), (4 * h,))]
    X_t, H, C = torch.randn(B, d, generator=g), torch.randn(B, h, generator=g), torch.randn(B, h, generator=g)
    return X_t, H, C, weights


def explain(H_new, C_new, case, desc):
    """Why the learner's (H_new, C_new) differ from nn.LSTMCell's (never returns)."""
    __tracebackhide__ = True
    X_t, H, C, weights = case
    with torch.no_grad():
        H_ref, C_ref = lstm_cell(X_t, H, C, weights)
        if close(H_new, C_ref) and close(C_new, H_ref):
            raise CheckFailed(f"{desc}: you returned (C_new, H_new); return (H_new, C_new), hidden state first, "
                              f"as nn.LSTMCell does.")
        for order in itertools.permutations(range(4)):
            if order == (0, 1, 2, 3):
                continue
            if close(H_new, lstm_cell(X_t, H, C, permuted(weights, order))[0]):
                used = [GATES[order.index(k)] for k in range(4)]  # the role you gave each block
                raise CheckFailed(f"{desc}: you split the gates as ({', '.join(used)}); PyTorch's order is "
                                  f"(i, f, g, o): rows 0:h of weight_ih are the input gate i, h:2h the forget "
                                  f"gate f, 2h:3h the cell candidate g, 3h:4h the output gate o.")
        slips = [
            (lstm_cell(X_t, H, C, [*weights[:3], torch.zeros_like(weights[3])]),
             "bias_hh is missing: PyTorch adds both biases, bias_ih and bias_hh"),
            (lstm_cell(X_t, H, C, [*weights[:2], torch.zeros_like(weights[2]), weights[3]]),
             "bias_ih is missing: PyTorch adds both biases, bias_ih and bias_hh"),
            (lstm_cell(X_t, H, C, saturated(weights, "f", 50.0)),
             "the forget gate is missing: C_new = f * C + i * g"),
            (lstm_cell(X_t, H, C, saturated(weights, "i", 50.0)),
             "the input gate is missing: C_new = f * C + i * g"),
            (lstm_cell(X_t, H, C, saturated(weights, "o", 50.0)),
             "the output gate is missing: H_new = o * tanh(C_new)"),
            (lstm_cell(X_t, H, H, weights),
             "the memory update read H where it needs the old memory cell: C_new = f * C + i * g"),
        ]
        for (H_wrong, C_wrong), why in slips:
            if close(H_new, H_wrong) and close(C_new, C_wrong):
                raise CheckFailed(f"{desc}: {why}.")
        if close(C_new, C_ref):
            # o alone: the cell with i = 0, f = 1 and a memory of 20 (tanh(20) = 1) returns H_new = o
            o = lstm_cell(X_t, H, torch.full_like(C, 20.0), saturated(saturated(weights, "i", -50.0), "f", 50.0))[0]
            why = ("the tanh on the memory cell is missing: H_new = o * tanh(C_new)" if close(H_new, o * C_ref)
                   else "H_new = o * tanh(C_new), with o = sigmoid of the fourth block")
            raise CheckFailed(f"{desc}: C_new is right but H_new is not: {why}.")
    raise CheckFailed(f"{desc}: (H_new, C_new) differ from nn.LSTMCell's (max abs difference "
                      f"{max(max_diff(H_new, H_ref), max_diff(C_new, C_ref)):.3g}). Expected: i, f, o = sigmoid "
                      f"of their blocks, g = tanh of its block, C_new = f * C + i * g, H_new = o * tanh(C_new).")


def check_lstm_step(lstm_step, *, seed=0, sizes=None):
    """lstm_step(X_t, H, C, weight_ih, weight_hh, bias_ih, bias_hh) -> (H_new, C_new), one step of nn.LSTM
    written from the four gate blocks; equal to nn.LSTMCell, and over a sequence to nn.LSTM.

    Hidden tests: another seed, sizes = (batch_size, num_inputs, num_hiddens).
    """
    __tracebackhide__ = True
    shapes = [(2, 3, 4), (3, 5, 2)] if seed == 0 and sizes is None else [sizes or (4, 6, 3)]
    for i, (B, d, h) in enumerate(shapes):
        case = lstm_case(B, d, h, seed + i)
        X_t, H, C, weights = case
        desc = f"lstm_step with X_t {describe(X_t)}, H and C {describe(H)}, weight_ih {describe(weights[0])}"
        trainable = [w.clone().requires_grad_(True) for w in weights]
        got = call(lstm_step, "lstm_step", (X_t.clone(), H.clone(), C.clone(), *trainable), HINT)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"{desc}: return a pair (H_new, C_new); you returned {describe(got)}.")
        for name, t in zip(("H_new", "C_new"), got):
            if not torch.is_tensor(t) or tuple(t.shape) != (B, h):
                raise CheckFailed(f"{desc}: {name} should be ({B}, {h}) = (batch, num_hiddens); you returned "
                                  f"{describe(t)}.")
        H_new, C_new = got
        with torch.no_grad():
            H_ref, C_ref = lstm_cell(X_t, H, C, weights)
        if not (close(H_new, H_ref) and close(C_new, C_ref)):
            explain(H_new, C_new, case, desc)
        grads = (torch.autograd.grad(H_new.sum() + C_new.sum(), trainable, allow_unused=True)
                 if H_new.requires_grad else [None] * 4)
        dead = [n for n, g in zip(NAMES, grads) if g is None or not bool(g.abs().sum() > 0)]
        if dead:
            raise CheckFailed(f"{desc}: the values are right but no gradient reaches {', '.join(dead)}: do not "
                              f"use .detach(), .data or torch.no_grad() inside lstm_step.")
    # Over a sequence: the step, looped, is nn.LSTM's layer.
    T, (B, d, h) = 4, shapes[0]
    X_t, H, C, weights = lstm_case(B, d, h, seed + 20)
    X = torch.randn(T, B, d, generator=generator(seed + 21))
    with torch.no_grad():
        lstm = modules.meta(nn.LSTM, d, h)
        out, _ = modules.run(lstm, {f"{n}_l0": w for n, w in zip(NAMES, weights)}, X, (H[None], C[None]))
        tops = []
        for x in X:
            H, C = call(lstm_step, "lstm_step", (x, H, C, *weights), HINT)
            tops.append(H)
    if not close(torch.stack(tops), out):
        raise CheckFailed(f"lstm_step is right for one step but, looped over {T} steps, differs from nn.LSTM: "
                          f"do not keep anything between calls; use only the H and C passed in.")
    passed("lstm_step: the four gate blocks (i, f, g, o) give nn.LSTMCell's step; looped, nn.LSTM's layer")


@builtin("lstm_step", check_lstm_step, "nn.LSTMCell")
def torch_lstm_step(X_t, H, C, weight_ih, weight_hh, bias_ih, bias_hh):
    """nn.LSTMCell loaded with the four tensors: one step, (H_new, C_new)."""
    return lstm_cell(X_t, H, C, [weight_ih, weight_hh, bias_ih, bias_hh])
