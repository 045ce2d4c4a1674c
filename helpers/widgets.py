"""Widgets: `depth_explorer()`, an interactive view of a stacked (deep) RNN for JupyterLab.

The learner changes the number of layers, the hidden size, the cell type and the number of
time steps and sees, redrawn in place: the unrolled grid (time across, layers up), every
tensor shape read from a real `nn.RNN/GRU/LSTM`, the parameter count per layer (formula
against `numel()`) and, on request, a short training run added to a held-out perplexity plot.

Three parts, two of them without widgets: what is shown for a `Config` (`view`, from
`helpers.models.rnn_shapes` and `params_per_layer`, drawn by `helpers.diagrams`), a short
training run (`quick_train`, returning a `QuickRun`), and `DepthExplorer`, which only wires
them to the controls.
"""
import html
import io
import itertools
import time
from dataclasses import dataclass, field, fields

import ipywidgets as widgets
from IPython.display import Image, clear_output, display
from matplotlib.figure import Figure
from traitlets import TraitError

from . import diagrams
from ._validate import is_whole
from .evaluation import unigram_perplexity
from .models import CELLS, GATES, params_per_layer, rnn_shapes, stacked_rnn
from .plots import PALETTE
from .protocol import load_splits, scored_targets
from .training import train_ch8
from .utils import set_seed, try_gpu

__all__ = ["DepthExplorer", "depth_explorer", "Config", "View", "view", "QuickRun", "quick_train", "plot_runs"]

NUM_INPUTS = 28         # one-hot characters of The Time Machine: layer 1's input size d
BATCH_SIZE = 32
MAX_TRAIN_HIDDEN = 128  # training runs cap the hidden size so a click takes seconds
RANGES = {"layers": (1, 6), "hidden": (1, 512), "steps": (1, 12)}  # the sliders' (min, max)
_ids = itertools.count()


@dataclass(frozen=True)
class Config:
    """A configuration the explorer shows: one value per control. Its defaults are the explorer's."""
    layers: int = 2
    hidden: int = 64
    cell: str = "LSTM"
    steps: int = 5


CONTROLS = [f.name for f in fields(Config)]


def problem(key, value):
    """Why `value` cannot be shown for control `key` (a sentence), or None when it can."""
    if key not in CONTROLS:
        return f"unknown control {key!r}: use {', '.join(CONTROLS)}"
    if key == "cell":
        return None if value in CELLS else f"cell={value!r} is not available: choose {', '.join(CELLS)}"
    low, high = RANGES[key]
    if not is_whole(value) or not low <= value <= high:
        return f"{key}={value!r} is out of range: use a whole number from {low} to {high}"
    return None


@dataclass
class View:
    """What is shown for a Config: its shapes, the formula's and numel()'s counts, and the HTML."""
    config: Config
    shapes: dict
    formula: list
    numel: list
    grid: str
    shape_html: str
    param_html: str

    def numbers(self):
        """The numbers shown: the configuration, the state shapes and the counts per layer."""
        return {**vars(self.config), **{k: self.shapes[k] for k in ("input", "h0", "c0", "out", "h_n", "c_n")},
                "params_per_layer": list(self.formula), "numel_per_layer": list(self.numel),
                "total_params": sum(self.numel)}


def view(config, batch_size=BATCH_SIZE, num_inputs=NUM_INPUTS, uid=0):
    """The `View` of `config`, read from a real module run on zeros (T, B, d)."""
    c = config
    shapes, numel = rnn_shapes(c.cell, num_inputs, c.hidden, c.layers, c.steps, batch_size)
    formula = params_per_layer(c.cell, num_inputs, c.hidden, c.layers)
    shape_caption = f"shapes: T={c.steps}, B={batch_size}, d={num_inputs} (one-hot), L={c.layers}, h={c.hidden}"
    param_caption = (f"per layer: {GATES[c.cell]}·(h·d_in + h·h + 2h); d_in = {num_inputs} for layer 1, "
                     f"h = {c.hidden} above")
    return View(c, shapes, formula, numel, diagrams.grid_svg(c.cell, c.layers, c.steps, uid),
                diagrams.shape_table(shapes, shape_caption), diagrams.param_table(formula, numel, param_caption))


@dataclass
class QuickRun:
    """One short training run of a Config: what `quick_train` trained and measured."""
    label: str
    history: object
    steps_per_epoch: int
    batch_size: int
    num_steps: int
    train_chars: int
    baseline: float
    seconds: float

    def status(self, label=None):
        """One line for the widget: steps, data, time, held-out perplexity against letter frequencies."""
        h, epochs = self.history, len(self.history.train_ppl)
        plateau = ("; still near letter frequencies: deep stacks need more steps"
                   if h.final_valid_ppl > self.baseline - 1 else "")
        return (f"{label or self.label}: {epochs * self.steps_per_epoch} optimizer steps ({epochs} "
                f"epoch{'s' * (epochs > 1)} of {self.steps_per_epoch} minibatches of {self.batch_size} x "
                f"{self.num_steps} characters, from {self.train_chars:,} training characters) in "
                f"{self.seconds:.1f} s: held-out perplexity {h.final_valid_ppl:.2f} (letter frequencies: "
                f"{self.baseline:.2f}), train {h.final_train_ppl:.2f}{plateau}")


def run_label(config, max_hidden=MAX_TRAIN_HIDDEN):
    """'GRU L=2 h=16 T=8 (h capped from 300)': what quick_train trains for `config`."""
    hidden = min(config.hidden, max_hidden)
    label = f"{config.cell} L={config.layers} h={hidden} T={config.steps}"
    return f"{label} (h capped from {config.hidden})" if hidden < config.hidden else label


def quick_train(config, *, batch_size=BATCH_SIZE, updates=300, max_tokens=20000, lr=0.01,
                max_hidden=MAX_TRAIN_HIDDEN):
    """Train `config` for a few seconds; returns a `QuickRun`.

    The sequences are `config.steps` long, the hidden size is capped at `max_hidden`, and training
    runs whole epochs over the first `max_tokens` training characters until about `updates` optimizer steps
    are done (Adam, learning rate `lr`), which takes a few seconds: enough for one or two layers to
    leave the plateau on which deep LSTMs first learn only letter frequencies, not always for deeper
    stacks (notebook 05, section 4: how long a deep stack stays there differs from seed to seed;
    notebook 04, section 9, prints a 1- and a 4-layer run). `QuickRun` says when a run is still near
    letter frequencies. Held-out perplexity is the course's protocol (`helpers.protocol`).
    """
    tic = time.time()
    train_iter, valid_iter, vocab = load_splits(batch_size, config.steps, max_train_tokens=max_tokens)
    set_seed(0)
    device = try_gpu()
    net = stacked_rnn(config.cell, len(vocab), min(config.hidden, max_hidden), config.layers, device)
    history = train_ch8(net, train_iter, vocab, lr, max(1, round(updates / len(train_iter))), device,
                        valid_iter=valid_iter, optimizer="adam", verbose=False, plot=False)
    baseline = unigram_perplexity(train_iter.corpus, scored_targets(valid_iter.corpus), len(vocab))
    return QuickRun(run_label(config, max_hidden), history, len(train_iter), batch_size, config.steps,
                    len(train_iter.corpus), baseline, time.time() - tic)


def plot_runs(ax, runs):
    """Each run's held-out perplexity against optimizer steps (comparable across sequence lengths)."""
    ax.clear()
    for label, run in runs.items():
        steps = [run.steps_per_epoch * (e + 1) for e in range(len(run.history.valid_ppl))]
        ax.plot(steps, run.history.valid_ppl, marker=".", label=label)
    if runs:
        ax.set(xlabel="optimizer step", ylabel="held-out perplexity", title="held-out perplexity of the runs")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        ax.figure.tight_layout()


def make_controls():
    """The explorer's input widgets, one per Config field, at the Config defaults."""
    style = {"description_width": "48px"}
    sliders = {k: widgets.IntSlider(getattr(Config, k), min=low, max=high, description=k, style=style)
               for k, (low, high) in RANGES.items()}
    cells = widgets.ToggleButtons(options=list(CELLS), value=Config.cell, description="cell", style=style)
    return {k: cells if k == "cell" else sliders[k] for k in CONTROLS}


def unique_label(label, taken):
    """`label`, or '<label> #2', '#3', ... when a run of that name exists: the same configuration again."""
    numbered = (f"{label} #{n}" for n in itertools.count(2))
    return label if label not in taken else next(x for x in numbered if x not in taken)


def show_runs(output, ax, runs):
    """Draw the runs into `ax` (`plot_runs`) and show its figure in `output` as a PNG, which looks the
    same whatever the kernel's matplotlib backend; no runs: an empty output."""
    plot_runs(ax, runs)
    with output:
        clear_output(wait=True)
        if runs:
            png = io.BytesIO()
            ax.figure.savefig(png, format="png", dpi=100)
            display(Image(png.getvalue()))


def layout(ex):
    """The explorer's rows: controls, message, grid, the two tables, the training row, the plot."""
    c = ex.controls
    return [widgets.HBox([c["layers"], c["hidden"]]), widgets.HBox([c["cell"], c["steps"]]), ex.message, ex.grid,
            widgets.HBox([ex.shapes, ex.params], layout={"align_items": "flex-start"}),
            widgets.HBox([ex.train_button, ex.clear_button, ex.status]), ex.plot]


@dataclass
class ExplorerState:
    """What the explorer holds besides its widgets: the View shown, the runs (label -> QuickRun), the message."""
    shown: View = None
    runs: dict = field(default_factory=dict)
    message: str = ""


class DepthExplorer(widgets.VBox):
    """Sliders for depth, width, cell and steps; grid, shape and parameter tables; training runs.

    `controls` holds the input widgets; `set(layers=..., hidden=..., cell=..., steps=...)` changes
    them with validation; `summary()` returns the numbers shown; `train_current()` trains.

    The DOM contract. The browser test (tests/browser/explorer.py) reads only the page, and
    relies on this; keep it when changing the explorer:

    1. The explorer is one displayed widget (one cell output) that holds all of the below.
    2. An `IntSlider` with description "layers": its value is L (step 1, max > min).
    3. A `ToggleButtons` with description "cell" offering "RNN", "GRU", "LSTM".
    4. Shape table: an `HTML` widget whose value holds `<table class="shape-table">` with a row
       whose first cell is exactly `h_n` and whose next cell holds its shape, e.g. `(2, 32, 256)`,
       first integer L. A `c_n` row (LSTM) starts with L too. Other rows are ignored.
    5. Parameter table: `<table class="param-table">` with one row per layer whose first cell is
       `layer 1`, `layer 2`, ... and whose last cell is that layer's count as an integer,
       `params_per_layer(cell, ...)[l - 1]`; other rows (header, `total`) are ignored. The counts
       scale with the gate count (RNN 1, GRU 3, LSTM 4): switching the cell multiplies every
       layer's count by g_new / g_old.
    6. Grid: a non-empty element of class `depth-grid` (`grid_svg`'s `<svg class="depth-grid">`)
       whose markup changes when L or the cell changes.
    7. Everything updates from `observe` callbacks (no button press), within 90 s.
    """

    def __init__(self, layers=Config.layers, hidden=Config.hidden, cell=Config.cell, steps=Config.steps,
                 batch_size=BATCH_SIZE, num_inputs=NUM_INPUTS):
        self.batch_size, self.num_inputs, self.state, self._uid = batch_size, num_inputs, ExplorerState(), next(_ids)
        self.controls, self._quiet = make_controls(), False
        self.message, self.grid, self.shapes, self.params, self.status = (widgets.HTML() for _ in range(5))
        self.train_button = widgets.Button(description="train", icon="play", button_style="primary",
                                           tooltip=f"train for a few seconds (h capped at {MAX_TRAIN_HIDDEN})")
        self.clear_button = widgets.Button(description="clear", tooltip="remove every run from the plot")
        self.plot, self.figure = widgets.Output(), Figure(figsize=(6.5, 3.5))
        self.ax = self.figure.subplots()
        super().__init__(layout(self))
        for w in self.controls.values():
            w.observe(lambda _: self._quiet or self.redraw(), names="value")
        self.train_button.on_click(lambda _: self.train_current())
        self.clear_button.on_click(lambda _: self.clear())
        if self.set(layers=layers, hidden=hidden, cell=cell, steps=steps):
            raise ValueError(self.state.message)

    def config(self):
        return {k: w.value for k, w in self.controls.items()}

    def _report(self, message):
        self.state.message, text = message, f"⚠ {html.escape(message)}" if message else ""
        self.message.value = f'<div class="explorer-message" style="color:{PALETTE["warn"]}">{text}</div>'
        return message

    def set(self, **values):
        """Change several controls at once and redraw once; returns the message ("" if all applied).
        Invalid or out-of-range values change nothing (no silent clamping) and show a message."""
        problems = [p for p in (problem(k, v) for k, v in values.items()) if p]
        if problems:
            return self._report("; ".join(problems))
        old, self._quiet = self.config(), True
        try:
            for k, v in values.items():
                self.controls[k].value = int(v) if k != "cell" else v
        except TraitError as e:  # should not happen after problem(); never let a traceback out
            for k, v in old.items():
                self.controls[k].value = v
            return self._report(f"invalid value: {e}")
        finally:
            self._quiet = False
        return self.redraw()

    def redraw(self):
        """Rebuild grid and tables from the controls; on failure keep the last valid view."""
        c = Config(**self.config())
        try:
            shown = view(c, self.batch_size, self.num_inputs, self._uid)
        except Exception as e:  # a learner should see a sentence, not a traceback
            return self._report(f"cannot build {c.cell}(layers={c.layers}, hidden={c.hidden}): {e}")
        self.state.shown = shown
        self.grid.value, self.shapes.value, self.params.value = shown.grid, shown.shape_html, shown.param_html
        return self._report("")

    def summary(self):
        """The numbers of the configuration shown (the last valid one) and the runs so far."""
        return {**self.state.shown.numbers(), "batch_size": self.batch_size, "num_inputs": self.num_inputs,
                "runs": list(self.state.runs), "message": self.state.message}

    def train_current(self, **options):
        """Train the configuration shown (`quick_train`, with its options) and add its held-out curve
        to the plot. Returns the `History`, or None (with a message in the widget) if training failed."""
        config, runs = self.state.shown.config, self.state.runs
        label = unique_label(run_label(config, options.get("max_hidden", MAX_TRAIN_HIDDEN)), runs)
        self.train_button.disabled, self.status.value = True, f"training {html.escape(label)} …"
        try:
            runs[label] = run = quick_train(config, batch_size=self.batch_size, **options)
        except Exception as e:  # shown in the widget; the button must come back
            self.status.value = ""
            self._report(f"training {label} failed: {type(e).__name__}: {e}")
            return None
        finally:
            self.train_button.disabled = False
        self.status.value = html.escape(run.status(label))
        self._report("")
        show_runs(self.plot, self.ax, runs)
        return run.history

    def clear(self):
        """Forget every training run and empty the plot."""
        self.state.runs.clear()
        self.status.value = ""
        show_runs(self.plot, self.ax, self.state.runs)


def depth_explorer(layers=Config.layers, hidden=Config.hidden, cell=Config.cell, steps=Config.steps,
                   batch_size=BATCH_SIZE):
    """The interactive depth explorer (a `DepthExplorer`, an ipywidgets VBox): display it in a cell."""
    return DepthExplorer(layers=layers, hidden=hidden, cell=cell, steps=steps, batch_size=batch_size)
