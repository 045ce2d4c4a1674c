"""tools/figures.py writes every course diagram, deterministically, as real PNGs."""
import runpy
import sys
from pathlib import Path

import pytest

import tools
from tools import figures

EXPECTED = {"deep_rnn_grid.png", "rnn_2_dataflow.png", "lstm_shapes.png"}
REPO_FIGURES = Path(__file__).resolve().parents[2] / "figures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_main_writes_every_expected_png(tmp_path):
    paths = figures.main(tmp_path)
    assert {Path(p).name for p in paths} == EXPECTED
    for p in paths:
        p = Path(p)
        assert p.parent == tmp_path and p.is_file(), p
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC, f"{p.name} is not a PNG"
        assert len(data) > 20_000, f"{p.name} is suspiciously small ({len(data)} bytes)"


@pytest.mark.slow
def test_main_is_repeatable_and_deterministic(tmp_path):
    first = {Path(p).name: Path(p).read_bytes() for p in figures.main(tmp_path / "a")}
    second = {Path(p).name: Path(p).read_bytes() for p in figures.main(tmp_path / "a")}
    third = {Path(p).name: Path(p).read_bytes() for p in figures.main(tmp_path / "b")}
    assert set(first) == set(second) == set(third) == EXPECTED
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(EXPECTED)
    for name in EXPECTED:
        assert first[name] == second[name] == third[name], f"{name} differs between runs"


def test_default_out_dir_is_the_repo_figures_folder():
    assert figures.DEFAULT_OUT == REPO_FIGURES


def test_repo_figures_match_what_main_knows():
    on_disk = {p.name for p in REPO_FIGURES.glob("*.png")}
    assert on_disk == set(figures.FIGURES) == EXPECTED, (
        "figures/ is out of sync with tools/figures.py: run `python3 course.py figures`")


def test_command_line_needs_the_course_repository(tmp_path, monkeypatch):
    """Without an OUT_DIR it writes into the repository's figures/, so it must find the repository."""
    monkeypatch.setattr(tools, "ROOT", tmp_path)  # a folder with no notebooks/
    monkeypatch.setattr(sys, "argv", ["figures"])
    monkeypatch.delitem(sys.modules, "tools.figures")  # run it afresh as __main__, as -m does
    with pytest.raises(SystemExit) as info:
        runpy.run_module("tools.figures", run_name="__main__")
    assert f"{tmp_path} has no notebooks/ folder" in str(info.value.code)
    assert not (tmp_path / "figures").exists()
