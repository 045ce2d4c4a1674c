"""Probes (探针): what a layer's states know, measured with small linear classifiers.

* `char_features(text)`: one label per character for features from low to high level
  (is a vowel, next is a space, position inside the word, inside a speaker's name line,
  characters since the last newline);
* `fit_probe(X, y)`: a linear classifier on frozen states, fitted in a few seconds with torch;
  `majority_accuracy(y_train, y_test)`: the baseline a probe must beat;
* `most_selective_unit(H, y)`: the unit whose activation follows a feature most closely;
* `trace_html(text, values)`: the text coloured by one unit's activation (Karpathy-style traces);
* `lstm_gates(lstm, X, H)`: an `nn.LSTM` layer's gates recomputed from its weights, and
  `gate_saturation(gates)`: how often each gate is nearly shut or nearly open (Karpathy et al. 2015).
"""
import html
import numbers

import torch
from torch import nn

__all__ = ["FEATURES", "char_features", "LinearProbe", "fit_probe", "majority_accuracy",
           "most_selective_unit", "trace_html", "GATES", "lstm_gates", "gate_saturation"]

VOWELS = set("aeiouAEIOU")
FEATURES = {  # name -> what label y_t says about the character x_t just read
    "vowel": "x_t is a vowel (a, e, i, o, u, either case): 0 or 1",
    "next is space": "x_{t+1} is a space: 0 or 1",
    "word position": "letters of the current word read so far, 1..5 (5 = five or more); 0 = not a letter",
    "speaker line": "x_t is on a line that names a speaker (after a blank line, ends with ':'): 0 or 1",
    "line position": "characters since the last newline, in tens: 0 = 0-9, ..., 5 = 50 or more",
}


def _speaker_lines(text):
    """1 for every character of a line that follows a blank line (or opens the text) and ends with ':'."""
    labels, start = [], 0
    for line in text.split("\n"):
        after_blank = start == 0 or text[max(0, start - 2):start] == "\n\n"
        is_name = after_blank and line.endswith(":") and len(line) > 1
        labels += [int(is_name)] * len(line) + [0]  # the newline itself is not on the name line
        start += len(line) + 1
    return labels[:len(text)]


def char_features(text):
    """Labels for every character of `text`: {feature name: LongTensor of len(text)} (see FEATURES)."""
    if not isinstance(text, str) or len(text) == 0:
        raise ValueError(f"text must be a non-empty string, got {type(text).__name__} {text!r:.40}")
    vowel, next_space, word_pos, line_pos = [], [], [], []
    in_word = since_newline = 0
    for i, ch in enumerate(text):
        vowel.append(int(ch in VOWELS))
        next_space.append(int(i + 1 < len(text) and text[i + 1] == " "))
        in_word = in_word + 1 if ch.isalpha() else 0
        word_pos.append(min(in_word, 5))
        line_pos.append(min(since_newline // 10, 5))
        since_newline = 0 if ch == "\n" else since_newline + 1
    labels = {"vowel": vowel, "next is space": next_space, "word position": word_pos,
              "speaker line": _speaker_lines(text), "line position": line_pos}
    return {name: torch.tensor(values) for name, values in labels.items()}


def _check_xy(X, y, who):
    if not torch.is_tensor(X) or X.dim() != 2 or X.shape[0] == 0:
        shape = tuple(X.shape) if torch.is_tensor(X) else type(X).__name__
        raise ValueError(f"{who}: X must be a 2-d tensor (num_examples, num_units), got {shape}; "
                         "reshape states (T, B, h) with H.reshape(-1, h)")
    if not torch.is_tensor(y) or y.dim() != 1 or y.is_floating_point() or len(y) != len(X):
        what = f"{tuple(y.shape)} {y.dtype}" if torch.is_tensor(y) else type(y).__name__
        raise ValueError(f"{who}: y must be a 1-d integer tensor with one class label per row of X "
                         f"({len(X)} rows), got {what}")


class LinearProbe(nn.Module):
    """Standardise each unit (with the training set's mean and spread), then one linear layer."""

    def __init__(self, mean, std, num_classes):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.linear = nn.Linear(len(mean), num_classes)

    def forward(self, X):
        return self.linear((X.float() - self.mean) / self.std)

    @torch.no_grad()
    def accuracy(self, X, y):
        """Fraction of rows of X whose predicted class equals y."""
        _check_xy(X, y, "LinearProbe.accuracy")
        return float((self(X).argmax(dim=1) == y).float().mean())


def fit_probe(X, y, num_classes=None, *, max_iter=50, weight_decay=1e-4):
    """Fit a `LinearProbe` to states X (N, h) and labels y (N,): logistic regression (softmax and
    cross-entropy, a small L2 penalty), full batch, with L-BFGS (a fraction of a second).

    The states are frozen (detached): the probe learns, the model does not.
    """
    _check_xy(X, y, "fit_probe")
    if num_classes is None:
        num_classes = max(int(y.max()) + 1, 2)
    if not isinstance(num_classes, numbers.Integral) or num_classes < 2 or int(y.max()) >= num_classes \
            or int(y.min()) < 0:
        raise ValueError(f"num_classes must be a whole number >= 2 and above every label "
                         f"(labels from {int(y.min())} to {int(y.max())}, they must be >= 0), got {num_classes!r}")
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a whole number >= 1, got {max_iter!r}")
    X = X.detach().float()
    probe = LinearProbe(X.mean(dim=0), X.std(dim=0) + 1e-6, num_classes).to(X.device)
    Z, linear = (X - probe.mean) / probe.std, probe.linear  # standardise once
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(linear(Z), y) + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe.eval()


def majority_accuracy(y_train, y_test):
    """Accuracy on y_test of always answering the most common class of y_train (the baseline)."""
    for name, y in (("y_train", y_train), ("y_test", y_test)):
        if not torch.is_tensor(y) or y.dim() != 1 or len(y) == 0 or y.is_floating_point():
            raise ValueError(f"{name} must be a non-empty 1-d integer tensor of class labels, got {y!r:.60}")
    majority = int(torch.bincount(y_train).argmax())
    return float((y_test == majority).float().mean())


def most_selective_unit(H, y):
    """(unit, r): the unit of H (N, h) whose activation has the largest |correlation| r with labels y."""
    _check_xy(H, y, "most_selective_unit")
    H, y = H.detach().float(), y.float()
    r = torch.corrcoef(torch.cat([y[None], H.T]))[0, 1:]  # correlation of y with each unit
    r = torch.nan_to_num(r)  # a constant unit (or constant labels) follows nothing: 0
    unit = int(r.abs().argmax())
    return unit, float(r[unit])


def _colour(v):
    """Background for a value in [-1, 1]: blue for negative, white for 0, red for positive."""
    v = max(-1.0, min(1.0, float(v)))
    fade = int(255 * (1 - abs(v)))
    return f"rgb(255,{fade},{fade})" if v >= 0 else f"rgb({fade},{fade},255)"


def trace_html(text, values, *, title=None, scale=None):
    """HTML for `text` with each character's background coloured by values[i] (one per character).

    Values are divided by `scale` (default: their largest magnitude) so they fill [-1, 1];
    red is positive, blue negative. Newlines are kept; HTML special characters are escaped.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    values = torch.as_tensor(values, dtype=torch.float32).flatten()
    if len(values) != len(text):
        raise ValueError(f"values must hold one number per character: text has {len(text)} "
                         f"characters, values has {len(values)}")
    if scale is None:
        scale = float(values.abs().max()) if len(values) else 1.0
    if not isinstance(scale, numbers.Real) or scale < 0:
        raise ValueError(f"scale must be a number > 0, got {scale!r}")
    values = values / (scale or 1.0)
    spans = "".join(
        f'<span style="background:{_colour(v)}" title="{float(v):+.2f}">'
        f'{html.escape(ch) if ch != chr(10) else "↵" + chr(10)}</span>'
        for ch, v in zip(text, values.tolist()))
    head = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (f'{head}<div style="font-family:monospace;white-space:pre-wrap;line-height:1.5;'
            f'color:black">{spans}</div>')


GATES = ("input", "forget", "output")  # the sigmoid gates of an LSTM (the candidate g uses tanh)


def lstm_gates(lstm, X, H, H0=None):
    """The gates of a one-layer `nn.LSTM` over a sequence, recomputed from its weights.

    X: what the layer read, (T, B, d); H: what it returned, (T, B, h) (its state at every step);
    H0: its state before step 1, (B, h) or (1, B, h) (default zeros). PyTorch's gate order:
    I_t, F_t, G_t, O_t = chunk(X_t W_ih^T + b_ih + H_{t-1} W_hh^T + b_hh, 4), I, F, O through the
    sigmoid and the candidate G through tanh. Returns {"input", "forget", "output", "candidate"}:
    (T, B, h) tensors, computed without gradients.
    """
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or lstm.batch_first or lstm.bidirectional \
            or lstm.proj_size:
        raise ValueError(f"lstm_gates: lstm must be a one-layer, time-major, one-direction nn.LSTM without "
                         f"projection (as each layer of RNNStack is), got {lstm!r}")
    h = lstm.hidden_size
    for name, T, want in (("X", X, lstm.input_size), ("H", H, h)):
        if not torch.is_tensor(T) or T.dim() != 3 or T.shape[-1] != want:
            shape = tuple(T.shape) if torch.is_tensor(T) else type(T).__name__
            raise ValueError(f"lstm_gates: {name} must be (T, B, {want}) for this layer, got {shape}")
    if X.shape[:2] != H.shape[:2]:
        raise ValueError(f"lstm_gates: X {tuple(X.shape)} and H {tuple(H.shape)} must share (T, B)")
    H0 = torch.zeros_like(H[0]) if H0 is None else H0.reshape(H[0].shape)
    with torch.no_grad():
        H_prev = torch.cat([H0.unsqueeze(0), H[:-1]]).to(X.dtype)  # the state each step reads
        pre = (X @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + H_prev @ lstm.weight_hh_l0.T + lstm.bias_hh_l0)
        i, f, g, o = pre.chunk(4, dim=-1)
        return {"input": torch.sigmoid(i), "forget": torch.sigmoid(f), "output": torch.sigmoid(o),
                "candidate": torch.tanh(g)}


def gate_saturation(gates, low=0.1, high=0.9):
    """For each sigmoid gate, the share of time each unit is left-saturated (< low, nearly shut)
    and right-saturated (> high, nearly open): {gate: (left (h,), right (h,))}, over all T * B steps.

    Karpathy, Johnson and Fei-Fei (2015) plot one dot per unit at (left, right).
    """
    if not 0 <= low < high <= 1:
        raise ValueError(f"gate_saturation: need 0 <= low < high <= 1, got low={low!r}, high={high!r}")
    out = {}
    for name in GATES:
        if name not in gates:
            raise ValueError(f"gate_saturation: gates must hold {GATES} (from lstm_gates), missing {name!r}")
        G = gates[name].reshape(-1, gates[name].shape[-1]).float()
        out[name] = ((G < low).float().mean(dim=0), (G > high).float().mean(dim=0))
    return out
