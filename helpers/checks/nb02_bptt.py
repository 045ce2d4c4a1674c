"""Checks for notebook 02's backpropagation through time (通过时间反向传播) by hand: `rnn_backward`.

rnn_backward(dO, inputs, state, params) returns the gradients of all five parameters
(W_xh, W_hh, b_h, W_hq, b_q) of sum(dO * O), where O (T*B, V) are the outputs of notebook 02's
`rnn(inputs, state, params)`. The check runs it through torch.autograd.gradcheck (nn.RNN and
nn.Linear forward, the learner's backward, finite differences in float64) and compares it with
autograd; a wrong accumulation through time is named by comparing with autograd's own per-step
gradients (each step given its own copy of the weights) and with autograd on a graph cut between
steps. Nothing here writes the backward pass out by hand.
"""
import torch

from . import modules
from .core import CheckFailed, builtin, call, close, describe, generator, max_diff, passed

__all__ = ["check_rnn_backward"]

GRAD_NAMES = ("dW_xh", "dW_hh", "db_h", "dW_hq", "db_q")


def outputs(inputs, H0, params, *, per_step=False, cut_state=False, last_only=False):
    """O (T*B, V) through nn.RNNCell and nn.Linear. per_step: `params` holds one copy of the
    weights per step (a list of T lists); cut_state: the state is detached between steps;
    last_only: only the last step's output reaches the hidden state (the others read it detached)."""
    T = len(inputs)
    H, rows = H0, []
    for t in range(T):
        W_xh, W_hh, b_h, W_hq, b_q = params[t] if per_step else params
        H = modules.rnn_cell(inputs[t], H.detach() if cut_state and t else H, W_xh, W_hh, b_h)
        read = H.detach() if last_only and t < T - 1 else H
        rows.append(modules.linear(read, W_hq, b_q))
    return torch.cat(rows, dim=0)


def autograd_grads(dO, inputs, H0, params, **how):
    """Autograd's gradients of sum(dO * O) for each parameter; per_step=True: one (T, ...) stack each."""
    with torch.enable_grad():
        if how.get("per_step"):
            leaves = [[p.detach().clone().requires_grad_(True) for p in params] for _ in inputs]
            grads = torch.autograd.grad(outputs(inputs, H0, leaves, **how), [p for ps in leaves for p in ps], dO)
            return [torch.stack(grads[i::len(params)]) for i in range(len(params))]
        leaves = [p.detach().clone().requires_grad_(True) for p in params]
        return list(torch.autograd.grad(outputs(inputs, H0, leaves, **how), leaves, dO, allow_unused=True))


class HandWrittenBPTT(torch.autograd.Function):
    """Forward: nn.RNNCell over T steps and nn.Linear. Backward: the learner's rnn_backward."""

    @staticmethod
    def forward(ctx, backward, inputs, H0, *params):
        ctx.backward = backward
        ctx.save_for_backward(inputs, H0, *params)
        return outputs(inputs, H0, list(params))

    @staticmethod
    def backward(ctx, dO):
        inputs, H0, *params = ctx.saved_tensors
        with torch.no_grad():
            grads = ctx.backward(dO, inputs, (H0,), params)
        return (None, None, None, *grads)


def cases(seed, sizes):
    """(inputs (T, B, V) one-hot, H0 (B, h), params): the visible sizes, else one case of `sizes`."""
    visible = seed == 0 and sizes is None
    shapes = [(4, 2, 3, 5), (3, 3, 4, 4)] if visible else [sizes or (5, 3, 4, 3)]
    out = []
    for i, (T, B, V, h) in enumerate(shapes):  # (3, 3, 4, 4): vocab == hidden, so transposes run
        g = generator(200 + (i if visible else seed))
        tokens = torch.randint(V, (T, B), generator=g)
        inputs = torch.nn.functional.one_hot(tokens, V).double()
        H0 = 0.5 * torch.randn(B, h, generator=g, dtype=torch.float64)
        params = [0.6 * torch.randn(s, generator=g, dtype=torch.float64) for s in ((V, h), (h, h), (h,), (h, V), (V,))]
        dO = torch.randn(T * B, V, generator=g, dtype=torch.float64)
        out.append((dO, inputs, H0, params))
    return out


def accumulation_mistake(name, got, dO, inputs, H0, params, expected):
    """Why the learner's gradient `name` differs from autograd's: a known slip in the sum over time, or the gap."""
    i = GRAD_NAMES.index(name)
    T, B = inputs.shape[:2]
    steps = autograd_grads(dO, inputs, H0, params, per_step=True)[i]  # step t's share, for every t
    if close(got, steps[-1]) or close(got, steps[0]):
        which = "step 1 (the last one a backward loop visits)" if close(got, steps[0]) else f"step {T} only"
        return (f"{name} holds the share of {which}: every step uses the same weights, so add each "
                f"step's gradient into {name} (+=) instead of overwriting it")
    if close(got * T, expected):
        return f"you divided {name} by the number of steps T; the loss sums over the steps, so sum their shares"
    if close(got * B, expected):
        return f"you averaged {name} over the batch; the loss sums over it, so sum the rows"
    if i < 3 and close(got, autograd_grads(dO, inputs, H0, params, cut_state=True)[i]):
        return ("the gradient from later steps is missing: dH_t is dO_t @ W_hq.T plus the dH that step "
                "t+1 sends back (dH of rnn_step_backward); carry it from step to step, starting from zeros")
    if i < 3 and close(got, autograd_grads(dO, inputs, H0, params, last_only=True)[i]):
        return ("only the last step's output reaches the hidden state: every step's output O_t = H_t W_hq + b_q "
                "adds dO_t @ W_hq.T to dH_t, not only step T's")
    if got.dim() == 2 and got.shape[0] == got.shape[1] and close(got.T, expected):
        return f"{name} is transposed"
    return f"max abs difference {max_diff(got, expected):.3g} from autograd's"


def check_rnn_backward(rnn_backward, *, seed=0, sizes=None):
    """rnn_backward(dO, inputs, state, params) -> [dW_xh, dW_hh, db_h, dW_hq, db_q]: by hand, the
    gradients of sum(dO * O) with O the (T*B, V) outputs of rnn(inputs, state, params).

    Checked with torch.autograd.gradcheck (nn.RNN forward, your backward, finite differences in
    float64) and against autograd. Hidden tests: another seed, sizes = (T, B, V, h).
    """
    __tracebackhide__ = True
    hint = ("run the forward loop first and keep every H_t (H_0 too); then walk t = T-1 ... 0 with dH_next "
            "starting at zeros: dH = dO_t @ W_hq.T + dH_next, rnn_step_backward gives this step's shares "
            "and the next dH_next; dO.reshape(T, B, V) gives dO_t.")
    for dO, inputs, H0, params in cases(seed, sizes):
        T, B, V = inputs.shape
        desc = (f"rnn_backward with T = {T} steps, inputs {describe(inputs)}, H {describe(H0)}, "
                f"W_xh {describe(params[0])}, W_hh {describe(params[1])}")
        with torch.no_grad():  # gradients by hand: autograd is not recording
            got = call(rnn_backward, "rnn_backward",
                       (dO.clone(), inputs.clone(), (H0.clone(),), [p.clone() for p in params]), hint)
        if not isinstance(got, (tuple, list)) or len(got) != 5:
            raise CheckFailed(f"{desc}: return the five gradients [{', '.join(GRAD_NAMES)}], in the order of "
                              f"params; you returned {describe(got)}.")
        for name, g, p in zip(GRAD_NAMES, got, params):
            if not torch.is_tensor(g):
                raise CheckFailed(f"{desc}: {name} should be a tensor of shape {describe(p)}; "
                                  f"you returned {describe(g)}.")
            if tuple(g.shape) != tuple(p.shape):
                why = " (transposed)" if g.dim() == 2 and tuple(g.shape) == tuple(p.shape)[::-1] else ""
                if name in ("db_h", "db_q") and g.dim() == 2:
                    why = " (a bias is added to every row of every step, so its gradient sums over both)"
                raise CheckFailed(f"{desc}: {name} should have the shape of {name[1:]}, {describe(p)}; "
                                  f"you returned {describe(g)}{why}.")
        expected = autograd_grads(dO, inputs, H0, params)
        wrong = [n for n, g, e in zip(GRAD_NAMES, got, expected) if not close(g, e)]
        if wrong:
            i = GRAD_NAMES.index(wrong[0])
            raise CheckFailed(f"{desc}: autograd through nn.RNN disagrees with your {', '.join(wrong)}: "
                              f"{accumulation_mistake(wrong[0], got[i], dO, inputs, H0, params, expected[i])}.")
        leaves = [p.clone().requires_grad_(True) for p in params]
        try:
            def hand_written(*ps, inputs=inputs, H0=H0):
                return HandWrittenBPTT.apply(rnn_backward, inputs, H0, *ps)
            agrees = torch.autograd.gradcheck(hand_written, leaves, eps=1e-6, atol=1e-5, raise_exception=False)
        except NotImplementedError:
            raise
        except Exception as err:
            raise CheckFailed(f"{desc}: gradcheck could not run your backward: {type(err).__name__}: {err}") from None
        if not agrees:  # right on one dO, wrong on others: it depends on something it should not
            raise CheckFailed(f"{desc}: your gradients match autograd for one dO but torch.autograd.gradcheck "
                              f"(finite differences) disagrees on others: does rnn_backward keep state between "
                              f"calls, or change its arguments in place?")
    passed("rnn_backward: all five gradients over T steps agree with autograd through nn.RNN and with gradcheck")


@builtin("rnn_backward", check_rnn_backward, "torch.autograd through nn.RNN")
def autograd_rnn_backward(dO, inputs, state, params):
    """Autograd's gradients of sum(dO * O) through nn.RNNCell over the steps and nn.Linear."""
    H0, = state
    return autograd_grads(dO, inputs, H0, list(params))
