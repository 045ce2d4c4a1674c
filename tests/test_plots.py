"""helpers/plots.py: train_ch8's bar and live plot in Jupyter, plot_histories, and d2l's plot/Animator anywhere."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

import helpers

ROOT = Path(__file__).resolve().parents[1]


def test_plot_histories_draws_held_out_solid_and_train_dashed():
    h = helpers.History(train_ppl=[9.0, 7.0], valid_ppl=[10.0, 8.0])
    fig = helpers.plot_histories({"GRU": h})
    styles = sorted(line.get_linestyle() for line in fig.axes[0].lines)
    assert styles == ["-", "--"] and fig.axes[0].get_legend() is not None
    helpers.plt.close(fig)


def test_d2l_plot_draws_several_curves_with_d2l_defaults():
    helpers.plt.figure()
    helpers.plot(list(range(5)), [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], xlabel="x", legend=["up", "down"],
                 yscale="log")
    ax = helpers.plt.gca()
    assert len(ax.lines) == 2 and ax.get_yscale() == "log" and ax.get_xlabel() == "x"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["up", "down"]
    assert tuple(matplotlib.rcParams["figure.figsize"]) == (3.5, 2.5)  # set_figsize, as d2l does
    helpers.plt.close("all")


def test_animator_outside_jupyter_draws_without_showing_anything(capsys):
    animator = helpers.Animator(xlabel="epoch", ylabel="perplexity", legend=["train", "test"], xlim=[1, 3])
    for epoch in range(3):
        animator.add(epoch + 1, [10 - epoch, None if epoch == 0 else 11 - epoch])
    assert animator.X == [[1, 2, 3], [2, 3]] and animator.Y == [[10, 9, 8], [10, 9]]
    assert len(animator.axes[0].lines) == 2 and animator.handle is None
    assert capsys.readouterr() == ("", "")  # d2l's prints "<Figure size 350x250 ...>" here


@pytest.mark.slow
@pytest.mark.parametrize("backend", [None, "Agg", "TkAgg"])
def test_animator_in_a_script_without_a_display_neither_blocks_nor_fails(tmp_path, backend):
    """Issue 22, item 12: no DISPLAY, and MPLBACKEND unset, Agg, or a GUI backend that cannot start."""
    script = tmp_path / "animate.py"
    script.write_text(textwrap.dedent("""
        import helpers as d2l
        animator = d2l.Animator(xlabel="epoch", legend=["train"])
        for epoch in range(3):
            animator.add(epoch + 1, [1.0 / (epoch + 1)])
        animator.fig.savefig("curve.png")
        d2l.plot([1, 2, 3], [[3, 2, 1]], legend=["loss"])
        d2l.plt.savefig("plot.png")
        print("done")
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    env |= {"PYTHONPATH": str(ROOT)} | ({"MPLBACKEND": backend} if backend else {})
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    assert out.returncode == 0 and out.stdout == "done\n", out.stderr
    assert (tmp_path / "curve.png").stat().st_size > 1000 and (tmp_path / "plot.png").stat().st_size > 1000


def test_progress_bar_outside_jupyter_writes_to_stderr_and_is_erased_when_closed(capsys):
    bar = helpers.ProgressBar(1000, in_nb=False)
    bar.update(600)
    bar.set_postfix(ppl="9.00")
    bar.close(helpers.History(train_ppl=[9.0]))
    out, err = capsys.readouterr()
    assert out == "" and "training" in err and err.endswith("\r")  # tqdm's leave=False clears its line


NOTEBOOK = [
    """import helpers as d2l
train_iter, valid_iter, vocab = d2l.load_corpus_splits(16, 20, max_tokens=4000)
net = d2l.stacked_rnn("GRU", len(vocab), 16, 1)
hist = d2l.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu", valid_iter=valid_iter, precision="fp32")""",
    """animator = d2l.Animator(xlabel="epoch", ylabel="perplexity", legend=["train"], xlim=[1, 3])
for epoch in range(3):
    print(f"epoch {epoch + 1}")
    animator.add(epoch + 1, [10 - epoch])""",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK])
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    return [cell.outputs for cell in nb.cells]


@pytest.mark.slow
def test_saved_training_output_reads_as_a_finished_run(executed):
    outputs = executed[0]
    texts = [o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "display_data"]
    # The bar's widget is replaced by one static line: no "0%| 0.00/..." frame in the saved notebook.
    assert texts[0].startswith("training: 2 of 2 epochs,") and "perplexity" in texts[0], texts
    assert not any("0%|" in t for t in texts)
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the live plot kept what it drew
    stdout = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert "tokens/sec on cpu" in stdout and "held-out perplexity" in stdout
    assert "time traveller" in stdout


@pytest.mark.slow
def test_animator_in_jupyter_redraws_one_output_and_keeps_printed_lines(executed):
    outputs = executed[1]
    figures = [o for o in outputs if o.output_type == "display_data"]
    assert len(figures) == 1 and "image/svg+xml" in figures[0].data  # d2l's use_svg_display
    stdout = "".join(o.text for o in outputs if o.output_type == "stream")
    assert stdout == "epoch 1\nepoch 2\nepoch 3\n"
