"""`reports/claims.json` (DVC metrics of the claims stage), typed: its one owner.

One :class:`Entry` per lecture claim (the keys of :data:`trainlab.claims.catalogue.CLAIMS`),
each with its verdict, the numbers it follows from, and the data the report draws
(`details`, one model per claim). Accuracies are fractions, differences percentage points
(pp). Pydantic only, so the report reads it without torch or MLflow.
"""

from __future__ import annotations

from typing import Any, Literal

from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, PENDING
from trainlab.stagefile import StageFile

STAGE = "claims"  # `dvc repro claims` writes the file
# Literal of the status constants (one owner: claims.verdict); mypy reads only literal values.
Status = Literal[HOLDS, NOT_HOLDS, INCONCLUSIVE, PENDING]  # type: ignore[valid-type]
Numbers = dict[str, float | None]  # label (units included, e.g. "gain pp") -> value


class Band(StageFile):
    """A value per layer (or epoch): its mean over seeds and the standard deviation."""

    mean: list[float | None]
    sd: list[float | None]


class SaturationDetails(StageFile):
    """Claim 1: per activation, the gradient norm per layer at `init` and `trained`
    (geometric mean over seeds; sd in decades)."""

    grad_norm: dict[str, dict[Literal["init", "trained"], Band]]
    seeds: int


class ZeroCentredDetails(StageFile):
    """Claim 2: per activation, the mean output of each hidden layer."""

    layer_mean: dict[str, Band]


class ConvergenceDetails(StageFile):
    """Claim 3: mean train accuracy per measurement and activation."""

    threshold: float
    mean_curve: dict[str, list[float | None]]
    epochs: list[float]  # when each measurement was taken (fractions of epochs)


class DeadUnits(StageFile):
    """Claim 4: one activation at one learning rate, over seeds."""

    activation: str
    lr: float
    runs: int
    diverged: int
    dead_mean: float | None  # None: every run diverged
    dead_sd: float
    inactive_mean: float | None


class DyingReluDetails(StageFile):
    by_lr: list[DeadUnits]


class PreprocessingDetails(StageFile):
    """Claim 5: test accuracy at the best val epoch, per mode and seed."""

    test_acc: dict[str, list[float | None]]


class EarlyStoppingDetails(StageFile):
    """Claim 6: val and test accuracy per epoch, one list per run."""

    val_acc: list[list[float]]
    test_acc: list[list[float]]


class EnsembleDetails(StageFile):
    """Claim 7: the averaged members' test accuracies."""

    member_test_acc: list[float]


class PresetPairs(StageFile):
    """Claim 8: one preset paired with `none` (same other axes and seed), one value a pair."""

    axis: Literal["regularization", "augmentation"]
    pairs: int
    shrink: list[float]  # gap of none minus the preset's, pp
    test_change: list[float]  # test accuracy of the preset minus none's, pp
    baseline_gap: list[float]  # none's own train-test gap in those pairs, pp


class RegularizationDetails(StageFile):
    presets: dict[str, PresetPairs]


class TransferDetails(StageFile):
    """Claim 9: gain over scratch (pp) per `backbone/mode` and target size, smallest first."""

    gain_points: dict[str, dict[str, float]]


class ConditionResult(StageFile):
    """One condition of a claim (an activation, a mode, a preset, a backbone/mode): its
    effect with its interval, the verdict, and its cost where the claim has one."""

    effect: float
    low: float | None  # None: no interval (one value)
    high: float | None
    n: int  # seeds, pairs or test images the interval rests on
    method: str
    status: Literal[HOLDS, NOT_HOLDS, INCONCLUSIVE]  # type: ignore[valid-type]
    reason: str
    cost: float | None  # e.g. the test-accuracy change of a regularizer, pp
    cost_low: float | None
    cost_high: float | None


class Entry(StageFile):
    """One claim: the lecture's words, its experiment, the verdict and why, per condition."""

    number: int
    claim: str
    experiment: str
    status: Status
    reason: str
    rule: str
    confidence: float | None  # of every interval of the verdict; None while pending
    conditions: dict[str, ConditionResult]
    numbers: Numbers
    context: Numbers  # related numbers from other stages (not part of the rule)


class SaturationEntry(Entry):
    details: SaturationDetails


class ZeroCentredEntry(Entry):
    details: ZeroCentredDetails


class ConvergenceEntry(Entry):
    details: ConvergenceDetails


class DyingReluEntry(Entry):
    details: DyingReluDetails


class PreprocessingEntry(Entry):
    details: PreprocessingDetails


class EarlyStoppingEntry(Entry):
    details: EarlyStoppingDetails


# Claims 7-9 judge other stages' files: no details while pending.
class EnsembleEntry(Entry):
    details: EnsembleDetails | None


class RegularizationEntry(Entry):
    details: RegularizationDetails | None


class TransferEntry(Entry):
    details: TransferDetails | None


class Verdicts(StageFile):
    """Every claim, by key (the keys of `catalogue.CLAIMS`, in their order; a test
    checks the two agree)."""

    saturation: SaturationEntry
    zero_centred: ZeroCentredEntry
    convergence: ConvergenceEntry
    dying_relu: DyingReluEntry
    preprocessing: PreprocessingEntry
    early_stopping: EarlyStoppingEntry
    ensemble: EnsembleEntry
    regularization: RegularizationEntry
    transfer: TransferEntry

    def entries(self) -> dict[str, Entry]:
        return dict(iter(self))


class Tally(StageFile):
    """How many claims got each status."""

    holds: int
    does_not_hold: int
    inconclusive: int
    pending: int


class Seconds(StageFile):
    total: float
    gradient: float  # claims 1-2
    convergence: float
    preprocessing: float
    dead_units: float
    early_stopping: float


class DataInfo(StageFile):
    dataset: str
    fingerprint: str
    preprocessing: str


class EvidenceFiles(StageFile):
    """The other stages' files the claims read (as given to the stage)."""

    search_trials: str
    ensemble: str
    transfer: str


class ClaimsFile(StageFile):
    """reports/claims.json."""

    claims: Verdicts
    summary: Tally
    seconds: Seconds
    seeds: list[int]
    data: DataInfo
    experiments: dict[str, Any]  # the `claims` params that ran (typed by trainlab.config)
    rules: dict[str, Any]  # `claims.rules` (typed by trainlab.config)
    evidence: EvidenceFiles
    mlflow_run_id: str | None  # None only before the run is tracked

    def metrics(self) -> dict[str, int]:
        """The DVC metrics (metrics/claims.json): claims by verdict."""
        tally = self.summary
        return {"holds": tally.holds, "fails": tally.does_not_hold,
                "open": tally.inconclusive + tally.pending}
