"""Diagrams: the depth explorer's pictures as strings, and the grid layout tools/figures.py shares.

`grid_centres` lays out the unrolled grid (time across, layers up); `grid_svg` draws it as SVG;
`shape_table` and `param_table` render the explorer's two HTML tables. Pure functions of their
arguments: no widgets, no training, no module state, so the static figures and the tests can use
them without ipywidgets.
"""
import html

from .plots import PALETTE

__all__ = ["grid_centres", "grid_svg", "shape_table", "param_table", "CSS"]

TIME, DEPTH, OUT, INK, FILL = (PALETTE[k] for k in ("time", "depth", "output", "ink", "hidden_fill"))
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

# grid_svg's geometry, in pixels
COLUMN_MIN, COLUMN_MAX, GRID_WIDTH = 56, 96, 760  # a time step's column shrinks for long sequences
WIDE_COLUMN = 80           # from this width on: wider margins, and the carried state named on its arrow
MARGIN_WIDE, MARGIN_NARROW = 34, 18  # column width minus cell width, in wide and in narrow columns
NODE_HEIGHT = {"LSTM": 38, "other": 28}  # the LSTM cell holds two names, H and C
ROW = 64                   # height of one layer's row
LEFT, TOP, TITLE = 128, 30, 34  # the label column, the margin above the title, the title's height
BOTTOM = 76                # below the layers: the input row, the time labels and the legend
MIN_WIDTH, RIGHT = 680, 110
STUB = 30                  # the arrows in from h0 and out to h_n
CSS = ("<style>.shape-table,.param-table{border-collapse:collapse;font:12px monospace;margin:4px 12px}"
       ".shape-table td,.param-table td,.param-table th{border-bottom:1px solid #ddd;padding:2px 8px}"
       ".param-table td{text-align:right}.param-table tfoot td{font-weight:bold}"
       ".shape-table caption,.param-table caption{font:12px sans-serif;color:#555;text-align:left}</style>")


def grid_centres(layers, steps, x0, dx, y0, dy):
    """The layout of the unrolled grid, shared by `grid_svg` and tools/figures.py's diagram.

    Time runs along x, depth along y: xs[t] is the centre of time step t (0: the initial
    state h0), ys[l] that of row l (0: the input x_t, 1..layers: the layers, layers + 1: the output).
    """
    return [x0 + dx * t for t in range(steps + 1)], [y0 + dy * l for l in range(layers + 2)]


def _state(cell, l, t):
    """'H⁽ˡ⁾ₜ' (and 'C⁽ˡ⁾ₜ' for LSTM) with real digits, the notation of the notebooks."""
    names = "HC" if cell == "LSTM" else "H"
    return [f"{n}⁽{str(l).translate(_SUP)}⁾{str(t).translate(_SUB)}" for n in names]


def _arrow(uid, x1, y1, x2, y2, colour, marker):
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.6" '
            f'marker-end="url(#{marker}{uid})"/>')


def _text(x, y, s, size=11, fill=INK, anchor="middle"):
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{fill}" text-anchor="{anchor}">{s}</text>'


def _head(cell, layers, steps, uid, width, height, carried):
    markers = "".join(
        f'<marker id="{m}{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
        for m, c in (("t", TIME), ("d", DEPTH), ("o", OUT)))
    return [f'<svg class="depth-grid" data-layers="{layers}" data-steps="{steps}" data-cell="{cell}" '
            f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto;font-family:sans-serif">',
            f"<defs>{markers}</defs>",
            _text(12, 20, f"{cell}, {layers} layer{'s' * (layers > 1)} × {steps} time step{'s' * (steps > 1)}: "
                          f"every layer carries its own {carried} across time", 14, "#000", "start")]


def _layer_row(cell, l, steps, xs, ys, cw, uid):
    """Row l: its label, h0 in and h_n out, one cell per time step, time and depth arrows."""
    nw = cw - (MARGIN_WIDE if cw >= WIDE_COLUMN else MARGIN_NARROW)
    nh = NODE_HEIGHT["LSTM" if cell == "LSTM" else "other"]
    carried, first, last = ("(h, c)", "(h0, c0)", "(h_n, c_n)") if cell == "LSTM" else ("h", "h0", "h_n")
    yl, right = ys[l], xs[steps] + nw // 2
    out = [_text(12, yl + 4, f"layer {l}", 12, DEPTH, "start"),
           _arrow(uid, LEFT - STUB, yl, xs[1] - nw // 2, yl, TIME, "t"),
           _text(LEFT - STUB - 2, yl - 8, f"{first}[{l - 1}]", 10, TIME, "end"),
           _arrow(uid, right, yl, right + STUB, yl, TIME, "t"),
           _text(right + STUB + 4, yl - 8, f"{last}[{l - 1}]", 10, TIME, "start")]
    for t in range(1, steps + 1):
        out.append(f'<rect class="cell-node" data-layer="{l}" data-step="{t}" x="{xs[t] - nw // 2}" '
                   f'y="{yl - nh // 2}" width="{nw}" height="{nh}" rx="5" fill="{FILL}" stroke="{DEPTH}"/>')
        names = _state(cell, l, t)
        out += [_text(xs[t], yl + 4 - 7 * (len(names) - 1) + 14 * i, s, 11 if cw > 60 else 9)
                for i, s in enumerate(names)]
        if t < steps:  # time flow: the same layer's state goes to the next step
            out.append(_arrow(uid, xs[t] + nw // 2, yl, xs[t + 1] - nw // 2, yl, TIME, "t"))
            if cw >= WIDE_COLUMN:
                out.append(_text((xs[t] + xs[t + 1]) // 2, yl - 5, carried, 9, TIME))
        below = ys[l - 1] - nh // 2 if l > 1 else ys[1] + ROW // 2 + 8
        out.append(_arrow(uid, xs[t], below, xs[t], yl + nh // 2, DEPTH, "d"))  # depth flow: input from below
    return out


def _edges(cell, layers, steps, xs, ys, height, uid):
    """The output arrows above the top layer, the inputs below layer 1, and the legend."""
    nh = NODE_HEIGHT["LSTM" if cell == "LSTM" else "other"]
    yo, yi, ly = ys[layers] - ROW // 2 - 6, ys[1] + ROW // 2 + 22, height - 12
    out = []
    for t in range(1, steps + 1):
        out += [_arrow(uid, xs[t], ys[layers] - nh // 2, xs[t], yo + 4, OUT, "o"),
                _text(xs[t], yo, f"out[{t - 1}]", 10, OUT),
                _text(xs[t], yi, f"x{str(t).translate(_SUB)}", 12, "#000"),
                _text(xs[t], yi + 16, f"t={t}", 10, "#777")]
    return out + [_text(12, yo, "out (top layer)", 11, OUT, "start"), _text(12, yi, "input", 11, "#000", "start"),
                  _arrow(uid, 12, ly - 4, 42, ly - 4, TIME, "t"),
                  _text(48, ly, "time: a layer's state goes to its next step", 11, TIME, "start"),
                  _arrow(uid, 330, ly - 4, 360, ly - 4, DEPTH, "d"),
                  _text(366, ly, "depth: a layer's output is the next layer's input", 11, DEPTH, "start")]


def grid_svg(cell, layers, steps, uid=0):
    """The unrolled network as an SVG string: one `rect.cell-node` per (layer, time step).

    `uid` makes the arrow markers' ids unique when several grids share a page.
    """
    cw = max(COLUMN_MIN, min(COLUMN_MAX, GRID_WIDTH // steps))
    width, height = max(MIN_WIDTH, LEFT + steps * cw + RIGHT), TOP + TITLE + layers * ROW + BOTTOM
    xs, ys = grid_centres(layers, steps, x0=LEFT + cw // 2 - cw, dx=cw,
                          y0=TOP + TITLE + layers * ROW + ROW // 2, dy=-ROW)
    out = _head(cell, layers, steps, uid, width, height, "(h, c)" if cell == "LSTM" else "h")
    for l in range(1, layers + 1):
        out += _layer_row(cell, l, steps, xs, ys, cw, uid)
    return "".join(out + _edges(cell, layers, steps, xs, ys, height, uid) + ["</svg>"])


def shape_table(shapes, caption):
    """`<table class="shape-table">`: one row per tensor, its name then its shape (None: left out)."""
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in shapes.items() if v is not None)
    return (f'{CSS}<table class="shape-table"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr><th>tensor</th><th>shape</th></tr></thead><tbody>{rows}</tbody></table>")


def _mark(formula, numel):
    return "✓" if formula == numel else "✗"


def param_table(formula, numel, caption):
    """`<table class="param-table">`: per layer the formula's count, ✓ or ✗, and numel(); a total row."""
    rows = "".join(f"<tr><td>layer {i + 1}</td><td>{f}</td><td>{_mark(f, n)}</td><td>{n}</td></tr>"
                   for i, (f, n) in enumerate(zip(formula, numel)))
    return (f'{CSS}<table class="param-table"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr><th>layer</th><th>formula</th><th></th><th>numel()</th></tr></thead><tbody>{rows}</tbody>"
            f"<tfoot><tr><td>total</td><td>{sum(formula)}</td><td>{_mark(formula, numel)}</td>"
            f"<td>{sum(numel)}</td></tr></tfoot></table>")
