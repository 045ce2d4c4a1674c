"""Checks for notebook 02 (a one-layer RNN from scratch): `rnn_step` and `rnn_step_backward`.

`rnn_step_backward` writes the same step's gradients by hand; its check runs
torch.autograd.gradcheck on them (finite differences, as CS231n's assignments do).
"""
import torch

from . import modules
from .core import CheckFailed, builtin, call, close, describe, generator, max_diff, passed

__all__ = ["check_rnn_step", "check_rnn_step_backward"]


def rnn_step_cases(seed, sizes, dtype=torch.float32):
    """(X_t, H, W_xh, W_hh, b_h): the visible sizes (B, V, h), else one case of `sizes` from `seed`."""
    visible = seed == 0 and sizes is None
    shapes = [(2, 5, 4), (3, 6, 2)] if visible else [sizes or (4, 7, 3)]
    cases = []
    for i, (B, V, h) in enumerate(shapes):
        g = generator(i if visible else seed)
        cases.append(tuple(torch.randn(s, generator=g, dtype=dtype) for s in ((B, V), (B, h), (V, h), (h, h), (h,))))
    return cases


def check_rnn_step(rnn_step, *, seed=0, sizes=None):
    """rnn_step(X_t, H, W_xh, W_hh, b_h) -> tanh(X_t @ W_xh + H @ W_hh + b_h), shape (B, h).

    Compared with nn.RNNCell on the same weights. Hidden tests: another seed, sizes = (B, V, h).
    """
    __tracebackhide__ = True
    hint = ("shapes: X_t (batch, vocab), H (batch, h), W_xh (vocab, h), W_hh (h, h), b_h (h,). Each input "
            "meets the weight whose first size is its last one; section 2's formula says what is added and squashed.")
    for X_t, H, W_xh, W_hh, b_h in rnn_step_cases(seed, sizes):
        B, h = H.shape
        args = [t.clone().requires_grad_(True) for t in (X_t, H, W_xh, W_hh, b_h)]
        desc = (f"rnn_step with X_t {describe(X_t)}, H {describe(H)}, W_xh {describe(W_xh)}, "
                f"W_hh {describe(W_hh)}, b_h {describe(b_h)}")
        got = call(rnn_step, "rnn_step", args, hint)
        if isinstance(got, (tuple, list)) and len(got) == 1 and torch.is_tensor(got[0]):
            raise CheckFailed(f"{desc}: return the new hidden state H itself, a tensor of shape ({B}, {h}); "
                              f"you returned a tuple of 1 (the tuple (H,) is what init_rnn_state returns).")
        if not torch.is_tensor(got):
            raise CheckFailed(f"{desc}: should return a tensor of shape ({B}, {h}); you returned {describe(got)}.")
        if tuple(got.shape) != (B, h):
            raise CheckFailed(f"{desc}: the new H should be ({B}, {h}) = (batch_size, num_hiddens); "
                              f"you returned {describe(got)}.")
        with torch.no_grad():
            expected = modules.rnn_cell(X_t, H, W_xh, W_hh, b_h)
        if not close(got, expected):
            with torch.no_grad():
                exact = modules.rnn_cell(*(t.double() for t in (X_t, H, W_xh, W_hh, b_h)))
                pre = torch.atanh(exact).float()  # the pre-activation the cell squashed
                zeros_H, zeros_X, eye = torch.zeros_like(H), torch.zeros_like(X_t), torch.eye(h)
                wrong = [
                    (pre, "missing tanh: apply torch.tanh to X_t @ W_xh + H @ W_hh + b_h"),
                    (torch.relu(pre), "you used relu; this RNN uses tanh (d2l's φ)"),
                    (torch.sigmoid(pre), "you used sigmoid; this RNN uses tanh (d2l's φ)"),
                    (modules.rnn_cell(X_t, zeros_H, W_xh, W_hh, b_h), "the previous state H is missing: add H @ W_hh"),
                    (modules.rnn_cell(X_t, H, W_xh, W_hh, torch.zeros_like(b_h)), "the bias b_h is missing"),
                    (modules.rnn_cell(zeros_X, H, W_xh, W_hh, b_h), "the input X_t is missing: add X_t @ W_xh"),
                    (modules.rnn_cell(X_t, H, W_xh, W_hh.T, b_h),
                     "you used W_hh.T; with d2l's convention it is H @ W_hh"),
                    (modules.rnn_cell(X_t, H, W_xh, eye, b_h), "H must be multiplied by W_hh"),
                ]
            why = next((msg for value, msg in wrong if close(got, value)),
                       f"max abs difference {max_diff(got, expected):.3g}")
            raise CheckFailed(f"{desc}: expected tanh(X_t @ W_xh + H @ W_hh + b_h), got different values: {why}.")
        grads = (torch.autograd.grad(got.sum(), args, allow_unused=True) if got.requires_grad
                 else [None] * len(args))
        for name, grad in zip(("X_t", "H", "W_xh", "W_hh", "b_h"), grads):
            if grad is None or not bool(grad.abs().sum() > 0):
                raise CheckFailed(f"rnn_step's output is right but no gradient reaches {name}: do not use "
                                  f".detach(), .data, .item() or torch.no_grad() inside rnn_step.")
    passed("rnn_step: tanh(X_t W_xh + H W_hh + b_h) matches the reference, gradients flow")


@builtin("rnn_step", check_rnn_step, "nn.RNNCell")
def rnn_cell_step(X_t, H, W_xh, W_hh, b_h):
    """nn.RNNCell loaded with d2l's weights (weight_ih = W_xh.T, ...): one time step."""
    return modules.rnn_cell(X_t, H, W_xh, W_hh, b_h)


GRAD_NAMES = ("dX_t", "dH", "dW_xh", "dW_hh", "db_h")


class HandWrittenStep(torch.autograd.Function):
    """Forward: nn.RNNCell. Backward: the learner's rnn_step_backward (what gradcheck tests)."""

    @staticmethod
    def forward(ctx, backward, X_t, H, W_xh, W_hh, b_h):
        ctx.backward = backward
        ctx.save_for_backward(X_t, H, W_xh, W_hh, b_h)
        return modules.rnn_cell(X_t, H, W_xh, W_hh, b_h)

    @staticmethod
    def backward(ctx, dH_new):
        grads = ctx.backward(dH_new, *ctx.saved_tensors)
        return (None, *grads)


def autograd_grads(dH_new, X_t, H, W_xh, W_hh, b_h, upstream=None, W_hh_used=None):
    """Autograd's gradients of sum(dH_new * H_new); with `upstream`, of sum(upstream * Z) instead,
    Z = atanh(H_new) the pre-activation (the step without its tanh), optionally with W_hh_used for W_hh."""
    inputs = [t.detach().clone().requires_grad_(True) for t in (X_t, H, W_xh, W_hh, b_h)]
    with torch.enable_grad():
        W = inputs[3] if W_hh_used is None else W_hh_used
        H_new = modules.rnn_cell(inputs[0], inputs[1], inputs[2], W, inputs[4])
        out, grad = (H_new, dH_new) if upstream is None else (torch.atanh(H_new), upstream)
        return torch.autograd.grad(out, inputs, grad, allow_unused=True)


def backward_mistake(name, got, case, dH_new, expected):
    """Why the learner's gradient `name` differs from autograd's: a known slip, or the size of the gap."""
    X_t, H, W_xh, W_hh, b_h = case
    B = X_t.shape[0]
    index = GRAD_NAMES.index(name)
    with torch.no_grad():
        H_new = modules.rnn_cell(*case)
    slips = [  # (the upstream gradient at the pre-activation the learner used, what that means)
        (dH_new, "the tanh derivative is missing: backpropagate through tanh first, "
                 "dZ = dH_new * (1 - H_new**2) with H_new the step's output"),
        (dH_new * (1 - H ** 2), "tanh' was taken at the previous state H; it belongs to this step's "
                                "output: 1 - H_new**2"),
        (dH_new * (1 - H_new), "tanh'(z) is 1 - tanh(z)**2: square H_new"),
        (dH_new * H_new * (1 - H_new), "H_new * (1 - H_new) is the sigmoid's derivative; tanh's is 1 - H_new**2"),
    ]
    for upstream, why in slips:
        if close(got, autograd_grads(dH_new, *case, upstream=upstream)[index]):
            return why
    if name == "dH" and close(got, autograd_grads(dH_new, *case, upstream=dH_new * (1 - H_new ** 2),
                                                    W_hh_used=W_hh.T.detach())[1]):
        return "dH = dZ @ W_hh.T: the forward multiplies H @ W_hh, so the backward multiplies by the transpose"
    if name in ("dW_xh", "dW_hh", "db_h") and close(got * B, expected):
        return "you averaged over the batch; the loss sums over it, so sum the rows (no division by batch_size)"
    if got.dim() == 2 and got.shape[0] == got.shape[1] and close(got.T, expected):
        return f"{name} is transposed"
    return f"max abs difference {max_diff(got, expected):.3g} from autograd's"


def check_rnn_step_backward(rnn_step_backward, *, seed=0, sizes=None):
    """rnn_step_backward(dH_new, X_t, H, W_xh, W_hh, b_h) -> (dX_t, dH, dW_xh, dW_hh, db_h): by hand, the
    gradients of sum(dH_new * H_new) where H_new = tanh(X_t @ W_xh + H @ W_hh + b_h).

    Checked with torch.autograd.gradcheck: nn.RNNCell forward, your backward, finite differences
    in float64. Hidden tests: another seed, sizes = (B, V, h).
    """
    __tracebackhide__ = True
    hint = ("recompute the forward step first: the gradient through tanh needs its output. Then each gradient "
            "has the shape of its tensor, which says which side of dZ each factor goes on.")
    shapes = [(2, 3, 4), (3, 4, 4)] if seed == 0 and sizes is None else [sizes or (4, 5, 3)]
    for i, shape in enumerate(shapes):  # (3, 4, 4): vocab == hidden, so a transposed W_xh runs
        case = rnn_step_cases(seed + i + 10, shape, torch.float64)[0]
        dH_new = torch.randn(case[1].shape, generator=generator(100 + seed + i), dtype=torch.float64)
        desc = (f"rnn_step_backward with X_t {describe(case[0])}, H {describe(case[1])}, "
                f"W_xh {describe(case[2])}, W_hh {describe(case[3])}")
        with torch.no_grad():  # gradients by hand: autograd is not recording
            got = call(rnn_step_backward, "rnn_step_backward", (dH_new.clone(), *(t.clone() for t in case)), hint)
        if not isinstance(got, (tuple, list)) or len(got) != 5:
            raise CheckFailed(f"{desc}: return a tuple of five gradients ({', '.join(GRAD_NAMES)}); "
                              f"you returned {describe(got)}.")
        expected = autograd_grads(dH_new, *case)
        for name, g, t in zip(GRAD_NAMES, got, case):
            if not torch.is_tensor(g):
                raise CheckFailed(f"{desc}: {name} should be a tensor of shape {describe(t)}; "
                                  f"you returned {describe(g)}.")
            if tuple(g.shape) != tuple(t.shape):
                why = ""
                if name == "db_h" and tuple(g.shape) == (case[0].shape[0], t.shape[0]):
                    why = " (b_h is added to every row of the batch, so its gradient sums dZ over the batch: dim 0)"
                elif g.dim() == 2 and tuple(g.shape) == tuple(t.shape)[::-1]:
                    why = " (transposed)"
                raise CheckFailed(f"{desc}: {name} should have the shape of {name[1:]}, {describe(t)}; "
                                  f"you returned {describe(g)}{why}.")
        inputs = [t.clone().requires_grad_(True) for t in case]
        try:
            agrees = torch.autograd.gradcheck(lambda *xs: HandWrittenStep.apply(rnn_step_backward, *xs), inputs,
                                              eps=1e-6, atol=1e-5, raise_exception=False)
        except NotImplementedError:
            raise
        except Exception as err:
            raise CheckFailed(f"{desc}: gradcheck could not run your backward: {type(err).__name__}: {err}") from None
        if agrees:
            continue
        wrong = [n for n, g, e in zip(GRAD_NAMES, got, expected) if not close(g, e)] or [GRAD_NAMES[0]]
        index = GRAD_NAMES.index(wrong[0])
        raise CheckFailed(f"{desc}: torch.autograd.gradcheck (finite differences of nn.RNNCell) disagrees with "
                          f"your {', '.join(wrong)}: "
                          f"{backward_mistake(wrong[0], got[index], case, dH_new, expected[index])}.")
    passed("rnn_step_backward: all five gradients agree with torch.autograd.gradcheck (finite differences)")


@builtin("rnn_step_backward", check_rnn_step_backward, "torch.autograd")
def autograd_step_backward(dH_new, X_t, H, W_xh, W_hh, b_h):
    """Autograd's gradients of nn.RNNCell's step."""
    return autograd_grads(dH_new, X_t, H, W_xh, W_hh, b_h)
