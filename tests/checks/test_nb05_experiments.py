"""helpers/checks/nb05_experiments.py: deep_begin_state for nn.RNN, nn.GRU and nn.LSTM."""
import pytest
import torch
from torch import nn

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def deep_begin_state(cell, num_layers, batch_size, num_hiddens):
    def zeros():
        return torch.zeros((num_layers, batch_size, num_hiddens))
    return (zeros(), zeros()) if cell == "LSTM" else zeros()



CORRECT = {"check_deep_begin_state": deep_begin_state}


def test_the_stand_in_state_is_what_the_modules_take_and_the_check_accepts(capsys):
    from helpers.checks.nb05_experiments import torch_begin_state
    for cell in ("RNN", "GRU", "LSTM"):
        module = getattr(nn, cell)(3, 4, num_layers=2)
        state = torch_begin_state(cell, 2, 2, 4)
        _, new_state = module(torch.zeros(5, 2, 3), state)
        shapes = [tuple(s.shape) for s in (state if cell == "LSTM" else (state,))]
        assert shapes == [tuple(s.shape) for s in (new_state if cell == "LSTM" else (new_state,))]
    checks.check_deep_begin_state(torch_begin_state)
    assert capsys.readouterr().out.startswith("✓ ")


@pytest.mark.parametrize("wrong, phrases", [
    (lambda cell, L, B, h: torch.zeros((L, B, h)), ["nn.LSTM needs a tuple (H, C)"]),
    (lambda cell, L, B, h: (torch.zeros((L, B, h)), torch.zeros((L, B, h))), ['nn.RNN takes a single tensor']),
    (lambda cell, L, B, h: torch.zeros((B, h)), ["should be (2, 3, 4): one state per layer", "you returned (3, 4)"]),
    (lambda cell, L, B, h: torch.zeros((B, L, h)) if cell != "LSTM" else None, ["layer axis comes first"]),
    (lambda cell, L, B, h: torch.ones((L, B, h)) if cell != "LSTM" else None, ["should be all zeros"]),
    (lambda cell, L, B, h: (torch.zeros((L, B, h)),) if cell == "LSTM" else torch.zeros((L, B, h)),
     ["tuple (H, C) of two", "a tuple of 1"]),
])
def test_deep_begin_state_mistakes(wrong, phrases):
    fails(checks.check_deep_begin_state, wrong, *phrases)


@pytest.mark.parametrize("seed, sizes", [(3, None), (4, None), (5, None), (0, ("GRU", 4, 1, 7))])
def test_deep_begin_state_hidden_cases(seed, sizes, capsys):
    from helpers.checks.nb05_experiments import torch_begin_state
    checks.check_deep_begin_state(deep_begin_state, seed=seed, sizes=sizes)
    checks.check_deep_begin_state(torch_begin_state, seed=seed, sizes=sizes)
    assert capsys.readouterr().out.count("✓") == 2
