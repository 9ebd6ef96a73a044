"""`reports/ensemble.json`, typed: its one owner, for the ensemble stage and every reader.

Accuracies are fractions of the test split (val where named), gains are percentage points
over the best single member chosen on validation, NLL in nats, ECE in [0, 1]. Pydantic only,
so the claims and report stages read it without torch.
"""

from __future__ import annotations

from trainlab.stagefile import StageFile

STAGE = "ensemble"  # `dvc repro ensemble` writes the file
ARTIFACT = "ensemble.json"  # the same file, on the stage's MLflow run


class MemberScore(StageFile):
    """One loaded member, scored again on this data (the manifest's numbers beside)."""

    rank: int
    run_id: str
    trial: int | None
    cell: str | None
    checkpoint: str
    val_acc: float
    test_acc: float
    nll: float
    ece: float
    manifest_val_acc: float | None  # as the search recorded it
    manifest_test_acc: float | None


class Used(StageFile):
    """A size asked for in params.yaml and the one used (at most the manifest's members)."""

    requested: int
    used: int


class GainInterval(StageFile):
    """A gain's interval: paired over the same test images (trainlab.stats.paired)."""

    low_points: float
    high_points: float
    confidence: float
    p_value: float  # McNemar's exact test of "no difference"
    method: str
    # The fewest seeds on a side (independent ensembles, best-single seeds) the interval
    # includes; 1: conditional on the trained models, so the claim is never decided from it.
    seeds: int = 1


class MeanEnsemble(StageFile):
    """The lecture's ensemble: the mean of the top-k members' probabilities."""

    acc: float
    val_acc: float
    nll: float
    ece: float
    gain_points: float  # over the best single member by val accuracy
    gain_interval: GainInterval  # of gain_points
    gain_points_vs_best_test: float  # over the best single member by test accuracy
    members: tuple[str, ...]  # their MLflow run ids


class Single(StageFile):
    """The best single member by one split (what one would deploy without an ensemble)."""

    rank: int
    run_id: str
    val_acc: float
    acc: float  # test accuracy
    nll: float
    ece: float


class BestSingle(StageFile):
    by_val: Single  # the baseline of every gain
    by_test: Single  # for reference only: chosen on the test split


class Vote(StageFile):
    acc: float
    gain_points: float
    gain_interval: GainInterval


class Pick(StageFile):
    rank: int
    run_id: str
    count: int  # how often greedy selection picked it: its weight


class Greedy(StageFile):
    """Greedy forward selection on val (Caruana et al., 2004)."""

    acc: float
    val_acc: float
    val_nll: float
    nll: float
    gain_points: float
    gain_interval: GainInterval
    criterion: str  # what scored a mixture, in words
    stopped: str  # "no_improvement" or "max_steps"
    steps: int
    selection: tuple[Pick, ...]


class Diversity(StageFile):
    disagreement: float  # mean over member pairs of the share of differing argmaxes
    members: int


class DataInfo(StageFile):
    dataset: str
    fingerprint: str
    val_size: int
    test_size: int


class SeedDraw(StageFile):
    """One seed's ensemble: the top cells' trials at that seed (search/ensemble_seeds.py)
    and its combinations, against the best cell's trial at the same seed."""

    seed: int
    members: tuple[str, ...]  # MLflow run ids, by the cells' rank (the first: best cell)
    best_acc: float  # the best cell's trial at this seed, test accuracy
    mean_acc: float  # the mean of the members' probabilities
    vote_acc: float
    greedy_acc: float  # greedy selection on val among this seed's members
    greedy_picks: tuple[Pick, ...]


class Combined(StageFile):
    """One combination over the seeds: mean test accuracy and the mean gain over the best
    recipe at the matching seed, with the seed x image interval of that gain."""

    acc: float
    gain_points: float
    gain_interval: GainInterval


# A per-seed ensemble's test predictions in models/ensemble/test_predictions.npz (the
# leaderboard's ensemble rows): e.g. mean@s1.
SEED_KEY = "{combination}@s{seed}"


class OverSeeds(StageFile):
    """Ensembles whose members come from different seeds: one per seed of `stats.seeds`,
    each compared with the best recipe (cell) at the same seed. The interval of the mean gain
    is paired_difference's two-level bootstrap (seeds resampled per side, test images jointly),
    so it includes the training randomness: what claim 7 and the `ens_gain` metric use."""

    cells: tuple[str, ...]  # the top `ensemble.top_k` cells, the best (the baseline) first
    best_cell: str
    best_recipe_acc: float  # the best cell's test accuracy, mean over the seeds
    draws: tuple[SeedDraw, ...]
    mean: Combined  # the lecture's ensemble
    vote: Combined
    greedy: Combined  # per seed, greedy selection among that seed's members (its pool)
    method: str


class EnsembleSummary(StageFile):
    """reports/ensemble.json.

    `ensemble`, `best_single`, `vote` and `greedy` are ONE draw: the search's ranked top-k
    checkpoints (whatever seeds they have) against the best checkpoint (the best recipe's best
    seed), what the leaderboard's ensemble rows score. `over_seeds` holds the ensembles built
    per seed; when present it decides (`gain`): claim 7, the `ens_gain` metric, the report.
    """

    members: tuple[MemberScore, ...]  # every loaded member, by rank
    top_k: Used
    greedy_pool: Used
    notes: tuple[str, ...]  # what the reader should know (sizes capped, numbers that differ)
    ensemble: MeanEnsemble
    best_single: BestSingle
    vote: Vote
    greedy: Greedy
    diversity: Diversity
    study: str
    search_parent_run_id: str
    data: DataInfo
    mlflow_run_id: str | None  # None only before the run is tracked
    over_seeds: OverSeeds | None = None  # None: no per-seed ensembles in the manifest (tpe)

    @property
    def gain(self) -> tuple[float, GainInterval]:
        """The mean-probability ensemble's gain (pp) and its interval, as decided: over the
        seeds when the stage built per-seed ensembles, else the one draw (seeds = 1)."""
        if self.over_seeds is not None:
            return self.over_seeds.mean.gain_points, self.over_seeds.mean.gain_interval
        return self.ensemble.gain_points, self.ensemble.gain_interval

    def metrics(self) -> dict[str, float]:
        """The DVC metrics (metrics/ensemble.json): the mean-probability ensemble's gain
        in test accuracy over the best single recipe, pp, mean over the seeds (`gain`; its
        interval: ensemble.json)."""
        return {"ens_gain": self.gain[0]}

    @property
    def averaged(self) -> tuple[MemberScore, ...]:
        """The members the mean-probability ensemble averaged (the top-k by rank)."""
        return self.members[: self.top_k.used]
