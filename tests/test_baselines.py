"""helpers/baselines.py: notebook 01's window MLP scored on exactly the protocol's held-out characters."""
import math

import pytest
import torch

from helpers import baselines, protocol

# a text with a rule a window of 2 can learn: after "ab" comes "c", after "bc" comes "a", ... (plus noise)
g = torch.Generator().manual_seed(0)
TOKENS = [(i % 3) + 1 if torch.rand(1, generator=g).item() > 0.05 else 4 for i in range(10 * 16_500)]
TRAIN, HELD_OUT = protocol.split(TOKENS)


def test_window_mlp_learns_the_rule_and_scores_the_protocols_characters():
    result = baselines.window_mlp(TRAIN, HELD_OUT, 5, k=2, num_hiddens=16, num_epochs=2, max_train_tokens=20_000)
    assert result.tokens_read == 2 * (20_000 - 2) and result.updates == 2 * math.ceil((20_000 - 2) / 4096)
    assert result.params == 2 * 5 * 16 + 16 + 16 * 5 + 5
    targets = torch.tensor(protocol.scored_targets(HELD_OUT))  # what the held-out number is the perplexity of
    noise = (targets == 4).float().mean().item()
    assert 1.0 < result.held_out_ppl < 1.6 and noise > 0.03  # near 1: the rule is learnt, the noise is not
    assert result.label == "window MLP, k = 2, 16 units"


def test_window_mlp_is_repeatable_and_leaves_the_global_random_stream_alone():
    state = torch.get_rng_state()
    a = baselines.window_mlp(TRAIN, HELD_OUT, 5, k=1, num_hiddens=8, num_epochs=1, max_train_tokens=5_000, seed=3)
    b = baselines.window_mlp(TRAIN, HELD_OUT, 5, k=1, num_hiddens=8, num_epochs=1, max_train_tokens=5_000, seed=3)
    assert torch.equal(state, torch.get_rng_state())
    assert (a.train_ppl, a.held_out_ppl) == (b.train_ppl, b.held_out_ppl)


@pytest.mark.parametrize("kwargs, phrase", [({"k": 0}, "k must be"), ({"num_epochs": 1.5}, "num_epochs must be"),
                                            ({"k": 3, "max_train_tokens": 3}, "raise max_train_tokens")])
def test_window_mlp_refuses_bad_arguments(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        baselines.window_mlp(TRAIN, HELD_OUT, 5, **kwargs)
