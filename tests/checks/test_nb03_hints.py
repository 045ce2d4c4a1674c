"""helpers/checks/nb03_hints.py: when rnn_2 raises, the hint says what is wrong first, then where, and
never writes out a line of the solution."""
import re

import pytest
import torch

from helpers import checks
from helpers.checks import nb03_hints

from .test_nb03_rnn_2 import rnn_2
from .util import fails

CODE = re.compile(r"@|torch\.|tanh\(|= state|return |\.cat\(")  # what a line of the solution would hold


@pytest.fixture(autouse=True)
def fresh_steps():
    nb03_hints._seen.clear()
    yield
    nb03_hints._seen.clear()


def rnn_2_one_state(inputs, state, params):
    H, = state  # copied from the one-layer forward: the state is a pair here
    return rnn_2(inputs, (H, H), params)


def test_the_same_error_gets_what_first_then_where():
    first = fails(checks.check_rnn_2, rnn_2_one_state, "raised ValueError", "H, = state", "what is wrong",
                  "another number of items")
    assert "Where to look" not in first and "run the check again" in first
    second = fails(checks.check_rnn_2, rnn_2_one_state, "what is wrong", "Where to look",
                   "state holds two tensors, one per layer")
    assert not CODE.search(second.split("Hint:")[1])


def errors():
    """An error of each kind rnn_2 can raise, with V = 5 and h = 4 (check_rnn_2's visible case)."""
    H, X, W_xh1, W_xh2 = torch.zeros(2, 4), torch.zeros(2, 5), torch.zeros(5, 4), torch.zeros(4, 4)
    made = []
    for attempt in (lambda: H @ W_xh1, lambda: X @ W_xh2, lambda: X @ W_xh1.T, lambda: H + torch.zeros(5),
                    lambda: torch.cat(H), lambda: [1, 2][2], lambda: exec("H3", {}),
                    lambda: (lambda a, b: 0)(*(1, 2, 3)), lambda: 1 / 0):
        try:
            attempt()
        except Exception as err:  # each raises
            made.append(err)
    return made


@pytest.mark.parametrize("index", range(9))
def test_no_hint_holds_code_and_the_second_adds_where(index):
    err = errors()[index]
    first, second = nb03_hints.rnn_2_hint(err, 5, 4), nb03_hints.rnn_2_hint(err, 5, 4)
    assert first.startswith("what is wrong:") and "Where to look" not in first
    assert second.startswith(first.split("\n")[0]) and "Where to look:" in second
    assert not CODE.search(first) and not CODE.search(second)


def test_a_product_that_mixes_the_layers_is_located():
    H_times_W_xh1, X_times_W_xh2, transposed = errors()[:3]
    for err, phrase in ((H_times_W_xh1, "Only layer 1's input weight has vocab_size rows"),
                        (X_times_W_xh2, "Only layer 1 reads X_t"), (transposed, "the wrong way round")):
        nb03_hints.rnn_2_hint(err, 5, 4)
        assert phrase in nb03_hints.rnn_2_hint(err, 5, 4)
