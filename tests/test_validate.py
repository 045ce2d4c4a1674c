"""helpers/_validate.py: the shared argument checks, each message worded once."""
import pytest
import torch

from helpers import _validate as v


def test_an_argument_error_is_both_a_value_error_and_a_type_error():
    assert issubclass(v.ArgumentError, ValueError) and issubclass(v.ArgumentError, TypeError)


@pytest.mark.parametrize("value", [2.5, 2.0, True, "2", None, 0])
def test_whole_refuses_what_is_not_a_whole_number_in_range(value):
    with pytest.raises(v.ArgumentError, match=rf"^who: n must be a whole number >= 1 \(a size\), got {value!r}"
                                              r"; for example n=3$"):
        v.whole(value, "n", who="who", what=" (a size)", example=3)


def test_whole_and_number_return_what_they_accept():
    assert v.whole(3, "n") == 3 and v.whole(-7, "n", None) == -7 and v.whole(0, "n", 0) == 0
    assert v.number(0.5, "lr", above=0) == 0.5 and v.number(float("inf"), "clip", above=0, finite=False)


@pytest.mark.parametrize("value, words", [
    (float("nan"), "lr must be a finite number > 0, got nan"), (0, "got 0"), ("1", "got '1'"),
    (float("inf"), "got inf"), (False, "got False")])
def test_number_refuses_nan_infinity_and_what_is_not_above_the_bound(value, words):
    with pytest.raises(v.ArgumentError, match=words):
        v.number(value, "lr", above=0)


def test_fraction_choice_and_top_k():
    assert v.fraction(0, "dropout", zero_ok=True, example=0.2) == 0
    with pytest.raises(v.ArgumentError, match=r"^share must be a number in \(0, 1\), got 0; for example share=0.1$"):
        v.fraction(0, "share", zero_ok=False, example=0.1)
    with pytest.raises(v.ArgumentError, match=r"^cell must be one of \['GRU', 'RNN'\], got 'TCN'$"):
        v.choice("TCN", "cell", {"RNN": 1, "GRU": 3})
    with pytest.raises(v.ArgumentError, match=r"whole number from 1 to len\(vocab\)=5, got 6"):
        v.top_k(6, most=5)
    assert v.top_k(None) is None and v.top_k(6) == 6


def test_prefix_is_checked_once_for_every_generator():
    vocab = type("V", (), {"token_to_idx": {"a": 1, "b": 2}})()
    with pytest.raises(v.ArgumentError, match=r"^gen: prefix must be a non-empty string .*got ''$"):
        v.prefix("", vocab, who="gen")
    with pytest.raises(v.ArgumentError, match=r"prefix 'aZ' has characters the vocabulary does not know: \['Z'\]"):
        v.prefix("aZ", vocab)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:7", torch.device("cuda", 1)])
def test_a_cuda_device_on_a_machine_without_a_gpu_says_to_use_try_gpu(device):
    with pytest.raises(v.ArgumentError, match=r"but PyTorch sees no GPU here.*device=d2l\.try_gpu\(\)"):
        v.device(device)


def test_a_device_name_torch_does_not_know():
    with pytest.raises(v.ArgumentError, match=r"device must be a torch.device or a name such as 'cpu'.*got 'gpu'"):
        v.device("gpu")
    assert v.device("cpu") == "cpu"


def test_describe_says_what_a_value_is():
    assert v.describe(torch.zeros(2, 3)) == "a torch.float32 tensor of shape (2, 3)"
    assert v.describe(5) == "int 5"
    assert v.describe((torch.zeros(1), 2)) == "a tuple of 2: (a torch.float32 tensor of shape (1,), int 2)"
