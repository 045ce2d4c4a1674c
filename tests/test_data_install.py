"""helpers/data.py installed outside a checkout: `pip install .` (not editable), used from another folder.

The package is built from a copy of pyproject.toml, README.md and helpers/ (so the build leaves no
build/ or *.egg-info in the checkout) with the venv's own setuptools and no index (no network),
installed with --target into a tmp folder, and imported from a third folder through PYTHONPATH,
with HOME and XDG_CACHE_HOME pointing into tmp.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # pip install, then a Python that imports torch, per test

PROBE = """
import json, socket, helpers
from helpers import data
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
data.DATA_HUB["fake"] = (f"http://127.0.0.1:{port}/fake.txt", "0" * 40)  # nobody listens there
try:
    data.download("fake")
except data.CorpusError as e:
    message = str(e)
print(json.dumps({"helpers": helpers.__file__, "data_dir": str(data.data_dir()), "error": message}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "helpers", src / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--no-cache-dir",
                    "--target", str(tmp / "site"), str(src)], check=True, timeout=300)
    (tmp / "elsewhere").mkdir()
    (tmp / "home").mkdir()
    return tmp


def _run(installed, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k != "DEEP_RNN_DATA"}
    environ |= {"PYTHONPATH": str(installed / "site"), "HOME": str(installed / "home"),
                "XDG_CACHE_HOME": str(installed / "home" / ".cache"), "OMP_NUM_THREADS": "1"} | env
    return subprocess.run([sys.executable, *args], cwd=installed / "elsewhere", env=environ,
                          capture_output=True, text=True, timeout=120)


def test_outside_a_checkout_the_cache_is_per_user(installed):
    done = _run(installed, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["helpers"] == str(installed / "site" / "helpers" / "__init__.py")  # the installed copy
    per_user = installed / "home" / ".cache" / "deep-rnn-notebooks"  # platformdirs on Linux
    assert seen["data_dir"] == str(per_user)
    assert f"cache dir: {per_user}  (the per-user cache, as helpers is installed outside" in seen["error"]
    assert "site-packages" not in seen["error"] and str(installed / "site") not in seen["error"]
    assert not (installed / "site" / "data").exists()


def test_outside_a_checkout_deep_rnn_data_still_wins(installed):
    corpora = os.environ.get("DEEP_RNN_DATA")
    if not corpora:
        pytest.skip("needs the verified corpora in $DEEP_RNN_DATA")
    done = _run(installed, "-m", "helpers", DEEP_RNN_DATA=corpora)  # the one-line fetch
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"time_machine: {Path(corpora) / 'timemachine.txt'} (sha1 verified)",
        f"shakespeare: {Path(corpora) / 'tinyshakespeare.txt'} (sha1 verified)"]
    assert "helpers.data" not in done.stdout + done.stderr
