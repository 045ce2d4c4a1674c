"""Checks for notebook 01 (an MLP over a window of k characters): `make_windows` and `window_features`
(the rows of W_xh that a one-hot window picks)."""
from unittest import mock

import torch
from torch.nn import functional as F

from .core import CheckFailed, builtin, call, close, describe, generator, max_diff, passed

__all__ = ["check_make_windows", "check_window_features"]

def make_windows_cases(seed, sizes):
    """The visible cases (seed 0, no sizes), else one random corpus of sizes = (length, k)."""
    if seed == 0 and sizes is None:
        return [([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 3), ([7, 0, 2, 5, 1], 1), ([2, 7, 1, 8, 2, 8, 1, 8], 5)]
    length, k = sizes if sizes is not None else (23, 4)
    return [(torch.randint(0, 28, (length,), generator=generator(seed)).tolist(), k)]


def check_make_windows(make_windows, *, seed=0, sizes=None):
    """make_windows(corpus, k) -> (X (n, k) long, y (n,) long), X[i] = corpus[i:i+k], y[i] = corpus[i+k].

    Hidden tests: another seed and sizes = (len(corpus), k) give a random corpus.
    """
    __tracebackhide__ = True
    hint = ("corpus is a Python list of token indices; with n = len(corpus) - k build "
            "X = torch.tensor([corpus[i:i + k] for i in range(n)]) and "
            "y = torch.tensor([corpus[i + k] for i in range(n)]).")
    for corpus, k in make_windows_cases(seed, sizes):
        n = len(corpus) - k
        desc = f"make_windows({corpus}, k={k})"
        result = call(make_windows, "make_windows", (list(corpus), k), hint)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(f"{desc} should return a pair (X, y); you returned {describe(result)}.")
        X, y = result
        for name, t in (("X", X), ("y", y)):
            if not torch.is_tensor(t):
                raise CheckFailed(f"{desc}: {name} should be a torch tensor; you returned {describe(t)}. "
                                  f"Wrap it with torch.tensor(...).")
        exp_X, exp_y = unfold_windows(corpus, k)
        if tuple(X.shape) != (n, k):
            why = ""
            if tuple(X.shape) == (k, n):
                why = " (transposed: one row per window, one column per position)"
            elif X.dim() == 2 and X.shape[0] == n + 1:
                why = (" (one window too many: the last window has no next character, "
                       "so n = len(corpus) - k)")
            elif X.dim() == 2 and X.shape[0] == n - 1:
                why = " (one window too few: n = len(corpus) - k, so use range(len(corpus) - k))"
            raise CheckFailed(f"{desc}: X should be (n, k) = ({n}, {k}) with n = len(corpus) - k; "
                              f"you returned {describe(X)}{why}.")
        if tuple(y.shape) != (n,):
            why = " (drop the extra axis: targets for cross-entropy are 1-D)" if y.numel() == n else ""
            raise CheckFailed(f"{desc}: y should be 1-D of shape ({n},), one next token per window; "
                              f"you returned {describe(y)}{why}.")
        for name, t in (("X", X), ("y", y)):
            if t.dtype != torch.long:
                raise CheckFailed(f"{desc}: {name} should hold integer token indices (torch.long / int64, "
                                  f"as embeddings, one_hot and cross-entropy targets need); you returned "
                                  f"{t.dtype}. Build it with torch.tensor(list_of_ints) or add "
                                  f"dtype=torch.long.")
        for i in range(n):
            if not torch.equal(X[i], exp_X[i]):
                why = ""
                if i + k + 1 <= len(corpus) and X[i].tolist() == corpus[i + 1:i + k + 1]:
                    why = " (your window starts one token too late)"
                raise CheckFailed(f"{desc}: X[{i}] should be corpus[{i}:{i + k}] = {exp_X[i].tolist()}; "
                                  f"you returned {X[i].tolist()}{why}.")
        for i in range(n):
            if int(y[i]) != int(exp_y[i]):
                why = ""
                if int(y[i]) == corpus[i + k - 1]:
                    why = (f" (that is corpus[{i + k - 1}], the last token inside the window; "
                           f"the target is the token right after it)")
                raise CheckFailed(f"{desc}: y[{i}] should be corpus[{i + k}] = {int(exp_y[i])}, the token "
                                  f"that follows window X[{i}]; you returned {int(y[i])}{why}.")
    passed("make_windows: X[i] = corpus[i:i+k], y[i] = corpus[i+k], both int64")


@builtin("make_windows", check_make_windows, "torch.Tensor.unfold")
def unfold_windows(corpus, k):
    """PyTorch's sliding windows: `unfold(0, k, 1)` lists every window of k tokens; the last has no target."""
    tokens = torch.as_tensor(corpus, dtype=torch.long)
    return tokens.unfold(0, k, 1)[:len(tokens) - k], tokens[k:]


def window_cases(seed, sizes):
    """(windows (B, k) long, W_xh (k * V, h), V): the visible sizes, else sizes = (B, k, V, h)."""
    cases = [(4, 3, 5, 6), (3, 1, 7, 2)] if seed == 0 and sizes is None else [sizes or (6, 4, 9, 5)]
    out = []
    for i, (B, k, V, h) in enumerate(cases):
        g = generator(seed + i)
        out.append((torch.randint(0, V, (B, k), generator=g), torch.randn(k * V, h, generator=g), V))
    return out


def check_window_features(window_features, *, seed=0, sizes=None):
    """window_features(windows, W_xh, vocab_size) -> (B, h): the product one_hot(windows) @ W_xh,
    computed by picking rows of W_xh, without building one-hot vectors.

    Hidden tests: another seed and sizes = (batch, k, vocab_size, num_hiddens).
    """
    __tracebackhide__ = True
    hint = ("windows is (B, k) token indices and W_xh is (k * vocab_size, h); position j of the window "
            "owns rows j * vocab_size ... j * vocab_size + vocab_size - 1 of W_xh.")
    for windows, W_xh, V in window_cases(seed, sizes):
        B, k = windows.shape
        h = W_xh.shape[1]
        desc = f"window_features with windows {describe(windows)}, W_xh {describe(W_xh)}, vocab_size={V}"
        trainable = W_xh.clone().requires_grad_(True)
        refuse = CheckFailed(f"{desc}: window_features called F.one_hot. The point of this exercise is that the "
                             f"product only picks rows of W_xh: index W_xh instead of building one-hot vectors.")
        with mock.patch.object(F, "one_hot", side_effect=refuse), mock.patch.object(torch, "eye", side_effect=refuse):
            got = call(window_features, "window_features", (windows.clone(), trainable, V), hint)
        if not torch.is_tensor(got):
            raise CheckFailed(f"{desc}: should return a tensor of shape ({B}, {h}); you returned {describe(got)}.")
        if tuple(got.shape) != (B, h):
            why = " (sum over the k positions of the window)" if tuple(got.shape) == (B, k, h) else ""
            raise CheckFailed(f"{desc}: the result should be ({B}, {h}) = (batch, num_hiddens), like "
                              f"X @ W_xh; you returned {describe(got)}{why}.")
        expected = one_hot_features(windows, W_xh, V)  # the product it replaces
        if not close(got, expected):
            def picks(index, size, W_xh=W_xh):  # the rows a one-hot product with these indices adds
                return F.one_hot(index, size).float().sum(dim=1) @ W_xh[:size]
            wrong = [
                (picks(windows, V),
                 "every position read the rows of position 0: the token x at position j is row j * vocab_size + x"),
                (picks(windows * k + torch.arange(k), k * V),
                 "the token x at position j is row j * vocab_size + x, not x * k + j"),
                (expected / k, "X @ W_xh adds the k rows; you took their mean"),
            ]
            why = next((msg for value, msg in wrong if close(got, value)),
                       f"max abs difference {max_diff(got, expected):.3g}")
            raise CheckFailed(f"{desc}: the result differs from one_hot(windows) @ W_xh: {why}.")
        if not got.requires_grad or not bool(torch.autograd.grad(got.sum(), trainable)[0].abs().sum() > 0):
            raise CheckFailed(f"{desc}: the values are right but no gradient reaches W_xh, so training could "
                              f"not change it: do not use .detach(), .data or torch.no_grad() here.")
    passed("window_features: picking k rows of W_xh gives one_hot(windows) @ W_xh, and W_xh gets gradients")


@builtin("window_features", check_window_features, "the one-hot product X @ W_xh")
def one_hot_features(windows, W_xh, vocab_size):
    """What the exercise replaces: one-hot windows flattened to (B, k * V), times W_xh."""
    return F.one_hot(windows, vocab_size).to(W_xh.dtype).reshape(len(windows), -1) @ W_xh
