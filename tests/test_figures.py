"""helpers.figures writes every course diagram, deterministically, as real PNGs."""
from pathlib import Path

from helpers import figures

EXPECTED = {"deep_rnn_grid.png", "rnn_2_dataflow.png", "lstm_shapes.png"}
REPO_FIGURES = Path(__file__).resolve().parent.parent / "figures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_main_writes_every_expected_png(tmp_path):
    paths = figures.main(tmp_path)
    assert {Path(p).name for p in paths} == EXPECTED
    for p in paths:
        p = Path(p)
        assert p.parent == tmp_path and p.is_file(), p
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC, f"{p.name} is not a PNG"
        assert len(data) > 20_000, f"{p.name} is suspiciously small ({len(data)} bytes)"


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
        "figures/ is out of sync with helpers.figures: run `python -m helpers.figures`")
