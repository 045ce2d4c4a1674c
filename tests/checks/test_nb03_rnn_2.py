"""helpers/checks/nb03_rnn_2.py: get_params_2 and rnn_2; each classic mistake of
rnn_2, written as a learner would write it, gets its own message."""
import pytest
import torch

from helpers import checks

from .util import fails

# correct implementations (what a learner should write)

def get_params_2(vocab_size, num_hiddens, device):
    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01
    V, h = vocab_size, num_hiddens
    params = [normal((V, h)), normal((h, h)), torch.zeros(h, device=device),
              normal((h, h)), normal((h, h)), torch.zeros(h, device=device),
              normal((h, V)), torch.zeros(V, device=device)]
    for param in params:
        param.requires_grad_(True)
    return params


def rnn_2(inputs, state, params):
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)



CORRECT = {"check_get_params_2": get_params_2, "check_rnn_2": rnn_2}


def _params_2(change):
    def get(V, h, device):
        params = get_params_2(V, h, device)
        return change(params, V, h)
    return get


def _fresh(shape):
    return (torch.randn(shape) * 0.01).requires_grad_(True)


@pytest.mark.parametrize("wrong, phrases", [
    (_params_2(lambda p, V, h: p[:3] + [_fresh((V, h))] + p[4:]),
     ["W_xh2 should be (4, 4)", "you returned (5, 4)", "Layer 2 reads layer 1's output"]),
    (_params_2(lambda p, V, h: p[:6] + [_fresh((V, h))] + p[7:]), ["W_hq should be (4, 5)", "transposed"]),
    (_params_2(lambda p, V, h: p[:7]), ["list of 8 tensors", "a list of 7"]),
    (_params_2(lambda p, V, h: p[:4] + [p[1]] + p[5:]), ["W_hh1 and W_hh2 are the same tensor"]),
    (_params_2(lambda p, V, h: [t.detach() for t in p]), ["does not require grad"]),
    (_params_2(lambda p, V, h: [t * 1.0 for t in p]), ["not a leaf tensor"]),
    (_params_2(lambda p, V, h: [torch.zeros_like(t).requires_grad_(True) for t in p]),
     ["initialise weights randomly"]),
])
def test_get_params_2_mistakes(wrong, phrases):
    fails(checks.check_get_params_2, wrong, *phrases)


# ---------------------------------------------------------------------------------------
# 03: rnn_2, each classic mistake with its own message
# ---------------------------------------------------------------------------------------

def rnn_2_reusing_layer_1(inputs, state, params):
    """(a) layer 1's weights reused for layer 2: a shape error unless vocab == hidden."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh1 + H2 @ W_hh1 + b_h1)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_reusing_W_hh1(inputs, state, params):
    """(a') only the recurrent weight reused: no shape error anywhere."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh1 + b_h2)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_one_shared_state(inputs, state, params):
    """(b) one H for both layers, returned twice."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H, _ = state
    outputs = []
    for X in inputs:
        H = torch.tanh(X @ W_xh1 + H @ W_hh1 + b_h1)
        H = torch.tanh(H @ W_xh2 + H @ W_hh2 + b_h2)
        outputs.append(H @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H, H)


def rnn_2_state_tuple_of_one(inputs, state, params):
    """(b') one shared state, returned as (H,)."""
    outputs, (H, _) = rnn_2_one_shared_state(inputs, state, params)
    return outputs, (H,)


def rnn_2_shared_state_distinct_returns(inputs, state, params):
    """(b'') layer 1 reads the top layer's previous state (one carried state), returns (H1, H2)."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H2 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_output_from_layer_1(inputs, state, params):
    """(c) Y = H1 @ W_hq + b_q."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H1 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_feeds_X_to_layer_2(inputs, state, params):
    """(d) layer 2 reads X_t instead of H1_t."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(X @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_feeds_previous_H1(inputs, state, params):
    """(d') layer 2 computed before layer 1 is updated: reads H1_{t-1}."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_state_not_carried(inputs, state, params):
    """(e) every step starts again from the state passed in."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        new_H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        new_H2 = torch.tanh(new_H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(new_H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (new_H1, new_H2)


def rnn_2_state_not_updated(inputs, state, params):
    """(e') right outputs, but the state handed back is the one received."""
    outputs, _ = rnn_2(inputs, state, params)
    return outputs, state


def rnn_2_ignores_state(inputs, state, params):
    """(e'') starts from zeros instead of the state passed in."""
    H1 = torch.zeros_like(state[0])
    return rnn_2(inputs, (H1, torch.zeros_like(state[1])), params)


def rnn_2_without_tanh(inputs, state, params):
    """(f) no activation in either layer."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = X @ W_xh1 + H1 @ W_hh1 + b_h1
        H2 = H1 @ W_xh2 + H2 @ W_hh2 + b_h2
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_without_tanh_in_layer_2(inputs, state, params):
    """(f') activation forgotten in the second layer only."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = H1 @ W_xh2 + H2 @ W_hh2 + b_h2
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_stacked_outputs(inputs, state, params):
    """(g) torch.stack instead of torch.cat."""
    outputs, new_state = rnn_2(inputs, state, params)
    return outputs.reshape(inputs.shape[0], inputs.shape[1], -1), new_state


def rnn_2_state_not_a_tuple(inputs, state, params):
    """(g') only H2 returned as the state."""
    outputs, (H1, H2) = rnn_2(inputs, state, params)
    return outputs, H2


def rnn_2_returns_hidden_states(inputs, state, params):
    """(g'') no output layer: hidden states returned as outputs."""
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H2)
    return torch.cat(outputs, dim=0), (H1, H2)


def rnn_2_detached(inputs, state, params):
    outputs, new_state = rnn_2(inputs, state, [p.detach() for p in params])
    return outputs, new_state


def rnn_2_unpacks_one_state(inputs, state, params):
    H, = state  # copied from the one-layer forward: the state is a pair here
    return rnn_2(inputs, (H, H), params)


def test_rnn_2_a_layer_1_weights_reused_for_layer_2():
    message = fails(checks.check_rnn_2, rnn_2_reusing_layer_1,
                    "layer 2 reuses layer 1's weights (W_xh1, W_hh1, b_h1)",
                    "W_xh2, W_hh2, b_h2 get no gradient", "W_xh1 is used twice")
    # the shape error seen with vocab_size != num_hiddens is quoted too
    assert "mat1 and mat2 shapes cannot be multiplied" in message


def test_rnn_2_a_recurrent_weight_reused_without_shape_error():
    fails(checks.check_rnn_2, rnn_2_reusing_W_hh1, "layer 2 reuses layer 1's weights (W_hh1)",
          "W_hh2 get no gradient", "vocab_size=5")


@pytest.mark.parametrize("wrong", [rnn_2_one_shared_state, rnn_2_state_tuple_of_one,
                                   rnn_2_shared_state_distinct_returns])
def test_rnn_2_b_one_shared_state(wrong):
    fails(checks.check_rnn_2, wrong, "One shared state for both layers")


def test_rnn_2_b_state_tuple_of_one_says_so():
    fails(checks.check_rnn_2, rnn_2_state_tuple_of_one, "you returned a tuple of 1")


def test_rnn_2_c_output_read_from_layer_1():
    fails(checks.check_rnn_2, rnn_2_output_from_layer_1, "the output reads layer 1",
          "Y = H2 @ W_hq + b_q", "layer 2's parameters get no gradient")


def test_rnn_2_d_layer_2_fed_X_t():
    message = fails(checks.check_rnn_2, rnn_2_feeds_X_to_layer_2,
                    "layer 2 must read layer 1's output H1_t, not X_t", "W_xh2 is (h, h)")
    assert "(2x5 and 4x4)" in message  # the original shape error, for the record


def test_rnn_2_d_layer_2_fed_previous_H1():
    fails(checks.check_rnn_2, rnn_2_feeds_previous_H1, "*current* output H1_t, not H1_{t-1}")


def test_rnn_2_e_state_not_carried_across_time_steps():
    fails(checks.check_rnn_2, rnn_2_state_not_carried, "not carried across time steps")


def test_rnn_2_e_state_not_updated():
    fails(checks.check_rnn_2, rnn_2_state_not_updated, "the outputs are right but the returned state is not",
          "the state was not updated")


def test_rnn_2_e_state_argument_ignored():
    fails(checks.check_rnn_2, rnn_2_ignores_state, "ignored the state passed in", "H1, H2 = state")


def test_rnn_2_f_missing_tanh():
    fails(checks.check_rnn_2, rnn_2_without_tanh, "missing tanh on both layers")
    fails(checks.check_rnn_2, rnn_2_without_tanh_in_layer_2, "missing tanh on layer 2")


@pytest.mark.parametrize("wrong, phrases", [
    (rnn_2_stacked_outputs, ["outputs should be (6, 5)", "you returned (3, 2, 5)", "not torch.stack"]),
    (rnn_2_state_not_a_tuple, ["state should be a tuple of two (H1, H2), each (2, 4)", "one tensor (2, 4)"]),
    (rnn_2_returns_hidden_states, ["outputs should be (6, 5)", "(6, 4)", "apply the output layer"]),
    (lambda inputs, state, params: rnn_2(inputs, state, params)[0], ["pair (outputs, (H1, H2))"]),
])
def test_rnn_2_g_wrong_return_shapes(wrong, phrases):
    fails(checks.check_rnn_2, wrong, *phrases)


def test_rnn_2_state_in_wrong_order():
    def swapped(inputs, state, params):
        outputs, (H1, H2) = rnn_2(inputs, state, params)
        return outputs, (H2, H1)
    fails(checks.check_rnn_2, swapped, "wrong order")


def test_rnn_2_detached_parameters():
    fails(checks.check_rnn_2, rnn_2_detached, "carry no gradient", ".detach()")


def test_rnn_2_unpacking_error_is_explained():
    fails(checks.check_rnn_2, rnn_2_unpacks_one_state, "raised ValueError", "unpacks a tuple or list")


