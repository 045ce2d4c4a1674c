"""The sandboxed side of grading: runs one student's notebook and answers the grader's calls.

    python -I -B tools/grading/runner.py FD      (started by tools/grading/sandbox.py, never by hand)

FD is this process's end of a socket pair; messages are JSON lines (tools/grading/wire.py). The grader
sends, in this order: ``start`` (resource limits, then the trusted startup files, e.g. a test harness's
hook), then ``cell`` (run one code cell of the submission in an IPython shell, as a kernel does),
``resolve`` / ``call`` / ``backward`` / ``release`` (the checks, which run in the grader, call the
student's function here) and ``exit``. After every cell the runner reports what the cell changed among
the objects a check or the grading could be fooled through: torch's, helpers' and IPython's functions and
classes, builtins, sys.settrace / setprofile, IPython's input and AST transformers. That report only
names tampering; points never depend on this process, whose every byte the student's code can change:
the checks run in the grader and read only the values that come back over the wire.

Only the standard library, IPython, torch and helpers are imported; nothing from ``tools`` but ``wire``.
"""
import builtins
import importlib
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback
import types
import warnings

if __package__:  # imported as tools.grading.runner (the tests)
    from . import wire
else:  # run as a script under python -I: its neighbour tools/grading/wire.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    wire = importlib.import_module("wire")

WATCHED_MODULES = ("torch", "helpers", "IPython", "json", "pickle", "base64", "socket", "math", "wire")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")


class Busy:
    """SIGINT (the grader's interrupt at a time limit) raises KeyboardInterrupt only in the student's code."""
    student = False


def on_sigint(signum, frame):
    if Busy.student:
        raise KeyboardInterrupt


def apply_limits(limits):
    """The resource limits the grader asks for, soft and hard, before any student code runs."""
    names = {"cpu": resource.RLIMIT_CPU, "memory": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
             "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}
    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(names[name], (int(value), int(value)))


def watched(value):
    return callable(value) or isinstance(value, types.ModuleType) or hasattr(type(value), "__get__")


def code_of(value):
    return value.__code__ if isinstance(value, types.FunctionType) else None


def wraps(new, old):
    """Whether `new` is a wrapper made with functools.wraps around `old`, as torch makes of some of its own
    functions when a part of it loads late (torch._dynamo wraps torch.manual_seed). Such a wrapper calls
    the original; a student who disguises a patch this way escapes the label, never the checks."""
    for _ in range(5):
        new = getattr(new, "__wrapped__", None) if not isinstance(new, type) else None
        if new is None:
            return False
        if new is old:
            return True
    return False


class Watch:
    """A snapshot of what tampering would change; `changes()` names what differs from it now."""

    def __init__(self, shell):
        with warnings.catch_warnings():  # reading some of torch's attributes warns of their deprecation
            warnings.simplefilter("ignore")
            self.snapshot(shell)

    def snapshot(self, shell):
        import torch
        self.shell = shell
        self.modules = {}
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and name.split(".")[0] in WATCHED_MODULES:
                self.modules[name] = (module, self.table(vars(module)))
        classes = {torch.Tensor, torch.nn.Module, torch.autograd.Function, *type(shell).__mro__}
        for name, (module, _) in self.modules.items():
            if name.startswith(("torch.nn.modules", "helpers")):
                classes |= {v for v in vars(module).values() if isinstance(v, type)
                            and getattr(v, "__module__", "").startswith(("torch", "helpers"))}
        self.classes = [(cls, self.table(vars(cls))) for cls in classes if cls is not object]
        self.builtins = dict(vars(builtins))
        self.trace, self.profile = (sys.gettrace(), threading._trace_hook), (sys.getprofile(), threading._profile_hook)
        self.lists = self.shell_lists()
        self.manager = shell.input_transformer_manager
        self.instance = {k: v for k, v in vars(shell).items() if callable(v)}

    @staticmethod
    def table(namespace):
        return {k: (v, code_of(v)) for k, v in list(namespace.items()) if watched(v)}

    def shell_lists(self):
        manager = self.shell.input_transformer_manager
        return ({name: list(getattr(self.shell, name)) for name in SHELL_LISTS}
                | {f"input_transformer_manager.{name}": list(getattr(manager, name, [])) for name in MANAGER_LISTS})

    def changes(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.compare()

    def compare(self):
        found = []
        if (sys.gettrace(), threading._trace_hook) != self.trace:
            found.append("sys.settrace")
        if (sys.getprofile(), threading._profile_hook) != self.profile:
            found.append("sys.setprofile")
        now = dict(vars(builtins))
        found += [f"builtins.{k}" for k in sorted(set(now) | set(self.builtins))
                  if now.get(k, None) is not self.builtins.get(k, None)]
        if self.shell.input_transformer_manager is not self.manager:
            found.append("IPython's input_transformer_manager")
        lists = self.shell_lists()
        found += [f"IPython's {name}" for name in lists if len(lists[name]) != len(self.lists[name])
                  or any(a is not b for a, b in zip(lists[name], self.lists[name]))]
        found += [f"IPython's shell.{k}" for k, v in vars(self.shell).items()
                  if callable(v) and self.instance.get(k) is not v]
        for name, (module, table) in self.modules.items():
            if sys.modules.get(name) is not module and name in sys.modules:
                found.append(f"sys.modules[{name!r}]")
            found += self.differences(name, vars(module), table)
        for cls, table in self.classes:
            name = f"{cls.__module__}.{cls.__qualname__}"
            found += self.differences(name, vars(cls), table)
            found += [f"{name}.{k}" for k, v in list(vars(cls).items()) if k not in table and watched(v)]
        return found

    @staticmethod
    def differences(name, namespace, table):
        out = []
        for key, (value, code) in table.items():
            now = namespace.get(key, None)
            if (now is not value or code_of(now) is not code) and not wraps(now, value):
                out.append(f"{name}.{key}")
        return out


class Runner:
    def __init__(self, sock):
        self.reader, self.writer = sock.makefile("rb"), sock.makefile("wb")
        self.calls, self.shell, self.watch = {}, None, None

    def send(self, message):
        self.writer.write(wire.dumps(message))
        self.writer.flush()

    def receive(self):
        line = self.reader.readline(wire.MAX_LINE + 1)
        if not line:
            raise EOFError
        return wire.loads(line)

    def start(self, message):
        apply_limits(message.get("limits", {}))
        for name in ("torch", "helpers", "helpers.checks"):  # loaded, and so watched, before any student code
            importlib.import_module(name)
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "NoColor"
        self.shell = InteractiveShell.instance(config=config)
        for name, source in message.get("startup", []):  # the grader's own hooks, trusted, run first
            exec(compile(source, name, "exec"), self.shell.user_ns)
        self.watch = Watch(self.shell)
        return {"ready": True, "python": sys.version.split()[0], "user": os.getuid()}

    def cell(self, message):
        began = time.monotonic()
        Busy.student = True
        try:
            result = self.shell.run_cell(message["source"], store_history=False)
        finally:
            Busy.student = False
        print(f"[runner] cell {message.get('index', '?')}: {time.monotonic() - began:.1f} s", flush=True)
        error = result.error_before_exec or result.error_in_exec
        return {"done": True, "error": type(error).__name__ if error else None, "tampered": self.watch.changes()}

    def resolve(self, message):
        missing = object()
        value = self.shell.user_ns.get(message["name"], missing)
        return {"defined": value is not missing, "callable": callable(value), "type": type(value).__name__}

    def call(self, message):
        import torch
        args, inputs = wire.load_args(message["args"], message["tensors"])
        positional, keywords = args
        refused = []
        for index, (module, name) in enumerate(message.get("refuse", [])):
            owner = importlib.import_module(module)
            refused.append((owner, name, vars(owner).get(name)))
            setattr(owner, name, refuser(index))
        if message.get("rng") is not None:
            torch.set_rng_state(wire.tensor_from(message["rng"]))
        versions = [t._version for t in inputs]
        fn = self.shell.user_ns[message["name"]]
        Busy.student = True
        try:
            with torch.set_grad_enabled(bool(message.get("grad"))):
                value = fn(*positional, **keywords)
        except BaseException as err:  # the student's code failed (or was interrupted): say how
            Busy.student = False
            return {"error": describe_error(err)}
        finally:
            Busy.student = False
            for owner, name, old in refused:
                setattr(owner, name, old)
        encoder = wire.Encoder(inputs)
        reply = {"value": encoder.encode(value)}
        reply["changed"] = {str(i): wire.tensor_entry(t) for i, (t, v) in enumerate(zip(inputs, versions))
                            if t._version != v}
        found = wire.walk(args)
        reply["generators"] = [wire.tensor_entry(g.get_state()) for kind, g in found if kind == "generator"]
        reply["lists"] = [[i, name, encoder.encode(v)] for i, (kind, m) in enumerate(found) if kind == "module"
                          for name, v in vars(m).items() if not name.startswith("_") and type(v) is list]
        reply["rng"] = wire.tensor_entry(torch.get_rng_state())
        reply["tensors"] = encoder.tensors
        diff = [t for t, e in zip(encoder.objects, encoder.tensors) if e["requires_grad"] and not e["leaf"]]
        self.calls[message["call"]] = (diff, [t for t in inputs if t.requires_grad])
        return reply

    def backward(self, message):
        import torch
        outputs, inputs = self.calls[message["call"]]
        pairs = [(o, wire.tensor_from(g)) for o, g in zip(outputs, message["grads"]) if g is not None]
        if not inputs or not pairs:
            return {"grads": [None] * len(inputs)}
        Busy.student = True  # a backward runs the student's autograd graph (and any hooks it set)
        try:
            grads = torch.autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                                        allow_unused=True, retain_graph=True)
        except BaseException as err:
            return {"error": describe_error(err)}
        finally:
            Busy.student = False
        return {"grads": [None if g is None else wire.tensor_entry(g) for g in grads]}

    def serve(self):
        handlers = {"start": self.start, "cell": self.cell, "resolve": self.resolve, "call": self.call,
                    "backward": self.backward}
        while True:
            try:
                message = self.receive()
            except EOFError:
                return
            op = message.get("op")
            if op == "exit":
                return
            if op == "release":
                self.calls.clear()
                self.send({"released": True})
                continue
            try:
                reply = handlers[op](message)
            except BaseException as err:  # the runner itself failed here (or the student's code broke it)
                reply = {"fatal": describe_error(err)}
            self.send(reply)


class Refused(Exception):
    """A function the check refuses inside the student's code (a mock.patch in the grader) was called."""

    def __init__(self, index):
        super().__init__(index)
        self.index = index


def refuser(index):
    def refuse(*args, **kwargs):
        raise Refused(index)
    return refuse


def describe_error(err):
    """Type name, message and the deepest frame of the student's code, for the grader to re-raise."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename != __file__ and "/site-packages/" not in frame.filename.replace("\\", "/"):
            line = (frame.line or "").strip()
            where = f" (in {frame.name}, line {frame.lineno}: `{line}`)" if line else f" (in {frame.name})"
            break
    try:
        text = str(err)[:2000]
    except BaseException:
        text = ""
    return {"type": type(err).__name__, "message": text, "where": where,
            "refused": err.index if isinstance(err, Refused) else None}


def main():
    signal.signal(signal.SIGINT, on_sigint)
    Runner(socket.socket(fileno=int(sys.argv[1]))).serve()


if __name__ == "__main__":
    main()
