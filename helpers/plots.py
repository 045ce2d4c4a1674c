"""Plots: the live perplexity plot that `train_ch8` shows, and comparisons of finished runs."""
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

__all__ = ["in_jupyter", "LivePlot", "plot_histories"]


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
        plt.close(self.fig)


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
