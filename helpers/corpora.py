"""Getting the corpora: d2l's `DATA_HUB` registry, the cache folder, and verified downloads.

`download(name)` returns the local path of a file registered in `DATA_HUB` (name -> (url, sha1)),
downloading it once into `data_dir()`: $DEEP_RNN_DATA, else `data/` in the course folder, else
(installed outside a checkout) a per-user cache folder. The sha1 is checked on every use and a
download is written atomically. This module knows nothing of text, models or training.
"""
import hashlib
import http.client
import os
import secrets
import stat
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["DATA_HUB", "DATA_URL", "CORPORA", "CorpusError", "data_dir", "download", "corpus_path"]

DATA_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/'
DATA_HUB = dict()  # name -> (url, sha1 of the file), as in d2l; d2l-zh code registers into it
DATA_HUB['time_machine'] = (DATA_URL + 'timemachine.txt',
                            '090b5e7e70c295757f55df93cb0a180b9691891a')
DATA_HUB['shakespeare'] = (
    'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt',
    '04486597058d11dcc2c556b1d0433891eb639d2e')
# The course's corpora (what `python -m helpers` fetches) and their file names in the cache.
# Their URL and sha1 are the ones in DATA_HUB; any other name is saved under the last part of
# its URL, as d2l does.
CORPORA = {"time_machine": "timemachine.txt", "shakespeare": "tinyshakespeare.txt"}
DATA_ENV = "DEEP_RNN_DATA"
TIMEOUT = 30  # seconds to connect, or to wait for the next bytes, before a download gives up
DOWNLOAD_DEADLINE = 300  # seconds for a whole download, however the server trickles its bytes


class CorpusError(RuntimeError):
    """A corpus file is missing and cannot be downloaded, or its content is wrong."""


# ---------------------------------------------------------------- download and cache

def _checkout():
    """The course folder when helpers is imported from a checkout (or an editable install), else
    None (a `pip install .` into site-packages)."""
    root = Path(__file__).resolve().parent.parent
    try:
        return root if 'name = "deep-rnn-notebooks"' in (root / "pyproject.toml").read_text() else None
    except OSError:
        return None


def _cache():
    """(the cache folder, where it comes from, in words for messages)."""
    folder = os.environ.get(DATA_ENV)
    if folder:
        return Path(folder).expanduser(), f"${DATA_ENV}"
    root = _checkout()
    if root is not None:
        return root / "data", f"data/ in the course folder; set ${DATA_ENV} to use another"
    import platformdirs  # only needed outside a checkout
    return (Path(platformdirs.user_cache_dir("deep-rnn-notebooks")),
            f"the per-user cache, as helpers is installed outside a course folder; "
            f"set ${DATA_ENV} to use another")


def data_dir():
    """The cache folder: $DEEP_RNN_DATA if set (~ expanded); else `data/` in the course folder
    when helpers comes from a checkout; else (a non-editable `pip install .`) the per-user cache
    folder `platformdirs.user_cache_dir("deep-rnn-notebooks")`, e.g. ~/.cache/deep-rnn-notebooks."""
    return _cache()[0]


def _info(name):
    """(url, sha1, file name in the cache) of a name registered in DATA_HUB."""
    if name not in DATA_HUB:
        raise ValueError(f"unknown corpus {name!r}; known corpora (DATA_HUB): "
                         f"{', '.join(map(repr, DATA_HUB))}")
    url, sha1 = DATA_HUB[name]
    return url, sha1, CORPORA.get(name) or url.split('/')[-1]


def _sha1(data):
    return hashlib.sha1(data).hexdigest()


def _error(name, folder, where, problem, fixes):
    url, _, file = _info(name)
    lines = [f"cannot use the {name!r} corpus (file {file}).",
             f"  problem:   {problem}",
             f"  URL:       {url}",
             f"  cache dir: {folder}  ({where})",
             "To fix it, do one of these:"] + [f"  - {fix}" for fix in fixes]
    return CorpusError("\n".join(lines))


def _fixes(name, folder, problem="offline"):
    """What a learner can do, the likeliest fix first."""
    url, _, file = _info(name)
    fetch = (f"`{sys.executable} -m helpers`" if name in CORPORA
             else f"`download({name!r})` again")
    by_hand = f"download {url} by hand and save it as {Path(folder) / file}"
    elsewhere = f"set {DATA_ENV} to a folder that already holds {file}"
    if problem == "read-only":
        return [f"make {folder} writable for you (for example `chmod u+w {folder}`), then run "
                f"{fetch} again", f"set {DATA_ENV} to a folder you can write to", elsewhere]
    return [f"connect to the internet once and run {fetch}", by_hand, elsewhere]


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _check_not_special(name, folder, where, path):
    """Refuse, before any download, a corpus path that exists but is not a regular file: reading a
    FIFO would wait forever, and a download would fail to replace a folder."""
    try:
        mode = path.stat().st_mode
    except OSError:  # missing (or a dangling link): a download may create it
        return
    kind = next((kind for test, kind in _KINDS if test(mode)), None)
    if kind is not None:
        raise _error(name, folder, where, f"{path} is {kind}, not a regular file, so it cannot hold the corpus "
                     "(nothing was downloaded)",
                     [f"move or remove {path}, then run again to download the corpus there"]
                     + _fixes(name, folder)[2:])


def _check_cache_folder(name, folder, where):
    """Refuse, before any download, a cache folder that is a file or that cannot be written."""
    existing = next(p for p in [folder, *folder.parents] if p.exists())
    if not existing.is_dir():
        raise _error(name, folder, where, f"{existing} is a file, but the cache must be a folder",
                     [f"set {DATA_ENV} (or cache_dir) to a folder, for example {existing.parent}"])
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _error(name, folder, where, f"no permission to write into {existing}",
                     _fixes(name, folder, "read-only"))


def _fetch(url):
    """The bytes at `url`, within DOWNLOAD_DEADLINE seconds (plus at most TIMEOUT for a stalled read)."""
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    chunks = []
    with urllib.request.urlopen(url, timeout=min(TIMEOUT, DOWNLOAD_DEADLINE)) as response:
        while chunk := response.read1(1 << 16):  # whatever has arrived, never waiting for more
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the download took longer than DOWNLOAD_DEADLINE = "
                                   f"{DOWNLOAD_DEADLINE} s ({sum(map(len, chunks))} bytes so far)")
        if response.length:  # the server promised more bytes than it sent
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
    return b"".join(chunks)


def download(name, cache_dir=None):
    """Download the file registered as DATA_HUB[name] (once) and return its local file name (d2l).

    As in d2l, `name` must be in DATA_HUB (name -> (url, sha1)) and the file is saved under
    the last part of its URL (the course's own corpora under their CORPORA names); a line is
    printed before a download starts.
    Where the course differs from d2l, on purpose:
      - the default `cache_dir` is `data_dir()` ($DEEP_RNN_DATA, `data/` in the course folder,
        or the per-user cache outside one), not d2l's '../data', so the result does not depend
        on the working directory;
      - the sha1 is checked on every call and after every download: a wrong cached file is
        an error to look at (never silently downloaded over), a wrong download is never saved;
      - a download goes to a temporary file that replaces the target only once complete and
        verified, so a failure never leaves a partial file behind; it gives up after
        DOWNLOAD_DEADLINE seconds in all;
      - an unknown name is a ValueError listing the known ones (d2l: an AssertionError).
    """
    url, sha1, file = _info(name)
    if cache_dir is None:
        folder, where = _cache()
    else:
        folder, where = Path(cache_dir).expanduser(), "the cache_dir argument"
    path = folder / file
    if path.is_file():
        return _verified(name, folder, where, path, sha1)
    _check_not_special(name, folder, where, path)
    _check_cache_folder(name, folder, where)
    print(f"downloading {name} from {url} to {path} ...", flush=True)
    try:
        data = _fetch(url)
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise _error(name, folder, where, f"download failed: {e!r}", _fixes(name, folder)) from None
    digest = _sha1(data)
    if digest != sha1:
        raise _error(name, folder, where,
                     f"the downloaded file has sha1 {digest}, expected {sha1} "
                     f"(wrong or damaged file; nothing was saved)", _fixes(name, folder)[1:])
    _save(name, folder, where, path, data)
    return str(path)


def _verified(name, folder, where, path, sha1):
    """The cached file's path, once its sha1 is the registered one."""
    try:
        digest = _sha1(path.read_bytes())
    except OSError as e:
        raise _error(name, folder, where, f"cannot read the cached file: {e!r}", _fixes(name, folder)) from None
    if digest != sha1:
        raise _error(name, folder, where,
                     f"the cached file {path} is corrupt: its sha1 is {digest}, expected {sha1}",
                     [f"delete {path} and run again to download it afresh"] + _fixes(name, folder)) from None
    return str(path)


def _save(name, folder, where, path, data):
    """Write `data` to `path` atomically, through a temporary file in the same folder."""
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:  # mode 0666 less the umask (0644 usually), like any new file
            f.write(data)
        os.replace(tmp, path)  # atomic: the file appears complete or not at all
    except OSError as e:
        tmp.unlink(missing_ok=True)
        fixes = (_fixes(name, folder, "read-only") if isinstance(e, PermissionError)
                 else _fixes(name, folder)[1:])  # the download itself worked
        raise _error(name, folder, where, f"cannot write into the cache dir: {e!r}", fixes) from None


def corpus_path(name):
    """Path of the verified corpus file `name`, downloaded into `data_dir()` once if missing."""
    return Path(download(name))
