"""Checks for notebook 05 (experiments): `deep_begin_state`, the initial state of nn.RNN/GRU/LSTM."""
import functools

import torch
from torch import nn

from ..models import RNNModel
from . import modules
from .core import CheckFailed, builtin, call, describe, expect_state, generator, passed

__all__ = ["check_deep_begin_state"]


def check_deep_begin_state(deep_begin_state, *, seed=0, sizes=None):
    """deep_begin_state(cell, num_layers, batch_size, num_hiddens) -> zeros (L, B, h), or (H, C) for LSTM.

    Hidden tests: sizes = (cell, num_layers, batch_size, num_hiddens), or another seed for random ones.
    """
    __tracebackhide__ = True
    hint = ("look up h_0 (and, for the LSTM, (h_0, c_0)) in the PyTorch docs of nn.RNN and nn.LSTM: "
            "their shapes say how many states a stack needs, and how an LSTM's are passed.")
    cases = (("RNN", 2, 3, 4), ("GRU", 3, 2, 5), ("LSTM", 2, 3, 4), ("LSTM", 1, 2, 5))
    if sizes is not None or seed != 0:
        L, B, h, c = (int(v) for v in torch.randint(1, 7, (4,), generator=generator(seed)))
        cases = [tuple(sizes) if sizes is not None else (("RNN", "GRU", "LSTM")[c % 3], L, B + 1, h + 2)]
    for cell, L, B, h in cases:
        desc = f'deep_begin_state("{cell}", num_layers={L}, batch_size={B}, num_hiddens={h})'
        got = call(deep_begin_state, "deep_begin_state", (cell, L, B, h), hint)
        layout = "(num_layers, batch_size, num_hiddens): one state per layer"
        if cell == "LSTM":
            if torch.is_tensor(got):
                raise CheckFailed(f"{desc}: nn.LSTM needs a tuple (H, C), the hidden state and the memory cell, "
                                  f"each {(L, B, h)}; you returned one tensor {describe(got)}.")
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckFailed(f"{desc}: should return a tuple (H, C) of two {(L, B, h)} tensors; "
                                  f"you returned {describe(got)}.")
            parts = zip(("H", "C"), got)
        else:
            if isinstance(got, (tuple, list)):
                raise CheckFailed(f"{desc}: nn.{cell} takes a single tensor h_0 of shape {(L, B, h)} "
                                  f"(only LSTM takes a tuple (H, C)); you returned {describe(got)}.")
            parts = [("the state", got)]
        for name, t in parts:
            if torch.is_tensor(t) and tuple(t.shape) == (B, L, h) and L != B:
                raise CheckFailed(f"{desc}: {name} should be {(L, B, h)}: the layer axis comes first, "
                                  f"whatever batch_first says; you returned {describe(t)}.")
            if torch.is_tensor(t) and tuple(t.shape) == (B, h):
                raise CheckFailed(f"{desc}: {name} should be {(L, B, h)}: one state per layer; "
                                  f"you returned {describe(t)}.")
            expect_state(t, (L, B, h), f"{desc}: {name}", layout)
    passed('deep_begin_state: zeros (num_layers, batch, hidden); a tuple (H, C) for "LSTM"')


@functools.lru_cache(maxsize=32)
def model_of(cell, num_layers, num_hiddens):
    """An RNNModel around nn.RNN / nn.GRU / nn.LSTM (on the meta device): only its begin_state is used."""
    with torch.random.fork_rng(devices=[]):
        return RNNModel(modules.meta(getattr(nn, cell), 1, num_hiddens, num_layers), vocab_size=1)


@builtin("deep_begin_state", check_deep_begin_state, "RNNModel.begin_state")
def torch_begin_state(cell, num_layers, batch_size, num_hiddens, device=None):
    """The state RNNModel.begin_state builds for a real nn.RNN / nn.GRU / nn.LSTM of these sizes."""
    return model_of(cell, num_layers, num_hiddens).begin_state(device, batch_size)
