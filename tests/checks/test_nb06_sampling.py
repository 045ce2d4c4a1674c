"""helpers/checks/nb06_sampling.py: sample_next checked by distribution statistics (chi-square), right
answers, each classic mistake named by the temperature the draws follow, hidden cases, the stand-in."""
import pytest
import torch

from helpers import checks
from helpers.checks.nb06_sampling import torch_sample_next

from .util import fails


def sample_next(logits, temperature, generator):
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


CORRECT = {"check_sample_next": sample_next}


def _with(T_used):
    def wrong(logits, temperature, generator):
        return sample_next(logits, T_used(temperature) if temperature else 0, generator)
    return wrong


@pytest.mark.parametrize("wrong, phrases", [
    (_with(lambda T: 1 / T), ["follow temperature 2", "multiplied by T"]),
    (_with(lambda T: 1.0), ["temperature is ignored"]),
    (_with(lambda T: T * T), ["divided twice"]),
    (lambda l, T, g: l.argmax(dim=-1), ["every draw is the most likely character"]),
    (lambda l, T, g: torch.multinomial(torch.softmax(l / T, dim=-1), 1, generator=g).squeeze(1),
     ["temperature 0", "greedy"]),
    (lambda l, T, g: sample_next(l, T, None), ["equally seeded generators", "generator=generator"]),
    (lambda l, T, g: sample_next(l, T, g).int(), ["torch.long"]),
    (lambda l, T, g: sample_next(l, T, g)[:, None] if T else sample_next(l, T, g), ["one index per row"]),
    (lambda l, T, g: l.argmax(-1) if T == 0 else torch.multinomial(torch.softmax(l / T, dim=0), 1,
                                                                    generator=g).squeeze(1),
     ["do not follow softmax(logits / T) for each row"]),
])
def test_sample_next_mistakes(wrong, phrases):
    fails(checks.check_sample_next, wrong, *phrases)


def test_in_place_division_is_refused():
    def in_place(logits, T, g):
        if T == 0:
            return logits.argmax(-1)
        logits /= T
        return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=g).squeeze(1)
    fails(checks.check_sample_next, in_place, "in place")


@pytest.mark.parametrize("seed, sizes, temperatures", [(3, (2, 28), (0.3, 1.5)), (4, (5, 3), (0.8,)),
                                                       (5, None, (4.0,))])
def test_hidden_cases_and_stand_in(seed, sizes, temperatures, capsys):
    checks.check_sample_next(sample_next, seed=seed, sizes=sizes, temperatures=temperatures)
    checks.check_sample_next(torch_sample_next, seed=seed, sizes=sizes, temperatures=temperatures)
    assert capsys.readouterr().out.count("✓") == 2


def test_the_course_sampler_is_refused_inside_the_exercise():
    import helpers as d2l

    def borrowed(logits, T, g):
        return torch.multinomial(d2l.next_token_probs(logits, T), 1, generator=g).squeeze(1)
    fails(checks.check_sample_next, borrowed, "the course's own sampler")
    assert d2l.next_token_probs(torch.zeros(3), 1.0).shape == (3,)  # restored afterwards
