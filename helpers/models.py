"""Models: the d2l chapter-8 wrappers (`RNNModelScratch`, `RNNModel`) and stacked RNN builders.

Both wrappers take token indices of shape (batch_size, num_steps), one-hot them
time-major, and return logits of shape (num_steps * batch_size, vocab_size) plus
the new state, exactly as in d2l. Wrong shapes raise a ValueError that says what
was expected.

Note the argument order of the two `begin_state` methods: d2l swapped it, and it is
kept for d2l's code to run unchanged:

    RNNModelScratch.begin_state(batch_size, device)
    RNNModel.begin_state(device, batch_size=1)

so call both with keywords, `net.begin_state(batch_size=B, device=device)`, as
d2l's own `predict_ch8` and `train_epoch_ch8` do.
"""
import re

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate

__all__ = ["RNNModelScratch", "RNNModel", "CELLS", "stacked_rnn", "params_per_layer", "numel_per_layer",
           "rnn_shapes"]

# The one table of the recurrent cells: name -> (PyTorch module, gate blocks g in its weights).
_CELL_TABLE = {"RNN": (nn.RNN, 1), "GRU": (nn.GRU, 3), "LSTM": (nn.LSTM, 4)}
CELLS = {name: module for name, (module, _) in _CELL_TABLE.items()}
GATES = {name: gates for name, (_, gates) in _CELL_TABLE.items()}


def _check_tokens(X, vocab_size, who):
    """Token indices must be an integer tensor of shape (batch_size, num_steps)."""
    if not torch.is_tensor(X) or X.dim() != 2:
        shape = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
        raise ValueError(
            f"{who} expects token indices of shape (batch_size, num_steps), got {shape}. "
            "Pass X as returned by the data iterator (one row per sequence); "
            "for one sequence use X.reshape(1, -1).")
    if X.is_floating_point():
        raise ValueError(f"{who} expects integer token indices (torch.long), got {X.dtype}. "
                         "Do not one-hot the inputs yourself: the model does it.")
    if X.numel() and (int(X.min()) < 0 or int(X.max()) >= vocab_size):
        raise ValueError(f"{who}: token indices must lie in [0, {vocab_size - 1}] "
                         f"(vocab_size={vocab_size}), got values in [{int(X.min())}, {int(X.max())}].")


class RNNModelScratch:
    """An RNN built from scratch: d2l's `RNNModelScratch`, same signature."""

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        _check_tokens(X, self.vocab_size, "RNNModelScratch")
        X = F.one_hot(X.T.long(), self.vocab_size).to(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


class RNNModel(nn.Module):
    """A recurrent layer plus a dense output layer: d2l's `RNNModel`, same signature.

    `rnn_layer` is `nn.RNN`, `nn.GRU`, `nn.LSTM`, or any module with `hidden_size`,
    `num_layers` and `bidirectional` that maps (T, B, V) inputs and a state to
    (T, B, h * directions) outputs and a new state.
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        if getattr(rnn_layer, "batch_first", False):
            raise ValueError(
                f"RNNModel feeds its recurrent layer time-major inputs (num_steps, batch_size, "
                f"vocab_size), but rnn_layer={type(rnn_layer).__name__}(..., batch_first=True) would "
                "read the batch axis as time. Build the layer with batch_first=False (the default).")
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        _check_tokens(inputs, self.vocab_size, "RNNModel")
        self._check_state(state, inputs.shape[0])
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        # The dense layer reads every time step: (T * B, h) -> (T * B, vocab_size).
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        if not isinstance(self.rnn, nn.LSTM):
            return torch.zeros(shape, device=device)
        return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))

    def _check_state(self, state, batch_size):
        if state is None:
            return
        expected = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        parts = state if isinstance(state, tuple) else (state,)
        if isinstance(self.rnn, nn.LSTM) and len(parts) != 2:
            raise ValueError(f"nn.LSTM needs the state as a tuple (H, C), each of shape {expected}; "
                             f"got {len(parts)} tensor(s). Use net.begin_state(device, batch_size).")
        for s in parts:
            if torch.is_tensor(s) and tuple(s.shape) != expected:
                raise ValueError(
                    f"RNNModel state should have shape {expected} "
                    "(num_layers * num_directions, batch_size, num_hiddens), "
                    f"got {tuple(s.shape)}. Use net.begin_state(device, batch_size={batch_size}).")


def check_cell(cell):
    """`cell` must name one of CELLS ('RNN', 'GRU', 'LSTM')."""
    return _validate.choice(cell, "cell", CELLS)


def stacked_rnn(cell, vocab_size, num_hiddens, num_layers, device=None):
    """`RNNModel` around `nn.RNN`, `nn.GRU` or `nn.LSTM` with `num_layers` stacked layers."""
    check_cell(cell)
    for name, value in dict(vocab_size=vocab_size, num_hiddens=num_hiddens, num_layers=num_layers).items():
        _validate.whole(value, name, who="stacked_rnn")
    device = device or "cpu"
    _validate.device(device)
    layer = CELLS[cell](vocab_size, num_hiddens, num_layers=num_layers)
    return RNNModel(layer, vocab_size).to(device)


def params_per_layer(cell, num_inputs, num_hiddens, num_layers):
    """Parameter count of each layer of `nn.RNN/GRU/LSTM(num_inputs, num_hiddens, num_layers)`.

    Each of the g gate blocks (RNN 1, GRU 3, LSTM 4) has an input weight (h x d_in),
    a recurrent weight (h x h) and two biases (b_ih, b_hh); d_in = num_inputs for
    layer 1 and num_hiddens above it.
    """
    check_cell(cell)
    for name, value in dict(num_inputs=num_inputs, num_hiddens=num_hiddens, num_layers=num_layers).items():
        _validate.whole(value, name, who="params_per_layer")
    g, h = GATES[cell], num_hiddens
    return [g * (h * (num_inputs if l == 0 else h) + h * h + 2 * h) for l in range(num_layers)]


_LAYER_PARAM = re.compile(r"(?:^|\.)(?:weight|bias)_[a-z]+_l(\d+)(?:_reverse)?$")  # weight_ih_l0, bias_hh_l1
_STACKED = re.compile(r"(?:^|\.)layers\.(\d+)\.")  # RNNStack: layers.2.weight_ih_l0 is layer 3


def layer_of(param_name):
    """Which part of a course model a PyTorch parameter name belongs to: the layer number (1..L),
    'output' (the dense layer `linear`), 'embedding', or None (anything else).

    Understands `nn.RNN/GRU/LSTM` (`weight_ih_l0`, `bias_hh_l1_reverse`), `RNNModel` and
    `stacked_rnn` (`rnn.weight_hh_l2`, `linear.weight`) and `RNNStack`, whose single-layer
    modules are `layers.0`, `layers.1`, ... (`layers.2.weight_ih_l0` is layer 3).
    """
    m = _LAYER_PARAM.search(param_name)
    if m:
        stacked = _STACKED.search(param_name)
        return int(m.group(1)) + 1 + (int(stacked.group(1)) if stacked else 0)
    first = param_name.split(".")[-2] if "." in param_name else ""
    return {"linear": "output", "embedding": "embedding"}.get(first)


def numel_per_layer(module):
    """Parameter count of each recurrent layer of an `nn.RNN/GRU/LSTM`, an `RNNModel` around one
    or an `RNNStack`, read from its parameters (the embedding and the output layer are not layers)."""
    counts = {}
    if isinstance(module, nn.Module):
        for name, p in module.named_parameters():
            layer = layer_of(name)
            if isinstance(layer, int):
                counts[layer] = counts.get(layer, 0) + p.numel()
    if not counts:
        raise TypeError(f"numel_per_layer needs an nn.RNN, nn.GRU or nn.LSTM, an RNNModel around one, or an "
                        f"RNNStack, got {type(module).__name__}")
    return [counts.get(l, 0) for l in range(1, max(counts) + 1)]


def rnn_shapes(cell, num_inputs, num_hiddens, num_layers, num_steps, batch_size):
    """({name: shape}, parameters per layer) of a real `nn.RNN/GRU/LSTM` run once on zeros.

    The shapes are those of the input (T, B, d), h0 (and c0), out, h_n (and c_n; None for RNN and
    GRU) and of every parameter (`weight_ih_l0`, ...); the counts are `numel_per_layer`'s.
    """
    rnn = CELLS[check_cell(cell)](num_inputs, num_hiddens, num_layers=num_layers)
    X, h0 = torch.zeros(num_steps, batch_size, num_inputs), torch.zeros(num_layers, batch_size, num_hiddens)
    c0 = torch.zeros_like(h0) if cell == "LSTM" else None
    with torch.no_grad():
        out, state = rnn(X, (h0, c0) if c0 is not None else h0)
    h_n, c_n = state if c0 is not None else (state, None)
    tensors = {"input": X, "h0": h0, "c0": c0, "out": out, "h_n": h_n, "c_n": c_n, **dict(rnn.named_parameters())}
    shapes = {k: None if v is None else tuple(v.shape) for k, v in tensors.items()}
    return shapes, numel_per_layer(rnn)
