"""Checks for notebook 03 (a two-layer RNN by hand): `get_params_2`, `rnn_2`.

`check_rnn_2` compares with `nn.RNN(num_layers=2)` on the same weights (`nb03_mistakes`) and,
when the values differ, names the classic mistake the learner's outputs match.
"""
import torch
from torch import nn

from .core import CPU, CheckFailed, builtin, call, close, dead_parameters, describe, max_diff, passed
from .nb03_hints import LAYOUT, call_stepped, rnn_2_hint
from .nb03_mistakes import PARAM_NAMES_2, SHARED, match_mistake, param_shapes_2, rnn_2_case, rnn_2_reference

__all__ = ["check_get_params_2", "check_rnn_2"]


def check_get_params_2(get_params_2, *, seed=0, sizes=None):
    """get_params_2(vocab_size, num_hiddens, device) -> 8 trainable tensors, shapes as in param_shapes_2.

    Hidden tests: sizes = (vocab_size, num_hiddens); seed seeds the random stream get_params_2 draws from.
    """
    __tracebackhide__ = True
    hint = ("return [W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q]; weights like "
            "torch.randn(shape, device=device) * 0.01, biases torch.zeros(n, device=device), "
            "then call .requires_grad_(True) on each.")
    for V, h in ((5, 4), (7, 3)) if sizes is None else (sizes,):
        desc = f"get_params_2(vocab_size={V}, num_hiddens={h}, device)"
        with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream untouched
            if seed:
                torch.manual_seed(seed)
            params = call(get_params_2, "get_params_2", (V, h, CPU), hint)
        if not isinstance(params, (list, tuple)) or len(params) != 8:
            raise CheckFailed(f"{desc} should return a list of 8 tensors [{', '.join(PARAM_NAMES_2)}]; "
                              f"you returned {describe(params)}.")
        expected = param_shapes_2(V, h)
        for name, p, shape in zip(PARAM_NAMES_2, params, expected):
            if not torch.is_tensor(p):
                raise CheckFailed(f"{desc}: {name} should be a tensor of shape {shape}; you returned {describe(p)}.")
            if tuple(p.shape) != shape:
                why = ""
                if name == "W_xh2" and tuple(p.shape) == (V, h):
                    why = (" Layer 2 reads layer 1's output H1_t (num_hiddens values), not X_t: its input "
                           "weight is (num_hiddens, num_hiddens); only layer 1 sees vocab_size.")
                elif tuple(p.shape) == shape[::-1]:
                    why = " (transposed: d2l computes X @ W, so W is (inputs, outputs))"
                order = ", ".join(f"{n} {s}" for n, s in zip(PARAM_NAMES_2, expected))
                raise CheckFailed(f"{desc}: {name} should be {shape}; you returned {describe(p)}.{why}\n"
                                  f"Expected, in this order: {order}.")
        for name, p in zip(PARAM_NAMES_2, params):
            if not p.is_floating_point():
                raise CheckFailed(f"{desc}: {name} should be a float tensor; it is {p.dtype}.")
            if p.device != CPU:
                raise CheckFailed(f"{desc}: {name} should be created on the device passed in ({CPU}); "
                                  f"it is on {p.device}. Pass device=device to torch.randn/zeros.")
            if not p.requires_grad:
                raise CheckFailed(f"{desc}: {name} does not require grad, so training would never change it: "
                                  f"call {name}.requires_grad_(True) (d2l loops over all params).")
            if not p.is_leaf:
                raise CheckFailed(f"{desc}: {name} is not a leaf tensor (it was computed from a tensor that "
                                  f"already required grad, e.g. torch.randn(..., requires_grad=True) * 0.01), "
                                  f"so its .grad stays None and sgd cannot update it. Create the values first, "
                                  f"then call .requires_grad_(True).")
        for i in range(8):
            for j in range(i + 1, 8):
                a, b = params[i], params[j]
                if a is b or (a.shape == b.shape and a.numel() and a.data_ptr() == b.data_ptr()):
                    raise CheckFailed(f"{desc}: {PARAM_NAMES_2[i]} and {PARAM_NAMES_2[j]} are the same tensor; "
                                      f"each layer needs its own parameters (create a new tensor for each).")
        for name, p in zip(PARAM_NAMES_2, params):
            if name.startswith("W") and p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                raise CheckFailed(f"{desc}: all entries of {name} are equal ({float(p.detach().flatten()[0]):.3g}); "
                                  f"initialise weights randomly, e.g. torch.randn(shape) * 0.01, so that "
                                  f"hidden units can learn different things.")
    passed("get_params_2: 8 parameters with the right shapes, all trainable; layer 2's input weight is (h, h)")


@builtin("get_params_2", check_get_params_2, "nn.RNN(num_layers=2)'s parameter shapes")
def torch_params_2(vocab_size, num_hiddens, device):
    """nn.RNN(num_layers=2)'s and nn.Linear's parameters in d2l's layout (transposed, one bias per
    layer), drawn by nn.init.normal_(std=0.01) in that order, biases zero, all trainable."""
    params = []
    for shape in param_shapes_2(vocab_size, num_hiddens):
        p = torch.empty(shape, device=device)
        params.append(nn.init.normal_(p, std=0.01) if len(shape) == 2 else nn.init.zeros_(p))
    return [p.requires_grad_(True) for p in params]


def run_rnn_2(rnn_2, case):
    """Call the learner's rnn_2 on fresh trainable copies of the case's parameters."""
    __tracebackhide__ = True
    inputs, state, params = case
    trainable = [p.clone().requires_grad_(True) for p in params]
    args = (inputs.clone(), tuple(s.clone() for s in state), trainable)
    result = call_stepped(rnn_2, "rnn_2", args, rnn_2_hint, (inputs.shape[2], state[0].shape[1]))
    return result, trainable


def check_structure(result, case, desc):
    __tracebackhide__ = True
    inputs, state, _ = case
    T, B, V = inputs.shape
    h = state[0].shape[1]
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{desc}: rnn_2 should return a pair (outputs, (H1, H2)); you returned {describe(result)}.")
    outputs, new_state = result
    if isinstance(outputs, (list, tuple)):
        raise CheckFailed(f"{desc}: outputs should be one tensor of shape ({T * B}, {V}) = "
                          f"(num_steps * batch, vocab); you returned {describe(outputs)}: "
                          f"join them with torch.cat(outputs, dim=0).")
    if not torch.is_tensor(outputs):
        raise CheckFailed(f"{desc}: outputs should be a tensor of shape ({T * B}, {V}); "
                          f"you returned {describe(outputs)}.")
    if tuple(outputs.shape) != (T * B, V):
        got = tuple(outputs.shape)
        why = ""
        if got == (T, B, V):
            why = " (use torch.cat(outputs, dim=0), not torch.stack: rows are time-major, step after step)"
        elif got == (B, T * V):
            why = " (concatenate along dim=0, not dim=1)"
        elif got == (B, V):
            why = " (only the last time step: append Y at every step and torch.cat the list after the loop)"
        elif got == (T * B, h):
            why = " (the hidden states, not the outputs: apply the output layer Y = H2 @ W_hq + b_q)"
        raise CheckFailed(f"{desc}: outputs should be ({T * B}, {V}) = (num_steps * batch, vocab), one row "
                          f"per time step and sequence; you returned {got}{why}.")
    if torch.is_tensor(new_state):
        raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2), each ({B}, {h}); you returned "
                          f"one tensor {describe(new_state)}. One state per layer: return (H1, H2).")
    if isinstance(new_state, (tuple, list)) and len(new_state) == 1:
        raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2); you returned a tuple of 1. "
                          + SHARED)
    if not isinstance(new_state, tuple) or len(new_state) != 2:
        raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2), each ({B}, {h}); "
                          f"you returned {describe(new_state)}.")
    for name, H in zip(("H1", "H2"), new_state):
        if not torch.is_tensor(H) or tuple(H.shape) != (B, h):
            raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2), each ({B}, {h}) = "
                              f"(batch, num_hiddens); your {name} is {describe(H)}.")
    if new_state[0] is new_state[1] or close(new_state[0], new_state[1]):
        raise CheckFailed(f"{desc}: you returned H1 == H2. " + SHARED)
    return outputs, new_state


def explain_wrong_values(rnn_2, case, outputs, trainable, desc):
    """Explain why the learner's outputs differ from the reference (never returns)."""
    __tracebackhide__ = True
    inputs, state, params = case
    message = match_mistake(outputs, case)
    if message:
        raise CheckFailed(f"{desc}: {message}")
    # No known mistake matched exactly: probe with gradients.
    if outputs.requires_grad:
        dead = dead_parameters(outputs, trainable, PARAM_NAMES_2)
        if {"W_xh2", "W_hh2", "b_h2"} <= set(dead):
            raise CheckFailed(f"{desc}: layer 2's parameters W_xh2, W_hh2, b_h2 get no gradient from the outputs: "
                              f"either layer 2 reuses layer 1's weights or the output reads layer 1. Layer 2 "
                              f"uses its own weights, and Y = H2 @ W_hq + b_q.")
        if dead:
            raise CheckFailed(f"{desc}: the outputs do not depend on {', '.join(dead)}: each of the 8 parameters "
                              f"should have one place in the computation: " + LAYOUT)
    T, B, _ = inputs.shape
    expected, _ = rnn_2_reference(inputs, state, params)
    step = next(t for t in range(T) if not close(outputs[t * B:(t + 1) * B], expected[t * B:(t + 1) * B]))
    later = (" Step 0 matches, so look at how the state goes from one step to the next." if step > 0 else "")
    raise CheckFailed(f"{desc}: outputs differ from the reference two-layer RNN from time step {step} on "
                      f"(rows {step * B}..{step * B + B - 1}; max abs difference {max_diff(outputs, expected):.3g})."
                      f"{later} Compare each line with the equations of section 5: layer 1 first, then layer 2 "
                      f"reading layer 1's new state, then the output reading layer 2.")


def check_rnn_2(rnn_2, *, seed=0, sizes=None):
    """rnn_2(inputs, state, params) -> (outputs (T*B, V), (H1, H2)): a two-layer RNN by hand.

    Hidden tests: another seed, sizes = (vocab_size, num_hiddens, num_steps, batch_size).
    """
    __tracebackhide__ = True
    V, h, T, B = sizes if sizes is not None else (5, 4, 3, 2)
    main = rnn_2_case(V=V, h=h, T=T, B=B, seed=seed)        # vocab != hidden: shape mistakes show up
    square = rnn_2_case(V=h, h=h, T=T, B=B, seed=seed + 1)  # vocab == hidden: the wrong versions run
    main_desc = f"rnn_2 with vocab_size={V}, num_hiddens={h}, num_steps={T}, batch_size={B}"
    square_desc = f"rnn_2 with vocab_size={h}, num_hiddens={h}, num_steps={T}, batch_size={B}"
    try:
        result, trainable = run_rnn_2(rnn_2, main)
    except CheckFailed as failure:
        # Layer-1 weights reused for layer 2, or X_t fed to layer 2, are shape errors here but
        # run when vocab_size == num_hiddens: diagnose them there.
        try:
            result, _ = run_rnn_2(rnn_2, square)
            outputs, _ = check_structure(result, square, square_desc)
        except CheckFailed:
            raise failure from None
        message = match_mistake(outputs, square)
        if message:
            raise CheckFailed(f"{square_desc}: {message}\n(With vocab_size={V}, num_hiddens={h} your rnn_2 fails: "
                              f"{str(failure).splitlines()[0]})") from None
        with torch.no_grad():
            works = close(outputs, rnn_2_reference(*square)[0])
        if works:
            raise CheckFailed(f"{failure}\nYour rnn_2 works when vocab_size == num_hiddens but not when they "
                              f"differ: check which weight each product uses (only layer 1 sees vocab_size).") from None
        raise failure from None
    outputs, new_state = check_structure(result, main, main_desc)
    inputs, state, params = main
    with torch.no_grad():
        expected, (exp_H1, exp_H2) = rnn_2_reference(inputs, state, params)
    if not close(outputs, expected):
        explain_wrong_values(rnn_2, main, outputs, trainable, main_desc)
    H1, H2 = new_state
    if not (close(H1, exp_H1) and close(H2, exp_H2)):
        if close(H1, state[0]) and close(H2, state[1]):
            why = ("it equals the state you received: the state was not updated; return the (H1, H2) "
                   "computed at the last time step")
        elif close(H1, exp_H2) and close(H2, exp_H1):
            why = "it is in the wrong order: return (H1, H2), layer 1 first"
        else:
            why = "return the (H1, H2) computed at the last time step"
        raise CheckFailed(f"{main_desc}: the outputs are right but the returned state is not: {why}.")
    if not outputs.requires_grad:
        raise CheckFailed(f"{main_desc}: the outputs are right but carry no gradient: do not use .detach(), "
                          f".data or torch.no_grad() inside rnn_2 (detaching belongs to the training loop, "
                          f"between minibatches).")
    dead = dead_parameters(outputs, trainable, PARAM_NAMES_2)
    if dead:
        raise CheckFailed(f"{main_desc}: the outputs are right but no gradient reaches {', '.join(dead)}: "
                          f"do not use .detach(), .data or torch.no_grad() inside rnn_2.")
    # A second case (vocab == hidden, other numbers) guards against hard-coded sizes.
    result, trainable = run_rnn_2(rnn_2, square)
    outputs, _ = check_structure(result, square, square_desc)
    with torch.no_grad():
        expected, _ = rnn_2_reference(*square)
    if not close(outputs, expected):
        explain_wrong_values(rnn_2, square, outputs, trainable, square_desc)
    passed("rnn_2: matches the reference two-layer RNN; each layer keeps its own state; "
           "gradients reach all 8 parameters")


@builtin("rnn_2", check_rnn_2, "nn.RNN(num_layers=2)")
def torch_rnn_2(inputs, state, params):
    """nn.RNN(num_layers=2) loaded with the eight parameters (weight_ih_l0 = W_xh1.T, ...) and
    nn.Linear(W_hq.T, b_q) on every step: d2l's forward signature, gradients reach params."""
    return rnn_2_reference(inputs, tuple(state), params)
