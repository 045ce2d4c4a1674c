"""helpers/models.py: RNNModelScratch and RNNModel behave like d2l's, and say clearly what shape they expected."""
import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import helpers

V, H, B, T = 28, 16, 4, 5


def scratch_rnn_parts():
    def get_params(vocab_size, num_hiddens, device):
        normal = lambda *shape: torch.randn(size=shape, device=device) * 0.1
        params = [normal(vocab_size, num_hiddens), normal(num_hiddens, num_hiddens),
                  torch.zeros(num_hiddens, device=device), normal(num_hiddens, vocab_size),
                  torch.zeros(vocab_size, device=device)]
        return [p.requires_grad_() for p in params]

    def init_state(batch_size, num_hiddens, device):
        return (torch.zeros((batch_size, num_hiddens), device=device),)

    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        (H_t,), outputs = state, []
        for X_t in inputs:
            H_t = torch.tanh(X_t @ W_xh + H_t @ W_hh + b_h)
            outputs.append(H_t @ W_hq + b_q)
        return torch.cat(outputs, dim=0), (H_t,)

    return get_params, init_state, rnn


def tokens():
    return torch.randint(0, V, (B, T))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_rnn_model_state_and_output_shapes(cell, num_layers):
    net = helpers.stacked_rnn(cell, V, H, num_layers)
    state = net.begin_state("cpu", batch_size=B)
    parts = state if cell == "LSTM" else (state,)
    assert len(parts) == (2 if cell == "LSTM" else 1)
    for s in parts:
        assert s.shape == (num_layers, B, H)
    Y, new_state = net(tokens(), state)
    assert Y.shape == (T * B, V)
    for s in (new_state if cell == "LSTM" else (new_state,)):
        assert s.shape == (num_layers, B, H)


def test_begin_state_defaults_to_batch_of_one():
    net = helpers.RNNModel(nn.GRU(V, H), V)
    assert net.begin_state("cpu").shape == (1, 1, H)


def test_rnn_model_accepts_a_hand_made_layer():
    class TwoLayers(nn.Module):
        """Two stacked nn.RNN modules with the attributes RNNModel reads."""
        hidden_size, num_layers, bidirectional = H, 2, False

        def __init__(self):
            super().__init__()
            self.l1, self.l2 = nn.RNN(V, H), nn.RNN(H, H)

        def forward(self, X, state):
            Y1, h1 = self.l1(X, state[0:1])
            Y2, h2 = self.l2(Y1, state[1:2])
            return Y2, torch.cat([h1, h2])

    net = helpers.RNNModel(TwoLayers(), V)
    state = net.begin_state("cpu", batch_size=B)
    assert state.shape == (2, B, H)
    Y, state = net(tokens(), state)
    assert Y.shape == (T * B, V) and state.shape == (2, B, H)


def test_bidirectional_layer_doubles_the_output_features():
    net = helpers.RNNModel(nn.LSTM(V, H, bidirectional=True), V)
    assert net.linear.in_features == 2 * H
    assert net.begin_state("cpu", batch_size=B)[0].shape == (2, B, H)


def test_scratch_rnn_equals_nn_rnn_after_copying_weights():
    torch.manual_seed(0)
    scratch = helpers.RNNModelScratch(V, H, "cpu", *scratch_rnn_parts())
    concise = helpers.RNNModel(nn.RNN(V, H), V)
    W_xh, W_hh, b_h, W_hq, b_q = scratch.params
    with torch.no_grad():
        concise.rnn.weight_ih_l0.copy_(W_xh.T)
        concise.rnn.weight_hh_l0.copy_(W_hh.T)
        concise.rnn.bias_ih_l0.copy_(b_h)
        concise.rnn.bias_hh_l0.zero_()
        concise.linear.weight.copy_(W_hq.T)
        concise.linear.bias.copy_(b_q)
    X = tokens()
    Y1, (H1,) = scratch(X, scratch.begin_state(B, "cpu"))
    Y2, H2 = concise(X, concise.begin_state("cpu", B))
    assert torch.allclose(Y1, Y2, atol=1e-5)
    assert torch.allclose(H1, H2[0], atol=1e-5)


@pytest.mark.parametrize("bad", [torch.zeros(B * T, dtype=torch.long), torch.zeros(B, T, V, dtype=torch.long)])
def test_wrong_input_shape_names_expected_and_received(bad):
    net = helpers.stacked_rnn("LSTM", V, H, 2)
    with pytest.raises(ValueError, match=r"\(batch_size, num_steps\).*" + re.escape(str(tuple(bad.shape)))):
        net(bad, net.begin_state("cpu", B))
    scratch = helpers.RNNModelScratch(V, H, "cpu", *scratch_rnn_parts())
    with pytest.raises(ValueError, match=r"\(batch_size, num_steps\)"):
        scratch(bad, scratch.begin_state(B, "cpu"))


def test_one_hot_inputs_are_refused_with_a_hint():
    net = helpers.stacked_rnn("RNN", V, H, 1)
    with pytest.raises(ValueError, match="integer token indices"):
        net(F.one_hot(tokens(), V).float()[..., 0], net.begin_state("cpu", B))


def test_out_of_range_tokens_are_refused():
    net = helpers.stacked_rnn("GRU", V, H, 1)
    with pytest.raises(ValueError, match=r"\[0, 27\]"):
        net(torch.full((B, T), V), net.begin_state("cpu", B))


def test_wrong_state_shape_names_expected_and_received():
    net = helpers.stacked_rnn("GRU", V, H, 2)
    with pytest.raises(ValueError, match=re.escape(f"(2, {B}, {H})") + ".*" + re.escape(f"({B}, {H})")):
        net(tokens(), torch.zeros(B, H))
    lstm = helpers.stacked_rnn("LSTM", V, H, 2)
    with pytest.raises(ValueError, match=r"tuple \(H, C\)"):
        lstm(tokens(), torch.zeros(2, B, H))


def test_unknown_cell_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"'GRU', 'LSTM', 'RNN'"):
        helpers.stacked_rnn("TCN", V, H, 2)
    with pytest.raises(ValueError, match="LSTM"):
        helpers.params_per_layer("TCN", V, H, 2)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_params_per_layer_matches_numel(cell):
    layer = helpers.CELLS[cell](V, H, num_layers=3)
    numel = helpers.numel_per_layer(layer)
    assert sum(numel) == sum(p.numel() for p in layer.parameters())
    assert helpers.params_per_layer(cell, V, H, 3) == numel == helpers.numel_per_layer(helpers.RNNModel(layer, V))
    # Only layer 1 depends on the number of inputs.
    other = helpers.params_per_layer(cell, 2 * V, H, 3)
    assert other[1:] == numel[1:] and other[0] > numel[0]


# ---------------------------------------------------------------- bad input (issue 12)

def test_a_batch_first_layer_is_refused_when_the_model_is_built():
    with pytest.raises(ValueError, match=r"time-major inputs.*LSTM\(\.\.\., batch_first=True\).*batch_first=False"):
        helpers.RNNModel(nn.LSTM(V, H, batch_first=True), V)


@pytest.mark.parametrize("num_hiddens", [-4, 0, 4.0, True])
def test_params_per_layer_refuses_sizes_that_are_not_whole_positive_numbers(num_hiddens):
    with pytest.raises(ValueError, match=rf"params_per_layer: num_hiddens must be a whole number >= 1, "
                                         rf"got {num_hiddens!r}"):
        helpers.params_per_layer("LSTM", V, num_hiddens, 2)


@pytest.mark.parametrize("num_layers", [0, 2.0])
def test_stacked_rnn_refuses_sizes_that_are_not_whole_positive_numbers(num_layers):
    with pytest.raises(ValueError, match=rf"stacked_rnn: num_layers must be a whole number >= 1, got {num_layers!r}"):
        helpers.stacked_rnn("GRU", V, H, num_layers)


def test_stacked_rnn_on_cuda_without_a_gpu_says_to_use_try_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match=r"device='cuda' but PyTorch sees no GPU here.*device=d2l\.try_gpu\(\)"):
        helpers.stacked_rnn("LSTM", V, H, 1, device="cuda")


# ---------------------------------------------------------------- one parser of PyTorch's parameter names

@pytest.mark.parametrize("name, part", [
    ("weight_ih_l0", 1), ("bias_hh_l2", 3), ("weight_hh_l1_reverse", 2), ("weight_hr_l0", 1),  # nn.RNN/GRU/LSTM
    ("rnn.weight_ih_l3", 4), ("linear.weight", "output"), ("linear.bias", "output"),  # RNNModel, stacked_rnn
    ("layers.0.weight_ih_l0", 1), ("layers.2.bias_hh_l0", 3), ("embedding.weight", "embedding"),  # RNNStack
    ("dropout.p", None), ("weight", None),
])
def test_layer_of_reads_every_course_models_parameter_names(name, part):
    from helpers.models import layer_of
    assert layer_of(name) == part


def test_numel_per_layer_counts_a_hand_built_stack_by_layer_without_its_embedding():
    from helpers.stacks import RNNStack
    net = RNNStack(V, [8, 12, 5], cell="GRU", embed_size=4)
    assert helpers.numel_per_layer(net) == [sum(p.numel() for p in layer.parameters()) for layer in net.layers]
    assert helpers.numel_per_layer(net) == [helpers.params_per_layer("GRU", d, h, 1)[0]
                                            for d, h in ((4, 8), (8, 12), (12, 5))]
    with pytest.raises(TypeError, match="numel_per_layer needs an nn.RNN.*got Linear"):
        helpers.numel_per_layer(nn.Linear(2, 3))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_rnn_shapes_are_read_from_a_real_module(cell):
    shapes, numel = helpers.rnn_shapes(cell, V, H, 3, T, B)
    assert shapes["input"] == (T, B, V) and shapes["out"] == (T, B, H) and shapes["h_n"] == shapes["h0"] == (3, B, H)
    assert (shapes["c_n"] is None) == (cell != "LSTM")
    assert shapes["weight_ih_l0"] == (helpers.models.GATES[cell] * H, V)
    assert numel == helpers.params_per_layer(cell, V, H, 3)


def test_one_table_of_cells_for_the_modules_and_their_gates():
    from helpers import models, stacks
    assert models.CELLS == {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM} and stacks.CELLS is models.CELLS
    assert models.GATES == {"RNN": 1, "GRU": 3, "LSTM": 4}
    with pytest.raises(ValueError, match=r"^cell must be one of \['GRU', 'LSTM', 'RNN'\], got 'TCN'$"):
        helpers.rnn_shapes("TCN", V, H, 1, T, B)
