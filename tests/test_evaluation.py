"""helpers/evaluation.py: predict_ch8, held-out perplexity, the unigram baseline, and their bad input."""
import math

import pytest
import torch
from torch import nn

import helpers

V = 28


@pytest.fixture(scope="module")
def splits():
    return helpers.load_corpus_splits(16, 20, max_tokens=6000)


def small_lstm(dropout=0.0):
    helpers.set_seed(0)
    return helpers.RNNModel(nn.LSTM(V, 32, num_layers=2, dropout=dropout), V)


def test_predict_ch8_returns_prefix_plus_predictions(splits):
    _, _, vocab = splits
    text = helpers.predict_ch8("time traveller", 10, small_lstm(), vocab, "cpu")
    assert text.startswith("time traveller") and len(text) == len("time traveller") + 10


def test_predict_ch8_switches_off_dropout_and_restores_the_training_mode(splits):
    _, _, vocab = splits
    net = small_lstm(dropout=0.9)
    texts = {helpers.predict_ch8("the ", 30, net, vocab, "cpu") for _ in range(3)}
    assert len(texts) == 1  # with dropout on, three runs would differ
    assert net.training
    net.eval()
    helpers.predict_ch8("the ", 3, net, vocab, "cpu")
    assert not net.training


def test_predict_ch8_refuses_an_empty_prefix(splits):
    _, _, vocab = splits
    with pytest.raises(ValueError, match=r"prefix must be a non-empty string .*'time traveller', got ''"):
        helpers.predict_ch8("", 10, small_lstm(), vocab, "cpu")


def test_predict_ch8_refuses_characters_the_vocabulary_does_not_know(splits):
    _, _, vocab = splits
    with pytest.raises(ValueError, match=r"prefix 'The Time' has characters the vocabulary does not know: \['T'\]"):
        helpers.predict_ch8("The Time", 10, small_lstm(), vocab, "cpu")


def test_evaluate_perplexity_of_a_uniform_model_is_the_vocab_size(splits):
    _, valid_iter, _ = splits
    net = small_lstm()
    with torch.no_grad():
        net.linear.weight.zero_()
        net.linear.bias.zero_()
    assert helpers.evaluate_perplexity(net, valid_iter, "cpu") == pytest.approx(V, rel=1e-4)


def test_evaluate_perplexity_takes_int32_targets(splits):
    _, valid_iter, _ = splits
    net = small_lstm()
    int32 = [(X.int(), Y.int()) for X, Y in valid_iter]
    assert helpers.evaluate_perplexity(net, int32, "cpu") == pytest.approx(
        helpers.evaluate_perplexity(net, valid_iter, "cpu"), rel=1e-6)


def test_evaluate_perplexity_refuses_an_empty_iterator():
    with pytest.raises(ValueError, match=r"evaluate_perplexity: data_iter has no minibatches.*would read 1\.0"):
        helpers.evaluate_perplexity(small_lstm(), [], "cpu")


def test_unigram_perplexity_is_the_vocab_size_for_uniform_text_and_lower_for_skewed():
    assert helpers.unigram_perplexity(list(range(V)), [0, 5, 27], V) == pytest.approx(V)
    skewed = [1] * 90 + [2] * 10
    assert helpers.unigram_perplexity(skewed, [1] * 9 + [2], V) < 3
    # A held-out token never seen in training is unlikely, not impossible.
    assert math.isfinite(helpers.unigram_perplexity(skewed, [3], V))


@pytest.mark.parametrize("train, valid, words", [
    ([], [1], r"train_corpus is empty"),
    ([1, 2], [], r"valid_corpus is empty"),
    ([1.5, 2.0], [1], r"train_corpus must hold integer token indices, got torch\.float32 values such as 1\.5"),
    ([1, 30], [1], r"train_corpus has token indices from 1 to 30, outside .*\[0, 27\]; pass vocab_size=len\(vocab\)"),
    ([1, 2], [-1], r"valid_corpus has token indices from -1 to -1, outside"),
    (["a", "b"], [1], r"train_corpus must be a list of integer token indices"),
])
def test_unigram_perplexity_refuses_bad_corpora(train, valid, words):
    with pytest.raises(ValueError, match=words):
        helpers.unigram_perplexity(train, valid, V)


def test_layer_grad_norms_groups_the_gradients_by_layer():
    net = helpers.stacked_rnn("GRU", V, 8, 2)
    y, _ = net(torch.randint(0, V, (2, 3)), None)
    y.sum().backward()
    assert set(helpers.layer_grad_norms(net)) == {"layer 1", "layer 2", "output"}


def test_layer_grad_norms_sees_every_layer_of_a_hand_built_stack():
    """RNNStack's parameters are layers.0.weight_ih_l0 ... layers.2.weight_hh_l0: three layers, not one."""
    from helpers.stacks import RNNStack
    net = RNNStack(V, 8, 3, cell="GRU", embed_size=4)
    y, _ = net(torch.randint(0, V, (2, 3)), net.begin_state("cpu", 2))
    y.sum().backward()
    norms = helpers.layer_grad_norms(net)
    assert set(norms) == {"embedding", "layer 1", "layer 2", "layer 3", "output"}
    by_hand = torch.sqrt(sum((p.grad ** 2).sum() for p in net.layers[1].parameters()))
    assert norms["layer 2"] == pytest.approx(float(by_hand))


def test_layer_grad_norms_of_a_scratch_model_are_per_tensor():
    from tests.test_models import scratch_rnn_parts
    net = helpers.RNNModelScratch(V, 4, "cpu", *scratch_rnn_parts())
    y, _ = net(torch.randint(0, V, (2, 3)), net.begin_state(2, "cpu"))
    y.sum().backward()
    assert set(helpers.layer_grad_norms(net)) == {f"param {i}" for i in range(5)}


def test_evaluate_perplexity_refuses_a_model_whose_outputs_are_nan(splits):
    _, valid_iter, _ = splits
    net = small_lstm()
    with torch.no_grad():
        net.linear.bias.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"evaluate_perplexity: the loss on data_iter is nan: the model's outputs "
                                         r"hold NaN or inf"):
        helpers.evaluate_perplexity(net, valid_iter, "cpu")
    assert net.training


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a GPU 7")
def test_evaluate_perplexity_names_a_gpu_that_is_not_there(splits):
    _, valid_iter, _ = splits
    with pytest.raises(ValueError, match=r"device='cuda:7' but PyTorch sees .*Use device=d2l\.try_gpu\(\)"):
        helpers.evaluate_perplexity(small_lstm(), valid_iter, "cuda:7")
