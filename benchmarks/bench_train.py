"""Tokens/s of `helpers.train_ch8` (default precision and fp32) against d2l-zh's own loop.

Same model (LSTM 2x256 inside `RNNModel`), same data (the full Time Machine, batch
32 x 35, sequential sampling), same optimizer (SGD, clipping at 1). The loops (the real
d2l 0.17.6's `train_epoch_ch8`, when installed; a plain textbook loop; train_ch8 in the
default precision and in fp32) are alternated in one run so that a noisy machine slows
them alike; the median epoch of each counts, and each is given as a ratio to d2l-zh's.
Also measures this machine's matmul peak (fp32 and bf16) and
prints what fraction of the matching peak each loop reaches.

    python3 course.py bench            # or: .venv/bin/python benchmarks/bench_train.py --rounds 3
"""
import argparse
import math
import statistics
import time

import torch
from torch import nn

import helpers

BATCH, STEPS, HIDDEN, LAYERS, LR = 32, 35, 256, 2, 1.0


def textbook_epoch(net, train_iter, device):
    """The loop as textbooks write it: fp32, Python clipping, loss.item() every batch."""
    loss_fn, updater = nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), LR)
    state, total, n, tic = None, 0.0, 0, time.perf_counter()
    for X, Y in train_iter:
        if state is None:
            state = net.begin_state(device, X.shape[0])
        else:
            state = tuple(s.detach() for s in state)
        y = Y.T.reshape(-1).to(device)
        y_hat, state = net(X.to(device), state)
        loss = loss_fn(y_hat, y)
        updater.zero_grad()
        loss.backward()
        params = [p for p in net.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
        if norm > 1:
            for p in params:
                p.grad[:] *= 1 / norm
        updater.step()
        total += loss.item() * y.numel()
        n += y.numel()
    return n / (time.perf_counter() - tic), math.exp(total / n)


def helpers_epoch(net, train_iter, device, precision):
    hist = helpers.train_ch8(net, train_iter, None, LR, 1, device, precision=precision, verbose=False, plot=False)
    return hist.tokens_per_sec[-1], hist.final_train_ppl


def real_d2l():
    """The real d2l-zh library (`d2l==0.17.6`, installed by `course.py setup` with the test extra), imported
    with empty stand-ins for torchvision, PIL, pandas and requests (needed at import time only); or None."""
    import importlib.util
    import sys
    import types
    if importlib.util.find_spec("d2l") is None:
        return None
    stubbed = [name for name in ("torchvision", "torchvision.transforms", "PIL", "PIL.Image", "pandas", "requests")
               if importlib.util.find_spec(name.split(".")[0]) is None]
    for name in stubbed:
        sys.modules[name] = types.ModuleType(name)
        if "." in name:
            setattr(sys.modules[name.split(".")[0]], name.split(".")[1], sys.modules[name])
    try:
        from d2l import torch as d2l
    finally:
        for name in stubbed:
            sys.modules.pop(name, None)
    return d2l


def d2l_epoch(d2l, net, train_iter, device):
    """d2l-zh's own train_epoch_ch8 (SGD, its clipping at 1): the loop of its train_ch8."""
    ppl, speed = d2l.train_epoch_ch8(net, train_iter, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), LR),
                                     device, False)
    return speed, ppl


def matmul_peak(dtype, n=2048, repeats=5, trials=5):
    """Best of a few timed runs of an n x n matmul: this machine's practical peak in GFLOP/s."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # warm up
    best = 0.0
    for _ in range(trials):
        tic = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - tic))
    return best


def flops_per_token(vocab_size):
    """Forward + backward (about 3x forward) matmul FLOPs of the LSTM and the output layer, per token."""
    forward = sum(2 * 4 * HIDDEN * ((vocab_size if l == 0 else HIDDEN) + HIDDEN) for l in range(LAYERS))
    forward += 2 * HIDDEN * vocab_size
    return 3 * forward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="epochs of each loop, alternated")
    args = parser.parse_args()
    device = helpers.try_gpu()
    train_iter, vocab = helpers.load_data_time_machine(BATCH, STEPS, max_tokens=-1)
    auto = helpers.resolve_precision("auto", device)
    print(f"LSTM {LAYERS}x{HIDDEN}, {len(train_iter) * BATCH * STEPS} tokens/epoch, batch {BATCH}x{STEPS}, "
          f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, auto precision = {auto}")
    d2l = real_d2l()
    loops = {
        **({"d2l-zh train_epoch_ch8": lambda net: d2l_epoch(d2l, net, train_iter, device)} if d2l else {}),
        "textbook fp32": lambda net: textbook_epoch(net, train_iter, device),
        f"train_ch8 default ({auto})": lambda net: helpers_epoch(net, train_iter, device, "auto"),
        "train_ch8 fp32": lambda net: helpers_epoch(net, train_iter, device, "fp32"),
    }
    nets = {}
    for name in loops:  # same initial weights for every loop
        helpers.set_seed(0)
        nets[name] = helpers.stacked_rnn("LSTM", len(vocab), HIDDEN, LAYERS, device)
    speeds = {name: [] for name in loops}
    for r in range(args.rounds):
        for name, loop in loops.items():
            tok_s, ppl = loop(nets[name])
            speeds[name].append(tok_s)
            print(f"round {r + 1}  {name:26s} {tok_s:9.0f} tokens/s   train perplexity {ppl:6.2f}", flush=True)
    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"\nmatmul peak here: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s")
    base = statistics.median(speeds["d2l-zh train_epoch_ch8" if d2l else "textbook fp32"])
    against = "d2l-zh" if d2l else "textbook"
    fpt = flops_per_token(len(vocab))
    for name, s in speeds.items():
        med = statistics.median(s)
        prec = auto if "default" in name else "fp32"
        frac = med * fpt / peak.get(prec, peak["fp32"])
        print(f"{name:26s} median {med:9.0f} tokens/s   {med / base:4.2f}x {against}   "
              f"{100 * frac:4.1f}% of {prec} matmul peak")


if __name__ == "__main__":
    main()
