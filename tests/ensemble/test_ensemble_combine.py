"""Mean of probabilities, majority vote and greedy selection on hand-made members."""

from __future__ import annotations

import pytest
import torch

from trainlab.ensemble.combine import greedy_select, majority_vote, mean_probs
from trainlab.models.scoring import accuracy

# 3 members x 4 samples x 3 classes.
MEMBERS = torch.tensor(
    [
        # sample 0: two members lean weakly to 0, one is sure of 1 -> vote 0, mean 1.
        # sample 1: every member votes differently -> tie, summed probs [1.05, 0.95, 1.0] -> 0.
        # sample 2: all agree on 2.
        # sample 3: two vote 1, one votes 0 -> vote 1, mean [0.4, 0.5, 0.1] -> 1.
        [[0.40, 0.35, 0.25], [0.50, 0.30, 0.20], [0.1, 0.2, 0.7], [0.2, 0.7, 0.1]],
        [[0.40, 0.35, 0.25], [0.20, 0.45, 0.35], [0.2, 0.1, 0.7], [0.2, 0.6, 0.2]],
        [[0.00, 1.00, 0.00], [0.35, 0.20, 0.45], [0.3, 0.1, 0.6], [0.8, 0.2, 0.0]],
    ]
)


def test_mean_probs_by_hand():
    mean = mean_probs(MEMBERS)
    expected = torch.tensor(
        [
            [0.8 / 3, 1.7 / 3, 0.5 / 3],
            [1.05 / 3, 0.95 / 3, 1.0 / 3],
            [0.6 / 3, 0.4 / 3, 2.0 / 3],
            [1.2 / 3, 1.5 / 3, 0.3 / 3],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(mean, expected)
    assert mean.argmax(dim=1).tolist() == [1, 0, 2, 1]


def test_majority_vote_by_hand_differs_from_the_mean():
    assert majority_vote(MEMBERS).tolist() == [0, 0, 2, 1]


def test_vote_tie_goes_to_the_highest_summed_probability():
    # Two members, two classes, one vote each: summed probabilities [0.9, 1.1] -> class 1.
    members = torch.tensor([[[0.6, 0.4]], [[0.3, 0.7]]])
    assert majority_vote(members).tolist() == [1]
    assert majority_vote(members.flip(-1)).tolist() == [0]


def test_weighted_mean_counts_repeated_members():
    weighted = mean_probs(MEMBERS, torch.tensor([2, 0, 1]))
    torch.testing.assert_close(weighted, (2 * MEMBERS[0] + MEMBERS[2]).double() / 3)
    with pytest.raises(ValueError, match="non-negative"):
        mean_probs(MEMBERS, torch.tensor([0, 0, 0]))


def test_identical_members_average_to_the_member():
    members = MEMBERS[0].expand(5, -1, -1)
    torch.testing.assert_close(mean_probs(members), MEMBERS[0].double())
    assert majority_vote(members).tolist() == MEMBERS[0].argmax(dim=1).tolist()


def test_greedy_picks_the_member_perfect_on_val_and_stops():
    labels = torch.tensor([0, 1, 2, 0])
    perfect = torch.tensor(
        [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9], [0.9, 0.05, 0.05]]
    )
    half = torch.tensor([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]])
    constant = torch.full((4, 3), 1 / 3) + torch.tensor([0.01, 0.0, -0.01])
    members = torch.stack([half, constant, perfect])  # the perfect one ranks last
    selection = greedy_select(members, labels, max_steps=10)
    assert selection.counts == (0, 0, 1)
    assert selection.picks == (2,)
    assert selection.val_acc == 1.0 and selection.stopped == "no_improvement"


def test_greedy_adds_a_complementary_member():
    # A and B are each right on half of the samples; their mean is right on all of them.
    # Step 1: all score 2/4; A has the lowest NLL. Step 2: A+B scores 4/4. Step 3: 2A+B,
    # A+2B and A+B+C keep 4/4 but raise the NLL (0.4443, 0.4493, 0.5073 vs 0.4417 nats).
    labels = torch.tensor([0, 1, 0, 1])
    a = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.45, 0.55], [0.55, 0.45]])
    b = torch.tensor([[0.45, 0.55], [0.55, 0.45], [0.9, 0.1], [0.25, 0.75]])
    c = torch.tensor([[0.6, 0.4]] * 4)
    selection = greedy_select(torch.stack([a, b, c]), labels, max_steps=10)
    assert selection.picks == (0, 1)
    assert selection.counts == (1, 1, 0)
    assert selection.val_acc == 1.0 and selection.stopped == "no_improvement"
    assert accuracy(a, labels) == accuracy(b, labels) == 0.5


def test_greedy_picks_with_replacement():
    # Two classes, every label 0; p(class 0) per sample for members A and B:
    a = torch.tensor([0.4, 0.9, 0.7, 0.45])
    b = torch.tensor([0.9, 0.35, 0.2, 0.8])
    # Step 1: both 2/4 right; NLL A 0.544 < B 0.747 -> A.  Step 2: A+B 3/4 (sample 3: 0.45).
    # Step 3: 2A+B 4/4 (A+2B 3/4) -> A again.  Step 4: 3A+B 4/4 with NLL 0.5224 < 0.5244
    # -> A.  Step 5: 4A+B has NLL 0.5234 (and A+B 3/4) -> stop.
    members = torch.stack([torch.stack([p, 1 - p], dim=1) for p in (a, b)])
    selection = greedy_select(members, torch.zeros(4, dtype=torch.long), max_steps=50)
    assert selection.picks == (0, 1, 0, 0)
    assert selection.counts == (3, 1)
    assert selection.val_acc == 1.0 and selection.stopped == "no_improvement"
    assert selection.val_nll == pytest.approx(0.5224, abs=1e-4)

    capped = greedy_select(members, torch.zeros(4, dtype=torch.long), max_steps=2)
    assert capped.picks == (0, 1) and capped.stopped == "max_steps"
    assert capped.val_acc == 0.75
    with pytest.raises(ValueError, match="max_steps"):
        greedy_select(members, torch.zeros(4, dtype=torch.long), 0)


def test_greedy_metric_nll_starts_from_the_best_calibrated_member():
    # Two classes, every label 0. A: 3 of 4 right but sure of its mistake (NLL 1.535);
    # B: 2 of 4 right, never far off (NLL 0.511).
    a = torch.tensor([0.6, 0.6, 0.6, 0.01])
    b = torch.tensor([0.9, 0.9, 0.45, 0.4])
    members = torch.stack([torch.stack([p, 1 - p], dim=1) for p in (a, b)])
    labels = torch.zeros(4, dtype=torch.long)
    by_accuracy = greedy_select(members, labels, max_steps=10, metric="accuracy")
    by_nll = greedy_select(members, labels, max_steps=10, metric="nll")
    assert by_accuracy.picks[0] == 0 and by_nll.picks[0] == 1
    assert by_nll.val_nll < 0.511  # it only adds what lowers the NLL
    with pytest.raises(ValueError, match="metric must be one of"):
        greedy_select(members, labels, 1, metric="auc")
