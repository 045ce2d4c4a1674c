"""Tests for helpers/data.py: corpora, text, vocabulary, minibatch iterators, splits, bad sizes.

Uses the real corpora from $DEEP_RNN_DATA (never the network); the downloads and the cache
folder are tested in test_data_download.py.
"""
import collections
import hashlib
import random
import re

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
                corpus = list(range(n))
                if data._num_batches(n, batch_size, num_steps, use_random_iter) == 0:
                    with pytest.raises(ValueError, match="no minibatch fits"):
                        data.SeqDataLoader.from_corpus(corpus, None, batch_size, num_steps,
                                                       use_random_iter)
                    continue
                loader = data.SeqDataLoader.from_corpus(corpus, None, batch_size, num_steps,
                                                        use_random_iter)
                for seed in range(8):
                    random.seed(seed)
                    assert len(list(loader)) == len(loader) > 0


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
    train_iter, valid_iter, v = data.load_corpus_splits(8, 10, valid_fraction=0.1,
                                                              max_tokens=10000)
    assert len(v) == 28 and v.idx_to_token == vocab.idx_to_token
    assert train_iter.corpus == corpus[:9000] and valid_iter.corpus == corpus[9000:10000]
    assert len(valid_iter) == (1000 - 1) // 8 // 10 > 0
    valid_batches = list(valid_iter)
    assert len(valid_batches) == len(valid_iter)
    assert valid_batches[0][0][0].tolist() == corpus[9000:9010]  # sequential, from the start
    assert all(torch.equal(a[0], b[0]) for a, b in zip(valid_batches, valid_iter))

    train_iter, valid_iter, _ = data.load_corpus_splits(32, 35, valid_fraction=0.25)
    n_valid = int(len(corpus) * 0.25)
    assert len(valid_iter.corpus) == n_valid
    assert train_iter.corpus + valid_iter.corpus == corpus


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
    train_iter, valid_iter, _ = data.load_corpus_splits(
        4, 10, max_tokens=5000, use_random_iter=True)
    assert train_iter.data_iter_fn is data.seq_data_iter_random
    assert valid_iter.use_random_iter is False
    random.seed(0)
    assert len(list(train_iter)) == len(train_iter)


def test_splits_share_a_vocabulary(tm):
    _, tm_vocab = tm
    train_iter, valid_iter, vocab = data.load_corpus_splits(
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
        data.load_corpus_splits(**args)


# ------------------------------------------------------------------ bad sizes: a clear error first


def test_no_batch_in_max_tokens_is_an_error_not_an_empty_loader():
    with pytest.raises(ValueError) as info:
        data.load_data_time_machine(512, 35)  # 512 x 35 tokens > d2l's default max_tokens=10000
    assert str(info.value) == (
        "no minibatch fits: batch_size=512 x num_steps=35 needs at least 17956 tokens (one batch, "
        "a random start offset of up to 35, and one label token), but max_tokens=10000 leaves "
        "10000 tokens. Use max_tokens=-1 for the whole corpus (170580 tokens); or batch_size=284 "
        "or less with num_steps=35; or a smaller num_steps.")
    train_iter, _ = data.load_data_time_machine(512, 35, max_tokens=-1)  # what it advised works
    assert len(train_iter) > 0
    assert len(data.load_data_time_machine(284, 35)[0]) == 1


def test_no_batch_with_random_sampling_counts_its_offset():
    with pytest.raises(ValueError, match=r"needs at least 1155 tokens .* up to 34, .* max_tokens=1154"):
        data.load_data_time_machine(32, 35, use_random_iter=True, max_tokens=1154)
    assert len(data.load_data_time_machine(32, 35, use_random_iter=True, max_tokens=1155)[0]) == 1


def test_no_batch_in_a_short_corpus_says_what_fits():
    with pytest.raises(ValueError) as info:
        data.SeqDataLoader.from_corpus(list(range(30)), None, 4, 10)
    assert str(info.value) == (
        "no minibatch fits: batch_size=4 x num_steps=10 needs at least 51 tokens (one batch, a "
        "random start offset of up to 10, and one label token), but the corpus has 30 tokens. "
        "Use batch_size=1 with num_steps=10; or a smaller num_steps.")
    with pytest.raises(ValueError, match="offset=25, .* Use a smaller batch_size or num_steps"):
        data.SeqDataLoader.from_corpus(list(range(30)), None, 1, 5, offset=25)


@pytest.mark.parametrize("name", ["batch_size", "num_steps"])
@pytest.mark.parametrize("value", [-1, 0])
def test_sizes_below_one_are_refused(name, value):
    sizes = dict(batch_size=32, num_steps=35) | {name: value}
    example = {"batch_size": 32, "num_steps": 35}[name]
    message = f"{name} must be a whole number >= 1, got {value}; for example {name}={example}"
    for call in (lambda: data.load_data_time_machine(**sizes),
                 lambda: data.load_corpus_splits(**sizes),
                 lambda: data.SeqDataLoader.from_corpus(POSITIONS, None, **sizes),
                 lambda: next(data.seq_data_iter_random(POSITIONS, **sizes)),
                 lambda: next(data.seq_data_iter_sequential(POSITIONS, **sizes))):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize("value,example", [(35.0, 35), (2.5, 35), (True, 35), ("35", 35)])
def test_sizes_that_are_not_whole_numbers_are_refused(value, example):
    message = f"num_steps must be a whole number >= 1, got {value!r}; for example num_steps={example}"
    for call in (lambda: data.load_data_time_machine(32, value),
                 lambda: data.load_corpus_splits(32, value),
                 lambda: data.SeqDataLoader(32, value, False, 10000),
                 lambda: next(data.seq_data_iter_sequential(POSITIONS, 4, value))):
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(TypeError, match=r"batch_size must be a whole number >= 1, got 32.0; "
                                        r"for example batch_size=32"):
        data.load_data_time_machine(32.0, 35)


def test_negative_or_fractional_offset_is_refused():
    with pytest.raises(ValueError, match=r"^offset must be a whole number >= 0, got -1; for example offset=0$"):
        data.SeqDataLoader.from_corpus(POSITIONS, None, 4, 10, offset=-1)
    with pytest.raises(TypeError, match=r"^offset must be a whole number >= 0, got 1.5"):
        data.SeqDataLoader.from_corpus(POSITIONS, None, 4, 10, offset=1.5)
    with pytest.raises(ValueError, match="a fixed offset needs use_random_iter=False, got offset=0"):
        data.SeqDataLoader.from_corpus(POSITIONS, None, 4, 10, use_random_iter=True, offset=0)


def test_max_tokens_zero_or_negative_is_the_whole_corpus_as_in_d2l(tm):
    for max_tokens in (0, -1, -5):
        assert data.load_corpus_time_machine(max_tokens)[0] == tm[0]
        assert data.load_data_time_machine(32, 35, max_tokens=max_tokens)[0].corpus == tm[0]
    with pytest.raises(TypeError, match=r"max_tokens must be a whole number, got 10000.0; "
                                        r"for example max_tokens=10000"):
        data.load_data_time_machine(32, 35, max_tokens=1e4)


def test_a_bad_valid_fraction_type_is_refused():
    with pytest.raises(TypeError, match=r"valid_fraction must be a number in \(0, 1\), got '0.1'; "
                                        r"for example valid_fraction=0.1"):
        data.load_corpus_splits(32, 35, valid_fraction="0.1")
