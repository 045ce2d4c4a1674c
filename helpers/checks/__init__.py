"""Exercise checks: test a learner's function against PyTorch and explain what is wrong.

Every ``check_*`` function takes the learner's function, runs it on small cases (shapes,
dtypes, values against PyTorch's own modules with the same weights, gradient flow where it
matters) and either prints one short deterministic line starting with "✓" or raises
:class:`CheckFailed` (an ``AssertionError``) with a message a learner can act on: what was
expected, what was received, and the likely mistake. ``NotImplementedError`` raised by the
learner's code (the student version's ``raise NotImplementedError("Exercise: ...")``) passes
through unchanged; any other error is turned into a ``CheckFailed`` that quotes it and adds a
hint. Conventions follow d2l: ``X @ W`` with ``W_xh`` of shape (num_inputs, num_hiddens),
1-D biases, inputs time-major (num_steps, batch_size, vocab_size).

Called with the function alone, a check runs the cases the notebook shows; keyword-only
``seed=`` and ``sizes=`` run it on other random cases (the graders' hidden tests).
``yours_or_builtin(name, fn)`` returns ``fn`` if it passes its check, else an equivalent built
from PyTorch's modules, so that a learner who is stuck can run the rest of the notebook.

One module per notebook topic, named after its notebook (``nb01_mlp``, ``nb02_rnn``, ``nb02_bptt``,
... ``nb06_sampling``; a notebook may have several); ``core`` holds what they share and
``modules`` runs PyTorch's modules on d2l-layout weights. Nothing here writes an exercise's
solution out by hand. Use them as ``from helpers import checks; checks.check_rnn_2(rnn_2)``.
"""
from .core import CheckFailed, yours_or_builtin
from .nb01_mlp import check_make_windows, check_window_features
from .nb02_bptt import check_rnn_backward
from .nb02_rnn import check_rnn_step, check_rnn_step_backward
from .nb03_rnn_2 import check_get_params_2, check_rnn_2
from .nb03_rnn_L import check_rnn_L
from .nb04_lstm import check_lstm_params, check_lstm_shapes
from .nb04_lstm_step import check_lstm_step
from .nb05_experiments import check_deep_begin_state
from .nb06_depth import check_one_layer_width, check_residual_step, check_stack_step
from .nb06_sampling import check_sample_next

__all__ = [
    "CheckFailed", "yours_or_builtin",
    "check_make_windows", "check_window_features",
    "check_rnn_step", "check_rnn_step_backward", "check_rnn_backward",
    "check_get_params_2", "check_rnn_2", "check_rnn_L",
    "check_lstm_shapes", "check_lstm_params", "check_lstm_step",
    "check_deep_begin_state",
    "check_stack_step", "check_residual_step", "check_one_layer_width", "check_sample_next",
]
