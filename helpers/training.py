"""Training: d2l's chapter-8 loop (`train_ch8`, `train_epoch_ch8`, `grad_clipping`, `sgd`) made fast and observable.

`train_ch8` keeps d2l's signature and adds keyword-only options: a held-out iterator,
the optimizer, mixed precision, sampled closing texts, and a returned `History`. Like
d2l's, it ends by printing the perplexity, the tokens/sec and two samples (in scripts
too); in Jupyter it also shows a progress bar and a live perplexity plot. Its arguments
and the first minibatch of each data iterator are checked before any training, the
model's output size against `len(vocab)` too.

Ctrl-C stops at once: the net keeps the training mode it had, the finished epochs are
kept (as `err.history` on the KeyboardInterrupt and as `helpers.training.last_history`),
and the KeyboardInterrupt goes on, so a cell or a script with several runs stops there,
not just the current run.
"""
import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from . import _validate
from .evaluation import NonFiniteLoss, evaluate_perplexity, layer_grad_norms, no_batches, perplexity
from .history import History, TrainingDiverged
from .plots import LivePlot, ProgressBar, in_jupyter
from .precision import autocast, check_bf16_lstm, resolve_precision
from .sampling import predict_ch8, sample_text
from .utils import EvalMode, Timer

__all__ = ["sgd", "grad_clipping", "train_epoch_ch8", "train_ch8"]

last_history = None  # the History of the latest train_ch8 run, finished or interrupted


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (d2l)."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def _params(net):
    """The trainable tensors of an nn.Module, of a scratch model (`net.params`), or a list of tensors."""
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    params = net.params if hasattr(net, "params") else net
    params = list(params) if isinstance(params, (list, tuple)) or hasattr(params, "__next__") else None
    if params is None or not all(torch.is_tensor(p) for p in params):
        raise TypeError(f"grad_clipping(net, theta): net must be an nn.Module, a model with .params "
                        f"(RNNModelScratch) or a list of tensors, got {type(net).__name__}")
    return params


def grad_clipping(net, theta):
    """Rescale all gradients together so their global L2 norm is at most theta (梯度裁剪).

    Same rule as d2l (g <- min(1, theta / ||g||) g), done by PyTorch in one pass with
    no host sync; returns the norm before clipping as a 0-d tensor. `net` may also be a
    list of tensors, such as a scratch model's `net.params`.
    """
    _check_clip(theta, "theta", none_ok=False)
    return torch.nn.utils.clip_grad_norm_(_params(net), theta)


def _detach(state):
    """Cut the graph between minibatches (truncated BPTT, 通过时间反向传播)."""
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter, *,
                    clip=1.0, precision="fp32", progress=None, grad_norms=None):
    """Train one epoch (d2l); returns (perplexity, tokens per second).

    The loss is summed on the device and read once per epoch, so no step waits for
    the host. Extra keyword-only options are used by `train_ch8`.
    """
    precision = resolve_precision(precision, device)  # 'auto' -> what this device does best; typos refused
    check_bf16_lstm(net, precision, device)
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
        with autocast(precision, device):
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
    if num_tokens == 0:
        raise ValueError(no_batches("train_iter"))
    return perplexity(float(total), num_tokens), num_tokens / timer.stop()


# ---------------------------------------------------------------- train_ch8's argument checks

def _check_clip(value, name="clip", none_ok=True):
    """The largest gradient norm allowed must be > 0 (or None: no clipping, where none_ok)."""
    if value is None and none_ok:
        return
    none = " or None (no clipping)" if none_ok else ""
    _validate.number(value, name, above=0, finite=False,
                     what=f" (the largest gradient norm allowed, e.g. {name}=1.0; a negative value would turn "
                          f"the gradient around and 0 would erase it){none}")


def _check_numbers(lr, num_epochs, clip):
    _validate.number(lr, "lr", above=0, what=" (the learning rate, e.g. lr=1.0 with optimizer='sgd' or "
                                            "lr=0.01 with 'adam')")
    _validate.whole(num_epochs, "num_epochs")
    _check_clip(clip)


def _check_batch(batch, name, net, device, vocab):
    """The first minibatch must be (X, Y) token tensors of one shape that the net can read, and the
    net must give one score per token of the vocabulary."""
    ok = (isinstance(batch, (tuple, list)) and len(batch) == 2
          and all(torch.is_tensor(t) and t.dim() == 2 and not t.is_floating_point() for t in batch)
          and batch[0].shape == batch[1].shape and batch[0].numel() > 0)
    if not ok:
        raise ValueError(f"{name} must yield (X, Y) pairs of integer token tensors, both of shape "
                         f"(batch_size, num_steps), as d2l.load_data_time_machine's iterator does; its "
                         f"first item is {_validate.describe(batch)}")
    X, Y = batch
    try:
        with EvalMode(net), torch.no_grad():
            y_hat, _ = net(X.to(device), net.begin_state(batch_size=X.shape[0], device=device))
    except (ValueError, RuntimeError, IndexError) as err:
        raise ValueError(f"the model cannot read {name}'s first minibatch: {err}") from err
    scores = y_hat.shape[-1]
    if hasattr(vocab, "__len__") and scores != len(vocab):
        raise ValueError(f"the model gives {scores} scores per token, but len(vocab) = {len(vocab)}: it was "
                         f"built for another vocabulary. Build it with vocab_size=len(vocab), e.g. "
                         f"d2l.stacked_rnn('LSTM', len(vocab), num_hiddens, num_layers)")
    if y_hat.shape[0] != Y.numel() or int(Y.min()) < 0 or int(Y.max()) >= scores:
        raise ValueError(f"{name}: targets Y of shape {tuple(Y.shape)} with values in [{int(Y.min())}, "
                         f"{int(Y.max())}] do not match the model's output of shape {tuple(y_hat.shape)} "
                         f"(one row per target, {scores} classes)")


def _checked_iter(data_iter, name, num_passes, net, device, vocab):
    """Check `data_iter`'s first minibatch without moving Python's or PyTorch's random generators
    (d2l's loaders draw their random start when an epoch begins); return what to iterate over
    and the number of tokens in one pass (0 when it has no length)."""
    if not hasattr(data_iter, "__iter__"):
        raise ValueError(f"{name} must be an iterable of (X, Y) minibatches, such as the iterator of "
                         f"d2l.load_data_time_machine, got {_validate.describe(data_iter)}")
    one_shot = hasattr(data_iter, "__next__")  # a generator or iterator: one pass only
    if one_shot and num_passes > 1:
        raise ValueError(f"{name} is a one-shot iterator ({type(data_iter).__name__}): it would be empty "
                         f"after the first of {num_passes} epochs. Pass something that can be read "
                         f"every epoch, such as a SeqDataLoader or list({name}).")
    if hasattr(data_iter, "__len__") and len(data_iter) == 0:
        raise ValueError(no_batches(name))
    py_state, torch_state = random.getstate(), torch.get_rng_state()
    try:
        it = iter(data_iter)  # a DataLoader draws its shuffling seed here
        first = next(it, None)
        if first is None:
            raise ValueError(no_batches(name))
        _check_batch(first, name, net, device, vocab)
    finally:
        random.setstate(py_state)
        torch.set_rng_state(torch_state)
    tokens = len(data_iter) * first[0].numel() if hasattr(data_iter, "__len__") else 0
    return (_prepend(first, it) if one_shot else data_iter), tokens


def _prepend(first, rest):
    yield first
    yield from rest


def _make_updater(net, optimizer, lr):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    known = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    _validate.choice(optimizer, "optimizer", known, what=" or a torch.optim.Optimizer")
    if isinstance(net, nn.Module):
        return known[optimizer](net.parameters(), lr)
    if optimizer != "sgd":
        raise ValueError("a scratch model (RNNModelScratch) trains with optimizer='sgd' only")
    return lambda batch_size: sgd(net.params, lr, batch_size)


def _sampler(net, vocab, device, temperature, top_k):
    """The closing samples: d2l's greedy `predict_ch8`, or `sample_text` when temperature/top_k is given."""
    prefixes = [p for p in ("time traveller", "traveller")
                if all(c in getattr(vocab, "token_to_idx", {c: 0}) for c in p)]
    if temperature is None and top_k is None:
        return prefixes, lambda prefix: predict_ch8(prefix, 50, net, vocab, device)
    options = dict(temperature=1.0 if temperature is None else temperature, top_k=top_k)
    if prefixes:  # checks temperature and top_k now, not after training (no characters drawn)
        sample_text(prefixes[0], 0, net, vocab, device, **options)
    return prefixes, lambda prefix: sample_text(prefix, 50, net, vocab, device, **options)


@dataclass
class _Run:
    """What train_ch8's loop needs, once every argument has been checked."""
    train_iter: object
    valid_iter: object
    tokens_per_epoch: int
    updater: object
    precision: str
    prefixes: list
    sample: object


def _prepare(net, train_iter, vocab, lr, num_epochs, device, *, valid_iter, optimizer, precision, clip,
             temperature, top_k):
    """train_ch8's checks, all before any training (and before a bar or a plot is drawn)."""
    _check_numbers(lr, num_epochs, clip)
    _validate.device(device)
    precision = resolve_precision(precision, device)
    check_bf16_lstm(net, precision, device)
    train_iter, tokens = _checked_iter(train_iter, "train_iter", num_epochs, net, device, vocab)
    if valid_iter is not None:
        valid_iter, _ = _checked_iter(valid_iter, "valid_iter", num_epochs, net, device, vocab)
    updater = _make_updater(net, optimizer, lr)
    prefixes, sample = _sampler(net, vocab, device, temperature, top_k)
    return _Run(train_iter, valid_iter, tokens, updater, precision, prefixes, sample)


class _Display:
    """train_ch8's progress bar and live plot; by default (None) in Jupyter only, False: neither."""

    def __init__(self, net, num_epochs, tokens_per_epoch, history, verbose, plot):
        in_nb, self.history = in_jupyter(), history
        show_bar = in_nb if verbose is None else verbose
        self.bar = ProgressBar(num_epochs * tokens_per_epoch, in_nb, num_epochs) if show_bar else None
        title = f"{type(getattr(net, 'rnn', net)).__name__}: perplexity"
        self.live = LivePlot(num_epochs, title=title) if (in_nb if plot is None else plot) else None

    def epoch(self, ppl, valid):
        if self.bar is not None:
            self.bar.set_postfix(ppl=f"{ppl:.2f}")
        if self.live is not None:
            self.live.add(**{"train": ppl, **({"held-out": valid} if valid is not None else {})})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close(self.history)
        if self.live is not None:
            self.live.close()


@contextmanager
def _history_kept(history):
    """On Ctrl-C or divergence: the finished epochs go with the error (`err.history`), which goes on."""
    try:
        yield
    except (KeyboardInterrupt, TrainingDiverged) as err:
        err.history = history
        if isinstance(err, KeyboardInterrupt):
            err.add_note(f"train_ch8 was interrupted in epoch {len(history.train_ppl) + 1}; the "
                         f"{len(history.train_ppl)} finished epoch(s) are in err.history and "
                         "helpers.training.last_history.")
        raise


def _diverged(loss, epoch, lr, clip):
    return TrainingDiverged(f"the loss became {loss} in epoch {epoch + 1}: training diverged. "
                            f"Try a lower learning rate (e.g. lr={lr / 10:g} instead of {lr:g})"
                            + (" or turn gradient clipping back on (clip=1.0)." if clip is None else "."))


def _held_out(net, valid_iter, device, epoch, lr, clip):
    """The held-out perplexity after an epoch (None without valid_iter); NaN outputs: divergence."""
    try:
        return evaluate_perplexity(net, valid_iter, device) if valid_iter is not None else None
    except NonFiniteLoss:
        raise _diverged("nan on valid_iter", epoch, lr, clip) from None


def _print_closing(history, device, run):
    """d2l's closing lines: perplexity and speed, then a sample for each prefix."""
    print(f"perplexity {history.final_train_ppl:.1f}, {history.tokens_per_sec[-1]:.1f} tokens/sec on {device}")
    if history.valid_ppl:
        print(f"held-out perplexity {history.final_valid_ppl:.1f}")
    for prefix in run.prefixes:
        print(run.sample(prefix))


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False, *,
              valid_iter=None, optimizer="sgd", precision="auto", clip=1.0,
              track_grad_norms=False, verbose=None, plot=None, temperature=None, top_k=None):
    """Train a character-level language model (d2l's `train_ch8`); returns a `History`.

    Keyword-only extras: `valid_iter` (held-out perplexity every epoch), `optimizer`
    ('sgd', 'adam', 'adamw' or an optimizer), `precision` ('auto', 'fp32', 'bf16'),
    `clip` (gradient-norm threshold; None turns clipping off), `track_grad_norms`
    (per-layer gradient norms at every step), `verbose` (None: d2l's closing lines
    everywhere, the progress bar in Jupyter only; False: silent; True: the bar in scripts
    too), `plot` (the live plot; default: in Jupyter only), `temperature`/`top_k` (the two
    closing samples are drawn by `sample_text` instead of greedy `predict_ch8`).
    """
    global last_history
    run = _prepare(net, train_iter, vocab, lr, num_epochs, device, valid_iter=valid_iter, optimizer=optimizer,
                   precision=precision, clip=clip, temperature=temperature, top_k=top_k)
    loss, last_history = nn.CrossEntropyLoss(), History(precision=run.precision)
    history = last_history
    with _Display(net, num_epochs, run.tokens_per_epoch, history, verbose, plot) as show, _history_kept(history):
        for epoch in range(num_epochs):
            tic, grad_norms = time.time(), [] if track_grad_norms else None
            ppl, speed = train_epoch_ch8(net, run.train_iter, loss, run.updater, device, use_random_iter,
                                         clip=clip, precision=run.precision, progress=show.bar, grad_norms=grad_norms)
            if not math.isfinite(ppl):
                raise _diverged(ppl, epoch, lr, clip)
            valid = _held_out(net, run.valid_iter, device, epoch, lr, clip)
            history.add_epoch(ppl, valid, speed, time.time() - tic)
            history.grad_norms += grad_norms or []  # a cut epoch records none
            show.epoch(ppl, valid)
    if verbose is not False:
        _print_closing(history, device, run)
    return history
