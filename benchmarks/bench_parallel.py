"""Two cores for independent runs: a sweep of 3 seeds x 3 models, one after another and in 2 processes.

Each run trains a small stack (RNN, GRU, LSTM; 2 layers of 64 units, embedding 32) for a fixed
number of updates on The Time Machine with one thread. The sweep runs twice in one go, first in one
process, then with `helpers.parallel.map_runs(..., processes=2)`, and the ratio of the two wall
times is printed (goal: <= 0.6 on 2 idle cores). The load average before each half is printed too:
on a busy machine the second core is not free, and the ratio says so.

    .venv/bin/python benchmarks/bench_parallel.py [--updates 150]
"""
import argparse
import os
import time

import torch

from helpers import parallel, protocol
from helpers.stacks import RNNStack
from helpers.utils import set_seed

CELLS, SEEDS = ("RNN", "GRU", "LSTM"), (0, 1, 2)


def train_one(job, updates):
    cell, seed = job
    set_seed(seed)
    train_iter, _, vocab = protocol.load_splits(16, 32)
    net = RNNStack(len(vocab), 64, 2, cell=cell, embed_size=32)
    opt, done, state = torch.optim.Adam(net.parameters(), lr=3e-3), 0, None
    while done < updates:
        for X, Y in train_iter:
            state = net.begin_state("cpu", X.shape[0]) if state is None else tuple(s.detach() for s in state)
            y_hat, state = net(X, state)
            loss = torch.nn.functional.cross_entropy(y_hat, Y.T.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == updates:
                break
    return cell, seed, loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(1)
    jobs = [(cell, seed) for cell in CELLS for seed in SEEDS]
    fn = lambda job: train_one(job, args.updates)
    times, results = {}, {}
    for processes in (1, 2):
        print(f"load average before the {processes}-process sweep: {os.getloadavg()[0]:.2f} "
              f"({os.cpu_count()} cores)", flush=True)
        tic = time.perf_counter()
        results[processes] = parallel.map_runs(fn, jobs, processes=processes)
        times[processes] = time.perf_counter() - tic
        print(f"  {len(jobs)} runs of {args.updates} updates in {processes} process(es): {times[processes]:.1f} s")
    print(f"\n2 processes / 1 process: {times[2] / times[1]:.2f} of the time (goal <= 0.6 on 2 idle cores); "
          f"the same final losses in both: {results[1] == results[2]}")


if __name__ == "__main__":
    main()
