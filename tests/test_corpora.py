"""Tests for helpers/corpora.py: DATA_HUB, download, the cache folder.

Never the network: a local HTTP server on 127.0.0.1 serves small fake corpora, and the cache
is an empty tmp folder (the real corpora come from $DEEP_RNN_DATA).
"""
import hashlib
import http.server
import os
import socket
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import corpora, data

GOOD = b"a tiny fake corpus\nwith two lines\n"
SHA1 = hashlib.sha1(GOOD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/missing.txt":
            self.send_error(404)
            return
        body = b"not the right content\n" if self.path == "/corrupt.txt" else GOOD
        self.send_response(200)
        if self.path == "/halfway.txt":  # promise more bytes than we send, then hang up
            self.send_header("Content-Length", str(len(body) * 10))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/trickle.txt":  # a byte every 0.2 s: each read is quick, the whole is slow
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client gave up
                pass
            return
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake(monkeypatch, tmp_path, server):
    """Register a fake course corpus served by the local server; the cache is an empty tmp folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEEP_RNN_DATA", str(cache))
    monkeypatch.setattr(corpora, "TIMEOUT", 5)
    monkeypatch.setitem(corpora.DATA_HUB, "fake", (f"{server}/fake.txt", SHA1))
    monkeypatch.setitem(corpora.CORPORA, "fake", "fake.txt")  # a course corpus: its own file name
    return cache


def _serve(name, url):
    """Point DATA_HUB[name] at another URL (same sha1)."""
    corpora.DATA_HUB[name] = (url, corpora.DATA_HUB[name][1])


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ d2l's registry


def test_data_hub_is_d2ls_registry():
    assert corpora.DATA_URL == "http://d2l-data.s3-accelerate.amazonaws.com/"
    assert corpora.DATA_HUB["time_machine"] == (corpora.DATA_URL + "timemachine.txt",
                                             "090b5e7e70c295757f55df93cb0a180b9691891a")
    assert corpora.DATA_HUB["shakespeare"][0].endswith("/tinyshakespeare/input.txt")
    assert set(corpora.CORPORA) <= set(corpora.DATA_HUB)  # one registry: every course corpus is in it
    import helpers
    assert helpers.DATA_HUB is corpora.DATA_HUB and helpers.download is corpora.download


def test_d2l_zh_registers_and_opens_the_time_machine(monkeypatch):
    """d2l-zh 8.2's first cell, verbatim apart from the import."""
    import helpers as d2l
    monkeypatch.setitem(d2l.DATA_HUB, "time_machine", d2l.DATA_HUB["time_machine"])
    d2l.DATA_HUB['time_machine'] = (d2l.DATA_URL + 'timemachine.txt',
                                    '090b5e7e70c295757f55df93cb0a180b9691891a')
    with open(d2l.download('time_machine'), 'r') as f:
        lines = f.readlines()
    assert lines[0].startswith("The Time Machine, by H. G. Wells")


def test_a_name_registered_by_the_user_is_saved_under_its_url(fake, server, tmp_path):
    corpora.DATA_HUB["extra"] = (f"{server}/some/where/extra.txt", SHA1)
    try:
        path = corpora.download("extra", cache_dir=tmp_path / "c")
    finally:
        del corpora.DATA_HUB["extra"]
    assert path == str(tmp_path / "c" / "extra.txt") and open(path, "rb").read() == GOOD


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown corpus 'nope'.*'time_machine', 'shakespeare'"):
        corpora.download("nope")


# ------------------------------------------------------------------ downloads


def test_download_good_file(fake, server, capsys):
    path = corpora.corpus_path("fake")
    assert path == fake / "fake.txt" and path.read_bytes() == GOOD
    assert os.listdir(fake) == ["fake.txt"]  # no temp file left
    # a line says what is happening before the download starts (a dead server is not silent)
    assert capsys.readouterr().out == f"downloading fake from {server}/fake.txt to {path} ...\n"
    _serve("fake", f"http://127.0.0.1:{_closed_port()}/fake.txt")
    assert corpora.corpus_path("fake") == path  # cached: no network needed
    assert capsys.readouterr().out == ""  # and nothing printed
    assert data.read_corpus("fake") == ["a tiny fake corpus", "with two lines"]


def test_download_into_explicit_cache_dir(fake, server, tmp_path):
    path = corpora.download("fake", cache_dir=tmp_path / "other")
    assert path == str(tmp_path / "other" / "fake.txt")  # a str, as d2l returns
    assert open(path, "rb").read() == GOOD
    assert not fake.exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cached_file_gets_normal_permissions(fake, umask):
    old = os.umask(umask)
    try:
        path = corpora.corpus_path("fake")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # 0644 usually, not the temp 0600


@pytest.mark.parametrize("route,match", [
    ("corrupt.txt", "sha1"),
    ("halfway.txt", "IncompleteRead"),
    ("missing.txt", "404"),
])
def test_failed_download_leaves_nothing_behind(fake, server, route, match):
    url = f"{server}/{route}"
    _serve("fake", url)
    with pytest.raises(corpora.CorpusError, match=match) as info:
        corpora.corpus_path("fake")
    message = str(info.value)
    assert "fake.txt" in message and url in message and str(fake) in message
    error = info.value  # the learner sees our message, not a chained urllib traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert not fake.exists() or os.listdir(fake) == []


def test_a_trickling_server_fails_within_the_deadline(fake, server, monkeypatch):
    monkeypatch.setattr(corpora, "DOWNLOAD_DEADLINE", 1)  # the whole download, not each read
    _serve("fake", f"{server}/trickle.txt")  # 34 bytes at one per 0.2 s: 7 s in all
    t0 = time.monotonic()
    with pytest.raises(corpora.CorpusError, match="longer than DOWNLOAD_DEADLINE = 1 s") as info:
        corpora.corpus_path("fake")
    assert time.monotonic() - t0 < 3  # the deadline, plus at most one 0.2 s read
    assert "download failed" in str(info.value)
    assert not fake.exists() or os.listdir(fake) == []


def test_offline_gives_one_clear_error(fake):
    url = f"http://127.0.0.1:{_closed_port()}/fake.txt"
    _serve("fake", url)
    with pytest.raises(corpora.CorpusError) as info:
        corpora.corpus_path("fake")
    message = str(info.value)
    for needed in ("fake.txt", url, str(fake), "$DEEP_RNN_DATA",
                   f"`{sys.executable} -m helpers`"):  # the interpreter that has helpers
        assert needed in message
    fixes = message.split("To fix it, do one of these:\n")[1].splitlines()
    assert fixes[0].startswith("  - connect to the internet")
    assert not fake.exists() or os.listdir(fake) == []


def test_corrupt_cached_file_is_refused(fake):
    fake.mkdir()
    (fake / "fake.txt").write_bytes(GOOD[:-5])
    with pytest.raises(corpora.CorpusError, match="corrupt") as info:
        data.read_corpus("fake")
    assert "delete" in str(info.value) and "sha1" in str(info.value)
    assert (fake / "fake.txt").read_bytes() == GOOD[:-5]  # left for the learner to inspect


# ------------------------------------------------------------------ the cache folder


def test_cache_named_by_a_file_says_it_must_be_a_folder(fake, monkeypatch, tmp_path):
    not_a_folder = tmp_path / "timemachine.txt"
    not_a_folder.write_text("some text")
    monkeypatch.setenv("DEEP_RNN_DATA", str(not_a_folder))
    _serve("fake", f"http://127.0.0.1:{_closed_port()}/fake.txt")  # never reached
    with pytest.raises(corpora.CorpusError) as info:
        corpora.corpus_path("fake")
    message = str(info.value)
    assert f"{not_a_folder} is a file, but the cache must be a folder" in message
    assert f"set DEEP_RNN_DATA (or cache_dir) to a folder, for example {tmp_path}" in message
    assert "download failed" not in message and "timemachine.txt/fake.txt" not in message


def test_cache_with_a_tilde_is_under_home(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEEP_RNN_DATA", "~/deep")
    monkeypatch.chdir(tmp_path)
    assert corpora.data_dir() == tmp_path / "home" / "deep"
    assert corpora.corpus_path("fake") == tmp_path / "home" / "deep" / "fake.txt"
    assert not (tmp_path / "~").exists()  # no literal ./~/deep


def test_read_only_cache_lists_the_permission_fix_first(fake, monkeypatch):
    fake.mkdir()
    fake.chmod(0o555)
    if os.geteuid() == 0:  # root may write anywhere: let the check see what a user would
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: real_access(p, mode)
                            and not (os.fspath(p) == str(fake) and mode & os.W_OK))
    try:
        with pytest.raises(corpora.CorpusError) as info:
            corpora.corpus_path("fake")
    finally:
        fake.chmod(0o755)
    message = str(info.value)
    assert f"no permission to write into {fake}" in message
    fixes = message.split("To fix it, do one of these:\n")[1].splitlines()
    assert fixes[0] == (f"  - make {fake} writable for you (for example `chmod u+w {fake}`), "
                        f"then run `{sys.executable} -m helpers` again")
    assert fixes[1] == "  - set DEEP_RNN_DATA to a folder you can write to"
    assert "connect to the internet" not in message
    assert os.listdir(fake) == []  # refused before any download


def test_python_m_helpers_reports_failure_with_exit_code_1(fake, monkeypatch, capsys):
    from helpers.__main__ import main  # `python -m helpers`
    monkeypatch.setattr(corpora, "CORPORA", {"fake": "fake.txt"})
    assert main() == 0
    assert capsys.readouterr().out.endswith(f"fake: {fake / 'fake.txt'} (sha1 verified)\n")
    (fake / "fake.txt").write_bytes(b"damaged")
    assert main() == 1
    assert "corrupt" in capsys.readouterr().err


def test_cache_in_a_checkout_is_data_at_the_root(monkeypatch):
    monkeypatch.delenv("DEEP_RNN_DATA", raising=False)
    root = Path(corpora.__file__).resolve().parent.parent
    assert corpora.data_dir() == root / "data"
    assert "data/ in the course folder" in corpora._cache()[1]


def test_cache_below_a_file_says_it_must_be_a_folder(fake, monkeypatch, tmp_path):
    (tmp_path / "notes.txt").write_text("some text")
    monkeypatch.setenv("DEEP_RNN_DATA", str(tmp_path / "notes.txt" / "cache"))
    with pytest.raises(corpora.CorpusError, match=f"{tmp_path / 'notes.txt'} is a file, but the cache "
                                               f"must be a folder"):
        corpora.corpus_path("fake")


def test_a_write_failure_after_the_download_names_the_permission_fix_first(fake, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", refuse)  # e.g. the folder turned read-only meanwhile
    with pytest.raises(corpora.CorpusError, match="cannot write into the cache dir") as info:
        corpora.corpus_path("fake")
    fixes = str(info.value).split("To fix it, do one of these:\n")[1].splitlines()
    assert fixes[0].startswith(f"  - make {fake} writable for you")
    assert os.listdir(fake) == []  # the temp file is gone too


@pytest.mark.parametrize("kind", ["folder", "FIFO"])
def test_a_corpus_path_that_is_not_a_regular_file_is_named_and_nothing_is_downloaded(fake, kind, capsys):
    """Issue 22, item 11: it counted as missing, and offline the message said `Connection refused`."""
    fake.mkdir()
    path = fake / "fake.txt"
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    _serve("fake", f"http://127.0.0.1:{_closed_port()}/fake.txt")  # offline: never reached
    with pytest.raises(corpora.CorpusError) as info:
        data.read_text("fake")
    message = str(info.value)
    what = "a folder" if kind == "folder" else "a FIFO (named pipe)"
    assert f"{path} is {what}, not a regular file" in message and f"move or remove {path}" in message
    assert "download failed" not in message and "Connection refused" not in message
    assert "downloading" not in capsys.readouterr().out
