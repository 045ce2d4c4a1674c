"""Reference results are verified, not trusted (tools/reference.py, results/*.json).

- every committed results/NAME.json holds the config that `course.py reproduce NAME` would run now,
  and provenance for every run;
- the start of every stored run is re-run here (fp32, same seed, one thread) and must retrace the
  stored trajectory: the first FIRST_LOSSES training losses within LOSS_TOLERANCE nats, and for the
  cheap models the first held-out checkpoint within PPL_TOLERANCE (relative);
- every "reference: ..." row that a notebook shows holds numbers of a results file.
"""
import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers import reference as shown
from tools import reference

ROOT = Path(__file__).resolve().parents[2]
STORED = sorted(reference.RESULTS.glob("*.json"))
LOSS_TOLERANCE = 1e-3  # nats: kernels differ a little between CPUs (AVX2, AMX); a changed recipe moves far more
PPL_TOLERANCE = 1e-3   # relative, after CHECK_EVERY updates
CHEAP = ("MLP k=3", "MLP k=10", "RNN 1x256")  # re-run to their first held-out checkpoint (about a second each)

pytestmark = pytest.mark.skipif(not STORED, reason="no results/*.json committed yet")


def stored(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.stem)
def test_a_results_file_holds_what_reproduce_would_run(path):
    data = stored(path)
    assert data["name"] == path.stem and path.stem in reference.EXPERIMENTS, f"{path.name}: no such experiment"
    config = reference.EXPERIMENTS[path.stem].config()
    assert data["config"] == config, f"{path.name}: its config is not what `course.py reproduce {path.stem}` runs now"
    for run in data["runs"]:
        assert run["key"] == reference.config_key(config, run["model"])
        assert run["seed"] in reference.SEEDS
        assert {"command", "git_commit", "torch", "cpu", "threads", "date"} <= set(run["provenance"])
        assert run["provenance"]["threads"] == 1
        assert run["checkpoints"] and all(c["held_out_ppl"] > 1 for c in run["checkpoints"])


def test_the_wide_single_layer_has_the_three_layer_parameter_count():
    models = reference.EXPERIMENTS["depth-shakespeare"].models
    assert models["LSTM 1xwide"].hidden == reference._equal_params_width()


def first_runs():
    """(experiment, model, seed) of each stored model's lowest seed."""
    out = []
    for path in STORED:
        runs = stored(path)["runs"]
        for model in dict.fromkeys(r["model"] for r in runs):
            out.append((path.stem, model, min(r["seed"] for r in runs if r["model"] == model)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name, model, seed", first_runs(), ids=lambda x: str(x).replace(" ", "_"))
def test_the_start_of_a_stored_run_is_reproduced(name, model, seed):
    run = next(r for r in stored(reference.path(name))["runs"] if r["model"] == model and r["seed"] == seed)
    updates = reference.CHECK_EVERY if model in CHEAP else reference.FIRST_LOSSES
    again = reference.train_one(name, model, seed, max_updates=updates)
    assert again["params"] == run["params"]
    assert again["first_losses"] == pytest.approx(run["first_losses"], abs=LOSS_TOLERANCE)
    if model in CHEAP:
        first = run["checkpoints"][0]
        assert again["checkpoints"][-1]["updates"] == first["updates"] == reference.CHECK_EVERY
        assert again["checkpoints"][-1]["held_out_ppl"] == pytest.approx(first["held_out_ppl"], rel=PPL_TOLERANCE)


def numbers_of(path):
    """Every number a results file can show, as the table prints them (.2f, and params with commas)."""
    ref = shown.load(path.stem, path.parent)
    values = set()
    for model in ref.models:
        values.add(f"{ref.params(model):,}")
        for metric in shown.COLUMNS:
            values.update(f"{v:.2f}" for v in ref.stats(model, metric))
    return values


def reference_rows():
    """(notebook, row) for every output line of a committed notebook that starts with 'reference: '."""
    rows = []
    for nb_path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            for out in cell.get("outputs", []):
                text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
                rows += [(nb_path.name, line) for line in "".join(text).splitlines()
                         if line.lstrip().startswith("reference: ")]
    return rows


def test_every_reference_row_a_notebook_shows_is_in_a_results_file():
    known = set().union(*(numbers_of(p) for p in STORED))
    for notebook, row in reference_rows():
        label = row.split("  ")[0]
        numbers = re.findall(r"\d[\d,]*\.\d+|\d{1,3}(?:,\d{3})+", row[len(label):])
        missing = [n for n in numbers if n not in known]
        assert not missing, f"{notebook} shows {missing} in {row!r}, which no results/*.json holds"


@pytest.mark.skipif(not reference.path("depth-shakespeare").exists(), reason="no depth-shakespeare results yet")
def test_the_depth_sentence_holds_seed_by_seed_in_the_stored_runs():
    """The sentence notebook 06 prints under the cost figure (when does depth pay), checked on the raw
    runs: every model it says wins has a lower held-out perplexity than its rival in every seed, and
    a pair it calls a tie really has overlapping ranges."""
    ref = shown.load("depth-shakespeare", reference.RESULTS)
    verdict = shown.depth_verdict(ref)
    for win, lose, metric in verdict.claims:
        wins = [ref.value(r, metric) for r in ref.runs_of(win)]
        losses = [ref.value(r, metric) for r in ref.runs_of(lose)]
        assert max(wins) < min(losses), f"{verdict}: {win} does not beat {lose} ({metric}) in every seed"
    assert verdict.sentence.count(" beats ") == len(verdict.claims)  # every win it states is a checked claim
