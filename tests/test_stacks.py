"""helpers/stacks.py: the hand-written stack (residual connections, dropout between layers,
recorded states, ablation) and its RNNModel-style interface."""
import math

import pytest
import torch
from torch import nn

import helpers
from helpers.stacks import RNNStack

V = 10


def tokens(B=2, T=7, seed=0):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def copy_into_lstm(net, ref):
    """Copy the stack's single-layer weights into one nn.LSTM(num_layers=L)."""
    with torch.no_grad():
        for l, layer in enumerate(net.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, f"{name}_l{l}").copy_(getattr(layer, f"{name}_l0"))


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_shapes_follow_rnnmodel_and_each_layer_has_its_own_size(cell):
    helpers.set_seed(0)
    net = RNNStack(V, [8, 12, 5], cell=cell, embed_size=4)
    state = net.begin_state("cpu", batch_size=2)
    assert len(state) == (6 if cell == "LSTM" else 3)
    assert [tuple(s.shape) for s in state[:3]] == [(1, 2, 8), (1, 2, 12), (1, 2, 5)]
    logits, new_state, Hs = net.forward_layers(tokens(), state)
    assert logits.shape == (7 * 2, V)
    assert [tuple(H.shape) for H in Hs] == [(7, 2, 8), (7, 2, 12), (7, 2, 5)]  # (T, B, h_l)
    assert [s.shape for s in new_state] == [s.shape for s in state]
    assert isinstance(new_state, tuple)  # train_ch8 detaches a flat tuple of tensors
    out, _ = net(tokens(), state)
    assert torch.equal(out, logits)


def test_plain_stack_equals_nn_lstm_with_num_layers_after_copying_weights():
    helpers.set_seed(0)
    net = RNNStack(V, 6, 3, embed_size=5).eval()
    ref = nn.LSTM(5, 6, num_layers=3)
    copy_into_lstm(net, ref)
    X = tokens()
    _, state, Hs = net.forward_layers(X, net.begin_state("cpu", 2))
    out, (h_n, c_n) = ref(net.embedding(X.T))
    assert torch.allclose(Hs[-1], out, atol=1e-6)
    assert torch.allclose(torch.cat(state[:3]), h_n, atol=1e-6)
    assert torch.allclose(torch.cat(state[3:]), c_n, atol=1e-6)


def test_residual_stack_equals_plain_layers_plus_their_inputs():
    helpers.set_seed(0)
    net = RNNStack(V, 6, 3, embed_size=6, residual=True).eval()
    X = tokens()
    logits, _, Hs = net.forward_layers(X, net.begin_state("cpu", 2))
    with torch.no_grad():  # by hand: U^{(1)} = H^{(1)}, U^{(l)} = H^{(l)} + U^{(l-1)}
        U = net.layers[0](net.embedding(X.T))[0]
        H1 = U
        for layer in net.layers[1:]:
            U = layer(U)[0] + U
        expected = net.linear(U.reshape(-1, 6))
    assert torch.allclose(logits, expected, atol=1e-6)
    assert torch.allclose(Hs[0], H1, atol=1e-6)  # layer 1 has no residual
    plain = RNNStack(V, 6, 3, embed_size=6).eval()
    plain.load_state_dict(net.state_dict())  # same weights, no skips
    assert not torch.allclose(plain(X, plain.begin_state("cpu", 2))[0], logits)


def test_dropout_only_between_layers_and_equal_to_nn_lstm_dropout():
    helpers.set_seed(0)
    net = RNNStack(V, 6, 3, embed_size=5, dropout=0.5)
    X, state = tokens(), net.begin_state("cpu", 2)
    _, eval_state, eval_Hs = net.eval().forward_layers(X, state)
    _, train_state, train_Hs = net.train().forward_layers(X, state)
    # Layer 1 reads the undropped embedding and its undropped own past: no change at all.
    assert torch.equal(train_Hs[0], eval_Hs[0]) and torch.equal(train_state[0], eval_state[0])
    assert not torch.allclose(train_Hs[1], eval_Hs[1])  # layer 2 reads a dropped-out layer 1
    one = RNNStack(V, 6, 1, embed_size=5, dropout=0.5)  # nothing between layers to drop
    assert torch.equal(one.train()(X, one.begin_state("cpu", 2))[0], one.eval()(X, one.begin_state("cpu", 2))[0])
    ref = nn.LSTM(5, 6, num_layers=3, dropout=0.5).train()
    copy_into_lstm(net, ref)
    torch.manual_seed(1)
    _, _, Hs = net.forward_layers(X, state)
    torch.manual_seed(1)
    out, _ = ref(net.embedding(X.T))
    assert torch.allclose(Hs[-1], out, atol=1e-6)  # same masks, same numbers


def test_recorded_states_keep_their_gradients_with_retain_grad():
    helpers.set_seed(0)
    net = RNNStack(V, 6, 2, cell="RNN", embed_size=5, residual=True)
    logits, _, Hs = net.forward_layers(tokens(), net.begin_state("cpu", 2))
    for H in Hs:
        H.retain_grad()
    nn.functional.cross_entropy(logits[-2:], torch.tensor([1, 2])).backward()  # loss at the last step
    assert all(H.grad is not None and H.grad.shape == H.shape for H in Hs)
    assert float(Hs[0].grad[-1].norm()) > 0 and float(Hs[0].grad[0].norm()) > 0


def test_ablation_replaces_what_a_layer_passes_up_and_is_undone_afterwards():
    helpers.set_seed(0)
    X = tokens()
    plain = RNNStack(V, 6, 2, embed_size=5).eval()
    before = plain(X, plain.begin_state("cpu", 2))[0]
    with plain.ablated(2):  # the top layer passes up zeros: only the output bias is left
        zeroed, _, Hs = plain.forward_layers(X, plain.begin_state("cpu", 2))
    assert torch.allclose(zeroed, plain.linear.bias.expand_as(zeroed))
    assert float(Hs[1].detach().abs().sum()) > 0  # the layer's own states are recorded as they are
    assert torch.equal(plain(X, plain.begin_state("cpu", 2))[0], before)
    res = RNNStack(V, 6, 2, embed_size=5, residual=True).eval()
    _, _, Hs = res.forward_layers(X, res.begin_state("cpu", 2))
    with res.ablated(2):  # residual: skipping layer 2 leaves layer 1's states for the output
        skipped = res(X, res.begin_state("cpu", 2))[0]
    assert torch.allclose(skipped, res.linear(Hs[0].reshape(-1, 6)), atol=1e-6)
    mean = Hs[1].reshape(-1, 6).mean(dim=0)
    with res.ablated(2, mean):
        with_mean = res(X, res.begin_state("cpu", 2))[0]
    assert torch.allclose(with_mean, res.linear(Hs[0].reshape(-1, 6) + mean), atol=1e-6)


def test_course_training_evaluation_and_sampling_work_on_a_stack():
    text = "to be or not to be that is the question " * 30
    vocab = helpers.Vocab(list(text))
    corpus = vocab[list(text)]
    train_iter = helpers.SeqDataLoader.from_corpus(corpus, vocab, 4, 16)
    helpers.set_seed(0)
    net = RNNStack(len(vocab), 16, 2, embed_size=8, residual=True, dropout=0.1)
    before = helpers.evaluate_perplexity(net, train_iter, "cpu")
    history = helpers.train_ch8(net, train_iter, vocab, 0.02, 8, "cpu", optimizer="adam",
                                verbose=False, plot=False)
    after = helpers.evaluate_perplexity(net, train_iter, "cpu")
    assert math.isfinite(after) and after < before / 2 and len(history.train_ppl) == 8
    assert net.training  # evaluate_perplexity put it back
    text_out = helpers.predict_ch8("to be ", 10, net, vocab, "cpu")
    assert len(text_out) == 16 and text_out.startswith("to be ")


@pytest.mark.parametrize("kwargs, words", [
    (dict(cell="GRUU"), ["cell", "'GRUU'", "LSTM"]),
    (dict(num_hiddens=[8, 6], residual=True), ["residual=True", "[8, 6]", "equal sizes"]),
    (dict(num_hiddens=[8, 8], num_layers=3), ["num_layers=3", "2 sizes"]),
    (dict(num_hiddens=0), ["hidden size", "[0]"]),
    (dict(num_hiddens="8"), ["num_hiddens", "'8'"]),
    (dict(num_layers=0), ["num_layers", "0"]),
    (dict(dropout=1.0), ["dropout", "1.0", "[0, 1)"]),
    (dict(embed_size=0), ["embed_size", "0"]),
    (dict(vocab_size=2.5), ["vocab_size", "2.5"]),
])
def test_bad_arguments_raise_naming_argument_value_and_fix(kwargs, words):
    args = dict(vocab_size=V, num_hiddens=8, num_layers=None) | kwargs
    with pytest.raises(ValueError) as err:
        RNNStack(args.pop("vocab_size"), args.pop("num_hiddens"), args.pop("num_layers"), **args)
    for word in words:
        assert word in str(err.value)


def test_bad_calls_raise_clearly():
    net = RNNStack(V, 6, 2, embed_size=5)
    with pytest.raises(ValueError, match="needs a state of 4 tensors, got 2 tensors"):
        net(tokens(), net.begin_state("cpu", 2)[:2])
    with pytest.raises(ValueError, match=r"token indices of shape \(batch_size, num_steps\)"):
        net(torch.zeros(3, dtype=torch.long), net.begin_state("cpu", 2))
    with pytest.raises(ValueError, match="layer must be a whole number from 1 to 2, got 0"):
        with net.ablated(0):
            pass
    with pytest.raises(ValueError, match=r"tensor of shape \(6,\).*got \(5,\)"):
        with net.ablated(1, torch.zeros(5)):
            pass
    assert net._ablate == {}


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
def test_step_by_step_gives_the_same_numbers_and_the_full_gradient_through_time(cell):
    helpers.set_seed(0)
    net = RNNStack(V, 6, 2, cell=cell, embed_size=5, residual=True)
    X, state, y = tokens(), net.begin_state("cpu", 2), torch.tensor([1, 2])
    fused, fused_state, Hs = net.forward_layers(X, state)
    logits, new_state, steps = net.forward_layers(X, state, step_by_step=True)
    assert torch.allclose(logits, fused, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(new_state, fused_state))
    assert [len(s) for s in steps] == [7, 7] and steps[1][0].shape == (1, 2, 6)
    assert torch.allclose(torch.cat(steps[1]), Hs[1], atol=1e-6)
    for H in Hs + [h for s in steps for h in s]:
        H.retain_grad()
    last = lambda out: nn.functional.cross_entropy(out.reshape(7, 2, V)[-1], y)  # noqa: E731
    (last(fused) + last(logits)).backward()
    # The fused output tensor of the top layer only reaches the loss at the last step ...
    assert float(Hs[1].grad[:-1].abs().sum()) == 0
    # ... the step-by-step states reach it through time as well.
    assert all(float(h.grad.norm()) > 0 for h in steps[1])


def test_step_by_step_gradient_follows_the_chain_rule_through_time():
    helpers.set_seed(0)
    net = RNNStack(V, 6, 1, cell="RNN", embed_size=5)
    X, y = tokens(), torch.tensor([1, 2])
    logits, _, (steps,) = net.forward_layers(X, net.begin_state("cpu", 2), step_by_step=True)
    for H in steps:
        H.retain_grad()
    nn.functional.cross_entropy(logits.reshape(7, 2, V)[-1], y).backward()
    W_hh = net.layers[0].weight_hh_l0
    for t in range(6):  # H_t reaches the loss only through H_{t+1} = tanh(... + H_t W_hh^T)
        expected = (steps[t + 1].grad * (1 - steps[t + 1].detach() ** 2)) @ W_hh.detach()
        assert torch.allclose(steps[t].grad, expected, atol=1e-6)


def test_nested_ablations_of_one_layer_bring_back_the_outer_value():
    """Issue 22, item 10: `with net.ablated(1, v): with net.ablated(1): ...` raised KeyError: 1 on exit."""
    net = RNNStack(V, 6, 2, embed_size=5).eval()
    X, mean = tokens(), torch.full((6,), 0.5)

    def out():
        return net(X, net.begin_state("cpu", 2))[0]

    with net.ablated(1, mean):
        with_mean = out()
        with net.ablated(1):
            assert not torch.allclose(out(), with_mean)
            with net.ablated(2):
                pass
        assert torch.equal(out(), with_mean) and set(net._ablate) == {1}
    assert net._ablate == {}
