"""Checks for notebook 03's L-layer RNN: `rnn_L`, each layer with its own hidden size.

The reference is a stack of single-layer `nn.RNN`s (layer l reads the layer below over the whole
sequence), the only way PyTorch stacks layers of different widths, then the output layer.
"""
import torch
from torch import nn
from torch.nn import functional as F

from . import modules
from .core import CheckFailed, builtin, call, close, dead_parameters, describe, generator, max_diff, passed
from .nb03_mistakes import each_step_alone, head

__all__ = ["check_rnn_L"]

RNN_L_HINT = ("params is [W_xh1, W_hh1, b_h1, ..., W_xhL, W_hhL, b_hL, W_hq, b_q]: three tensors per layer, "
              "then the output layer, so L = (len(params) - 2) // 3; state holds one (batch, h_l) tensor per "
              "layer. At each time step go up the layers: layer 1 reads X_t, layer l reads layer l-1's new "
              "state, each layer reads its own previous state; the output reads the top layer.")


def layer_shapes(V, hiddens):
    """d2l-layout shapes [(W_xh, W_hh, b_h) per layer] + [W_hq, b_q], read from nn.RNN and nn.Linear."""
    shapes, d = [], V
    for h in hiddens:
        rnn = modules.meta(nn.RNN, d, h)
        shapes += [tuple(rnn.weight_ih_l0.T.shape), tuple(rnn.weight_hh_l0.T.shape), tuple(rnn.bias_ih_l0.shape)]
        d = h
    out = modules.meta(nn.Linear, d, V)
    return shapes + [tuple(out.weight.T.shape), tuple(out.bias.shape)]


def rnn_L_case(V, hiddens, T, B, seed):
    """(inputs (T, B, V) one-hot, state (one (B, h_l) per layer), params) with weights that show mistakes."""
    g = generator(seed)
    params = [torch.randn(s, generator=g) * 0.8 for s in layer_shapes(V, hiddens)]
    inputs = F.one_hot(torch.randint(0, V, (T, B), generator=g), V).float()
    state = tuple(torch.randn(B, h, generator=g) * 0.5 for h in hiddens)
    return inputs, state, params


def split(params):
    *layer_params, W_hq, b_q = params
    return [tuple(layer_params[i:i + 3]) for i in range(0, len(layer_params), 3)], (W_hq, b_q)


def rnn_L_reference(inputs, state, params):
    """Single-layer nn.RNNs stacked, then the output layer -> (outputs (T * B, V), tuple of final states)."""
    layers, out = split(params)
    Y, finals = modules.rnn_layers(inputs, state, layers)
    return head(Y, *out), tuple(finals)


def not_carried(inputs, state, params):
    """Every layer restarts from the state passed in at every time step."""
    layers, out = split(params)
    Y = inputs
    for H0, layer in zip(state, layers):
        Y = each_step_alone(Y, H0, layer)
    return head(Y, *out)


def names(hiddens):
    return [f"{w}{l}" for l in range(1, len(hiddens) + 1) for w in ("W_xh", "W_hh", "b_h")] + ["W_hq", "b_q"]


def check_result(result, case, desc):
    """The shapes of (outputs, state); returns them or raises a CheckFailed that says what differs."""
    __tracebackhide__ = True
    inputs, state, _ = case
    T, B, V = inputs.shape
    want = [tuple(s.shape) for s in state]
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{desc}: rnn_L should return a pair (outputs, state); you returned {describe(result)}.")
    outputs, new_state = result
    if not torch.is_tensor(outputs):
        raise CheckFailed(f"{desc}: outputs should be one tensor of shape ({T * B}, {V}); you returned "
                          f"{describe(outputs)} (join the steps with torch.cat(outputs, dim=0)).")
    if tuple(outputs.shape) != (T * B, V):
        why = {(T, B, V): " (use torch.cat(outputs, dim=0), not torch.stack)",
               (T * B, want[-1][1]): " (the top layer's states: apply the output layer W_hq, b_q)"}
        raise CheckFailed(f"{desc}: outputs should be ({T * B}, {V}) = (num_steps * batch, vocab); you returned "
                          f"{describe(outputs)}{why.get(tuple(outputs.shape), '')}.")
    if not isinstance(new_state, (tuple, list)) or len(new_state) != len(state):
        raise CheckFailed(f"{desc}: the state should be a tuple of {len(state)} tensors, one per layer, of shapes "
                          f"{want}; you returned {describe(new_state)}.")
    got = [tuple(s.shape) if torch.is_tensor(s) else describe(s) for s in new_state]
    if got != want:
        raise CheckFailed(f"{desc}: the state should hold one (batch, h_l) tensor per layer, {want}; you "
                          f"returned {got}. Each layer keeps a memory of its own width.")
    return outputs, tuple(new_state)


def explain(outputs, new_state, trainable, case, desc, hiddens):
    """Why the learner's outputs or state differ from the reference (never returns)."""
    __tracebackhide__ = True
    inputs, state, params = case
    with torch.no_grad():
        expected, final = rnn_L_reference(*case)
    if close(outputs, expected):
        if all(close(a, b) for a, b in zip(new_state, state)):
            why = "it equals the state you received: return the states computed at the last time step"
        elif all(close(a, b) for a, b in zip(new_state, reversed(final))):
            why = "it is upside down: layer 1's state comes first"
        else:
            why = "return each layer's state from the last time step, layer 1 first"
        raise CheckFailed(f"{desc}: the outputs are right but the returned state is not: {why}.")
    with torch.no_grad():
        if close(outputs, not_carried(*case)):
            raise CheckFailed(f"{desc}: the state is not carried across time steps: at every step each layer "
                              f"must read the state it computed at the previous step, not the initial one.")
    if outputs.requires_grad:
        dead = dead_parameters(outputs, trainable, names(hiddens))
        top = [n for n in dead if n.endswith(str(len(hiddens)))]
        if top:
            raise CheckFailed(f"{desc}: the top layer's parameters ({', '.join(top)}) get no gradient from the "
                              f"outputs: the output layer must read the top layer, Y = H_L @ W_hq + b_q.")
        if dead:
            raise CheckFailed(f"{desc}: the outputs do not depend on {', '.join(dead)}: every layer's three "
                              f"tensors have a place in the computation. " + RNN_L_HINT)
    T, B, _ = inputs.shape
    step = next(t for t in range(T) if not close(outputs[t * B:(t + 1) * B], expected[t * B:(t + 1) * B]))
    raise CheckFailed(f"{desc}: outputs differ from a stack of nn.RNN layers from time step {step} on "
                      f"(max abs difference {max_diff(outputs, expected):.3g})."
                      + (" Step 0 matches, so look at how each layer's state goes to the next step."
                         if step else "") + " Expected, at each step and layer l: H_l = tanh(H_(l-1) @ W_xhl "
                      "+ H_l @ W_hhl + b_hl) with H_0 = X_t, then Y = H_L @ W_hq + b_q.")


def check_rnn_L(rnn_L, *, seed=0, sizes=None):
    """rnn_L(inputs, state, params) -> (outputs (T*B, V), tuple of L states (B, h_l)): an L-layer RNN whose
    layers have their own hidden sizes.

    Hidden tests: another seed, sizes = (vocab_size, hidden_sizes, num_steps, batch_size).
    """
    __tracebackhide__ = True
    cases = ([(5, (4, 3, 6), 3, 2), (4, (3,), 2, 3), (3, (4, 4), 3, 2)] if seed == 0 and sizes is None
             else [sizes or (6, (5, 2, 4, 3), 4, 3)])
    for i, (V, hiddens, T, B) in enumerate(cases):
        case = rnn_L_case(V, tuple(hiddens), T, B, seed + i)
        inputs, state, params = case
        desc = (f"rnn_L with vocab_size={V}, hidden sizes {list(hiddens)} ({len(hiddens)} "
                f"layer{'s' if len(hiddens) > 1 else ''}), num_steps={T}, batch_size={B}")
        trainable = [p.clone().requires_grad_(True) for p in params]
        result = call(rnn_L, "rnn_L", (inputs.clone(), tuple(s.clone() for s in state), trainable), RNN_L_HINT)
        outputs, new_state = check_result(result, case, desc)
        with torch.no_grad():
            expected, final = rnn_L_reference(*case)
        if not (close(outputs, expected) and all(close(a, b) for a, b in zip(new_state, final))):
            explain(outputs, new_state, trainable, case, desc, hiddens)
        dead = dead_parameters(outputs, trainable, names(hiddens)) if outputs.requires_grad else ["all"]
        if dead:
            raise CheckFailed(f"{desc}: the outputs are right but no gradient reaches "
                              f"{'the parameters' if dead == ['all'] else ', '.join(dead)}: do not use .detach(), "
                              f".data or torch.no_grad() inside rnn_L.")
    passed("rnn_L: equals stacked nn.RNN layers for 1, 2 and 3 layers of their own widths; gradients reach "
           "every parameter")


@builtin("rnn_L", check_rnn_L, "stacked single-layer nn.RNNs")
def torch_rnn_L(inputs, state, params):
    """Single-layer nn.RNNs stacked (one per width) on the d2l parameters, then nn.Linear on every step."""
    return rnn_L_reference(inputs, tuple(state), params)
