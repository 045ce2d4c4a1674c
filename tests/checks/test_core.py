"""helpers/checks/core.py and the package: every check passes a right answer with one "✓" line, fast,
without moving the random stream; lets the learner's NotImplementedError through; turns any other
error into a CheckFailed that quotes it; and explains a result passed instead of a function."""
import time

import pytest
import torch

from helpers import checks
from helpers.checks import CheckFailed

from . import test_nb01_mlp, test_nb02_rnn, test_nb03_rnn_2, test_nb04_lstm, test_nb05_experiments
from .util import fails

CORRECT = {**test_nb01_mlp.CORRECT, **test_nb02_rnn.CORRECT, **test_nb03_rnn_2.CORRECT,
           **test_nb04_lstm.CORRECT, **test_nb05_experiments.CORRECT}


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


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_check_is_fast(name, capsys):
    check = getattr(checks, name)
    check(CORRECT[name])  # warm up torch kernels
    start = time.perf_counter()
    check(CORRECT[name])
    # The budget is 0.2 s; allow for the shared, noisy 2-core machine.
    assert time.perf_counter() - start < 0.6


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

