"""Baselines on the held-out protocol: notebook 01's window MLP, for the notebooks that must beat it.

`window_mlp` trains the model of notebook 01 (k one-hot characters concatenated, one tanh hidden
layer, the logits; Adam on shuffled minibatches of windows) on a training text and scores it on
exactly the protocol's held-out characters (`protocol.window_text`): held-out positions 1 to
EVAL_TOKENS, the characters every RNN's `evaluate_perplexity(net, valid_iter, ...)` scores. So
its number can stand beside an RNN's. Its random numbers come from its own generator (`seed`):
it never moves the notebook's random stream.

    tokens, vocab = d2l.load_corpus()
    train, held_out = d2l.protocol.split(tokens)
    mlp = baselines.window_mlp(train, held_out, len(vocab), k=3, max_train_tokens=54_000, num_epochs=8)
    print(mlp.held_out_ppl, mlp.params, mlp.tokens_read)
"""
import math
import time
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from . import protocol

__all__ = ["WindowResult", "window_mlp"]


@dataclass
class WindowResult:
    """What `window_mlp` measured: perplexities, parameters, windows read, Adam updates, CPU seconds."""
    k: int
    num_hiddens: int
    train_ppl: float      # on the first 20,000 training windows, as notebook 01 reports it
    held_out_ppl: float   # on the protocol's scored characters
    params: int
    tokens_read: int      # training windows seen (num_epochs x training windows)
    updates: int
    cpu_s: float

    @property
    def label(self):
        return f"window MLP, k = {self.k}, {self.num_hiddens} units"


def _windows(tokens, k):
    """(X (n, k), y (n,)): every window of k tokens and the token after it (Tensor.unfold)."""
    rows = torch.as_tensor(tokens, dtype=torch.long).unfold(0, k + 1, 1)
    return rows[:, :k], rows[:, k]


def _perplexity(params, X, y, vocab_size):
    with torch.no_grad():
        return math.exp(float(F.cross_entropy(_forward(params, X, vocab_size), y)))


def _forward(params, X, vocab_size):
    W_xh, b_h, W_hq, b_q = params
    onehot = F.one_hot(X, vocab_size).float().reshape(len(X), -1)  # (B, k*V)
    return torch.tanh(onehot @ W_xh + b_h) @ W_hq + b_q


def window_mlp(train, held_out, vocab_size, k=3, *, num_hiddens=96, num_epochs=3, batch_size=4096, lr=0.05,
               max_train_tokens=-1, seed=0):
    """Train notebook 01's window MLP on `train` (or its first `max_train_tokens`) and score it on the
    protocol's held-out characters. `train`, `held_out`: the token lists of `protocol.split`."""
    for name, value, low in (("k", k, 1), ("num_hiddens", num_hiddens, 1), ("num_epochs", num_epochs, 1),
                             ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"window_mlp: {name} must be a whole number >= {low}, got {value!r}")
    text = train[:max_train_tokens] if max_train_tokens > 0 else train
    if len(text) <= k:
        raise ValueError(f"window_mlp: the training text has {len(text):,} tokens, too few for one window "
                         f"of k = {k} and its label; raise max_train_tokens")
    start = time.process_time()
    g = torch.Generator().manual_seed(seed)
    X_train, y_train = _windows(text, k)
    X_valid, y_valid = _windows(protocol.window_text(train, held_out, k), k)
    params = [torch.randn(k * vocab_size, num_hiddens, generator=g) / math.sqrt(k), torch.zeros(num_hiddens),
              torch.randn(num_hiddens, vocab_size, generator=g) / math.sqrt(num_hiddens), torch.zeros(vocab_size)]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=lr)
    updates = 0
    for _ in range(num_epochs):
        for batch in torch.randperm(len(y_train), generator=g).split(batch_size):
            loss = F.cross_entropy(_forward(params, X_train[batch], vocab_size), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            updates += 1
    return WindowResult(k, num_hiddens, _perplexity(params, X_train[:20_000], y_train[:20_000], vocab_size),
                        _perplexity(params, X_valid, y_valid, vocab_size), sum(p.numel() for p in params),
                        num_epochs * len(y_train), updates, time.process_time() - start)
