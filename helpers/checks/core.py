"""What every exercise check shares: the failure type, calling the learner's function safely,
small helpers to describe shapes and compare tensors, and `yours_or_builtin`."""
import contextlib
import io
import os
import textwrap
import traceback

import torch

CPU = torch.device("cpu")
ATOL = 1e-5
HERE = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(AssertionError):
    """An exercise check failed; the message says what was expected and what to change."""


def passed(text):
    """The one line a check prints when the learner's function is right."""
    print("✓ " + text)


def describe(x):
    """Readable shape of a tensor (or a description of a non-tensor)."""
    if torch.is_tensor(x):
        return str(tuple(x.shape))
    if isinstance(x, (tuple, list)):
        kind = "tuple" if isinstance(x, tuple) else "list"
        return f"a {kind} of {len(x)}"
    return f"a {type(x).__name__}"


def _where(err):
    """' (in fn, line N: `code`)' for the deepest frame of the learner's code in err's traceback."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        path = frame.filename.replace("\\", "/")
        if os.path.dirname(os.path.abspath(frame.filename)) == HERE or "/torch/" in path or "/site-packages/" in path:
            continue
        line = (frame.line or "").strip()
        return f" (in {frame.name}, line {frame.lineno}: `{line}`)" if line else f" (in {frame.name})"
    return ""


def call(fn, name, args, hint):
    """Call the learner's function; let NotImplementedError through, wrap anything else.

    `hint`: the text added to a failure, or a function of the error that returns it."""
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailed(f"pass the function itself, e.g. checks.check_{name}({name}); "
                          f"you passed {describe(fn)}.")
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except CheckFailed:
        raise
    except Exception as err:  # the learner's code failed: quote the error, add a hint
        raise CheckFailed(f"{name} raised {type(err).__name__}: {err}{_where(err)}\n"
                          f"Hint: {hint(err) if callable(hint) else hint}") from None


def generator(seed):
    """A private random stream, so that a check never moves the notebook's own."""
    return torch.Generator().manual_seed(seed)


def close(a, b, atol=ATOL):
    """Both are tensors of the same shape with (nearly) the same values."""
    return (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape
            and bool(torch.allclose(a.detach().float(), b.detach().float(), atol=atol, rtol=1e-4)))


def max_diff(a, b):
    return float((a.detach().float() - b.detach().float()).abs().max())


def as_shape(value):
    """A shape given as tuple / list / torch.Size of ints -> tuple of ints, else None."""
    if isinstance(value, (tuple, list, torch.Size)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    return None


def dead_parameters(outputs, trainable, names, seed=99):
    """Names of the parameters that get no gradient from a random weighting of the outputs."""
    weights = torch.randn(outputs.shape, generator=generator(seed))
    grads = torch.autograd.grad((outputs * weights).sum(), trainable, allow_unused=True)
    return [n for n, g in zip(names, grads) if g is None or not bool(g.abs().sum() > 0)]


def expect_state(H, shape, what, layout, device=CPU):
    """H must be a float tensor of zeros with this shape on this device (an initial state)."""
    __tracebackhide__ = True
    if not torch.is_tensor(H):
        raise CheckFailed(f"{what} should be a tensor of shape {shape}; you returned {describe(H)}.")
    if tuple(H.shape) != shape:
        why = " (transposed)" if tuple(H.shape) == shape[::-1] and len(shape) == 2 else ""
        raise CheckFailed(f"{what} should be {shape} = {layout}; you returned {describe(H)}{why}.")
    if not H.is_floating_point():
        raise CheckFailed(f"{what} should be a float tensor (torch.float32); you returned {H.dtype}. "
                          f"torch.zeros(shape) gives float32.")
    if H.device != device:
        raise CheckFailed(f"{what} should be on the device passed in ({device}); it is on {H.device}.")
    if bool(H.detach().abs().sum() != 0):
        raise CheckFailed(f"{what} should be all zeros (the memory starts empty); use torch.zeros, "
                          f"not torch.ones/randn/empty.")


# ---------------------------------------------------------------------------------------
# keep going when stuck: the learner's function if it passes its check, else a PyTorch equivalent
# ---------------------------------------------------------------------------------------

BUILTINS = {}  # name -> (check, builtin, what the builtin is built from)


def builtin(name, check, what):
    """Register the decorated function as the stand-in for the learner's `name` (see yours_or_builtin)."""
    def register(fn):
        BUILTINS[name] = (check, fn, what)
        return fn
    return register


def yours_or_builtin(name, fn):
    """Your `fn` if it passes the visible check of exercise `name`, else an equivalent built from
    PyTorch's own modules, with one line saying so. Later cells use whichever is returned.

    Grading scores your own function (the check cells), never what this returns.
    """
    if name not in BUILTINS:
        raise ValueError(f"yours_or_builtin: no built-in stand-in for {name!r}; "
                         f"known exercises: {', '.join(sorted(BUILTINS))}")
    check, stand_in, what = BUILTINS[name]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(fn)
        return fn
    except Exception as err:  # NotImplementedError, CheckFailed, or a bad argument
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        if isinstance(err, CheckFailed):
            why = f"its check failed: {reason}"
        else:
            why = f"it raised {type(err).__name__}" + (f": {reason}" if reason else "")
        why = textwrap.shorten(why, 220, placeholder="...")
        print(f"using {what} in place of your {name}: {why}")
        return stand_in
