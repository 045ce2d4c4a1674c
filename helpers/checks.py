"""Exercise checks: test a learner's function against a reference and explain what is wrong.

Every ``check_*`` function takes the learner's function, runs it on small fixed cases
(shapes, dtypes, values against a reference written here, gradient flow where it matters)
and either prints one short deterministic line starting with "✓" or raises
:class:`CheckFailed` (an ``AssertionError``) with a message a learner can act on: what was
expected, what was received, and the likely mistake. ``NotImplementedError`` raised by the
learner's code (the student version's ``raise NotImplementedError("Exercise: ...")``) passes
through unchanged; any other error is turned into a ``CheckFailed`` that quotes it and adds a
hint. Conventions follow d2l: ``X @ W`` with ``W_xh`` of shape (num_inputs, num_hiddens),
1-D biases, inputs time-major (num_steps, batch_size, vocab_size).
"""
import math
import traceback

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "CheckFailed",
    "check_perplexity", "check_make_windows",
    "check_rnn_step", "check_init_rnn_state",
    "check_get_params_2", "check_init_rnn_2_state", "check_rnn_2",
    "check_lstm_shapes", "check_lstm_params",
    "check_deep_begin_state",
]

CPU = torch.device("cpu")
ATOL = 1e-5


class CheckFailed(AssertionError):
    """An exercise check failed; the message says what was expected and what to change."""


# ---------------------------------------------------------------------------------------
# small utilities
# ---------------------------------------------------------------------------------------

def _ok(text):
    print("✓ " + text)


def _shape(x):
    """Readable shape of a tensor (or a description of a non-tensor)."""
    if torch.is_tensor(x):
        return str(tuple(x.shape))
    if isinstance(x, (tuple, list)):
        kind = "tuple" if isinstance(x, tuple) else "list"
        return f"a {kind} of {len(x)}"
    return f"a {type(x).__name__}"


def _where(err):
    """' (line N: `code`)' for the deepest frame of the learner's code in err's traceback."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        path = frame.filename.replace("\\", "/")
        if frame.filename == __file__ or "/torch/" in path or "/site-packages/" in path:
            continue
        line = (frame.line or "").strip()
        return f" (in {frame.name}, line {frame.lineno}: `{line}`)" if line else f" (in {frame.name})"
    return ""


def _call(fn, name, args, hint):
    """Call the learner's function; let NotImplementedError through, wrap anything else."""
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailed(f"pass the function itself, e.g. checks.check_{name}({name}); "
                          f"you passed {_shape(fn)}.")
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except CheckFailed:
        raise
    except Exception as err:  # the learner's code failed: quote the error, add a hint
        raise CheckFailed(f"{name} raised {type(err).__name__}: {err}{_where(err)}\n"
                          f"Hint: {hint}") from None


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _close(a, b, atol=ATOL):
    return (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape
            and bool(torch.allclose(a.detach().float(), b.detach().float(), atol=atol, rtol=1e-4)))


def _max_diff(a, b):
    return float((a.detach().float() - b.detach().float()).abs().max())


def _as_shape(value):
    """A shape given as tuple / list / torch.Size of ints -> tuple of ints, else None."""
    if isinstance(value, (tuple, list, torch.Size)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    return None


# ---------------------------------------------------------------------------------------
# 01: perplexity, make_windows
# ---------------------------------------------------------------------------------------

def check_perplexity(perplexity):
    """perplexity(mean_loss) must be exp(mean_loss) (natural log, as in nn.CrossEntropyLoss)."""
    __tracebackhide__ = True
    hint = "mean_loss is a Python float (the mean cross-entropy in nats); return math.exp(mean_loss)."
    for loss in (0.0, math.log(28), 1.0, 2.5):
        expected = math.exp(loss)
        got = _call(perplexity, "perplexity", (loss,), hint)
        if torch.is_tensor(got) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise CheckFailed(f"perplexity({loss:.4g}) should return a float; you returned {_shape(got)}.")
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
    _ok("perplexity: exp(mean loss); 1 for a perfect model, 28 for a uniform guess over 28 characters")


def _ref_windows(corpus, k):
    n = len(corpus) - k
    X = torch.tensor([corpus[i:i + k] for i in range(n)], dtype=torch.long).reshape(n, k)
    y = torch.tensor([corpus[i + k] for i in range(n)], dtype=torch.long)
    return X, y


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
        result = _call(make_windows, "make_windows", (list(corpus), k), hint)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailed(f"{desc} should return a pair (X, y); you returned {_shape(result)}.")
        X, y = result
        for name, t in (("X", X), ("y", y)):
            if not torch.is_tensor(t):
                raise CheckFailed(f"{desc}: {name} should be a torch tensor; you returned {_shape(t)}. "
                                  f"Wrap it with torch.tensor(...).")
        exp_X, exp_y = _ref_windows(corpus, k)
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
                              f"you returned {_shape(X)}{why}.")
        if tuple(y.shape) != (n,):
            why = " (drop the extra axis: targets for cross-entropy are 1-D)" if y.numel() == n else ""
            raise CheckFailed(f"{desc}: y should be 1-D of shape ({n},), one next token per window; "
                              f"you returned {_shape(y)}{why}.")
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
    _ok("make_windows: X[i] = corpus[i:i+k], y[i] = corpus[i+k], both int64")


# ---------------------------------------------------------------------------------------
# 02: rnn_step, init_rnn_state
# ---------------------------------------------------------------------------------------

def check_rnn_step(rnn_step):
    """rnn_step(X_t, H, W_xh, W_hh, b_h) -> tanh(X_t @ W_xh + H @ W_hh + b_h), shape (B, h)."""
    __tracebackhide__ = True
    hint = ("shapes: X_t (batch, vocab), H (batch, h), W_xh (vocab, h), W_hh (h, h), b_h (h,); "
            "return torch.tanh(X_t @ W_xh + H @ W_hh + b_h).")
    for seed, (B, V, h) in enumerate([(2, 5, 4), (3, 6, 2)]):
        g = _gen(seed)
        X_t, H = torch.randn(B, V, generator=g), torch.randn(B, h, generator=g)
        W_xh, W_hh, b_h = (torch.randn(V, h, generator=g), torch.randn(h, h, generator=g),
                           torch.randn(h, generator=g))
        args = [t.clone().requires_grad_(True) for t in (X_t, H, W_xh, W_hh, b_h)]
        desc = f"rnn_step with X_t {_shape(X_t)}, H {_shape(H)}, W_xh {_shape(W_xh)}, W_hh {_shape(W_hh)}, b_h {_shape(b_h)}"
        got = _call(rnn_step, "rnn_step", args, hint)
        if isinstance(got, (tuple, list)) and len(got) == 1 and torch.is_tensor(got[0]):
            raise CheckFailed(f"{desc}: return the new hidden state H itself, a tensor of shape ({B}, {h}); "
                              f"you returned a tuple of 1 (the tuple (H,) is what init_rnn_state returns).")
        if not torch.is_tensor(got):
            raise CheckFailed(f"{desc}: should return a tensor of shape ({B}, {h}); you returned {_shape(got)}.")
        if tuple(got.shape) != (B, h):
            raise CheckFailed(f"{desc}: the new H should be ({B}, {h}) = (batch_size, num_hiddens); "
                              f"you returned {_shape(got)}.")
        pre = X_t @ W_xh + H @ W_hh + b_h
        expected = torch.tanh(pre)
        if not _close(got, expected):
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
            why = next((msg for value, msg in wrong if _close(got, value)),
                       f"max abs difference {_max_diff(got, expected):.3g}")
            raise CheckFailed(f"{desc}: expected tanh(X_t @ W_xh + H @ W_hh + b_h), got different values: {why}.")
        grads = (torch.autograd.grad(got.sum(), args, allow_unused=True) if got.requires_grad
                 else [None] * len(args))
        for name, grad in zip(("X_t", "H", "W_xh", "W_hh", "b_h"), grads):
            if grad is None or not bool(grad.abs().sum() > 0):
                raise CheckFailed(f"rnn_step's output is right but no gradient reaches {name}: do not use "
                                  f".detach(), .data, .item() or torch.no_grad() inside rnn_step.")
    _ok("rnn_step: tanh(X_t W_xh + H W_hh + b_h) matches the reference, gradients flow")


def check_init_rnn_state(init_rnn_state):
    """init_rnn_state(batch_size, num_hiddens, device) -> (H,), H zeros (batch_size, num_hiddens)."""
    __tracebackhide__ = True
    hint = "return (torch.zeros((batch_size, num_hiddens), device=device),) -- note the trailing comma."
    for B, h in ((2, 4), (3, 5)):
        desc = f"init_rnn_state({B}, {h}, device)"
        got = _call(init_rnn_state, "init_rnn_state", (B, h, CPU), hint)
        if torch.is_tensor(got):
            raise CheckFailed(f"{desc} should return a tuple (H,) holding one tensor; you returned a bare "
                              f"tensor {_shape(got)}. d2l's forward unpacks `H, = state`: "
                              f"write `return (torch.zeros(...),)` with the trailing comma.")
        if not isinstance(got, tuple) or len(got) != 1:
            raise CheckFailed(f"{desc} should return a tuple of 1, (H,); you returned {_shape(got)}.")
        H = got[0]
        _check_zero_state(H, (B, h), f"{desc}: H", "(batch_size, num_hiddens)")
    _ok("init_rnn_state: (H,) with H zeros (batch_size, num_hiddens)")


def _check_zero_state(H, shape, what, layout, device=CPU):
    __tracebackhide__ = True
    if not torch.is_tensor(H):
        raise CheckFailed(f"{what} should be a tensor of shape {shape}; you returned {_shape(H)}.")
    if tuple(H.shape) != shape:
        why = " (transposed)" if tuple(H.shape) == shape[::-1] and len(shape) == 2 else ""
        raise CheckFailed(f"{what} should be {shape} = {layout}; you returned {_shape(H)}{why}.")
    if not H.is_floating_point():
        raise CheckFailed(f"{what} should be a float tensor (torch.float32); you returned {H.dtype}. "
                          f"torch.zeros(shape) gives float32.")
    if H.device != device:
        raise CheckFailed(f"{what} should be on the device passed in ({device}); it is on {H.device}.")
    if bool(H.detach().abs().sum() != 0):
        raise CheckFailed(f"{what} should be all zeros (the memory starts empty); use torch.zeros, "
                          f"not torch.ones/randn/empty.")


# ---------------------------------------------------------------------------------------
# 03: get_params_2, init_rnn_2_state, rnn_2
# ---------------------------------------------------------------------------------------

PARAM_NAMES_2 = ("W_xh1", "W_hh1", "b_h1", "W_xh2", "W_hh2", "b_h2", "W_hq", "b_q")


def _param_shapes_2(V, h):
    return [(V, h), (h, h), (h,), (h, h), (h, h), (h,), (h, V), (V,)]


def check_get_params_2(get_params_2):
    """get_params_2(vocab_size, num_hiddens, device) -> 8 trainable tensors with the shapes of API.md."""
    __tracebackhide__ = True
    hint = ("return [W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q]; weights like "
            "torch.randn(shape, device=device) * 0.01, biases torch.zeros(n, device=device), "
            "then call .requires_grad_(True) on each.")
    for V, h in ((5, 4), (7, 3)):
        desc = f"get_params_2(vocab_size={V}, num_hiddens={h}, device)"
        with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream untouched
            params = _call(get_params_2, "get_params_2", (V, h, CPU), hint)
        if not isinstance(params, (list, tuple)) or len(params) != 8:
            raise CheckFailed(f"{desc} should return a list of 8 tensors [{', '.join(PARAM_NAMES_2)}]; "
                              f"you returned {_shape(params)}.")
        expected = _param_shapes_2(V, h)
        for name, p, shape in zip(PARAM_NAMES_2, params, expected):
            if not torch.is_tensor(p):
                raise CheckFailed(f"{desc}: {name} should be a tensor of shape {shape}; you returned {_shape(p)}.")
            if tuple(p.shape) != shape:
                why = ""
                if name == "W_xh2" and tuple(p.shape) == (V, h):
                    why = (" Layer 2 reads layer 1's output H1_t (num_hiddens values), not X_t: its input "
                           "weight is (num_hiddens, num_hiddens); only layer 1 sees vocab_size.")
                elif tuple(p.shape) == shape[::-1]:
                    why = " (transposed: d2l computes X @ W, so W is (inputs, outputs))"
                order = ", ".join(f"{n} {s}" for n, s in zip(PARAM_NAMES_2, expected))
                raise CheckFailed(f"{desc}: {name} should be {shape}; you returned {_shape(p)}.{why}\n"
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
    _ok("get_params_2: 8 parameters with the right shapes, all trainable; layer 2's input weight is (h, h)")


def check_init_rnn_2_state(init_rnn_2_state):
    """init_rnn_2_state(batch_size, num_hiddens, device) -> (H1, H2), zeros (batch_size, num_hiddens) each."""
    __tracebackhide__ = True
    hint = "return (torch.zeros((batch_size, num_hiddens), device=device), torch.zeros((batch_size, num_hiddens), device=device))."
    for B, h in ((2, 4), (3, 5)):
        desc = f"init_rnn_2_state({B}, {h}, device)"
        got = _call(init_rnn_2_state, "init_rnn_2_state", (B, h, CPU), hint)
        if torch.is_tensor(got):
            extra = ""
            if tuple(got.shape) == (2, B, h):
                extra = (" That is nn.RNN's (num_layers, batch, h) layout; the scratch rnn_2 carries a "
                         "tuple of two tensors instead.")
            raise CheckFailed(f"{desc} should return a tuple (H1, H2) of two ({B}, {h}) tensors, one state "
                              f"per layer; you returned one tensor {_shape(got)}.{extra}")
        if not isinstance(got, tuple) or len(got) != 2:
            why = " (one state per layer: layer 1 and layer 2 each keep their own memory)" if (
                isinstance(got, (tuple, list)) and len(got) == 1) else ""
            raise CheckFailed(f"{desc} should return a tuple of two, (H1, H2); you returned {_shape(got)}{why}.")
        for name, H in zip(("H1", "H2"), got):
            _check_zero_state(H, (B, h), f"{desc}: {name}", "(batch_size, num_hiddens)")
    _ok("init_rnn_2_state: (H1, H2), zeros (batch_size, num_hiddens) each")


def _rnn_2_variant(inputs, state, params, *, l2_w=("W_xh2", "W_hh2", "b_h2"), l2_in="H1",
                   l1_prev="H1", l2_prev="H2", shared_init=None, carry="both", start="given",
                   out_from="H2", act1=torch.tanh, act2=torch.tanh, out_act=None):
    """The reference two-layer RNN, or (with keyword changes) one of the classic wrong versions.

    l2_w: layer 2's weights; l2_in: what layer 2 reads ("H1" = H1_t, "H1_prev", "X");
    l1_prev/l2_prev: which carried state each layer reads as its previous state;
    carry: "both" | "none" | "l1" | "l2" (layers whose state is carried to the next step,
    the others restart from the initial state every step); start: "given" | "zeros";
    out_from: the layer the output reads; act1/act2: activations (None = missing).
    """
    W = dict(zip(PARAM_NAMES_2, params))
    H1_0, H2_0 = state if start == "given" else (torch.zeros_like(state[0]), torch.zeros_like(state[1]))
    if shared_init is not None:
        H1_0 = H2_0 = {"H1": H1_0, "H2": H2_0}[shared_init]
    H1, H2 = H1_0, H2_0
    ident = lambda t: t  # noqa: E731
    act1, act2, out_act = act1 or ident, act2 or ident, out_act or ident
    outputs = []
    for X in inputs:
        H1_prev = H1
        prev1 = {"H1": H1, "H2": H2}[l1_prev]
        H1 = act1(X @ W["W_xh1"] + prev1 @ W["W_hh1"] + W["b_h1"])
        inp2 = {"H1": H1, "H1_prev": H1_prev, "X": X}[l2_in]
        prev2 = {"H2": H2, "H1": H1, "H1_prev": H1_prev}[l2_prev]
        H2 = act2(inp2 @ W[l2_w[0]] + prev2 @ W[l2_w[1]] + W[l2_w[2]])
        outputs.append(out_act({"H1": H1, "H2": H2}[out_from] @ W["W_hq"] + W["b_q"]))
        if carry in ("none", "l2"):
            H1 = H1_0
        if carry in ("none", "l1"):
            H2 = H2_0
    return torch.cat(outputs, dim=0), (H1, H2)


def _reuse_msg(names):
    return ("layer 2 reuses layer 1's weights (" + ", ".join(names) + "), so "
            + ", ".join(n.replace("1", "2") for n in names)
            + " get no gradient and never learn" + (", while W_xh1 is used twice" if "W_xh1" in names else "")
            + ". Each layer has its own parameters: "
              "H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2), where W_xh2 is (h, h) because layer 2 "
              "reads H1_t, not X_t. (Reusing W_xh1 is even a shape error when vocab_size != num_hiddens.)")


_SHARED = ("One shared state for both layers: each layer must keep its own memory, "
           "H1 = tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1) reads layer 1's previous H1 and "
           "H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2) reads layer 2's previous H2; carry and return both as (H1, H2).")
_NOT_CARRIED = ("the state is not carried across time steps: at every step each layer must read the H1/H2 "
                "it computed at the previous step (assign the new values back to H1 and H2 inside the loop "
                "over time steps), not the initial state again.")
_TANH = "missing tanh"

# (changes to the reference, message) for the classic mistakes; the first match explains.
_RNN_2_MISTAKES = [
    (dict(l2_w=("W_xh1", "W_hh1", "b_h1")), _reuse_msg(["W_xh1", "W_hh1", "b_h1"])),
    (dict(l2_w=("W_xh1", "W_hh2", "b_h2")), _reuse_msg(["W_xh1"])),
    (dict(l2_w=("W_xh2", "W_hh1", "b_h1")), _reuse_msg(["W_hh1", "b_h1"])),
    (dict(l2_w=("W_xh2", "W_hh1", "b_h2")), _reuse_msg(["W_hh1"])),
    (dict(l1_prev="H2", l2_prev="H1", shared_init="H1"), _SHARED),
    (dict(l1_prev="H2", l2_prev="H1", shared_init="H2"), _SHARED),
    (dict(l1_prev="H2"), _SHARED),
    (dict(l2_prev="H1"), _SHARED),
    (dict(l2_prev="H1_prev"), _SHARED),
    (dict(out_from="H1"), "the output reads layer 1 (H1 @ W_hq); it must read the top layer: "
                          "Y = H2 @ W_hq + b_q. As written, layer 2's parameters get no gradient from the loss."),
    (dict(l2_in="X"), "layer 2 must read layer 1's output H1_t, not X_t: H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2), "
                      "and its input weight W_xh2 is (h, h). (Feeding X_t is a shape error when "
                      "vocab_size != num_hiddens.)"),
    (dict(l2_in="H1_prev"), "layer 2 must read layer 1's *current* output H1_t, not H1_{t-1}: "
                            "update H1 first, then compute H2 from the new H1 in the same time step."),
    (dict(carry="none"), _NOT_CARRIED),
    (dict(carry="l1"), _NOT_CARRIED + " (layer 2's state is the one that is not carried)"),
    (dict(carry="l2"), _NOT_CARRIED + " (layer 1's state is the one that is not carried)"),
    (dict(carry="none", start="zeros"), _NOT_CARRIED + " (you restart from zeros at every step)"),
    (dict(start="zeros"), "you ignored the state passed in and started from zeros: begin with "
                          "H1, H2 = state so that the memory continues from the previous minibatch."),
    (dict(act1=None, act2=None), _TANH + " on both layers: H1 = torch.tanh(...), H2 = torch.tanh(...)."),
    (dict(act1=None), _TANH + " on layer 1: H1 = torch.tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1)."),
    (dict(act2=None), _TANH + " on layer 2: H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)."),
    (dict(act1=torch.relu, act2=torch.relu), "you used relu; this RNN uses tanh (d2l's φ) in both layers."),
    (dict(act1=torch.sigmoid, act2=torch.sigmoid), "you used sigmoid; this RNN uses tanh (d2l's φ) in both layers."),
    (dict(out_act=torch.tanh), "do not apply tanh to the output: Y = H2 @ W_hq + b_q are raw scores (logits) "
                               "for the softmax inside the cross-entropy loss."),
]


def _rnn_2_case(V, h, T, B, seed):
    g = _gen(seed)
    params = [torch.randn(s, generator=g) * 0.8 for s in _param_shapes_2(V, h)]
    inputs = F.one_hot(torch.randint(0, V, (T, B), generator=g), V).float()
    state = (torch.randn(B, h, generator=g) * 0.5, torch.randn(B, h, generator=g) * 0.5)
    return inputs, state, params


_RNN_2_HINT = ("inputs is (num_steps, batch, vocab); state is a tuple, so start with H1, H2 = state; at each "
               "time step H1 = tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1) with X_t (batch, vocab) and W_xh1 "
               "(vocab, h), H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2) with W_xh2 (h, h), "
               "Y = H2 @ W_hq + b_q; return torch.cat(outputs, dim=0), (H1, H2).")


def _run_rnn_2(rnn_2, case):
    """Call the learner's rnn_2 on fresh trainable copies of the case's parameters."""
    __tracebackhide__ = True
    inputs, state, params = case
    trainable = [p.clone().requires_grad_(True) for p in params]
    result = _call(rnn_2, "rnn_2", (inputs.clone(), tuple(s.clone() for s in state), trainable), _RNN_2_HINT)
    return result, trainable


def _match_mistake(outputs, case):
    """The message of the first classic mistake whose outputs equal the learner's, or None."""
    inputs, state, params = case
    with torch.no_grad():
        for changes, message in _RNN_2_MISTAKES:
            try:
                wrong, _ = _rnn_2_variant(inputs, state, params, **changes)
            except RuntimeError:  # this mistake is a shape error for this case
                continue
            if _close(outputs, wrong):
                return message
    return None


def _check_rnn_2_structure(result, case, desc):
    __tracebackhide__ = True
    inputs, state, _ = case
    T, B, V = inputs.shape
    h = state[0].shape[1]
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{desc}: rnn_2 should return a pair (outputs, (H1, H2)); you returned {_shape(result)}.")
    outputs, new_state = result
    if isinstance(outputs, (list, tuple)):
        raise CheckFailed(f"{desc}: outputs should be one tensor of shape ({T * B}, {V}) = "
                          f"(num_steps * batch, vocab); you returned {_shape(outputs)}: "
                          f"join them with torch.cat(outputs, dim=0).")
    if not torch.is_tensor(outputs):
        raise CheckFailed(f"{desc}: outputs should be a tensor of shape ({T * B}, {V}); you returned {_shape(outputs)}.")
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
                          f"one tensor {_shape(new_state)}. One state per layer: return (H1, H2).")
    if isinstance(new_state, (tuple, list)) and len(new_state) == 1:
        raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2); you returned a tuple of 1. "
                          + _SHARED)
    if not isinstance(new_state, tuple) or len(new_state) != 2:
        raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2), each ({B}, {h}); "
                          f"you returned {_shape(new_state)}.")
    for name, H in zip(("H1", "H2"), new_state):
        if not torch.is_tensor(H) or tuple(H.shape) != (B, h):
            raise CheckFailed(f"{desc}: the state should be a tuple of two (H1, H2), each ({B}, {h}) = "
                              f"(batch, num_hiddens); your {name} is {_shape(H)}.")
    if new_state[0] is new_state[1] or _close(new_state[0], new_state[1]):
        raise CheckFailed(f"{desc}: you returned H1 == H2. " + _SHARED)
    return outputs, new_state


def _rnn_2_wrong_values(rnn_2, case, outputs, trainable, desc):
    """Explain why the learner's outputs differ from the reference (never returns)."""
    __tracebackhide__ = True
    inputs, state, params = case
    message = _match_mistake(outputs, case)
    if message:
        raise CheckFailed(f"{desc}: {message}")
    # No known mistake matched exactly: probe with gradients.
    if outputs.requires_grad:
        weights = torch.randn(outputs.shape, generator=_gen(99))
        grads = torch.autograd.grad((outputs * weights).sum(), trainable, allow_unused=True)
        dead = [n for n, gr in zip(PARAM_NAMES_2, grads) if gr is None or not bool(gr.abs().sum() > 0)]
        if {"W_xh2", "W_hh2", "b_h2"} <= set(dead):
            raise CheckFailed(f"{desc}: layer 2's parameters W_xh2, W_hh2, b_h2 get no gradient from the outputs: "
                              f"either layer 2 reuses layer 1's weights or the output reads layer 1. Layer 2 "
                              f"uses its own weights, and Y = H2 @ W_hq + b_q.")
        if dead:
            raise CheckFailed(f"{desc}: the outputs do not depend on {', '.join(dead)}: each of the 8 parameters "
                              f"has exactly one place in the computation. " + _RNN_2_HINT)
    T, B, _ = inputs.shape
    expected, _ = _rnn_2_variant(inputs, state, params)
    step = next(t for t in range(T) if not _close(outputs[t * B:(t + 1) * B], expected[t * B:(t + 1) * B]))
    later = (" Step 0 matches, so look at how the state goes from one step to the next." if step > 0 else "")
    raise CheckFailed(f"{desc}: outputs differ from the reference two-layer RNN from time step {step} on "
                      f"(rows {step * B}..{step * B + B - 1}; max abs difference {_max_diff(outputs, expected):.3g})."
                      f"{later} Expected, at each step: H1 = tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1), "
                      f"H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2), Y = H2 @ W_hq + b_q.")


def check_rnn_2(rnn_2):
    """rnn_2(inputs, state, params) -> (outputs (T*B, V), (H1, H2)): a two-layer RNN by hand."""
    __tracebackhide__ = True
    main = _rnn_2_case(V=5, h=4, T=3, B=2, seed=0)      # vocab != hidden: shape mistakes show up
    square = _rnn_2_case(V=4, h=4, T=3, B=2, seed=1)    # vocab == hidden: the wrong versions run
    main_desc = "rnn_2 with vocab_size=5, num_hiddens=4, num_steps=3, batch_size=2"
    square_desc = "rnn_2 with vocab_size=4, num_hiddens=4, num_steps=3, batch_size=2"
    try:
        result, trainable = _run_rnn_2(rnn_2, main)
    except CheckFailed as failure:
        # Layer-1 weights reused for layer 2, or X_t fed to layer 2, are shape errors here but
        # run when vocab_size == num_hiddens: diagnose them there.
        try:
            result, _ = _run_rnn_2(rnn_2, square)
            outputs, _ = _check_rnn_2_structure(result, square, square_desc)
        except CheckFailed:
            raise failure from None
        message = _match_mistake(outputs, square)
        if message:
            raise CheckFailed(f"{square_desc}: {message}\n(With vocab_size=5, num_hiddens=4 your rnn_2 fails: "
                              f"{str(failure).splitlines()[0]})") from None
        with torch.no_grad():
            works = _close(outputs, _rnn_2_variant(*square)[0])
        if works:
            raise CheckFailed(f"{failure}\nYour rnn_2 works when vocab_size == num_hiddens but not when they "
                              f"differ: check which weight each product uses (only layer 1 sees vocab_size).") from None
        raise failure from None
    outputs, new_state = _check_rnn_2_structure(result, main, main_desc)
    inputs, state, params = main
    with torch.no_grad():
        expected, (exp_H1, exp_H2) = _rnn_2_variant(inputs, state, params)
    if not _close(outputs, expected):
        _rnn_2_wrong_values(rnn_2, main, outputs, trainable, main_desc)
    H1, H2 = new_state
    if not (_close(H1, exp_H1) and _close(H2, exp_H2)):
        if _close(H1, state[0]) and _close(H2, state[1]):
            why = ("it equals the state you received: the state was not updated; return the (H1, H2) "
                   "computed at the last time step")
        elif _close(H1, exp_H2) and _close(H2, exp_H1):
            why = "it is in the wrong order: return (H1, H2), layer 1 first"
        else:
            why = "return the (H1, H2) computed at the last time step"
        raise CheckFailed(f"{main_desc}: the outputs are right but the returned state is not: {why}.")
    if not outputs.requires_grad:
        raise CheckFailed(f"{main_desc}: the outputs are right but carry no gradient: do not use .detach(), "
                          f".data or torch.no_grad() inside rnn_2 (detaching belongs to the training loop, "
                          f"between minibatches).")
    weights = torch.randn(outputs.shape, generator=_gen(99))
    grads = torch.autograd.grad((outputs * weights).sum(), trainable, allow_unused=True)
    dead = [n for n, gr in zip(PARAM_NAMES_2, grads) if gr is None or not bool(gr.abs().sum() > 0)]
    if dead:
        raise CheckFailed(f"{main_desc}: the outputs are right but no gradient reaches {', '.join(dead)}: "
                          f"do not use .detach(), .data or torch.no_grad() inside rnn_2.")
    # A second case (vocab == hidden, other numbers) guards against hard-coded sizes.
    result, trainable = _run_rnn_2(rnn_2, square)
    outputs, _ = _check_rnn_2_structure(result, square, square_desc)
    with torch.no_grad():
        expected, _ = _rnn_2_variant(*square)
    if not _close(outputs, expected):
        _rnn_2_wrong_values(rnn_2, square, outputs, trainable, square_desc)
    _ok("rnn_2: matches the reference two-layer RNN; each layer keeps its own state; "
        "gradients reach all 8 parameters")


# ---------------------------------------------------------------------------------------
# 04: LSTM shapes and parameter counts
# ---------------------------------------------------------------------------------------

def check_lstm_shapes(predict_lstm_shapes):
    """predict_lstm_shapes(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first)
    -> {"out": shape, "h_n": shape, "c_n": shape}, as nn.LSTM returns them."""
    __tracebackhide__ = True
    hint = ('return a dict {"out": (...), "h_n": (...), "c_n": (...)} of shape tuples; '
            "out is (num_steps, batch, hidden) or (batch, num_steps, hidden) with batch_first; "
            "h_n and c_n are (num_layers, batch, hidden) always.")
    cases = [(28, 256, 2, 32, 35, False), (28, 256, 2, 32, 35, True), (10, 16, 3, 4, 7, True),
             (28, 32, 1, 5, 6, False)]
    for d, h, L, B, T, bf in cases:
        desc = (f"nn.LSTM({d}, {h}, num_layers={L}, batch_first={bf}) with batch_size={B}, num_steps={T}")
        got = _call(predict_lstm_shapes, "predict_lstm_shapes", (d, h, L, B, T, bf), hint)
        if not isinstance(got, dict):
            raise CheckFailed(f'{desc}: return a dict with keys "out", "h_n", "c_n"; you returned {_shape(got)}.')
        missing = [k for k in ("out", "h_n", "c_n") if k not in got]
        if missing:
            raise CheckFailed(f'{desc}: the dict is missing {", ".join(repr(k) for k in missing)} '
                              f'(keys: "out", "h_n", "c_n"); it has {sorted(map(str, got))}.')
        out = (B, T, h) if bf else (T, B, h)
        state = (L, B, h)
        for key, exp in (("out", out), ("h_n", state), ("c_n", state)):
            shape = _as_shape(got[key])
            if shape is None:
                raise CheckFailed(f"{desc}: {key} should be a shape tuple like {exp}; you returned {got[key]!r}.")
            if shape == exp:
                continue
            if key == "out":
                if shape == ((T, B, h) if bf else (B, T, h)):
                    why = (f"with batch_first={bf} the batch axis comes {'first' if bf else 'second'}; "
                           f"you gave the batch_first={not bf} layout")
                elif shape in ((T, B, L * h), (B, T, L * h), (L, T, B, h), (L, B, T, h)):
                    why = "out holds only the top layer's hidden state, for every time step"
                elif shape in ((T, B, d), (B, T, d)):
                    why = "out's last size is num_hiddens, not num_inputs"
                elif shape in (state, (B, h)):
                    why = "out has every time step (of the top layer); h_n has the last step of every layer"
                else:
                    why = ("out is (batch, num_steps, num_hiddens)" if bf
                           else "out is (num_steps, batch, num_hiddens)")
            else:
                if shape == (B, h):
                    why = "one state per layer"
                elif shape in ((B, L, h), (B, h, L)):
                    why = f"{key} is (num_layers, batch, num_hiddens) whatever batch_first says"
                elif shape in ((T, B, h), (B, T, h), (L, T, B, h)):
                    why = f"{key} holds only the last time step, one state per layer"
                elif shape == (L, B, d):
                    why = f"{key}'s last size is num_hiddens, not num_inputs"
                else:
                    why = f"{key} is (num_layers, batch, num_hiddens)"
                if key == "c_n" and _as_shape(got["h_n"]) == state:
                    why += "; c_n has the same shape as h_n"
            raise CheckFailed(f"{desc}: {key} should be {exp}: {why}; you returned {shape}.")
    _ok("lstm_shapes: out (T, B, h) or (B, T, h) with batch_first; h_n and c_n (L, B, h) always")


def _lstm_numel_per_layer(num_inputs, num_hiddens, num_layers):
    lstm = nn.LSTM(num_inputs, num_hiddens, num_layers)
    return [sum(p.numel() for name, p in lstm.named_parameters() if name.endswith(f"_l{layer}"))
            for layer in range(num_layers)]


def check_lstm_params(lstm_params_per_layer):
    """lstm_params_per_layer(num_inputs, num_hiddens, num_layers) -> list of per-layer counts of nn.LSTM."""
    __tracebackhide__ = True
    hint = ("one count per layer: 4 * (h * d + h * h + 2 * h), where d = num_inputs for layer 1 and "
            "d = num_hiddens for every layer above it.")
    for d, h, L in ((28, 32, 2), (5, 4, 3), (10, 8, 1)):
        desc = f"lstm_params_per_layer({d}, {h}, {L}) for nn.LSTM({d}, {h}, num_layers={L})"
        with torch.random.fork_rng(devices=[]):
            expected = _lstm_numel_per_layer(d, h, L)
        got = _call(lstm_params_per_layer, "lstm_params_per_layer", (d, h, L), hint)
        if torch.is_tensor(got):
            got = got.tolist()
        if isinstance(got, (int, float)) and not isinstance(got, bool):
            why = " (that is the total: return the count of each layer)" if got == sum(expected) else ""
            raise CheckFailed(f"{desc} should return a list of {L} counts, one per layer, {expected}; "
                              f"you returned the single number {got}{why}.")
        if not isinstance(got, (list, tuple)):
            raise CheckFailed(f"{desc} should return a list of {L} ints; you returned {_shape(got)}.")
        if len(got) != L:
            raise CheckFailed(f"{desc} should return {L} counts, one per layer, {expected}; "
                              f"you returned {len(got)}: {list(got)}.")
        for layer, (g, e) in enumerate(zip(got, expected), start=1):
            if torch.is_tensor(g):
                g = g.item()
            if g == e:
                continue
            d_l = d if layer == 1 else h
            d_wrong = h if layer == 1 else d
            known = {
                h * d_l + h * h + 2 * h: "an LSTM layer has 4 gate blocks (input, forget, cell candidate, "
                                         "output), each with its own weights and biases: multiply by 4",
                3 * (h * d_l + h * h + 2 * h): "3 gate blocks is a GRU; an LSTM has 4",
                4 * (h * d_l + h * h + h): "PyTorch keeps two bias vectors per layer (bias_ih and bias_hh), "
                                           "so the biases are 2 * 4h",
                4 * (h * d_l + h * h): "the biases are missing: 2 * 4h of them (bias_ih and bias_hh)",
                4 * (h * d_l + 2 * h): "the recurrent weights W_hh (4h x h) are missing",
                4 * (h * d_wrong + h * h + 2 * h): (
                    "layer 1 reads the num_inputs-sized input: its input weight is 4h x num_inputs"
                    if layer == 1 else
                    "only the first layer sees num_inputs; layers above read the h-sized output of the "
                    "layer below, so their input weight is 4h x num_hiddens"),
            }
            why = known.get(g, "use 4 * (h * d + h * h + 2 * h) with d the size of that layer's input")
            raise CheckFailed(f"{desc}: layer {layer} should have {e} parameters; you returned {g}: {why}.")
    _ok("lstm_params: 4 * (h*d + h*h + 2h) per layer; only layer 1 depends on num_inputs")


# ---------------------------------------------------------------------------------------
# 05: deep_begin_state
# ---------------------------------------------------------------------------------------

def check_deep_begin_state(deep_begin_state):
    """deep_begin_state(cell, num_layers, batch_size, num_hiddens) -> zeros (L, B, h), or (H, C) for LSTM."""
    __tracebackhide__ = True
    hint = ('return torch.zeros((num_layers, batch_size, num_hiddens)) for "RNN" and "GRU", and a tuple '
            'of two such tensors (H, C) for "LSTM".')
    for cell, L, B, h in (("RNN", 2, 3, 4), ("GRU", 3, 2, 5), ("LSTM", 2, 3, 4), ("LSTM", 1, 2, 5)):
        desc = f'deep_begin_state("{cell}", num_layers={L}, batch_size={B}, num_hiddens={h})'
        got = _call(deep_begin_state, "deep_begin_state", (cell, L, B, h), hint)
        layout = "(num_layers, batch_size, num_hiddens): one state per layer"
        if cell == "LSTM":
            if torch.is_tensor(got):
                raise CheckFailed(f"{desc}: nn.LSTM needs a tuple (H, C), the hidden state and the memory cell, "
                                  f"each {(L, B, h)}; you returned one tensor {_shape(got)}.")
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckFailed(f"{desc}: should return a tuple (H, C) of two {(L, B, h)} tensors; "
                                  f"you returned {_shape(got)}.")
            parts = zip(("H", "C"), got)
        else:
            if isinstance(got, (tuple, list)):
                raise CheckFailed(f"{desc}: nn.{cell} takes a single tensor h_0 of shape {(L, B, h)} "
                                  f"(only LSTM takes a tuple (H, C)); you returned {_shape(got)}.")
            parts = [("the state", got)]
        for name, t in parts:
            if torch.is_tensor(t) and tuple(t.shape) == (B, L, h) and L != B:
                raise CheckFailed(f"{desc}: {name} should be {(L, B, h)}: the layer axis comes first, "
                                  f"whatever batch_first says; you returned {_shape(t)}.")
            if torch.is_tensor(t) and tuple(t.shape) == (B, h):
                raise CheckFailed(f"{desc}: {name} should be {(L, B, h)}: one state per layer; "
                                  f"you returned {_shape(t)}.")
            _check_zero_state(t, (L, B, h), f"{desc}: {name}", layout)
    _ok('deep_begin_state: zeros (num_layers, batch, hidden); a tuple (H, C) for "LSTM"')
