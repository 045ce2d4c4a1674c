"""d2l's tensor shortcuts (`d2l.tensor`, `d2l.reshape`, `d2l.normal`, `d2l.zeros`, ...).

They exist here only so that the book's code (d2l-zh chapters 8-9, which create their
parameters with them) runs unchanged with `import helpers as d2l`. d2l defines them so
that one text serves several frameworks; for PyTorch each one is simply the torch
function or tensor method it names. The list and the definitions are copied from the end
of d2l 0.17.6's `d2l/torch.py`, and tests/test_d2l_parity.py compares them with it.
Code of your own reads better calling torch directly: `torch.zeros(...)`, `X.reshape(...)`.
"""
import torch

__all__ = ["ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh",
           "linspace", "exp", "log", "normal", "rand", "matmul", "int32", "float32", "concat",
           "stack", "abs", "eye", "numpy", "size", "reshape", "to", "reduce_sum", "argmax",
           "astype", "transpose"]

ones = torch.ones
zeros = torch.zeros
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
matmul = torch.matmul
int32 = torch.int32
float32 = torch.float32
concat = torch.cat
stack = torch.stack
abs = torch.abs
eye = torch.eye
numpy = lambda x, *args, **kwargs: x.detach().numpy(*args, **kwargs)
size = lambda x, *args, **kwargs: x.numel(*args, **kwargs)
reshape = lambda x, *args, **kwargs: x.reshape(*args, **kwargs)
to = lambda x, *args, **kwargs: x.to(*args, **kwargs)
reduce_sum = lambda x, *args, **kwargs: x.sum(*args, **kwargs)
argmax = lambda x, *args, **kwargs: x.argmax(*args, **kwargs)
astype = lambda x, *args, **kwargs: x.type(*args, **kwargs)  # d2l's: .type also takes 'torch.FloatTensor'
transpose = lambda x, *args, **kwargs: x.t(*args, **kwargs)
