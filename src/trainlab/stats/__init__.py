"""Statistics with a stated confidence: intervals, paired comparisons, verdicts, racing.

A pure package: numpy and scipy only (no torch, Lightning, MLflow or pandas), so every stage
and the report can use it on plain arrays. Every interval and test comes from scipy where
scipy has it; every result is a frozen dataclass that carries its confidence (default 0.95)
and a one-line `method` text for the report.

Map:
    intervals  `Interval`; `mean_interval` (t or BCa over seeds/pairs; none from one value),
               `accuracy` (the one count / size), `accuracy_interval` (Clopper-Pearson/Wilson)
    paired     `paired_difference` of two classifiers or recipes on the same test images
               (image bootstrap + McNemar exact; seed x image bootstrap with several seeds),
               `mcnemar_exact`, `as_correctness`
    best       `not_distinguishable_from_best`: best on validation, each recipe vs it on test,
               Holm-adjusted -> `BestSet`; `holm`, `adjust`
    verdict    `judge` / `judge_effect` one effect against a threshold -> `EffectVerdict`;
               `judge_conditions` / `combine` per condition under an 'all'/'any'/'majority'
               rule -> `OverallVerdict`
    racing     `race`: which cells get another round of seeds (validation only) -> `RaceDecision`

Calibration (ECE) and NLL live in `trainlab.ensemble.metrics` (torch), not here.
"""

from trainlab.stats.best import (
    MULTIPLICITY,
    BestSet,
    RecipeVsBest,
    adjust,
    holm,
    not_distinguishable_from_best,
)
from trainlab.stats.intervals import (
    DEFAULT_CONFIDENCE,
    Interval,
    accuracy,
    accuracy_interval,
    check_confidence,
    mean_interval,
    percent,
)
from trainlab.stats.paired import PairedDifference, as_correctness, mcnemar_exact, paired_difference
from trainlab.stats.racing import RaceCell, RaceDecision, race, welch_interval
from trainlab.stats.verdict import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDS,
    RULES,
    VERDICTS,
    EffectVerdict,
    OverallVerdict,
    combine,
    condition_confidence,
    judge,
    judge_conditions,
    judge_effect,
)

__all__ = [
    "DEFAULT_CONFIDENCE", "HOLDS", "INCONCLUSIVE", "MULTIPLICITY", "NOT_HOLDS", "RULES",
    "VERDICTS", "BestSet", "EffectVerdict", "Interval", "OverallVerdict", "PairedDifference",
    "RaceCell", "RaceDecision", "RecipeVsBest", "accuracy", "accuracy_interval", "adjust",
    "as_correctness", "check_confidence", "combine", "condition_confidence", "holm", "judge",
    "judge_conditions", "judge_effect", "mcnemar_exact", "mean_interval",
    "not_distinguishable_from_best", "paired_difference", "percent", "race", "welch_interval",
]
