"""Experiments: train a setting once per seed and summarise it by its mean and range (notebook 05).

One run per setting hides how far a number moves when only the random seed changes. So
every setting of notebook 05 is trained once per seed: `over_seeds` runs a training function
for each seed and returns a `Setting`; `Setting.stats` gives the mean, lowest and highest
value of a metric over the seeds; `verdict` says in words whether two settings differ by
more than their ranges; `band` draws a mean with its range, and `plot_depth_sweep`,
`plot_data_curves` and `plot_grad_norms` draw notebook 05's figures with it.
`unseen_words` counts the held-out words that a training text never contains.
"""
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from numbers import Integral

import matplotlib.pyplot as plt

from .parallel import map_runs

__all__ = ["SEEDS", "METRICS", "Run", "Setting", "over_seeds", "separated", "verdict", "extrapolate_doublings", "band",
           "plot_depth_sweep", "plot_data_curves", "plot_grad_norms", "unseen_words"]

SEEDS = (0, 1, 2)

METRICS = {  # how to read one number from a run
    "held-out": lambda run: run.history.final_valid_ppl,
    "train": lambda run: run.history.final_train_ppl,
    "best held-out": lambda run: min(run.history.valid_ppl),
}


def _metric(metric):
    if callable(metric):
        return metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(map(repr, METRICS))} "
                         "or a function of a Run")
    return METRICS[metric]


@dataclass
class Run:
    """One training run: its seed, the trained network and what `train_ch8` measured."""
    seed: int
    net: object
    history: object


@dataclass
class Setting:
    """One experimental setting, trained once per seed (`runs`), with the seconds it took."""
    label: str
    runs: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def histories(self):
        return [run.history for run in self.runs]

    def values(self, metric="held-out"):
        """The metric of every run, in seed order: a name in METRICS or a function of a `Run`."""
        fn = _metric(metric)
        return [float(fn(run)) for run in self.runs]

    def stats(self, metric="held-out"):
        """(mean, lowest, highest) of the metric over the seeds."""
        v = self.values(metric)
        return statistics.fmean(v), min(v), max(v)

    def mean(self, metric="held-out"):
        return self.stats(metric)[0]

    def summary(self, metric="held-out", fmt=".2f"):
        """'mean (lowest–highest)', each number formatted with `fmt`."""
        mean, low, high = self.stats(metric)
        return f"{mean:{fmt}} ({low:{fmt}}–{high:{fmt}})"

    def curve(self, name="valid_ppl"):
        """Per-entry (means, lows, highs) over the seeds of a History list such as `valid_ppl`."""
        rows = [list(getattr(h, name)) for h in self.histories]
        if len({len(r) for r in rows}) != 1:
            raise ValueError(f"{self.label}: the runs recorded {name} of different lengths "
                             f"{[len(r) for r in rows]}; a curve needs the same length for every seed")
        cols = list(zip(*rows))
        return ([statistics.fmean(c) for c in cols], [min(c) for c in cols], [max(c) for c in cols])


def over_seeds(label, train_one, seeds=SEEDS, quiet=False, processes=1):
    """Call `train_one(seed)` for every seed; it returns (net, history). Returns a `Setting`.

    Prints one line: held-out and training perplexity as mean (range), and the wall time taken.
    processes: 1 (default) runs the seeds one after another here; 'auto' or a number runs them in
    worker processes on the idle cores (`helpers.parallel.map_runs`: the same results; what
    train_one prints there is discarded, so give train_ch8 `verbose=False, plot=False`).
    """
    if not callable(train_one):
        raise TypeError(f"train_one must be a function of the seed, got {type(train_one).__name__}")
    seeds = tuple(seeds)
    if not seeds or not all(isinstance(s, Integral) for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of whole numbers, got {seeds!r}")
    setting, tic = Setting(label), time.perf_counter()
    for seed, result in zip(seeds, map_runs(train_one, seeds, processes)):
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"train_one({seed}) must return (net, history), got {type(result).__name__}")
        setting.runs.append(Run(seed, *result))
    setting.seconds = time.perf_counter() - tic
    if not quiet:
        last = setting.histories[-1]
        held_out = f"held-out {setting.summary('held-out')}, " if last.valid_ppl else ""
        print(f"{label:20} {held_out}train {setting.summary('train')}  "
              f"[{len(seeds)} seeds, {setting.seconds:.1f} s]")
    return setting


def _values(x, metric):
    """(label, values) of a Setting read with `metric`, or of a (label, values) pair."""
    if isinstance(x, Setting):
        return x.label, x.values(metric)
    label, values = x
    return label, [float(v) for v in values]


def _summary(values):
    return f"{statistics.fmean(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def separated(a, b, metric="held-out"):
    """True when two ranges do not overlap: every seed of one beats every seed of the other.

    `a` and `b` are Settings (read with `metric`) or (label, values) pairs.
    """
    (_, va), (_, vb) = _values(a, metric), _values(b, metric)
    return max(va) < min(vb) or max(vb) < min(va)


def verdict(a, b, metric="held-out"):
    """One sentence comparing two Settings (or (label, values) pairs) where lower is better (perplexity)."""
    (la, va), (lb, vb) = _values(a, metric), _values(b, metric)
    if not separated((la, va), (lb, vb)):
        return (f"{la} {_summary(va)} vs {lb} {_summary(vb)}: "
                f"the ranges overlap, so {min(len(va), len(vb))} seeds cannot tell them apart")
    (lbest, vbest), (lother, vother) = sorted([(la, va), (lb, vb)], key=lambda x: statistics.fmean(x[1]))
    return (f"{lbest} {_summary(vbest)} beats {lother} {_summary(vother)} "
            f"in every seed (the ranges are {min(vother) - max(vbest):.2f} apart)")


def extrapolate_doublings(values, more):
    """Continue a curve measured at successive doublings of the data by `more` doublings (may be fractional).

    The gain per doubling (values[i] - values[i + 1]) is assumed to shrink by a constant factor q,
    fitted by least squares to the logarithms of the last gains (up to four). Returns (q, the value
    after `more` further doublings, the limit that infinitely many doublings would approach).
    An assumption, not a measurement: say so wherever the numbers are shown.
    """
    gains = [a - b for a, b in zip(values, values[1:])][-4:]
    if len(gains) < 2 or min(gains) <= 0:
        raise ValueError(f"extrapolate_doublings needs at least two positive gains per doubling, got {gains}")
    if more < 0:
        raise ValueError(f"more must be >= 0 (doublings beyond the last value), got {more}")
    logs = [math.log(g) for g in gains]
    slope, intercept = statistics.linear_regression(range(len(logs)), logs)  # log gain = a + b * i
    q, last_gain = math.exp(slope), math.exp(intercept + slope * (len(logs) - 1))  # fitted
    if q >= 1:  # the gains do not shrink: no limit, and a straight line in log(data)
        return q, values[-1] - last_gain * more, -math.inf
    return q, values[-1] - last_gain * q * (1 - q ** more) / (1 - q), values[-1] - last_gain * q / (1 - q)


def band(ax, xs, setting_or_curve, label=None, metric=None, **style):
    """Plot a mean as a line with markers and its range (lowest to highest seed) as a shaded band.

    `setting_or_curve` is a list of Settings (one per x, read with `metric`, default 'held-out')
    or a (means, lows, highs) triple such as `Setting.curve()` returns.
    """
    if isinstance(setting_or_curve, tuple):
        means, lows, highs = setting_or_curve
    else:
        means, lows, highs = zip(*(s.stats(metric or "held-out") for s in setting_or_curve))
    if not len(xs) == len(means):
        raise ValueError(f"band got {len(xs)} x values for {len(means)} means")
    (line,) = ax.plot(xs, means, marker=style.pop("marker", "o"), label=label, **style)
    ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.2, lw=0)
    return line


def plot_depth_sweep(sweep, cells, layers, steps, seconds_per_run, baseline=None):
    """Three panels: held-out perplexity against depth; the last cell's learning curves; time per run.

    `sweep` and `seconds_per_run` are dicts keyed by (cell, num_layers); every run recorded
    `valid_ppl` at the optimizer steps `steps`. Lines are means over the seeds, bands their range.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for cell, marker in zip(cells, "os^D"):
        band(axes[0], layers, [sweep[cell, L] for L in layers], label=cell, marker=marker)
        axes[2].plot(layers, [seconds_per_run[cell, L] for L in layers], marker=marker, label=cell)
    for L in layers:
        band(axes[1], steps, sweep[cells[-1], L].curve("valid_ppl"), label=f"{cells[-1]} L={L}")
    if baseline is not None:
        for ax in axes[:2]:
            ax.axhline(baseline, color="gray", ls=":", label="letter frequencies")
    axes[0].set(xlabel="layers L", ylabel="held-out perplexity", xticks=layers,
                title="held-out perplexity at the end")
    axes[1].set(xlabel="optimizer step", ylabel="held-out perplexity", title=f"{cells[-1]}: during training")
    axes[2].set(xlabel="layers L", ylabel="seconds per run", xticks=layers, title="time of one run (benchmark)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_data_curves(curves, fixed_steps=None, baseline=None):
    """Held-out perplexity against characters read (log scale), one mean-and-range band per curve.

    `curves`: {label: (characters, Setting)} where the Setting's runs recorded `valid_ppl` once per
    entry of `characters`. `fixed_steps`: optional (characters, [Setting, ...]) drawn dashed.
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, (chars, setting) in curves.items():
        band(ax, chars, setting.curve("valid_ppl"), label=label)
    if fixed_steps is not None:
        chars, settings = fixed_steps
        band(ax, chars, settings, label="same steps, smaller text (Wells)", ls="--", marker="s")
    if baseline is not None:
        ax.axhline(baseline, color="gray", ls=":", label="letter frequencies")
    ax.set(xscale="log", xlabel="training characters read (log scale)", ylabel="held-out perplexity",
           title="more text: held-out perplexity (band: range of seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_grad_norms(panels, threshold=1.0):
    """One log-scale panel per setting: each layer's gradient norm at every step, mean and range of seeds.

    `panels`: {title: Setting} whose runs were trained with `track_grad_norms=True`.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), sharey=True, squeeze=False)
    for ax, (title, setting) in zip(axes[0], panels.items()):
        runs = setting.histories
        for name in runs[0].grad_norms[0]:
            per_seed = [[g[name] for g in h.grad_norms] for h in runs]
            steps = range(1, min(map(len, per_seed)) + 1)
            cols = list(zip(*per_seed))
            curve = ([statistics.fmean(c) for c in cols], [min(c) for c in cols], [max(c) for c in cols])
            band(ax, list(steps), curve, label=name, marker=None, lw=0.8)
        ax.axhline(threshold, color="gray", ls=":", label="clipping threshold")
        ax.set(yscale="log", xlabel="optimizer step", title=title)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("gradient norm of a layer (log)")
    axes[0][-1].legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def unseen_words(train_text, held_out_text, top=6):
    """(share of held-out words absent from the training text, the `top` most frequent of them).

    The first and last word of each text are dropped: a slice of a longer text may cut them.
    """
    known = set(train_text.split()[1:-1])
    held_out = held_out_text.split()[1:-1]
    if not held_out:
        raise ValueError("held_out_text has no whole words (it needs at least three)")
    unseen = [w for w in held_out if w not in known]
    return len(unseen) / len(held_out), [w for w, _ in Counter(unseen).most_common(top)]
