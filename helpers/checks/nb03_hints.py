"""Stepped hints for notebook 03's `rnn_2` when it raises an error: what is wrong first, then where.

A learner whose `rnn_2` raises gets the error quoted (with the line of their code it came from)
and one step of hint. The first time an error is seen the hint says *what* is wrong, in words;
when the same error comes back (the check run again, or `yours_or_builtin` after it), the hint
adds *where* to look. No hint writes out any line of the solution.
"""
import re

from .core import call

__all__ = ["call_stepped", "rnn_2_hint", "LAYOUT"]

# What each part of rnn_2 reads, in words (also used when a parameter gets no gradient).
LAYOUT = ("each of the 8 parameters has one place: layer 1's three (W_xh1, W_hh1, b_h1) in layer 1's "
          "update, which reads X_t and layer 1's own previous state; layer 2's three in layer 2's update, "
          "which reads layer 1's new state and layer 2's own previous state; W_hq and b_q in the output, "
          "which reads layer 2.")

_seen = {}  # (exception type, first line of its message) -> how many times its hint was given

MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
ADD = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)")


def _matmul_steps(a_rows, a_cols, w_rows, w_cols, V, h):
    what = (f"a matrix product multiplies a ({a_rows}, {a_cols}) tensor by a ({w_rows}, {w_cols}) weight; "
            f"the inner sizes ({a_cols} and {w_rows}) must be equal.")
    if a_cols == h and w_rows == V:
        where = ("a product that reads a hidden state (num_hiddens columns) uses a weight with vocab_size rows. "
                 "Only layer 1's input weight has vocab_size rows; layer 2 reads layer 1's new state, so its "
                 "input weight is layer 2's own (num_hiddens, num_hiddens) one.")
    elif a_cols == V and w_rows == h and w_cols == h:
        where = ("the one-hot input X_t (vocab_size columns) meets a weight made for hidden states. Only layer 1 "
                 "reads X_t; layer 2 reads layer 1's state of this time step.")
    elif w_cols == a_cols:
        where = ("a weight used the wrong way round: d2l multiplies a (batch, inputs) tensor by a weight of "
                 "shape (inputs, outputs), so the tensor comes first and the weight second.")
    else:
        where = "compare the shape of each tensor in that line with the table of section 3."
    return what, where


def _steps(err, V, h):
    """(what is wrong, where to look) for an error raised inside rnn_2, in words only."""
    text = str(err)
    m = MATMUL.search(text)
    if m:
        return _matmul_steps(*map(int, m.groups()), V, h)
    m = ADD.search(text)
    if m:
        return (f"two tensors that are added have different widths ({m.group(1)} and {m.group(2)}).",
                "every term inside one layer's update must be (batch_size, num_hiddens): check which weight "
                "each product in that line uses and which bias is added (b_q belongs to the output).")
    if isinstance(err, ValueError) and "values to unpack" in text:
        return ("a line that unpacks a tuple or list got another number of items than it has names.",
                "state holds two tensors, one per layer, and params holds eight, in get_params_2's order; "
                "inputs is a single tensor that the loop walks through one time step at a time.")
    if isinstance(err, NameError):
        return ("a name is used that was never given a value.",
                "every tensor the loop uses comes from unpacking params or state before the loop, or is "
                "computed earlier in the same time step.")
    if isinstance(err, TypeError) and "cat" in text:
        return ("the function that joins the outputs was given something other than a list (or tuple) of tensors.",
                "collect the output of every time step in a list inside the loop; join the list after it.")
    if isinstance(err, IndexError):
        return ("an index goes past the end of a tensor, tuple or list.",
                "state has two entries and params eight; the time steps are the first axis of inputs.")
    return ("rnn_2 stopped with an error before it returned: read the error's last line and the line of "
            "your code it names.",
            "at each time step, layer 1 comes first, then layer 2, then the output; " + LAYOUT)


def rnn_2_hint(err, V, h):
    """One step of hint for an error raised by rnn_2: the first time 'what', after that also 'where'."""
    what, where = _steps(err, V, h)
    key = (type(err).__name__, (str(err).splitlines() or [""])[0])
    shown = _seen.get(key, 0)
    _seen[key] = shown + 1
    if not shown:
        return (f"what is wrong: {what}\n(Fix it and run the check again; if the same error comes back, "
                f"the hint says where to look.)")
    return f"what is wrong: {what}\nWhere to look: {where}"


def call_stepped(fn, name, args, hint, sizes):
    """core.call with a hint computed from the error: hint(err, *sizes) (see rnn_2_hint)."""
    __tracebackhide__ = True
    return call(fn, name, args, lambda err: hint(err, *sizes))
