"""The course's one held-out protocol: how every notebook splits a corpus and scores held-out text.

Split: the last HELD_OUT_FRACTION (10 %) of the *whole* text is held out, whatever a notebook
trains on; a notebook that trains on less text takes a prefix of the training part
(`max_train_tokens`), so its held-out text stays the same.

Evaluation: held-out perplexity (困惑度) over the first EVAL_TOKENS characters of the held-out
part (all but the last 958 of The Time Machine's 17,342; the first 15 % of Tiny Shakespeare's),
read as EVAL_BATCH_SIZE parallel streams of EVAL_TOKENS / EVAL_BATCH_SIZE characters, in chunks
of EVAL_NUM_STEPS, with the state carried from chunk to chunk (`evaluate_perplexity`). The
scored characters are held-out positions 1 to EVAL_TOKENS: a model without state (notebook 01's
window MLP) scores exactly those, reading the characters before each one.

    train_iter, valid_iter, vocab = d2l.protocol.load_splits(32, 35)            # The Time Machine
    train_iter, valid_iter, vocab = d2l.protocol.load_splits(32, 64, corpus="shakespeare", raw=True)
"""
from .data import SeqDataLoader, _check_sizes, _num_batches, load_corpus

__all__ = ["HELD_OUT_FRACTION", "EVAL_TOKENS", "EVAL_BATCH_SIZE", "EVAL_NUM_STEPS", "STATEMENT",
           "split", "held_out_loader", "scored_targets", "window_text", "load_splits"]

HELD_OUT_FRACTION = 0.1  # the last 10 % of the whole text is held out
EVAL_TOKENS = 16_384     # held-out characters scored (positions 1..EVAL_TOKENS of the held-out part)
EVAL_BATCH_SIZE = 16     # parallel streams of EVAL_TOKENS // EVAL_BATCH_SIZE = 1,024 characters
EVAL_NUM_STEPS = 64      # characters per chunk; the state is carried between chunks

STATEMENT = (f"Held-out protocol: the last {HELD_OUT_FRACTION:.0%} of the whole text is held out; "
             f"held-out perplexity is scored on its first {EVAL_TOKENS:,} characters "
             f"({EVAL_BATCH_SIZE} streams, state carried); training on less text takes a prefix "
             f"of the training part.")


def split(tokens):
    """(train, held_out): the whole text's tokens cut before its last HELD_OUT_FRACTION."""
    num_held_out = int(len(tokens) * HELD_OUT_FRACTION)
    if num_held_out <= EVAL_TOKENS:
        raise ValueError(f"split: the text has {len(tokens):,} tokens, so its held-out part "
                         f"({num_held_out:,}) is too short to score {EVAL_TOKENS:,} characters; "
                         f"the protocol needs a text of at least {10 * (EVAL_TOKENS + 1):,} tokens")
    return tokens[:len(tokens) - num_held_out], tokens[len(tokens) - num_held_out:]


def held_out_loader(held_out, vocab):
    """The protocol's evaluation batches: EVAL_BATCH_SIZE x EVAL_NUM_STEPS, always the same ones."""
    if len(held_out) <= EVAL_TOKENS:
        raise ValueError(f"held_out_loader: held_out has {len(held_out):,} tokens; the protocol "
                         f"scores {EVAL_TOKENS:,}, so it needs {EVAL_TOKENS + 1:,} (use split(tokens))")
    return SeqDataLoader.from_corpus(held_out[:EVAL_TOKENS + 1], vocab, EVAL_BATCH_SIZE,
                                     EVAL_NUM_STEPS, offset=0)


def scored_targets(held_out):
    """The held-out tokens the protocol scores, in text order (positions 1..EVAL_TOKENS)."""
    return held_out[1:EVAL_TOKENS + 1]


def window_text(train, held_out, k):
    """The text a window-of-k model (no state) reads to score exactly the protocol's characters.

    It is the last k - 1 training tokens, then held-out positions 0..EVAL_TOKENS: cut into
    windows of k (notebook 01's make_windows), its targets are held-out positions 1..EVAL_TOKENS.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"window_text: k must be a whole number >= 1 (the window's length), got {k!r}")
    if k - 1 > len(train):
        raise ValueError(f"window_text: a window of k={k} reads {k - 1} characters before the held-out text, "
                         f"but train has only {len(train):,}; use a smaller k")
    return train[len(train) - (k - 1):] + held_out[:EVAL_TOKENS + 1]


def load_splits(batch_size, num_steps, corpus="time_machine", *, raw=False, vocab=None,
                max_train_tokens=-1, use_random_iter=False):
    """(train_iter, valid_iter, vocab) under the protocol.

    train_iter: minibatches of (batch_size, num_steps) over the training part, or over its first
    `max_train_tokens` tokens (-1: all). valid_iter: `held_out_loader`, the same for every
    batch_size and num_steps. `vocab` shares one vocabulary between corpora; raw=True keeps the
    file's characters (else lines are joined with a space).
    """
    _check_sizes(batch_size=batch_size, num_steps=num_steps)
    if isinstance(max_train_tokens, bool) or not isinstance(max_train_tokens, int) or not (
            max_train_tokens == -1 or max_train_tokens >= 1):
        raise ValueError(f"load_splits: max_train_tokens must be -1 (the whole training part) or a whole number "
                         f">= 1 (a prefix of it), got {max_train_tokens!r}")
    tokens, vocab = load_corpus(corpus, vocab=vocab, raw=raw)
    train, held_out = split(tokens)
    if max_train_tokens > 0:
        train = train[:max_train_tokens]
    if _num_batches(len(train), batch_size, num_steps, use_random_iter) == 0:
        raise ValueError(f"load_splits: the training part has {len(train):,} tokens, too few for one "
                         f"batch of batch_size x num_steps = {batch_size} x {num_steps} after a random "
                         f"start offset of up to num_steps; raise max_train_tokens or lower "
                         f"batch_size or num_steps")
    train_iter = SeqDataLoader.from_corpus(train, vocab, batch_size, num_steps, use_random_iter)
    return train_iter, held_out_loader(held_out, vocab), vocab
