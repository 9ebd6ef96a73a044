"""Ways to combine members' probabilities: the mean, a majority vote, greedy selection.

Members are stacked as probabilities (M, N, C): M members, N samples, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainlab.ensemble.metrics import EPS

NLL_TOLERANCE = 1e-9  # nats: a smaller NLL decrease is rounding, not an improvement
GREEDY_METRICS = ("accuracy", "nll")  # what greedy selection maximises / minimises on val


def mean_probs(members: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The lecture's ensemble: (weighted) mean of the members' probabilities, (N, C) float64.

    Args:
        members: (M, N, C) probabilities.
        weights: (M,) non-negative weights, e.g. greedy selection counts; None = equal.
    """
    members = members.double()
    if weights is None:
        return members.mean(dim=0)
    weights = weights.double()
    if weights.shape != members.shape[:1] or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be M={members.shape[0]} non-negative numbers, not all 0")
    return torch.einsum("m,mnc->nc", weights / weights.sum(), members)


def majority_vote(members: torch.Tensor) -> torch.Tensor:
    """The class most members predict, (N,); a tie goes to the highest summed probability."""
    num_classes = members.shape[-1]
    votes = torch.nn.functional.one_hot(members.argmax(dim=-1), num_classes).sum(dim=0)  # (N, C)
    tied = votes == votes.max(dim=-1, keepdim=True).values  # (N, C) the classes with most votes
    summed = members.double().sum(dim=0)  # (N, C)
    return summed.masked_fill(~tied, float("-inf")).argmax(dim=-1)


@dataclass(frozen=True)
class GreedySelection:
    """Outcome of :func:`greedy_select`.

    Attributes:
        counts: how often each member was picked (M,); the ensemble weights.
        picks: member indices in the order they were added.
        val_acc, val_nll: the selected ensemble's scores on the selection split.
        stopped: "no_improvement" or "max_steps".
    """

    counts: tuple[int, ...]
    picks: tuple[int, ...]
    val_acc: float
    val_nll: float
    stopped: str


def greedy_select(
    members: torch.Tensor, labels: torch.Tensor, max_steps: int, metric: str = "accuracy"
) -> GreedySelection:
    """Forward selection with replacement (Caruana et al., 2004) on a validation split.

    Start from the empty ensemble; at each step add the member whose addition gives the
    averaged probabilities the best score, and stop when no addition improves on the
    current ensemble, or after `max_steps` additions. Ties go to the lower index (the
    better manifest rank).

    With `metric="accuracy"` (the default, since the stage reports accuracy) the score is
    the number of correct samples, ties broken by the lower NLL: an accuracy plateau,
    frequent on a small val split, cannot tell mixtures apart, the NLL can; an equal count
    with an NLL lower by more than NLL_TOLERANCE counts as an improvement. With
    `metric="nll"` the score is the NLL alone (smoother, less prone to fit val noise).

    Args:
        members: (M, N, C) validation probabilities.
        labels: (N,) validation labels.
        max_steps: the most additions (>= 1).
        metric: "accuracy" or "nll".
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if metric not in GREEDY_METRICS:
        raise ValueError(f"metric must be one of {GREEDY_METRICS}, got {metric!r}")
    members = members.double()
    count_m, samples, _ = members.shape
    counts = [0] * count_m
    picks: list[int] = []
    total = torch.zeros_like(members[0])  # (N, C) sum of the picked members' probabilities
    best: tuple[int, float] | None = None  # (correct samples, nll) of the current ensemble
    stopped = "max_steps"
    for _ in range(max_steps):
        candidates = (total.unsqueeze(0) + members) / (len(picks) + 1)  # (M, N, C)
        correct = (candidates.argmax(dim=-1) == labels).sum(dim=1).tolist()  # (M,)
        picked = candidates.gather(-1, labels.expand(count_m, samples).unsqueeze(-1))
        losses = (-picked.squeeze(-1).clamp_min(EPS).log().mean(dim=1)).tolist()  # (M,)
        if metric == "accuracy":
            choice = min(range(count_m), key=lambda m: (-correct[m], losses[m], m))
        else:
            choice = min(range(count_m), key=lambda m: (losses[m], -correct[m], m))
        score = (correct[choice], losses[choice])
        if best is not None and not _improves(score, best, metric):
            stopped = "no_improvement"
            break
        best = score
        counts[choice] += 1
        picks.append(choice)
        total += members[choice]
    assert best is not None  # the first step always adds a member
    return GreedySelection(
        counts=tuple(counts),
        picks=tuple(picks),
        val_acc=best[0] / samples,
        val_nll=best[1],
        stopped=stopped,
    )


def _improves(score: tuple[int, float], best: tuple[int, float], metric: str) -> bool:
    correct, loss = score
    lower_loss = loss < best[1] - NLL_TOLERANCE
    if metric == "nll":
        return lower_loss
    return correct > best[0] or (correct == best[0] and lower_loss)
