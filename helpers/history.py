"""History: what `train_ch8` measured, and the two ways a run can end early (divergence, Ctrl-C).

A `History` holds one entry per finished epoch in each of its lists, so `train_ppl`,
`valid_ppl` (when there is held-out data), `tokens_per_sec` and `seconds` always have
the same length, even after an interrupt: an epoch that was cut is not recorded.
"""
import math
from dataclasses import dataclass, field

__all__ = ["History", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message says what to try (`err.history` has the run)."""


@dataclass
class History:
    """What `train_ch8` measured, one entry per epoch (grad_norms: one per step when tracked)."""
    train_ppl: list = field(default_factory=list)
    valid_ppl: list = field(default_factory=list)
    tokens_per_sec: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    precision: str = "fp32"

    @property
    def final_train_ppl(self):
        return self.train_ppl[-1] if self.train_ppl else math.nan

    @property
    def final_valid_ppl(self):
        return self.valid_ppl[-1] if self.valid_ppl else math.nan

    def add_epoch(self, train_ppl, valid_ppl, tokens_per_sec, seconds):
        """Record one finished epoch in every list at once (valid_ppl None: no held-out data)."""
        self.train_ppl.append(train_ppl)
        if valid_ppl is not None:
            self.valid_ppl.append(valid_ppl)
        self.tokens_per_sec.append(tokens_per_sec)
        self.seconds.append(seconds)
