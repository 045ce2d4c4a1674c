"""The reference two-layer RNN of notebook 03 and the classic wrong versions `check_rnn_2` recognises.

`Rnn2Variant()` is the right computation; each field changed away from its default is one
mistake a learner makes. `MISTAKES` pairs each wrong variant with the sentence shown when the
learner's outputs equal it.
"""
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F

from .core import close, generator

PARAM_NAMES_2 = ("W_xh1", "W_hh1", "b_h1", "W_xh2", "W_hh2", "b_h2", "W_hq", "b_q")


def param_shapes_2(V, h):
    """The shapes of get_params_2's eight tensors, in PARAM_NAMES_2's order."""
    return [(V, h), (h, h), (h,), (h, h), (h, h), (h,), (h, V), (V,)]


def rnn_2_case(V, h, T, B, seed):
    """Fixed test inputs (inputs, state, params) with weights large enough for mistakes to show."""
    g = generator(seed)
    params = [torch.randn(s, generator=g) * 0.8 for s in param_shapes_2(V, h)]
    inputs = F.one_hot(torch.randint(0, V, (T, B), generator=g), V).float()
    state = (torch.randn(B, h, generator=g) * 0.5, torch.randn(B, h, generator=g) * 0.5)
    return inputs, state, params


# ---------------------------------------------------------------------------------------
# reference solutions (what the checks compare against; a grading task may move this block)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rnn2Variant:
    """How rnn_2 computes a time step. The defaults are right; any other value is a classic mistake."""
    layer2_reuses_layer1_weights: tuple = ()   # layer-1 weights layer 2 uses instead of its own, e.g. ("W_hh1",)
    layer2_input: str = "H1_t"                 # what layer 2 reads: H1_t; or "H1_t-1" (computed first), "X_t"
    layer1_previous: str = "H1"                # the carried state layer 1 reads; "H2": one state for both layers
    layer2_previous: str = "H2"                # the carried state layer 2 reads; "H1_t" or "H1_t-1": shared
    both_start_from: str | None = None         # None: each layer from its own given state; "H1"/"H2": one shared
    carried: tuple = ("H1", "H2")              # states carried to the next step; the others restart every step
    starts_from_zeros: bool = False            # True: ignores the state passed in
    output_reads: str = "H2"                   # the layer the output reads; "H1" skips layer 2
    layer1_activation: Callable | None = torch.tanh  # None: tanh forgotten
    layer2_activation: Callable | None = torch.tanh  # None: tanh forgotten
    output_activation: Callable | None = None  # torch.tanh here squashes the logits


def rnn_2_reference(inputs, state, params, variant=Rnn2Variant()):
    """The reference rnn_2 (or, given a variant, one of its classic wrong versions)."""
    v = variant
    W = dict(zip(PARAM_NAMES_2, params))
    layer2 = [w1 if w1 in v.layer2_reuses_layer1_weights else w2
              for w1, w2 in (("W_xh1", "W_xh2"), ("W_hh1", "W_hh2"), ("b_h1", "b_h2"))]
    H1_0, H2_0 = (torch.zeros_like(state[0]), torch.zeros_like(state[1])) if v.starts_from_zeros else state
    if v.both_start_from is not None:
        H1_0 = H2_0 = {"H1": H1_0, "H2": H2_0}[v.both_start_from]
    act1, act2, out_act = (f or (lambda t: t) for f in (v.layer1_activation, v.layer2_activation,
                                                        v.output_activation))
    H1, H2 = H1_0, H2_0
    outputs = []
    for X in inputs:
        H1_prev = H1
        H1 = act1(X @ W["W_xh1"] + {"H1": H1, "H2": H2}[v.layer1_previous] @ W["W_hh1"] + W["b_h1"])
        inp2 = {"H1_t": H1, "H1_t-1": H1_prev, "X_t": X}[v.layer2_input]
        prev2 = {"H2": H2, "H1_t": H1, "H1_t-1": H1_prev}[v.layer2_previous]
        H2 = act2(inp2 @ W[layer2[0]] + prev2 @ W[layer2[1]] + W[layer2[2]])
        outputs.append(out_act({"H1": H1, "H2": H2}[v.output_reads] @ W["W_hq"] + W["b_q"]))
        if "H1" not in v.carried:
            H1 = H1_0
        if "H2" not in v.carried:
            H2 = H2_0
    return torch.cat(outputs, dim=0), (H1, H2)


# ---------------------------------------------------------------------------------------
# the classic mistakes: (wrong variant, what to tell the learner); the first match explains
# ---------------------------------------------------------------------------------------

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

V = Rnn2Variant
MISTAKES = [
    *((V(layer2_reuses_layer1_weights=names), reuse_message(names))
      for names in (("W_xh1", "W_hh1", "b_h1"), ("W_xh1",), ("W_hh1", "b_h1"), ("W_hh1",))),
    (V(layer1_previous="H2", layer2_previous="H1_t", both_start_from="H1"), SHARED),
    (V(layer1_previous="H2", layer2_previous="H1_t", both_start_from="H2"), SHARED),
    (V(layer1_previous="H2"), SHARED),
    (V(layer2_previous="H1_t"), SHARED),
    (V(layer2_previous="H1_t-1"), SHARED),
    (V(output_reads="H1"), "the output reads layer 1 (H1 @ W_hq); it must read the top layer: "
                           "Y = H2 @ W_hq + b_q. As written, layer 2's parameters get no gradient from the loss."),
    (V(layer2_input="X_t"), "layer 2 must read layer 1's output H1_t, not X_t: H2 = tanh(H1 @ W_xh2 + H2 @ W_hh2 + "
                            "b_h2), and its input weight W_xh2 is (h, h). (Feeding X_t is a shape error when "
                            "vocab_size != num_hiddens.)"),
    (V(layer2_input="H1_t-1"), "layer 2 must read layer 1's *current* output H1_t, not H1_{t-1}: "
                               "update H1 first, then compute H2 from the new H1 in the same time step."),
    (V(carried=()), NOT_CARRIED),
    (V(carried=("H1",)), NOT_CARRIED + " (layer 2's state is the one that is not carried)"),
    (V(carried=("H2",)), NOT_CARRIED + " (layer 1's state is the one that is not carried)"),
    (V(carried=(), starts_from_zeros=True), NOT_CARRIED + " (you restart from zeros at every step)"),
    (V(starts_from_zeros=True), "you ignored the state passed in and started from zeros: begin with "
                                "H1, H2 = state so that the memory continues from the previous minibatch."),
    (V(layer1_activation=None, layer2_activation=None),
     TANH + " on both layers: H1 = torch.tanh(...), H2 = torch.tanh(...)."),
    (V(layer1_activation=None), TANH + " on layer 1: H1 = torch.tanh(X_t @ W_xh1 + H1 @ W_hh1 + b_h1)."),
    (V(layer2_activation=None), TANH + " on layer 2: H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)."),
    (V(layer1_activation=torch.relu, layer2_activation=torch.relu),
     "you used relu; this RNN uses tanh (d2l's φ) in both layers."),
    (V(layer1_activation=torch.sigmoid, layer2_activation=torch.sigmoid),
     "you used sigmoid; this RNN uses tanh (d2l's φ) in both layers."),
    (V(output_activation=torch.tanh), "do not apply tanh to the output: Y = H2 @ W_hq + b_q are raw scores "
                                      "(logits) for the softmax inside the cross-entropy loss."),
]
del V


def match_mistake(outputs, case):
    """The message of the first classic mistake whose outputs equal the learner's, or None."""
    inputs, state, params = case
    with torch.no_grad():
        for variant, message in MISTAKES:
            try:
                wrong, _ = rnn_2_reference(inputs, state, params, variant)
            except RuntimeError:  # this mistake is a shape error for this case
                continue
            if close(outputs, wrong):
                return message
    return None
