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

Import from the modules (`from trainlab.stats.paired import paired_difference`): like every
package here, this one imports nothing on its own.

Calibration (ECE) and NLL live in `trainlab.ensemble.metrics` (torch), not here.
"""
