"""helpers/training.py: d2l's training loop, plus history, precision, divergence and interruption handling."""
import math

import pytest
import torch
from torch import nn

import helpers

V = 28


@pytest.fixture(scope="module")
def splits():
    return helpers.load_time_machine_splits(16, 20, max_tokens=6000)


def small_lstm(hidden=32, layers=1):
    helpers.set_seed(0)
    return helpers.stacked_rnn("LSTM", V, hidden, layers)


def test_try_gpu_falls_back_to_cpu_and_set_seed_repeats():
    assert helpers.try_gpu(99) == torch.device("cpu")
    helpers.set_seed(3)
    a = torch.rand(3)
    helpers.set_seed(3)
    assert torch.equal(a, torch.rand(3))


def test_grad_clipping_leaves_norm_at_most_theta():
    net = small_lstm()
    X = torch.randint(0, V, (4, 7))
    y, _ = net(X, net.begin_state("cpu", 4))
    (y.pow(2).sum() * 100).backward()
    grads = lambda: torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters()))  # noqa: E731
    before = float(grads())
    assert before > 1
    returned = helpers.grad_clipping(net, 1.0)
    assert float(returned) == pytest.approx(before, rel=1e-5)
    assert float(grads()) <= 1.0 + 1e-5
    # A gradient already below theta is left as it is.
    small = float(grads())
    helpers.grad_clipping(net, 10.0)
    assert float(grads()) == pytest.approx(small, rel=1e-6)


def test_sgd_and_accumulator_and_timer():
    w = torch.ones(3, requires_grad=True)
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    helpers.sgd([w], lr=0.5, batch_size=2)
    assert torch.allclose(w, torch.tensor([0.75, 0.5, 0.25])) and float(w.grad.abs().sum()) == 0
    acc = helpers.Accumulator(2)
    acc.add(1, torch.tensor(2.0))
    acc.add(3, 4)
    assert (acc[0], acc[1]) == (4.0, 6.0)
    timer = helpers.Timer()
    timer.stop()
    assert len(timer.cumsum()) == 1 and timer.sum() >= 0


def test_predict_ch8_returns_prefix_plus_predictions(splits):
    _, _, vocab = splits
    net = small_lstm()
    text = helpers.predict_ch8("time traveller", 10, net, vocab, "cpu")
    assert text.startswith("time traveller") and len(text) == len("time traveller") + 10


def test_evaluate_perplexity_of_a_uniform_model_is_the_vocab_size(splits):
    _, valid_iter, _ = splits
    net = small_lstm()
    with torch.no_grad():
        net.linear.weight.zero_()
        net.linear.bias.zero_()
    assert helpers.evaluate_perplexity(net, valid_iter, "cpu") == pytest.approx(V, rel=1e-4)


def test_unigram_perplexity_is_the_vocab_size_for_uniform_text_and_lower_for_skewed():
    assert helpers.unigram_perplexity(list(range(V)), [0, 5, 27], V) == pytest.approx(V)
    skewed = [1] * 90 + [2] * 10
    assert helpers.unigram_perplexity(skewed, [1] * 9 + [2], V) < 3
    # A held-out token never seen in training is unlikely, not impossible.
    assert math.isfinite(helpers.unigram_perplexity(skewed, [3], V))


def test_train_ch8_lowers_perplexity_quietly_and_returns_history(splits, capsys):
    train_iter, valid_iter, vocab = splits
    net = small_lstm()
    before = helpers.evaluate_perplexity(net, valid_iter, "cpu")
    hist = helpers.train_ch8(net, train_iter, vocab, 0.01, 4, "cpu", valid_iter=valid_iter, optimizer="adam")
    assert len(hist.train_ppl) == len(hist.valid_ppl) == len(hist.tokens_per_sec) == 4
    assert hist.final_train_ppl < 0.7 * hist.train_ppl[0]
    assert hist.final_valid_ppl < 0.75 * before
    assert all(s > 0 for s in hist.tokens_per_sec)
    assert capsys.readouterr().out == ""  # outside Jupyter: no bar, no plot, no prints


def test_d2l_call_still_works_with_sgd_and_a_scratch_model(splits):
    train_iter, _, vocab = splits
    from tests.test_models import scratch_rnn_parts
    helpers.set_seed(0)
    net = helpers.RNNModelScratch(len(vocab), 32, "cpu", *scratch_rnn_parts())
    hist = helpers.train_ch8(net, train_iter, vocab, 1, 3, "cpu")  # d2l's positional call
    assert hist.final_train_ppl < hist.train_ppl[0] < 30
    with pytest.raises(ValueError, match="optimizer='sgd' only"):
        helpers.train_ch8(net, train_iter, vocab, 1, 1, "cpu", optimizer="adam")


def test_bf16_autocast_gives_the_same_perplexity_as_fp32(splits):
    train_iter, _, vocab = splits
    ppl = {}
    for precision in ["fp32", "bf16"]:
        net = small_lstm(hidden=64, layers=2)
        helpers.set_seed(1)
        hist = helpers.train_ch8(net, train_iter, vocab, 1.0, 3, "cpu", precision=precision)
        assert hist.precision == precision
        ppl[precision] = hist.final_train_ppl
    assert abs(ppl["bf16"] - ppl["fp32"]) / ppl["fp32"] < 0.02, ppl


def test_precision_auto_and_bad_values():
    assert helpers.resolve_precision("auto", "cpu") in ("bf16", "fp32")
    assert helpers.resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        helpers.resolve_precision("half", "cpu")
    with pytest.raises(ValueError, match="needs a GPU"):
        helpers.resolve_precision("fp16", "cpu")


def test_divergence_stops_with_a_hint_to_lower_the_learning_rate(splits):
    train_iter, _, vocab = splits
    net = small_lstm()
    with torch.no_grad():
        net.linear.bias.fill_(float("nan"))
    with pytest.raises(helpers.TrainingDiverged, match=r"lower learning rate \(e\.g\. lr=0\.1 instead of 1\)"):
        helpers.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu")


def test_keyboard_interrupt_returns_the_history_so_far(splits):
    train_iter, _, vocab = splits

    class StopsInEpochTwo:
        batch_size, num_steps = train_iter.batch_size, train_iter.num_steps

        def __init__(self):
            self.epoch = 0

        def __len__(self):
            return len(train_iter)

        def __iter__(self):
            self.epoch += 1
            for i, batch in enumerate(train_iter):
                if self.epoch == 2 and i == 1:
                    raise KeyboardInterrupt
                yield batch

    hist = helpers.train_ch8(small_lstm(), StopsInEpochTwo(), vocab, 1.0, 5, "cpu", verbose=False)
    assert len(hist.train_ppl) == 1 and math.isfinite(hist.train_ppl[0])


def test_grad_norms_per_layer_are_tracked(splits):
    train_iter, _, vocab = splits
    net = helpers.stacked_rnn("RNN", V, 16, 3)
    hist = helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", track_grad_norms=True, clip=None)
    assert len(hist.grad_norms) == len(train_iter)
    assert set(hist.grad_norms[0]) == {"layer 1", "layer 2", "layer 3", "output"}
    assert all(v > 0 for v in hist.grad_norms[0].values())


def test_unknown_optimizer_is_refused(splits):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match="optimizer must be one of"):
        helpers.train_ch8(small_lstm(), train_iter, vocab, 1.0, 1, "cpu", optimizer="lbfgs")


def test_d2l_parity_when_the_real_d2l_package_is_importable():
    d2l = pytest.importorskip("d2l.torch", reason="the d2l package is not installed (it is not a dependency)")
    helpers.set_seed(0)
    mine = helpers.load_data_time_machine(4, 5)
    helpers.set_seed(0)
    theirs = d2l.load_data_time_machine(4, 5)
    assert mine[1].idx_to_token == theirs[1].idx_to_token
    for (X1, Y1), (X2, Y2) in zip(mine[0], theirs[0]):
        assert torch.equal(X1, X2) and torch.equal(Y1, Y2)
