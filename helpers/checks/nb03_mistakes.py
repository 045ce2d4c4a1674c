"""The reference two-layer RNN of notebook 03, and the classic wrong versions `check_rnn_2` recognises,
all computed by PyTorch's `nn.RNN` / `nn.RNNCell` on the case's weights.

The reference is `nn.RNN(num_layers=2)` with the d2l weights copied in, then the output layer.
Each mistake is PyTorch's module loaded or wired the wrong way: layer 1's weights in layer 2,
time steps run as separate sequences (a state that is not carried), a cell that reads the wrong
memory, `nn.RNN` in its linear range for a forgotten tanh. Each is one fixed function, not an
option of a general one, and none computes what the reference computes (tests/checks checks it).
`MISTAKES` pairs each with the sentence shown when the learner's outputs equal it.
"""
import torch
from torch import nn
from torch.nn import functional as F

from . import modules
from .core import close, generator

PARAM_NAMES_2 = ("W_xh1", "W_hh1", "b_h1", "W_xh2", "W_hh2", "b_h2", "W_hq", "b_q")
EPS = 1e-6  # tanh(EPS * z) / EPS equals z to float32 precision: nn.RNN without its tanh


def param_shapes_2(V, h):
    """The shapes of get_params_2's eight tensors: nn.RNN(V, h, num_layers=2)'s and nn.Linear(h, V)'s,
    transposed to d2l's X @ W layout, one bias per layer."""
    rnn, out = modules.meta(nn.RNN, V, h, num_layers=2), modules.meta(nn.Linear, h, V)
    shapes = []
    for l in range(2):
        shapes += [tuple(getattr(rnn, f"{w}_l{l}").T.shape) for w in ("weight_ih", "weight_hh")]
        shapes.append(tuple(getattr(rnn, f"bias_ih_l{l}").shape))
    return shapes + [tuple(out.weight.T.shape), tuple(out.bias.shape)]


def rnn_2_case(V, h, T, B, seed):
    """Fixed test inputs (inputs, state, params) with weights large enough for mistakes to show."""
    g = generator(seed)
    params = [torch.randn(s, generator=g) * 0.8 for s in param_shapes_2(V, h)]
    inputs = F.one_hot(torch.randint(0, V, (T, B), generator=g), V).float()
    state = (torch.randn(B, h, generator=g) * 0.5, torch.randn(B, h, generator=g) * 0.5)
    return inputs, state, params


def head(Y, W_hq, b_q):
    """The output layer on every time step: (T, B, h) -> (T * B, V), rows time-major."""
    return modules.linear(Y.reshape(-1, Y.shape[-1]), W_hq, b_q)


def rnn_2_reference(inputs, state, params):
    """nn.RNN(num_layers=2) with the d2l weights, then the output layer -> (outputs, (H1, H2))."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    Y, H_n = modules.rnn(inputs, torch.stack(state), [(W_xh1, W_hh1, b_h1), (W_xh2, W_hh2, b_h2)])
    return head(Y, W_hq, b_q), (H_n[0], H_n[1])


# ---------------------------------------------------------------------------------------
# the classic mistakes, each computed by PyTorch's modules: inputs, state, params -> outputs
# ---------------------------------------------------------------------------------------

def layers(params):
    return (params[0], params[1], params[2]), (params[3], params[4], params[5])


def whole(X, H0, layer):
    """One layer over the whole sequence (its state carried from step to step): nn.RNN."""
    return modules.rnn(X, H0.unsqueeze(0), [layer])[0]


def each_step_alone(X, H0, layer):
    """One layer on every time step as its own sequence, all from H0 (the state never carried)."""
    T, B, _ = X.shape
    Y, _ = modules.rnn(X.reshape(1, T * B, -1), H0.repeat(T, 1).unsqueeze(0), [layer])
    return Y.reshape(T, B, -1)


def shifted(Y, first):
    """The layer's state one step earlier: (first, Y_1, ..., Y_{T-1})."""
    return torch.cat([first.unsqueeze(0), Y[:-1]])


def reused(names):
    def wrong(inputs, state, params):
        W = dict(zip(PARAM_NAMES_2, params))
        for name in names:
            W[name.replace("1", "2")] = W[name]
        return rnn_2_reference(inputs, state, [W[n] for n in PARAM_NAMES_2])[0]
    return wrong


def one_memory(start):
    def wrong(inputs, state, params):  # layer 1 reads H (layer 2's last output); layer 2 reads H1_t twice
        L1, L2 = layers(params)
        H, outputs = state[start], []
        for X_t in inputs:
            H1 = modules.rnn_cell(X_t, H, *L1)
            H = modules.rnn_cell(H1, H1, *L2)
            outputs.append(H)
        return head(torch.stack(outputs), *params[6:])
    return wrong


def layer_1_reads_H2(inputs, state, params):
    L1, L2 = layers(params)
    H1, H2 = state
    outputs = []
    for X_t in inputs:
        H1 = modules.rnn_cell(X_t, H2, *L1)
        H2 = modules.rnn_cell(H1, H2, *L2)
        outputs.append(H2)
    return head(torch.stack(outputs), *params[6:])


def layer_2_memory_is(which):
    def wrong(inputs, state, params):  # layer 2's recurrent input is layer 1's state, not its own
        L1, L2 = layers(params)
        Y1 = whole(inputs, state[0], L1)
        memory = Y1 if which == "H1_t" else shifted(Y1, state[0])
        return head(modules.rnn_cell(Y1.flatten(0, 1), memory.flatten(0, 1), *L2), *params[6:])
    return wrong


def output_reads_layer_1(inputs, state, params):
    return head(whole(inputs, state[0], layers(params)[0]), *params[6:])


def layer_2_reads_X(inputs, state, params):
    return head(whole(inputs, state[1], layers(params)[1]), *params[6:])


def layer_2_reads_previous_H1(inputs, state, params):
    L1, L2 = layers(params)
    return head(whole(shifted(whole(inputs, state[0], L1), state[0]), state[1], L2), *params[6:])


def no_state_carried(zeros):
    def wrong(inputs, state, params):
        H0 = torch.zeros_like(torch.stack(state)) if zeros else torch.stack(state)
        T, B, V = inputs.shape
        Y, _ = modules.rnn(inputs.reshape(1, T * B, V), H0.repeat(1, T, 1), list(layers(params)))
        return head(Y, *params[6:])
    return wrong


def layer_2_not_carried(inputs, state, params):
    L1, L2 = layers(params)
    return head(each_step_alone(whole(inputs, state[0], L1), state[1], L2), *params[6:])


def layer_1_not_carried(inputs, state, params):
    L1, L2 = layers(params)
    return head(whole(each_step_alone(inputs, state[0], L1), state[1], L2), *params[6:])


def zero_start(inputs, state, params):
    return rnn_2_reference(inputs, tuple(torch.zeros_like(s) for s in state), params)[0]


def without_tanh(in_layer_1, in_layer_2):
    """nn.RNN with the tanh of some layers made linear: such a layer works on EPS-scaled values."""
    def wrong(inputs, state, params):
        W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
        a1, a2 = (EPS if in_layer_1 else 1.0), (EPS if in_layer_2 else 1.0)
        scaled = [(a1 * W_xh1, W_hh1, a1 * b_h1), (a2 / a1 * W_xh2, W_hh2, a2 * b_h2)]
        Y, _ = modules.rnn(inputs, torch.stack([a1 * state[0], a2 * state[1]]), scaled)
        return head(Y / a2, W_hq, b_q)
    return wrong


def relu_layers(inputs, state, params):
    Y, _ = modules.rnn(inputs, torch.stack(state), list(layers(params)), nonlinearity="relu")
    return head(Y, *params[6:])


def sigmoid_layers(inputs, state, params):
    """sigmoid(z) = (1 + tanh(z / 2)) / 2: nn.RNN on T = 2 S - 1 with rescaled weights."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    scaled = [(W_xh1 / 2, W_hh1 / 4, b_h1 / 2 + W_hh1.sum(0) / 4),
              (W_xh2 / 4, W_hh2 / 4, b_h2 / 2 + W_xh2.sum(0) / 4 + W_hh2.sum(0) / 4)]
    Y, _ = modules.rnn(inputs, 2 * torch.stack(state) - 1, scaled)
    return head((1 + Y) / 2, W_hq, b_q)


def tanh_on_output(inputs, state, params):
    return torch.tanh(rnn_2_reference(inputs, state, params)[0])


def reuse_message(names):
    return ("layer 2 reuses layer 1's weights (" + ", ".join(names) + "), so "
            + ", ".join(n.replace("1", "2") for n in names)
            + " get no gradient and never learn" + (", while W_xh1 is used twice" if "W_xh1" in names else "")
            + ". Each layer has its own parameters: "
              "H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2), where W_xh2 is (h, h) because layer 2 "
              "reads H1_t, not X_t. (Reusing W_xh1 is even a shape error when vocab_size != num_hiddens.)")


SHARED = ("One shared state for both layers: each layer must keep its own memory, "
          "H1 = tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1) reads layer 1's previous H1 and "
          "H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2) reads layer 2's previous H2; carry and return both as (H1, H2).")
NOT_CARRIED = ("the state is not carried across time steps: at every step each layer must read the H1/H2 "
               "it computed at the previous step (assign the new values back to H1 and H2 inside the loop "
               "over time steps), not the initial state again.")
TANH = "missing tanh"

MISTAKES = [
    *((reused(names), reuse_message(names))
      for names in (("W_xh1", "W_hh1", "b_h1"), ("W_xh1",), ("W_hh1", "b_h1"), ("W_hh1",))),
    (one_memory(0), SHARED),
    (one_memory(1), SHARED),
    (layer_1_reads_H2, SHARED),
    (layer_2_memory_is("H1_t"), SHARED),
    (layer_2_memory_is("H1_t-1"), SHARED),
    (output_reads_layer_1, "the output reads layer 1 (H1 @ W_hq); it must read the top layer: "
                           "Y = H2 @ W_hq + b_q. As written, layer 2's parameters get no gradient from the loss."),
    (layer_2_reads_X, "layer 2 must read layer 1's output H1_t, not X_t: H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + "
                      "b_h2), and its input weight W_xh2 is (h, h). (Feeding X_t is a shape error when "
                      "vocab_size != num_hiddens.)"),
    (layer_2_reads_previous_H1, "layer 2 must read layer 1's *current* output H1_t, not H1_{t-1}: "
                                "update H1 first, then compute H2 from the new H1 in the same time step."),
    (no_state_carried(zeros=False), NOT_CARRIED),
    (layer_2_not_carried, NOT_CARRIED + " (layer 2's state is the one that is not carried)"),
    (layer_1_not_carried, NOT_CARRIED + " (layer 1's state is the one that is not carried)"),
    (no_state_carried(zeros=True), NOT_CARRIED + " (you restart from zeros at every step)"),
    (zero_start, "you ignored the state passed in and started from zeros: begin with "
                 "H1, H2 = state so that the memory continues from the previous minibatch."),
    (without_tanh(True, True), TANH + " on both layers: H1 = torch.tanh(...), H2 = torch.tanh(...)."),
    (without_tanh(True, False), TANH + " on layer 1: H1 = torch.tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1)."),
    (without_tanh(False, True), TANH + " on layer 2: H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)."),
    (relu_layers, "you used relu; this RNN uses tanh (d2l's φ) in both layers."),
    (sigmoid_layers, "you used sigmoid; this RNN uses tanh (d2l's φ) in both layers."),
    (tanh_on_output, "do not apply tanh to the output: Y = H2 @ W_hq + b_q are raw scores "
                     "(logits) for the softmax inside the cross-entropy loss."),
]


def match_mistake(outputs, case):
    """The message of the first classic mistake whose outputs equal the learner's, or None."""
    with torch.no_grad():
        for wrong, message in MISTAKES:
            try:
                expected = wrong(*case)
            except RuntimeError:  # this mistake is a shape error for this case
                continue
            if close(outputs, expected):
                return message
    return None
