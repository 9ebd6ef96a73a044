"""Accuracy, NLL, ECE and disagreement against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from trainlab.ensemble.metrics import disagreement, expected_calibration_error, nll
from trainlab.models.scoring import accuracy

# 4 samples, 3 classes: confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.4 (wrong).
PROBS = torch.tensor([[0.9, 0.05, 0.05], [0.2, 0.8, 0.0], [0.6, 0.3, 0.1], [0.4, 0.35, 0.25]])
LABELS = torch.tensor([0, 0, 0, 1])


def test_accuracy_and_nll_by_hand():
    assert accuracy(PROBS, LABELS) == pytest.approx(0.5)
    expected = -(math.log(0.9) + math.log(0.2) + math.log(0.6) + math.log(0.35)) / 4
    assert nll(PROBS, LABELS) == pytest.approx(expected, rel=1e-6)


def test_nll_of_a_zero_probability_is_finite():
    assert nll(torch.tensor([[1.0, 0.0]]), torch.tensor([1])) == pytest.approx(-math.log(1e-12))


def test_ece_by_hand():
    # 4 bins of width 0.25:
    # (0.75, 1]: 0.9 right, 0.8 wrong -> |0.5 - 0.85| * 2/4 = 0.175
    # (0.5, 0.75]: 0.6 right           -> |1 - 0.6| * 1/4  = 0.1
    # (0.25, 0.5]: 0.4 wrong           -> |0 - 0.4| * 1/4  = 0.1
    assert expected_calibration_error(PROBS, LABELS, bins=4) == pytest.approx(0.375)
    # One bin: |accuracy - mean confidence| = |0.5 - 0.675|.
    assert expected_calibration_error(PROBS, LABELS, bins=1) == pytest.approx(0.175)


def test_ece_bins_are_closed_on_the_right():
    # 2 bins. Confidence exactly 0.5 (wrong) belongs to (0, 0.5]: |0 - 0.5| * 1/3;
    # 1.0 and 0.9 (both right) to (0.5, 1]: |1 - 0.95| * 2/3. ECE = (0.5 + 0.1) / 3 = 0.2.
    # (Were 0.5 put in the upper bin, it would be |2/3 - 0.8| = 0.1333.)
    probs = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.9, 0.1]])
    assert expected_calibration_error(probs, torch.tensor([1, 0, 0]), bins=2) == pytest.approx(0.2)


def test_perfectly_calibrated_predictions_have_zero_ece():
    # Confidence 0.75 in every sample and 3 of 4 right.
    probs = torch.tensor([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, torch.tensor([0, 0, 0, 1]), bins=10) == 0.0


def test_disagreement_by_hand():
    # Argmaxes A [0, 1, 2, 0], B [0, 1, 1, 0], C [1, 1, 2, 2]:
    # AB differ on 1 of 4, AC on 2 of 4, BC on 3 of 4 -> mean 0.5.
    preds = torch.tensor([[0, 1, 2, 0], [0, 1, 1, 0], [1, 1, 2, 2]])
    members = torch.nn.functional.one_hot(preds, 3).float() * 0.5 + 1 / 6
    assert disagreement(members) == pytest.approx(0.5)


def test_disagreement_of_one_or_identical_members_is_zero():
    assert disagreement(PROBS.unsqueeze(0)) == 0.0
    assert disagreement(PROBS.expand(3, -1, -1)) == 0.0
