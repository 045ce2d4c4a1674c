"""The checks run here, in the grader; the student's function runs in the runner (tools/grading/runner.py).

A check cell of the teacher's notebook, hidden tests included, is executed in this process with
``checks`` = the real ``helpers.checks`` and each name it passes (``make_windows``) bound to a
:class:`StudentFunction`. Calling one sends the arguments to the runner, which calls the student's
function on them and sends back what it returned (tools/grading/wire.py); the check then compares
here, with this process's torch, helpers and builtins, which no student code has touched. What the
check observes is carried over faithfully:

- outputs connected to the inputs by autograd get a graph here (:class:`RemoteCall`): a gradient the
  check asks for is computed by the runner on the student's graph, so "no gradient reaches W_xh" and
  gradcheck work as in one process; leaf and non-leaf outputs, Parameters, ``requires_grad`` and an
  output that *is* one of the inputs stay what they were;
- in-place changes to the input tensors, the generators' states, the global random state, and the
  lists a module passed in records into (the checks' recording dropout) come back;
- the grad mode and the functions a check refuses with ``mock.patch`` (``F.one_hot`` in
  window_features, the course's sampler in sample_next) are set in the runner for the call.

Double backward through the student's function is not supported (no check uses it).
"""
import itertools
import sys
from unittest import mock

import torch

from . import wire

TYPE_NAME = wire.TYPE_NAME


class StudentError(Exception):
    """An exception the student's function raised in the runner, re-raised here under the same type name."""


def student_exception(error):
    """The exception to raise here for the runner's description of one (NotImplementedError stays itself)."""
    kind = error.get("type") if isinstance(error, dict) else None
    message = error.get("message", "") if isinstance(error, dict) else ""
    where = error.get("where", "") if isinstance(error, dict) else ""
    if not isinstance(message, str) or not isinstance(where, str):
        message, where = "", ""
    if kind == "NotImplementedError":
        return NotImplementedError(message)
    name = kind if isinstance(kind, str) and TYPE_NAME.fullmatch(kind) else "StudentError"
    return type(name, (StudentError,), {})(f"{message[:2000]}{where[:500]}")


def refused_functions():
    """[(module name, attribute, mock)]: what the running check has replaced with mock.patch."""
    import torch.nn.functional as F
    owners = [torch, F, torch.nn, *(m for n, m in sorted(sys.modules.items())
                                    if (n == "helpers" or n.startswith("helpers.")) and m is not None)]
    return [(owner.__name__, name, value) for owner in owners
            for name, value in list(vars(owner).items()) if isinstance(value, mock.NonCallableMock)]


def raise_refusal(found):
    effect = found[2].side_effect
    if isinstance(effect, BaseException) or (isinstance(effect, type) and issubclass(effect, BaseException)):
        raise effect
    raise RuntimeError(f"{found[0]}.{found[1]} may not be called in this check")


class RemoteCall(torch.autograd.Function):
    """Outputs of the student's function whose gradients the runner computes: forward passes the values
    through, backward asks the runner for the gradients of the call's inputs."""

    @staticmethod
    def forward(ctx, remote, call_id, values, *inputs):
        ctx.remote, ctx.call_id = remote, call_id
        ctx.specs = [(t.shape, t.dtype) for t in inputs]
        return tuple(values)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        return (None, None, None, *ctx.remote.backward(ctx.call_id, grads, ctx.specs))


class StudentFunction:
    """Stands in for the student's function `name`: calling it calls that function in the runner."""

    def __init__(self, remote, name):
        self.remote, self.name, self.__name__ = remote, name, name

    def __call__(self, *args, **kwargs):
        return self.remote.call(self.name, args, kwargs)

    def __repr__(self):
        return f"<the student's {self.name}, in the runner>"


class Remote:
    """The grader's side of one runner: resolve names, call functions, compute gradients.

    `deadline` (time.monotonic()) is set by the grader before each check."""

    def __init__(self, runner):
        self.runner, self.ids, self.deadline = runner, itertools.count(), runner.deadline

    def request(self, message, what):
        reply = self.runner.request(message, self.deadline, what=what)
        if "fatal" in reply:
            raise student_exception(reply["fatal"])
        return reply

    def resolve(self, name):
        """What the check should be given for the student's global `name`, or None where it is not defined."""
        reply = self.request({"op": "resolve", "name": name}, f"looking up {name}")
        if reply.get("defined") is not True:
            return None
        if reply.get("callable") is True:
            return StudentFunction(self, name)
        kind = reply.get("type")
        return wire.opaque(kind if isinstance(kind, str) and TYPE_NAME.fullmatch(kind) else "object")

    def release(self):
        self.request({"op": "release"}, "releasing the calls")

    def call(self, name, args, kwargs):
        refused = refused_functions()
        data, table = wire.dump_args((args, kwargs))
        call_id = next(self.ids)
        reply = self.request({"op": "call", "call": call_id, "name": name, "args": data,
                              "tensors": [wire.tensor_entry(t) for t in table], "grad": torch.is_grad_enabled(),
                              "rng": wire.tensor_entry(torch.get_rng_state()),
                              "refuse": [[module, attr] for module, attr, _ in refused]}, f"a call of {name}")
        if "error" in reply:
            error = reply["error"]
            index = error.get("refused") if isinstance(error, dict) else None
            if type(index) is int and 0 <= index < len(refused):
                raise_refusal(refused[index])
            raise student_exception(error)
        try:
            return self.outputs(reply, call_id, table, (args, kwargs))
        except (wire.WireError, TypeError, ValueError, RuntimeError, KeyError) as err:
            raise StudentError(f"what {name} returned could not be read ({err})") from None

    def outputs(self, reply, call_id, table, args):
        entries = reply.get("tensors")
        if type(entries) is not list:
            raise wire.WireError("a reply without its tensors")
        tensors = [wire.tensor_from(e) for e in entries]
        diff = []
        for i, (t, entry) in enumerate(zip(tensors, entries)):
            if entry.get("requires_grad") is True and (t.is_floating_point() or t.is_complex()):
                if entry.get("leaf") is True:
                    tensors[i] = torch.nn.Parameter(t) if entry.get("param") is True else t.requires_grad_(True)
                else:
                    diff.append(i)
        grad_inputs = [t for t in table if t.requires_grad]
        if diff and torch.is_grad_enabled() and grad_inputs:
            for i, out in zip(diff, RemoteCall.apply(self, call_id, [tensors[i] for i in diff], *grad_inputs)):
                tensors[i] = out
        elif diff:  # a non-leaf that requires grad (from a tensor made inside the function): the same here
            with torch.enable_grad():
                for i in diff:
                    tensors[i] = tensors[i].requires_grad_(True) * 1
        value = wire.decode(reply.get("value"), tensors, table)
        changed = reply.get("changed") or {}
        for key, entry in changed.items() if isinstance(changed, dict) else ():
            if key.isdigit() and int(key) < len(table):
                new, old = wire.tensor_from(entry), table[int(key)]
                if new.shape == old.shape and new.dtype == old.dtype:
                    with torch.no_grad():
                        old.copy_(new)
        found = wire.walk(args)
        generators = [g for kind, g in found if kind == "generator"]
        for g, entry in zip(generators, reply.get("generators") or []):
            state = wire.tensor_from(entry)
            if state.dtype == torch.uint8 and state.shape == g.get_state().shape:
                g.set_state(state)
        for item in reply.get("lists") or []:
            if type(item) is list and len(item) == 3 and type(item[0]) is int and 0 <= item[0] < len(found):
                kind, module = found[item[0]]
                if kind == "module" and isinstance(item[1], str) and isinstance(getattr(module, item[1], None), list):
                    recorded = wire.decode(item[2], tensors, table)
                    if isinstance(recorded, list):
                        getattr(module, item[1])[:] = recorded
        rng = wire.tensor_from(reply["rng"]) if reply.get("rng") else None
        if rng is not None and rng.dtype == torch.uint8 and rng.shape == torch.get_rng_state().shape:
            torch.set_rng_state(rng)
        return value

    def backward(self, call_id, grads, specs):
        reply = self.request({"op": "backward", "call": call_id,
                              "grads": [None if g is None else wire.tensor_entry(g) for g in grads]},
                             "a gradient")
        if "error" in reply:
            raise student_exception(reply["error"])
        got = reply.get("grads")
        if type(got) is not list or len(got) != len(specs):
            raise RuntimeError("the student's gradients did not come back")
        out = []
        for entry, (shape, dtype) in zip(got, specs):
            g = None if entry is None else wire.tensor_from(entry)
            if g is not None and (g.shape != shape or g.dtype != dtype):
                raise RuntimeError("a gradient of the wrong shape came back")
            out.append(g)
        return out
