"""What the leaderboard stage writes, typed: its one owner, for the stage and the report.

`reports/leaderboard.json` is a :class:`LeaderboardFile`:
- `rows`: the best single recipe (chosen on validation), each ensemble (mean probability,
  vote, greedy) and each pretrained baseline trained on the whole train split the grid used;
  each scored on the same test images, with its accuracy interval and its paired difference
  from the best single recipe;
- `curve`: test accuracy against labelled train images, for the best recipe and each
  baseline, at every `leaderboard.fractions` of the train split;
- `crossovers`: per baseline, where (at how many labelled images) it beats the recipe.

Accuracies are fractions, differences percentage points. Pydantic only (the report reads it
without torch).
"""

from __future__ import annotations

from trainlab.search.results import BEST_SEED
from trainlab.stagefile import StageFile

STAGE = "leaderboard"  # `dvc repro leaderboard` writes these files
# The row every difference is measured from: one checkpoint (the search's trial with the best
# validation accuracy), so named for what it is (search.results owns the names).
BEST_SINGLE = BEST_SEED
# A row's or a crossover size's standing against the best single recipe (from
# trainlab.stats.verdict.judge of its paired interval against 0, which never decides one seed).
AHEAD, BEHIND, NOT_DISTINGUISHABLE = "ahead", "behind", "not distinguishable"
ONE_SEED, REFERENCE = "inconclusive (one seed)", "reference"
STANDINGS = (AHEAD, BEHIND, NOT_DISTINGUISHABLE, ONE_SEED, REFERENCE)
ENSEMBLES = {  # the ensemble stage's combinations (trainlab.probabilities keys) -> row names
    "mean": "ensemble: mean probability",
    "vote": "ensemble: majority vote",
    "greedy": "ensemble: greedy selection",
}


class Row(StageFile):
    """One model of the leaderboard, scored on the prepared test split."""

    name: str  # "best single recipe", "ensemble: mean", "efficientnet_lite0 finetune" ...
    kind: str  # recipe | ensemble | baseline
    test_acc: float
    test_low: float  # the accuracy's interval (Clopper-Pearson) at `confidence`
    test_high: float
    diff_points: float  # test_acc - the best single recipe's, pp, on the same images
    diff_low: float  # its paired interval, pp
    diff_high: float
    diff_p: float  # McNemar's exact test of "no difference"
    # The model's seeds (trained models) its row rests on; a difference with one seed on a
    # side is never decided: `standing` then says "inconclusive (one seed)".
    seeds: int = 1
    standing: str = ""  # vs the best single recipe: one of `STANDINGS`; "" in an older file
    train_acc: float | None  # final train accuracy (None: an ensemble has no one train run)
    gap_acc: float | None  # train_acc - test_acc
    ece: float | None  # None: the vote names classes, no probabilities
    nll: float | None
    params: int  # trainable and frozen, every member's for an ensemble
    train_seconds: float  # what training it cost (an ensemble: its members' trainings)
    images_per_second: float  # inference on the test images, batch as the stages predict
    run_id: str | None  # its MLflow run (the ensemble's run for the combinations)


class CurvePoint(StageFile):
    """One model at one number of labelled train images."""

    model: str  # "best recipe" or "<backbone> <mode>"
    fraction: float
    images: int
    test_acc: float
    test_low: float
    test_high: float
    train_seconds: float
    run_id: str | None


class Crossover(StageFile):
    """A baseline against the best recipe at each number of labelled images, paired."""

    model: str
    sizes: tuple[int, ...]
    diff_points: tuple[float, ...]  # baseline - recipe, pp, at each size
    diff_low: tuple[float, ...]
    diff_high: tuple[float, ...]
    # The largest size up to which (from the smallest) the baseline is ahead, its interval
    # above 0 at every size; None: not ahead at the smallest.
    ahead_up_to: int | None
    verdict: str  # one sentence: where it is ahead, behind, not distinguishable


class LeaderboardFile(StageFile):
    """reports/leaderboard.json."""

    dataset: str
    fingerprint: str
    test_images: int
    train_images: int
    confidence: float
    # Which checkpoint the BEST_SINGLE row is: the search's trial with the best validation
    # accuracy ("maxout|none|none#s0, trial 12"), one seed, not its cell's mean over seeds.
    best_single: str
    method: str  # how the intervals were computed, in words
    rows: tuple[Row, ...]  # by test accuracy, best first
    curve: tuple[CurvePoint, ...]
    crossovers: tuple[Crossover, ...]
    notes: tuple[str, ...]
    seconds: float
    mlflow_run_id: str | None  # None only before the run is tracked

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/leaderboard.json): the best baseline's test accuracy
        minus the best single recipe's, pp (`base_vs`; intervals: leaderboard.json)."""
        baselines = [row for row in self.rows if row.kind == "baseline"]
        best = max(baselines, key=lambda row: row.test_acc, default=None)
        return {"base_vs": best.diff_points if best else None}
