"""Scores of predicted probabilities: NLL, calibration and members' diversity (accuracy is
:func:`trainlab.models.scoring.accuracy`).

Every function takes probabilities (N, C) or stacked members (M, N, C), rows summing to 1,
and labels (N,) int64. Sums run in float64 so results do not depend on the member order.
"""

from __future__ import annotations

import itertools

import torch

EPS = 1e-12  # floor of a probability before its log: a confident mistake costs ~27.6 nats


def nll(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood (nats) of the labels."""
    picked = probs.double().gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return -picked.clamp_min(EPS).log().mean().item()


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> float:
    """ECE (Guo et al., 2017) over `bins` equal-width bins of the max probability.

    Bin b holds the confidences in ((b-1)/bins, b/bins] (the first one also holds 0);
    ECE = sum_b |B_b| / N * |accuracy(B_b) - mean confidence(B_b)|, in [0, 1].
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    confidence, predicted = probs.double().max(dim=-1)  # (N,), (N,)
    correct = (predicted == labels).double()
    inner_edges = torch.arange(1, bins, dtype=torch.float64) / bins  # (bins - 1,)
    index = torch.bucketize(confidence, inner_edges, right=False)  # (N,) in [0, bins)
    count = torch.bincount(index, minlength=bins).double()
    conf_sum = torch.bincount(index, weights=confidence, minlength=bins)
    correct_sum = torch.bincount(index, weights=correct, minlength=bins)
    # |sum(correct) - sum(conf)| / N per bin equals |B| / N * |acc(B) - conf(B)|.
    gap = (correct_sum - conf_sum).abs() / count.sum()
    return gap.sum().item()


def disagreement(members: torch.Tensor) -> float:
    """Mean over member pairs of the fraction of samples whose argmax differs.

    Args:
        members: (M, N, C) probabilities; one member (no pair) gives 0.
    """
    predicted = members.argmax(dim=-1)  # (M, N)
    pairs = list(itertools.combinations(range(predicted.shape[0]), 2))
    if not pairs:
        return 0.0
    rates = [(predicted[i] != predicted[j]).double().mean().item() for i, j in pairs]
    return sum(rates) / len(rates)
