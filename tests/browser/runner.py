"""One student version run in headless Chromium: open it in its own page, Run All Cells, wait, report.

Each notebook gets a fresh page (its own JupyterLab workspace): Edit > Clear Outputs of All
Cells, then Run > Run All Cells; wait until no cell shows ``[*]`` and the kernel is idle; then
`problems` lists code cells that did not run, error outputs other than the friendly message at
each unsolved exercise's check, missing fallback notes (exercises.py says where each goes),
"Error displaying widget" / ipywidgets error views, widget outputs that never rendered, and
fewer rendered images than the teacher's notebook file has image/png outputs (at least one when
it has any). What the page shows is read by the scripts in js/, loaded at run time.
"""
from __future__ import annotations

import contextlib
import re
import secrets
import time
import urllib.parse
from pathlib import Path

from .exercises import Expected, exercise_problems, expected_in_page
from .server import POLL_S, Lab, code_sources, png_outputs, workspace_rel

JS = Path(__file__).resolve().parent / "js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
MAX_SCREENSHOT_HEIGHT = 32000  # px; a taller notebook is cut at the bottom (22,800 px verified)

# The machine has 2 shared cores: be generous.
PAGE_LOAD_TIMEOUT_S = 180
KERNEL_READY_TIMEOUT_S = 180
RUN_TIMEOUT_S = 600  # Run All Cells to idle; a notebook's budget is 60 s, but the cores are shared
RENDER_SETTLE_TIMEOUT_S = 30


def page_script(name: str) -> str:
    """The JavaScript function in js/<name>.js (its leading // comment lines dropped)."""
    lines = (JS / f"{name}.js").read_text().splitlines()
    while lines and lines[0].lstrip().startswith("//"):
        lines.pop(0)
    return "\n".join(lines)


STATUS_JS, REPORT_JS, SCROLL_JS = page_script("status"), page_script("report"), page_script("scroll")


class RunFailure(Exception):
    """The notebook could not be opened, started or run to completion."""


class NotebookRun:
    """One notebook opened in its own page and run top to bottom."""

    def __init__(self, browser, lab: Lab, source: Path):
        self.lab = lab
        self.source = source
        self.rel = workspace_rel(source)
        self.page = browser.new_page(viewport=dict(VIEWPORT))
        self.page.set_default_timeout(60_000)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)[:500]))
        self.seconds: dict[str, float] = {}
        self.expected: Expected | None = None  # what the student version should show, once read

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text[:500])

    # steps ---------------------------------------------------------------
    def open(self) -> None:
        t0 = time.monotonic()
        workspace = "browser-" + re.sub(r"[^A-Za-z0-9-]", "-", self.source.stem) + "-" + secrets.token_hex(3)
        url = (
            f"{self.lab.base_url}/lab/workspaces/{workspace}/tree/"
            f"{urllib.parse.quote(self.rel)}?token={self.lab.token}"
        )
        self.page.goto(url, wait_until="domcontentloaded", timeout=PAGE_LOAD_TIMEOUT_S * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=PAGE_LOAD_TIMEOUT_S * 1000)
        with contextlib.suppress(Exception):  # collapse the file browser: wider notebook, better screenshots
            current_tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
            if current_tab.count():
                current_tab.first.click(timeout=5_000)
        self.seconds["open"] = time.monotonic() - t0

    def status(self) -> dict:
        return self.page.evaluate(STATUS_JS)

    def kernel_state(self) -> str | None:
        session = self.lab.session_for(self.rel)
        return session["kernel"].get("execution_state") if session else None

    def wait_kernel_ready(self) -> None:
        """Idle in the page (toolbar + status bar) and in the server, three polls in a row."""
        t0 = time.monotonic()
        deadline = t0 + KERNEL_READY_TIMEOUT_S
        stable, status, state = 0, {}, None
        while time.monotonic() < deadline:
            status = self.status()
            if status["dialog"]:  # e.g. a kernel picker: take the default
                with contextlib.suppress(Exception):
                    self.page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=5_000)
                stable = 0
                time.sleep(POLL_S)
                continue
            state = self.kernel_state()
            ready = (
                status["indicator"] == "idle"
                and status["statusbarIdle"] is not False
                and state == "idle"
            )
            stable = stable + 1 if ready else 0
            if stable >= 3:
                self.seconds["kernel"] = time.monotonic() - t0
                return
            time.sleep(POLL_S)
        raise RunFailure(
            f"kernel not ready after {KERNEL_READY_TIMEOUT_S}s "
            f"(toolbar status {status.get('indicator')!r}, server state {state!r})"
        )

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()

    def run_all(self) -> None:
        """Clear all outputs, Run All Cells, wait until nothing is queued and the kernel is idle."""
        t0 = time.monotonic()
        self.menu("Edit", "Clear Outputs of All Cells")
        if not self.status()["prompts"]:
            return
        for _ in range(3):  # attempts
            self.menu("Run", "Run All Cells")
            self._wait_settled(t0)
            if any(re.fullmatch(r"\[\d+\]:?", p) for p in self.status()["prompts"]):
                self.seconds["run"] = time.monotonic() - t0
                return
            # Nothing ran: the request was lost (e.g. the kernel connection was still
            # being set up). Make sure the kernel is ready and ask again.
            self.wait_kernel_ready()
        raise RunFailure("Run > Run All Cells ran no cell (3 attempts)")

    def _wait_settled(self, t0: float) -> None:
        deadline = t0 + RUN_TIMEOUT_S
        stable, status, state = 0, {}, None
        while time.monotonic() < deadline:
            status = self.status()
            if status["dialog"]:
                raise RunFailure(f"JupyterLab showed a dialog while running: {status['dialog']}")
            state = self.kernel_state()
            if state == "dead":
                raise RunFailure("the kernel died while running")
            busy = any("*" in p for p in status["prompts"])
            settled = not busy and state == "idle" and status["indicator"] in ("idle", None)
            stable = stable + 1 if settled else 0
            if stable >= 3:
                return
            time.sleep(POLL_S)
        done = sum(1 for p in status.get("prompts", []) if re.fullmatch(r"\[\d+\]:?", p))
        raise RunFailure(
            f"not finished after {RUN_TIMEOUT_S}s: {done}/{len(status.get('prompts', []))} code cells done, "
            f"kernel {state!r}"
        )

    def report(self) -> dict:
        """Collect the page's outputs once widgets and images have had time to render."""
        deadline = time.monotonic() + RENDER_SETTLE_TIMEOUT_S
        while True:
            report = self.page.evaluate(REPORT_JS)
            images, widgets = report["images"], report["widgets"]
            if (images["rendered"] == images["total"] and not widgets["unrendered"]) or time.monotonic() > deadline:
                return report
            time.sleep(POLL_S)

    def screenshot(self, path: Path) -> Path | None:
        """Whole notebook: make the viewport as tall as the notebook, then photograph it."""
        with contextlib.suppress(Exception):
            path.parent.mkdir(parents=True, exist_ok=True)
            dims = self.page.evaluate(SCROLL_JS)
            if dims:
                height = dims["innerHeight"] - dims["clientHeight"] + dims["content"] + 40
                height = max(VIEWPORT["height"], min(height, MAX_SCREENSHOT_HEIGHT))
                self.page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height)})
                self.page.wait_for_timeout(1000)  # relayout, images
                self.page.evaluate(SCROLL_JS)
            self.page.screenshot(path=str(path), timeout=120_000)
            return path
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.page.close()
        self.lab.shutdown_session(self.rel)


def page_problems(report: dict, source: Path, student: Path, expected: Expected) -> list[str]:
    """What is wrong in the page of a finished run of `student`, the student version of the
    teacher's `source` that should show `expected` (see the module docstring); [] when nothing."""
    problems = []
    sources = code_sources(student)
    prompts = report["prompts"]
    if len(prompts) != len(sources):
        problems.append(f"the page shows {len(prompts)} code cells, the file has {len(sources)}")
    not_run = [
        p["cell"]
        for p, src in zip(prompts, sources)
        if src.strip() and not re.fullmatch(r"\[\d+\]:?", p["prompt"])
    ]
    if not_run:
        shown = ", ".join(map(str, not_run[:8])) + (", ..." if len(not_run) > 8 else "")
        problems.append(f"{len(not_run)} code cell(s) did not run (cell numbers, 1-based): {shown}")
        stopped_at = [err["cell"] for err in report["errors"] if err["cell"] < not_run[0]]
        if stopped_at:
            problems.append(f"Run All Cells stopped at the error in cell {stopped_at[-1]}: the kernel skips "
                            f"the queued cells after an error unless the failing cell is tagged raises-exception")
    problems += exercise_problems(report, expected)
    widgets = report["widgets"]
    for err in widgets["errors"]:
        problems.append(f"widget failed to display in cell {err['cell']}: {err['text']}")
    for cell in report["strayWidgetErrors"]:
        if not any(err["cell"] == cell for err in widgets["errors"]):
            problems.append(f"'Error displaying widget' in the outputs of cell {cell}")
    for view in widgets["unrendered"]:
        problems.append(
            f"widget output in cell {view['cell']} has no rendered view "
            f"({widgets['rendered']} rendered, {len(widgets['unrendered'])} not)"
        )
    expected = png_outputs(source)
    images = report["images"]
    if images["rendered"] < expected or (expected and not images["rendered"]):
        problems.append(
            f"{images['rendered']} rendered images ({images['total']} <img> in total), "
            f"but the notebook file has {expected} image/png outputs"
        )
    return problems


def run_notebook(browser, lab: Lab, source: Path) -> tuple[NotebookRun, list[str]]:
    """Open and run the student version of one notebook; return the run (page still open) and its problems."""
    run = NotebookRun(browser, lab, source)
    problems: list[str] = []
    try:
        run.open()
        run.wait_kernel_ready()
        run.run_all()
        student = lab.student_version(source)
        run.expected = expected_in_page(student)
        problems = page_problems(run.report(), source, student, run.expected)
    except RunFailure as exc:
        problems = [str(exc)]
    except Exception as exc:  # playwright timeouts and friends: report with the screenshot
        problems = [f"{type(exc).__name__}: {exc}"]
    return run, problems


def failure_message(run: NotebookRun, problems: list[str], shot: Path | None) -> str:
    lines = [f"the student version of {run.source.name} in JupyterLab: {len(problems)} problem(s)"]
    lines += [f"  - {p}" for p in problems]
    lines.append(f"screenshot: {shot or '(none)'}")
    if run.page_errors:
        lines.append("uncaught page errors: " + " | ".join(run.page_errors[:5]))
    if run.console_errors:
        lines.append("browser console errors: " + " | ".join(e.splitlines()[0] for e in run.console_errors[:5]))
    return "\n".join(lines)

