"""Tests for helpers/data.py: corpora, vocabulary, minibatch iterators, splits, downloads.

Uses the real corpora from $DEEP_RNN_DATA (never the network); download tests use a local
HTTP server on 127.0.0.1 and small fake corpora.
"""
import collections
import hashlib
import http.server
import os
import random
import re
import socket
import threading

import pytest
import torch

from helpers import data

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def tm():
    """(corpus, vocab) for the whole Time Machine, characters."""
    return data.load_corpus_time_machine()


@pytest.fixture(scope="module")
def tm_spaced():
    """(corpus, vocab) for the whole Time Machine, space-joined lines (the course's loaders)."""
    return data.load_corpus("time_machine")


@pytest.fixture(scope="module")
def shakespeare():
    return data.load_corpus("shakespeare")


# ------------------------------------------------------------------ reading and vocabulary


def test_read_time_machine_matches_the_book():
    lines = data.read_time_machine()
    assert len(lines) == 3221
    assert lines[0] == "the time machine by h g wells"
    assert lines[10] == "twinkled and his usually pale face was flushed and animated the"
    assert all(re.fullmatch("[a-z ]*", line) for line in lines)


def test_unknown_corpus_lists_the_known_ones():
    for call in (data.read_corpus, data.read_text, data.corpus_path, data.load_corpus):
        with pytest.raises(ValueError, match="time_machine.*shakespeare"):
            call("nope")


def test_read_text_keeps_the_word_boundary_at_a_line_break():
    text = data.read_text()
    assert text.startswith("the time machine by h g wells i the time traveller")
    lines = [line for line in data.read_time_machine() if line]
    assert text == " ".join(lines) and "  " not in text
    assert re.fullmatch("[a-z ]*", text)
    # d2l's own text loses that boundary, and stays as the book has it
    assert "".join(data.read_time_machine()).startswith("the time machine by h g wellsithe time traveller")


def test_read_text_raw_keeps_the_file_unchanged():
    text = data.read_text("shakespeare", raw=True)
    assert len(set(text)) == 65 and "\n" in text and "," in text and "F" in text
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    assert text.encode("utf-8") == data.corpus_path("shakespeare").read_bytes()


def test_load_corpus_raw_shakespeare_has_65_symbols():
    corpus, vocab = data.load_corpus("shakespeare", raw=True)
    assert len(vocab) == 66 and vocab.to_tokens(0) == "<unk>"  # 65 characters + <unk>
    assert len(corpus) == len(data.read_text("shakespeare", raw=True)) and vocab.unk not in corpus
    assert "".join(vocab.to_tokens(corpus[:15])) == "First Citizen:\n"
    assert data.load_corpus("shakespeare", max_tokens=100, raw=True)[0] == corpus[:100]


def test_load_corpus_is_read_text_as_characters(tm, tm_spaced):
    corpus, vocab = tm_spaced
    text = data.read_text()
    assert len(corpus) == len(text) and "".join(vocab.to_tokens(corpus)) == text
    assert set(vocab.idx_to_token) == set(tm[1].idx_to_token)  # same 28 symbols as d2l's
    other, same = data.load_corpus(max_tokens=50, vocab=tm[1])
    assert same is tm[1] and "".join(same.to_tokens(other)) == text[:50]


def test_load_corpus_time_machine_is_unchanged_d2l(tm):
    corpus, vocab = tm
    assert vocab.idx_to_token == ['<unk>', ' ', 'e', 't', 'a', 'i', 'n', 'o', 's', 'h', 'r', 'd', 'l',
                                  'm', 'u', 'c', 'f', 'w', 'g', 'y', 'p', 'b', 'v', 'k', 'x', 'z',
                                  'j', 'q']
    assert len(corpus) == 170580
    # sha1 of the first 10,000 indices as they were before the course's loaders changed
    digest = hashlib.sha1(str(corpus[:10000]).encode()).hexdigest()
    assert digest == "b804ed6d19044e28c33c5c0c636e37f1320e55e5"
    assert corpus[:40] == [3, 9, 2, 1, 3, 5, 13, 2, 1, 13, 4, 15, 9, 5, 6, 2, 1, 21, 19, 1,
                           9, 1, 18, 1, 17, 2, 12, 12, 8, 5, 3, 9, 2, 1, 3, 5, 13, 2, 1, 3]


def test_tokenize():
    assert data.tokenize(["a bc", "d"]) == [["a", "bc"], ["d"]]
    assert data.tokenize(["a bc"], "char") == [["a", " ", "b", "c"]]
    with pytest.raises(ValueError, match="'word' or 'char'"):
        data.tokenize(["a"], "letter")


def test_count_corpus_flat_and_nested():
    assert data.count_corpus(["a", "b", "a"]) == collections.Counter(a=2, b=1)
    assert data.count_corpus([["a", "b"], ["a"]]) == collections.Counter(a=2, b=1)
    assert data.count_corpus([]) == collections.Counter()


def test_vocab_order_indexing_and_tokens():
    tokens = [["b", "a", "c", "a"], ["c", "a", "d"]]  # a: 3, c: 2, b: 1, d: 1
    vocab = data.Vocab(tokens)
    assert vocab.idx_to_token == ["<unk>", "a", "c", "b", "d"]  # ties keep first-seen order
    assert vocab.unk == 0 and vocab["<unk>"] == 0
    assert vocab["a"] == 1 and vocab["zzz"] == 0
    assert vocab[["c", "a", "zzz"]] == [2, 1, 0]
    assert vocab[("d",)] == [4]
    assert vocab.to_tokens(2) == "c"
    assert vocab.to_tokens([1, 4]) == ["a", "d"]
    assert vocab.token_freqs == [("a", 3), ("c", 2), ("b", 1), ("d", 1)]
    assert vocab.token_to_idx == {t: i for i, t in enumerate(vocab.idx_to_token)}
    assert len(vocab) == 5


def test_vocab_min_freq_and_reserved_tokens():
    tokens = ["b", "a", "c", "a", "c", "a", "d"]
    vocab = data.Vocab(tokens, min_freq=2, reserved_tokens=["<pad>", "<bos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "a", "c"]
    assert vocab["b"] == vocab.unk
    assert data.Vocab(["a", "<pad>"], reserved_tokens=["<pad>"]).idx_to_token == ["<unk>", "<pad>", "a"]
    assert len(data.Vocab()) == 1


def test_time_machine_char_vocab(tm):
    corpus, vocab = tm
    assert len(corpus) == 170580 and len(vocab) == 28
    assert vocab.idx_to_token[:11] == ["<unk>", " ", "e", "t", "a", "i", "n", "o", "s", "h", "r"]
    counts = collections.Counter(corpus)
    freqs = [counts[i] for i in range(1, len(vocab))]
    assert freqs == sorted(freqs, reverse=True) and counts[0] == 0
    text = "".join(data.read_time_machine())
    assert "".join(vocab.to_tokens(corpus[:1000])) == text[:1000]
    assert data.load_corpus_time_machine(max_tokens=500)[0] == corpus[:500]


def test_time_machine_word_vocab_matches_the_book():
    vocab = data.Vocab(data.tokenize(data.read_time_machine()))
    assert vocab.idx_to_token[:6] == ["<unk>", "the", "i", "and", "of", "a"]
    assert vocab.token_freqs[:3] == [("the", 2261), ("i", 1267), ("and", 1245)]


def test_shakespeare_has_the_same_28_symbols(tm, shakespeare):
    corpus, vocab = shakespeare
    assert len(vocab) == 28 and set(vocab.idx_to_token) == set(tm[1].idx_to_token)
    assert len(corpus) == len(data.read_text("shakespeare"))
    assert "".join(vocab.to_tokens(corpus[:28])) == "first citizen before we proc"


# ------------------------------------------------------------------ iterators

POSITIONS = list(range(1000))  # a corpus whose tokens are their own positions


@pytest.mark.parametrize("batch_size,num_steps", [(2, 5), (3, 7), (4, 35)])
def test_sequential_iterator_continues_rows_and_loses_no_token(batch_size, num_steps):
    for seed in range(5):
        random.seed(seed)
        batches = list(data.seq_data_iter_sequential(POSITIONS, batch_size, num_steps))
        assert batches
        for X, Y in batches:
            assert X.shape == Y.shape == (batch_size, num_steps) and X.dtype == torch.int64
            assert torch.equal(Y, X + 1)
        for (X0, _), (X1, _) in zip(batches, batches[1:]):
            assert torch.equal(X1[:, 0], X0[:, -1] + 1)  # each row goes on where it stopped
        rows = torch.cat([X for X, _ in batches], dim=1)
        offset = rows[0, 0].item()
        assert 0 <= offset <= num_steps
        row_len = (len(POSITIONS) - offset - 1) // batch_size  # tokens per row
        assert row_len - rows.shape[1] < num_steps  # at most a partial step dropped per row
        for b in range(batch_size):
            start = offset + b * row_len
            assert rows[b].tolist() == list(range(start, start + rows.shape[1]))


@pytest.mark.parametrize("batch_size,num_steps", [(2, 5), (3, 7), (4, 35)])
def test_random_iterator_uses_each_subsequence_once(batch_size, num_steps):
    for seed in range(5):
        random.seed(seed)
        batches = list(data.seq_data_iter_random(POSITIONS, batch_size, num_steps))
        starts = []
        for X, Y in batches:
            assert X.shape == Y.shape == (batch_size, num_steps) and X.dtype == torch.int64
            assert torch.equal(Y, X + 1)
            assert torch.equal(X - X[:, :1], torch.arange(num_steps).expand_as(X))
            starts += X[:, 0].tolist()
        offset = min(starts) % num_steps
        assert offset < num_steps and all(s % num_steps == offset for s in starts)
        assert len(set(starts)) == len(starts)  # no subsequence twice
        num_subseqs = (len(POSITIONS) - offset - 1) // num_steps
        assert len(starts) == num_subseqs // batch_size * batch_size
        assert max(starts) + num_steps < len(POSITIONS)  # labels stay inside the corpus


@pytest.mark.parametrize("use_random_iter", [False, True])
def test_iterators_read_the_real_corpus(tm, use_random_iter):
    corpus, _ = tm
    corpus = corpus[:3000]
    fn = data.seq_data_iter_random if use_random_iter else data.seq_data_iter_sequential
    random.seed(1)
    where = list(fn(list(range(len(corpus))), 4, 10))
    random.seed(1)
    got = list(fn(corpus, 4, 10))
    tokens = torch.tensor(corpus)
    assert len(got) == len(where)
    for (X, Y), (P, _) in zip(got, where):
        assert torch.equal(X, tokens[P]) and torch.equal(Y, tokens[P + 1])


def test_len_of_loader_equals_batches_yielded():
    for n in (0, 10, 99, 100, 101, 1000, 1234):
        for batch_size, num_steps in [(1, 1), (2, 5), (3, 7), (4, 35), (8, 10)]:
            for use_random_iter in (False, True):
                loader = data.SeqDataLoader.from_corpus(
                    list(range(n)), None, batch_size, num_steps, use_random_iter)
                for seed in range(8):
                    random.seed(seed)
                    assert len(list(loader)) == len(loader)


def test_load_data_time_machine_like_the_book(tm):
    train_iter, vocab = data.load_data_time_machine(32, 35)
    assert len(vocab) == 28 and train_iter.vocab is vocab
    assert train_iter.corpus == tm[0][:10000]
    assert len(train_iter) == (10000 - 35 - 1) // 32 // 35 == 8
    random.seed(0)
    batches = list(train_iter)
    assert len(batches) == len(train_iter)
    assert all(X.shape == (32, 35) for X, _ in batches)
    random_iter, _ = data.load_data_time_machine(32, 35, use_random_iter=True)
    assert len(list(random_iter)) == len(random_iter)


def test_loader_with_a_fixed_offset_is_deterministic():
    loader = data.SeqDataLoader.from_corpus(POSITIONS, None, 4, 10, offset=0)
    first, second = list(loader), list(loader)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, second))
    assert first[0][0][0, 0].item() == 0
    with pytest.raises(ValueError):
        data.SeqDataLoader.from_corpus(POSITIONS, None, 4, 10, use_random_iter=True, offset=0)


# ------------------------------------------------------------------ train / held-out splits


def test_splits_are_contiguous_tail_and_disjoint(tm_spaced):
    corpus, vocab = tm_spaced
    train_iter, valid_iter, v = data.load_time_machine_splits(8, 10, valid_fraction=0.1,
                                                              max_tokens=10000)
    assert len(v) == 28 and v.idx_to_token == vocab.idx_to_token
    assert train_iter.corpus == corpus[:9000] and valid_iter.corpus == corpus[9000:10000]
    assert len(valid_iter) == (1000 - 1) // 8 // 10 > 0
    valid_batches = list(valid_iter)
    assert len(valid_batches) == len(valid_iter)
    assert valid_batches[0][0][0].tolist() == corpus[9000:9010]  # sequential, from the start
    assert all(torch.equal(a[0], b[0]) for a, b in zip(valid_batches, valid_iter))

    train_iter, valid_iter, _ = data.load_time_machine_splits(32, 35, valid_fraction=0.25)
    n_valid = int(len(corpus) * 0.25)
    assert len(valid_iter.corpus) == n_valid
    assert train_iter.corpus + valid_iter.corpus == corpus


def test_old_splits_name_is_an_alias():
    assert data.load_time_machine_splits is data.load_corpus_splits


def test_splits_raw_text():
    train_iter, valid_iter, vocab = data.load_corpus_splits(4, 10, max_tokens=2000,
                                                            corpus="shakespeare", raw=True)
    text = data.read_text("shakespeare", raw=True)[:2000]
    assert len(vocab) == 66
    assert "".join(vocab.to_tokens(train_iter.corpus + valid_iter.corpus)) == text


def test_from_corpus_builds_through_init():
    loader = data.SeqDataLoader.from_corpus(POSITIONS, "v", 4, 10, offset=3)
    assert type(loader) is data.SeqDataLoader and loader.corpus == POSITIONS and loader.vocab == "v"
    assert (loader.batch_size, loader.num_steps, loader.offset) == (4, 10, 3)
    assert next(iter(loader))[0][0, 0].item() == 3


def test_splits_random_train_and_sequential_valid():
    train_iter, valid_iter, _ = data.load_time_machine_splits(
        4, 10, max_tokens=5000, use_random_iter=True)
    assert train_iter.data_iter_fn is data.seq_data_iter_random
    assert valid_iter.use_random_iter is False
    random.seed(0)
    assert len(list(train_iter)) == len(train_iter)


def test_splits_share_a_vocabulary(tm):
    _, tm_vocab = tm
    train_iter, valid_iter, vocab = data.load_time_machine_splits(
        4, 10, max_tokens=2000, corpus="shakespeare", vocab=tm_vocab)
    assert vocab is tm_vocab and train_iter.vocab is tm_vocab
    text = data.read_text("shakespeare")[:2000]
    assert "".join(vocab.to_tokens(train_iter.corpus + valid_iter.corpus)) == text


@pytest.mark.parametrize("kwargs,match", [
    (dict(valid_fraction=0), "valid_fraction"),
    (dict(valid_fraction=1), "valid_fraction"),
    (dict(valid_fraction=-0.2), "valid_fraction"),
    (dict(valid_fraction=1.5), "valid_fraction"),
    (dict(max_tokens=1000, valid_fraction=0.1), "held-out part has 100 tokens"),
    (dict(max_tokens=1200, valid_fraction=0.95), "training part has 60 tokens"),
    (dict(batch_size=0), "batch_size"),
    (dict(corpus="nope"), "time_machine"),
])
def test_splits_reject_bad_arguments(kwargs, match):
    args = dict(batch_size=32, num_steps=35) | kwargs
    with pytest.raises(ValueError, match=match):
        data.load_time_machine_splits(**args)


# ------------------------------------------------------------------ downloads (local server only)

GOOD = b"a tiny fake corpus\nwith two lines\n"


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
    monkeypatch.setattr(data, "TIMEOUT", 5)
    monkeypatch.setitem(data.DATA_HUB, "fake", (f"{server}/fake.txt", SHA1))
    monkeypatch.setitem(data.CORPORA, "fake", "fake.txt")  # a course corpus: its own file name
    return cache


SHA1 = hashlib.sha1(GOOD).hexdigest()


def _serve(name, url):
    """Point DATA_HUB[name] at another URL (same sha1)."""
    data.DATA_HUB[name] = (url, data.DATA_HUB[name][1])


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_good_file(fake, server):
    path = data.corpus_path("fake")
    assert path == fake / "fake.txt" and path.read_bytes() == GOOD
    assert os.listdir(fake) == ["fake.txt"]  # no temp file left
    _serve("fake", f"http://127.0.0.1:{_closed_port()}/fake.txt")
    assert data.corpus_path("fake") == path  # cached: no network needed
    assert data.read_corpus("fake") == ["a tiny fake corpus", "with two lines"]


def test_download_into_explicit_cache_dir(fake, server, tmp_path):
    path = data.download("fake", cache_dir=tmp_path / "other")
    assert path == str(tmp_path / "other" / "fake.txt")  # a str, as d2l returns
    assert open(path, "rb").read() == GOOD
    assert not fake.exists()


def test_data_hub_is_d2ls_registry():
    assert data.DATA_URL == "http://d2l-data.s3-accelerate.amazonaws.com/"
    assert data.DATA_HUB["time_machine"] == (data.DATA_URL + "timemachine.txt",
                                             "090b5e7e70c295757f55df93cb0a180b9691891a")
    assert data.DATA_HUB["shakespeare"][0].endswith("/tinyshakespeare/input.txt")
    assert set(data.CORPORA) <= set(data.DATA_HUB)  # one registry: every course corpus is in it
    import helpers
    assert helpers.DATA_HUB is data.DATA_HUB and helpers.download is data.download


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
    data.DATA_HUB["extra"] = (f"{server}/some/where/extra.txt", SHA1)
    try:
        path = data.download("extra", cache_dir=tmp_path / "c")
    finally:
        del data.DATA_HUB["extra"]
    assert path == str(tmp_path / "c" / "extra.txt") and open(path, "rb").read() == GOOD


@pytest.mark.parametrize("route,match", [
    ("corrupt.txt", "sha1"),
    ("halfway.txt", "IncompleteRead"),
    ("missing.txt", "404"),
])
def test_failed_download_leaves_nothing_behind(fake, server, route, match):
    url = f"{server}/{route}"
    _serve("fake", url)
    with pytest.raises(data.CorpusError, match=match) as info:
        data.corpus_path("fake")
    message = str(info.value)
    assert "fake.txt" in message and url in message and str(fake) in message
    error = info.value  # the learner sees our message, not a chained urllib traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert not fake.exists() or os.listdir(fake) == []


def test_offline_gives_one_clear_error(fake):
    url = f"http://127.0.0.1:{_closed_port()}/fake.txt"
    _serve("fake", url)
    with pytest.raises(data.CorpusError) as info:
        data.corpus_path("fake")
    message = str(info.value)
    for needed in ("fake.txt", url, str(fake), "DEEP_RNN_DATA", "python -m helpers`"):
        assert needed in message
    assert not fake.exists() or os.listdir(fake) == []


def test_corrupt_cached_file_is_refused(fake):
    fake.mkdir()
    (fake / "fake.txt").write_bytes(GOOD[:-5])
    with pytest.raises(data.CorpusError, match="corrupt") as info:
        data.read_corpus("fake")
    assert "delete" in str(info.value) and "sha1" in str(info.value)
    assert (fake / "fake.txt").read_bytes() == GOOD[:-5]  # left for the learner to inspect


def test_main_reports_failure_with_exit_code_1(fake, monkeypatch, capsys):
    monkeypatch.setattr(data, "CORPORA", {"fake": "fake.txt"})
    assert data.main() == 0
    assert "fake.txt" in capsys.readouterr().out
    (fake / "fake.txt").write_bytes(b"damaged")
    assert data.main() == 1
    assert "corrupt" in capsys.readouterr().err
