"""helpers/checks/core.py and the package: every check passes a right answer with one "✓" line, fast,
without moving the random stream; lets the learner's NotImplementedError through; turns any other
error into a CheckFailed that quotes it; and explains a result passed instead of a function."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from helpers import checks
from helpers.checks import CheckFailed

from . import (
    test_nb01_mlp,
    test_nb02_bptt,
    test_nb02_rnn,
    test_nb03_rnn_2,
    test_nb03_rnn_L,
    test_nb04_lstm,
    test_nb04_lstm_step,
    test_nb05_experiments,
    test_nb06_depth,
    test_nb06_sampling,
)
from .util import fails

CORRECT = {**test_nb01_mlp.CORRECT, **test_nb02_rnn.CORRECT, **test_nb02_bptt.CORRECT,
           **test_nb03_rnn_2.CORRECT, **test_nb03_rnn_L.CORRECT,
           **test_nb04_lstm.CORRECT, **test_nb04_lstm_step.CORRECT, **test_nb05_experiments.CORRECT,
           **test_nb06_depth.CORRECT, **test_nb06_sampling.CORRECT}


def test_every_api_check_exists_and_check_failed_is_an_assertion_error():
    assert set(CORRECT) == {name for name in checks.__all__ if name.startswith("check_")}
    assert issubclass(CheckFailed, AssertionError)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_implementation_passes_with_one_deterministic_line(name, capsys):
    check = getattr(checks, name)
    rng = torch.get_rng_state()
    assert check(CORRECT[name]) is None  # nothing for Jupyter to echo after the line
    first = capsys.readouterr().out
    check(CORRECT[name])
    second = capsys.readouterr().out
    assert first == second
    assert first.startswith("✓ ") and first.count("\n") == 1
    assert torch.equal(rng, torch.get_rng_state()), "a check must not move the global random stream"


class TensorOps(TorchDispatchMode):
    """Counts the tensor operations PyTorch runs (every aten call, forward and backward) inside it."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


# The most tensor operations one check may run: the largest check, rnn_backward's gradcheck over
# T steps, runs about 33,000 (about 0.6 s on a slow core); most run a few hundred.
MAX_TENSOR_OPS = 40_000


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_check_is_fast(name, capsys):
    """Work, not wall time: the count of tensor operations is the same on any machine, however busy."""
    check = getattr(checks, name)
    with TensorOps() as ops:
        check(CORRECT[name])
    assert capsys.readouterr().out.startswith("✓ ")
    assert ops.count <= MAX_TENSOR_OPS, f"{name} runs {ops.count} tensor operations"


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_not_implemented_error_propagates_unchanged(name):
    def stub(*args):
        raise NotImplementedError("Exercise: write this part")
    with pytest.raises(NotImplementedError, match="^Exercise: write this part$") as info:
        getattr(checks, name)(stub)
    assert not isinstance(info.value, CheckFailed)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_other_errors_become_check_failed_with_original_text_and_hint(name):
    def broken(*args):
        raise KeyError("no such thing")
    message = fails(getattr(checks, name), broken, "raised KeyError", "no such thing", "Hint:")
    assert "line" in message  # points at the learner's line


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_passing_the_result_instead_of_the_function_is_explained(name):
    fails(getattr(checks, name), 42, "pass the function itself")



# ---------------------------------------------------------------------------------------
# yours_or_builtin: the learner's function if it passes, else a PyTorch stand-in, with one line
# ---------------------------------------------------------------------------------------

from helpers.checks.core import BUILTINS  # noqa: E402

EXERCISES = {"make_windows", "window_features", "rnn_step", "rnn_step_backward", "rnn_backward", "get_params_2",
             "rnn_2", "rnn_L", "predict_lstm_shapes", "lstm_params_per_layer", "lstm_step", "deep_begin_state",
             "stack_step", "residual_step", "sample_next", "one_layer_width"}
# stack_step: nn.RNN(dropout=) draws masks the check's recording module cannot see; window_features:
# the stand-in is the one-hot product the exercise replaces, which its check refuses on purpose
NOT_SEEN_BY_ITS_CHECK = {"stack_step", "window_features"}


def test_every_exercise_has_a_stand_in_and_every_stand_in_a_check():
    assert set(BUILTINS) == EXERCISES
    checked = {check.__name__ for check, _, _ in BUILTINS.values()}
    assert checked <= set(CORRECT)


@pytest.mark.parametrize("name", sorted(EXERCISES - NOT_SEEN_BY_ITS_CHECK))
def test_stand_in_passes_its_own_check(name, capsys):
    check, stand_in, _ = BUILTINS[name]
    check(stand_in)
    assert capsys.readouterr().out.startswith("✓ ")


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_right_answer_is_returned_unchanged_without_a_word(name, capsys):
    check, _, _ = BUILTINS[name]
    mine = CORRECT[check.__name__]
    assert checks.yours_or_builtin(name, mine) is mine
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_an_unsolved_exercise_falls_back_with_one_line(name, capsys):
    def stub(*args):
        raise NotImplementedError("Exercise: write this part")
    _, stand_in, what = BUILTINS[name]
    assert checks.yours_or_builtin(name, stub) is stand_in
    out = capsys.readouterr().out
    assert out == f"using {what} in place of your {name}: it raised NotImplementedError: Exercise: write this part\n"


def test_a_wrong_answer_falls_back_saying_what_the_check_found(capsys):
    def rnn_step(X_t, H, W_xh, W_hh, b_h):
        return X_t @ W_xh + H @ W_hh + b_h
    assert checks.yours_or_builtin("rnn_step", rnn_step) is BUILTINS["rnn_step"][1]
    out = capsys.readouterr().out
    assert out.startswith("using nn.RNNCell in place of your rnn_step: its check failed: rnn_step with X_t (2, 5)")
    assert "missing tanh" in out and out.count("\n") == 1 and len(out) <= 300


def test_rnn_2_falls_back_to_nn_rnn_with_the_same_parameters(capsys):
    from helpers.checks.nb03_mistakes import rnn_2_case
    rnn_2 = checks.yours_or_builtin("rnn_2", lambda *args: 1 / 0)
    out = capsys.readouterr().out
    assert out.startswith("using nn.RNN(num_layers=2) in place of your rnn_2: its check failed: "
                          "rnn_2 raised ZeroDivisionError: division by zero")
    inputs, state, params = rnn_2_case(5, 4, 3, 2, 0)
    params = [p.requires_grad_(True) for p in params]
    outputs, (H1, H2) = rnn_2(inputs, state, params)
    outputs.sum().backward()
    assert outputs.shape == (6, 5) and H1.shape == H2.shape == (2, 4)
    assert all(p.grad is not None for p in params)


def test_unknown_exercise_is_refused():
    with pytest.raises(ValueError, match="no built-in stand-in for 'rnn_9'"):
        checks.yours_or_builtin("rnn_9", print)


def test_falling_back_leaves_the_random_stream_alone(capsys):
    rng = torch.get_rng_state()
    for name in sorted(EXERCISES):
        checks.yours_or_builtin(name, lambda *args: None)
    assert torch.equal(rng, torch.get_rng_state())
