"""Helpers for the deep-rnn-notebooks course.

`import helpers as d2l` gives the d2l chapter-8 names learners already know
(`load_data_time_machine`, `Vocab`, `RNNModelScratch`, `RNNModel`, `train_ch8`,
`predict_ch8`, `grad_clipping`, `try_gpu`, ...) with the same signatures and
defaults, plus a few extras (held-out splits, a training history, checks).
"""
from .data import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
from .plots import *  # noqa: F401,F403
