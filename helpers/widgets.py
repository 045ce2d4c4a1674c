"""Widgets: `depth_explorer()`, an interactive view of a stacked (deep) RNN for JupyterLab.

The learner changes the number of layers, the hidden size, the cell type and the number of
time steps and sees, redrawn in place: the unrolled grid (time across, layers up), every
tensor shape read from a real `nn.RNN/GRU/LSTM`, the parameter count per layer (formula
against `numel()`) and, on request, a short training run added to a held-out perplexity plot.
"""
import html
import io
import itertools
import numbers
import time

import ipywidgets as widgets
import torch
from IPython.display import Image, clear_output, display
from matplotlib.figure import Figure
from traitlets import TraitError

from .data import load_corpus_splits
from .evaluation import unigram_perplexity
from .models import CELLS, GATES, numel_per_layer, params_per_layer, stacked_rnn
from .plots import PALETTE
from .training import train_ch8
from .utils import set_seed, try_gpu

__all__ = ["DepthExplorer", "depth_explorer", "grid_svg", "grid_centres"]

NUM_INPUTS = 28        # one-hot characters of The Time Machine: layer 1's input size d
MAX_TRAIN_HIDDEN = 128  # training runs cap the hidden size so a click takes seconds
TIME, DEPTH, OUT, INK, FILL, WARN = (PALETTE[k] for k in ("time", "depth", "output", "ink", "hidden_fill", "warn"))
_ids = itertools.count()
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
CSS = ("<style>.shape-table,.param-table{border-collapse:collapse;font:12px monospace;margin:4px 12px}"
       ".shape-table td,.param-table td,.param-table th{border-bottom:1px solid #ddd;padding:2px 8px}"
       ".param-table td{text-align:right}.param-table tfoot td{font-weight:bold}"
       ".shape-table caption,.param-table caption{font:12px sans-serif;color:#555;text-align:left}</style>")


def _state(cell, l, t):
    """'H⁽ˡ⁾ₜ' (and 'C⁽ˡ⁾ₜ' for LSTM) with real digits, the notation of the notebooks."""
    names = "HC" if cell == "LSTM" else "H"
    return [f"{n}⁽{str(l).translate(_SUP)}⁾{str(t).translate(_SUB)}" for n in names]


def grid_centres(layers, steps, x0, dx, y0, dy):
    """The layout of the unrolled grid, shared by `grid_svg` and tools/figures.py's diagram.

    Time runs along x, depth along y: xs[t] is the centre of time step t (0: the initial
    state h0), ys[l] that of row l (0: the input x_t, 1..layers: the layers, layers + 1: the output).
    """
    return [x0 + dx * t for t in range(steps + 1)], [y0 + dy * l for l in range(layers + 2)]


def grid_svg(cell, layers, steps, uid=0):
    """The unrolled network as an SVG string: one `rect.cell-node` per (layer, time step)."""
    cw = max(56, min(96, 760 // steps))        # column width shrinks for long sequences
    nw, nh, rh, left, top = cw - (34 if cw >= 80 else 18), 38 if cell == "LSTM" else 28, 64, 128, 30
    width, height = max(680, left + steps * cw + 110), top + 34 + layers * rh + 76
    carried, first, last = ("(h, c)", "(h0, c0)", "(h_n, c_n)") if cell == "LSTM" else ("h", "h0", "h_n")
    xs, ys = grid_centres(layers, steps, x0=left + cw // 2 - cw, dx=cw, y0=top + 34 + layers * rh + rh // 2, dy=-rh)
    arrow = lambda x1, y1, x2, y2, c, m: (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{c}" stroke-width="1.6" '
        f'marker-end="url(#{m}{uid})"/>')
    text = lambda x0, y0, s, size=11, fill=INK, anchor="middle": (
        f'<text x="{x0}" y="{y0}" font-size="{size}" fill="{fill}" text-anchor="{anchor}">{s}</text>')
    out = [f'<svg class="depth-grid" data-layers="{layers}" data-steps="{steps}" data-cell="{cell}" '
           f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto;font-family:sans-serif">',
           "<defs>" + "".join(
               f'<marker id="{m}{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
               f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
               for m, c in (("t", TIME), ("d", DEPTH), ("o", OUT))) + "</defs>",
           text(12, 20, f"{cell}, {layers} layer{'s' * (layers > 1)} × {steps} time step{'s' * (steps > 1)}: "
                        f"every layer carries its own {carried} across time", 14, "#000", "start")]
    for l in range(1, layers + 1):
        yl = ys[l]
        out.append(text(12, yl + 4, f"layer {l}", 12, DEPTH, "start"))
        out.append(arrow(left - 30, yl, xs[1] - nw // 2, yl, TIME, "t"))
        out.append(text(left - 32, yl - 8, f"{first}[{l - 1}]", 10, TIME, "end"))
        out.append(arrow(xs[steps] + nw // 2, yl, xs[steps] + nw // 2 + 30, yl, TIME, "t"))
        out.append(text(xs[steps] + nw // 2 + 34, yl - 8, f"{last}[{l - 1}]", 10, TIME, "start"))
        for t in range(1, steps + 1):
            out.append(f'<rect class="cell-node" data-layer="{l}" data-step="{t}" x="{xs[t] - nw // 2}" '
                       f'y="{yl - nh // 2}" width="{nw}" height="{nh}" rx="5" fill="{FILL}" stroke="{DEPTH}"/>')
            names = _state(cell, l, t)
            out += [text(xs[t], yl + 4 - 7 * (len(names) - 1) + 14 * i, s, 11 if cw > 60 else 9)
                    for i, s in enumerate(names)]
            if t < steps:  # time flow: the same layer's state goes to the next step
                out.append(arrow(xs[t] + nw // 2, yl, xs[t + 1] - nw // 2, yl, TIME, "t"))
                if cw >= 80:
                    out.append(text((xs[t] + xs[t + 1]) // 2, yl - 5, carried, 9, TIME))
            below = ys[l - 1] - nh // 2 if l > 1 else ys[1] + rh // 2 + 8
            out.append(arrow(xs[t], below, xs[t], yl + nh // 2, DEPTH, "d"))  # depth flow: input from below
    yo, yi = ys[layers] - rh // 2 - 6, ys[1] + rh // 2 + 22
    for t in range(1, steps + 1):
        out.append(arrow(xs[t], ys[layers] - nh // 2, xs[t], yo + 4, OUT, "o"))
        out.append(text(xs[t], yo, f"out[{t - 1}]", 10, OUT))
        out.append(text(xs[t], yi, f"x{str(t).translate(_SUB)}", 12, "#000"))
        out.append(text(xs[t], yi + 16, f"t={t}", 10, "#777"))
    out.append(text(12, yo, "out (top layer)", 11, OUT, "start"))
    out.append(text(12, yi, "input", 11, "#000", "start"))
    ly = height - 12
    out += [arrow(12, ly - 4, 42, ly - 4, TIME, "t"),
            text(48, ly, "time: a layer's state goes to its next step", 11, TIME, "start"),
            arrow(330, ly - 4, 360, ly - 4, DEPTH, "d"),
            text(366, ly, "depth: a layer's output is the next layer's input", 11, DEPTH, "start"), "</svg>"]
    return "".join(out)


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

    def __init__(self, layers=2, hidden=64, cell="LSTM", steps=5, batch_size=32, num_inputs=NUM_INPUTS):
        self.batch_size, self.num_inputs, self.histories = batch_size, num_inputs, {}
        self.steps_per_epoch = {}  # label -> optimizer steps per epoch of that run (the plot's x axis)
        self._uid, self._quiet, self._message, self._last = next(_ids), False, "", None
        style = {"description_width": "48px"}
        self.controls = {
            "layers": widgets.IntSlider(2, min=1, max=6, description="layers", style=style),
            "hidden": widgets.IntSlider(64, min=1, max=512, description="hidden", style=style),
            "cell": widgets.ToggleButtons(options=list(CELLS), value="LSTM", description="cell", style=style),
            "steps": widgets.IntSlider(5, min=1, max=12, description="steps", style=style)}
        self.message, self.grid, self.shapes, self.params, self.status = (widgets.HTML() for _ in range(5))
        self.train_button = widgets.Button(description="train", icon="play", button_style="primary",
                                           tooltip=f"train for a few seconds (h capped at {MAX_TRAIN_HIDDEN})")
        self.clear_button = widgets.Button(description="clear", tooltip="remove every run from the plot")
        self.plot = widgets.Output()
        self.figure = Figure(figsize=(6.5, 3.5))
        self.ax = self.figure.subplots()
        c = self.controls
        tables = widgets.HBox([self.shapes, self.params], layout={"align_items": "flex-start"})
        super().__init__([widgets.HBox([c["layers"], c["hidden"]]), widgets.HBox([c["cell"], c["steps"]]),
                          self.message, self.grid, tables,
                          widgets.HBox([self.train_button, self.clear_button, self.status]), self.plot])
        for w in c.values():
            w.observe(lambda _: self._quiet or self.redraw(), names="value")
        self.train_button.on_click(lambda _: self.train_current())
        self.clear_button.on_click(lambda _: self.clear())
        if self.set(layers=layers, hidden=hidden, cell=cell, steps=steps):
            raise ValueError(self._message)

    def config(self):
        return {k: w.value for k, w in self.controls.items()}

    def _report(self, message):
        self._message = message
        text = f"⚠ {html.escape(message)}" if message else ""
        self.message.value = f'<div class="explorer-message" style="color:{WARN}">{text}</div>'
        return message

    def _problem(self, key, value):
        w = self.controls.get(key)
        if w is None:
            return f"unknown control {key!r}: use {', '.join(self.controls)}"
        if key == "cell":
            return None if value in CELLS else f"cell={value!r} is not available: choose {', '.join(CELLS)}"
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not w.min <= value <= w.max:
            return f"{key}={value!r} is out of range: use a whole number from {w.min} to {w.max}"
        return None

    def set(self, **values):
        """Change several controls at once and redraw once; returns the message ("" if all applied).

        Invalid or out-of-range values change nothing (no silent clamping) and show a message.
        """
        problems = [p for p in (self._problem(k, v) for k, v in values.items()) if p]
        if problems:
            return self._report("; ".join(problems))
        old, self._quiet = self.config(), True
        try:
            for k, v in values.items():
                self.controls[k].value = int(v) if k != "cell" else v
        except TraitError as e:  # should not happen after _problem; never let a traceback out
            for k, v in old.items():
                self.controls[k].value = v
            return self._report(f"invalid value: {e}")
        finally:
            self._quiet = False
        return self.redraw()

    def _inspect(self, cell, layers, hidden, steps):
        """Shapes and per-layer numel read from a real module run on a zero input (T, B, d)."""
        rnn, B = CELLS[cell](self.num_inputs, hidden, num_layers=layers), self.batch_size
        X, h0 = torch.zeros(steps, B, self.num_inputs), torch.zeros(layers, B, hidden)
        c0 = torch.zeros_like(h0) if cell == "LSTM" else None
        with torch.no_grad():
            out, state = rnn(X, (h0, c0) if c0 is not None else h0)
        h_n, c_n = state if c0 is not None else (state, None)
        shapes = {"input": X, "h0": h0, "c0": c0, "out": out, "h_n": h_n, "c_n": c_n, **dict(rnn.named_parameters())}
        shapes = {k: None if v is None else tuple(v.shape) for k, v in shapes.items()}
        return shapes, numel_per_layer(rnn)

    def redraw(self):
        """Rebuild grid and tables from the controls; on failure keep the last valid view."""
        c = self.config()
        try:
            shapes, numel = self._inspect(**c)
            formula = params_per_layer(c["cell"], self.num_inputs, c["hidden"], c["layers"])
        except Exception as e:  # a learner should see a sentence, not a traceback
            return self._report(f"cannot build {c['cell']}(layers={c['layers']}, hidden={c['hidden']}): {e}")
        self._last = dict(c, shapes=shapes, formula=formula, numel=numel)
        self.grid.value = grid_svg(c["cell"], c["layers"], c["steps"], self._uid)
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in shapes.items() if v is not None)
        self.shapes.value = CSS + (
            f'<table class="shape-table"><caption>shapes: T={c["steps"]}, B={self.batch_size}, '
            f'd={self.num_inputs} (one-hot), L={c["layers"]}, h={c["hidden"]}</caption>'
            f"<thead><tr><th>tensor</th><th>shape</th></tr></thead><tbody>{rows}</tbody></table>")
        g, h, d = GATES[c["cell"]], c["hidden"], self.num_inputs
        mark = lambda a, b: "✓" if a == b else "✗"
        rows = "".join(f"<tr><td>layer {i + 1}</td><td>{f}</td><td>{mark(f, n)}</td><td>{n}</td></tr>"
                       for i, (f, n) in enumerate(zip(formula, numel)))
        self.params.value = CSS + (
            f'<table class="param-table"><caption>per layer: {g}·(h·d_in + h·h + 2h); d_in = {d} for layer 1, '
            f"h = {h} above</caption><thead><tr><th>layer</th><th>formula</th><th></th><th>numel()</th></tr>"
            f"</thead><tbody>{rows}</tbody><tfoot><tr><td>total</td><td>{sum(formula)}</td>"
            f"<td>{mark(formula, numel)}</td><td>{sum(numel)}</td></tr></tfoot></table>")
        return self._report("")

    def summary(self):
        """The numbers of the configuration shown (the last valid one) and the runs so far."""
        s = self._last
        return {"layers": s["layers"], "hidden": s["hidden"], "cell": s["cell"], "steps": s["steps"],
                "batch_size": self.batch_size, "num_inputs": self.num_inputs,
                **{k: s["shapes"][k] for k in ("input", "h0", "c0", "out", "h_n", "c_n")},
                "params_per_layer": list(s["formula"]), "numel_per_layer": list(s["numel"]),
                "total_params": sum(s["numel"]), "runs": list(self.histories), "message": self._message}

    def train_current(self, updates=300, max_tokens=20000, lr=0.01, max_hidden=MAX_TRAIN_HIDDEN,
                      valid_fraction=0.1):
        """Train the configuration shown and add its held-out curve (against optimizer steps) to the plot.

        The sequences are `steps` time steps long (the slider), the hidden size is capped at `max_hidden`,
        and training runs whole epochs over the first `max_tokens` characters until about `updates`
        optimizer steps are done (Adam, learning rate `lr`): past the plateau of the first ~100 steps on
        which deep LSTMs learn only letter frequencies (notebook 05, section 4), yet a few seconds.
        Returns the `History`, or None (with a message in the widget) if training failed.
        """
        s = self._last
        hidden, num_steps = min(s["hidden"], max_hidden), s["steps"]
        base = label = f"{s['cell']} L={s['layers']} h={hidden} T={num_steps}"
        if hidden < s["hidden"]:
            base = label = f"{label} (h capped from {s['hidden']})"
        n = 2
        while label in self.histories:  # the same configuration trained again: "... #2"
            label, n = f"{base} #{n}", n + 1
        self.train_button.disabled = True
        self.status.value = f"training {html.escape(label)} …"
        try:
            tic = time.time()
            train_iter, valid_iter, vocab = load_corpus_splits(
                self.batch_size, num_steps, valid_fraction, max_tokens=max_tokens)
            epochs = max(1, round(updates / len(train_iter)))
            set_seed(0)
            device = try_gpu()
            net = stacked_rnn(s["cell"], len(vocab), hidden, s["layers"], device)
            history = train_ch8(net, train_iter, vocab, lr, epochs, device, valid_iter=valid_iter,
                                optimizer="adam", verbose=False, plot=False)
            baseline = unigram_perplexity(train_iter.corpus, valid_iter.corpus, len(vocab))
        except Exception as e:  # shown in the widget; the button must come back
            self.status.value = ""
            self._report(f"training {label} failed: {type(e).__name__}: {e}")
            return None
        finally:
            self.train_button.disabled = False
        self.histories[label], self.steps_per_epoch[label] = history, len(train_iter)
        plateau = ("; still near letter frequencies: deep stacks need more steps"
                   if history.final_valid_ppl > baseline - 1 else "")
        self.status.value = html.escape(
            f"{label}: {epochs * len(train_iter)} optimizer steps ({epochs} epoch{'s' * (epochs > 1)} of "
            f"{len(train_iter)} minibatches of {self.batch_size} x {num_steps} characters, from "
            f"{len(train_iter.corpus):,} training characters) in {time.time() - tic:.1f} s: held-out "
            f"perplexity {history.final_valid_ppl:.2f} (letter frequencies: {baseline:.2f}), "
            f"train {history.final_train_ppl:.2f}{plateau}")
        self._report("")
        self._draw_plot()
        return history

    def clear(self):
        """Forget every training run and empty the plot."""
        self.histories.clear()
        self.steps_per_epoch.clear()
        self.status.value = ""
        self._draw_plot()

    def _draw_plot(self):
        self.ax.clear()
        for label, history in self.histories.items():  # x: optimizer steps, comparable across sequence lengths
            steps = [self.steps_per_epoch[label] * (e + 1) for e in range(len(history.valid_ppl))]
            self.ax.plot(steps, history.valid_ppl, marker=".", label=label)
        if self.histories:
            self.ax.set(xlabel="optimizer step", ylabel="held-out perplexity", title="held-out perplexity of the runs")
            self.ax.grid(alpha=0.3)
            self.ax.legend(fontsize="small")
            self.figure.tight_layout()
        with self.plot:
            clear_output(wait=True)
            if self.histories:  # a PNG: shows the same whatever matplotlib backend the kernel has
                png = io.BytesIO()
                self.figure.savefig(png, format="png", dpi=100)
                display(Image(png.getvalue()))


def depth_explorer(layers=2, hidden=64, cell="LSTM", steps=5, batch_size=32):
    """The interactive depth explorer (a `DepthExplorer`, an ipywidgets VBox): display it in a cell."""
    return DepthExplorer(layers=layers, hidden=hidden, cell=cell, steps=steps, batch_size=batch_size)
