"""Reference runs: the course's comparisons trained at a realistic size, too long for a notebook.

    python3 course.py reproduce                      # list the experiments
    python3 course.py reproduce NAME [--jobs 2]      # run them; finished runs are kept, not redone

Each experiment is a set of models trained once per seed (0, 1, 2) on one corpus under the
held-out protocol (`helpers.protocol`), with one recipe: Adam, gradient clipping, minibatches of
BATCH_SIZE x NUM_STEPS, a held-out checkpoint every CHECK_EVERY updates, early stopping after
PATIENCE checkpoints without a new best, and a cap of `cap_minutes` of training CPU time (one
thread; evaluation not counted). Every finished run is written at once to results/NAME.json
with its per-checkpoint trajectory and provenance, so a set can be run in several sittings and
in parallel processes (`--jobs 2`: one per core, each one thread). `helpers.reference` reads the
files for the notebooks; tests/tools/test_reference.py re-runs the start of every stored run.
"""
import argparse
import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"

SEEDS = (0, 1, 2)
BATCH_SIZE, NUM_STEPS = 32, 64  # tokens per update: 2,048
LR, CLIP = 2e-3, 1.0            # Adam's learning rate; gradient norm clipped to CLIP
CHECK_EVERY = 50                # updates between held-out checkpoints
PATIENCE = 4                    # checkpoints without a new best held-out perplexity before stopping
FIRST_LOSSES = 5                # per-update training losses stored for the reproduction test


@dataclasses.dataclass(frozen=True)
class Model:
    """One model of an experiment. kind: 'mlp' (a window of `window` characters, no state) or a
    recurrent cell for helpers.stacks.RNNStack ('RNN', 'GRU', 'LSTM')."""
    kind: str
    layers: int = 1          # recurrent layers (RNNStack); 1 for the MLP's hidden layer
    hidden: int = 256        # units per layer
    embed: int = 64          # embedding size of each character
    window: int = 0          # characters the MLP reads (kind 'mlp' only)
    residual: bool = False   # layers 2..L add their input to their output
    dropout: float = 0.0     # between layers, not on the recurrent path


@dataclasses.dataclass(frozen=True)
class Experiment:
    """Models compared on one corpus: what the comparison holds equal is said in `question`."""
    corpus: str
    raw: bool
    cap_minutes: float
    models: dict
    question: str

    def config(self):
        """Everything that decides the runs, as stored in results/NAME.json."""
        return {"corpus": self.corpus, "raw": self.raw, "cap_minutes": self.cap_minutes,
                "models": {k: dataclasses.asdict(m) for k, m in self.models.items()},
                "seeds": list(SEEDS), "batch_size": BATCH_SIZE, "num_steps": NUM_STEPS, "optimizer": "Adam",
                "lr": LR, "clip": CLIP, "check_every": CHECK_EVERY, "patience": PATIENCE,
                "precision": "fp32", "first_losses": FIRST_LOSSES}


def _equal_params_width():
    """The width of one LSTM layer with as many parameters as three plain 256-unit layers (Shakespeare)."""
    import bisect

    import torch

    from helpers.stacks import RNNStack

    def count(h, layers=1):
        with torch.device("meta"):  # shapes only: no memory, no time
            return sum(p.numel() for p in RNNStack(66, h, layers).parameters())
    target = count(256, 3)
    h = bisect.bisect_left(range(1024), target, key=count)  # the first width with at least that many
    return min((h - 1, h), key=lambda w: abs(count(w) - target))


EXPERIMENTS = {
    "ladder-time-machine": Experiment(
        corpus="time_machine", raw=False, cap_minutes=2.0,
        question="Notebooks 01-05's ladder at 256 units: does a hidden state beat a window, and gates a plain RNN?",
        models={"MLP k=3": Model("mlp", window=3), "MLP k=10": Model("mlp", window=10),
                "RNN 1x256": Model("RNN"), "GRU 1x256": Model("GRU"),
                "LSTM 1x256": Model("LSTM"), "LSTM 2x256": Model("LSTM", layers=2)}),
    "depth-shakespeare": Experiment(
        corpus="shakespeare", raw=True, cap_minutes=5.0,
        question="Notebook 06 at 256 units: what depth buys against one layer of equal parameters.",
        models={"LSTM 1x256": Model("LSTM"), "LSTM 1xwide": Model("LSTM", hidden=552),
                "LSTM 2x256": Model("LSTM", layers=2), "LSTM 3x256": Model("LSTM", layers=3),
                "LSTM 3x256 residual": Model("LSTM", layers=3, residual=True),
                "LSTM 3x256 residual+dropout": Model("LSTM", layers=3, residual=True, dropout=0.2)}),
}


def config_key(config, model):
    """A short hash of what decides one model's runs: a stored run with another key is redone."""
    shared = {k: v for k, v in config.items() if k != "models"}
    text = json.dumps({"shared": shared, "model": config["models"][model]}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# --- the models ---------------------------------------------------------------------------

def build(model, vocab_size):
    """The network of a Model spec: an RNNStack, or a window MLP (embedding -> tanh -> logits)."""
    import torch.nn as nn

    from helpers.stacks import RNNStack
    if model.kind != "mlp":
        return RNNStack(vocab_size, model.hidden, model.layers, cell=model.kind, embed_size=model.embed,
                        residual=model.residual, dropout=model.dropout)
    return nn.Sequential(nn.Embedding(vocab_size, model.embed), nn.Flatten(),
                         nn.Linear(model.window * model.embed, model.hidden), nn.Tanh(),
                         nn.Linear(model.hidden, vocab_size))


class Data:
    """The corpus under the protocol: training tokens and the held-out loader (and text, for the MLP)."""

    def __init__(self, corpus, raw):
        import torch

        from helpers import protocol
        from helpers.data import load_corpus
        tokens, self.vocab = load_corpus(corpus, raw=raw)
        self.train, held_out = protocol.split(tokens)
        self.valid_iter = protocol.held_out_loader(held_out, self.vocab)
        self.text = torch.tensor(tokens)  # the MLP's held-out windows read the characters before each target
        self.first_target = len(self.train) + 1  # position of the first scored held-out character
        self.num_scored = protocol.EVAL_TOKENS


def _mlp_batches(data, window, generator):
    """Endless minibatches of BATCH_SIZE * NUM_STEPS random training windows (X: (N, k), y: (N,))."""
    import torch
    train = torch.tensor(data.train)
    while True:
        ends = torch.randint(window, len(train), (BATCH_SIZE * NUM_STEPS,), generator=generator)
        yield torch.stack([train[ends - window + i] for i in range(window)], 1), train[ends]


def _rnn_batches(data):
    """Endless sequential minibatches (a random start offset every epoch), as train_ch8 reads them."""
    from helpers.data import SeqDataLoader
    loader = SeqDataLoader.from_corpus(data.train, data.vocab, BATCH_SIZE, NUM_STEPS)
    while True:
        yield from loader


def evaluate(net, model, data):
    """Held-out perplexity under the protocol."""
    import torch
    import torch.nn.functional as F

    from helpers.evaluation import evaluate_perplexity
    if model.kind != "mlp":
        return evaluate_perplexity(net, data.valid_iter, "cpu")
    ends = torch.arange(data.first_target, data.first_target + data.num_scored)
    X = torch.stack([data.text[ends - model.window + i] for i in range(model.window)], 1)
    net.eval()
    with torch.no_grad():
        loss = F.cross_entropy(net(X), data.text[ends])
    net.train()
    return math.exp(float(loss))


# --- one run ------------------------------------------------------------------------------

def train_one(name, model_name, seed, position=0, max_updates=None):
    """Train one model of experiment `name` with one seed; returns the run's record.

    max_updates stops it early (the reproduction test re-runs the start of a stored run).
    """
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    from helpers.utils import set_seed
    torch.set_num_threads(1)
    experiment = EXPERIMENTS[name]
    model = experiment.models[model_name]
    data = Data(experiment.corpus, experiment.raw)
    set_seed(seed)
    net = build(model, len(data.vocab))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    batches = _mlp_batches(data, model.window, generator) if model.kind == "mlp" else _rnn_batches(data)
    cap_s = experiment.cap_minutes * 60
    record = {"model": model_name, "seed": seed, "params": sum(p.numel() for p in net.parameters()),
              "checkpoints": [], "first_losses": []}
    state, updates, train_cpu, loss_sum, loss_count, best, since_best = None, 0, 0.0, 0.0, 0, math.inf, 0
    wall0 = time.perf_counter()
    bar = tqdm(total=int(cap_s), desc=f"{model_name} seed {seed}", unit="cpu s", position=position, leave=True,
               mininterval=2, disable=None if sys.stderr.isatty() else True,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} cpu s {postfix}")
    stopped = "time cap"
    while train_cpu < cap_s and updates != max_updates:
        tic = time.process_time()
        X, Y = next(batches)
        if model.kind == "mlp":
            loss = F.cross_entropy(net(X), Y)
        else:
            if state is None:
                state = net.begin_state(batch_size=X.shape[0], device="cpu")
            state = tuple(s.detach() for s in state)  # truncated BPTT: no gradient into the last batch
            y_hat, state = net(X, state)
            loss = F.cross_entropy(y_hat, Y.T.reshape(-1).long())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP)
        optimizer.step()
        step_cpu = time.process_time() - tic
        train_cpu += step_cpu
        bar.update(min(int(train_cpu) - bar.n, int(cap_s) - bar.n))
        updates += 1
        loss_sum, loss_count = loss_sum + loss.item(), loss_count + 1
        if len(record["first_losses"]) < FIRST_LOSSES:
            record["first_losses"].append(loss.item())
        if updates % CHECK_EVERY == 0 or train_cpu >= cap_s or updates == max_updates:
            held_out = evaluate(net, model, data)
            record["checkpoints"].append({
                "updates": updates, "tokens": updates * BATCH_SIZE * NUM_STEPS, "train_cpu_s": round(train_cpu, 2),
                "wall_s": round(time.perf_counter() - wall0, 2), "train_ppl": math.exp(loss_sum / loss_count),
                "held_out_ppl": held_out, "held_out_nats": math.log(held_out)})
            loss_sum, loss_count = 0.0, 0
            bar.set_postfix_str(f"updates {updates}, held-out {held_out:.2f}")
            if not math.isfinite(held_out):
                stopped = "diverged"
                break
            best, since_best = (held_out, 0) if held_out < best else (best, since_best + 1)
            if since_best >= PATIENCE:
                stopped = f"early stopping ({PATIENCE} checkpoints without a new best)"
                break
    bar.close()
    record.update(stopped=stopped, updates=updates, train_cpu_s=round(train_cpu, 2),
                  wall_s=round(time.perf_counter() - wall0, 2),
                  tokens_per_s=round(updates * BATCH_SIZE * NUM_STEPS / max(train_cpu, 1e-9)),
                  best_held_out_ppl=min(c["held_out_ppl"] for c in record["checkpoints"]),
                  provenance=provenance())
    return record


# --- provenance and files -----------------------------------------------------------------

def cpu_name():
    """The CPU's model name (Linux: /proc/cpuinfo through helpers.utils.cpuinfo; platform.processor() elsewhere)."""
    from helpers.utils import cpuinfo
    for line in cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def git_commit():
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "helpers", "tools/reference.py"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + ("+uncommitted helpers/reference changes" if dirty else "") or "unknown"


def provenance():
    import torch
    return {"command": "python3 course.py reproduce " + " ".join(sys.argv[1:]).strip(),
            "git_commit": git_commit(), "torch": torch.__version__, "python": platform.python_version(),
            "device": "cpu", "cpu": cpu_name(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def path(name):
    return RESULTS / f"{name}.json"


def load(name):
    """The stored results of an experiment, or a fresh record of its config."""
    config = EXPERIMENTS[name].config()
    if path(name).exists():
        stored = json.loads(path(name).read_text())
        runs = [r for r in stored.get("runs", []) if r.get("key") == config_key(config, r["model"])
                if r["model"] in config["models"]]
    else:
        runs = []
    return {"name": name, "question": EXPERIMENTS[name].question, "protocol": _protocol(), "config": config,
            "runs": runs}


def _protocol():
    from helpers import protocol
    return {"statement": protocol.STATEMENT, "held_out_fraction": protocol.HELD_OUT_FRACTION,
            "eval_tokens": protocol.EVAL_TOKENS, "eval_batch_size": protocol.EVAL_BATCH_SIZE,
            "eval_num_steps": protocol.EVAL_NUM_STEPS}


def save(results):
    """Write results/NAME.json atomically (a temporary file, then os.replace)."""
    RESULTS.mkdir(exist_ok=True)
    results["runs"].sort(key=lambda r: (r["seed"], list(results["config"]["models"]).index(r["model"])))
    target = path(results["name"])
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(tmp, target)


def todo(name):
    """(model, seed) pairs without a finished run, seed by seed (every model's seed 0 first)."""
    results = load(name)
    done = {(r["model"], r["seed"]) for r in results["runs"]}
    return [(m, s) for s in SEEDS for m in results["config"]["models"] if (m, s) not in done]


def _worker(args):
    name, model, seed, position = args
    return train_one(name, model, seed, position)


def reproduce(names, jobs=1):
    """Run every missing (model, seed) of the named experiments, `jobs` processes at a time."""
    work = sorted(((name, m, s) for name in names for m, s in todo(name)), key=lambda w: w[2])  # seed 0 first
    if not work:
        print("every run is done: nothing to do")
        return 0
    print(f"{len(work)} runs to do, {jobs} at a time, each one thread")
    results = {name: load(name) for name in names}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_worker, (name, m, s, i % jobs)): (name, m) for i, (name, m, s) in enumerate(work)}
        for future in as_completed(futures):
            name, model = futures[future]
            record = future.result()
            record["key"] = config_key(results[name]["config"], model)
            results[name]["runs"].append(record)
            save(results[name])
            print(f"\n{name}: {model} seed {record['seed']}: best held-out {record['best_held_out_ppl']:.3f} "
                  f"after {record['updates']} updates, {record['train_cpu_s']:.0f} cpu s ({record['stopped']})",
                  flush=True)
    return 0


def describe():
    print("Reference experiments (python3 course.py reproduce NAME [--jobs 2]):\n")
    for name, experiment in EXPERIMENTS.items():
        missing = len(todo(name))
        total = len(experiment.models) * len(SEEDS)
        print(f"  {name}: {experiment.question}\n    {len(experiment.models)} models x {len(SEEDS)} seeds, "
              f"each capped at {experiment.cap_minutes:g} min of one core's CPU time; "
              f"{total - missing} of {total} runs stored in results/{name}.json\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="course.py reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(EXPERIMENTS)} (or 'all')")
    parser.add_argument("--jobs", type=int, default=1, help="processes at a time, each one thread (default 1)")
    args = parser.parse_args(argv)
    if not args.names:
        describe()
        return 0
    names = list(EXPERIMENTS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment {', '.join(map(repr, unknown))}: choose from {', '.join(EXPERIMENTS)}")
    if args.jobs < 1:
        parser.error(f"--jobs must be 1 or more, got {args.jobs}")
    return reproduce(names, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
