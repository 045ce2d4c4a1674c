"""Checks for notebook 06's `sample_next`: draw the next character with a temperature (温度).

Samples are random, so the check compares distributions, never exact strings: many draws from the
same logits, their counts against the probabilities `helpers.sampling.next_token_probs` gives
(a chi-square statistic), with a private generator so that the verdict is the same every run.
A wrong formula shows up as the temperature the samples actually follow (1/T, 1, T**2 ...).
"""
import contextlib
import math
from unittest import mock

import torch

from .. import sampling
from ..sampling import next_token_probs
from .core import CheckFailed, builtin, call, describe, generator, passed

__all__ = ["check_sample_next"]

HINT = ("logits is (batch, vocab); return one index per row, a (batch,) torch.long tensor: at temperature 0 the "
        "argmax of each row; above 0 a draw from softmax(logits / temperature) with "
        "torch.multinomial(probs, 1, generator=generator).")
DRAWS = 4000  # draws per row: a wrong temperature moves the counts far more than chance does


def chi_square(samples, probs):
    """Pearson's statistic of the samples (one row of draws per row of probs) against probs, per row.
    Characters expected fewer than 5 times are pooled into one bin, as the test requires."""
    counts = torch.nn.functional.one_hot(samples, probs.shape[-1]).sum(dim=1).double()
    expected = probs.double() * samples.shape[1]
    rare = expected < 5
    big = torch.where(rare, torch.zeros_like(counts), (counts - expected) ** 2 / expected.clamp_min(1e-12))
    rare_counts, rare_expected = (counts * rare).sum(dim=1), (expected * rare).sum(dim=1)
    pooled = (rare_counts - rare_expected) ** 2 / rare_expected.clamp_min(1.0)
    stat = big.sum(dim=1) + pooled
    return torch.where((rare_expected == 0) & (rare_counts > 0), torch.full_like(stat, math.inf), stat)


@contextlib.contextmanager
def own_work():
    """Refuse the course's sampler inside the learner's function: the exercise is to write it."""
    import helpers
    refuse = CheckFailed("sample_next called d2l.next_token_probs or d2l.sample_text, the course's own sampler: "
                         "the exercise is to write it, from torch.softmax and torch.multinomial.")
    with contextlib.ExitStack() as stack:
        for owner in (helpers, sampling):
            for name in ("next_token_probs", "sample_text"):
                stack.enter_context(mock.patch.object(owner, name, side_effect=refuse))
        yield


def draw(sample_next, logits, temperature, seed):
    """DRAWS samples of every row of logits, in one call: (rows, DRAWS)."""
    __tracebackhide__ = True
    rows, V = logits.shape
    batch = logits.repeat_interleave(DRAWS, dim=0)
    given = batch.clone()
    with own_work():
        got = call(sample_next, "sample_next", (given, temperature, generator(seed)), HINT)
    if not torch.equal(given, batch):
        raise CheckFailed(f"sample_next at temperature {temperature} changed the logits passed in (logits /= T "
                          f"works in place); compute logits / temperature into a new tensor.")
    if not torch.is_tensor(got) or tuple(got.shape) != (rows * DRAWS,) or got.dtype != torch.long:
        what = f"{describe(got)}" + (f" of {got.dtype}" if torch.is_tensor(got) else "")
        raise CheckFailed(f"sample_next on logits ({rows * DRAWS}, {V}) at temperature {temperature} should "
                          f"return a ({rows * DRAWS},) torch.long tensor, one index per row; you returned {what}.")
    if bool((got < 0).any() or (got >= V).any()):
        raise CheckFailed(f"sample_next returned indices outside 0..{V - 1}: draw from the {V} entries of each row.")
    return got.reshape(rows, DRAWS)


def check_sample_next(sample_next, *, seed=0, sizes=None, temperatures=(0.5, 1.0, 2.0)):
    """sample_next(logits, temperature, generator) -> (batch,) long: greedy at temperature 0, else one draw
    per row from softmax(logits / temperature), using the generator given.

    Hidden tests: another seed, sizes = (rows, vocab_size), other temperatures.
    """
    __tracebackhide__ = True
    rows, V = sizes if sizes is not None else (3, 6)
    logits = torch.randn(rows, V, generator=generator(seed)) * 1.5
    desc = f"sample_next on logits {describe(logits)}"
    with torch.random.fork_rng(devices=[]):
        with own_work():
            greedy = call(sample_next, "sample_next", (logits.clone(), 0, generator(seed)),
                          "at temperature 0 sampling is greedy (贪心): return logits.argmax(dim=-1) without "
                          "dividing (logits / 0 is inf or nan).")
        if not torch.is_tensor(greedy) or tuple(greedy.shape) != (rows,):
            raise CheckFailed(f"{desc} at temperature 0 should return ({rows},) indices; "
                              f"you returned {describe(greedy)}.")
        if not torch.equal(greedy.long(), logits.argmax(dim=1)):
            raise CheckFailed(f"{desc}: at temperature 0 sampling is greedy (贪心): return logits.argmax(dim=1) "
                              f"(dividing by 0 gives inf and nan); you returned {greedy.tolist()}, the argmax is "
                              f"{logits.argmax(dim=1).tolist()}.")
        for i, T in enumerate(temperatures):
            samples = draw(sample_next, logits, T, seed + 10 + i)
            critical = 20.0 + 3.0 * V  # far above chance (the statistic is about V - 1 when right)
            stats = chi_square(samples, next_token_probs(logits, T))
            if bool((stats < critical).all()):
                continue
            if bool((samples == logits.argmax(dim=1, keepdim=True)).all()):
                why = "every draw is the most likely character: at temperature > 0, draw with torch.multinomial"
            else:
                tried = {f"temperature {1 / T:g} (you multiplied by T instead of dividing)": 1 / T,
                         "temperature 1 (the temperature is ignored)": 1.0,
                         f"temperature {T * T:g} (you divided twice)": T * T,
                         f"temperature {math.sqrt(T):g} (you divided by sqrt(T))": math.sqrt(T)}
                why = next((f"your draws follow {name}" for name, other in tried.items() if other != T
                            and bool((chi_square(samples, next_token_probs(logits, other)) < critical).all())),
                           "your draws do not follow softmax(logits / T) for each row (is the softmax over the "
                           "last axis, dim=-1?)")
            raise CheckFailed(f"{desc} at temperature {T}: {DRAWS} draws per row do not follow softmax(logits / {T}) "
                              f"(chi-square {float(stats.max()):.0f}, chance gives about {V - 1}): {why}.")
        first = draw(sample_next, logits, 1.0, seed + 99)
        again = draw(sample_next, logits, 1.0, seed + 99)
    if not torch.equal(first, again):
        raise CheckFailed(f"{desc}: two calls with equally seeded generators gave different draws: pass "
                          f"generator=generator to torch.multinomial so that a seed repeats the text.")
    passed(f"sample_next: greedy at temperature 0; above 0 the draws follow softmax(logits / T) for T = "
           f"{', '.join(f'{T:g}' for T in temperatures)} (chi-square)")


@builtin("sample_next", check_sample_next, "torch.multinomial over helpers' next_token_probs")
def torch_sample_next(logits, temperature, generator=None):
    """torch.multinomial over next_token_probs(logits, temperature): one index per row."""
    probs = next_token_probs(logits, temperature)
    return torch.multinomial(probs, 1, generator=generator).reshape(-1)
