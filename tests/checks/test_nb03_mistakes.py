"""helpers/checks/nb03_mistakes.py: the reference rnn_2 is nn.RNN(num_layers=2), and no classic mistake
computes what it computes (else a mistake could never be told apart, or a right answer flagged)."""
import torch
from torch import nn

from helpers.checks.nb03_mistakes import MISTAKES, Rnn2Variant, rnn_2_case, rnn_2_reference


def test_rnn_2_reference_equals_nn_rnn_with_two_layers():
    """The reference inside the checks is itself checked against PyTorch."""
    inputs, state, params = rnn_2_case(V=5, h=4, T=3, B=2, seed=0)
    rnn = nn.RNN(5, 4, num_layers=2)
    W_xh1, W_hh1, b_h1, W_xh2, W_hh2, b_h2, W_hq, b_q = params
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh1.T), rnn.weight_hh_l0.copy_(W_hh1.T)
        rnn.bias_ih_l0.copy_(b_h1), rnn.bias_hh_l0.zero_()
        rnn.weight_ih_l1.copy_(W_xh2.T), rnn.weight_hh_l1.copy_(W_hh2.T)
        rnn.bias_ih_l1.copy_(b_h2), rnn.bias_hh_l1.zero_()
        out, h_n = rnn(inputs, torch.stack(state))
        expected = out.reshape(-1, 4) @ W_hq + b_q
        got, (H1, H2) = rnn_2_reference(inputs, state, params)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(torch.stack([H1, H2]), h_n, atol=1e-6)


def test_each_mistake_is_a_distinct_change_of_the_reference():
    variants = [variant for variant, _ in MISTAKES]
    assert Rnn2Variant() not in variants and len(set(variants)) == len(variants)


def test_rnn_2_every_classic_mistake_differs_from_the_reference():
    """Otherwise a mistake could never be told apart (or a right answer could be flagged)."""
    for case in (rnn_2_case(5, 4, 3, 2, 0), rnn_2_case(4, 4, 3, 2, 1)):
        reference, _ = rnn_2_reference(*case)
        for variant, _ in MISTAKES:
            try:
                wrong, _ = rnn_2_reference(*case, variant)
            except RuntimeError:
                continue
            assert not torch.allclose(wrong, reference, atol=1e-3), variant

