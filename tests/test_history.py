"""helpers/history.py: one entry per finished epoch in every list."""
import math

import helpers


def test_add_epoch_fills_every_list_at_once():
    h = helpers.History()
    assert math.isnan(h.final_train_ppl) and math.isnan(h.final_valid_ppl)
    h.add_epoch(9.0, 10.0, 1000.0, 0.5)
    h.add_epoch(7.0, None, 1100.0, 0.4)  # no held-out data this time
    assert (h.train_ppl, h.valid_ppl, h.tokens_per_sec, h.seconds) == ([9.0, 7.0], [10.0], [1000.0, 1100.0], [0.5, 0.4])
    assert (h.final_train_ppl, h.final_valid_ppl) == (7.0, 10.0)
