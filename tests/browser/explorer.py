"""The depth explorer as the browser test sees it: found, read and moved in the page only.

The DOM contract these steps rely on is written in `helpers.widgets.DepthExplorer`'s
docstring, next to the code that honours it. Every step that does not see what it expects
fails the test with the state before and after.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .runner import page_script
from .server import POLL_S

EXPLORER_JS = page_script("explorer")
UPDATE_TIMEOUT_S = 90  # the machine has 2 shared cores
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
LAYERS_LABEL = re.compile(r"^\s*layers\s*$")


def wait_for(read, ok, timeout_s: float):
    """Poll read() until ok(state); return (success, last state)."""
    deadline = time.monotonic() + timeout_s
    state = read()
    while not ok(state) and time.monotonic() < deadline:
        time.sleep(POLL_S)
        state = read()
    return ok(state), state


def contract_problems(state: dict, where: str) -> list[str]:
    problems = []
    if not state["slider"] or state["slider"]["value"] is None:
        problems.append(f"{where}: no IntSlider with description 'layers' (and a readout)")
    if state["cell"] not in GATES:
        problems.append(f"{where}: no ToggleButtons with description 'cell' showing RNN/GRU/LSTM "
                        f"(got {state['cell']!r})")
    if not state["h_n"]:
        problems.append(f"{where}: no <table class=\"shape-table\"> row 'h_n' with a shape")
    if not state["layers"] or any(n != n for n in state["layers"]):  # NaN check
        problems.append(f"{where}: no <table class=\"param-table\"> rows 'layer 1'.. with integer counts")
    if not state["grid"] or state["grid"]["empty"]:
        problems.append(f"{where}: no non-empty element with class 'depth-grid'")
    if not problems:
        L = state["slider"]["value"]
        if state["h_n"][0] != L or len(state["layers"]) != L:
            problems.append(
                f"{where}: slider says L={L}, but h_n is {tuple(state['h_n'])} and the parameter "
                f"table has {len(state['layers'])} layer rows"
            )
    return problems


class Explorer:
    """The first depth explorer in a notebook's page (one widget output)."""

    def __init__(self, page, source: Path):
        self.page, self.source = page, source
        slider = page.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=LAYERS_LABEL))
        self.root = (page.locator(".jp-Notebook .jp-OutputArea-output")
                     .filter(has=slider).filter(has=page.locator("table.shape-table")).first)

    def fail(self, message: str) -> None:
        pytest.fail(f"{self.source.name}, depth explorer (DOM contract: helpers/widgets.py, DepthExplorer):\n"
                    f"{message}", pytrace=False)

    def read(self) -> dict:
        return self.root.evaluate(EXPLORER_JS)

    def expect(self, ok, before: dict, what: str) -> dict:
        """Wait until ok(state) holds and the grid has changed; else fail, saying what was missing."""
        changed, after = wait_for(
            self.read, lambda s: ok(s) and s["grid"] and s["grid"]["sig"] != before["grid"]["sig"], UPDATE_TIMEOUT_S)
        if not changed:
            self.fail(f"{what}, with a changed grid, within {UPDATE_TIMEOUT_S}s:\n"
                      f"  before: {before}\n  after:  {after}")
        return after

    def shown_as_the_contract_says(self) -> dict:
        """Wait for the explorer's output, check the contract, return what it shows."""
        try:
            self.root.wait_for(state="attached", timeout=30_000)
        except Exception:
            self.fail("no widget output with a 'layers' slider and a table.shape-table")
        self.root.scroll_into_view_if_needed()
        state = self.read()
        problems = contract_problems(state, "initial state")
        if problems:
            self.fail("\n".join(problems))
        return state

    def move_layers_by_one_step(self, before: dict) -> dict:
        """Keyboard on the slider handle (ArrowRight, or ArrowLeft at the maximum; typing into
        the readout is the fallback); expect L±1 in the readout, in h_n and in the layer rows,
        and a changed grid."""
        L0, smax = before["slider"]["value"], before["slider"]["max"]
        key, L1 = ("ArrowRight", L0 + 1) if smax is None or L0 < smax else ("ArrowLeft", L0 - 1)
        slider = self.root.locator(".widget-slider").filter(
            has=self.page.locator(".widget-label", has_text=LAYERS_LABEL)).first
        slider.locator(".noUi-handle").focus()
        self.page.keyboard.press(key)
        moved, _ = wait_for(self.read, lambda s: s["slider"]["value"] == L1, 10)
        if not moved:
            slider.locator(".widget-readout").click()
            self.page.keyboard.press("Control+A")
            self.page.keyboard.type(str(L1))
            self.page.keyboard.press("Enter")
        return self.expect(
            lambda s: s["slider"]["value"] == L1 and s["h_n"] and s["h_n"][0] == L1
            and s["layers"] is not None and len(s["layers"]) == L1,
            before, f"after moving 'layers' {L0} -> {L1} (key {key}) the page did not show L={L1} in the "
                    f"slider, h_n and the parameter table")

    def switch_cell(self, before: dict) -> dict:
        """Pick another cell (LSTM, or GRU when LSTM is on); expect every per-layer count to
        scale by the gate ratio, L kept in h_n (and c_n), and a changed grid."""
        c0, L = before["cell"], before["slider"]["value"]
        c1 = "LSTM" if c0 != "LSTM" else "GRU"
        selector = self.root.locator(".widget-toggle-buttons").filter(
            has=self.page.locator(".widget-label", has_text=re.compile(r"^\s*cell\s*$"))).first
        selector.locator("button", has_text=re.compile(rf"^\s*{c1}\s*$")).click()
        g0, g1, old = GATES[c0], GATES[c1], before["layers"]
        after = self.expect(
            lambda s: s["cell"] == c1 and s["layers"] is not None and len(s["layers"]) == L
            and all(n * g0 == o * g1 for n, o in zip(s["layers"], old)),
            before, f"after switching the cell {c0} -> {c1} the page did not scale every per-layer "
                    f"parameter count by {g1}/{g0}")
        if not after["h_n"] or after["h_n"][0] != L:
            self.fail(f"after switching the cell, h_n lost L={L}: {after['h_n']}")
        if after["c_n"] is not None and after["c_n"][:1] != [L]:
            self.fail(f"c_n should start with L={L}: {after['c_n']}")
        return after

    def screenshot(self, path: Path) -> None:
        try:
            path.parent.mkdir(exist_ok=True)
            self.root.screenshot(path=str(path), timeout=30_000)
        except Exception:  # a missing screenshot must not hide the test's own failure
            pass
