"""Text data for the course: get the corpora, turn text into token indices, cut it into minibatches.

This module knows nothing about models or training. The d2l-zh chapter 8 names
(`read_time_machine`, `tokenize`, `Vocab`, `load_corpus_time_machine`, `seq_data_iter_random`,
`seq_data_iter_sequential`, `SeqDataLoader`, `load_data_time_machine`) keep the book's
signatures, defaults and behaviour (their text joins lines with nothing: "...h g wellsithe time...").
The course's own loaders (`read_text`, `load_corpus`, `load_corpus_splits`) join lines with one space,
or keep the raw characters with raw=True. The notebooks split with `helpers.protocol.load_splits`,
the held-out protocol (the last 10 % of the whole text held out, the same scored characters for
every notebook); `load_corpus_splits` cuts any fraction of any prefix, for other experiments.

Getting the files (d2l's `DATA_HUB`, the cache folder, verified downloads) is `helpers.corpora`'s
job; its names are re-exported here. Run `python -m helpers` once, online, to fetch both corpora.
"""
import collections
import functools
import itertools
import random
import re

import torch

from . import _validate
from .corpora import CORPORA, DATA_HUB, DATA_URL, CorpusError, corpus_path, data_dir, download

__all__ = [
    "DATA_HUB", "DATA_URL", "CORPORA", "CorpusError", "data_dir", "download", "corpus_path",
    "read_time_machine", "read_corpus", "read_text", "tokenize", "count_corpus", "Vocab",
    "load_corpus_time_machine", "load_corpus", "seq_data_iter_random", "seq_data_iter_sequential",
    "SeqDataLoader", "load_data_time_machine", "load_corpus_splits",
]


# ---------------------------------------------------------------- text -> tokens -> indices

def read_corpus(name="time_machine"):
    """Load a corpus as a list of lines holding only lowercase letters and single spaces."""
    with open(corpus_path(name), "r", encoding="utf-8") as f:
        lines = f.readlines()
    return [re.sub('[^A-Za-z]+', ' ', line).strip().lower() for line in lines]


def read_time_machine():
    """Load The Time Machine as a list of cleaned text lines (d2l)."""
    return read_corpus("time_machine")


def read_text(corpus="time_machine", *, raw=False):
    """The text of a corpus as one string.

    raw=False: each line cleaned as d2l does (letters only, lowercase), empty lines dropped,
    lines joined with ONE space, so a line break stays a word boundary
    ("...by h g wells i the time traveller..."; d2l's own loaders join with nothing).
    raw=True: the file's characters unchanged (case, punctuation, newlines), as char-rnn uses them.
    """
    if raw:
        with open(corpus_path(corpus), "r", encoding="utf-8", newline="") as f:
            return f.read()
    return " ".join(line for line in read_corpus(corpus) if line)


def tokenize(lines, token='word'):
    """Split text lines into word or character tokens."""
    if token == 'word':
        return [line.split() for line in lines]
    elif token == 'char':
        return [list(line) for line in lines]
    raise ValueError(f"unknown token type {token!r}; use 'word' or 'char'")


def count_corpus(tokens):
    """Count token frequencies; `tokens` is a 1D list or a 2D list (lines of tokens)."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class Vocab:
    """Vocabulary: maps tokens to indices; <unk> is 0, then reserved tokens, then by frequency."""
    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ['<unk>'] + reserved_tokens
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):  # the unknown token has index 0
        return 0

    @property
    def token_freqs(self):
        return self._token_freqs


def load_corpus(name="time_machine", max_tokens=-1, vocab=None, *, raw=False):
    """Character indices of `read_text(name, raw=raw)` (first `max_tokens` if > 0) and the vocabulary.

    The vocabulary is built from the whole text unless `vocab` is given (then unknown
    characters map to <unk>).
    """
    _check_sizes(max_tokens=max_tokens)
    tokens = list(read_text(name, raw=raw))
    if vocab is None:
        vocab = Vocab(tokens)
    corpus = vocab[tokens]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def load_corpus_time_machine(max_tokens=-1):
    """Character indices of The Time Machine and its vocabulary (d2l: lines joined with nothing)."""
    _check_sizes(max_tokens=max_tokens)
    lines = read_time_machine()
    tokens = tokenize(lines, 'char')
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


# ---------------------------------------------------------------- minibatches

_SIZES = {  # argument: (smallest value allowed, an example that works)
    "batch_size": (1, 32), "num_steps": (1, 35), "offset": (0, 0), "max_tokens": (None, -1)}


def _check_sizes(**sizes):
    """Raise a clear error, before any work, for a size that is not a whole number in range:
    batch_size and num_steps >= 1, offset >= 0 (None: a random start), max_tokens any int
    (<= 0 means the whole corpus, as in d2l), valid_fraction a number strictly between 0 and 1."""
    for name, value in sizes.items():
        if name == "valid_fraction":
            _validate.fraction(value, name, zero_ok=False, example=0.1)
        elif not (name == "offset" and value is None):
            least, example = _SIZES[name]
            if isinstance(value, float) and value.is_integer() and (least is None or value >= least):
                example = int(value)  # 32.0: say 32
            _validate.whole(value, name, least, example=example)


def seq_data_iter_random(corpus, batch_size, num_steps):
    """Minibatches of subsequences taken in random order (random sampling)."""
    _check_sizes(batch_size=batch_size, num_steps=num_steps)
    # Start at a random offset (up to num_steps - 1) to see different subsequences each epoch
    corpus = corpus[random.randint(0, num_steps - 1):]
    # Subtract 1 because the labels are the tokens one step ahead
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    # Neighbouring minibatches do not hold neighbouring subsequences
    random.shuffle(initial_indices)

    def data(pos):
        return corpus[pos: pos + num_steps]

    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        initial_indices_per_batch = initial_indices[i: i + batch_size]
        X = [data(j) for j in initial_indices_per_batch]
        Y = [data(j + 1) for j in initial_indices_per_batch]
        yield torch.tensor(X), torch.tensor(Y)


def _sequential_batches(corpus, batch_size, num_steps, offset):
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.as_tensor(corpus[offset: offset + num_tokens])  # no copy when corpus is a tensor
    Ys = torch.as_tensor(corpus[offset + 1: offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        X = Xs[:, i: i + num_steps]
        Y = Ys[:, i: i + num_steps]
        yield X, Y


def seq_data_iter_sequential(corpus, batch_size, num_steps):
    """Minibatches where row b of one batch continues row b of the previous one (sequential partitioning)."""
    _check_sizes(batch_size=batch_size, num_steps=num_steps)
    # Start at a random offset (up to num_steps)
    offset = random.randint(0, num_steps)
    yield from _sequential_batches(corpus, batch_size, num_steps, offset)


def _num_batches(corpus_len, batch_size, num_steps, use_random_iter, offset=None):
    """Batches per epoch; with offset=None, the fewest over all random offsets."""
    offset = _largest_offset(num_steps, use_random_iter, offset)
    if use_random_iter:
        return max(0, (corpus_len - offset - 1) // num_steps // batch_size)
    return max(0, (corpus_len - offset - 1) // batch_size // num_steps)


def _largest_offset(num_steps, use_random_iter, offset=None):
    if offset is not None:
        return offset
    return num_steps - 1 if use_random_iter else num_steps


def _no_batch_error(num_tokens, batch_size, num_steps, use_random_iter, offset, max_tokens,
                    whole=None):
    """The ValueError for a loader that would yield no minibatch, saying what would work."""
    start = (f"offset={offset}" if offset is not None else
             f"a random start offset of up to {_largest_offset(num_steps, use_random_iter)}")
    need = batch_size * num_steps + _largest_offset(num_steps, use_random_iter, offset) + 1
    have = (f"max_tokens={max_tokens} leaves {num_tokens} tokens" if max_tokens > 0
            else f"the corpus has {num_tokens} tokens")
    works = []
    if max_tokens > 0 and whole is not None and whole >= need:
        works.append(f"max_tokens=-1 for the whole corpus ({whole} tokens)")
    largest = (num_tokens - _largest_offset(num_steps, use_random_iter, offset) - 1) // num_steps
    if largest >= 1:
        works.append(f"batch_size={largest}" + (" or less" if largest > 1 else "")
                     + f" with num_steps={num_steps}")
    works.append("a smaller batch_size or num_steps" if largest < 1 else "a smaller num_steps")
    return ValueError(
        f"no minibatch fits: batch_size={batch_size} x num_steps={num_steps} needs at least "
        f"{need} tokens (one batch, {start}, and one label token), but {have}. "
        f"Use {'; or '.join(works)}.")


class SeqDataLoader:
    """Iterable over (X, Y) minibatches of shape (batch_size, num_steps), like d2l's.

    `len(loader)` is the number of batches of every epoch: since the random start offset
    changes that number by at most one, each epoch yields the smallest possible number.
    Unlike d2l's, a loader that would yield no batch at all is a ValueError saying what fits.
    """
    def __init__(self, batch_size, num_steps, use_random_iter, max_tokens, *,
                 corpus=None, vocab=None, offset=None):
        _check_sizes(batch_size=batch_size, num_steps=num_steps, max_tokens=max_tokens,
                     offset=offset)
        if offset is not None and use_random_iter:
            raise ValueError(f"a fixed offset needs use_random_iter=False, got offset={offset} and "
                             f"use_random_iter={use_random_iter}; or use offset=None")
        time_machine = corpus is None
        if time_machine:  # d2l: The Time Machine
            corpus, vocab = load_corpus_time_machine(max_tokens)
        elif max_tokens > 0:
            corpus = corpus[:max_tokens]
        if _num_batches(len(corpus), batch_size, num_steps, use_random_iter, offset) == 0:
            whole = len(load_corpus_time_machine()[0]) if time_machine and max_tokens > 0 else None
            raise _no_batch_error(len(corpus), batch_size, num_steps, use_random_iter, offset,
                                  max_tokens, whole)
        if use_random_iter:
            self.data_iter_fn = seq_data_iter_random
        elif offset is None:
            self.data_iter_fn = seq_data_iter_sequential
        else:
            self.data_iter_fn = functools.partial(_sequential_batches, offset=offset)
        self.corpus, self.vocab = corpus, vocab
        self.batch_size, self.num_steps = batch_size, num_steps
        self.use_random_iter, self.offset = use_random_iter, offset

    @classmethod
    def from_corpus(cls, corpus, vocab, batch_size, num_steps, use_random_iter=False,
                    offset=None):
        """Loader over an existing list of token indices; `offset` fixes the start (no randomness,
        sequential only)."""
        return cls(batch_size, num_steps, use_random_iter, -1, corpus=corpus, vocab=vocab,
                   offset=offset)

    def __len__(self):
        return _num_batches(len(self.corpus), self.batch_size, self.num_steps,
                            self.use_random_iter, self.offset)

    def __iter__(self):
        batches = self.data_iter_fn(self._tokens(), self.batch_size, self.num_steps)
        return itertools.islice(batches, len(self))

    def _tokens(self):
        """The corpus as sequential batching reads it: a tensor made once, not at every pass
        (random sampling reads the list). Made again if `corpus` is replaced or grows."""
        if self.use_random_iter:
            return self.corpus
        cached = getattr(self, "_tensor", None)
        if cached is None or cached[0] is not self.corpus or cached[1].numel() != len(self.corpus):
            self._tensor = cached = (self.corpus, torch.as_tensor(self.corpus))
        return cached[1]


def load_data_time_machine(batch_size, num_steps, use_random_iter=False, max_tokens=10000):
    """Iterator over The Time Machine and its vocabulary (d2l)."""
    data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens)
    return data_iter, data_iter.vocab


def load_corpus_splits(batch_size, num_steps, valid_fraction=0.1, max_tokens=-1,
                       use_random_iter=False, corpus="time_machine", *, vocab=None, raw=False):
    """(train_iter, valid_iter, vocab) over `load_corpus(corpus, max_tokens, vocab, raw=raw)`.

    The held-out part is the last `valid_fraction` of the first `max_tokens` tokens (all if -1),
    with no overlap. The valid iterator is sequential and starts at offset 0, so every
    evaluation sees the same batches. Pass `vocab` to share one vocabulary between corpora.
    The text is space-joined lines (see `read_text`); raw=True keeps the file's characters.
    """
    _check_sizes(batch_size=batch_size, num_steps=num_steps, max_tokens=max_tokens,
                 valid_fraction=valid_fraction)
    tokens, vocab = load_corpus(corpus, max_tokens, vocab, raw=raw)
    num_valid = int(len(tokens) * valid_fraction)
    train, valid = tokens[:len(tokens) - num_valid], tokens[len(tokens) - num_valid:]
    if _num_batches(len(valid), batch_size, num_steps, False, offset=0) == 0:
        raise ValueError(
            f"the held-out part has {len(valid)} tokens, too few for one batch of "
            f"batch_size x num_steps = {batch_size} x {num_steps} (plus one label token); "
            f"raise valid_fraction or max_tokens, or lower batch_size or num_steps")
    if _num_batches(len(train), batch_size, num_steps, use_random_iter) == 0:
        raise ValueError(
            f"the training part has {len(train)} tokens, too few for one batch of "
            f"batch_size x num_steps = {batch_size} x {num_steps} after a random start offset "
            f"of up to num_steps; raise max_tokens, lower valid_fraction, or lower batch_size "
            f"or num_steps")
    train_iter = SeqDataLoader.from_corpus(train, vocab, batch_size, num_steps, use_random_iter)
    valid_iter = SeqDataLoader.from_corpus(valid, vocab, batch_size, num_steps, offset=0)
    return train_iter, valid_iter, vocab
