"""helpers.experiments: settings over seeds, their mean and range, verdicts, and notebook 05's figures."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import experiments as ex  # noqa: E402
from helpers.history import History  # noqa: E402


def fake(label, finals, train=None, seeds=(0, 1, 2)):
    """A Setting whose run for seed s ends at held-out perplexity finals[i] (first epoch: +1)."""
    train, seeds = train or finals, seeds[:len(finals)]
    runs = {s: History(train_ppl=[t + 1, t], valid_ppl=[v + 1, v]) for s, v, t in zip(seeds, finals, train)}
    return ex.over_seeds(label, lambda seed: (f"net {seed}", runs[seed]), seeds=seeds, quiet=True)


def test_over_seeds_trains_once_per_seed_in_order_and_prints_mean_and_range(capsys):
    calls = []

    def train_one(seed):
        calls.append(seed)
        return f"net {seed}", History(train_ppl=[9.0, 7.0 + seed], valid_ppl=[9.0, 6.0 + seed])

    s = ex.over_seeds("LSTM L=1", train_one, seeds=(3, 1, 2))
    assert calls == [3, 1, 2] and [r.seed for r in s.runs] == [3, 1, 2]
    assert [r.net for r in s.runs] == ["net 3", "net 1", "net 2"]
    assert s.values() == [9.0, 7.0, 8.0] and s.values("train") == [10.0, 8.0, 9.0]
    assert s.stats() == (8.0, 7.0, 9.0) and s.mean("best held-out") == 8.0
    assert s.summary() == "8.00 (7.00–9.00)" and s.seconds >= 0
    out = capsys.readouterr().out
    assert "LSTM L=1" in out and "held-out 8.00 (7.00–9.00)" in out and "train 9.00 (8.00–10.00)" in out
    assert "3 seeds" in out


def _seeded_run(seed):
    import torch
    torch.manual_seed(seed)
    ppl = float(torch.rand(()) * 5 + 4)
    return f"net {seed}", History(train_ppl=[ppl + 1], valid_ppl=[ppl])


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_seeds_in_two_processes_give_the_same_setting():
    here = ex.over_seeds("one", _seeded_run, quiet=True)
    there = ex.over_seeds("two", _seeded_run, quiet=True, processes=2)
    assert there.values() == here.values() and [r.seed for r in there.runs] == [0, 1, 2]
    assert [r.net for r in there.runs] == ["net 0", "net 1", "net 2"]


def test_a_metric_can_be_a_function_and_a_curve_is_per_epoch():
    s = fake("GRU", [5.0, 6.0, 7.0])
    assert s.values(lambda run: run.history.valid_ppl[0]) == [6.0, 7.0, 8.0]
    assert s.summary(lambda run: run.seed, fmt=".0f") == "1 (0–2)"
    means, lows, highs = s.curve("valid_ppl")
    assert means == [7.0, 6.0] and lows == [6.0, 5.0] and highs == [8.0, 7.0]


def test_curves_of_different_lengths_are_refused():
    s = fake("x", [5.0, 6.0])
    s.runs[1].history.valid_ppl.append(4.0)
    with pytest.raises(ValueError, match="different lengths"):
        s.curve()


@pytest.mark.parametrize("bad, error, words", [
    (dict(train_one="train"), TypeError, "function of the seed"),
    (dict(seeds=()), ValueError, "non-empty"),
    (dict(seeds=(0, 1.5)), ValueError, "whole numbers"),
    (dict(train_one=lambda seed: History()), TypeError, r"return \(net, history\)"),
])
def test_bad_arguments_are_named(bad, error, words):
    args = dict(label="x", train_one=lambda seed: ("net", History()), seeds=(0,), quiet=True) | bad
    with pytest.raises(error, match=words):
        ex.over_seeds(**args)


def test_unknown_metric_names_the_choices():
    with pytest.raises(ValueError, match="'held-out'"):
        fake("x", [5.0]).values("valid")


def test_verdict_says_which_wins_only_when_the_ranges_do_not_overlap():
    low, high, overlapping = fake("GRU", [5.0, 5.2, 5.1]), fake("RNN", [6.0, 6.4, 6.1]), fake("LSTM", [5.15, 5.5, 5.3])
    assert ex.separated(low, high) and ex.separated(high, low)
    assert not ex.separated(low, overlapping)
    sentence = ex.verdict(high, low)
    assert sentence.startswith("GRU 5.10 (5.00–5.20) beats RNN 6.17 (6.00–6.40) in every seed")
    assert "0.80 apart" in sentence
    tie = ex.verdict(low, overlapping)
    assert "ranges overlap" in tie and "3 seeds cannot tell them apart" in tie and "beats" not in tie
    pairs = ("mixed on Wells", [6.7, 6.8]), ("Wells on Wells", [6.5, 6.6])  # (label, values) works too
    assert ex.separated(*pairs) and ex.verdict(*pairs).startswith("Wells on Wells 6.55 (6.50–6.60) beats")


def test_extrapolate_doublings_continues_a_geometric_shrinking_of_the_gains():
    values = [10.0, 8.0, 7.0, 6.5]  # gains 2, 1, 0.5: each half the one before
    q, after_two, limit = ex.extrapolate_doublings(values, 2)
    assert q == pytest.approx(0.5) and after_two == pytest.approx(6.5 - 0.25 - 0.125)
    assert limit == pytest.approx(6.0) and ex.extrapolate_doublings(values, 0)[1] == pytest.approx(6.5)
    q, after_one, limit = ex.extrapolate_doublings([10.0, 9.0, 8.0], 1)  # gains that do not shrink
    assert q == pytest.approx(1.0) and after_one == pytest.approx(7.0) and limit == float("-inf")
    with pytest.raises(ValueError, match="two positive gains"):
        ex.extrapolate_doublings([10.0, 9.0, 9.5], 1)
    with pytest.raises(ValueError, match="more must be >= 0"):
        ex.extrapolate_doublings(values, -1)


def test_band_draws_the_mean_and_shades_the_range():
    fig, ax = plt.subplots()
    settings = [fake("a", [5.0, 6.0, 7.0]), fake("b", [4.0, 4.5, 5.0])]
    line = ex.band(ax, [1, 2], settings, label="LSTM")
    assert list(line.get_ydata()) == [6.0, 4.5] and line.get_label() == "LSTM"
    (shade,) = ax.collections
    ys = shade.get_paths()[0].vertices[:, 1]
    assert min(ys) == pytest.approx(4.0) and max(ys) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="3 x values for 2 means"):
        ex.band(ax, [1, 2, 3], settings)
    plt.close(fig)


def _titled_and_labelled(fig):
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel()
    assert fig.axes[0].get_ylabel()


def test_depth_sweep_figure_has_three_labelled_panels():
    layers, cells = (1, 2), ("RNN", "LSTM")
    sweep = {(c, L): fake(f"{c} {L}", [7.0 - L, 7.5 - L, 7.2 - L]) for c in cells for L in layers}
    seconds = {(c, L): 0.1 * L for c in cells for L in layers}
    fig = ex.plot_depth_sweep(sweep, cells, layers, [10, 20], seconds, baseline=17.0)
    assert len(fig.axes) == 3
    _titled_and_labelled(fig)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["RNN", "LSTM", "letter frequencies"]
    curves = fig.axes[1].get_lines()  # the last cell's held-out curve per depth, over the steps
    assert [line.get_label() for line in curves[:2]] == ["LSTM L=1", "LSTM L=2"]
    assert list(curves[0].get_xdata()) == [10, 20]
    assert list(curves[0].get_ydata()) == pytest.approx([7.23, 6.23], abs=0.01)
    assert list(fig.axes[2].get_lines()[1].get_ydata()) == [0.1, 0.2]
    plt.close(fig)


def test_data_curves_figure_draws_one_band_per_curve_and_the_fixed_step_points():
    one_pass = fake("one pass", [5.0, 5.5, 6.0])
    fig = ex.plot_data_curves({"Wells": ([1000, 2000], one_pass)},
                              fixed_steps=([1000, 2000], [fake("a", [8.0]), fake("b", [6.0])]))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.collections) == 2
    assert list(ax.get_lines()[0].get_ydata()) == [6.5, 5.5]
    _titled_and_labelled(fig)
    plt.close(fig)


def test_grad_norm_figure_has_one_log_panel_per_setting():
    def tracked(label):
        runs = {s: History(train_ppl=[5.0], valid_ppl=[5.0],
                           grad_norms=[{"layer 1": 0.1 * (s + 1), "output": 1.0}] * 4) for s in (0, 1)}
        return ex.over_seeds(label, lambda seed: ("net", runs[seed]), seeds=(0, 1), quiet=True)

    fig = ex.plot_grad_norms({"clipped": tracked("a"), "not clipped": tracked("b")})
    assert len(fig.axes) == 2 and all(ax.get_yscale() == "log" for ax in fig.axes)
    mean_layer_1 = fig.axes[0].get_lines()[0]
    assert list(mean_layer_1.get_ydata()) == pytest.approx([0.15] * 4)
    _titled_and_labelled(fig)
    plt.close(fig)


def test_unseen_words_counts_held_out_words_missing_from_training_text():
    share, common = ex.unseen_words("xx the cat sat on the mat xx", "yy the dog and the dog ran zz")
    assert share == pytest.approx(4 / 6) and common == ["dog", "and", "ran"]
    assert ex.unseen_words("a b c", "q w e r", top=1) == (1.0, ["w"])
    with pytest.raises(ValueError, match="at least three"):
        ex.unseen_words("a b c", "one two")
