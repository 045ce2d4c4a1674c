"""Draw the course's static diagrams into figures/*.png.

Run ``python3 course.py figures [OUT_DIR]`` (or ``python -m tools.figures [OUT_DIR]`` from the
repository root; default: the repository's ``figures/`` folder) to (re)write every image. The
output is deterministic, so the committed PNGs can be regenerated at will. Colours and the
grid's layout are the depth explorer's (``helpers.plots.PALETTE``, ``helpers.diagrams.grid_centres``).

* ``deep_rnn_grid.png``   the unrolled deep RNN: time flows across, depth flows up.
* ``rnn_2_dataflow.png``  one time step of the hand-written two-layer ``rnn_2``.
* ``lstm_shapes.png``     the tensor shapes of ``nn.LSTM(d, h, num_layers=L)``.
"""
import sys
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.diagrams import grid_centres
from helpers.plots import PALETTE

from . import ROOT, repo_root

DEFAULT_OUT = ROOT / "figures"
TIME, DEPTH, OUT, BOTH, WARN, INK = (PALETTE[k] for k in ("time", "depth", "output", "both", "warn", "ink"))
HIDDEN_FC, INPUT_FC, OUTPUT_FC = PALETTE["hidden_fill"], PALETTE["input_fill"], PALETTE["output_fill"]
STYLE = {"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans"}


def _canvas(width, height, title):
    """A figure whose data units are inches, with the axes hidden."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.text(width / 2, height - 0.45, title, ha="center", va="center", fontsize=17,
            fontweight="bold", color=INK)
    return fig, ax


def _box(ax, x, y, text, w=1.3, h=0.7, fc=HIDDEN_FC, ec=DEPTH, ls="-", fs=13, lw=1.6, **kw):
    """A rounded box centred on (x, y) with centred text."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, linewidth=lw, linestyle=ls,
                                boxstyle="round,pad=0,rounding_size=0.12", fc=fc, ec=ec, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fs, color=INK, zorder=3, **kw)


def _arrow(ax, start, end, color, lw=2.2, ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=17, color=color,
                                 linewidth=lw, linestyle=ls, shrinkA=0, shrinkB=0, zorder=1))


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, facecolor="white", metadata={"Software": None})
    return path


def deep_rnn_grid(path, T=4, L=3):
    """Unrolled L-layer RNN over T steps: H^{(l)}_t gets H^{(l)}_{t-1} (time) and H^{(l-1)}_t (depth)."""
    dx, dy, w, h = 2.3, 1.45, 1.35, 0.72
    x0, y0 = 2.2, 1.3                            # centre of the H_0 column / the X_t row
    xs, ys = grid_centres(L, T, x0, dx, y0, dy)   # xs[0]: initial states; ys[0]: inputs, ys[L+1]: outputs
    fig, ax = _canvas(xs[-1] + 1.5, ys[-1] + 2.5,
                      f"Unrolled deep RNN: L = {L} layers, T = {T} time steps")
    for l in range(1, L + 1):
        ax.text(0.45, ys[l], f"layer {l}", ha="left", va="center", fontsize=12, color=INK)
        _box(ax, xs[0], ys[l], rf"$H^{{({l})}}_0$", ec="#888888", fc="white", ls="--")
        for t in range(1, T + 1):
            _box(ax, xs[t], ys[l], rf"$H^{{({l})}}_{{{t}}}$")
            _arrow(ax, (xs[t - 1] + w / 2, ys[l]), (xs[t] - w / 2, ys[l]), TIME)
            _arrow(ax, (xs[t], ys[l - 1] + h / 2), (xs[t], ys[l] - h / 2), DEPTH)
        ax.text((xs[0] + xs[1]) / 2, ys[l] + 0.1, rf"$W_{{hh}}^{{({l})}}$", ha="center",
                va="bottom", fontsize=11, color=TIME)
        ax.text(xs[1] + 0.1, (ys[l - 1] + ys[l]) / 2, rf"$W_{{xh}}^{{({l})}}$", ha="left",
                va="center", fontsize=11, color=DEPTH)
    for t in range(1, T + 1):
        _box(ax, xs[t], ys[0], rf"$X_{{{t}}}$", fc=INPUT_FC, ec="#777777")
        _box(ax, xs[t], ys[-1], rf"$O_{{{t}}}$", fc=OUTPUT_FC, ec=OUT)
        _arrow(ax, (xs[t], ys[L] + h / 2), (xs[t], ys[-1] - h / 2), OUT)
        ax.text(xs[t], ys[0] - 0.65, f"t = {t}", ha="center", va="center", fontsize=12, color=INK)
    ax.text(xs[1] + 0.1, (ys[L] + ys[-1]) / 2, r"$W_{hq}$", ha="left", va="center",
            fontsize=11, color=OUT)
    ax.text(0.45, ys[0], "input", ha="left", va="center", fontsize=12, color=INK)
    ax.text(0.45, ys[0] - 0.65, "time step", ha="left", va="center", fontsize=12, color=INK)
    ax.text(0.45, ys[-1], "output", ha="left", va="center", fontsize=12, color=INK)
    handles = [Line2D([], [], color=c, lw=2.5, marker=">", markersize=8) for c in (TIME, DEPTH, OUT)]
    labels = [r"time $(W_{hh}^{(l)})$: $H^{(l)}_{t-1} \to H^{(l)}_t$, same weights at every step",
              r"depth $(W_{xh}^{(l)})$: $H^{(l-1)}_t \to H^{(l)}_t$, with $H^{(0)}_t = X_t$",
              r"output $(W_{hq})$: $O_t$ reads the top layer $H^{(L)}_t$ only"]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.905), ncol=1,
              fontsize=11, frameon=False, bbox_transform=fig.transFigure)
    return _save(fig, path)


def rnn_2_dataflow(path):
    """One time step of rnn_2, with every parameter's name and shape."""
    fig, ax = _canvas(16.4, 8.4, "rnn_2: one time step of a hand-written two-layer RNN")
    xl, xc, xr, y = 1.5, 5.6, 9.6, [1.1, 3.05, 5.1, 7.0]   # columns; rows X, H1, H2, O
    mid = [(y[i] + y[i + 1]) / 2 for i in range(3)]
    _box(ax, xc, y[0], r"$X_t$   (B × V), one-hot", w=2.6, fc=INPUT_FC, ec="#777777")
    _box(ax, xc, y[3], r"$O_t$   (B × V), logits", w=2.6, fc=OUTPUT_FC, ec=OUT)
    for i, name in ((1, "H1"), (2, "H2")):
        _box(ax, xl, y[i], rf"$\mathrm{{{name}}}_{{t-1}}$  (B × h)", w=2.0, fc="white",
             ec="#888888", ls="--", fs=12)
        _box(ax, xc, y[i], rf"$\mathrm{{{name}}}_t$   (B × h)", w=2.6)
        _box(ax, xr, y[i], rf"$\mathrm{{{name}}}_t$  → step t+1", w=2.0, fc="white",
             ec="#888888", ls="--", fs=12)
        _arrow(ax, (xl + 1.0, y[i]), (xc - 1.3, y[i]), TIME)
        _arrow(ax, (xc + 1.3, y[i]), (xr - 1.0, y[i]), "#888888", ls="--")
        ax.text((xl + 1.0 + xc - 1.3) / 2, y[i] + 0.12, rf"$W_{{hh{i}}}$  (h × h)", ha="center",
                va="bottom", fontsize=12, color=TIME)
    for x, label in ((xl, "state in: (H1, H2)"), (xr, "state out: (H1, H2)")):
        ax.add_patch(FancyBboxPatch((x - 1.2, y[1] - 0.6), 2.4, y[2] - y[1] + 1.2, fc="none",
                                    ec="#AAAAAA", ls=":", lw=1.4,
                                    boxstyle="round,pad=0,rounding_size=0.2"))
        ax.text(x, y[2] + 0.8, label, ha="center", va="bottom", fontsize=12, color=INK)
    for i in range(3):
        _arrow(ax, (xc, y[i] + 0.35), (xc, y[i + 1] - 0.35), OUT if i == 2 else DEPTH)
    notes = [(r"$W_{xh1}$ (V × h),  $b_{h1}$ (h)", DEPTH, "normal"),
             (r"$W_{xh2}$ (h × h, not V × h),  $b_{h2}$ (h)", WARN, "bold"),
             (r"$W_{hq}$ (h × V),  $b_q$ (V)", OUT, "normal")]
    for m, (text, color, weight) in zip(mid, notes):
        ax.text(xc + 0.15, m, text, ha="left", va="center", fontsize=12, color=color,
                fontweight=weight)
    ax.text(xr / 2 + 0.2, 0.3, "B = batch size;  dashed = the state (H1, H2) carried from step to step",
            ha="center", fontsize=11, color="#555555")
    # right-hand panel: the equations and the parameter table
    px = 11.4
    rows = [(r"$W_{xh1}$", "V × h", r"layer 1 reads $X_t$"),
            (r"$W_{hh1}$", "h × h", r"$\mathrm{H1}_{t-1} \to \mathrm{H1}_t$"),
            (r"$b_{h1}$", "h", ""), (r"$W_{xh2}$", "h × h", r"layer 2 reads $\mathrm{H1}_t$"),
            (r"$W_{hh2}$", "h × h", r"$\mathrm{H2}_{t-1} \to \mathrm{H2}_t$"), (r"$b_{h2}$", "h", ""),
            (r"$W_{hq}$", "h × V", r"output reads $\mathrm{H2}_t$"), (r"$b_q$", "V", "")]
    ax.text(px, 7.35, "Parameters (V = vocab size, h = hidden size)", fontsize=12.5,
            fontweight="bold", color=INK, va="center")
    for k, (name, shape, role) in enumerate(rows):
        yy = 6.85 - 0.42 * k
        if k == 3:
            ax.add_patch(FancyBboxPatch((px - 0.1, yy - 0.19), 4.45, 0.38, fc="#FBE3E0", ec=WARN,
                                        boxstyle="round,pad=0,rounding_size=0.08", lw=1.2))
        ax.text(px, yy, name, fontsize=12, va="center", color=INK)
        ax.text(px + 0.85, yy, shape, fontsize=12, va="center", color=INK)
        ax.text(px + 1.95, yy, role, fontsize=11, va="center", color="#555555")
    eqs = [r"$\mathrm{H1}_t = \tanh(X_t W_{xh1} + \mathrm{H1}_{t-1} W_{hh1} + b_{h1})$",
           r"$\mathrm{H2}_t = \tanh(\mathrm{H1}_t W_{xh2} + \mathrm{H2}_{t-1} W_{hh2} + b_{h2})$",
           r"$O_t = \mathrm{H2}_t W_{hq} + b_q$"]
    for k, eq in enumerate(eqs):
        ax.text(px, 3.2 - 0.5 * k, eq, fontsize=11.5, va="center", color=INK)
    ax.text(px, 1.25, "Only layer 1 sees the V-dim one-hot input.\n"
            r"Layer 2 reads $\mathrm{H1}_t$ (B × h), so $W_{xh2}$ is h × h," "\nnot V × h.", fontsize=11.5,
            va="center", color=WARN, linespacing=1.5)
    return _save(fig, path)


def _lstm_panel(ax, x0, batch_first, T=4, L=3):
    """One panel of lstm_shapes.png: a layer × time grid plus the shapes as text."""
    s, g = 0.78, 0.22                                   # cell size, gap
    cx = [x0 + 1.6 + (s + g) * t for t in range(T + 1)]  # cx[0]: h0/c0 column
    cy = [3.4 + (s + g) * l for l in range(L + 1)]       # cy[0]: input row
    bf = batch_first
    ax.text(x0 + 3.3, 7.75, "nn.LSTM(d, h, num_layers=L" + (", batch_first=True)" if bf else ")"),
            ha="center", fontsize=13, family="DejaVu Sans Mono", color=INK, fontweight="bold")
    for l in range(1, L + 1):
        ax.text(x0 + 0.45, cy[l], f"l = {l}", va="center", fontsize=11, color=INK)
        _box(ax, cx[0], cy[l], "", w=s, h=s, fc="white", ec="#888888", ls="--", lw=1.3)
        for t in range(1, T + 1):
            top, last = l == L, t == T
            fc = BOTH if top and last else DEPTH if top else TIME if last else HIDDEN_FC
            _box(ax, cx[t], cy[l], "", w=s, h=s, fc=fc, ec="#5577AA" if fc == HIDDEN_FC else fc, lw=1.3)
    for t in range(1, T + 1):
        _box(ax, cx[t], cy[0], rf"$x_{{{t}}}$", w=s, h=s, fc=INPUT_FC, ec="#777777", fs=11)
    ax.text(cx[0], cy[0], "h0, c0", ha="center", va="center", fontsize=10, color="#666666")
    ax.text(x0 + 0.45, cy[0], "input", va="center", fontsize=11, color=INK)
    ax.text((cx[1] + cx[T]) / 2, cy[0] - 0.75, "time step t →", ha="center", fontsize=11, color=INK)
    ax.text((cx[1] + cx[T - 1]) / 2, cy[L] + 0.55, "out", ha="center", fontsize=13,
            color=DEPTH, fontweight="bold", family="DejaVu Sans Mono")
    ax.text(cx[T] + 0.55, (cy[1] + cy[L - 1]) / 2, "h_n\nc_n", va="center", fontsize=13,
            color=TIME, fontweight="bold", family="DejaVu Sans Mono")
    ax.annotate("out[:, -1]" if bf else "out[-1]", xy=(cx[T] + s / 2, cy[L] + s / 2),
                xytext=(cx[T] + 0.3, cy[L] + 0.95), ha="center", fontsize=12, color=BOTH, fontweight="bold",
                family="DejaVu Sans Mono", arrowprops=dict(arrowstyle="-|>", color=BOTH, lw=1.5))
    rows = [("input", "(B, T, d)" if bf else "(T, B, d)", bf),
            ("h0, c0", "(L, B, h)   always", False),
            ("out", "(B, T, h)" if bf else "(T, B, h)", bf),
            ("h_n, c_n", "(L, B, h)   always", False),
            ("out[:, -1] == h_n[-1]" if bf else "out[-1] == h_n[-1]", "", bf)]
    for k, (name, shape, changed) in enumerate(rows):
        yy = 2.2 - 0.36 * k
        color = WARN if changed else INK
        ax.text(x0 + 0.45, yy, name, fontsize=11.5, family="DejaVu Sans Mono", va="center",
                color=BOTH if k == 4 else INK, fontweight="bold" if k == 4 else "normal")
        ax.text(x0 + 2.3, yy, shape, fontsize=11.5, family="DejaVu Sans Mono", va="center",
                color=color, fontweight="bold" if changed else "normal")


def lstm_shapes(path):
    """nn.LSTM shapes with batch_first=False and True, side by side."""
    fig, ax = _canvas(14, 9.5, "nn.LSTM shapes: out = top layer at every step, h_n = every layer at the last step")
    _lstm_panel(ax, 0.4, batch_first=False)
    _lstm_panel(ax, 7.3, batch_first=True)
    ax.plot([7.0, 7.0], [0.6, 8.0], color="#DDDDDD", lw=1.2)
    handles = [FancyBboxPatch((0, 0), 1, 1, fc=c, ec=c) for c in (DEPTH, TIME, BOTH, "white")]
    labels = ["out: top layer, every time step", "h_n / c_n: every layer, last time step",
              "in both: out[-1] == h_n[-1]", "h0 / c0: initial state of every layer"]
    handles[-1].set_edgecolor("#888888")
    handles[-1].set_linestyle("--")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(7.0, 8.75), ncol=2,
              fontsize=11, frameon=False, bbox_transform=ax.transData)
    ax.text(7.0, 0.15, "T = time steps, B = batch size, d = num_inputs, h = num_hiddens, "
            "L = num_layers;  red = what batch_first changes", ha="center", fontsize=10.5, color="#555555")
    return _save(fig, path)


FIGURES = {"deep_rnn_grid.png": deep_rnn_grid, "rnn_2_dataflow.png": rnn_2_dataflow,
           "lstm_shapes.png": lstm_shapes}


def main(out_dir=DEFAULT_OUT):
    """Write every figure into out_dir and return the list of paths."""
    out_dir = Path(out_dir)
    with matplotlib.rc_context(STYLE):
        return [draw(out_dir / name) for name, draw in FIGURES.items()]


if __name__ == "__main__":
    for p in main(sys.argv[1] if len(sys.argv) > 1 else repo_root() / "figures"):
        print(p)
