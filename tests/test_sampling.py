"""helpers/sampling.py: temperature and top-k sampling, greedy at temperature 0, argument checks."""
import collections

import pytest
import torch
from torch import nn

import helpers
from helpers.sampling import next_token_probs, sample_text

VOCAB = helpers.Vocab(list("aabbbccccdde"))  # <unk>, c, b, a, d, e
LOGITS = torch.tensor([-40.0, 2.0, 1.0, 0.5, 0.0, -1.0])  # <unk> is (all but) never drawn


class FixedLogits(nn.Module):
    """A fake language model: the same logits whatever it reads; remembers its mode."""

    def __init__(self, logits=LOGITS):
        super().__init__()
        self.register_buffer("logits", logits)
        self.modes = []

    def forward(self, X, state):
        self.modes.append(self.training)
        return self.logits.expand(X.numel(), -1).clone(), state

    def begin_state(self, device, batch_size=1):
        return torch.zeros(1, batch_size, 1, device=device)


def frequencies(text):
    counts = collections.Counter(text)
    return torch.tensor([counts[t] / len(text) for t in VOCAB.idx_to_token])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampled_frequencies_match_softmax_of_logits_over_temperature(temperature):
    n = 4000
    text = sample_text("a", n, FixedLogits(), VOCAB, "cpu", temperature=temperature,
                       generator=torch.Generator().manual_seed(0))[1:]
    assert len(text) == n
    expected = torch.softmax(LOGITS / temperature, dim=0)
    # 5 standard errors of a frequency estimated from n draws.
    assert torch.allclose(frequencies(text), expected, atol=5 * 0.5 / n ** 0.5)


def test_top_k_never_samples_outside_the_k_most_likely_and_renormalises():
    text = sample_text("a", 3000, FixedLogits(), VOCAB, "cpu", temperature=1.5, top_k=2,
                       generator=torch.Generator().manual_seed(1))[1:]
    assert set(text) == {"c", "b"}  # the two largest logits
    p = torch.softmax(LOGITS[1:3] / 1.5, dim=0)
    assert frequencies(text)[1] == pytest.approx(float(p[0]), abs=0.05)
    probs = next_token_probs(LOGITS, 1.0, top_k=3)
    assert int((probs > 0).sum()) == 3 and float(probs.sum()) == pytest.approx(1.0)


def test_temperature_zero_is_greedy_and_equals_predict_ch8():
    vocab = helpers.Vocab(list("the time machine by h g wells"))
    helpers.set_seed(0)
    net = helpers.stacked_rnn("LSTM", len(vocab), 16, 2)
    expected = helpers.predict_ch8("time ", 40, net, vocab, "cpu")
    assert sample_text("time ", 40, net, vocab, "cpu", temperature=0) == expected
    assert sample_text("time ", 40, net, vocab, "cpu", temperature=0, top_k=1) == expected
    # Greedy on the fake net: always the largest logit.
    assert sample_text("a", 5, FixedLogits(), VOCAB, "cpu", temperature=0) == "accccc"


def test_a_generator_makes_draws_repeat_and_the_prefix_is_kept():
    net = FixedLogits()
    draw = lambda seed: sample_text("ab", 50, net, VOCAB, "cpu", generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert draw(3) == draw(3)
    assert draw(3) != draw(4)
    assert draw(3).startswith("ab") and len(draw(3)) == 52
    assert sample_text("abc", 0, net, VOCAB, "cpu") == "abc"


def test_net_is_in_eval_mode_while_sampling_and_restored_afterwards():
    net = FixedLogits()
    net.train()
    sample_text("ab", 3, net, VOCAB, "cpu")
    assert net.modes == [False] * 4 and net.training
    net.eval()
    sample_text("ab", 3, net, VOCAB, "cpu")
    assert not net.training


@pytest.mark.parametrize("kwargs, words", [
    (dict(prefix=""), ["prefix", "''", "non-empty"]),
    (dict(prefix=5), ["prefix", "5"]),
    (dict(prefix="aZ"), ["prefix", "'Z'", "vocabulary"]),
    (dict(num_preds=-1), ["num_preds", "-1", ">= 0"]),
    (dict(num_preds=2.5), ["num_preds", "2.5"]),
    (dict(temperature=-0.5), ["temperature", "-0.5", ">= 0"]),
    (dict(temperature=float("nan")), ["temperature", "nan"]),
    (dict(temperature="hot"), ["temperature", "'hot'"]),
    (dict(top_k=0), ["top_k", "0", "len(vocab)=6"]),
    (dict(top_k=7), ["top_k", "7", "len(vocab)=6"]),
    (dict(top_k=2.0), ["top_k", "2.0"]),
])
def test_bad_arguments_raise_before_any_work_naming_argument_value_and_fix(kwargs, words):
    net = FixedLogits()
    args = dict(prefix="ab", num_preds=3, temperature=1.0, top_k=None) | kwargs
    with pytest.raises(ValueError) as err:
        sample_text(args.pop("prefix"), args.pop("num_preds"), net, VOCAB, "cpu", **args)
    for word in words:
        assert word in str(err.value)
    assert net.modes == []  # nothing ran


def test_generator_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match="generator must be None or a torch.Generator"):
        sample_text("ab", 3, FixedLogits(), VOCAB, "cpu", generator=0)


# ---------------------------------------------------------------- issue 22: next_token_probs and the device

@pytest.mark.parametrize("kwargs, words", [
    (dict(temperature=-1), ["temperature must be a finite number >= 0", "-1"]),  # would invert the distribution
    (dict(temperature=float("nan")), ["temperature", "nan"]),
    (dict(temperature=float("inf")), ["temperature", "inf"]),
    (dict(logits=torch.tensor([1.0, float("nan")])), ["logits hold NaN or +inf"]),
    (dict(logits=torch.tensor([1.0, float("inf")])), ["logits hold NaN or +inf"]),
    (dict(logits=torch.full((2, 3), -float("inf"))), ["logits are all -inf"]),
    (dict(logits=torch.tensor([1, 2])), ["logits must be a float tensor", "torch.int64"]),
    (dict(top_k=0), ["top_k must be None", "whole number >= 1", "got 0"]),
    (dict(top_k=-1), ["top_k", "-1"]),
    (dict(top_k=1.5), ["top_k", "1.5"]),
    (dict(top_k=True), ["top_k", "True"]),
])
def test_next_token_probs_refuses_what_sample_text_refuses(kwargs, words):
    args = dict(logits=LOGITS, temperature=1.0, top_k=None) | kwargs
    with pytest.raises(ValueError) as err:
        next_token_probs(args.pop("logits"), **args)
    for word in words:
        assert word in str(err.value)


def test_next_token_probs_keeps_minus_infinity_as_impossible_and_a_large_top_k_as_all():
    probs = next_token_probs(torch.tensor([0.0, -float("inf"), 1.0]), 1.0, top_k=10)
    assert float(probs[1]) == 0 and float(probs.sum()) == pytest.approx(1.0)


def test_a_model_with_nan_outputs_is_named_when_sampling():
    with pytest.raises(ValueError, match="logits hold NaN"):
        sample_text("ab", 3, FixedLogits(torch.full((6,), float("nan"))), VOCAB, "cpu")


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a GPU 7")
@pytest.mark.parametrize("generate", [
    lambda device: sample_text("ab", 3, FixedLogits(), VOCAB, device),
    lambda device: helpers.predict_ch8("ab", 3, FixedLogits(), VOCAB, device),
])
def test_a_gpu_that_is_not_there_is_named_before_any_work(generate):
    with pytest.raises(ValueError, match=r"device='cuda:7' but PyTorch sees .*Use device=d2l\.try_gpu\(\)"):
        generate("cuda:7")


def test_predict_ch8_is_sample_texts_greedy_path_with_its_own_name_in_messages():
    net = FixedLogits()
    assert helpers.predict_ch8("ab", 5, net, VOCAB, "cpu") == sample_text("ab", 5, net, VOCAB, "cpu", temperature=0)
    with pytest.raises(ValueError, match=r"^predict_ch8: num_preds must be a whole number >= 0"):
        helpers.predict_ch8("ab", -1, net, VOCAB, "cpu")
    assert net.modes == [False] * 12
