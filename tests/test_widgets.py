"""helpers.widgets: the depth explorer redraws grid, shapes and parameter counts, validates, and trains;
its parts (`view`, `quick_train`) work without a widget."""
import html
import re

import ipywidgets as widgets
import pytest
import torch

from helpers import widgets as hw
from helpers.models import params_per_layer


def rows(html, table):
    """{first cell: [other cells]} of the rows of <table class=table> (the header uses <th>)."""
    body = re.search(rf'<table class="{table}">(.*?)</table>', html, re.S).group(1)
    return {r[0]: r[1:] for r in (re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)) if r}


def steps_per_epoch(ex):
    return {label: run.steps_per_epoch for label, run in ex.state.runs.items()}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread; on a shared, busy CPU two threads wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def ex():
    return hw.depth_explorer(layers=1, hidden=64, cell="RNN", steps=5)


def test_is_a_widget_with_labelled_controls(ex):
    assert isinstance(ex, widgets.VBox)
    assert set(ex.controls) == {"layers", "hidden", "cell", "steps"}
    for key, w in ex.controls.items():
        assert w.description == key
    assert (ex.controls["layers"].min, ex.controls["layers"].max) == (1, 6)
    assert set(ex.controls["cell"].options) == {"RNN", "GRU", "LSTM"}
    s = ex.summary()
    assert s["h_n"] == (1, 32, 64) and s["c_n"] is None and s["message"] == "" and s["runs"] == []


def test_layers_slider_redraws_grid_and_tables(ex):
    ex.controls["layers"].value = 3
    s = ex.summary()
    assert s["h_n"] == s["h0"] == (3, 32, 64) and s["out"] == (5, 32, 64)
    assert 'data-layers="3"' in ex.grid.value and 'data-steps="5"' in ex.grid.value
    assert ex.grid.value.count('class="cell-node"') == 3 * 5
    shapes = rows(ex.shapes.value, "shape-table")
    assert shapes["h_n"] == ["(3, 32, 64)"] and shapes["weight_ih_l2"] == ["(64, 64)"]
    assert shapes["weight_ih_l0"] == ["(64, 28)"] and "c0" not in shapes
    params = rows(ex.params.value, "param-table")
    assert [k for k in params if k.startswith("layer")] == ["layer 1", "layer 2", "layer 3"]
    # formula, match, numel(): the last cell is the count (the browser test reads it there)
    assert params["layer 2"] == [str(64 * 64 * 2 + 2 * 64), "✓", str(64 * 64 * 2 + 2 * 64)]
    assert params["total"][1] == "✓" and params["total"][2] == str(sum(ex.summary()["numel_per_layer"]))


def test_cell_hidden_and_steps(ex):
    ex.controls["cell"].value = "LSTM"
    s = ex.summary()
    assert s["c_n"] == s["c0"] == (1, 32, 64)
    assert s["params_per_layer"] == [4 * (64 * 28 + 64 * 64 + 2 * 64)] == s["numel_per_layer"]
    assert 'data-cell="LSTM"' in ex.grid.value and "(h, c)" in ex.grid.value
    assert {"c0", "c_n"} <= set(rows(ex.shapes.value, "shape-table"))
    ex.controls["hidden"].value = 100
    assert ex.summary()["h_n"] == (1, 32, 100)
    assert rows(ex.shapes.value, "shape-table")["weight_hh_l0"] == ["(400, 100)"]
    ex.controls["steps"].value = 9
    assert ex.summary()["out"] == (9, 32, 100) and ex.summary()["input"] == (9, 32, 28)
    assert ex.grid.value.count('class="cell-node"') == 9


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_formula_matches_numel(ex, cell):
    for layers, hidden in [(1, 8), (2, 32), (4, 17), (6, 128)]:
        assert ex.set(layers=layers, hidden=hidden, cell=cell) == ""
        s = ex.summary()
        assert s["params_per_layer"] == s["numel_per_layer"] == params_per_layer(cell, 28, hidden, layers)
        assert ex.grid.value.count('class="cell-node"') == layers * s["steps"]
        assert "✗" not in ex.params.value


@pytest.mark.parametrize("bad", [dict(layers=0), dict(layers=9), dict(hidden=0), dict(cell="TCN"),
                                 dict(steps=13), dict(layers=2.5), dict(batch=4), dict(layers=3, cell="TCN")])
def test_invalid_values_give_a_message_and_keep_the_view(ex, bad):
    ex.set(layers=2, hidden=16, cell="GRU", steps=4)
    grid, shapes = ex.grid.value, ex.shapes.value
    message = ex.set(**bad)
    assert message and message == ex.summary()["message"]
    assert 'class="explorer-message"' in ex.message.value and html.escape(message) in ex.message.value
    assert any(why in message for why in ("out of range", "not available", "unknown control"))
    assert ex.grid.value == grid and ex.shapes.value == shapes
    assert ex.config() == dict(layers=2, hidden=16, cell="GRU", steps=4)  # nothing clamped
    assert ex.summary()["h_n"] == (2, 32, 16)
    assert ex.set(layers=3) == "" and ex.summary()["message"] == ""


def test_constructor_rejects_invalid_defaults():
    with pytest.raises(ValueError, match="layers=0"):
        hw.depth_explorer(layers=0)


def test_training_adds_runs_and_clear_empties_them(ex):
    ex.set(layers=2, hidden=300, cell="GRU", steps=8)
    tiny = dict(updates=10, max_tokens=3000, max_hidden=16)  # 2700 training characters: 10 minibatches of 32 x 8
    h = ex.train_current(**tiny)
    assert h is not None and len(h.valid_ppl) == 1 and h.final_valid_ppl > 1
    assert ex.summary()["runs"] == ["GRU L=2 h=16 T=8 (h capped from 300)"]
    assert len(ex.ax.get_lines()) == 1 and not ex.train_button.disabled
    ex.set(hidden=8, cell="RNN")
    ex.train_current(**tiny)
    ex.train_current(**tiny)
    assert ex.summary()["runs"][1:] == ["RNN L=2 h=8 T=8", "RNN L=2 h=8 T=8 #2"]
    assert len(ex.ax.get_lines()) == 3
    ex.clear_button.click()
    assert ex.summary()["runs"] == [] and len(ex.ax.get_lines()) == 0 and ex.state.runs == {}


def test_the_steps_slider_sets_the_training_sequence_length_and_the_budget_is_in_optimizer_steps(ex):
    ex.set(layers=1, hidden=8, cell="RNN", steps=4)
    h = ex.train_current(updates=40, max_tokens=3000)  # 3000 training characters: 23 minibatches of 32 x 4
    assert steps_per_epoch(ex) == {"RNN L=1 h=8 T=4": 23} and len(h.train_ppl) == 2  # round(40 / 23) epochs
    line = ex.ax.get_lines()[0]
    assert list(line.get_xdata()) == [23, 46] and ex.ax.get_xlabel() == "optimizer step"
    status = html.unescape(ex.status.value)
    assert "RNN L=1 h=8 T=4: 46 optimizer steps (2 epochs of 23 minibatches of 32 x 4 characters" in status
    assert f"held-out perplexity {h.final_valid_ppl:.2f} (letter frequencies: " in status
    ex.set(steps=9)
    h = ex.train_current(updates=1, max_tokens=3000)  # at least one epoch: 10 minibatches of 32 x 9
    assert steps_per_epoch(ex)["RNN L=1 h=8 T=9"] == 10 and len(h.train_ppl) == 1


def test_a_run_still_on_the_letter_frequency_plateau_says_so(ex):
    ex.set(layers=4, hidden=8, cell="LSTM", steps=4)
    h = ex.train_current(updates=1, max_tokens=3000)  # 23 steps: a 4-layer LSTM has learned nothing yet
    assert h is not None and "still near letter frequencies: deep stacks need more steps" in ex.status.value


@pytest.mark.slow
def test_the_default_budget_passes_the_plateau_of_the_first_hundred_steps(ex):
    s = ex.summary()
    h = ex.train_current()  # RNN L=1 h=64, T=5: the defaults of train_current
    steps = steps_per_epoch(ex)[f"RNN L=1 h=64 T={s['steps']}"] * len(h.valid_ppl)
    assert 200 <= steps <= 400, f"{steps} optimizer steps: past ~100, and still a few seconds"
    assert "still near letter frequencies" not in ex.status.value and h.final_valid_ppl < 12


def test_training_failure_is_a_message_not_a_traceback(ex):
    assert ex.train_current(updates=1, max_tokens=50) is None  # too few tokens for one batch
    assert "training RNN L=1 h=64 T=5 failed" in ex.summary()["message"]
    assert ex.summary()["runs"] == [] and not ex.train_button.disabled


# ---------------------------------------------------------------- the parts, without a widget

def test_view_reads_shapes_and_counts_and_renders_the_tables():
    v = hw.view(hw.Config(layers=3, hidden=8, cell="GRU", steps=4), batch_size=2)
    assert v.shapes["h_n"] == (3, 2, 8) and v.shapes["c_n"] is None and v.shapes["input"] == (4, 2, 28)
    assert v.formula == v.numel == params_per_layer("GRU", 28, 8, 3)
    assert rows(v.shape_html, "shape-table")["h_n"] == ["(3, 2, 8)"]
    assert [k for k in rows(v.param_html, "param-table") if k.startswith("layer")] == ["layer 1", "layer 2", "layer 3"]
    assert v.grid.count('class="cell-node"') == 3 * 4
    assert v.numbers()["total_params"] == sum(v.numel) and v.numbers()["cell"] == "GRU"


def test_quick_train_returns_what_it_trained_and_measured():
    run = hw.quick_train(hw.Config(layers=1, hidden=300, cell="RNN", steps=4), updates=1, max_tokens=3000,
                         max_hidden=8)
    assert run.label == "RNN L=1 h=8 T=4 (h capped from 300)"
    assert run.steps_per_epoch == 23 and len(run.history.valid_ppl) == 1 and run.train_chars == 3000
    assert run.baseline > 1 and run.seconds > 0
    assert run.status().startswith("RNN L=1 h=8 T=4 (h capped from 300): 23 optimizer steps (1 epoch of 23 ")
    assert run.status("x #2").startswith("x #2: 23 optimizer steps")


def test_the_defaults_are_written_once():
    ex = hw.depth_explorer()
    assert ex.config() == vars(hw.Config()) == dict(layers=2, hidden=64, cell="LSTM", steps=5)
    for key, (low, high) in hw.RANGES.items():
        assert (ex.controls[key].min, ex.controls[key].max) == (low, high)


def test_labels_of_repeated_runs_are_numbered():
    assert hw.unique_label("RNN L=1", {}) == "RNN L=1"
    assert hw.unique_label("RNN L=1", {"RNN L=1": 0, "RNN L=1 #2": 0}) == "RNN L=1 #3"


# ---------------------------------------------------------------- issue 22, item 12: the controls themselves

@pytest.mark.parametrize("key, value, shown", [("layers", 99, 6), ("layers", -5, 1), ("hidden", 10 ** 6, 512),
                                               ("steps", 0, 1)])
def test_out_of_range_values_through_the_controls_are_clamped_and_the_view_follows(ex, key, value, shown):
    """A slider clamps what it is given (as the browser's readout does): the view always shows the
    slider's own value, with no message and no traceback."""
    ex.controls[key].value = value
    s = ex.summary()
    assert ex.controls[key].value == s[key] == shown and s["message"] == ""
    assert s["h_n"] == (s["layers"], 32, s["hidden"]) and len(s["numel_per_layer"]) == s["layers"]


def test_a_value_a_control_refuses_leaves_the_view_as_it_was(ex):
    import traitlets
    grid = ex.grid.value
    with pytest.raises(traitlets.TraitError):
        ex.controls["cell"].value = "TCN"
    assert ex.grid.value == grid and ex.summary()["cell"] == "RNN" and ex.summary()["message"] == ""
