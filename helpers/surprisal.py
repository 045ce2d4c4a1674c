"""Per-character surprisal: how surprised a trained language model is by each character of a text.

`surprisal(net, tokens, vocab, device)` reads `tokens` from a zero state, carrying the state, and
returns -log p (nats) of every character after the first under the model, with its top guesses;
`surprisal_html` colours the text by it (white: expected, deep red: a surprise) and shows the
guesses on hover, as in Karpathy's char-rnn post. The mean of the surprisal is the log of the
perplexity on those characters.

    s, guesses = d2l.surprisal.surprisal(net, held_out[:301], vocab, device)
    IPython.display.HTML(d2l.surprisal.surprisal_html(vocab.to_tokens(held_out[1:301]), s, guesses))
"""
import html
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["surprisal", "surprisal_html"]


def surprisal(net, tokens, vocab, device, *, top=5):
    """(s, guesses): s[i] = -log p(tokens[i + 1] | tokens[:i + 1]) in nats, a float tensor of
    len(tokens) - 1; guesses[i] = the model's `top` likeliest characters there, [(char, p), ...]."""
    if len(tokens) < 2:
        raise ValueError(f"surprisal: tokens must hold at least 2 tokens (one read, one scored), got {len(tokens)}")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= len(vocab):
        raise ValueError(f"surprisal: top must be a whole number from 1 to len(vocab) = {len(vocab)}, got {top!r}")
    X = torch.as_tensor(tokens[:-1], dtype=torch.long, device=device).reshape(1, -1)
    y = torch.as_tensor(tokens[1:], dtype=torch.long, device=device)
    training = isinstance(net, nn.Module) and net.training
    if isinstance(net, nn.Module):
        net.eval()
    try:
        with torch.no_grad():
            logits, _ = net(X, net.begin_state(batch_size=1, device=device))  # (T, V): batch of one
    finally:
        if training:
            net.train()
    log_p = F.log_softmax(logits.float(), dim=-1)
    s = -log_p[torch.arange(len(y), device=log_p.device), y]
    p, idx = log_p.exp().topk(top, dim=-1)
    guesses = [[(vocab.idx_to_token[i], q) for i, q in zip(row_i, row_p)]
               for row_i, row_p in zip(idx.tolist(), p.tolist())]
    return s.cpu(), guesses


def surprisal_html(chars, s, guesses=None, *, scale=None, title=None):
    """HTML: each character of `chars` (a string or a list of one-character strings) on a background
    from white (0 nats) to red (`scale` nats or more; default: the largest value); hovering shows
    -log p, p and the guesses."""
    chars = list(chars)
    s = torch.as_tensor(s, dtype=torch.float32).flatten()
    if len(s) != len(chars) or (guesses is not None and len(guesses) != len(chars)):
        raise ValueError(f"surprisal_html: chars, s and guesses must have one entry per character; got "
                         f"{len(chars)}, {len(s)} and {'none' if guesses is None else len(guesses)}")
    scale = scale or (float(s.max()) if len(s) else 1.0) or 1.0
    spans = []
    for i, (ch, v) in enumerate(zip(chars, s.tolist())):
        fade = int(255 * (1 - min(1.0, max(0.0, v / scale))))
        tip = f"-log p = {v:.2f} nats (p = {math.exp(-v):.1%})"
        if guesses is not None:
            tip += "; guesses: " + ", ".join(f"{g!r} {q:.0%}" for g, q in guesses[i])
        spans.append(f'<span style="background:rgb(255,{fade},{fade})" title="{html.escape(tip)}">'
                     f'{html.escape(ch)}</span>')
    head = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (f'{head}<div style="font-family:monospace;white-space:pre-wrap;line-height:1.6;color:black">'
            f'{"".join(spans)}</div>')
