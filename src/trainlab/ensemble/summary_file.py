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


class EnsembleSummary(StageFile):
    """reports/ensemble.json."""

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

    def metrics(self) -> dict[str, float]:
        """The DVC metrics (metrics/ensemble.json): the mean-probability ensemble's gain
        in test accuracy over the best single model, pp (its interval: ensemble.json)."""
        return {"ens_gain": self.ensemble.gain_points}

    @property
    def averaged(self) -> tuple[MemberScore, ...]:
        """The members the mean-probability ensemble averaged (the top-k by rank)."""
        return self.members[: self.top_k.used]
