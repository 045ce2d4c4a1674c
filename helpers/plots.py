"""Plots: what `train_ch8` shows while it trains, comparisons of finished runs, and d2l's plots.

`ProgressBar` and `LivePlot` are `train_ch8`'s progress bar and live perplexity plot
(Jupyter only); `plot_histories` compares finished runs; `plot`, `set_figsize`,
`use_svg_display`, `set_axes` and `Animator` are d2l's, for the book's code. Outside
Jupyter nothing here opens a window or waits: `Animator` then draws into a figure that is
never shown (`animator.fig.savefig("curve.png")` saves it).
"""
import time

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["in_jupyter", "LivePlot", "ProgressBar", "plot_histories", "plt", "use_svg_display",
           "set_figsize", "set_axes", "plot", "Animator"]

# One palette for the course's drawings (tools/figures.py and the depth explorer's grid):
# the same colour means the same thing in every picture.
PALETTE = {
    "time": "#D9822B",         # a layer's state going on to its next time step (W_hh)
    "depth": "#2F6DB5",        # a layer's output going up to the next layer (W_xh)
    "output": "#3E8E5E",       # the output layer reading the top layer (W_hq)
    "both": "#8E5BB5",         # out[-1] == h_n[-1]: the top layer at the last step
    "warn": "#C0392B",         # what to watch out for
    "ink": "#333333",          # text
    "hidden_fill": "#ECF2FB", "input_fill": "#F1F1F1", "output_fill": "#E6F3EA",  # boxes
}


def in_jupyter():
    """True inside a Jupyter kernel (JupyterLab, nbval, nbclient), False in scripts and tests."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LivePlot:
    """Perplexity per epoch, redrawn in place (one display handle, no flicker)."""

    def __init__(self, num_epochs, title="training"):
        from IPython.display import display
        self.fig, self.ax = plt.subplots(figsize=(5, 3))
        self.num_epochs, self.title, self.lines = num_epochs, title, {}
        self._draw()
        self.handle = display(self.fig, display_id=True)

    def _draw(self):
        ax = self.ax
        ax.clear()
        for name, ys in self.lines.items():
            ax.plot(range(1, len(ys) + 1), ys, marker="." if len(ys) < 30 else None, label=name)
        ax.set(xlabel="epoch", ylabel="perplexity", title=self.title, xlim=(1, max(2, self.num_epochs)))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if self.lines:
            ax.legend()
        self.fig.tight_layout()

    def add(self, **values):
        for name, y in values.items():
            self.lines.setdefault(name, []).append(y)
        self._draw()
        self.handle.update(self.fig)

    def close(self):
        plt.close(self.fig)  # what it drew stays in the output


class ProgressBar:
    """Tokens trained so far: `ProgressBar(total_tokens, in_nb, num_epochs=None)`, then
    `update(n)` after each step and `close(history)` at the end.

    In Jupyter (in_nb=True) a bar that becomes one line of text when it closes, so a saved
    notebook shows what was trained, not the bar's first frame ("0%| 0.00/612k");
    elsewhere a text bar on stderr that is erased when it closes.
    """

    def __init__(self, total, in_nb, num_epochs=None):
        self.tic, self.handle, self.num_epochs = time.time(), None, num_epochs
        options = dict(total=total or None, unit="tok", unit_scale=True, desc="training")
        if in_nb:
            from IPython.display import display
            from tqdm.notebook import tqdm
            self.bar = tqdm(**options, display=False)
            self.handle = display(self.bar.container, display_id=True)
        else:
            from tqdm import tqdm
            self.bar = tqdm(**options, leave=False)

    def update(self, n):
        self.bar.update(n)

    def set_postfix(self, **values):
        self.bar.set_postfix(**values)

    def close(self, history):
        tokens, seconds = self.bar.format_sizeof(self.bar.n), time.time() - self.tic
        self.bar.close()
        if self.handle is not None:
            from IPython.display import Pretty
            ppl = f", perplexity {history.final_train_ppl:.2f}" if history.train_ppl else ""
            planned = f" of {self.num_epochs}" if self.num_epochs else ""
            self.handle.update(Pretty(f"training: {len(history.train_ppl)}{planned} epochs, "
                                      f"{tokens} tokens in {seconds:.1f} s{ppl}"))


def plot_histories(histories, title="held-out perplexity", train=True, ax=None):
    """One curve per run: held-out perplexity solid, training perplexity dashed."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        epochs = range(1, len(h.train_ppl) + 1)
        if h.valid_ppl:
            ax.plot(epochs, h.valid_ppl, color=color, label=f"{name} (held-out)")
        if train or not h.valid_ppl:
            ax.plot(epochs, h.train_ppl, color=color, ls="--", label=f"{name} (train)")
    ax.set(xlabel="epoch", ylabel="perplexity", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.figure.tight_layout()
    return ax.figure


# ---------------------------------------------------------------- d2l's plotting functions

def use_svg_display():
    """Use the svg format to display a plot in Jupyter (d2l); does nothing elsewhere."""
    if in_jupyter():
        from matplotlib_inline import backend_inline
        backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)):
    """Set the figure size for matplotlib (d2l)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Set the labels, limits, scales and legend of matplotlib axes (d2l)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
         yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves (d2l): `plot(Y)` or `plot(X, [Y1, Y2], legend=[...])`."""
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes else plt.gca()

    def has_one_axis(X):  # a tensor or list with one axis
        return (hasattr(X, "ndim") and X.ndim == 1 or isinstance(X, list)
                and not hasattr(X[0], "__len__"))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


class Animator:
    """Plot data points as they come (d2l): `animator.add(x, [y1, y2])` redraws the figure.

    In Jupyter the figure is redrawn in place in one output, and, unlike d2l's, lines the
    cell prints stay visible. In a script it draws into a figure that is never shown, so
    it neither blocks nor fails; `animator.fig.savefig(...)` saves it.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        if legend is None:
            legend = []
        use_svg_display()
        # A Figure outside pyplot: no window in scripts, no second copy at the end of a cell.
        self.fig = Figure(figsize=figsize)
        self.axes = self.fig.subplots(nrows, ncols)
        if nrows * ncols == 1:
            self.axes = [self.axes, ]
        self.config_axes = lambda: set_axes(
            self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
        self.X, self.Y, self.fmts, self.handle = None, None, fmts, None

    def add(self, x, y):
        """Add one point to each curve (y: a number or one value per curve; None skips a curve)."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(x, y, fmt)
        self.config_axes()
        if in_jupyter():
            from IPython.display import display
            if self.handle is None:
                self.handle = display(self.fig, display_id=True)
            else:
                self.handle.update(self.fig)
