"""helpers/checks/nb04_lstm.py: predict_lstm_shapes and lstm_params_per_layer, right answers and mistakes."""
import pytest
import torch
from torch import nn

from helpers import checks
from helpers.checks.nb04_lstm import VISIBLE_SHAPES, torch_lstm_params, torch_lstm_shapes

from .util import fails

# correct implementations (what a learner should write)

def predict_lstm_shapes(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first):
    out = (batch_size, num_steps, num_hiddens) if batch_first else (num_steps, batch_size, num_hiddens)
    return {"out": out, "h_n": (num_layers, batch_size, num_hiddens),
            "c_n": (num_layers, batch_size, num_hiddens)}


def lstm_params_per_layer(num_inputs, num_hiddens, num_layers):
    h = num_hiddens
    return [4 * (h * (num_inputs if layer == 0 else h) + h * h + 2 * h) for layer in range(num_layers)]



CORRECT = {"check_lstm_shapes": predict_lstm_shapes, "check_lstm_params": lstm_params_per_layer}


def _shapes(change):
    def predict(d, h, L, B, T, bf):
        return change(predict_lstm_shapes(d, h, L, B, T, bf), d, h, L, B, T, bf)
    return predict


def test_lstm_shapes_references_match_nn_lstm():
    """The literal table of the visible cases and the meta-device run both equal a real nn.LSTM's shapes."""
    cases = [*VISIBLE_SHAPES, (3, 4, 2, 5, 6, False), (3, 4, 3, 5, 6, True)]
    for d, h, L, B, T, bf in cases:
        x = torch.zeros((B, T, d) if bf else (T, B, d))
        out, (h_n, c_n) = nn.LSTM(d, h, num_layers=L, batch_first=bf)(x)
        real = {"out": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}
        assert predict_lstm_shapes(d, h, L, B, T, bf) == real == torch_lstm_shapes(d, h, L, B, T, bf)
        assert VISIBLE_SHAPES.get((d, h, L, B, T, bf), real) == real


@pytest.mark.parametrize("seed, sizes", [(3, None), (4, None), (0, (7, 9, 4, 2, 3, True))])
def test_lstm_shapes_and_params_hidden_cases(seed, sizes, capsys):
    checks.check_lstm_shapes(predict_lstm_shapes, seed=seed, sizes=sizes)
    checks.check_lstm_params(lstm_params_per_layer, seed=seed, sizes=sizes[:3] if sizes else None)
    checks.check_lstm_shapes(torch_lstm_shapes, seed=seed, sizes=sizes)
    checks.check_lstm_params(torch_lstm_params, seed=seed, sizes=sizes[:3] if sizes else None)
    assert capsys.readouterr().out.count("✓") == 4


def test_lstm_shapes_hidden_case_catches_a_lookup_table():
    table = {k: v for k, v in VISIBLE_SHAPES.items()}
    fails(lambda fn: checks.check_lstm_shapes(fn, seed=3), lambda *args: table.get(args, {}), "missing")


def test_lstm_shapes_accepts_torch_size(capsys):
    checks.check_lstm_shapes(_shapes(lambda r, *a: {k: torch.Size(v) for k, v in r.items()}))
    assert capsys.readouterr().out.startswith("✓ lstm_shapes")


@pytest.mark.parametrize("wrong, phrases", [
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "h_n": (B, h), "c_n": (B, h)}),
     ["h_n should be (2, 32, 256): one state per layer; you returned (32, 256)"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "c_n": (B, h)}),
     ["c_n should be (2, 32, 256): one state per layer; c_n has the same shape as h_n"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (T, B, h)}),
     ["batch_first=True", "out should be (32, 35, 256)", "you gave the batch_first=False layout"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "h_n": (B, L, h) if bf else (L, B, h)}),
     ["whatever batch_first says", "you returned (32, 2, 256)"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (T, B, d)}), ["not num_inputs"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (L, T, B, h)}), ["only the top layer"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {"out": r["out"], "h_n": r["h_n"]}), ["missing 'c_n'"]),
    (_shapes(lambda r, d, h, L, B, T, bf: [r["out"], r["h_n"], r["c_n"]]), ['return a dict with keys']),
])
def test_lstm_shapes_mistakes(wrong, phrases):
    fails(checks.check_lstm_shapes, wrong, *phrases)


def test_lstm_params_reference_matches_numel():
    for d, h, L in [(28, 32, 2), (5, 4, 3)]:
        lstm = nn.LSTM(d, h, L)
        assert sum(lstm_params_per_layer(d, h, L)) == sum(p.numel() for p in lstm.parameters())


@pytest.mark.parametrize("wrong, phrases", [
    (lambda d, h, L: [h * (d if l == 0 else h) + h * h + 2 * h for l in range(L)], ["4 gate blocks"]),
    (lambda d, h, L: [3 * (h * (d if l == 0 else h) + h * h + 2 * h) for l in range(L)], ["GRU"]),
    (lambda d, h, L: [4 * (h * (d if l == 0 else h) + h * h + h) for l in range(L)], ["two bias vectors"]),
    (lambda d, h, L: [4 * (h * d + h * h + 2 * h) for l in range(L)],
     ["layer 2 should have", "only the first layer sees num_inputs"]),
    (lambda d, h, L: [4 * (h * h + h * h + 2 * h) for l in range(L)], ["layer 1 reads the num_inputs-sized input"]),
    (lambda d, h, L: sum(lstm_params_per_layer(d, h, L)), ["single number", "that is the total"]),
    (lambda d, h, L: lstm_params_per_layer(d, h, L)[:1], ["should return 2 counts, one per layer"]),
])
def test_lstm_params_mistakes(wrong, phrases):
    fails(checks.check_lstm_params, wrong, *phrases)
