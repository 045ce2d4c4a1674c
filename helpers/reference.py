"""Reference runs in the notebooks: read results/NAME.json and show it beside a notebook's own run.

A reference run is one of the course's comparisons trained at a realistic size (256 units,
three seeds, early stopping), too long for a notebook; `python3 course.py reproduce NAME`
reruns it (tools/reference.py) and stores every run's trajectory with its provenance. Here:

    ref = d2l.reference.load("depth-shakespeare")
    print(ref.label)                      # what it is, where and how long it ran
    ref.table()                           # params, held-out at equal updates / CPU time / best
    ref.stats("LSTM 3x256", "best")       # (mean, lowest, highest) over the seeds
    ref.plot_cost()                       # held-out perplexity against parameters and CPU time
    print(d2l.reference.depth_verdict(ref))  # the sentence that figure supports, from the runs

Every number a notebook shows from here is one of the file's, rounded as printed; the course's
tests check that. Three columns answer three questions: held-out perplexity at *equal updates*
(the best checkpoint up to the largest update count every run reached), at *equal CPU time*
(the best checkpoint within the shortest run's training seconds) and the *best* of each run
(early stopping or the time cap, whichever came first: `stopped` says which).
"""
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RESULTS", "Reference", "load", "separated", "Verdict", "depth_verdict"]

RESULTS = Path(__file__).resolve().parent.parent / "results"  # beside helpers/ in the course folder


def results_folder():
    """RESULTS, or, for a copy of helpers installed with `pip install .` (then RESULTS is in
    site-packages), the course folder's results/ found from the working folder (notebooks/ or the root)."""
    for folder in (RESULTS, Path.cwd() / "results", Path.cwd().parent / "results"):
        if folder.is_dir():
            return folder
    return RESULTS
COLUMNS = ("updates", "cpu", "best")  # what a stats() metric can be


@dataclass
class Reference:
    """One experiment's stored runs (`runs`: one dict per model and seed) and its config."""
    name: str
    question: str
    config: dict
    protocol: dict
    runs: list

    @property
    def models(self):
        """Model names with at least one stored run, in the experiment's order."""
        return [m for m in self.config["models"] if any(r["model"] == m for r in self.runs)]

    def runs_of(self, model):
        runs = [r for r in self.runs if r["model"] == model]
        if not runs:
            raise KeyError(f"{self.name}: no stored run of {model!r}; stored: {', '.join(self.models)}")
        return runs

    @property
    def seeds(self):
        return sorted({r["seed"] for r in self.runs})

    @property
    def equal_updates(self):
        """The largest regular checkpoint (every `check_every` updates) that every stored run reached."""
        every = self.config["check_every"]
        return min(max((c["updates"] for c in r["checkpoints"] if c["updates"] % every == 0),
                       default=r["checkpoints"][0]["updates"]) for r in self.runs)

    @property
    def equal_cpu_s(self):
        """The training CPU seconds of the shortest stored run: every run had at least this long."""
        return min(r["train_cpu_s"] for r in self.runs)

    def value(self, run, metric):
        """A run's held-out perplexity by `metric`: 'updates', 'cpu' or 'best' (see the module docstring)."""
        if metric not in COLUMNS:
            raise ValueError(f"metric must be one of {COLUMNS}, got {metric!r}")
        checks = run["checkpoints"]
        if metric == "updates":
            checks = [c for c in checks if c["updates"] <= self.equal_updates] or checks[:1]
        elif metric == "cpu":
            checks = [c for c in checks if c["train_cpu_s"] <= self.equal_cpu_s] or checks[:1]
        return min(c["held_out_ppl"] for c in checks)

    def stats(self, model, metric="best"):
        """(mean, lowest, highest) of a model's held-out perplexity over its stored seeds."""
        values = [self.value(r, metric) for r in self.runs_of(model)]
        return statistics.fmean(values), min(values), max(values)

    def params(self, model):
        return self.runs_of(model)[0]["params"]

    @property
    def label(self):
        """'reference run (`python3 course.py reproduce NAME`, <machine>, <minutes>)'."""
        prov = self.runs[0]["provenance"]
        where = prov.get("gpu") or prov["cpu"]
        cap = self.config["cap_minutes"]
        return (f"reference run (`python3 course.py reproduce {self.name}`, {where}, {prov['threads']} thread, "
                f"at most {cap:g} min of training CPU time per run, seeds {', '.join(map(str, self.seeds))})")

    def table(self, models=None, yours=None):
        """Print params and the three held-out columns as mean (range); `yours`: {label: ppl} rows
        of the notebook's own run, printed first and labelled 'your run'."""
        models = models or self.models
        labels = [f"your run: {label}" for label in (yours or {})] + [f"reference: {m}" for m in models]
        w = max([34] + [len(label) + 1 for label in labels])  # the label column fits the longest label
        print(self.label)
        print(f"{'':{w}s} {'params':>10s}  {'@' + format(self.equal_updates, ',') + ' updates':>20s}  "
              f"{'@' + format(round(self.equal_cpu_s), ',') + ' cpu s':>20s}  {'best':>20s}")
        for label, ppl in (yours or {}).items():
            print(f"{'your run: ' + label:{w}s} {'':>10s}  {'':>20s}  {'':>20s}  {ppl:>20.2f}")
        for model in models:
            cells = [_fmt(self.stats(model, m)) for m in COLUMNS]
            print(f"{'reference: ' + model:{w}s} {self.params(model):>10,}  " + "  ".join(f"{c:>20s}" for c in cells))

    def plot_cost(self, models=None, ax=None):
        """Held-out perplexity (best, mean and range over seeds) against parameters and against CPU time."""
        import matplotlib.pyplot as plt
        models = models or self.models
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True) if ax is None else (ax[0].figure, ax)
        for model in models:
            mean, low, high = self.stats(model, "best")
            seconds = statistics.fmean(_best_checkpoint(r)["train_cpu_s"] for r in self.runs_of(model))
            for a, x in zip(axes, (self.params(model), seconds)):
                a.errorbar([x], [mean], yerr=[[mean - low], [high - mean]], fmt="o", capsize=3, label=model)
        axes[0].set(xlabel="parameters", ylabel="best held-out perplexity", xscale="log",
                    title="cost in parameters")
        axes[0].xaxis.set_minor_formatter(plt.NullFormatter())
        axes[1].set(xlabel="training CPU seconds to the best checkpoint", title="cost in CPU time")
        axes[1].legend(fontsize=7, loc="upper right")
        fig.suptitle(f"{self.name} (reference run, seeds {', '.join(map(str, self.seeds))})", fontsize=10)
        fig.tight_layout()
        return fig


def _best_checkpoint(run):
    return min(run["checkpoints"], key=lambda c: c["held_out_ppl"])


def _fmt(stats):
    mean, low, high = stats
    return f"{mean:.2f} ({low:.2f}–{high:.2f})"


def separated(ref, a, b, metric="best"):
    """Whether model a's range over seeds lies wholly below (-1) or above (+1) b's, else 0."""
    _, a_low, a_high = ref.stats(a, metric)
    _, b_low, b_high = ref.stats(b, metric)
    return -1 if a_high < b_low else 1 if a_low > b_high else 0


@dataclass
class Verdict:
    """A sentence computed from stored runs, and the claims in it: (winner, loser, metric) triples
    where the winner's held-out perplexity is lower in every stored seed (the ranges separate)."""
    sentence: str
    claims: list = field(default_factory=list)

    def __str__(self):
        return self.sentence


def _compare(ref, a, b, metric, claims):
    """'A beats B in every seed (x against y)', or 'the ranges of A and B overlap', recording a claim."""
    sign = separated(ref, a, b, metric)
    if sign == 0:
        return (f"the seeds' ranges of {a} {_fmt(ref.stats(a, metric))} and {b} {_fmt(ref.stats(b, metric))} "
                f"overlap, so no verdict")
    win, lose = (a, b) if sign < 0 else (b, a)
    claims.append((win, lose, metric))
    return f"{win} {_fmt(ref.stats(win, metric))} beats {lose} {_fmt(ref.stats(lose, metric))} in every seed"


def depth_verdict(ref, min_seeds=3, tolerance=0.05):
    """When does depth pay? The sentence `ref.plot_cost()` supports, computed from the stored runs.

    Two comparisons, each a verdict only where the seeds' ranges separate: (1) at equal parameters,
    each at its best checkpoint: of the deep models (more than one layer) that have a one-layer model
    within `tolerance` of their parameter count, the one with the lowest mean, against that one layer;
    (2) at equal CPU time (`ref.equal_cpu_s`), the best deep model against the best one-layer model,
    both at that time. Needs `min_seeds` seeds of every model compared; with fewer it claims nothing.
    """
    layers = {m: ref.config["models"][m].get("layers", 1) for m in ref.models}
    deep = [m for m in ref.models if layers[m] > 1]
    single = [m for m in ref.models if layers[m] == 1]
    if not deep or not single:
        return Verdict(f"{ref.name}: no verdict on depth yet: it needs stored runs of deep models "
                       f"({', '.join(deep) or 'none'}) and of one-layer models ({', '.join(single) or 'none'})")
    short = [m for m in deep + single if len(ref.runs_of(m)) < min_seeds]
    if short:
        return Verdict(f"{ref.name}: no verdict on depth yet: fewer than {min_seeds} seeds stored for "
                       f"{', '.join(short)}")
    claims = []
    matched = [(d, s) for d in deep for s in single if abs(ref.params(d) - ref.params(s)) <= tolerance * ref.params(d)]
    if matched:
        best_deep, wide = min(matched, key=lambda pair: ref.stats(pair[0], "best")[0])
        at_params = (f"At equal parameters ({ref.params(best_deep):,} against {ref.params(wide):,}), each at its "
                     f"best checkpoint, {_compare(ref, best_deep, wide, 'best', claims)}")
    else:
        at_params = f"No one-layer model has a deep model's parameter count (within {tolerance:.0%})"
    by_time = {group[0]: min(group, key=lambda m: ref.stats(m, "cpu")[0]) for group in (deep, single)}
    at_time = _compare(ref, by_time[deep[0]], by_time[single[0]], "cpu", claims)
    return Verdict(f"{at_params}; at equal CPU time ({ref.equal_cpu_s:.0f} s of training), the best of each "
                   f"depth then: {at_time}.", claims)


def load(name, folder=None):
    """The stored reference run `name` (results/NAME.json); a clear error when it is not there."""
    folder = Path(folder or results_folder())
    path = folder / f"{name}.json"
    if not path.is_file():
        stored = sorted(p.stem for p in folder.glob("*.json"))
        raise FileNotFoundError(f"no reference run {name!r}: {path} is missing "
                                f"(stored: {', '.join(stored) or 'none'}). "
                                f"Run `python3 course.py reproduce {name}` in the course folder to make it.")
    data = json.loads(path.read_text())
    runs = data["runs"]
    if not runs:
        raise ValueError(f"{path} holds no finished run; run `python3 course.py reproduce {name}`")
    return Reference(data["name"], data["question"], data["config"], data["protocol"], runs)
