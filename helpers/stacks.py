"""Stacks by hand: a deep RNN built from single-layer `nn.LSTM`s (or `nn.RNN`s / `nn.GRU`s).

`RNNStack` embeds the characters, runs them up L single-layer modules and reads the
top layer with a dense layer. Written by hand (like notebook 03's `rnn_2`), each layer
may have its own hidden size, and three things `nn.LSTM(num_layers=L)` cannot do are
one argument or one method away:

* residual connections (残差连接): from layer 2 up, a layer adds its input to its output;
* `forward_layers`: every layer's states H^{(l)}_t, to probe them or to call `retain_grad()`;
* `ablated(layer, ...)`: replace what one layer passes up by zeros or its mean (消融).

Dropout, if any, is applied to what a layer passes up to the next one, never on the
recurrent path and not to the top layer (as `nn.LSTM(dropout=)` does). The call interface
is `RNNModel`'s: tokens (B, T) in, logits (T * B, V) and the new state out, and
`begin_state(device, batch_size)`, so `train_ch8`, `evaluate_perplexity`, `predict_ch8`
and `sample_text` work on it unchanged.
"""
from contextlib import contextmanager

import torch
from torch import nn

from . import _validate
from .models import CELLS, _check_tokens, check_cell

__all__ = ["RNNStack"]

_NOT_ABLATED = object()


class RNNStack(nn.Module):
    """Embedding -> L single-layer recurrent modules -> dense layer over the top layer.

    num_hiddens: one hidden size for every layer, or a list with one per layer (then
    num_layers may be left out). residual: layers 2..L add their input to their output
    (needs equal sizes). dropout: probability of dropping what a layer passes up.

    The state is a flat tuple, so `train_ch8` can detach it: one (1, B, h_l) tensor per
    layer, (H^{(1)}, ..., H^{(L)}); for the LSTM followed by the memory cells
    (H^{(1)}, ..., H^{(L)}, C^{(1)}, ..., C^{(L)}).
    """

    def __init__(self, vocab_size, num_hiddens, num_layers=None, *, cell="LSTM", embed_size=64,
                 residual=False, dropout=0.0):
        super().__init__()
        hiddens = self._check_args(vocab_size, num_hiddens, num_layers, cell, embed_size, residual, dropout)
        self.vocab_size, self.cell, self.residual = vocab_size, cell, residual
        self.hiddens, self.num_layers, self.num_hiddens = hiddens, len(hiddens), hiddens[-1]
        self.embedding = nn.Embedding(vocab_size, embed_size)
        sizes_in = [embed_size] + hiddens[:-1]  # layer 1 reads the embedding, layer l reads layer l-1
        self.layers = nn.ModuleList(CELLS[cell](d, h) for d, h in zip(sizes_in, hiddens))
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hiddens[-1], vocab_size)
        self._ablate = {}  # layer (1-based) -> replacement of what it passes up

    @staticmethod
    def _check_args(vocab_size, num_hiddens, num_layers, cell, embed_size, residual, dropout):
        check_cell(cell)
        _validate.whole(vocab_size, "vocab_size", what=" (len(vocab))")
        _validate.whole(embed_size, "embed_size")
        if _validate.is_whole(num_hiddens):
            hiddens = [num_hiddens] * _validate.whole(1 if num_layers is None else num_layers, "num_layers")
        elif isinstance(num_hiddens, (list, tuple)) and len(num_hiddens) > 0:
            hiddens = list(num_hiddens)
            if num_layers is not None and num_layers != len(hiddens):
                raise ValueError(f"num_layers={num_layers!r} but num_hiddens lists {len(hiddens)} sizes "
                                 f"{hiddens}; leave num_layers out when you give one size per layer")
        else:
            raise ValueError(f"num_hiddens must be a whole number or a non-empty list of them "
                             f"(one per layer, e.g. [128, 128]), got {num_hiddens!r}")
        if not all(_validate.is_whole(h) and h >= 1 for h in hiddens):
            raise ValueError(f"every hidden size must be a whole number >= 1, got {hiddens}")
        if residual and len(set(hiddens)) > 1:
            raise ValueError(f"residual=True adds each layer's input to its output, so layers 2..L need "
                             f"equal sizes; got num_hiddens={hiddens}. Use one size, or residual=False")
        _validate.fraction(dropout, "dropout", zero_ok=True, example=0.2)
        return hiddens

    def begin_state(self, device, batch_size=1):
        """Zeros: one (1, batch_size, h_l) tensor per layer (twice as many for the LSTM)."""
        Hs = tuple(torch.zeros((1, batch_size, h), device=device) for h in self.hiddens)
        if self.cell != "LSTM":
            return Hs
        return Hs + tuple(torch.zeros((1, batch_size, h), device=device) for h in self.hiddens)

    def _split(self, state):
        L = self.num_layers
        expected = 2 * L if self.cell == "LSTM" else L
        if not isinstance(state, (tuple, list)) or len(state) != expected:
            got = f"{len(state)} tensors" if isinstance(state, (tuple, list)) else type(state).__name__
            raise ValueError(f"RNNStack ({self.cell}, {L} layers) needs a state of {expected} tensors, got "
                             f"{got}. Use net.begin_state(device, batch_size).")
        if self.cell == "LSTM":
            return [(state[l], state[L + l]) for l in range(L)]
        return list(state)

    def forward_layers(self, inputs, state, *, step_by_step=False):
        """Like `forward`, plus the states of every layer: a list of L tensors H^{(l)}, each (T, B, h_l).

        H^{(l)} is layer l's own hidden state, before any residual addition or ablation.
        step_by_step=True runs each layer one time step at a time and returns, for each layer,
        a list of T tensors (1, B, h_l): each is the very tensor the layer reads back at the next
        step, so after `retain_grad()` and `backward()` its `.grad` is the full dL/dH^{(l)}_t,
        through time and through the layers above. (The output of a whole-sequence `nn.LSTM`
        call is not what the layer reads back, so its gradient misses the path through time.)
        """
        _check_tokens(inputs, self.vocab_size, "RNNStack")
        X = self.embedding(inputs.T.long())  # (T, B, embed_size)
        layer_states, new_state = [], []
        for l, (layer, s) in enumerate(zip(self.layers, self._split(state)), start=1):
            if step_by_step:
                steps, s = self._step_by_step(layer, X, s)
                H = torch.cat(steps)
                layer_states.append(steps)
            else:
                H, s = layer(X, s)  # H: (T, B, h_l), layer l at every time step
                layer_states.append(H)
            new_state.append(s)
            up = self._replacement(l, H)
            if self.residual and l > 1:
                up = up + X  # residual connection: the layer adds its input to its output
            X = self.dropout(up) if l < self.num_layers else up  # dropout only between layers
        output = self.linear(X.reshape(-1, X.shape[-1]))  # (T * B, V)
        if self.cell == "LSTM":
            new_state = [h for h, _ in new_state] + [c for _, c in new_state]
        return output, tuple(new_state), layer_states

    def _step_by_step(self, layer, X, s):
        steps = []
        for x in X.split(1):  # x: (1, B, d), one time step
            H, s = layer(x, s)
            s = (H, s[1]) if self.cell == "LSTM" else H  # read back the output tensor itself
            steps.append(H)
        return steps, s

    def forward(self, inputs, state):
        output, state, _ = self.forward_layers(inputs, state)
        return output, state

    def _replacement(self, l, H):
        if l not in self._ablate:
            return H
        value = self._ablate[l]
        return torch.zeros_like(H) if value is None else value.to(H).expand_as(H)

    @contextmanager
    def ablated(self, layer, value="zeros"):
        """Within the `with` block, layer `layer` (1..L) passes up `value` instead of its states.

        value: "zeros", or a tensor of shape (h_l,) such as the layer's mean state. The layer's
        own recurrence is left alone: only what the layers above (and the output) see changes.
        Nested blocks on the same layer work: leaving the inner one brings back the outer value.
        """
        if not _validate.is_whole(layer) or not 1 <= layer <= self.num_layers:
            raise ValueError(f"layer must be a whole number from 1 to {self.num_layers}, got {layer!r}")
        h = self.hiddens[layer - 1]
        if isinstance(value, str) and value == "zeros":
            value = None
        elif not torch.is_tensor(value) or tuple(value.shape) != (h,):
            shape = tuple(value.shape) if torch.is_tensor(value) else repr(value)
            raise ValueError(f"value must be 'zeros' or a tensor of shape ({h},) (one number per unit of "
                             f"layer {layer}, e.g. its mean state), got {shape}")
        outer, self._ablate[layer] = self._ablate.get(layer, _NOT_ABLATED), value
        try:
            yield self
        finally:
            if outer is _NOT_ABLATED:
                del self._ablate[layer]
            else:
                self._ablate[layer] = outer
