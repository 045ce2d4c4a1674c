"""PyTorch's own modules run on a learner's d2l-layout parameters: what the checks compare against
and what `yours_or_builtin` falls back to. Nothing here writes an exercise out by hand.

d2l computes ``X @ W_xh`` with ``W_xh`` of shape (inputs, hiddens) and one bias; PyTorch stores
``weight_ih`` as (hiddens, inputs) and keeps two biases. So a d2l layer ``(W_xh, W_hh, b_h)`` is
PyTorch's ``weight_ih = W_xh.T``, ``weight_hh = W_hh.T``, ``bias_ih = b_h``, ``bias_hh = 0``.
The modules live on the meta device (shapes only: no memory, no random numbers drawn) and
``torch.func.functional_call`` runs them on the given tensors, so gradients reach those tensors.
"""
import functools
import warnings

import torch
from torch import nn
from torch.func import functional_call

__all__ = ["meta", "run", "rnn", "rnn_layers", "rnn_cell", "linear", "torch_names"]


@functools.lru_cache(maxsize=128)
def meta(cls, *args, **kwargs):
    """`cls(*args, **kwargs)` on the meta device: the module's code and parameter names, no values."""
    return cls(*args, **kwargs, device="meta")


def run(module, params, *args):
    """`module(*args)` with its parameters replaced by `params` (a dict of PyTorch names)."""
    with warnings.catch_warnings():  # cuDNN: the weights given are not one contiguous chunk
        warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
        return functional_call(module, params, args)


def torch_names(layers, suffix=True):
    """d2l layers [(W_xh, W_hh, b_h), ...] -> {"weight_ih_l0": W_xh.T, ...} as nn.RNN/nn.GRU names them."""
    params = {}
    for l, (W_xh, W_hh, b_h) in enumerate(layers):
        end = f"_l{l}" if suffix else ""
        params.update({f"weight_ih{end}": W_xh.T, f"weight_hh{end}": W_hh.T,
                       f"bias_ih{end}": b_h, f"bias_hh{end}": torch.zeros_like(b_h)})
    return params


def rnn(inputs, H0, layers, nonlinearity="tanh"):
    """nn.RNN(num_layers=len(layers)) on inputs (T, B, d) from H0 (L, B, h) -> (Y (T, B, h), H_n (L, B, h))."""
    W_xh, W_hh, _ = layers[0]
    module = meta(nn.RNN, W_xh.shape[0], W_hh.shape[0], num_layers=len(layers), nonlinearity=nonlinearity)
    return run(module, torch_names(layers), inputs, H0)


def rnn_layers(inputs, states, layers):
    """Single-layer nn.RNNs stacked (each may have its own size) -> (Y of the top layer, [H_n of each])."""
    Y, finals = inputs, []
    for H0, layer in zip(states, layers):
        Y, H_n = rnn(Y, H0.unsqueeze(0), [layer])
        finals.append(H_n[0])
    return Y, finals


def rnn_cell(X, H, W_xh, W_hh, b_h):
    """nn.RNNCell on one time step, d2l-layout weights -> the new H (B, h)."""
    module = meta(nn.RNNCell, W_xh.shape[0], W_hh.shape[0])
    return run(module, torch_names([(W_xh, W_hh, b_h)], suffix=False), X, H)


def linear(H, W_hq, b_q):
    """nn.Linear with d2l's output layer: H @ W_hq + b_q, H of any leading shape."""
    module = meta(nn.Linear, W_hq.shape[0], W_hq.shape[1])
    return run(module, {"weight": W_hq.T, "bias": b_q}, H)
