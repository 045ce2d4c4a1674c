"""The argument checks the modules share, each message worded once.

Every check raises `ArgumentError` with a message that names the argument, the value received
and what would work ("num_layers must be a whole number >= 1, got 2.5"). `who` puts the caller
in front ("stacked_rnn: ..."), `what` says what the number is for, `example` adds "; for
example name=value". Nothing here knows about models or data beyond what a check needs.
"""
import math
import numbers
import reprlib

import torch


class ArgumentError(ValueError, TypeError):
    """A bad argument (wrong type or out of range). It is both a ValueError and a TypeError, so
    code written for either catches it (as numpy's AxisError is a ValueError and an IndexError)."""


def is_whole(x):
    """An int (numpy's too), not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_number(x):
    """A real number (int, float, numpy scalar), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _lead(who):
    return f"{who}: " if who else ""


def _example(name, example):
    return "" if example is None else f"; for example {name}={example}"


def whole(value, name, least=1, *, who="", what="", example=None):
    """`value` must be a whole number >= least (least=None: any whole number)."""
    if is_whole(value) and (least is None or value >= least):
        return value
    bound = "" if least is None else f" >= {least}"
    raise ArgumentError(f"{_lead(who)}{name} must be a whole number{bound}{what}, got {value!r}"
                        f"{_example(name, example)}")


def number(value, name, *, above=None, at_least=None, finite=True, what="", who="", example=None):
    """`value` must be a real number (finite unless finite=False), > above or >= at_least when given."""
    ok = is_number(value) and not math.isnan(value) and (math.isfinite(value) or not finite)
    ok = ok and (above is None or value > above) and (at_least is None or value >= at_least)
    if ok:
        return value
    bound = f" > {above}" if above is not None else f" >= {at_least}" if at_least is not None else ""
    raise ArgumentError(f"{_lead(who)}{name} must be a {'finite ' * finite}number{bound}{what}, got {value!r}"
                        f"{_example(name, example)}")


def fraction(value, name, *, zero_ok, example):
    """A probability or share: in [0, 1) when zero_ok, else in (0, 1)."""
    if is_number(value) and (0 <= value if zero_ok else 0 < value) and value < 1:
        return value
    interval = "[0, 1)" if zero_ok else "(0, 1)"
    raise ArgumentError(f"{name} must be a number in {interval}, got {value!r}{_example(name, example)}")


def choice(value, name, choices, *, what=""):
    """`value` must be one of `choices` (listed sorted in the message)."""
    if isinstance(value, str) and value in choices:
        return value
    raise ArgumentError(f"{name} must be one of {sorted(choices)}{what}, got {value!r}")


def describe(obj):
    """A value in a few words for a message: 'a torch.float32 tensor of shape (2, 3)', 'int 5'."""
    if torch.is_tensor(obj):
        return f"a {obj.dtype} tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)}: (" + ", ".join(describe(o) for o in obj[:3]) + ")"
    return f"{type(obj).__name__} {reprlib.repr(obj)}"


def device(value):
    """A torch.device or a name torch knows; a CUDA one needs a GPU that PyTorch can use."""
    try:
        kind = torch.device(value).type
    except (RuntimeError, TypeError):
        raise ArgumentError(f"device must be a torch.device or a name such as 'cpu' or 'cuda:0', "
                            f"got {value!r}") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ArgumentError(f"device={value!r} but PyTorch sees no GPU here (torch.cuda.is_available() "
                            "is False). Use device=d2l.try_gpu(), which falls back to the CPU.")
    if kind == "cuda" and torch.device(value).index is not None \
            and torch.device(value).index >= torch.cuda.device_count():
        raise ArgumentError(f"device={value!r} but PyTorch sees {torch.cuda.device_count()} GPU(s) here, "
                            "numbered from 0. Use device=d2l.try_gpu(), which falls back to the CPU.")
    return value


def prefix(value, vocab, *, who=""):
    """The text a generator warms up on: a non-empty string of characters the vocabulary knows."""
    if not isinstance(value, str) or not value:
        raise ArgumentError(f"{_lead(who)}prefix must be a non-empty string to warm up on, such as "
                            f"'time traveller', got {value!r}")
    known = getattr(vocab, "token_to_idx", None)
    unknown = sorted({c for c in value if c not in known}) if known is not None else []
    if unknown:
        raise ArgumentError(f"{_lead(who)}prefix {value!r} has characters the vocabulary does not know: "
                            f"{unknown}. Use characters of the training text (a cleaned corpus has only "
                            "lowercase letters and spaces).")
    return value


def temperature(value):
    """0 (greedy) or a finite number above it."""
    return number(value, "temperature", at_least=0,
                  what=" (0 = greedy, 1 = the model's own distribution, e.g. 0.5 or 1.0)")


def top_k(value, most=None):
    """None (keep every token) or a whole number from 1 (to `most`, when given)."""
    if value is None or (is_whole(value) and value >= 1 and (most is None or value <= most)):
        return value
    upto = f" from 1 to len(vocab)={most}" if most is not None else " >= 1"
    raise ArgumentError(f"top_k must be None (keep every token) or a whole number{upto}, got {value!r}")


def logits(value):
    """Scores a softmax can read: no NaN or +inf, and not every score of a row -inf."""
    if not torch.is_tensor(value) or not value.is_floating_point() or value.dim() == 0:
        raise ArgumentError(f"logits must be a float tensor with the tokens on its last axis, got "
                            f"{describe(value)}")
    if bool(torch.isnan(value).any() or torch.isposinf(value).any()):
        raise ArgumentError("logits hold NaN or +inf, so no probabilities can be computed: the model's "
                            "outputs are broken (did training diverge? see TrainingDiverged)")
    if bool(torch.isneginf(value).all(dim=-1).any()):
        raise ArgumentError("logits are all -inf for some position: every token is impossible there, "
                            "so no probabilities can be computed")
    return value
