"""The tests' switch for short training: an IPython profile whose startup file cuts every pass
over a `SeqDataLoader` to two minibatches in the kernels it starts.

For tests that run whole notebooks to check something other than learning (grading scores,
rendering in the browser, messages): models stay untrained, so the notebooks' own asserts on what
was learnt fail. The learner's library knows nothing of it; a kernel only gets it when its
environment holds `smoke_env()`:

    subprocess.run([...], env={**os.environ, **smoke_env()})
"""
from pathlib import Path

PROFILE_DIR = Path(__file__).resolve().parent / "ipython"
SMOKE_BATCHES = 2  # minibatches per pass over a loader (training epoch or evaluation)


def smoke_env():
    """Environment variables that make IPython kernels load the smoke profile."""
    return {"IPYTHONDIR": str(PROFILE_DIR)}
