"""Sampling: what a character model writes, greedily (d2l's `predict_ch8`) or with a temperature (温度).

One generator serves both. `sample_text` has `predict_ch8`'s positional signature; at
temperature 0 it is greedy decoding (贪心搜索), which is all `predict_ch8` is: the most likely
next character every time. Above 0 it draws each next character from
softmax(logits / temperature) (`next_token_probs`), optionally keeping only the `top_k` most
likely characters. A low temperature sharpens the distribution, a high one flattens it. A
module net is in eval() mode (no dropout) while it writes and back in its own mode after.
"""
import math

import torch
from torch import nn

from . import _validate
from .utils import EvalMode

__all__ = ["predict_ch8", "sample_text", "next_token_probs"]


def next_token_probs(logits, temperature=1.0, top_k=None):
    """Probabilities softmax(logits / temperature) over the last axis, zero outside the top k.

    temperature 0 puts all the mass on the most likely token (ties: the first one).
    """
    _validate.logits(logits)
    _validate.temperature(temperature)
    _validate.top_k(top_k)
    logits = logits.float()
    if temperature == 0:
        return nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).float()
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # the k-th largest logit
        logits = logits.masked_fill(logits < kth, -math.inf)
    return torch.softmax(logits, dim=-1)


def _check_args(prefix, num_preds, vocab, device, *, who=""):
    _validate.prefix(prefix, vocab, who=who)
    _validate.whole(num_preds, "num_preds", least=0, who=who, what=" (how many characters to generate)")
    _validate.device(device)


def _generate(prefix, num_preds, net, vocab, device, pick):
    """Warm up on `prefix`, then `num_preds` times: feed the last character, `pick` the next from the
    logits. Returns prefix + the characters picked."""
    outputs = [vocab[prefix[0]]]
    with EvalMode(net), torch.no_grad():
        state = net.begin_state(batch_size=1, device=device)
        for ch in prefix[1:]:  # warm-up: feed the prefix, keep the state
            _, state = net(torch.tensor([[outputs[-1]]], device=device), state)
            outputs.append(vocab[ch])
        for _ in range(num_preds):  # predict: pick the next character, feed it back
            y, state = net(torch.tensor([[outputs[-1]]], device=device), state)
            outputs.append(pick(y.reshape(-1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)


def _greedy(logits):
    return int(logits.argmax())


def predict_ch8(prefix, num_preds, net, vocab, device):
    """Warm up on `prefix`, then greedily generate `num_preds` characters (d2l).

    The temperature-0 path of `sample_text`: the same text, d2l's signature.
    """
    _check_args(prefix, num_preds, vocab, device, who="predict_ch8")
    return _generate(prefix, num_preds, net, vocab, device, _greedy)


def sample_text(prefix, num_preds, net, vocab, device, *, temperature=1.0, top_k=None, generator=None):
    """Warm up on `prefix`, then generate `num_preds` characters by sampling; returns prefix + them.

    temperature: 0 is greedy (the most likely character every time, same as `predict_ch8`);
    1 samples from the model's distribution; below 1 is more conservative, above 1 more random.
    top_k: if given, only the k most likely characters can be drawn. generator: a
    `torch.Generator` to make the draws repeat.
    """
    _check_args(prefix, num_preds, vocab, device)
    _validate.temperature(temperature)
    _validate.top_k(top_k, most=len(vocab))
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator (e.g. "
                        f"torch.Generator().manual_seed(0)), got {type(generator).__name__}")
    if temperature == 0:
        return _generate(prefix, num_preds, net, vocab, device, _greedy)

    def draw(logits):
        probs = next_token_probs(logits, temperature, top_k)
        return int(torch.multinomial(probs.to(generator.device) if generator else probs, 1, generator=generator))

    return _generate(prefix, num_preds, net, vocab, device, draw)
