"""helpers/compat.py: d2l's tensor shortcuts are the torch functions and methods they name
(tests/test_d2l_parity.py compares them with the real d2l 0.17.6)."""
import torch

import helpers


def test_the_shortcuts_of_the_books_from_scratch_models():
    W = helpers.normal(0, 0.01, size=(3, 4))
    b = helpers.zeros(4)
    X = helpers.reshape(helpers.arange(6, dtype=helpers.float32), (2, 3))
    H = helpers.tanh(helpers.matmul(X, W) + b)
    assert H.shape == (2, 4) and helpers.size(H) == 8
    assert helpers.concat([H, H], dim=0).shape == (4, 4) and helpers.stack([H, H]).shape == (2, 2, 4)
    assert helpers.astype(helpers.tensor([1.7]), helpers.int32).dtype == torch.int32
    assert int(helpers.argmax(helpers.tensor([0.1, 0.9]))) == 1
    assert float(helpers.reduce_sum(helpers.ones(3))) == 3.0
    assert helpers.numpy(helpers.tensor([1.0], requires_grad=True)).tolist() == [1.0]
    assert helpers.transpose(X).shape == (3, 2) and helpers.to(X, torch.float64).dtype == torch.float64
