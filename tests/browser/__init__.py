"""Browser tests: student versions of the course notebooks in a real JupyterLab, driven by headless Chromium.

What a learner sees is checked here, not what nbval compares (nbval runs the teacher's
notebooks): a student copy with no exercise solved runs to the end, showing the friendly
message at every exercise's check and a note at every fallback, and nothing else fails;
widgets render, figures show up, and the depth explorer reacts to its controls. Run them with

    .venv/bin/python -m pytest tests/browser -q

(``python3 course.py test`` starts them first, on one of its two pytest-xdist workers; in one
process they run last, see tests/conftest.py). They need Debian's
or Ubuntu's Chromium (``apt-get install chromium`` gives /usr/bin/chromium; Playwright's own
browser download is not used). Without Chromium or the ``playwright`` package they skip; with
``CI=true`` they fail instead.

* ``test_jupyterlab.py``: the two tests, short.
* ``server.py``: the JupyterLab started for the tests (the student versions, with figures/), and
  which notebooks run by default (01, 02, 04; ``DEEP_RNN_BROWSER_NOTEBOOKS`` for others). Its
  kernels train on two minibatches per pass (tests/smoke), as what is learnt is nbval's to check.
* ``smoke_asserts.py``: run in those kernels: an assert that does not hold prints a note instead
  of stopping Run All.
* ``runner.py``: one notebook opened in its own page and run top to bottom, and what counts
  as a problem in the page afterwards.
* ``exercises.py``: where a student version should show its friendly messages and fallback
  notes, read from the copy itself (``test_exercises.py`` tests it without a browser).
* ``explorer.py``: the depth explorer read and moved in the page; the DOM contract it relies
  on is in ``helpers.widgets.DepthExplorer``'s docstring.
* ``js/``: the scripts that read the page, loaded at run time.
* ``conftest.py``: Chromium, the server, the browser, the runs kept for the explorer test.

A screenshot of each whole notebook goes to ``screenshots/<notebook-stem>.png`` (repo root,
gitignored), also when a test fails, and one of the explorer to ``<stem>-explorer.png``.
"""
