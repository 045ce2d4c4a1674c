"""Helpers for the deep-rnn-notebooks course.

`import helpers as d2l` gives the d2l chapter-8/9 names learners already know
(`load_data_time_machine`, `Vocab`, `RNNModelScratch`, `RNNModel`, `train_ch8`,
`predict_ch8`, `grad_clipping`, `try_gpu`, `plot`, `Animator`, the tensor shortcuts
`d2l.tensor`, `d2l.reshape`, ...) with the same signatures and defaults, plus a few
extras (held-out splits, a training history, sampling, checks).

One thread: importing helpers calls `torch.set_num_threads(1)`, unless you chose a
number yourself (the environment variable OMP_NUM_THREADS or MKL_NUM_THREADS is set, or
torch's thread count is no longer its default). The course's models are small: a step
is many tiny operations, extra threads only wait for each other, and when another
program keeps a core busy they make training many times slower. For more threads, set
OMP_NUM_THREADS before starting Python or call `torch.set_num_threads(n)` after
`import helpers`.
"""
from .data import *
from .models import *
from .utils import *
from .history import *
from .evaluation import *
from .training import *
from .sampling import *
from .plots import *
from .compat import *
from .utils import one_thread_unless_chosen as _one_thread_unless_chosen

_one_thread_unless_chosen()
