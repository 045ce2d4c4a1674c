"""Tests for helpers/reference.py on a small made-up results file (the stored runs themselves are
checked against a re-run in tests/tools/test_reference.py)."""
import json

import matplotlib
import pytest

from helpers import reference

matplotlib.use("Agg")


def run(model, seed, params, ppls, cpu_per_check=10.0, every=50):
    checks = [{"updates": every * (i + 1), "tokens": 2048 * every * (i + 1), "train_cpu_s": cpu_per_check * (i + 1),
               "wall_s": cpu_per_check * (i + 1), "train_ppl": p + 1, "held_out_ppl": p, "held_out_nats": 0.0}
              for i, p in enumerate(ppls)]
    return {"model": model, "seed": seed, "params": params, "checkpoints": checks,
            "train_cpu_s": checks[-1]["train_cpu_s"],
            "provenance": {"cpu": "Test CPU", "threads": 1}, "stopped": "time cap"}


@pytest.fixture
def folder(tmp_path):
    runs = [run("small", s, 100, [9.0 - s * 0.1, 7.0 - s * 0.1, 6.5]) for s in (0, 1)]
    runs += [run("big", s, 1000, [8.0, 5.0 + s * 0.1], cpu_per_check=30.0) for s in (0, 1)]
    (tmp_path / "toy.json").write_text(json.dumps({
        "name": "toy", "question": "?", "protocol": {}, "runs": runs,
        "config": {"models": {"small": {}, "big": {}}, "check_every": 50, "cap_minutes": 1}}))
    return tmp_path


def test_three_columns_hold_updates_cpu_time_or_nothing_equal(folder):
    ref = reference.load("toy", folder)
    assert ref.models == ["small", "big"] and ref.seeds == [0, 1]
    assert ref.equal_updates == 100 and ref.equal_cpu_s == 30.0
    assert ref.stats("small", "updates") == pytest.approx((6.95, 6.9, 7.0))   # best within 100 updates
    assert ref.stats("big", "updates") == pytest.approx((5.05, 5.0, 5.1))
    assert ref.stats("small", "cpu") == pytest.approx((6.5, 6.5, 6.5))        # 3 checkpoints within 30 cpu s
    assert ref.stats("big", "cpu") == pytest.approx((8.0, 8.0, 8.0))          # only its first one
    assert ref.stats("small", "best") == pytest.approx((6.5, 6.5, 6.5))
    assert reference.separated(ref, "big", "small", "best") == -1
    assert reference.separated(ref, "big", "small", "cpu") == 1
    assert reference.separated(ref, "small", "small") == 0


def test_the_table_labels_your_run_and_the_reference_run(folder, capsys):
    ref = reference.load("toy", folder)
    ref.table(yours={"tiny": 7.25})
    out = capsys.readouterr().out
    assert "reference run (`python3 course.py reproduce toy`, Test CPU, 1 thread" in out
    assert "your run: tiny" in out and "7.25" in out
    assert "reference: big" in out and "5.05 (5.00–5.10)" in out and "1,000" in out


def test_the_cost_figure_has_two_labelled_panels(folder):
    fig = reference.load("toy", folder).plot_cost()
    assert [a.get_xlabel() for a in fig.axes] == ["parameters", "training CPU seconds to the best checkpoint"]
    assert fig.axes[0].get_ylabel() == "best held-out perplexity"


def test_a_missing_run_names_the_command_that_makes_it(folder):
    with pytest.raises(FileNotFoundError, match=r"no reference run 'nope'.*stored: toy.*course.py reproduce nope"):
        reference.load("nope", folder)
    with pytest.raises(KeyError, match="no stored run of 'medium'"):
        reference.load("toy", folder).stats("medium")
    with pytest.raises(ValueError, match="metric must be one of"):
        reference.load("toy", folder).stats("big", "fastest")


@pytest.fixture
def depth_folder(tmp_path):
    """Three seeds of a deep model, one layer of equal parameters and a narrow, fast single layer."""
    runs = []
    for s in (0, 1, 2):
        runs.append(run("deep", s, 1000, [8.0, 6.0 - s * 0.1, 5.0 + s * 0.1], cpu_per_check=30.0))
        runs.append(run("wide", s, 990, [7.0, 6.5, 6.0 + s * 0.1], cpu_per_check=20.0))
        runs.append(run("narrow", s, 300, [7.5, 6.8, 6.1 - s * 0.2, 6.6], cpu_per_check=10.0))
        runs.append(run("shallow deep", s, 600, [9.0, 3.9], cpu_per_check=60.0))  # best, but no equal single
    (tmp_path / "depth.json").write_text(json.dumps({
        "name": "depth", "question": "?", "protocol": {}, "runs": runs,
        "config": {"models": {"narrow": {"layers": 1}, "wide": {"layers": 1}, "deep": {"layers": 3},
                              "shallow deep": {"layers": 2}},
                   "check_every": 50, "cap_minutes": 1}}))
    return tmp_path


def test_depth_verdict_calls_only_what_holds_in_every_seed(depth_folder):
    ref = reference.load("depth", depth_folder)
    verdict = reference.depth_verdict(ref)
    # equal parameters: deep's best (5.0-5.2) below wide's (6.0-6.2) in every seed ("shallow deep" is
    # better still but has no one-layer model of its size); at equal CPU time (the shortest run,
    # narrow's 40 s) deep has only its first checkpoint (8.0), "shallow deep" none (its first, 9.0,
    # stands in), narrow 5.7-6.1
    assert verdict.claims == [("deep", "wide", "best"), ("narrow", "deep", "cpu")]
    assert str(verdict).startswith("At equal parameters (1,000 against 990)")
    assert "deep 5.10 (5.00–5.20) beats wide 6.10 (6.00–6.20) in every seed" in str(verdict)
    for winner, loser, metric in verdict.claims:  # the sentence holds seed by seed
        for a, b in zip(ref.runs_of(winner), ref.runs_of(loser)):
            assert ref.value(a, metric) < ref.value(b, metric)


def test_depth_verdict_says_overlap_and_too_few_seeds(depth_folder):
    data = json.loads((depth_folder / "depth.json").read_text())
    for r in data["runs"]:
        if r["model"] == "wide" and r["seed"] == 2:
            r["checkpoints"][-1]["held_out_ppl"] = 5.1  # inside deep's range now
    (depth_folder / "depth.json").write_text(json.dumps(data))
    verdict = reference.depth_verdict(reference.load("depth", depth_folder))
    assert ("deep", "wide", "best") not in verdict.claims and "overlap, so no verdict" in str(verdict)
    data["runs"] = [r for r in data["runs"] if r["seed"] < 2]
    (depth_folder / "depth.json").write_text(json.dumps(data))
    short = reference.depth_verdict(reference.load("depth", depth_folder))
    assert short.claims == [] and "fewer than 3 seeds stored for deep, shallow deep, narrow, wide" in str(short)


def test_an_installed_copy_finds_the_course_folders_results_from_the_notebooks_folder(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(reference, "RESULTS", tmp_path / "site-packages" / "results")  # pip install .: not there
    monkeypatch.chdir(tmp_path / "notebooks")
    assert reference.results_folder() == tmp_path / "results"
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "results" / "nope.json")):
        reference.load("nope")
