# Loaded by IPython kernels started with tests.smoke.smoke_env(): every pass over a
# helpers SeqDataLoader (train_epoch_ch8, evaluate_perplexity, ...) stops after two minibatches.
import itertools as _itertools

try:
    import helpers.data as _data
except ModuleNotFoundError:  # a kernel without helpers: nothing to cut
    pass
else:
    _SMOKE_BATCHES = 2
    _iter, _len = _data.SeqDataLoader.__iter__, _data.SeqDataLoader.__len__
    _data.SeqDataLoader.__iter__ = lambda self: _itertools.islice(_iter(self), _SMOKE_BATCHES)
    _data.SeqDataLoader.__len__ = lambda self: min(_len(self), _SMOKE_BATCHES)
    print(f"[tests.smoke] every SeqDataLoader pass cut to {_SMOKE_BATCHES} minibatches")
