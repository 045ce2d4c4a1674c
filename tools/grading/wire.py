"""The wire between the grader and the sandboxed runner that holds a student's code (tools/grading/runner.py).

Messages are JSON objects, one per line, over a socket pair. Tensors travel as raw bytes of a listed
dtype (``tensor_entry``). The two directions are not alike:

- grader -> runner: a check's arguments are pickled (:func:`dump_args`), every tensor in them (module
  parameters included) replaced by a reference into a table of tensor entries, so that the runner can
  say which of them an output is, which it changed in place and which need gradients. The runner
  trusts the grader.
- runner -> grader: read with :func:`decode` only, never with pickle: JSON of a fixed set of shapes
  (None, bools, numbers, strings, tuples, lists, dicts, tensors, torch sizes, dtypes and devices;
  anything else arrives as an :func:`opaque` stand-in that only has its type's name), checked for
  size and depth. So nothing the student's code sends can run code in the grader; at worst it sends
  wrong values, and those fail the check like any wrong answer.

This module is imported by the runner as a script's neighbour (``import wire``) and by the grader as
``tools.grading.wire``; it needs only the standard library and, when tensors are involved, torch.
"""
import base64
import io
import json
import pickle
import re

MAX_LINE = 256 * 2**20    # bytes in one message
MAX_NUMEL = 20_000_000    # elements in one tensor
MAX_DIMS = 8
MAX_DEPTH = 40            # nesting of the structures in one reply
MAX_NODES = 1_000_000     # values in one reply
MAX_STRING = 1_000_000
DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128",
          "uint8", "int8", "int16", "int32", "int64", "bool")
DEVICE = re.compile(r"(cpu|meta|cuda(:\d{1,2})?)")
TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


class WireError(ValueError):
    """A message that the wire does not allow (too large, malformed, or of a shape it does not know)."""


def dumps(message):
    """One message as the bytes of one line."""
    return json.dumps(message, allow_nan=True, ensure_ascii=True).encode("ascii") + b"\n"


def loads(line):
    """The message in one line; WireError for anything but a JSON object within the limits."""
    if len(line) > MAX_LINE:
        raise WireError(f"a message of {len(line):,} bytes, more than the {MAX_LINE:,} allowed")
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise WireError(f"a message that is not JSON ({type(err).__name__})") from None
    if type(message) is not dict:
        raise WireError("a message that is not a JSON object")
    return message


# ---- tensors ------------------------------------------------------------------------------

def tensor_entry(t):
    """A tensor as a JSON-able dict: dtype, shape, raw bytes (base64), requires_grad, leaf, parameter."""
    import torch
    detached = t.detach()
    entry = {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "device": t.device.type,
             "requires_grad": bool(t.requires_grad), "leaf": bool(t.is_leaf),
             "param": isinstance(t, torch.nn.Parameter)}
    if t.device.type != "meta":
        flat = detached.to("cpu").contiguous().reshape(-1)
        entry["data"] = base64.b64encode(flat.view(torch.uint8).numpy().tobytes()).decode("ascii")
    return entry


def tensor_from(entry):
    """The tensor of an entry (a new leaf without grad); WireError for an entry the wire does not allow."""
    import torch
    if type(entry) is not dict or entry.get("dtype") not in DTYPES:
        raise WireError("a tensor entry without a known dtype")
    shape = entry.get("shape")
    if (type(shape) is not list or len(shape) > MAX_DIMS
            or not all(type(n) is int and 0 <= n <= MAX_NUMEL for n in shape)):
        raise WireError(f"a tensor entry with shape {shape!r}")
    numel = 1
    for n in shape:
        numel *= n
    if numel > MAX_NUMEL:
        raise WireError(f"a tensor of {numel:,} elements, more than the {MAX_NUMEL:,} allowed")
    dtype = getattr(torch, entry["dtype"])
    if entry.get("device") == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    data = entry.get("data")
    if type(data) is not str:
        raise WireError("a tensor entry without data")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("a tensor entry whose data is not base64") from None
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise WireError(f"a tensor entry of shape {shape} holding {len(raw)} bytes")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape).clone()


# ---- grader -> runner: arguments, pickled, tensors by reference -------------------------------

class _ArgPickler(pickle.Pickler):
    def __init__(self, file, table):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.table, self.index = table, {}

    def persistent_id(self, obj):
        import torch
        if isinstance(obj, torch.Tensor):
            if id(obj) not in self.index:
                self.index[id(obj)] = len(self.table)
                self.table.append(obj)
            return ("tensor", self.index[id(obj)])
        return None


def dump_args(value):
    """(base64 pickle of `value`, [tensor, ...]): every tensor in `value` is an entry of the list."""
    buffer, table = io.BytesIO(), []
    _ArgPickler(buffer, table).dump(value)
    return base64.b64encode(buffer.getvalue()).decode("ascii"), table


class _ArgUnpickler(pickle.Unpickler):
    def __init__(self, file, tensors):
        super().__init__(file)
        self.tensors = tensors

    def persistent_load(self, pid):
        return self.tensors[pid[1]]


def load_args(data, entries):
    """(the value `dump_args` pickled, [its tensors]) in the runner: each tensor a new leaf, requiring grad
    and a Parameter where the grader's was."""
    import torch
    tensors = []
    for entry in entries:
        t = tensor_from(entry)
        if entry.get("param"):
            t = torch.nn.Parameter(t, requires_grad=bool(entry.get("requires_grad")))
        elif entry.get("requires_grad"):
            t.requires_grad_(True)
        tensors.append(t)
    return _ArgUnpickler(io.BytesIO(base64.b64decode(data)), tensors).load(), tensors


def walk(value):
    """The modules and generators in `value` (args as pickled), in an order both sides agree on:
    [("module", m) | ("generator", g), ...]."""
    import torch
    found, seen = [], set()

    def visit(x, depth=0):
        if id(x) in seen or depth > MAX_DEPTH:
            return
        if isinstance(x, (tuple, list)):
            seen.add(id(x))
            for item in x:
                visit(item, depth + 1)
        elif isinstance(x, dict):
            seen.add(id(x))
            for item in x.values():
                visit(item, depth + 1)
        elif isinstance(x, torch.Generator):
            seen.add(id(x))
            found.append(("generator", x))
        elif isinstance(x, torch.nn.Module):
            seen.add(id(x))
            found.append(("module", x))
            for name, item in vars(x).items():
                if not name.startswith("_"):
                    visit(item, depth + 1)
            for item in x._modules.values():
                visit(item, depth + 1)
    visit(value)
    return found


# ---- runner -> grader: a fixed set of shapes, decoded without pickle --------------------------

class Encoder:
    """Encodes what the student's function returned (runner side): tensors go to `self.tensors`
    (entries) unless they are one of `inputs` (the arguments' tensors), which travel as a reference."""

    def __init__(self, inputs=()):
        self.inputs = {id(t): i for i, t in enumerate(inputs)}
        self.index, self.tensors, self.objects = {}, [], []

    def tensor(self, t):
        if id(t) in self.inputs:
            return {"input": self.inputs[id(t)]}
        if id(t) not in self.index:
            self.index[id(t)] = len(self.tensors)
            self.tensors.append(tensor_entry(t))
            self.objects.append(t)
        return {"tensor": self.index[id(t)]}

    def encode(self, x, depth=0):
        if x is None or type(x) is bool:
            return x
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, int):
            return int(x) if abs(int(x)) < 10**300 else {"opaque": type(x).__name__}
        if isinstance(x, float):
            return float(x)
        if isinstance(x, str):
            return str(x)[:MAX_STRING]
        if depth > MAX_DEPTH:
            return {"opaque": type(x).__name__}
        import torch
        if isinstance(x, torch.Tensor):
            return self.tensor(x)
        if isinstance(x, torch.Size):
            return {"size": [int(n) for n in x]}
        if isinstance(x, tuple):
            return {"tuple": [self.encode(v, depth + 1) for v in x]}
        if isinstance(x, list):
            return {"list": [self.encode(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in x.items()]}
        if isinstance(x, torch.dtype):
            return {"dtype": str(x).removeprefix("torch.")}
        if isinstance(x, torch.device):
            return {"device": str(x)}
        return {"opaque": type(x).__name__}


def opaque(name):
    """A stand-in for an object the grader cannot rebuild: an instance of a class named `name`, nothing else."""
    cls = type(name, (), {"__repr__": lambda self: f"<a {name} object from the student's code>"})
    return cls()


def decode(obj, tensors, inputs):
    """The value an Encoder encoded, `tensors` being the rebuilt entries and `inputs` the grader's argument
    tensors; WireError for anything else."""
    import torch
    budget = [MAX_NODES]

    def value(x, depth):
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH + 2:
            raise WireError("a reply nested too deep or holding too many values")
        if x is None or type(x) in (bool, int, float):
            return x
        if type(x) is str:
            if len(x) > MAX_STRING:
                raise WireError("a string too long")
            return x
        if type(x) is not dict or len(x) != 1:
            raise WireError(f"a value of the form {type(x).__name__} the wire does not know")
        (kind, v), = x.items()
        if kind in ("tuple", "list") and type(v) is list:
            items = [value(item, depth + 1) for item in v]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and type(v) is list:
            out = {}
            for pair in v:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("a dict entry that is not a pair")
                key = value(pair[0], depth + 1)
                try:
                    out[key] = value(pair[1], depth + 1)
                except TypeError:
                    raise WireError("a dict key that cannot be a key") from None
            return out
        if kind in ("tensor", "input") and type(v) is int:
            table = tensors if kind == "tensor" else inputs
            if not 0 <= v < len(table):
                raise WireError(f"a reference to {kind} {v}, of {len(table)}")
            return table[v]
        if kind == "size" and type(v) is list and len(v) <= MAX_DIMS and all(type(n) is int for n in v):
            return torch.Size(v)
        if kind == "dtype" and v in DTYPES:
            return getattr(torch, v)
        if kind == "device" and type(v) is str and DEVICE.fullmatch(v):
            return torch.device(v)
        if kind == "opaque" and type(v) is str and TYPE_NAME.fullmatch(v):
            return opaque(v)
        raise WireError(f"a value of kind {kind!r} the wire does not know")

    return value(obj, 0)
