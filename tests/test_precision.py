"""helpers/precision.py: what 'auto' picks, bf16 against fp32, and the bf16 LSTM a CPU cannot run."""
import pytest
import torch
from torch import nn

import helpers
from helpers import precision as hp

V = 28


@pytest.fixture(scope="module")
def splits():
    """Time-major batches of 16 x 20 characters from the first 6000 of The Time Machine."""
    return helpers.load_corpus_splits(16, 20, max_tokens=6000)


def small_lstm(hidden=32, layers=1):
    torch.manual_seed(0)  # the same weights for every precision
    return helpers.RNNModel(nn.LSTM(V, hidden, num_layers=layers), V)


@pytest.mark.skipif(not hp._cpu_has_bf16(), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_bf16_autocast_gives_the_same_perplexity_as_fp32(splits):
    train_iter, _, vocab = splits
    ppl = {}
    for precision in ["fp32", "bf16"]:
        net = small_lstm(hidden=64, layers=2)
        helpers.set_seed(1)
        hist = helpers.train_ch8(net, train_iter, vocab, 1.0, 3, "cpu", precision=precision, verbose=False)
        assert hist.precision == precision
        ppl[precision] = hist.final_train_ppl
    assert abs(ppl["bf16"] - ppl["fp32"]) / ppl["fp32"] < 0.02, ppl


def test_bf16_lstm_on_a_cpu_without_bf16_is_refused_before_training(splits, monkeypatch):
    train_iter, _, vocab = splits
    monkeypatch.setattr(hp, "_cpu_has_bf16", lambda: False)
    assert helpers.resolve_precision("auto", "cpu") == "fp32"
    net = small_lstm()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=r"precision='bf16': this CPU has no native bf16 .* use precision='auto'"):
        helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", precision="bf16", verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # nothing trained
    with pytest.raises(ValueError, match=r"precision='bf16': this CPU has no native bf16"):  # the one-epoch loop too
        helpers.train_epoch_ch8(net, train_iter, nn.CrossEntropyLoss(), torch.optim.Adam(net.parameters()), "cpu",
                                False, precision="bf16")
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_precision_auto_and_bad_values():
    assert helpers.resolve_precision("auto", "cpu") in ("bf16", "fp32")
    assert helpers.resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        helpers.resolve_precision("half", "cpu")
    with pytest.raises(ValueError, match="needs a GPU"):
        helpers.resolve_precision("fp16", "cpu")


def test_the_cpu_flags_are_read_from_the_one_cpuinfo_reader(monkeypatch):
    monkeypatch.setattr(hp, "cpuinfo", lambda: "flags\t\t: fpu avx2 avx512_bf16 sse")
    assert hp._cpu_has_bf16() and hp.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(hp, "cpuinfo", lambda: "")  # not Linux
    assert not hp._cpu_has_bf16() and hp.resolve_precision("auto", "cpu") == "fp32"
