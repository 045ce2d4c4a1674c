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
import numbers

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["RNNModelScratch", "RNNModel", "CELLS", "stacked_rnn", "params_per_layer", "numel_per_layer"]

CELLS = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


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


def _check_sizes(who, **sizes):
    """Each size must be a whole number >= 1 (bool and float refused)."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{who}: {name} must be a whole number >= 1, got {value!r}")


def check_device(device):
    """A CUDA device needs a GPU PyTorch can use; say so before building anything."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch.device or a name such as 'cpu' or 'cuda:0', "
                         f"got {device!r}") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but PyTorch sees no GPU here (torch.cuda.is_available() "
                         "is False). Use device=d2l.try_gpu(), which falls back to the CPU.")


def stacked_rnn(cell, vocab_size, num_hiddens, num_layers, device=None):
    """`RNNModel` around `nn.RNN`, `nn.GRU` or `nn.LSTM` with `num_layers` stacked layers."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell type {cell!r}; choose one of {sorted(CELLS)}")
    _check_sizes("stacked_rnn", vocab_size=vocab_size, num_hiddens=num_hiddens, num_layers=num_layers)
    device = device or "cpu"
    check_device(device)
    layer = CELLS[cell](vocab_size, num_hiddens, num_layers=num_layers)
    return RNNModel(layer, vocab_size).to(device)


def params_per_layer(cell, num_inputs, num_hiddens, num_layers):
    """Parameter count of each layer of `nn.RNN/GRU/LSTM(num_inputs, num_hiddens, num_layers)`.

    Each of the g gate blocks (RNN 1, GRU 3, LSTM 4) has an input weight (h x d_in),
    a recurrent weight (h x h) and two biases (b_ih, b_hh); d_in = num_inputs for
    layer 1 and num_hiddens above it.
    """
    if cell not in GATES:
        raise ValueError(f"unknown cell type {cell!r}; choose one of {sorted(GATES)}")
    _check_sizes("params_per_layer", num_inputs=num_inputs, num_hiddens=num_hiddens, num_layers=num_layers)
    g, h = GATES[cell], num_hiddens
    return [g * (h * (num_inputs if l == 0 else h) + h * h + 2 * h) for l in range(num_layers)]


def numel_per_layer(module):
    """Parameter count of each layer of an `nn.RNN/GRU/LSTM` (or an `RNNModel` around one),
    read from its parameters: PyTorch names them `weight_ih_l0`, `bias_hh_l1`, ... by layer."""
    rnn = getattr(module, "rnn", module)
    if not isinstance(rnn, nn.RNNBase):
        raise TypeError(f"numel_per_layer needs an nn.RNN, nn.GRU or nn.LSTM (or an RNNModel around one), "
                        f"got {type(module).__name__}")
    counts = [0] * rnn.num_layers
    for name, p in rnn.named_parameters():
        counts[int(name.split("_l")[-1].split("_")[0])] += p.numel()
    return counts
