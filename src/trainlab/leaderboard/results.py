"""What the leaderboard stage writes, typed: its one owner, for the stage and the report.

`reports/leaderboard.json` is a :class:`LeaderboardFile`:
- `rows`: the best single recipe (the cell chosen on validation, over the seeds the search
  trained it at), each ensemble (mean probability, vote, greedy) and each pretrained baseline
  trained on the whole train split the grid used, at `stats.seeds` seeds; each scored on the
  same test images, its accuracy the mean over its seeds with a seed x image interval, and its
  paired seed x image difference from the best single recipe;
- `headline`: the declared row `base_vs` reports (:class:`Headline`);
- `curve`: test accuracy against labelled train images, for the best recipe and each
  baseline, at every `leaderboard.fractions` of the train split;
- `crossovers`: per baseline, where (at how many labelled images) it beats the recipe.

Accuracies are fractions, differences percentage points. Pydantic only (the report reads it
without torch).
"""

from __future__ import annotations

from trainlab.search.results import BEST_RECIPE
from trainlab.stagefile import StageFile

STAGE = "leaderboard"  # `dvc repro leaderboard` writes these files
# The row every difference is measured from: the best recipe, its cell's mean over the seeds
# the search trained it at (the search's trial with the best validation accuracy names the
# cell), so the one name the report uses for it (search.results owns the names).
BEST_SINGLE = BEST_RECIPE
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
    test_acc: float  # mean over its seeds
    # The accuracy's interval at `confidence`: seed x image bootstrap (Clopper-Pearson for one
    # seed)
    test_low: float
    test_high: float
    diff_points: float  # test_acc - the best single recipe's, pp, on the same images
    diff_low: float  # its paired seed x image interval, pp
    diff_high: float
    diff_p: float  # "no difference": McNemar's exact (one seed a side), else bootstrap Wald
    # The model's seeds (trained models) its row rests on; a difference with one seed on a
    # side is never decided: `standing` then says "inconclusive (one seed)".
    seeds: int = 1
    standing: str = ""  # vs the best single recipe: one of `STANDINGS`; "" in an older file
    train_acc: float | None  # final train accuracy (None: an ensemble has no one train run)
    gap_acc: float | None  # train_acc - test_acc
    # Mean over seeds (the best single recipe: its chosen trial's, the only one whose
    # probabilities the ensemble stage kept); None: the vote names classes, no probabilities
    ece: float | None
    nll: float | None
    params: int  # trainable and frozen, every member's for an ensemble
    # what training one of it cost (a mean over seeds; an ensemble: its members' trainings)
    train_seconds: float
    images_per_second: float  # inference on the test images, batch as the stages predict
    run_id: str | None  # its (first seed's) MLflow run (the ensemble's run for the combinations)


class CurvePoint(StageFile):
    """One model at one number of labelled train images."""

    model: str  # "best recipe" or "<backbone> <mode>"
    fraction: float
    images: int
    test_acc: float  # mean over its seeds
    test_low: float  # seed x image interval (Clopper-Pearson for one seed)
    test_high: float
    seeds: int = 1  # its trainings
    train_seconds: float  # one training's, mean over the seeds
    run_id: str | None  # the first seed's


class Headline(StageFile):
    """What the DVC metric `base_vs` is, declared before the run (not the best of noisy rows):
    `model` (`LeaderboardConfig.headline_baseline`) minus the best single recipe, on the whole
    train split, means over seeds, with the seed x image paired interval."""

    model: str
    diff_points: float
    diff_low: float
    diff_high: float
    seeds: int  # the fewest of a side (one: never decided)
    standing: str  # one of `STANDINGS`


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
    seeds: tuple[int, ...] = ()  # the fewest of a side at each size ("": an older file)


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
    seeds: int = 1  # `stats.seeds`: trainings of each baseline and curve point
    rows: tuple[Row, ...]  # by test accuracy, best first
    headline: Headline | None = None  # what `base_vs` is; None: an older file
    curve: tuple[CurvePoint, ...]
    crossovers: tuple[Crossover, ...]
    notes: tuple[str, ...]
    seconds: float
    mlflow_run_id: str | None  # None only before the run is tracked

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/leaderboard.json): the declared baseline (`headline`, the
        first backbone fine-tuned on the whole train split) minus the best single recipe, mean
        over seeds, pp (`base_vs`; its interval: `headline` in leaderboard.json)."""
        return {"base_vs": None if self.headline is None else self.headline.diff_points}
