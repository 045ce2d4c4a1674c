"""Exercise checks: test a learner's function against a reference and explain what is wrong.

Every ``check_*`` function takes the learner's function, runs it on small fixed cases
(shapes, dtypes, values against a reference written here, gradient flow where it matters)
and either prints one short deterministic line starting with "✓" or raises
:class:`CheckFailed` (an ``AssertionError``) with a message a learner can act on: what was
expected, what was received, and the likely mistake. ``NotImplementedError`` raised by the
learner's code (the student version's ``raise NotImplementedError("Exercise: ...")``) passes
through unchanged; any other error is turned into a ``CheckFailed`` that quotes it and adds a
hint. Conventions follow d2l: ``X @ W`` with ``W_xh`` of shape (num_inputs, num_hiddens),
1-D biases, inputs time-major (num_steps, batch_size, vocab_size).

One module per notebook (``nb01_mlp`` ... ``nb05_experiments``), each ending with its
reference solutions; ``core`` holds what they share. Use them as ``from helpers import checks;
checks.check_rnn_2(rnn_2)``.
"""
from .core import CheckFailed
from .nb01_mlp import check_make_windows, check_perplexity
from .nb02_rnn import check_init_rnn_state, check_rnn_step
from .nb03_rnn_2 import check_get_params_2, check_init_rnn_2_state, check_rnn_2
from .nb04_lstm import check_lstm_params, check_lstm_shapes
from .nb05_experiments import check_deep_begin_state

__all__ = [
    "CheckFailed",
    "check_perplexity", "check_make_windows",
    "check_rnn_step", "check_init_rnn_state",
    "check_get_params_2", "check_init_rnn_2_state", "check_rnn_2",
    "check_lstm_shapes", "check_lstm_params",
    "check_deep_begin_state",
]
