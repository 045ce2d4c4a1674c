"""helpers/diagrams.py: the grid layout and SVG, and the explorer's tables, without ipywidgets."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import diagrams

ROOT = Path(__file__).resolve().parents[1]


def test_grid_centres_run_across_in_time_and_up_in_depth():
    xs, ys = diagrams.grid_centres(2, 3, x0=10, dx=5, y0=100, dy=-20)
    assert xs == [10, 15, 20, 25] and ys == [100, 80, 60, 40]


@pytest.mark.parametrize("cell, layers, steps", [("RNN", 1, 1), ("LSTM", 3, 12), ("GRU", 6, 7)])
def test_grid_svg_has_one_node_per_layer_and_step_and_its_size_in_the_constants(cell, layers, steps):
    svg = diagrams.grid_svg(cell, layers, steps, uid=4)
    assert svg.startswith('<svg class="depth-grid"') and svg.endswith("</svg>")
    assert svg.count('class="cell-node"') == layers * steps
    assert f'data-layers="{layers}" data-steps="{steps}" data-cell="{cell}"' in svg
    assert set(re.findall(r'url\(#(\w+)\)', svg)) == {"t4", "d4", "o4"}  # markers unique to this grid
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    assert height == diagrams.TOP + diagrams.TITLE + layers * diagrams.ROW + diagrams.BOTTOM
    assert ("H⁽¹⁾₁" in svg) and (("C⁽¹⁾₁" in svg) == (cell == "LSTM"))


def test_tables_hold_the_rows_the_browser_test_reads():
    shapes = diagrams.shape_table({"h_n": (2, 32, 8), "c_n": None}, "shapes: T=5")
    assert '<table class="shape-table">' in shapes and "<tr><td>h_n</td><td>(2, 32, 8)</td></tr>" in shapes
    assert "c_n" not in shapes
    params = diagrams.param_table([10, 20], [10, 21], "per layer")
    assert "<tr><td>layer 2</td><td>20</td><td>✗</td><td>21</td></tr>" in params
    assert "<tr><td>total</td><td>30</td><td>✗</td><td>31</td></tr>" in params


@pytest.mark.slow
def test_diagrams_and_the_static_figures_import_no_widgets():
    code = "import sys, helpers.diagrams, tools.figures; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout == "False\n"
