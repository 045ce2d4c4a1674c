"""Time to quality: held-out perplexity on The Time Machine after 60 s of one core's CPU time.

Two recipes, each trained for the same CPU-time budget (one thread, `time.process_time`,
evaluation not counted) with the course's own `train_epoch_ch8`, then scored under the
held-out protocol (`helpers.protocol`: the last 10 % of the book held out):

- d2l-zh's (9.3, deep RNN): `RNNModel(nn.LSTM(28, 256, num_layers=2))` on one-hot inputs,
  SGD at lr 2, minibatches of 32 x 35, clipping at 1;
- the course's recommended recipe (the reference runs' recipe, tools/reference.py):
  `RNNStack(28, 256, 1, cell="LSTM", embed_size=64)`, Adam at lr 2e-3, minibatches of 32 x 64,
  clipping at 1.

    .venv/bin/python benchmarks/bench_quality.py [--seconds 60] [--seeds 0]
"""
import argparse
import statistics
import time

import torch
from torch import nn

import helpers as d2l
from helpers import protocol
from helpers.stacks import RNNStack


class CPUBudget:
    """Minibatches of `loader`, epoch after epoch, until `seconds` of this process's CPU time are used."""

    def __init__(self, loader, seconds):
        self.loader, self.seconds, self.used = loader, seconds, 0.0

    def epoch(self):
        tic = time.process_time()
        for X, Y in self.loader:
            yield X, Y
            if self.used + time.process_time() - tic >= self.seconds:
                break
        self.used += time.process_time() - tic

    @property
    def spent(self):
        return self.used >= self.seconds


def train_for(net, updater, batch_size, num_steps, seconds):
    """Train with train_epoch_ch8 for `seconds` of CPU time; held-out perplexity under the protocol."""
    train_iter, valid_iter, vocab = protocol.load_splits(batch_size, num_steps)
    budget, loss, epochs = CPUBudget(train_iter, seconds), nn.CrossEntropyLoss(), 0
    while not budget.spent:
        d2l.train_epoch_ch8(net, budget.epoch(), loss, updater, "cpu", False)
        epochs += 1
    return d2l.evaluate_perplexity(net, valid_iter, "cpu"), epochs


def d2l_recipe(seed, seconds):
    d2l.set_seed(seed)
    net = d2l.RNNModel(nn.LSTM(28, 256, num_layers=2), 28)
    return train_for(net, torch.optim.SGD(net.parameters(), lr=2.0), 32, 35, seconds)


def course_recipe(seed, seconds):
    d2l.set_seed(seed)
    net = RNNStack(28, 256, 1, cell="LSTM", embed_size=64)
    return train_for(net, torch.optim.Adam(net.parameters(), lr=2e-3), 32, 64, seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU seconds of training per recipe")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{protocol.STATEMENT}\n{args.seconds:g} s of one core's CPU time per run, seeds {args.seeds}")
    results = {}
    for name, recipe in [("d2l-zh (LSTM 2x256, SGD lr 2, 32x35)", d2l_recipe),
                         ("course (LSTM 1x256, embedding 64, Adam 2e-3, 32x64)", course_recipe)]:
        ppls = []
        for seed in args.seeds:
            ppl, epochs = recipe(seed, args.seconds)
            ppls.append(ppl)
            print(f"  {name}, seed {seed}: held-out perplexity {ppl:.2f} after {epochs} epochs (the last cut short)",
                  flush=True)
        results[name] = statistics.fmean(ppls)
    (d2l_name, d2l_ppl), (course_name, course_ppl) = results.items()
    print(f"\nheld-out perplexity after {args.seconds:g} CPU s: d2l-zh {d2l_ppl:.2f}, course {course_ppl:.2f}")


if __name__ == "__main__":
    main()
