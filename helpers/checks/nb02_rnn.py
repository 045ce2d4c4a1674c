"""Checks for notebook 02 (a one-layer RNN from scratch): `rnn_step`, `init_rnn_state`."""
import torch

from .core import CPU, CheckFailed, call, close, describe, expect_state, generator, max_diff, passed

__all__ = ["check_rnn_step", "check_init_rnn_state"]


def check_rnn_step(rnn_step):
    """rnn_step(X_t, H, W_xh, W_hh, b_h) -> tanh(X_t @ W_xh + H @ W_hh + b_h), shape (B, h)."""
    __tracebackhide__ = True
    hint = ("shapes: X_t (batch, vocab), H (batch, h), W_xh (vocab, h), W_hh (h, h), b_h (h,); "
            "return torch.tanh(X_t @ W_xh + H @ W_hh + b_h).")
    for seed, (B, V, h) in enumerate([(2, 5, 4), (3, 6, 2)]):
        g = generator(seed)
        X_t, H = torch.randn(B, V, generator=g), torch.randn(B, h, generator=g)
        W_xh, W_hh, b_h = (torch.randn(V, h, generator=g), torch.randn(h, h, generator=g),
                           torch.randn(h, generator=g))
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
        pre = X_t @ W_xh + H @ W_hh + b_h
        expected = reference_rnn_step(X_t, H, W_xh, W_hh, b_h)
        if not close(got, expected):
            wrong = [
                (pre, "missing tanh: apply torch.tanh to X_t @ W_xh + H @ W_hh + b_h"),
                (torch.relu(pre), "you used relu; this RNN uses tanh (d2l's φ)"),
                (torch.sigmoid(pre), "you used sigmoid; this RNN uses tanh (d2l's φ)"),
                (torch.tanh(X_t @ W_xh + b_h), "the previous state H is missing: add H @ W_hh"),
                (torch.tanh(X_t @ W_xh + H @ W_hh), "the bias b_h is missing"),
                (torch.tanh(H @ W_hh + b_h), "the input X_t is missing: add X_t @ W_xh"),
                (torch.tanh(X_t @ W_xh + H @ W_hh.T + b_h), "you used W_hh.T; with d2l's convention it is H @ W_hh"),
                (torch.tanh(X_t @ W_xh + H + b_h), "H must be multiplied by W_hh"),
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


def check_init_rnn_state(init_rnn_state):
    """init_rnn_state(batch_size, num_hiddens, device) -> (H,), H zeros (batch_size, num_hiddens)."""
    __tracebackhide__ = True
    hint = "return (torch.zeros((batch_size, num_hiddens), device=device),) -- note the trailing comma."
    for B, h in ((2, 4), (3, 5)):
        desc = f"init_rnn_state({B}, {h}, device)"
        got = call(init_rnn_state, "init_rnn_state", (B, h, CPU), hint)
        if torch.is_tensor(got):
            raise CheckFailed(f"{desc} should return a tuple (H,) holding one tensor; you returned a bare "
                              f"tensor {describe(got)}. d2l's forward unpacks `H, = state`: "
                              f"write `return (torch.zeros(...),)` with the trailing comma.")
        if not isinstance(got, tuple) or len(got) != 1:
            raise CheckFailed(f"{desc} should return a tuple of 1, (H,); you returned {describe(got)}.")
        H = got[0]
        expect_state(H, (B, h), f"{desc}: H", "(batch_size, num_hiddens)")
    passed("init_rnn_state: (H,) with H zeros (batch_size, num_hiddens)")


# ---------------------------------------------------------------------------------------
# reference solutions (what the checks compare against; a grading task may move this block)
# ---------------------------------------------------------------------------------------

def reference_rnn_step(X_t, H, W_xh, W_hh, b_h):
    return torch.tanh(X_t @ W_xh + H @ W_hh + b_h)
