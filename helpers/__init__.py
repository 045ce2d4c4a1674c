"""Helpers for the deep-rnn-notebooks course.

`import helpers as d2l` gives the d2l chapter-8/9 names learners already know
(`load_data_time_machine`, `Vocab`, `RNNModelScratch`, `RNNModel`, `train_ch8`,
`predict_ch8`, `grad_clipping`, `try_gpu`, `plot`, `Animator`, the tensor shortcuts
`d2l.tensor`, `d2l.reshape`, ...) with the same signatures and defaults, plus the course's
extensions of that same workflow (held-out splits, a training history, sampling, baselines).

The rule for what is where:

* The top level is the chapter-8/9 workflow: load text, build a model, train, evaluate,
  sample, plot. It is exactly the `__all__` of the modules star-imported below (one job
  each); d2l's own names keep d2l's signatures, and a course extension sits in the module
  whose job it extends.
* The course's own tools for one topic are submodules, never star-exported: import them by
  name (`from helpers import checks, experiments, probes`, `from helpers.stacks import
  RNNStack`, `from helpers.widgets import depth_explorer`; also `corpora`, `diagrams`).
* A name starting with `_` (and a module such as `_validate`) is not for notebooks.

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
from .precision import *
from .training import *
from .sampling import *
from .plots import *
from .compat import *
from .utils import one_thread_unless_chosen as _one_thread_unless_chosen

_one_thread_unless_chosen()
