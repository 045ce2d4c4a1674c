"""Training: d2l's chapter-8 loop (`train_ch8`, `predict_ch8`, `grad_clipping`, ...) made fast and observable.

`train_ch8` keeps d2l's signature and adds keyword-only options: a held-out
iterator, the optimizer, mixed precision, and a returned `History`. In Jupyter it
shows a progress bar and a live perplexity plot; elsewhere it is silent.
"""
import math
import random
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .plots import LivePlot, in_jupyter

__all__ = ["try_gpu", "set_seed", "sgd", "grad_clipping", "Timer", "Accumulator", "predict_ch8",
           "train_epoch_ch8", "train_ch8", "evaluate_perplexity", "layer_grad_norms", "History",
           "TrainingDiverged", "resolve_precision", "unigram_perplexity"]


def try_gpu(i=0):
    """GPU i if it exists, else the CPU (d2l)."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def set_seed(seed):
    """Seed Python's and PyTorch's random generators so a notebook run repeats."""
    random.seed(seed)
    torch.manual_seed(seed)


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (d2l)."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def _params(net):
    return [p for p in net.parameters() if p.requires_grad] if isinstance(net, nn.Module) else net.params


def grad_clipping(net, theta):
    """Rescale all gradients together so their global L2 norm is at most theta (梯度裁剪).

    Same rule as d2l (g <- min(1, theta / ||g||) g), done by PyTorch in one pass with
    no host sync; returns the norm before clipping as a 0-d tensor.
    """
    return torch.nn.utils.clip_grad_norm_(_params(net), theta)


class Timer:
    """Record multiple running times (d2l)."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out


class Accumulator:
    """Accumulate sums over n variables (d2l)."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message says what to try."""


@dataclass
class History:
    """What `train_ch8` measured, one entry per epoch (grad_norms: one per step when tracked)."""
    train_ppl: list = field(default_factory=list)
    valid_ppl: list = field(default_factory=list)
    tokens_per_sec: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    precision: str = "fp32"

    @property
    def final_train_ppl(self):
        return self.train_ppl[-1] if self.train_ppl else math.nan

    @property
    def final_valid_ppl(self):
        return self.valid_ppl[-1] if self.valid_ppl else math.nan


def _cpu_has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_precision(precision, device):
    """'auto' -> 'bf16' on a CPU with native bf16 or a bf16 GPU, 'fp16' on other GPUs, else 'fp32'."""
    known = ("auto", "fp32", "bf16", "fp16")
    if precision not in known:
        raise ValueError(f"precision must be one of {known}, got {precision!r}")
    kind = torch.device(device).type
    if precision == "auto":
        if kind == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if kind == "cpu" and _cpu_has_bf16() else "fp32"
    if precision == "fp16" and kind != "cuda":
        raise ValueError("precision='fp16' needs a GPU; use 'bf16' or 'fp32' on the CPU")
    return precision


def _autocast(precision, device):
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(torch.device(device).type, dtype=dtype)


def _detach(state):
    """Cut the graph between minibatches (truncated BPTT, 通过时间反向传播)."""
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def predict_ch8(prefix, num_preds, net, vocab, device):
    """Warm up on `prefix`, then greedily generate `num_preds` characters (d2l)."""
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))  # noqa: E731
    with torch.no_grad():
        for y in prefix[1:]:  # warm-up: feed the prefix, keep the state
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):  # predict: feed back the most likely character
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


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


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter, *,
                    clip=1.0, precision="fp32", progress=None, grad_norms=None):
    """Train one epoch (d2l); returns (perplexity, tokens per second).

    The loss is summed on the device and read once per epoch, so no step waits for
    the host. Extra keyword-only options are used by `train_ch8`.
    """
    state, timer = None, Timer()
    total, num_tokens = torch.zeros((), device=device), 0
    for X, Y in train_iter:
        if state is None or use_random_iter:
            # Random sampling: neighbouring minibatches are unrelated, so start afresh.
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            state = _detach(state)
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        with _autocast(precision, device):
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad(set_to_none=True)
        l.backward()
        if grad_norms is not None:
            grad_norms.append(layer_grad_norms(net))
        if clip is not None:
            grad_clipping(net, clip)
        if isinstance(updater, torch.optim.Optimizer):
            updater.step()
        else:
            updater(batch_size=1)  # the loss is already a mean
        total += l.detach().float() * y.numel()
        num_tokens += y.numel()
        if progress is not None:
            progress.update(y.numel())
    mean_loss = float(total) / max(num_tokens, 1)
    ppl = math.exp(mean_loss) if mean_loss < 700 else math.inf
    return ppl, num_tokens / timer.stop()


@torch.no_grad()
def evaluate_perplexity(net, data_iter, device):
    """Perplexity (困惑度) exp(mean cross-entropy) on held-out data, state carried across minibatches."""
    was_training = isinstance(net, nn.Module) and net.training
    if isinstance(net, nn.Module):
        net.eval()
    state, total, num_tokens = None, 0.0, 0
    for X, Y in data_iter:
        if state is None:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        y = Y.T.reshape(-1).to(device)
        y_hat, state = net(X.to(device), state)
        total += float(F.cross_entropy(y_hat.float(), y, reduction="sum"))
        num_tokens += y.numel()
    if was_training:
        net.train()
    if num_tokens == 0:
        raise ValueError("evaluate_perplexity got an empty data iterator")
    return math.exp(total / num_tokens)


def unigram_perplexity(train_corpus, valid_corpus, vocab_size):
    """Baseline: perplexity on `valid_corpus` when every token is predicted by its frequency in
    `train_corpus` (add-one smoothed, so no token is impossible). A model must beat this."""
    counts = torch.bincount(torch.as_tensor(train_corpus), minlength=vocab_size).double() + 1
    log_p = torch.log(counts / counts.sum())
    return math.exp(-float(log_p[torch.as_tensor(valid_corpus)].mean()))


def _make_updater(net, optimizer, lr):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    known = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    if optimizer not in known:
        raise ValueError(f"optimizer must be one of {sorted(known)} or a torch.optim.Optimizer, got {optimizer!r}")
    if isinstance(net, nn.Module):
        return known[optimizer](net.parameters(), lr)
    if optimizer != "sgd":
        raise ValueError("a scratch model (RNNModelScratch) trains with optimizer='sgd' only")
    return lambda batch_size: sgd(net.params, lr, batch_size)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False, *,
              valid_iter=None, optimizer="sgd", precision="auto", clip=1.0,
              track_grad_norms=False, verbose=None, plot=None):
    """Train a character-level language model (d2l's `train_ch8`); returns a `History`.

    Keyword-only extras: `valid_iter` (held-out perplexity every epoch), `optimizer`
    ('sgd', 'adam', 'adamw' or an optimizer), `precision` ('auto', 'fp32', 'bf16'),
    `clip` (gradient-norm threshold; None turns clipping off), `track_grad_norms`
    (per-layer gradient norms at every step), `verbose`/`plot` (default: in Jupyter only).
    """
    in_nb = in_jupyter()
    verbose = in_nb if verbose is None else verbose
    plot = in_nb if plot is None else plot
    loss = nn.CrossEntropyLoss()
    updater = _make_updater(net, optimizer, lr)
    history = History(precision=resolve_precision(precision, device))
    tokens_per_epoch = len(train_iter) * getattr(train_iter, "batch_size", 0) * getattr(train_iter, "num_steps", 0) \
        if hasattr(train_iter, "__len__") else 0
    progress = live = None
    if verbose:
        from tqdm.auto import tqdm
        progress = tqdm(total=num_epochs * tokens_per_epoch or None, unit="tok", unit_scale=True,
                        desc="training", leave=True)
    if plot:
        live = LivePlot(num_epochs, title=f"{type(getattr(net, 'rnn', net)).__name__}: perplexity")
    try:
        for epoch in range(num_epochs):
            tic = time.time()
            ppl, speed = train_epoch_ch8(
                net, train_iter, loss, updater, device, use_random_iter, clip=clip,
                precision=history.precision, progress=progress,
                grad_norms=history.grad_norms if track_grad_norms else None)
            if not math.isfinite(ppl):
                raise TrainingDiverged(
                    f"the loss became {ppl} in epoch {epoch + 1}: training diverged. "
                    f"Try a lower learning rate (e.g. lr={lr / 10:g} instead of {lr:g})"
                    + (" or turn gradient clipping back on (clip=1.0)." if clip is None else "."))
            history.train_ppl.append(ppl)
            history.tokens_per_sec.append(speed)
            if valid_iter is not None:
                history.valid_ppl.append(evaluate_perplexity(net, valid_iter, device))
            history.seconds.append(time.time() - tic)
            if progress is not None:
                progress.set_postfix(ppl=f"{ppl:.2f}")
            if live is not None:
                values = {"train": ppl}
                if history.valid_ppl:
                    values["held-out"] = history.valid_ppl[-1]
                live.add(**values)
    except KeyboardInterrupt:
        print(f"interrupted after {len(history.train_ppl)} epoch(s); returning the history so far")
        return history
    finally:
        if progress is not None:
            progress.close()
        if live is not None:
            live.close()
    if verbose and history.train_ppl:
        valid = f", held-out perplexity {history.final_valid_ppl:.2f}" if history.valid_ppl else ""
        print(f"train perplexity {history.final_train_ppl:.2f}{valid}, "
              f"{sum(history.tokens_per_sec) / len(history.tokens_per_sec):.0f} tokens/sec on {device}")
        print(predict_ch8("time traveller", 50, net, vocab, device))
        print(predict_ch8("traveller", 50, net, vocab, device))
    return history
