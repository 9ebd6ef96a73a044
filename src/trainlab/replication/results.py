"""`reports/replication.json` (and the DVC metric `agreement`), typed: its one owner.

Every verdict two runs of the pipeline reach, side by side: the claims and their conditions
(claims.json), the leaderboard's rows and crossovers (leaderboard.json), the best recipe
(search.json), each with whether the two agree and, if not, how it flipped; and the two best
sets' Jaccard similarity. Pydantic only, so the report reads it without torch or MLflow.
"""

from __future__ import annotations

from typing import Literal

from trainlab.stagefile import StageFile

STAGE = "replicate"  # `trainlab replicate` writes it; no dvc.yaml stage (README "Replication")
OUT = "reports/replication.json"
COMMAND = "trainlab replicate --seed 1"  # what makes it (the report's hint)
METRICS = "metrics/replication.json"
# How a verdict that does not agree changed from run a to run b:
OPPOSITE = "opposite"  # decided one way, then the other (holds <-> does not hold, ahead <-> behind)
LOST = "decided -> undecided"  # b no longer decides what a decided
GAINED = "undecided -> decided"
CHANGED = "changed"  # a categorical verdict (the best recipe, a crossover's size) differs
MISSING = "missing"  # in one run only
FLIPS = (OPPOSITE, LOST, GAINED, CHANGED, MISSING)
Kind = Literal["claim", "condition", "leaderboard", "crossover", "best recipe"]


class Pair(StageFile):
    """One verdict in the two runs."""

    kind: Kind
    key: str  # the claim key, "claim / condition", the row's or baseline's name
    a: str | None  # the verdict as run a's file states it; None: not in that run
    b: str | None
    agree: bool
    flip: str | None  # one of FLIPS when they do not agree


class Run(StageFile):
    """One of the two runs: its project directory and base seed (None: not recorded)."""

    path: str
    seed: int | None


class BestSets(StageFile):
    a: tuple[str, ...]  # the cells not distinguishable from the best, the best first
    b: tuple[str, ...]
    jaccard: float | None  # |a & b| / |a | b|; None: a run has no best set


class Replication(StageFile):
    """reports/replication.json."""

    a: Run  # the project's own run
    b: Run  # the replication
    pairs: tuple[Pair, ...]
    total: int
    agree: int
    flips: dict[str, int]  # FLIPS -> how many verdicts flipped that way
    best_sets: BestSets
    unread: tuple[str, ...]  # files a run lacks (their verdicts are not compared), with why

    @property
    def agreement(self) -> float | None:
        """The fraction of verdicts that agree; None with none compared."""
        return self.agree / self.total if self.total else None

    @property
    def flipped(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if not p.agree)

    def flip_counts(self) -> dict[str, int]:
        """The flips by kind, only those that happened (the terminal and the report)."""
        return {kind: n for kind, n in self.flips.items() if n}

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/replication.json)."""
        return {"agreement": self.agreement}
