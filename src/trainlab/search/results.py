"""What the search stage writes, typed: its one owner, for the search and every reader.

- `reports/search_trials.csv`: one :class:`TrialRow` per trial of the current params
  (interrupted attempts included); accuracies are fractions, `best_epoch` counts from 1,
  `gap_acc` is final train accuracy minus test accuracy, `gap_loss` test loss minus final
  train loss.
- `reports/search.json` (DVC metrics): a :class:`SearchSummary`: the best recipe, trials by
  state, wall time, the cells not distinguishable from the best, what racing spent.
- `reports/search_cells.csv`: one :class:`CellStanding` per grid cell: its seeds' scores with
  intervals, and its test difference from the best cell on the same images.
- `models/search/manifest.json`: a :class:`Manifest`, the top-k COMPLETE trials by val
  accuracy for the ensemble stage (checkpoint paths relative to the project root), and per
  seed of `stats.seeds` the top `ensemble.top_k` cells' trials at that seed.

Pydantic only, so the ensemble, claims and report stages read these without torch or MLflow.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from trainlab.stagefile import StageFile

STAGE = "search"  # `dvc repro search` writes these files
# What "best recipe" means in every stage file, the report and the terminal (one owner): the
# cell chosen on validation, its test accuracy the mean over its seeds with the seed x image
# interval. A number of one trained model of it is named BEST_SEED, never "best recipe".
BEST_RECIPE = "best recipe"
# The best cell's checkpoint with the best val accuracy; slug-friendly (an MLflow metric key
# of the leaderboard: best_recipe_best_seed/test_acc).
BEST_SEED = "best recipe (best seed)"
# An Optuna trial state, by name (optuna.trial.TrialState).
TrialState = Literal["RUNNING", "WAITING", "COMPLETE", "PRUNED", "FAIL"]


class Recipe(StageFile):
    """One trial's recipe and scores: the best trial of search.json, a manifest member."""

    trial: int
    run_id: str | None  # its MLflow run
    cell: str | None  # "activation|regularization|augmentation" (+ "|preprocessing")
    activation: str | None
    regularization: str | None
    augmentation: str | None
    preprocessing: str | None
    seed: int | None
    val_acc: float | None  # best val accuracy (Optuna's objective value)
    test_acc: float | None  # of the best (val) snapshot


class TrialRow(StageFile):
    """One line of search_trials.csv."""

    trial: int
    cell: str | None
    activation: str | None
    regularization: str | None
    augmentation: str | None
    preprocessing: str | None
    seed: int | None
    state: TrialState
    val_acc: float | None
    test_acc: float | None
    final_train_acc: float | None
    gap_acc: float | None
    gap_loss: float | None
    epochs_run: int | None
    best_epoch: int | None  # from 1
    seconds: float | None
    run_id: str | None
    fail_reason: str | None
    checkpoint: str | None  # the trial's best snapshot (COMPLETE trials), project-relative
    test_correct: str | None  # its correctness per test image (trainlab.correctness), beside it
    # ... per validation image (racing's paired test); None: trained by an older trainlab
    val_correct: str | None = None

    def recipe(self) -> Recipe:
        return Recipe.model_validate(self.model_dump(include=set(Recipe.model_fields)))


class TrialCounts(StageFile):
    """Trials by state; `fail` are real failures (diverged, errors), `interrupted` were
    retried (their worker stopped), `unfinished` still RUNNING or WAITING."""

    complete: int
    pruned: int
    fail: int
    interrupted: int
    unfinished: int
    total: int


class CellStanding(StageFile):
    """One line of reports/search_cells.csv: a grid cell over its seeds, with intervals at the
    summary's confidence (trainlab.stats), and where it stands against the best cell."""

    cell: str
    activation: str | None
    regularization: str | None
    augmentation: str | None
    preprocessing: str | None
    rank: int  # by mean validation accuracy, 1 = the best
    seeds: int  # COMPLETE trials (seeds) of the cell
    raced_seeds: int  # of which racing added
    val_mean: float
    val_low: float | None  # t-interval over seeds; None with one seed
    val_high: float | None
    test_mean: float
    test_low: float | None  # over seeds (t), or with one seed over the test images (binomial)
    test_high: float | None
    test_interval: str  # which of the two, in words
    gap_mean: float | None  # final train accuracy - test accuracy
    gap_low: float | None
    gap_high: float | None
    vs_best: float | None  # test accuracy (cell - best) on the same images; None: the best
    vs_best_low: float | None  # its interval at vs_best_confidence: the one in_best_set
    vs_best_high: float | None  # was decided with (in the set exactly when high >= 0)
    vs_best_confidence: float | None = None  # Holm's step-down level of that interval
    p_adjusted: float | None  # the comparison's p-value after the multiplicity adjustment
    best: bool
    in_best_set: bool | None  # not distinguishable from the best; None: not compared


class BestSet(StageFile):
    """The cells not distinguishable from the best (trainlab.stats.best)."""

    best: str  # chosen on validation
    cells: tuple[str, ...]  # the best first, then the others not told apart from it
    compared: int  # cells compared with the best (those with per-image test results)
    method: str  # one line: how the best was chosen and the set decided


class RaceRound(StageFile):
    """One racing round: the cells not yet told apart from the leader that got seeds."""

    round: int  # from 1
    leader: str
    cells: tuple[str, ...]
    seeds: tuple[int, ...]  # the seeds each of them added


class RaceSummary(StageFile):
    """What racing spent and why it stopped."""

    rounds: tuple[RaceRound, ...]
    extra_trials: int
    stopped: str  # why the race ended, in words
    method: str


class SearchSummary(StageFile):
    """reports/search.json."""

    best: Recipe | None  # the best COMPLETE trial by val accuracy (ties: the earlier)
    best_val_acc: float | None
    best_test_acc: float | None
    trials: TrialCounts
    study: str
    sampler: str
    n_cells: int
    n_trials_expected: int
    wall_seconds: float
    train_seconds: float  # the trials' own seconds, summed
    parent_run_id: str
    config_id: str  # what decides this search's results (search_hash): one MLflow parent each
    confidence: float  # of every interval in search_cells.csv and the best set
    best_set: BestSet | None  # None: no cell with per-image test results
    race: RaceSummary | None  # None: racing off (or the tpe sampler)
    best_gap_acc: float | None  # the best trial's final train accuracy - test accuracy
    # The BEST_RECIPE: the cell first on mean validation accuracy, over its seeds, with its
    # intervals (its line of search_cells.csv). None: no COMPLETE trial, or an older file.
    best_recipe: CellStanding | None = None

    def metrics(self) -> dict[str, float | int | None]:
        """The DVC metrics (metrics/search.json), declared: the BEST_RECIPE's test accuracy
        and train-test gap, means over its seeds (their intervals: `best_recipe`), not the
        best one trial's, a maximum over trials that a rerun would not reach again (the best
        trial's numbers stay in the file as `best_test_acc`, `best_gap_acc`).

        Every stage's metric names differ (acc, best, ens_gain ...): `dvc exp show` labels a
        column by its file only when two files share a name, and those labels are 30 wide."""
        if self.best_recipe is not None:
            return {"best": round(self.best_recipe.test_mean, 4),
                    "best_gap": None if self.best_recipe.gap_mean is None
                    else round(self.best_recipe.gap_mean, 4)}
        return {"best": self.best_test_acc, "best_gap": self.best_gap_acc}


class Member(Recipe):
    """One kept checkpoint of the search (a recipe with its rank and checkpoint)."""

    rank: Annotated[int, Field(ge=1)]  # 1 = best val accuracy
    run_id: Annotated[str, Field(min_length=1)]
    val_acc: float
    checkpoint: Annotated[str, Field(min_length=1)]  # models/search/rank{r}_trial{n}.ckpt


class SeedEnsemble(StageFile):
    """The top `ensemble.top_k` cells' trials at one seed (search/ensemble_seeds.py): one
    ensemble of the ensemble stage; rank 1 is the best cell, the single recipe it is compared
    with at the same seed."""

    seed: int
    members: tuple[Member, ...]


class Manifest(StageFile):
    """models/search/manifest.json."""

    study: str
    parent_run_id: Annotated[str, Field(min_length=1)]
    requested_top_k: int  # search.top_k (fewer members when fewer trials completed)
    members: tuple[Member, ...]
    # One ensemble per seed of stats.seeds (members from different seeds than the others');
    # empty: the tpe sampler, or a manifest of an older trainlab (one ensemble, one draw).
    seed_ensembles: tuple[SeedEnsemble, ...] = ()
