"""Checks for notebook 04 (nn.LSTM with num_layers): `predict_lstm_shapes`, `lstm_params_per_layer`.

Both compare with a real `nn.LSTM` (on the meta device: shapes without memory or random numbers);
`lstm_step`, one step written from the four gate blocks, is checked in nb04_lstm_step.
"""
import torch
from torch import nn

from ..models import numel_per_layer
from . import modules
from .core import CheckFailed, as_shape, builtin, call, describe, generator, passed

__all__ = ["check_lstm_shapes", "check_lstm_params"]


def random_sizes(seed):
    """(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first) drawn from seed."""
    d, h, L, B, T, bf = (int(v) for v in torch.randint(1, 9, (6,), generator=generator(seed)))
    return 3 * d, 4 * h, 1 + L % 4, B, T + 1, bool(bf % 2)


# What nn.LSTM returns in the visible cases, as literal values (a meta-device run takes ~0.4 s each;
# tests/checks compares this table with real nn.LSTM runs)
VISIBLE_SHAPES = {
    (28, 256, 2, 32, 35, False): {"out": (35, 32, 256), "h_n": (2, 32, 256), "c_n": (2, 32, 256)},
    (28, 256, 2, 32, 35, True): {"out": (32, 35, 256), "h_n": (2, 32, 256), "c_n": (2, 32, 256)},
    (10, 16, 3, 4, 7, True): {"out": (4, 7, 16), "h_n": (3, 4, 16), "c_n": (3, 4, 16)},
    (28, 32, 1, 5, 6, False): {"out": (6, 5, 32), "h_n": (1, 5, 32), "c_n": (1, 5, 32)},
}


def check_lstm_shapes(predict_lstm_shapes, *, seed=0, sizes=None):
    """predict_lstm_shapes(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first)
    -> {"out": shape, "h_n": shape, "c_n": shape}, as nn.LSTM returns them.

    Hidden tests: sizes = (num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first),
    or another seed for random sizes.
    """
    __tracebackhide__ = True
    hint = ('return a dict {"out": (...), "h_n": (...), "c_n": (...)} of shape tuples; '
            "out is (num_steps, batch, hidden) or (batch, num_steps, hidden) with batch_first; "
            "h_n and c_n are (num_layers, batch, hidden) always.")
    cases = list(VISIBLE_SHAPES)
    if sizes is not None or seed != 0:
        cases = [tuple(sizes) if sizes is not None else random_sizes(seed)]
    for d, h, L, B, T, bf in cases:
        desc = (f"nn.LSTM({d}, {h}, num_layers={L}, batch_first={bf}) with batch_size={B}, num_steps={T}")
        got = call(predict_lstm_shapes, "predict_lstm_shapes", (d, h, L, B, T, bf), hint)
        if not isinstance(got, dict):
            raise CheckFailed(f'{desc}: return a dict with keys "out", "h_n", "c_n"; you returned {describe(got)}.')
        missing = [k for k in ("out", "h_n", "c_n") if k not in got]
        if missing:
            raise CheckFailed(f'{desc}: the dict is missing {", ".join(repr(k) for k in missing)} '
                              f'(keys: "out", "h_n", "c_n"); it has {sorted(map(str, got))}.')
        reference = VISIBLE_SHAPES.get((d, h, L, B, T, bf)) or torch_lstm_shapes(d, h, L, B, T, bf)
        state = reference["h_n"]
        for key, exp in reference.items():
            shape = as_shape(got[key])
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
                if key == "c_n" and as_shape(got["h_n"]) == state:
                    why += "; c_n has the same shape as h_n"
            raise CheckFailed(f"{desc}: {key} should be {exp}: {why}; you returned {shape}.")
    passed("lstm_shapes: out (T, B, h) or (B, T, h) with batch_first; h_n and c_n (L, B, h) always")


def check_lstm_params(lstm_params_per_layer, *, seed=0, sizes=None):
    """lstm_params_per_layer(num_inputs, num_hiddens, num_layers) -> list of per-layer counts of nn.LSTM.

    Hidden tests: sizes = (num_inputs, num_hiddens, num_layers), or another seed for random sizes.
    """
    __tracebackhide__ = True
    hint = ("one count per layer: 4 * (h * d + h * h + 2 * h), where d = num_inputs for layer 1 and "
            "d = num_hiddens for every layer above it.")
    cases = ((28, 32, 2), (5, 4, 3), (10, 8, 1))
    if sizes is not None or seed != 0:
        cases = [tuple(sizes) if sizes is not None else random_sizes(seed)[:3]]
    for d, h, L in cases:
        desc = f"lstm_params_per_layer({d}, {h}, {L}) for nn.LSTM({d}, {h}, num_layers={L})"
        expected = torch_lstm_params(d, h, L)
        got = call(lstm_params_per_layer, "lstm_params_per_layer", (d, h, L), hint)
        if torch.is_tensor(got):
            got = got.tolist()
        if isinstance(got, (int, float)) and not isinstance(got, bool):
            why = " (that is the total: return the count of each layer)" if got == sum(expected) else ""
            raise CheckFailed(f"{desc} should return a list of {L} counts, one per layer, {expected}; "
                              f"you returned the single number {got}{why}.")
        if not isinstance(got, (list, tuple)):
            raise CheckFailed(f"{desc} should return a list of {L} ints; you returned {describe(got)}.")
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
    passed("lstm_params: 4 * (h*d + h*h + 2h) per layer; only layer 1 depends on num_inputs")


@builtin("predict_lstm_shapes", check_lstm_shapes, "a run of nn.LSTM on the meta device")
def torch_lstm_shapes(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first):
    """The shapes nn.LSTM returns, read from a run on the meta device (no memory, no numbers)."""
    lstm = modules.meta(nn.LSTM, num_inputs, num_hiddens, num_layers=num_layers, batch_first=batch_first)
    layout = (batch_size, num_steps) if batch_first else (num_steps, batch_size)
    out, (h_n, c_n) = lstm(torch.empty(*layout, num_inputs, device="meta"))
    return {"out": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


@builtin("lstm_params_per_layer", check_lstm_params, "numel() of nn.LSTM's parameters")
def torch_lstm_params(num_inputs, num_hiddens, num_layers):
    """Per-layer parameter counts read from a real nn.LSTM's parameter names (on the meta device)."""
    return numel_per_layer(modules.meta(nn.LSTM, num_inputs, num_hiddens, num_layers))
