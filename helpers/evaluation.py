"""Evaluation: what a trained character model writes (`predict_ch8`) and how well it predicts.

`evaluate_perplexity` measures held-out perplexity, `unigram_perplexity` the letter-frequency
baseline a model must beat, `layer_grad_norms` the gradient norm of each layer. A module
net is put in eval() mode (no dropout) while it is used here and set back afterwards.
"""
import itertools
import math
import numbers
import re

import torch
from torch import nn
from torch.nn import functional as F

from .utils import smoke_batches

__all__ = ["predict_ch8", "evaluate_perplexity", "unigram_perplexity", "layer_grad_norms"]


def _is_whole(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def no_batches(name):
    """The message for a data iterator without minibatches (a perplexity of 1.0 would be a lie)."""
    return (f"{name} has no minibatches, so there is nothing to train or measure on (a perplexity "
            "would read 1.0 with no training). Usually batch_size * num_steps is larger than the "
            "corpus: lower batch_size or num_steps, or load more text (e.g. max_tokens=-1).")


class EvalMode:
    """Within `with EvalMode(net):` a module net is in eval() (no dropout); its own mode comes back after."""

    def __init__(self, net):
        self.net, self.was_training = net, isinstance(net, nn.Module) and net.training

    def __enter__(self):
        if isinstance(self.net, nn.Module):
            self.net.eval()

    def __exit__(self, *exc):
        if isinstance(self.net, nn.Module):
            self.net.train(self.was_training)


def _check_prefix(prefix, num_preds, vocab):
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"predict_ch8: prefix must be a non-empty string to warm up on, such as "
                         f"'time traveller', got {prefix!r}")
    known = getattr(vocab, "token_to_idx", None)
    unknown = sorted({c for c in prefix if c not in known}) if known is not None else []
    if unknown:
        raise ValueError(f"predict_ch8: prefix {prefix!r} has characters the vocabulary does not know: "
                         f"{unknown}. Use characters of the training text (a cleaned corpus has only "
                         "lowercase letters and spaces).")
    if not _is_whole(num_preds) or num_preds < 0:
        raise ValueError(f"predict_ch8: num_preds must be a whole number >= 0, got {num_preds!r}")


def predict_ch8(prefix, num_preds, net, vocab, device):
    """Warm up on `prefix`, then greedily generate `num_preds` characters (d2l).

    A module net is in eval() mode (no dropout) meanwhile and back in its own mode after.
    """
    _check_prefix(prefix, num_preds, vocab)
    with EvalMode(net), torch.no_grad():
        state = net.begin_state(batch_size=1, device=device)
        outputs = [vocab[prefix[0]]]
        get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))
        for y in prefix[1:]:  # warm-up: feed the prefix, keep the state
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):  # predict: feed back the most likely character
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


@torch.no_grad()
def evaluate_perplexity(net, data_iter, device):
    """Perplexity (困惑度) exp(mean cross-entropy) on held-out data, state carried across minibatches.

    A module net is in eval() mode (no dropout) meanwhile and back in its own mode after.
    """
    state, total, num_tokens = None, 0.0, 0
    with EvalMode(net):
        for X, Y in itertools.islice(data_iter, smoke_batches()):  # all, unless $DEEP_RNN_SMOKE
            if state is None:
                state = net.begin_state(batch_size=X.shape[0], device=device)
            y = Y.T.reshape(-1).to(device).long()
            y_hat, state = net(X.to(device), state)
            total += float(F.cross_entropy(y_hat.float(), y, reduction="sum"))
            num_tokens += y.numel()
    if num_tokens == 0:
        raise ValueError(no_batches("evaluate_perplexity: data_iter"))
    return math.exp(total / num_tokens)


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
    if not _is_whole(vocab_size) or vocab_size < 1:
        raise ValueError(f"unigram_perplexity: vocab_size must be a whole number >= 1 (len(vocab)), "
                         f"got {vocab_size!r}")
    train = _check_corpus("train_corpus", train_corpus, vocab_size)
    valid = _check_corpus("valid_corpus", valid_corpus, vocab_size)
    counts = torch.bincount(train, minlength=vocab_size).double() + 1
    log_p = torch.log(counts / counts.sum())
    return math.exp(-float(log_p[valid].mean()))


def layer_grad_norms(net):
    """L2 norm of the gradient of each layer: {'layer 1': ..., 'layer 2': ..., 'output': ...}."""
    groups = {}
    if isinstance(net, nn.Module):
        for name, p in net.named_parameters():
            if p.grad is None:
                continue
            m = re.search(r"_l(\d+)", name)
            key = f"layer {int(m.group(1)) + 1}" if m else ("output" if "linear" in name else name)
            groups.setdefault(key, []).append(p.grad)
    else:
        for i, p in enumerate(net.params):
            if p.grad is not None:
                groups.setdefault(f"param {i}", []).append(p.grad)
    return {k: float(torch.sqrt(sum((g.float() ** 2).sum() for g in gs))) for k, gs in groups.items()}
