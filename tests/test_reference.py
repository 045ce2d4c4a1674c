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
