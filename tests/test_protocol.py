"""Tests for helpers/protocol.py: one split and one set of scored characters for every notebook."""
import pytest

from helpers import data, protocol


@pytest.fixture(scope="module")
def tm():
    return data.load_corpus("time_machine")


def test_split_holds_out_the_last_tenth_of_the_whole_text(tm):
    tokens, _ = tm
    train, held_out = protocol.split(tokens)
    assert train + held_out == tokens
    assert len(held_out) == int(len(tokens) * protocol.HELD_OUT_FRACTION) == 17_342


def test_the_held_out_loader_scores_positions_1_to_eval_tokens(tm):
    tokens, vocab = tm
    _, held_out = protocol.split(tokens)
    loader = protocol.held_out_loader(held_out, vocab)
    targets = [[] for _ in range(protocol.EVAL_BATCH_SIZE)]
    for X, Y in loader:
        assert X.shape == (protocol.EVAL_BATCH_SIZE, protocol.EVAL_NUM_STEPS)
        for row, y in zip(targets, Y.tolist()):
            row.extend(y)
    assert sum(targets, []) == protocol.scored_targets(held_out)  # streams laid end to end: the text
    assert len(protocol.scored_targets(held_out)) == protocol.EVAL_TOKENS


@pytest.mark.parametrize("batch_size, num_steps, max_train_tokens", [(32, 35, -1), (16, 32, 20_000), (2, 5, 1000)])
def test_load_splits_evaluates_the_same_text_whatever_the_training_batches(tm, batch_size, num_steps,
                                                                             max_train_tokens):
    tokens, _ = tm
    train_iter, valid_iter, vocab = protocol.load_splits(batch_size, num_steps, max_train_tokens=max_train_tokens)
    train, held_out = protocol.split(tokens)
    assert valid_iter.corpus == held_out[:protocol.EVAL_TOKENS + 1]
    assert train_iter.corpus == (train if max_train_tokens < 0 else train[:max_train_tokens])
    assert (valid_iter.batch_size, valid_iter.num_steps) == (protocol.EVAL_BATCH_SIZE, protocol.EVAL_NUM_STEPS)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_window_text_gives_a_window_model_exactly_the_scored_characters(tm, k):
    train, held_out = protocol.split(tm[0])
    text = protocol.window_text(train, held_out, k)
    targets = [text[i + k] for i in range(len(text) - k)]  # what make_windows(text, k) predicts
    assert targets == protocol.scored_targets(held_out)
    assert text[:k - 1] == train[len(train) - (k - 1):]


@pytest.mark.parametrize("k", [0, -1, 2.0, True, "3"])
def test_window_text_refuses_a_bad_window(tm, k):
    train, held_out = protocol.split(tm[0])
    with pytest.raises(ValueError, match=r"k must be a whole number >= 1.*got"):
        protocol.window_text(train, held_out, k)


def test_a_text_too_short_for_the_protocol_is_refused():
    with pytest.raises(ValueError, match="too short to score 16,384"):
        protocol.split(list(range(1000)))
    with pytest.raises(ValueError, match="needs 16,385"):
        protocol.held_out_loader(list(range(100)), None)


def test_a_training_prefix_too_short_for_one_batch_is_refused():
    with pytest.raises(ValueError, match="training part has 100 tokens.*max_train_tokens"):
        protocol.load_splits(32, 35, max_train_tokens=100)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "100"])
def test_a_bad_training_prefix_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=r"max_train_tokens must be -1 \(the whole training part\) or a whole"):
        protocol.load_splits(32, 35, max_train_tokens=bad)


def test_a_window_longer_than_the_training_text_is_refused(tm):
    train, held_out = protocol.split(tm[0])
    with pytest.raises(ValueError, match="train has only 10"):
        protocol.window_text(train[:10], held_out, 20)
