"""Sampling: generate text from a character model with a temperature (温度) and top-k.

`sample_text` has `predict_ch8`'s positional signature. At temperature 0 it is greedy
decoding (贪心搜索) and returns exactly what `predict_ch8` returns; above 0 it draws each
next character from softmax(logits / temperature), optionally keeping only the `top_k`
most likely characters. A low temperature sharpens the distribution, a high one flattens it.
"""
import math
import numbers

import torch
from torch import nn

__all__ = ["sample_text", "next_token_probs"]


def _check_args(prefix, num_preds, vocab, temperature, top_k, generator):
    """Raise a ValueError/TypeError that names the argument, the value and what works."""
    if not isinstance(prefix, str) or len(prefix) == 0:
        raise ValueError(f"prefix must be a non-empty string (the text to warm up on), got {prefix!r}")
    unknown = sorted({ch for ch in prefix if ch not in getattr(vocab, "token_to_idx", {ch: 0})})
    if unknown:
        raise ValueError(f"prefix {prefix!r} has characters the vocabulary does not know: {unknown}. "
                         "Use characters of the training text (a vocabulary built from cleaned text "
                         "has lowercase letters and spaces only).")
    if isinstance(num_preds, bool) or not isinstance(num_preds, numbers.Integral) or num_preds < 0:
        raise ValueError(f"num_preds must be a whole number >= 0 (how many characters to generate), "
                         f"got {num_preds!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy, 1 = the model's own "
                         f"distribution, e.g. 0.5 or 1.0), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)
                              or not 1 <= top_k <= len(vocab)):
        raise ValueError(f"top_k must be None (keep every character) or a whole number from 1 to "
                         f"len(vocab)={len(vocab)}, got {top_k!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator (e.g. "
                        f"torch.Generator().manual_seed(0)), got {type(generator).__name__}")


def next_token_probs(logits, temperature=1.0, top_k=None):
    """Probabilities softmax(logits / temperature) over the last axis, zero outside the top k.

    temperature 0 puts all the mass on the most likely token (ties: the first one).
    """
    logits = logits.float()
    if temperature == 0:
        return nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).float()
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # the k-th largest logit
        logits = logits.masked_fill(logits < kth, -math.inf)
    return torch.softmax(logits, dim=-1)


def sample_text(prefix, num_preds, net, vocab, device, *, temperature=1.0, top_k=None, generator=None):
    """Warm up on `prefix`, then generate `num_preds` characters by sampling; returns prefix + them.

    temperature: 0 is greedy (the most likely character every time, same as `predict_ch8`);
    1 samples from the model's distribution; below 1 is more conservative, above 1 more random.
    top_k: if given, only the k most likely characters can be drawn. generator: a
    `torch.Generator` to make the draws repeat. A module net is put in eval() mode (no
    dropout) while sampling and set back afterwards.
    """
    _check_args(prefix, num_preds, vocab, temperature, top_k, generator)
    was_training = isinstance(net, nn.Module) and net.training
    if isinstance(net, nn.Module):
        net.eval()
    try:
        state = net.begin_state(batch_size=1, device=device)
        outputs = [vocab[prefix[0]]]
        with torch.no_grad():
            for ch in prefix[1:]:  # warm-up: feed the prefix, keep the state
                _, state = net(torch.tensor([[outputs[-1]]], device=device), state)
                outputs.append(vocab[ch])
            for _ in range(num_preds):  # predict: draw the next character, feed it back
                y, state = net(torch.tensor([[outputs[-1]]], device=device), state)
                if temperature == 0:
                    outputs.append(int(y.argmax(dim=1).reshape(1)))
                    continue
                probs = next_token_probs(y.reshape(-1), temperature, top_k)
                if generator is not None:
                    probs = probs.to(generator.device)
                outputs.append(int(torch.multinomial(probs, 1, generator=generator)))
    finally:
        if was_training:
            net.train()
    return "".join(vocab.idx_to_token[i] for i in outputs)
