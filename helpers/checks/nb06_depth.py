"""Checks for notebook 06 (what depth buys): one time step of a stack of `nn.RNNCell`s (or
`nn.GRUCell`s) with dropout between the layers (`stack_step`) or with residual connections
(`residual_step`), and the width of one layer with a stack's parameters (`one_layer_width`).
Temperature sampling (`sample_next`) is checked in nb06_sampling.

References: `nn.RNN(num_layers=L)` / `nn.GRU` with the cells' weights; for residual stacks the
course's `RNNStack(residual=True)` run on the same inputs. Where dropout goes is checked by its
effect: a dropout module that records what it was applied to.
"""
import functools

import torch
from torch import nn

from ..stacks import RNNStack
from . import modules
from .core import CheckFailed, builtin, call, close, describe, generator, passed

__all__ = ["check_stack_step", "check_residual_step", "check_one_layer_width"]

KINDS = {nn.RNNCell: "RNN", nn.GRUCell: "GRU"}
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
STEP_HINT = ("cells[l](input, Hs[l]) is layer l's new state; layer 1 reads X_t, layer l reads what layer l-1 "
             "passes up; return (what the top layer passes up, tuple of the L new states).")


def make_cells(kind, d, h, L, seed):
    """L cells of one kind (layer 1 reads d numbers, the others h), their weights drawn from seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cls = {"RNN": nn.RNNCell, "GRU": nn.GRUCell}[kind]
        return nn.ModuleList(cls(d if l == 0 else h, h) for l in range(L))


def step_case(B, d, h, L, kind, seed):
    g = generator(seed)
    return (torch.randn(B, d, generator=g), tuple(torch.randn(B, h, generator=g) for _ in range(L)),
            make_cells(kind, d, h, L, seed))


def torch_stack(cells, dropout=0.0):
    """nn.RNN / nn.GRU (num_layers = len(cells), dropout between layers) holding the cells' weights."""
    kind, L = KINDS[type(cells[0])], len(cells)
    extra = {"nonlinearity": cells[0].nonlinearity} if kind == "RNN" else {}
    module = modules.meta(getattr(nn, kind), cells[0].input_size, cells[0].hidden_size, num_layers=L,
                          dropout=dropout if L > 1 else 0.0, **extra)
    params = {f"{name}_l{l}": getattr(cell, name) for l, cell in enumerate(cells) for name in NAMES}
    return module, params


def run_torch(X, Hs, cells, dropout=None):
    """The stack over X (T, B, d) from Hs -> (top layer (T, B, h), tuple of final states)."""
    p, training = (dropout.p, dropout.training) if dropout is not None else (0.0, False)
    module, params = torch_stack(cells, p)
    module.train(training)
    Y, H_n = modules.run(module, params, X, torch.stack(tuple(Hs)))
    return Y, tuple(H_n)


def check_step_result(result, case, desc):
    __tracebackhide__ = True
    X_t, Hs, _ = case
    B, h = Hs[0].shape
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{desc}: return a pair (top, new_Hs); you returned {describe(result)}.")
    top, new_Hs = result
    if not torch.is_tensor(top) or tuple(top.shape) != (B, h):
        raise CheckFailed(f"{desc}: top should be ({B}, {h}), what the top layer passes up; you returned "
                          f"{describe(top)}.")
    if not isinstance(new_Hs, (tuple, list)) or len(new_Hs) != len(Hs):
        raise CheckFailed(f"{desc}: new_Hs should hold {len(Hs)} tensors, one new state per layer; you "
                          f"returned {describe(new_Hs)}.")
    return top, tuple(new_Hs)


class RecordingDropout(nn.Dropout):
    """nn.Dropout that draws its masks from its own generator and records each (input, output)."""

    def __init__(self, p, seed):
        super().__init__(p)
        self.generator, self.calls = generator(seed), []

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = (torch.rand(x.shape, generator=self.generator) >= self.p).to(x.dtype)
        out = x * keep / (1 - self.p)
        self.calls.append((x, out))
        return out


def dropout_mistake(calls, case, new_Hs, top):
    """What the recorded dropout calls say about where dropout went, or None if all is right."""
    X_t, Hs, cells = case
    L = len(Hs)
    if not calls and L > 1:
        return ("the dropout module was never applied: call dropout(...) (the module passed in) on what "
                "each layer passes up to the next")
    for x, _ in calls:
        if close(x, X_t):
            return ("you dropped the input X_t: dropout between layers acts on what a layer passes up, "
                    "not on the stack's input (nn.RNN's dropout= never touches X_t)")
        for l, H in enumerate(Hs, start=1):
            if close(x, H):
                return (f"you dropped layer {l}'s previous state H^({l})_(t-1): that is the recurrent path. "
                        f"A layer's memory must reach the next time step whole (new noise at every step "
                        f"would wipe it out); dropout goes only on what a layer passes up")
        if close(x, new_Hs[-1]):
            return ("you dropped the top layer's output: dropout goes between layers, so the top layer "
                    "passes its state to the output layer as it is (as nn.RNN(dropout=) does)")
    for l in range(L - 1):
        if close(new_Hs[l], calls[min(l, len(calls) - 1)][1]):
            return (f"layer {l + 1} carries the dropped copy of its state to the next time step: keep its "
                    f"own state whole (that is the memory) and pass only dropout(state) up to layer {l + 2}")
    if len(calls) != L - 1:
        return (f"dropout was applied {len(calls)} times in one step of {L} layers; it belongs between "
                f"layers, once on the output of each of layers 1..{L - 1}")
    if not close(new_Hs[0], cells[0](X_t, Hs[0])):
        return "layer 1's new state differs from cells[0](X_t, Hs[0]): nothing is dropped before layer 1"
    for l in range(1, L):
        x, out = calls[l - 1]
        if not close(x, new_Hs[l - 1]):
            return f"the {l}. dropout call was not given layer {l}'s new state"
        if not close(new_Hs[l], cells[l](out, Hs[l])):
            return f"layer {l + 1} must read the dropped output of layer {l}: cells[{l}](dropout(H), Hs[{l}])"
    if not close(top, new_Hs[-1]):
        return "top should be the top layer's new state itself (no dropout after the last layer)"
    return None


def check_stack_step(stack_step, *, seed=0, sizes=None, cell="RNN"):
    """stack_step(X_t, Hs, cells, dropout) -> (top, new_Hs): one time step of an L-layer stack with
    dropout between the layers, never on the recurrent path and not after the top layer.

    Checked by effect: in eval mode it must equal nn.RNN(num_layers=L); in training mode a recording
    dropout module says what was dropped. Hidden tests: seed, sizes = (B, d, h, L), cell="GRU".
    """
    __tracebackhide__ = True
    B, d, h, L = sizes if sizes is not None else (3, 4, 5, 3)
    case = step_case(B, d, h, L, cell, seed)
    X_t, Hs, cells = case
    desc = f"stack_step with {L} nn.{cell}Cell layers, X_t {describe(X_t)}, Hs {L} x {describe(Hs[0])}"
    with torch.no_grad():
        dropout = RecordingDropout(0.5, seed + 1).eval()
        seq = torch.randn(4, B, d, generator=generator(seed + 2))
        tops, H = [], Hs
        for x in seq:  # in eval mode dropout does nothing: the plain stack, step by step
            top, H = check_step_result(call(stack_step, "stack_step", (x, H, cells, dropout), STEP_HINT), case, desc)
            tops.append(top)
        Y, H_n = run_torch(seq, Hs, cells)
        if dropout.calls or not (close(torch.stack(tops), Y) and all(close(a, b) for a, b in zip(H, H_n))):
            why = ("with the dropout module in eval mode nothing may be dropped: call the module you were given "
                   "(F.dropout(x, p) drops even in eval mode)" if not close(torch.stack(tops), Y) else
                   "the new states are not the layers' own states")
            raise CheckFailed(f"{desc}, dropout in eval mode, over 4 steps: differs from nn.{cell}(num_layers={L}) "
                              f"with the same weights: {why}.")
        dropout.train()
        top, new_Hs = check_step_result(call(stack_step, "stack_step", (X_t, Hs, cells, dropout), STEP_HINT),
                                        case, desc)
        message = dropout_mistake(dropout.calls, case, new_Hs, top)
    if message:
        raise CheckFailed(f"{desc}, dropout(p=0.5) in training mode: {message}.")
    passed("stack_step: dropout only between layers (not on the input, the memory or the top); in eval mode "
           "nn.RNN(num_layers) exactly")


@builtin("stack_step", check_stack_step, "nn.RNN(num_layers=L, dropout=p)")
def torch_stack_step(X_t, Hs, cells, dropout):
    """One step of nn.RNN / nn.GRU (num_layers=L, dropout=dropout.p) holding the cells' weights."""
    Y, H_n = run_torch(X_t.unsqueeze(0), Hs, cells, dropout)
    return Y[0], H_n


class Given(nn.Module):
    """Stands in for RNNStack's embedding: the given (T, B, d) inputs, whatever the tokens."""

    def __init__(self, X):
        super().__init__()
        self.X = X

    def forward(self, tokens):
        return self.X


@functools.lru_cache(maxsize=32)
def residual_stack(kind, d, h, L, residual):
    """An RNNStack (vocab of 1, no output layer) whose layers will hold a list of cells' weights."""
    with torch.random.fork_rng(devices=[]):
        stack = RNNStack(1, [h] * L, cell=kind, embed_size=d, residual=residual).eval()
    stack.linear = nn.Identity()
    return stack


def run_residual(X, Hs, cells, residual=True):
    """RNNStack(residual=...) on inputs X (T, B, d) from states Hs, its layers holding the cells'
    weights -> (what the top passes up (T, B, h), tuple of final states (B, h))."""
    T, B, d = X.shape
    stack = residual_stack(KINDS[type(cells[0])], d, cells[0].hidden_size, len(cells), residual)
    params = {f"layers.{l}.{name}_l0": getattr(cell, name) for l, cell in enumerate(cells) for name in NAMES}
    stack.embedding = Given(X)
    try:
        up, state = modules.run(stack, params, torch.zeros((B, T), dtype=torch.long, device=X.device),
                                tuple(H.unsqueeze(0) for H in Hs))
    finally:
        stack.embedding = Given(None)
    return up.reshape(T, B, -1), tuple(H[0] for H in state)


def residual_mistake(top, new_Hs, case):
    X_t, Hs, cells = case
    up, H_ref = run_residual(X_t.unsqueeze(0), Hs, cells)
    plain, _ = run_residual(X_t.unsqueeze(0), Hs, cells, residual=False)
    sums = torch.stack(H_ref).cumsum(dim=0)  # what layer l passes up: H^(1) + ... + H^(l)
    if close(top, plain[0]):
        return ("no residual connection: from layer 2 up, each layer adds its input to its output "
                "(up = H + input) before passing it on")
    if X_t.shape == top.shape and len(cells) > 1 and close(new_Hs[1], cells[1](H_ref[0] + X_t, Hs[1])):
        return "layer 1 gets no residual connection (its input X_t is an embedding, of another width in general)"
    if close(top, H_ref[-1]):
        return "top must include the top layer's residual: its new state plus its input"
    if all(close(a, b) for a, b in zip(new_Hs[1:], sums[1:])):
        return ("each layer must carry its own state H^(l)_t to the next step; you carried the residual sum "
                "it passes up")
    return "top and new_Hs differ from RNNStack(residual=True) with the same weights"


def check_residual_step(residual_step, *, seed=0, sizes=None, cell="RNN"):
    """residual_step(X_t, Hs, cells) -> (top, new_Hs): one time step of a residual stack. Layer 1:
    H^(1) = cells[0](X_t, Hs[0]); layer l >= 2 reads what layer l-1 passes up and passes up its new
    state plus its input; each layer carries its own new state.

    Compared with the course's RNNStack(residual=True) holding the cells' weights, over one step and
    over a sequence. Hidden tests: seed, sizes = (B, d, h, L), cell="GRU".
    """
    __tracebackhide__ = True
    B, d, h, L = sizes if sizes is not None else (3, 4, 5, 3)
    case = step_case(B, d, h, L, cell, seed)
    X_t, Hs, cells = case
    desc = f"residual_step with {L} nn.{cell}Cell layers, X_t {describe(X_t)}, Hs {L} x {describe(Hs[0])}"
    with torch.no_grad():
        top, new_Hs = check_step_result(call(residual_step, "residual_step", (X_t, Hs, cells), STEP_HINT), case, desc)
        up, H_ref = run_residual(X_t.unsqueeze(0), Hs, cells)
        if not (close(top, up[0]) and all(close(a, b) for a, b in zip(new_Hs, H_ref))):
            raise CheckFailed(f"{desc}: {residual_mistake(top, new_Hs, case)}.")
        seq = torch.randn(4, B, d, generator=generator(seed + 2))
        tops, H = [], Hs
        for x in seq:
            top, H = call(residual_step, "residual_step", (x, H, cells), STEP_HINT)
            tops.append(top)
        up, _ = run_residual(seq, Hs, cells)
    if not close(torch.stack(tops), up):
        raise CheckFailed(f"{desc}: right for one step but not over 4 steps: carry each layer's own new state "
                          f"to the next step.")
    passed("residual_step: equals RNNStack(residual=True) step by step; each layer carries its own state")


@builtin("residual_step", check_residual_step, "d2l.RNNStack(residual=True)")
def stack_residual_step(X_t, Hs, cells):
    """The course's RNNStack(residual=True) holding the cells' weights, run for one step."""
    up, H_n = run_residual(X_t.unsqueeze(0), Hs, cells)
    return up[0], H_n


def stack_count(h, vocab_size, embed_size):
    """Parameters of a one-layer RNNStack (embedding, nn.LSTM, output layer), read from the module itself."""
    with torch.device("meta"):
        stack = RNNStack(vocab_size, h, 1, embed_size=embed_size)
    return sum(p.numel() for p in stack.parameters())


def check_one_layer_width(one_layer_width, *, seed=0, sizes=None):
    """one_layer_width(num_params, vocab_size, embed_size) -> h: the width of a one-layer RNNStack (LSTM)
    whose parameter count is closest to num_params. Counts come from real RNNStack modules.

    Hidden tests: sizes = (num_params, vocab_size, embed_size), or another seed for random ones.
    """
    __tracebackhide__ = True
    hint = ("count every part of RNNStack(vocab_size, h, 1, embed_size=embed_size): the embedding, the LSTM "
            "layer (four gate blocks, each with an input weight, a recurrent weight and two biases) and the "
            "output layer (weight and bias); then pick the h whose count is closest to num_params.")
    cases = [(58_722, 66, 32), (10_000, 28, 8)]
    if sizes is not None or seed != 0:
        V, E, n = (int(v) for v in torch.randint(5, 80, (3,), generator=generator(seed)))
        cases = [tuple(sizes) if sizes is not None else (stack_count(n, V, E) + n, V, E)]
    for num_params, V, E in cases:
        desc = f"one_layer_width({num_params:_}, vocab_size={V}, embed_size={E})"
        got = call(one_layer_width, "one_layer_width", (num_params, V, E), hint)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, int) or got < 1:
            raise CheckFailed(f"{desc} should return a width, a whole number >= 1; you returned {got!r}.")
        gap = {h: abs(stack_count(h, V, E) - num_params) for h in (got - 1, got, got + 1) if h >= 1}
        better = min(gap, key=gap.get)
        if better != got:
            have = stack_count(got, V, E)
            why = (f" ({have - num_params:,} more than num_params: a count that leaves out a part (the embedding, "
                   f"the second bias of each gate block, the output bias) makes the width come out too large)"
                   if have > num_params else
                   f" ({num_params - have:,} fewer than num_params: a part counted twice makes the width come "
                   f"out too small)")
            raise CheckFailed(f"{desc}: one LSTM layer of {got} units gives an RNNStack of {have:,} parameters"
                              f"{why}; {better} units come closer ({stack_count(better, V, E):,}).")
    passed("one_layer_width: the single-layer width with the parameter count closest to the stack's")


@builtin("one_layer_width", check_one_layer_width, "RNNStack parameter counts (a bisection on h)")
def bisect_width(num_params, vocab_size, embed_size):
    """The h whose one-layer RNNStack count is closest to num_params: counts are increasing in h."""
    low, high = 1, 2
    while stack_count(high, vocab_size, embed_size) < num_params:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if stack_count(mid, vocab_size, embed_size) < num_params else (low, mid)
    return min((low, high), key=lambda h: abs(stack_count(h, vocab_size, embed_size) - num_params))
