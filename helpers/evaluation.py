"""Evaluation: how well a trained character model predicts, and where its gradient goes.

`evaluate_perplexity` measures held-out perplexity, `unigram_perplexity` the letter-frequency
baseline a model must beat, `layer_grad_norms` the gradient norm of each layer. A module
net is put in eval() mode (no dropout) while it is used here and set back afterwards.
(What a model writes, d2l's `predict_ch8`, is in `helpers.sampling`, with `sample_text`.)
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate
from .models import layer_of
from .utils import EvalMode

__all__ = ["evaluate_perplexity", "unigram_perplexity", "layer_grad_norms"]


def no_batches(name):
    """The message for a data iterator without minibatches (a perplexity of 1.0 would be a lie)."""
    return (f"{name} has no minibatches, so there is nothing to train or measure on (a perplexity "
            "would read 1.0 with no training). Usually batch_size * num_steps is larger than the "
            "corpus: lower batch_size or num_steps, or load more text (e.g. max_tokens=-1).")


class NonFiniteLoss(ValueError):
    """The loss of a model on some data is NaN or infinite: its outputs are broken."""


def perplexity(total_loss, num_tokens):
    """exp(mean cross-entropy); inf where the exponential would overflow a float."""
    mean = total_loss / num_tokens
    return math.exp(mean) if mean < 700 else math.inf


@torch.no_grad()
def evaluate_perplexity(net, data_iter, device):
    """Perplexity (困惑度) exp(mean cross-entropy) on held-out data, state carried across minibatches.

    A module net is in eval() mode (no dropout) meanwhile and back in its own mode after.
    A model whose outputs hold NaN or inf is refused with a message, not measured as nan.
    """
    _validate.device(device)
    state, total, num_tokens = None, 0.0, 0
    with EvalMode(net):
        for X, Y in data_iter:
            if state is None:
                state = net.begin_state(batch_size=X.shape[0], device=device)
            y = Y.T.reshape(-1).to(device).long()
            y_hat, state = net(X.to(device), state)
            total += float(F.cross_entropy(y_hat.float(), y, reduction="sum"))
            num_tokens += y.numel()
    if num_tokens == 0:
        raise ValueError(no_batches("evaluate_perplexity: data_iter"))
    if not math.isfinite(total):
        raise NonFiniteLoss(f"evaluate_perplexity: the loss on data_iter is {total}: the model's outputs hold "
                            "NaN or inf, so no perplexity can be measured. Did training diverge (lower lr, "
                            "clip=1.0)? Build or train the model again.")
    return perplexity(total, num_tokens)


def _check_corpus(name, corpus, vocab_size):
    try:
        tokens = torch.as_tensor(corpus)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"unigram_perplexity: {name} must be a list of integer token indices, "
                         f"got {type(corpus).__name__}") from None
    if tokens.numel() == 0:
        raise ValueError(f"unigram_perplexity: {name} is empty; pass the token indices of a text "
                         "(e.g. corpus[:n] from d2l.load_corpus_time_machine())")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise ValueError(f"unigram_perplexity: {name} must hold integer token indices, got "
                         f"{tokens.dtype} values such as {tokens.flatten()[0].item()!r}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"unigram_perplexity: {name} has token indices from {low} to {high}, outside "
                         f"[0, vocab_size - 1] = [0, {vocab_size - 1}]; pass vocab_size=len(vocab) "
                         "of the vocabulary that made both corpora")
    return tokens.flatten().long()


def unigram_perplexity(train_corpus, valid_corpus, vocab_size):
    """Baseline: perplexity on `valid_corpus` when every token is predicted by its frequency in
    `train_corpus` (add-one smoothed, so no token is impossible). A model must beat this."""
    _validate.whole(vocab_size, "vocab_size", who="unigram_perplexity", what=" (len(vocab))")
    train = _check_corpus("train_corpus", train_corpus, vocab_size)
    valid = _check_corpus("valid_corpus", valid_corpus, vocab_size)
    counts = torch.bincount(train, minlength=vocab_size).double() + 1
    log_p = torch.log(counts / counts.sum())
    return math.exp(-float(log_p[valid].mean()))


def _group(name, layer):
    return f"layer {layer}" if isinstance(layer, int) else layer or name


def layer_grad_norms(net):
    """L2 norm of the gradient of each layer: {'layer 1': ..., 'layer L': ..., 'output': ...}.

    Layers are read from the parameter names (`helpers.models.layer_of`): `nn.RNN/GRU/LSTM`'s
    `_l0`, `_l1`, ... and `RNNStack`'s `layers.0`, `layers.1`, ...; an embedding is 'embedding',
    anything else keeps its own name; a scratch model's tensors are 'param 0', 'param 1', ....
    """
    groups = {}
    named = (net.named_parameters() if isinstance(net, nn.Module)
             else ((f"param {i}", p) for i, p in enumerate(net.params)))
    for name, p in named:
        if p.grad is not None:
            key = _group(name, layer_of(name)) if isinstance(net, nn.Module) else name
            groups.setdefault(key, []).append(p.grad)
    return {k: float(torch.sqrt(sum((g.float() ** 2).sum() for g in gs))) for k, gs in groups.items()}
