"""Checks for notebook 01 (an MLP over a window of k characters): `perplexity`, `make_windows`."""
import math

import torch

from .core import CheckFailed, call, describe, passed

__all__ = ["check_perplexity", "check_make_windows"]


def check_perplexity(perplexity):
    """perplexity(mean_loss) must be exp(mean_loss) (natural log, as in nn.CrossEntropyLoss)."""
    __tracebackhide__ = True
    hint = "mean_loss is a Python float (the mean cross-entropy in nats); return math.exp(mean_loss)."
    for loss in (0.0, math.log(28), 1.0, 2.5):
        expected = reference_perplexity(loss)
        got = call(perplexity, "perplexity", (loss,), hint)
        if torch.is_tensor(got) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise CheckFailed(f"perplexity({loss:.4g}) should return a float; you returned {describe(got)}.")
        got = float(got)
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        wrong = [
            (loss, "you returned the loss itself; perplexity is exp(mean_loss)"),
            (2.0 ** loss, "you used 2 ** mean_loss; PyTorch's cross-entropy uses the natural log, "
                          "so perplexity is exp(mean_loss)"),
            (10.0 ** loss, "you used 10 ** mean_loss; the loss is in nats, so use exp(mean_loss)"),
            (math.exp(-loss), "exp(-mean_loss) is the geometric-mean probability of the right "
                              "character; perplexity is its reciprocal, exp(+mean_loss)"),
        ]
        if loss > 0:
            wrong.append((math.log(loss), "you took the log; perplexity is exp(mean_loss)"))
        why = next((msg for value, msg in wrong if math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-9)),
                   "perplexity is exp(mean_loss)")
        raise CheckFailed(f"perplexity({loss:.4g}) should be exp({loss:.4g}) = {expected:.6g}; "
                          f"you returned {got:.6g}: {why}. (A perfect model has perplexity 1; "
                          f"a uniform guess over 28 characters has perplexity 28.)")
    passed("perplexity: exp(mean loss); 1 for a perfect model, 28 for a uniform guess over 28 characters")


def check_make_windows(make_windows):
    """make_windows(corpus, k) -> (X (n, k) long, y (n,) long), X[i] = corpus[i:i+k], y[i] = corpus[i+k]."""
    __tracebackhide__ = True
    hint = ("corpus is a Python list of token indices; with n = len(corpus) - k build "
            "X = torch.tensor([corpus[i:i + k] for i in range(n)]) and "
            "y = torch.tensor([corpus[i + k] for i in range(n)]).")
    cases = [([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 3), ([7, 0, 2, 5, 1], 1), ([2, 7, 1, 8, 2, 8, 1, 8], 5)]
    for corpus, k in cases:
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
        exp_X, exp_y = reference_make_windows(corpus, k)
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


# ---------------------------------------------------------------------------------------
# reference solutions (what the checks compare against; a grading task may move this block)
# ---------------------------------------------------------------------------------------

def reference_perplexity(mean_loss):
    return math.exp(mean_loss)


def reference_make_windows(corpus, k):
    n = len(corpus) - k
    X = torch.tensor([corpus[i:i + k] for i in range(n)], dtype=torch.long).reshape(n, k)
    y = torch.tensor([corpus[i + k] for i in range(n)], dtype=torch.long)
    return X, y

