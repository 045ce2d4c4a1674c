"""Tests for helpers/checks.py: right answers pass with one "✓" line, each classic mistake
fails with its own actionable message, and the learner's NotImplementedError passes through."""
import math
import time

import pytest
import torch
from torch import nn

from helpers import checks
from helpers.checks import CheckFailed


# ---------------------------------------------------------------------------------------
# correct implementations (what a learner should write)
# ---------------------------------------------------------------------------------------

def perplexity(mean_loss):
    return math.exp(mean_loss)


def make_windows(corpus, k):
    n = len(corpus) - k
    return (torch.tensor([corpus[i:i + k] for i in range(n)]),
            torch.tensor([corpus[i + k] for i in range(n)]))


def rnn_step(X_t, H, W_xh, W_hh, b_h):
    return torch.tanh(X_t @ W_xh + H @ W_hh + b_h)


def init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


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


def init_rnn_2_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def rnn_2(inputs, state, params):
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    H1, H2 = state
    outputs = []
    for X in inputs:
        H1 = torch.tanh(X @ W_xh1 + H1 @ W_hh1 + b_h1)
        H2 = torch.tanh(H1 @ W_xh2 + H2 @ W_hh2 + b_h2)
        outputs.append(H2 @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H1, H2)


def predict_lstm_shapes(num_inputs, num_hiddens, num_layers, batch_size, num_steps, batch_first):
    out = (batch_size, num_steps, num_hiddens) if batch_first else (num_steps, batch_size, num_hiddens)
    return {"out": out, "h_n": (num_layers, batch_size, num_hiddens),
            "c_n": (num_layers, batch_size, num_hiddens)}


def lstm_params_per_layer(num_inputs, num_hiddens, num_layers):
    h = num_hiddens
    return [4 * (h * (num_inputs if layer == 0 else h) + h * h + 2 * h) for layer in range(num_layers)]


def deep_begin_state(cell, num_layers, batch_size, num_hiddens):
    def zeros():
        return torch.zeros((num_layers, batch_size, num_hiddens))
    return (zeros(), zeros()) if cell == "LSTM" else zeros()


CORRECT = {
    "check_perplexity": perplexity,
    "check_make_windows": make_windows,
    "check_rnn_step": rnn_step,
    "check_init_rnn_state": init_rnn_state,
    "check_get_params_2": get_params_2,
    "check_init_rnn_2_state": init_rnn_2_state,
    "check_rnn_2": rnn_2,
    "check_lstm_shapes": predict_lstm_shapes,
    "check_lstm_params": lstm_params_per_layer,
    "check_deep_begin_state": deep_begin_state,
}


def fails(check, fn, *phrases):
    """Run a check that must fail; assert its message holds every phrase; return the message."""
    with pytest.raises(CheckFailed) as info:
        check(fn)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in message:\n{message}"
    return message


# ---------------------------------------------------------------------------------------
# every check
# ---------------------------------------------------------------------------------------

def test_every_api_check_exists_and_check_failed_is_an_assertion_error():
    assert set(CORRECT) == {name for name in checks.__all__ if name.startswith("check_")}
    assert issubclass(CheckFailed, AssertionError)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_implementation_passes_with_one_deterministic_line(name, capsys):
    check = getattr(checks, name)
    rng = torch.get_rng_state()
    assert check(CORRECT[name]) is None  # nothing for Jupyter to echo after the line
    first = capsys.readouterr().out
    check(CORRECT[name])
    second = capsys.readouterr().out
    assert first == second
    assert first.startswith("✓ ") and first.count("\n") == 1
    assert torch.equal(rng, torch.get_rng_state()), "a check must not move the global random stream"


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_check_is_fast(name, capsys):
    check = getattr(checks, name)
    check(CORRECT[name])  # warm up torch kernels
    start = time.perf_counter()
    check(CORRECT[name])
    # The budget is 0.2 s; allow for the shared, noisy 2-core machine.
    assert time.perf_counter() - start < 0.6


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_not_implemented_error_propagates_unchanged(name):
    def stub(*args):
        raise NotImplementedError("Exercise: write this part")
    with pytest.raises(NotImplementedError, match="^Exercise: write this part$") as info:
        getattr(checks, name)(stub)
    assert not isinstance(info.value, CheckFailed)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_other_errors_become_check_failed_with_original_text_and_hint(name):
    def broken(*args):
        raise KeyError("no such thing")
    message = fails(getattr(checks, name), broken, "raised KeyError", "no such thing", "Hint:")
    assert "line" in message  # points at the learner's line


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_passing_the_result_instead_of_the_function_is_explained(name):
    fails(getattr(checks, name), 42, "pass the function itself")


# ---------------------------------------------------------------------------------------
# 01
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, phrase", [
    (lambda loss: loss, "the loss itself"),
    (lambda loss: 2 ** loss, "natural log"),
    (lambda loss: math.exp(-loss), "reciprocal"),
])
def test_perplexity_mistakes(wrong, phrase):
    message = fails(checks.check_perplexity, wrong, phrase)
    assert "should be exp(" in message


def test_perplexity_must_return_a_number():
    fails(checks.check_perplexity, lambda loss: [math.exp(loss)], "should return a float", "a list of 1")


def test_perplexity_accepts_a_one_element_tensor(capsys):
    checks.check_perplexity(lambda loss: torch.exp(torch.tensor(loss, dtype=torch.float64)))
    assert capsys.readouterr().out.startswith("✓ perplexity")


def _windows(transform):
    def make(corpus, k):
        return transform(corpus, k, len(corpus) - k)
    return make


@pytest.mark.parametrize("wrong, phrases", [
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n - 1)]),
                               torch.tensor([c[i + k] for i in range(n - 1)]))),
     ["X should be (n, k) = (7, 3)", "one window too few", "you returned (6, 3)"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]).T,
                               torch.tensor([c[i + k] for i in range(n)]))), ["transposed"]),
    (_windows(lambda c, k, n: (torch.Tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([c[i + k] for i in range(n)]))), ["torch.long", "torch.float32"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([c[i + k - 1] for i in range(n)]))),
     ["y[0] should be corpus[3] = 1", "last token inside the window"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i + 1:i + k + 1] for i in range(n)]),
                               torch.tensor([c[i + k] for i in range(n)]))),
     ["X[0] should be corpus[0:3] = [3, 1, 4]", "one token too late"]),
    (_windows(lambda c, k, n: (torch.tensor([c[i:i + k] for i in range(n)]),
                               torch.tensor([[c[i + k]] for i in range(n)]))), ["(7,)", "extra axis"]),
    (_windows(lambda c, k, n: ([c[i:i + k] for i in range(n)], [c[i + k] for i in range(n)])),
     ["should be a torch tensor"]),
    (_windows(lambda c, k, n: torch.tensor([c[i:i + k] for i in range(n)])), ["pair (X, y)"]),
])
def test_make_windows_mistakes(wrong, phrases):
    fails(checks.check_make_windows, wrong, *phrases)


# ---------------------------------------------------------------------------------------
# 02
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, phrases", [
    (lambda X, H, Wx, Wh, b: X @ Wx + H @ Wh + b, ["missing tanh"]),
    (lambda X, H, Wx, Wh, b: torch.relu(X @ Wx + H @ Wh + b), ["relu"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + b), ["previous state H is missing"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh), ["bias b_h is missing"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh.T + b), ["W_hh.T"]),
    (lambda X, H, Wx, Wh, b: (torch.tanh(X @ Wx + H @ Wh + b),), ["tuple of 1"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh + b).detach(), ["no gradient reaches"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx.detach() + H @ Wh + b), ["no gradient reaches W_xh"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(Wx @ X + H @ Wh + b), ["raised RuntimeError", "Hint: shapes"]),
    (lambda X, H, Wx, Wh, b: torch.tanh(X @ Wx + H @ Wh + b).T, ["(2, 4)", "you returned (4, 2)"]),
])
def test_rnn_step_mistakes(wrong, phrases):
    fails(checks.check_rnn_step, wrong, *phrases)


@pytest.mark.parametrize("wrong, phrases", [
    (lambda B, h, d: torch.zeros((B, h), device=d), ["trailing comma"]),
    (lambda B, h, d: (torch.ones((B, h), device=d),), ["all zeros"]),
    (lambda B, h, d: (torch.zeros((h, B), device=d),), ["transposed", "(2, 4)", "(4, 2)"]),
    (lambda B, h, d: (torch.zeros((B, h)), torch.zeros((B, h))), ["tuple of 1"]),
    (lambda B, h, d: (torch.zeros((B, h), dtype=torch.long),), ["float"]),
])
def test_init_rnn_state_mistakes(wrong, phrases):
    fails(checks.check_init_rnn_state, wrong, *phrases)


# ---------------------------------------------------------------------------------------
# 03: get_params_2, init_rnn_2_state
# ---------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("wrong, phrases", [
    (lambda B, h, d: torch.zeros((2, B, h)), ["nn.RNN's (num_layers, batch, h) layout"]),
    (lambda B, h, d: (torch.zeros((B, h)),), ["tuple of two", "one state per layer"]),
    (lambda B, h, d: (torch.zeros((B, h)), torch.ones((B, h))), ["H2 should be all zeros"]),
    (lambda B, h, d: (torch.zeros((B, h)), torch.zeros((B, 2 * h))), ["H2 should be (2, 4)", "(2, 8)"]),
])
def test_init_rnn_2_state_mistakes(wrong, phrases):
    fails(checks.check_init_rnn_2_state, wrong, *phrases)


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
    fails(checks.check_rnn_2, rnn_2_unpacks_one_state, "raised ValueError", "H1, H2 = state")


def test_rnn_2_reference_equals_nn_rnn_with_two_layers():
    """The reference inside checks.py is itself checked against PyTorch."""
    inputs, state, params = checks._rnn_2_case(V=5, h=4, T=3, B=2, seed=0)
    rnn = nn.RNN(5, 4, num_layers=2)
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh1.T), rnn.weight_hh_l0.copy_(W_hh1.T)
        rnn.bias_ih_l0.copy_(b_h1), rnn.bias_hh_l0.zero_()
        rnn.weight_ih_l1.copy_(W_xh2.T), rnn.weight_hh_l1.copy_(W_hh2.T)
        rnn.bias_ih_l1.copy_(b_h2), rnn.bias_hh_l1.zero_()
        out, h_n = rnn(inputs, torch.stack(state))
        expected = out.reshape(-1, 4) @ W_hq + b_q
        got, (H1, H2) = checks._rnn_2_variant(inputs, state, params)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(torch.stack([H1, H2]), h_n, atol=1e-6)


def test_rnn_2_every_classic_mistake_differs_from_the_reference():
    """Otherwise a mistake could never be told apart (or a right answer could be flagged)."""
    for case in (checks._rnn_2_case(5, 4, 3, 2, 0), checks._rnn_2_case(4, 4, 3, 2, 1)):
        reference, _ = checks._rnn_2_variant(*case)
        for changes, _ in checks._RNN_2_MISTAKES:
            try:
                wrong, _ = checks._rnn_2_variant(*case, **changes)
            except RuntimeError:
                continue
            assert not torch.allclose(wrong, reference, atol=1e-3), changes


# ---------------------------------------------------------------------------------------
# 04
# ---------------------------------------------------------------------------------------

def _shapes(change):
    def predict(d, h, L, B, T, bf):
        return change(predict_lstm_shapes(d, h, L, B, T, bf), d, h, L, B, T, bf)
    return predict


def test_lstm_shapes_reference_matches_nn_lstm():
    for d, h, L, B, T, bf in [(3, 4, 2, 5, 6, False), (3, 4, 3, 5, 6, True)]:
        x = torch.zeros((B, T, d) if bf else (T, B, d))
        out, (h_n, c_n) = nn.LSTM(d, h, num_layers=L, batch_first=bf)(x)
        expected = predict_lstm_shapes(d, h, L, B, T, bf)
        assert expected == {"out": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


def test_lstm_shapes_accepts_torch_size(capsys):
    checks.check_lstm_shapes(_shapes(lambda r, *a: {k: torch.Size(v) for k, v in r.items()}))
    assert capsys.readouterr().out.startswith("✓ lstm_shapes")


@pytest.mark.parametrize("wrong, phrases", [
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "h_n": (B, h), "c_n": (B, h)}),
     ["h_n should be (2, 32, 256): one state per layer; you returned (32, 256)"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "c_n": (B, h)}),
     ["c_n should be (2, 32, 256): one state per layer; c_n has the same shape as h_n"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (T, B, h)}),
     ["batch_first=True", "out should be (32, 35, 256)", "you gave the batch_first=False layout"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "h_n": (B, L, h) if bf else (L, B, h)}),
     ["whatever batch_first says", "you returned (32, 2, 256)"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (T, B, d)}), ["not num_inputs"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {**r, "out": (L, T, B, h)}), ["only the top layer"]),
    (_shapes(lambda r, d, h, L, B, T, bf: {"out": r["out"], "h_n": r["h_n"]}), ["missing 'c_n'"]),
    (_shapes(lambda r, d, h, L, B, T, bf: [r["out"], r["h_n"], r["c_n"]]), ['return a dict with keys']),
])
def test_lstm_shapes_mistakes(wrong, phrases):
    fails(checks.check_lstm_shapes, wrong, *phrases)


def test_lstm_params_reference_matches_numel():
    for d, h, L in [(28, 32, 2), (5, 4, 3)]:
        lstm = nn.LSTM(d, h, L)
        assert sum(lstm_params_per_layer(d, h, L)) == sum(p.numel() for p in lstm.parameters())


@pytest.mark.parametrize("wrong, phrases", [
    (lambda d, h, L: [h * (d if l == 0 else h) + h * h + 2 * h for l in range(L)], ["4 gate blocks"]),
    (lambda d, h, L: [3 * (h * (d if l == 0 else h) + h * h + 2 * h) for l in range(L)], ["GRU"]),
    (lambda d, h, L: [4 * (h * (d if l == 0 else h) + h * h + h) for l in range(L)], ["two bias vectors"]),
    (lambda d, h, L: [4 * (h * d + h * h + 2 * h) for l in range(L)],
     ["layer 2 should have", "only the first layer sees num_inputs"]),
    (lambda d, h, L: [4 * (h * h + h * h + 2 * h) for l in range(L)], ["layer 1 reads the num_inputs-sized input"]),
    (lambda d, h, L: sum(lstm_params_per_layer(d, h, L)), ["single number", "that is the total"]),
    (lambda d, h, L: lstm_params_per_layer(d, h, L)[:1], ["should return 2 counts, one per layer"]),
])
def test_lstm_params_mistakes(wrong, phrases):
    fails(checks.check_lstm_params, wrong, *phrases)


# ---------------------------------------------------------------------------------------
# 05
# ---------------------------------------------------------------------------------------

def test_deep_begin_state_state_is_accepted_by_the_modules():
    for cell in ("RNN", "GRU", "LSTM"):
        module = getattr(nn, cell)(3, 4, num_layers=2)
        module(torch.zeros(5, 2, 3), deep_begin_state(cell, 2, 2, 4))


@pytest.mark.parametrize("wrong, phrases", [
    (lambda cell, L, B, h: torch.zeros((L, B, h)), ["nn.LSTM needs a tuple (H, C)"]),
    (lambda cell, L, B, h: (torch.zeros((L, B, h)), torch.zeros((L, B, h))), ['nn.RNN takes a single tensor']),
    (lambda cell, L, B, h: deep_begin_state(cell, 1, B, h)[0] if False else torch.zeros((B, h)),
     ["should be (2, 3, 4): one state per layer", "you returned (3, 4)"]),
    (lambda cell, L, B, h: torch.zeros((B, L, h)) if cell != "LSTM" else None, ["layer axis comes first"]),
    (lambda cell, L, B, h: torch.ones((L, B, h)) if cell != "LSTM" else None, ["should be all zeros"]),
    (lambda cell, L, B, h: (torch.zeros((L, B, h)),) if cell == "LSTM" else torch.zeros((L, B, h)),
     ["tuple (H, C) of two", "a tuple of 1"]),
])
def test_deep_begin_state_mistakes(wrong, phrases):
    fails(checks.check_deep_begin_state, wrong, *phrases)
