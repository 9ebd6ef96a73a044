"""`reports/claims.json` (DVC metrics of the claims stage), typed: its one owner.

One :class:`Entry` per lecture claim, keyed by the keys of
:data:`trainlab.claims.catalogue.CLAIMS`, each with its verdict, the numbers it follows from,
and the data the report draws (`details`, one :class:`Details` subclass per claim, which
names its key). Accuracies are fractions, differences percentage points
(pp). Pydantic only, so the report reads it without torch or MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import SerializeAsAny, field_validator

from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, PENDING
from trainlab.stagefile import StageFile

STAGE = "claims"  # `dvc repro claims` writes the file
# Literal of the status constants (one owner: claims.verdict); mypy reads only literal values.
Status = Literal[HOLDS, NOT_HOLDS, INCONCLUSIVE, PENDING]  # type: ignore[valid-type]
Numbers = dict[str, float | None]  # label (units included, e.g. "gain pp") -> value


class Details(StageFile):
    """A claim's data for the report (`details` of its entry): one subclass per claim, named
    by `key` (its key in the catalogue and claims.json), which types that entry's details."""

    key: ClassVar[str]


class Band(StageFile):
    """A value per layer (or epoch): its mean over seeds and the standard deviation."""

    mean: list[float | None]
    sd: list[float | None]


class SaturationDetails(Details):
    """Claim 1: per activation, the gradient norm per layer at `init` and `trained`
    (geometric mean over seeds; sd in decades)."""

    key = "saturation"

    grad_norm: dict[str, dict[Literal["init", "trained"], Band]]
    seeds: int


class ZeroCentredDetails(Details):
    """Claim 2: per activation, the mean output of each hidden layer."""

    key = "zero_centred"

    layer_mean: dict[str, Band]


class ConvergenceDetails(Details):
    """Claim 3: mean train accuracy per measurement and activation."""

    key = "convergence"

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


class DyingReluDetails(Details):
    key = "dying_relu"

    by_lr: list[DeadUnits]


class PreprocessingDetails(Details):
    """Claim 5: test accuracy at the best val epoch, per mode and seed."""

    key = "preprocessing"

    test_acc: dict[str, list[float | None]]


class EarlyStoppingDetails(Details):
    """Claim 6: val and test accuracy per epoch, one list per run."""

    key = "early_stopping"

    val_acc: list[list[float]]
    test_acc: list[list[float]]


class EnsembleDetails(Details):
    """Claim 7: the averaged members' test accuracies."""

    key = "ensemble"

    member_test_acc: list[float]


class PresetPairs(StageFile):
    """Claim 8: one preset paired with `none` (same other axes and seed), one value a pair."""

    axis: Literal["regularization", "augmentation"]
    pairs: int
    shrink: list[float]  # gap of none minus the preset's, pp
    test_change: list[float]  # test accuracy of the preset minus none's, pp
    baseline_gap: list[float]  # none's own train-test gap in those pairs, pp


class RegularizationDetails(Details):
    key = "regularization"

    presets: dict[str, PresetPairs]


class TransferDetails(Details):
    """Claim 9: gain over scratch (pp) per `backbone/mode` and target size, smallest first."""

    key = "transfer"

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
    # Typed by the claim's Details subclass (ClaimsFile picks it by key); None: claims 7-9
    # while pending. SerializeAsAny: written with that subclass's fields, not the base's none.
    details: SerializeAsAny[Details] | None


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

    claims: dict[str, Entry]  # by the catalogue's keys, in its order
    summary: Tally
    seconds: Seconds
    seeds: list[int]
    data: DataInfo
    experiments: dict[str, Any]  # the `claims` params that ran (typed by trainlab.config)
    rules: dict[str, Any]  # `claims.rules` (typed by trainlab.config)
    evidence: EvidenceFiles
    mlflow_run_id: str | None  # None only before the run is tracked

    @field_validator("claims", mode="before")
    @classmethod
    def _typed_details(cls, claims: Any) -> Any:
        """Each entry's details read by its claim's Details subclass; a missing or unknown
        claim is an error (a file from another version of the catalogue)."""
        if not isinstance(claims, Mapping):
            return claims  # pydantic says what it expected
        models = {model.key: model for model in Details.__subclasses__()}
        if missing := [key for key in models if key not in claims]:
            raise ValueError(f"no entry for claim {', '.join(missing)}")
        if unknown := [key for key in claims if key not in models]:
            raise ValueError(f"unknown claim {', '.join(map(repr, unknown))}; claims: "
                             f"{', '.join(models)}")
        typed = {}
        for key, model in models.items():  # the claims' order (the file's keys are sorted)
            entry = claims[key]
            details = entry.get("details") if isinstance(entry, Mapping) else None
            typed[key] = entry if details is None or isinstance(details, Details) else {
                **entry, "details": model.model_validate(details)}
        return typed

    def metrics(self) -> dict[str, int]:
        """The DVC metrics (metrics/claims.json): claims by verdict."""
        tally = self.summary
        return {"holds": tally.holds, "fails": tally.does_not_hold,
                "open": tally.inconclusive + tally.pending}
