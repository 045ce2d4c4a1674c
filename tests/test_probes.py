"""helpers/probes.py: feature labels from text, the linear probe, the baseline, unit selection, traces, LSTM gates."""
import pytest
import torch
from torch import nn

from helpers import probes

PLAY = "First Citizen:\nBefore we proceed,\nhear me.\n\nAll:\nSpeak, speak.\n"


def test_feature_labels_on_a_small_play():
    f = probes.char_features(PLAY)
    assert set(f) == set(probes.FEATURES)
    assert all(len(y) == len(PLAY) and y.dtype == torch.long for y in f.values())
    at = lambda name, i: int(f[name][i])  # noqa: E731
    assert [at("vowel", i) for i in range(5)] == [0, 1, 0, 0, 0]  # F i r s t
    assert at("next is space", PLAY.index("First") + 4) == 1 and at("next is space", 0) == 0
    assert [at("word position", i) for i in range(7)] == [1, 2, 3, 4, 5, 0, 1]  # "First C"
    assert at("word position", PLAY.index("Citizen") + 6) == 5  # capped at five
    # Speaker lines: the opening line and the line after the blank line, not the speech.
    speaker = "".join(ch for ch, y in zip(PLAY, f["speaker line"].tolist()) if y)
    assert speaker == "First Citizen:All:"
    # Characters since the last newline, in tens: "Before we proceed," has 18 characters.
    line = PLAY.index("Before")
    assert [at("line position", line + i) for i in (0, 9, 10, 17)] == [0, 0, 1, 1]
    assert at("line position", PLAY.index("me.")) == 0  # a new line starts again at 0


def test_line_position_is_capped_and_bad_text_is_refused():
    y = probes.char_features("x" * 80)["line position"]
    assert int(y[0]) == 0 and int(y[55]) == 5 and int(y[79]) == 5
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        probes.char_features("")


def test_probe_recovers_a_linearly_separable_feature_and_beats_the_baseline():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3000, 16, generator=g) * 5 + 3  # unstandardised on purpose
    w = torch.randn(16, generator=g)
    y = ((X - 3) @ w > 4.0).long()  # separable, unbalanced
    probe = probes.fit_probe(X[:2000], y[:2000])
    assert probe.accuracy(X[2000:], y[2000:]) > 0.97
    baseline = probes.majority_accuracy(y[:2000], y[2000:])
    assert 0.5 < baseline < 0.9
    # Three classes cut along one direction are linearly separable too.
    y3 = torch.bucketize((X - 3) @ w, torch.tensor([-3.0, 3.0]))
    assert probes.fit_probe(X[:2000], y3[:2000]).accuracy(X[2000:], y3[2000:]) > 0.95


def test_probe_cannot_learn_noise_and_leaves_states_untouched():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(2000, 8, generator=g, requires_grad=True)
    y = torch.randint(0, 2, (2000,), generator=g)
    probe = probes.fit_probe(X[:1000], y[:1000])
    assert abs(probe.accuracy(X[1000:].detach(), y[1000:]) - 0.5) < 0.06
    assert X.grad is None


def test_majority_accuracy_uses_the_training_majority():
    assert probes.majority_accuracy(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0, 1])) == 0.25


def test_most_selective_unit_finds_the_unit_that_tracks_the_feature():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (500,), generator=g)
    H = torch.randn(500, 10, generator=g)
    H[:, 7] = -2.0 * y + 0.1 * torch.randn(500, generator=g)
    unit, r = probes.most_selective_unit(H, y)
    assert unit == 7 and r < -0.95


def test_trace_html_colours_every_character_and_escapes_html():
    text = "<b>&\nx"
    out = probes.trace_html(text, [1.0, -1.0, 0.0, 0.5, 0.2, -0.3], title="unit <3>")
    assert out.count("<span") == len(text)
    assert "&lt;b&gt;&amp;" not in out  # each character has its own span
    for escaped in ("&lt;", "&gt;", "&amp;", "unit &lt;3&gt;"):
        assert escaped in out
    assert "<b>&" not in out.replace("<b>unit", "")  # no raw HTML from the text
    assert "rgb(255,0,0)" in out and "rgb(0,0,255)" in out  # +1 red, -1 blue
    assert "↵\n" in out  # newlines stay visible and keep the layout


@pytest.mark.parametrize("call, message", [
    (lambda: probes.fit_probe(torch.zeros(5), torch.zeros(5, dtype=torch.long)), "X must be a 2-d tensor"),
    (lambda: probes.fit_probe(torch.zeros(5, 2), torch.zeros(4, dtype=torch.long)), "one class label per row of X"),
    (lambda: probes.fit_probe(torch.zeros(5, 2), torch.zeros(5)), "integer tensor"),
    (lambda: probes.fit_probe(torch.zeros(5, 2), torch.tensor([0, 1, 2, 0, 1]), num_classes=2),
     "num_classes must be a whole number >= 2 and above every label"),
    (lambda: probes.fit_probe(torch.zeros(5, 2), torch.zeros(5, dtype=torch.long), max_iter=0), "max_iter"),
    (lambda: probes.majority_accuracy(torch.tensor([]), torch.tensor([1])), "y_train must be a non-empty"),
    (lambda: probes.trace_html("abc", [1.0, 2.0]), "text has 3 characters, values has 2"),
    (lambda: probes.trace_html(3, [1.0]), "text must be a string"),
])
def test_bad_arguments_raise_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_lstm_gates_rebuild_what_nn_lstm_computes():
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 7)
    X, H0, C0 = torch.randn(9, 3, 5), torch.randn(1, 3, 7), torch.randn(1, 3, 7)
    with torch.no_grad():
        H, (h_n, c_n) = lstm(X, (H0, C0))
    g = probes.lstm_gates(lstm, X, H, H0)
    assert set(g) == {"input", "forget", "output", "candidate"} and g["forget"].shape == (9, 3, 7)
    C, rebuilt = C0[0], []
    for t in range(9):  # C_t = F_t * C_{t-1} + I_t * G_t, H_t = O_t * tanh(C_t): PyTorch's own outputs
        C = g["forget"][t] * C + g["input"][t] * g["candidate"][t]
        rebuilt.append(g["output"][t] * torch.tanh(C))
    assert torch.allclose(torch.stack(rebuilt), H, atol=1e-6) and torch.allclose(C, c_n[0], atol=1e-6)
    with pytest.raises(ValueError, match="one-layer"):
        probes.lstm_gates(nn.LSTM(5, 7, num_layers=2), X, H)
    with pytest.raises(ValueError, match=r"X must be \(T, B, 5\)"):
        probes.lstm_gates(lstm, X[..., :4], H)


def test_gate_saturation_counts_shut_and_open_steps_per_unit():
    forget = torch.tensor([[[0.05, 0.5]], [[0.95, 0.5]], [[0.95, 0.99]], [[0.5, 0.02]]])  # (T=4, B=1, h=2)
    gates = {"input": torch.full((4, 1, 2), 0.5), "forget": forget, "output": torch.full((4, 1, 2), 0.91)}
    sat = probes.gate_saturation(gates)
    assert sat["forget"][0].tolist() == [0.25, 0.25] and sat["forget"][1].tolist() == [0.5, 0.25]
    assert sat["input"][0].sum() == 0 and sat["input"][1].sum() == 0 and sat["output"][1].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="missing 'output'"):
        probes.gate_saturation({"input": forget, "forget": forget})
