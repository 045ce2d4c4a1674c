"""Checks for notebook 05 (experiments): `deep_begin_state`, the initial state of nn.RNN/GRU/LSTM."""
import torch

from .core import CheckFailed, call, describe, expect_state, passed

__all__ = ["check_deep_begin_state"]


def check_deep_begin_state(deep_begin_state):
    """deep_begin_state(cell, num_layers, batch_size, num_hiddens) -> zeros (L, B, h), or (H, C) for LSTM."""
    __tracebackhide__ = True
    hint = ('return torch.zeros((num_layers, batch_size, num_hiddens)) for "RNN" and "GRU", and a tuple '
            'of two such tensors (H, C) for "LSTM".')
    for cell, L, B, h in (("RNN", 2, 3, 4), ("GRU", 3, 2, 5), ("LSTM", 2, 3, 4), ("LSTM", 1, 2, 5)):
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
