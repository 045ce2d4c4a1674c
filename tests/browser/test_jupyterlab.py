"""The student version of every course notebook, run in a real JupyterLab in headless Chromium,
shows what a learner who has solved nothing yet should see; the depth explorer reacts to its
controls in the page. (Strict nbval runs the teacher's notebooks.)"""
import warnings

import pytest

from .explorer import Explorer
from .runner import failure_message, run_notebook
from .server import EXPLORER_NOTEBOOKS, NOTEBOOKS, SCREENSHOTS, params

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("source", params(NOTEBOOKS, "no notebooks/[0-9][0-9]_*.ipynb yet"))
def test_student_version_runs_to_the_end_in_jupyterlab(source, lab, browser, kept_runs):
    """Run All Cells with no exercise solved: every unsolved exercise's check shows its friendly
    message, every fallback says what stands in for the learner's function, no other cell fails,
    every cell ran, every widget and image rendered."""
    run, problems = run_notebook(browser, lab, source)
    shot = run.screenshot(SCREENSHOTS / f"{source.stem}.png")
    if run.expected:
        print(f"{source.name}: {len(run.expected.messages)} exercise checks, {len(run.expected.notes)} fallbacks")
    print(f"{source.name}: timings {({k: round(v, 1) for k, v in run.seconds.items()})}, screenshot {shot}")
    if not problems and source in EXPLORER_NOTEBOOKS[:1]:
        kept_runs[str(source)] = run  # the explorer test goes on with this page and kernel
    else:
        run.close()
    if source.read_bytes() != lab.exported_from(source).read_bytes():  # edited while the tests ran
        warnings.warn(f"{source} changed on disk after its student version was written (the test ran the "
                      f"earlier version)", stacklevel=1)
    if problems:
        pytest.fail(failure_message(run, problems, shot), pytrace=False)


@pytest.mark.parametrize("source", params(EXPLORER_NOTEBOOKS[:1], "no notebook calls depth_explorer( yet"))
def test_depth_explorer_reacts_in_the_page(source, lab, browser, kept_runs):
    """Moving the layers slider and switching the cell redraw the grid, the shapes and the counts."""
    run = kept_runs.pop(str(source), None)
    if run is None:  # the run test did not leave it open (deselected, or it failed)
        run, problems = run_notebook(browser, lab, source)
        if problems:
            run.close()
            pytest.fail(failure_message(run, problems, run.screenshot(SCREENSHOTS / f"{source.stem}.png")),
                        pytrace=False)
    explorer = Explorer(run.page, source)
    try:
        shown = explorer.shown_as_the_contract_says()
        moved = explorer.move_layers_by_one_step(shown)
        explorer.switch_cell(moved)
    finally:
        explorer.screenshot(SCREENSHOTS / f"{source.stem}-explorer.png")
        run.close()
