"""helpers against the real d2l 0.17.6 (d2l-zh 2.0's library): same names, same batches, same numbers.

`python3 course.py setup` (and `test`) installs `d2l==0.17.6 --no-deps` into the test
environment; without it these tests are skipped. The book's from-scratch code of chapter
8.5 is also run with `import helpers as d2l` in a script.
"""
import importlib
import random
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch
from torch import nn

import helpers
from helpers import compat

ROOT = Path(__file__).resolve().parents[1]
STUBS = {"torchvision": ["transforms"], "PIL": ["Image"], "pandas": [], "requests": []}


@pytest.fixture(scope="module")
def d2l():
    """The real `d2l.torch`, imported with stubs for what it needs at import time only.

    d2l/torch.py imports torchvision, PIL, pandas and requests at import time, for chapters
    this course does not cover (images, tables, downloads). They are not dependencies of the
    course and d2l is installed without its dependencies, so each one that is missing here is
    replaced by an empty module in sys.modules while d2l is imported, and removed right after
    (d2l keeps its own references; nothing else sees the stubs). d2l itself leaves
    sys.modules again when this module's tests are done.
    """
    if importlib.util.find_spec("d2l") is None:
        pytest.skip("d2l is not installed: `python3 course.py setup` installs d2l==0.17.6 for this test")
    saved = {name: sys.modules.get(name) for name in ("d2l", "d2l.torch")}
    stubbed = []
    for name, submodules in STUBS.items():
        if importlib.util.find_spec(name) is not None:
            continue  # installed (PIL and requests usually are): the real module is used
        module = sys.modules[name] = types.ModuleType(name)
        stubbed.append(name)
        for sub in submodules:
            setattr(module, sub, types.ModuleType(f"{name}.{sub}"))
            sys.modules[f"{name}.{sub}"] = getattr(module, sub)
            stubbed.append(f"{name}.{sub}")
    try:
        from d2l import torch as real
    finally:
        for name in stubbed:
            del sys.modules[name]
    assert importlib.import_module("d2l").__version__ == "0.17.6"
    try:
        yield real
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture
def offline(d2l, monkeypatch):
    """d2l's `download` would fetch into ../data from the internet; give it the course's cached
    copy instead, after checking that both registries name the same file and sha1."""
    assert d2l.DATA_HUB["time_machine"] == helpers.DATA_HUB["time_machine"]
    assert d2l.DATA_URL == helpers.DATA_URL
    monkeypatch.setattr(d2l, "download", lambda name, cache_dir=None: helpers.download(name))
    return d2l


def test_the_tensor_shortcuts_are_d2ls(d2l):
    source = Path(d2l.__file__).read_text()
    aliases = re.findall(r"^(\w+) = ", source.split("# Alias defined in config.ini")[1], re.M)
    assert sorted(aliases) == sorted(compat.__all__)
    X = torch.arange(6.0).reshape(2, 3)
    for name in aliases:
        mine, theirs = getattr(helpers, name), getattr(d2l, name)
        if getattr(theirs, "__name__", "") != "<lambda>":
            assert mine is theirs, name  # the torch function or dtype itself
        else:
            args = {"reshape": ((3, 2),), "to": (torch.float64,), "astype": (torch.int32,)}.get(name, ())
            a, b = mine(X, *args), theirs(X, *args)
            assert (a == b).all() if hasattr(a, "shape") else a == b, name


def test_vocab_and_the_corpus_are_d2ls(offline):
    d2l = offline
    assert helpers.read_time_machine() == d2l.read_time_machine()
    tokens = helpers.tokenize(helpers.read_time_machine(), "char")
    mine, theirs = helpers.Vocab(tokens), d2l.Vocab(tokens)
    assert mine.idx_to_token == theirs.idx_to_token and mine.token_freqs == theirs.token_freqs
    words = helpers.tokenize(["the time machine", "the traveller the"])
    mine, theirs = (V(words, min_freq=2, reserved_tokens=["<pad>"]) for V in (helpers.Vocab, d2l.Vocab))
    assert mine.idx_to_token == theirs.idx_to_token and mine[["the", "zzz"]] == theirs[["the", "zzz"]]
    (corpus, vocab), (d2l_corpus, d2l_vocab) = helpers.load_corpus_time_machine(500), d2l.load_corpus_time_machine(500)
    assert corpus == d2l_corpus and vocab.idx_to_token == d2l_vocab.idx_to_token


@pytest.mark.parametrize("name", ["seq_data_iter_random", "seq_data_iter_sequential"])
def test_both_minibatch_iterators_give_d2ls_batches_for_the_same_seed(d2l, name):
    corpus = list(range(100))
    batches = []
    for module in (helpers, d2l):
        random.seed(7)
        batches.append(list(getattr(module, name)(corpus, 3, 5)))
    assert len(batches[0]) == len(batches[1]) > 0
    for (X1, Y1), (X2, Y2) in zip(*batches):
        assert torch.equal(X1, X2) and torch.equal(Y1, Y2)


@pytest.mark.parametrize("use_random_iter", [False, True])
def test_load_data_time_machine_gives_d2ls_batches_for_the_same_seed(offline, use_random_iter):
    d2l = offline
    epochs = []
    for module in (helpers, d2l):
        random.seed(0)
        data_iter, vocab = module.load_data_time_machine(4, 5, use_random_iter)
        epochs.append([list(data_iter), list(data_iter)])  # two epochs: the random start moves
    assert [len(e) for e in epochs[0]] == [len(e) for e in epochs[1]]
    for mine, theirs in zip(*epochs):
        for (X1, Y1), (X2, Y2) in zip(mine, theirs):
            assert torch.equal(X1, X2) and torch.equal(Y1, Y2)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_rnn_model_gives_d2ls_outputs_for_copied_weights(d2l, cell):
    V = 28
    torch.manual_seed(0)
    theirs = d2l.RNNModel(getattr(nn, cell)(V, 16, num_layers=2), V)
    mine = helpers.RNNModel(getattr(nn, cell)(V, 16, num_layers=2), V)
    mine.load_state_dict(theirs.state_dict())
    X = torch.randint(0, V, (4, 7))
    Y1, S1 = mine(X, mine.begin_state(device="cpu", batch_size=4))
    Y2, S2 = theirs(X, theirs.begin_state(device="cpu", batch_size=4))
    assert torch.equal(Y1, Y2)
    for a, b in zip(S1 if cell == "LSTM" else [S1], S2 if cell == "LSTM" else [S2]):
        assert torch.equal(a, b)


class NoAnimator:
    """Stands in for d2l's Animator, which outside Jupyter prints figure reprs (and only draws)."""

    def __init__(self, *args, **kwargs):
        pass

    def add(self, *args):
        pass


# d2l's Accumulator calls float() on the loss tensor itself, which PyTorch now warns about.
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True:UserWarning")
def test_train_ch8_gives_d2ls_fp32_perplexity_for_one_seed(offline, monkeypatch, capsys):
    """Two epochs of the same GRU from the same weights on the same batches, by both libraries.

    helpers runs with precision='fp32' (its default 'auto' is bf16 on CPUs with native bf16),
    optimizer='sgd' and clip=1.0, which is what d2l's train_ch8 always does. Not bit for bit:
    PyTorch's clip_grad_norm_ divides by (norm + 1e-6) where d2l divides by the norm, and
    helpers sums the loss in float32 on the device where d2l adds Python floats; so the
    perplexities agree to about 1e-4, not exactly.
    """
    d2l = offline
    d2l_ppl = []
    d2l_epoch = d2l.train_epoch_ch8

    def recording_epoch(*args):  # d2l prints its perplexity to one decimal: keep the full value
        ppl, speed = d2l_epoch(*args)
        d2l_ppl.append(ppl)
        return ppl, speed

    monkeypatch.setattr(d2l, "train_epoch_ch8", recording_epoch)
    monkeypatch.setattr(d2l, "Animator", NoAnimator)
    outputs, vocab_size = {}, 28
    torch.manual_seed(0)
    start = nn.GRU(vocab_size, 32).state_dict()
    for module in (d2l, helpers):
        net = module.RNNModel(nn.GRU(vocab_size, 32), vocab_size)
        net.rnn.load_state_dict(start)
        torch.manual_seed(1)
        nn.init.normal_(net.linear.weight, std=0.1)
        nn.init.zeros_(net.linear.bias)
        random.seed(0)
        train_iter, vocab = module.load_data_time_machine(16, 10, max_tokens=3000)
        if module is d2l:
            module.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu")
        else:
            history = module.train_ch8(net, train_iter, vocab, 1.0, 2, "cpu", precision="fp32",
                                       optimizer="sgd", clip=1.0)
        outputs[module] = capsys.readouterr().out.splitlines()
    assert len(d2l_ppl) == 2 and history.train_ppl == pytest.approx(d2l_ppl, rel=1e-4)
    line = re.compile(r"perplexity (\d+\.\d), \d+\.\d tokens/sec on cpu$")
    assert line.match(outputs[d2l][0]).group(1) == line.match(outputs[helpers][0]).group(1)
    assert outputs[helpers][1:] == outputs[d2l][1:]  # the two greedy samples


BOOK_8_5 = textwrap.dedent('''
    # d2l-zh 2.0, chapter 8.5 (循环神经网络的从零开始实现), PyTorch; only the import, epochs and hidden size changed.
    import math
    import torch
    from torch import nn
    from torch.nn import functional as F
    import helpers as d2l

    batch_size, num_steps = 32, 35
    train_iter, vocab = d2l.load_data_time_machine(batch_size, num_steps)

    def get_params(vocab_size, num_hiddens, device):
        num_inputs = num_outputs = vocab_size

        def normal(shape):
            return d2l.normal(0, 0.01, size=shape, device=device)

        W_xh = normal((num_inputs, num_hiddens))
        W_hh = normal((num_hiddens, num_hiddens))
        b_h = d2l.zeros(num_hiddens, device=device)
        W_hq = normal((num_hiddens, num_outputs))
        b_q = d2l.zeros(num_outputs, device=device)
        params = [W_xh, W_hh, b_h, W_hq, b_q]
        for param in params:
            param.requires_grad_(True)
        return params

    def init_rnn_state(batch_size, num_hiddens, device):
        return (d2l.zeros((batch_size, num_hiddens), device=device), )

    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = d2l.tanh(d2l.matmul(X, W_xh) + d2l.matmul(H, W_hh) + b_h)
            Y = d2l.matmul(H, W_hq) + b_q
            outputs.append(Y)
        return d2l.concat(outputs, dim=0), (H,)

    class RNNModelScratch:
        def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
            self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
            self.params = get_params(vocab_size, num_hiddens, device)
            self.init_state, self.forward_fn = init_state, forward_fn

        def __call__(self, X, state):
            X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
            return self.forward_fn(X, state, self.params)

        def begin_state(self, batch_size, device):
            return self.init_state(batch_size, self.num_hiddens, device)

    def predict_ch8(prefix, num_preds, net, vocab, device):
        state = net.begin_state(batch_size=1, device=device)
        outputs = [vocab[prefix[0]]]
        get_input = lambda: d2l.reshape(d2l.tensor([outputs[-1]], device=device), (1, 1))
        for y in prefix[1:]:
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
        return ''.join([vocab.idx_to_token[i] for i in outputs])

    def grad_clipping(net, theta):
        if isinstance(net, nn.Module):
            params = [p for p in net.parameters() if p.requires_grad]
        else:
            params = net.params
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm

    def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
        state, timer = None, d2l.Timer()
        metric = d2l.Accumulator(2)
        for X, Y in train_iter:
            if state is None or use_random_iter:
                state = net.begin_state(batch_size=X.shape[0], device=device)
            else:
                if isinstance(net, nn.Module) and not isinstance(state, tuple):
                    state.detach_()
                else:
                    for s in state:
                        s.detach_()
            y = Y.T.reshape(-1)
            X, y = X.to(device), y.to(device)
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                l.backward()
                grad_clipping(net, 1)
                updater.step()
            else:
                l.backward()
                grad_clipping(net, 1)
                updater(batch_size=1)
            metric.add(l * d2l.size(y), d2l.size(y))
        return math.exp(metric[0] / metric[1]), metric[1] / timer.stop()

    def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
        loss = nn.CrossEntropyLoss()
        animator = d2l.Animator(xlabel='epoch', ylabel='perplexity', legend=['train'], xlim=[10, num_epochs])
        if isinstance(net, nn.Module):
            updater = torch.optim.SGD(net.parameters(), lr)
        else:
            updater = lambda batch_size: d2l.sgd(net.params, lr, batch_size)
        predict = lambda prefix: predict_ch8(prefix, 50, net, vocab, device)
        for epoch in range(num_epochs):
            ppl, speed = train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)
            if (epoch + 1) % 10 == 0:
                print(predict('time traveller'))
                animator.add(epoch + 1, [ppl])
        print(f'困惑度 {ppl:.1f}, {speed:.1f} 词元/秒 {str(device)}')
        print(predict('time traveller'))
        print(predict('traveller'))

    num_hiddens = 64  # the book: 512
    net = RNNModelScratch(len(vocab), num_hiddens, d2l.try_gpu(), get_params, init_rnn_state, rnn)
    num_epochs, lr = 20, 1  # the book: 500
    train_ch8(net, train_iter, vocab, lr, num_epochs, d2l.try_gpu())
''')


@pytest.mark.slow
def test_the_books_from_scratch_chapter_runs_with_import_helpers_as_d2l(tmp_path):
    script = tmp_path / "ch8_5.py"
    script.write_text(BOOK_8_5, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, encoding="utf-8",
                         timeout=300, cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and "Warning" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5, out.stdout  # no "<Figure ...>" lines from the Animator in a script
    assert lines[0].startswith("time traveller") and lines[1].startswith("time traveller")  # epochs 10, 20
    assert re.fullmatch(r"困惑度 \d+\.\d, \d+\.\d 词元/秒 (cpu|cuda:0)", lines[2]), lines[2]
    assert lines[3].startswith("time traveller") and lines[4].startswith("traveller")
