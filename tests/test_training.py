"""helpers/training.py: d2l's training loop, plus history, precision, divergence, interrupts and bad input."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import helpers
from helpers.stacks import RNNStack

V = 28
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def splits():
    return helpers.load_corpus_splits(16, 20, max_tokens=6000)


def small_lstm(hidden=32, layers=1):
    helpers.set_seed(0)
    return helpers.stacked_rnn("LSTM", V, hidden, layers)


def test_grad_clipping_leaves_norm_at_most_theta():
    net = small_lstm()
    X = torch.randint(0, V, (4, 7))
    y, _ = net(X, net.begin_state("cpu", 4))
    (y.pow(2).sum() * 100).backward()
    grads = lambda: torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters()))
    before = float(grads())
    assert before > 1
    returned = helpers.grad_clipping(net, 1.0)
    assert float(returned) == pytest.approx(before, rel=1e-5)
    assert float(grads()) <= 1.0 + 1e-5
    # A gradient already below theta is left as it is.
    small = float(grads())
    helpers.grad_clipping(net, 10.0)
    assert float(grads()) == pytest.approx(small, rel=1e-6)


def test_grad_clipping_takes_a_list_of_tensors_as_d2l_scratch_code_passes_net_params():
    w = torch.ones(4, requires_grad=True)
    (w * 10).sum().backward()  # gradient norm 20
    assert float(helpers.grad_clipping([w], 1.0)) == pytest.approx(20)
    assert float(w.grad.norm()) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("theta", [0, -1])
def test_grad_clipping_refuses_a_theta_that_is_not_positive(theta):
    with pytest.raises(ValueError, match=rf"theta must be a number > 0 .*got {theta}"):
        helpers.grad_clipping(small_lstm(), theta)


def test_sgd_steps_against_the_gradient_and_zeroes_it():
    w = torch.ones(3, requires_grad=True)
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    helpers.sgd([w], lr=0.5, batch_size=2)
    assert torch.allclose(w, torch.tensor([0.75, 0.5, 0.25])) and float(w.grad.abs().sum()) == 0


def test_train_ch8_lowers_perplexity_and_prints_d2l_closing_lines(splits, capsys):
    train_iter, valid_iter, vocab = splits
    net = small_lstm()
    before = helpers.evaluate_perplexity(net, valid_iter, "cpu")
    hist = helpers.train_ch8(net, train_iter, vocab, 0.01, 4, "cpu", valid_iter=valid_iter, optimizer="adam")
    assert len(hist.train_ppl) == len(hist.valid_ppl) == len(hist.tokens_per_sec) == 4
    assert hist.final_train_ppl < 0.7 * hist.train_ppl[0]
    assert hist.final_valid_ppl < 0.75 * before
    assert all(s > 0 for s in hist.tokens_per_sec)
    # Outside Jupyter: no bar and no plot, but d2l's closing lines, as the book prints them.
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == f"perplexity {hist.final_train_ppl:.1f}, {hist.tokens_per_sec[-1]:.1f} tokens/sec on cpu"
    assert lines[1] == f"held-out perplexity {hist.final_valid_ppl:.1f}"
    assert lines[2].startswith("time traveller") and lines[3].startswith("traveller")
    assert len(lines) == 4 and out.err == ""


def test_verbose_false_is_silent(splits, capsys):
    train_iter, _, vocab = splits
    helpers.train_ch8(small_lstm(), train_iter, vocab, 1.0, 1, "cpu", verbose=False)
    assert capsys.readouterr() == ("", "")


def test_d2l_call_still_works_with_sgd_and_a_scratch_model(splits):
    train_iter, _, vocab = splits
    from tests.test_models import scratch_rnn_parts
    helpers.set_seed(0)
    net = helpers.RNNModelScratch(len(vocab), 32, "cpu", *scratch_rnn_parts())
    hist = helpers.train_ch8(net, train_iter, vocab, 1, 3, "cpu", verbose=False)  # d2l's positional call
    assert hist.final_train_ppl < hist.train_ppl[0] < 30
    with pytest.raises(ValueError, match="optimizer='sgd' only"):
        helpers.train_ch8(net, train_iter, vocab, 1, 1, "cpu", optimizer="adam")


def test_divergence_stops_with_a_hint_to_lower_the_learning_rate(splits):
    train_iter, _, vocab = splits
    net = small_lstm()
    with torch.no_grad():
        net.linear.bias.fill_(float("nan"))
    with pytest.raises(helpers.TrainingDiverged, match=r"lower learning rate \(e\.g\. lr=0\.1 instead of 1\)") as err:
        helpers.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu")
    assert err.value.history.train_ppl == []


def test_grad_norms_per_layer_are_tracked(splits):
    train_iter, _, vocab = splits
    net = helpers.stacked_rnn("RNN", V, 16, 3)
    hist = helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", track_grad_norms=True, clip=None, verbose=False)
    assert len(hist.grad_norms) == len(train_iter)
    assert set(hist.grad_norms[0]) == {"layer 1", "layer 2", "layer 3", "output"}
    assert all(v > 0 for v in hist.grad_norms[0].values())


def test_grad_norms_of_a_hand_built_stack_have_one_entry_per_layer(splits):
    """RNNStack names its parameters layers.0.weight_ih_l0, layers.1..., layers.2...: three layers, not one."""
    train_iter, _, vocab = splits
    helpers.set_seed(0)
    net = RNNStack(len(vocab), 16, 3, cell="RNN", embed_size=8)
    hist = helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", track_grad_norms=True, clip=None, verbose=False)
    assert len(hist.grad_norms) == len(train_iter)
    assert set(hist.grad_norms[0]) == {"embedding", "layer 1", "layer 2", "layer 3", "output"}


def test_temperature_draws_the_closing_samples_with_sample_text(splits, capsys):
    train_iter, _, vocab = splits
    net = small_lstm()
    helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", temperature=0)  # 0: greedy, as predict_ch8
    greedy = helpers.predict_ch8("time traveller", 50, net, vocab, "cpu")
    assert capsys.readouterr().out.splitlines()[1] == greedy
    helpers.set_seed(5)
    helpers.train_ch8(net, train_iter, vocab, 1.0, 1, "cpu", temperature=5.0, top_k=3)
    sampled = capsys.readouterr().out.splitlines()[1]
    assert sampled.startswith("time traveller") and len(sampled) == len(greedy) and sampled != greedy


def test_a_bad_temperature_is_refused_before_training(splits):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        helpers.train_ch8(small_lstm(), BrokenAfterCheck(train_iter), vocab, 1.0, 1, "cpu", temperature=-1)


class BrokenAfterCheck:
    """A loader whose first pass (train_ch8's check of the first minibatch) works and whose
    second pass (training) fails: a test that sees the AssertionError trained before refusing."""

    def __init__(self, data):
        self.data, self.passes = data, 0

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        self.passes += 1
        assert self.passes == 1, "training started although an argument was bad"
        return iter(self.data)


# ---------------------------------------------------------------- bad input (issue 12)

def test_empty_list_is_refused_before_training(splits):
    _, _, vocab = splits
    with pytest.raises(ValueError, match=r"train_iter has no minibatches.*would read 1\.0.*lower batch_size"):
        helpers.train_ch8(small_lstm(), [], vocab, 1.0, 3, "cpu")


def test_a_loader_with_no_batches_is_refused_before_training(splits):
    _, _, vocab = splits

    class Empty:  # as an old loader with batch_size * num_steps larger than its corpus was
        batch_size, num_steps = 512, 35

        def __len__(self):
            return 0

        def __iter__(self):
            return iter([])

    with pytest.raises(ValueError, match="train_iter has no minibatches"):
        helpers.train_ch8(small_lstm(), Empty(), vocab, 1.0, 3, "cpu")


def test_a_generator_is_refused_for_several_epochs(splits):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match=r"train_iter is a one-shot iterator \(generator\).*list\(train_iter\)"):
        helpers.train_ch8(small_lstm(), (b for b in train_iter), vocab, 1.0, 2, "cpu")
    hist = helpers.train_ch8(small_lstm(), (b for b in train_iter), vocab, 1.0, 1, "cpu", verbose=False)
    assert len(hist.train_ppl) == 1  # one epoch over a generator is fine, as in d2l


def test_minibatches_that_are_not_token_pairs_are_refused(splits):
    _, _, vocab = splits
    floats = [(torch.zeros(2, 3), torch.zeros(2, 3))]
    with pytest.raises(ValueError, match=r"train_iter must yield \(X, Y\) pairs of integer token tensors.*float32"):
        helpers.train_ch8(small_lstm(), floats, vocab, 1.0, 1, "cpu")
    with pytest.raises(ValueError, match=r"train_iter must be an iterable of \(X, Y\) minibatches.*int 5"):
        helpers.train_ch8(small_lstm(), 5, vocab, 1.0, 1, "cpu")


@pytest.mark.parametrize("clip", [-1, 0])
def test_clip_must_be_positive_or_none(splits, clip):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match=rf"clip must be a number > 0 .* or None \(no clipping\), got {clip}"):
        helpers.train_ch8(small_lstm(), BrokenAfterCheck(train_iter), vocab, 1.0, 1, "cpu", clip=clip)


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0, -0.1, "0.1"])
def test_lr_must_be_a_finite_positive_number(splits, lr):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0 \(the learning rate, e\.g\. lr=1\.0"):
        helpers.train_ch8(small_lstm(), BrokenAfterCheck(train_iter), vocab, lr, 1, "cpu")


def test_num_epochs_must_be_a_whole_number(splits):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match=r"num_epochs must be a whole number >= 1, got 2\.5"):
        helpers.train_ch8(small_lstm(), train_iter, vocab, 1.0, 2.5, "cpu")


def test_a_bad_valid_iter_is_noticed_before_the_first_epoch(splits):
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match="valid_iter has no minibatches"):
        helpers.train_ch8(small_lstm(), BrokenAfterCheck(train_iter), vocab, 1.0, 1, "cpu", valid_iter=[])
    other_vocab = [(torch.full((2, 5), 40), torch.full((2, 5), 40))]  # token 40 with a 28-token model
    with pytest.raises(ValueError, match=r"the model cannot read valid_iter's first minibatch.*\[0, 27\]"):
        helpers.train_ch8(small_lstm(), BrokenAfterCheck(train_iter), vocab, 1.0, 1, "cpu", valid_iter=other_vocab)


@pytest.mark.parametrize("loader", ["SeqDataLoader", "DataLoader"])
def test_checking_the_first_batch_leaves_the_random_generators_alone(splits, loader):
    train_iter, _, vocab = splits
    if loader == "SeqDataLoader":  # draws its random start with Python's random
        random_iter = helpers.SeqDataLoader.from_corpus(train_iter.corpus, vocab, 16, 20, use_random_iter=True)
    else:  # torch's DataLoader draws its shuffling seed from torch's generator
        X, Y = (torch.cat(t) for t in zip(*train_iter))
        random_iter = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=16, shuffle=True)
    runs = []
    for check in (True, False):
        net = small_lstm()
        helpers.set_seed(3)
        if check:
            hist = helpers.train_ch8(net, random_iter, vocab, 1.0, 2, "cpu", True, precision="fp32", verbose=False)
            runs.append(hist.train_ppl)
        else:  # d2l's own loop: no check of the first minibatch
            updater = torch.optim.SGD(net.parameters(), 1.0)
            runs.append([helpers.train_epoch_ch8(net, random_iter, nn.CrossEntropyLoss(), updater, "cpu", True)[0]
                         for _ in range(2)])
    assert runs[0] == pytest.approx(runs[1], rel=1e-6)


def test_a_model_built_for_another_vocabulary_is_refused_before_any_update(splits):
    """Issue 22, item 7 (also a cell run out of order: a model built for an earlier vocabulary)."""
    train_iter, _, vocab = splits
    helpers.set_seed(0)
    net = RNNStack(len(vocab) + 3, 16, 1)  # 31 scores per token; the targets never reach 28..30
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=r"the model gives 31 scores per token, but len\(vocab\) = 28: it was "
                                         r"built for another vocabulary.*vocab_size=len\(vocab\)"):
        helpers.train_ch8(net, BrokenAfterCheck(train_iter), vocab, 1.0, 1, "cpu", verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_nan_outputs_on_the_held_out_data_are_a_divergence_with_the_history(splits):
    train_iter, valid_iter, vocab = splits

    class NanWhenEvaluated(nn.Module):  # finite while training, NaN scores in eval() mode
        def __init__(self):
            super().__init__()
            self.net = small_lstm()

        def forward(self, X, state):
            y, state = self.net(X, state)
            return (y if self.training else y * float("nan")), state

        def begin_state(self, device, batch_size=1):
            return self.net.begin_state(device, batch_size)

    net = NanWhenEvaluated()
    with pytest.raises(helpers.TrainingDiverged, match=r"the loss became nan on valid_iter in epoch 1") as err:
        helpers.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu", valid_iter=valid_iter, verbose=False)
    assert err.value.history.train_ppl == [] and net.training


def test_a_cuda_device_without_a_gpu_is_refused(splits):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    train_iter, _, vocab = splits
    with pytest.raises(ValueError, match=r"device='cuda' but PyTorch sees no GPU.*d2l\.try_gpu\(\)"):
        helpers.train_ch8(small_lstm(), train_iter, vocab, 1.0, 1, "cuda")


# ---------------------------------------------------------------- Ctrl-C (issue 12 item 3)

SWEEP = textwrap.dedent("""
    import json, sys, time
    from torch import nn
    import helpers

    where = sys.argv[1]  # "train": Ctrl-C in epoch 2's training; "valid": in epoch 2's evaluation
    train_iter, valid_iter, vocab = helpers.load_corpus_splits(8, 10, max_tokens=3000)

    class Waits:
        # Pass 1 is train_ch8's check of the first minibatch; pass 3 is epoch 2: there it waits.
        def __init__(self, data):
            self.data, self.passes = data, 0
        def __len__(self):
            return len(self.data)
        def __iter__(self):
            self.passes += 1
            for i, batch in enumerate(self.data):
                if self.passes == 3 and i == 1:
                    print("WAITING", flush=True)
                    time.sleep(60)
                yield batch

    helpers.set_seed(0)
    net = helpers.RNNModel(nn.LSTM(len(vocab), 16, num_layers=2, dropout=0.5), len(vocab))
    runs = 0
    try:
        for run in range(3):  # a sweep: one Ctrl-C must stop all of it
            runs += 1
            helpers.train_ch8(net, Waits(train_iter) if where == "train" else train_iter, vocab, 1.0, 5,
                              "cpu", valid_iter=Waits(valid_iter) if where == "valid" else valid_iter,
                              precision="fp32", verbose=False)
    except KeyboardInterrupt as err:
        h = err.history
        print(json.dumps(dict(runs=runs, train=len(h.train_ppl), valid=len(h.valid_ppl),
                              speed=len(h.tokens_per_sec), seconds=len(h.seconds), training=net.training,
                              last=h is helpers.training.last_history)), flush=True)
        raise
    print("NOT INTERRUPTED")
""")


@pytest.mark.slow
def test_one_ctrl_c_stops_the_whole_script_and_keeps_a_consistent_history(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {where: subprocess.Popen([sys.executable, str(script), where], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
             for where in ("train", "valid")}  # both at once: each spends most of its time importing torch
    try:
        for where, proc in procs.items():
            assert proc.stdout.readline().strip() == "WAITING", where
            proc.send_signal(signal.SIGINT)  # a real Ctrl-C
        results = {where: proc.communicate(timeout=60) for where, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.kill()
    for where, (out, err) in results.items():
        assert procs[where].returncode != 0, (where, out, err)
        report = json.loads(out.splitlines()[0])
        # Epoch 1 finished; epoch 2 was cut (in training or in evaluation) and is not recorded,
        # the net is back in training mode (dropout on), and the sweep's runs 2 and 3 never started.
        assert report == dict(runs=1, train=1, valid=1, speed=1, seconds=1, training=True, last=True), where
        assert "interrupted in epoch 2; the 1 finished epoch(s) are in err.history" in err, where
        assert "NOT INTERRUPTED" not in out
