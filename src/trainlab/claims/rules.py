"""The verdict rules of the lecture's claims: one pure function per claim, numbers -> Verdict.

Every rule reads plain numbers (per seed, per pair of runs, per test image) and its thresholds
from `claims.rules` in params.yaml, judges each effect by its interval at `confidence`
(`stats.confidence`; :mod:`trainlab.claims.verdict`), and returns a
:class:`~trainlab.claims.verdict.Verdict` whose reason quotes the numbers the status follows
from. Accuracies arrive as fractions; differences of accuracies are percentage points (pp).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from trainlab.claims.verdict import (
    INCONCLUSIVE,
    NOT_HOLDS,
    Verdict,
    each_confidence,
    effect,
    finite,
    fmt,
    interval_rule,
    overall,
    single,
)
from trainlab.config.claims import (
    ConvergenceRule,
    DeadUnitsRule,
    EarlyStoppingRule,
    EnsembleRule,
    PreprocessingRule,
    RegularizationRule,
    SaturationRule,
    TransferRule,
    ZeroCentredRule,
)
from trainlab.stats.intervals import Interval, mean_interval
from trainlab.stats.verdict import EffectVerdict, judge

TINY_RATIO = 1e-30  # a gradient ratio that underflowed to 0 counts as this (30 orders)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = finite(values)
    return statistics.fmean(kept) if kept else None


def _missing(needed: Sequence[str], present: Mapping[str, object], key: str) -> str | None:
    absent = [name for name in needed if name not in present]
    return (f"the experiment needs {', '.join(absent)} in claims.{key}" if absent else None)


def _inconclusive(reason: str, numbers: Mapping, rule: str, confidence: float) -> Verdict:
    return Verdict(INCONCLUSIVE, reason, dict(numbers), rule, {}, confidence)


def saturation(
    ratios: Mapping[str, Sequence[float]],
    saturated: Mapping[str, Sequence[float]],
    derivative: Mapping[str, Sequence[float]],
    rule: SaturationRule,
    confidence: float,
) -> Verdict:
    """Claim 1 from the deep MLP's first/last gradient-norm ratio per activation and seed."""
    what = "log10(relu's first/last gradient ratio / sigmoid's)"
    text = interval_rule(what, rule.min_orders, confidence, "seeds", " orders")
    numbers: dict[str, float | None] = {
        f"first/last ratio {act}": _geomean(values) for act, values in ratios.items()}
    if problem := _missing(("sigmoid", "relu"), ratios, "gradient.activations"):
        return _inconclusive(problem, numbers, text, confidence)
    orders = [math.log10(max(r, TINY_RATIO)) - math.log10(max(s, TINY_RATIO))
              for r, s in zip(ratios["relu"], ratios["sigmoid"], strict=True)]
    verdict = effect(orders, rule.min_orders, confidence, unit="orders")
    numbers["orders relu over sigmoid"] = verdict.interval.estimate
    sat, slope = _mean(saturated.get("sigmoid", [])), _mean(derivative.get("sigmoid", []))
    numbers["sigmoid saturated fraction"] = sat
    numbers["sigmoid mean derivative"] = slope
    out = single("relu vs sigmoid", verdict, what="relu's first/last ratio over sigmoid's",
                 numbers=numbers, rule=text, confidence=confidence)
    return _with_reason(out, out.reason + (
        f". Sigmoid: {fmt(100 * sat if sat is not None else None, 1)}% of outputs saturated, "
        f"mean σ'(z) = {fmt(slope, 3)} per layer (never above 0.25), so each layer shrinks "
        "the gradient"))


def _with_reason(verdict: Verdict, reason: str, status: str | None = None) -> Verdict:
    return Verdict(status or verdict.status, reason, verdict.numbers, verdict.rule,
                   verdict.conditions, verdict.confidence)


def _geomean(values: Sequence[float]) -> float | None:
    kept = [max(v, TINY_RATIO) for v in finite(values)]
    return math.exp(statistics.fmean(math.log(v) for v in kept)) if kept else None


def zero_centred(
    layer_means: Mapping[str, Sequence[Sequence[float]]], rule: ZeroCentredRule,
    confidence: float,
) -> Verdict:
    """Claim 2 from the mean activation of each hidden layer, per activation and seed."""
    text = (interval_rule("sigmoid's mean |layer mean| minus tanh's", rule.min_offset,
                          confidence, "seeds")
            + f"; and tanh's mean |layer mean| ≤ {rule.max_centred:g}, else does not hold")
    level = {act: [statistics.fmean(abs(m) for m in layers) for layers in seeds if layers]
             for act, seeds in layer_means.items()}
    numbers: dict[str, float | None] = {
        f"mean abs layer mean {act}": _mean(values) for act, values in level.items()}
    if problem := _missing(("sigmoid", "tanh"), layer_means, "gradient.activations"):
        return _inconclusive(problem, numbers, text, confidence)
    offsets = [s - t for s, t in zip(level["sigmoid"], level["tanh"], strict=True)]
    out = single("sigmoid vs tanh", effect(offsets, rule.min_offset, confidence),
                 what="sigmoid's mean |layer mean| minus tanh's", numbers=numbers, rule=text,
                 confidence=confidence)
    tanh = _mean(level["tanh"])
    if tanh is not None and tanh > rule.max_centred:
        return _with_reason(out, f"tanh's outputs are not zero-centred here: mean |layer "
                                 f"mean| {fmt(tanh, 3)} > {rule.max_centred:g}; {out.reason}",
                            NOT_HOLDS)
    return out


Point = tuple[float, float, float]  # (epoch, seconds of training, train accuracy)


def crossing(points: Sequence[Point], threshold: float) -> Point | None:
    """The first measurement whose train accuracy reached `threshold` (None: never)."""
    return next((p for p in points if p[2] >= threshold), None)


def convergence(
    curves: Mapping[str, Sequence[Sequence[Point]]], epochs: int, rule: ConvergenceRule,
    confidence: float,
) -> Verdict:
    """Claim 3 from train-accuracy curves per activation and seed (relu is the baseline),
    judged per other activation (the conditions).

    The speedup of a seed is epochs(other) / epochs(relu) to reach `rule.train_acc`; an
    activation that never reached it counts `epochs` (a lower bound on its speedup).
    """
    threshold = rule.train_acc
    text = (interval_rule(f"epochs to reach train accuracy {threshold:g}, other activation / "
                          "relu (paired by seed)", rule.min_speedup, confidence, "seeds", "x")
            + f"; per activation, overall rule '{rule.overall}' (a run that never reaches the "
            f"threshold counts its epoch budget, a lower bound). The lecture's example: "
            f"{rule.lecture_speedup:g}x")
    cross = {act: [crossing(c, threshold) for c in seeds] for act, seeds in curves.items()}
    numbers: dict[str, float | None] = {}
    for act, points in cross.items():
        numbers[f"epochs to {threshold:g} {act}"] = _mean([p[0] if p else None for p in points])
        numbers[f"seconds to {threshold:g} {act}"] = _mean([p[1] if p else None for p in points])
    if problem := _missing(("relu",), curves, "convergence.activations"):
        return _inconclusive(problem, numbers, text, confidence)
    if not any(cross["relu"]):
        return _inconclusive(f"relu never reached train accuracy {threshold:g} within {epochs} "
                             "epochs: lower claims.rules.convergence.train_acc or raise "
                             "claims.convergence.epochs", numbers, text, confidence)
    others = [act for act in cross if act != "relu"]
    if not others:
        return _inconclusive("only relu was trained: add sigmoid/tanh to "
                             "claims.convergence.activations", numbers, text, confidence)
    each = each_confidence(confidence, len(others))
    verdicts: dict[str, EffectVerdict] = {}
    notes: list[str] = []
    for act in others:
        speedups, censored = [], 0
        for relu, other in zip(cross["relu"], cross[act], strict=True):
            if relu is None:
                continue
            censored += other is None
            speedups.append((other[0] if other else epochs) / relu[0])
        verdict = effect(speedups, rule.min_speedup, each, unit="x")
        numbers[f"speedup over {act}"] = verdict.interval.estimate
        if censored and verdict.status == NOT_HOLDS:  # a lower bound cannot refute
            verdict = EffectVerdict(INCONCLUSIVE, verdict.interval, verdict.threshold,
                                    verdict.direction, verdict.reason + f" ({act} never reached "
                                    f"{threshold:g} in {censored} seed(s): a lower bound)")
        verdicts[act] = verdict
    numbers["lecture speedup"] = rule.lecture_speedup
    return overall(verdicts, rule.overall, confidence, numbers=numbers, rule_text=text,
                   notes=notes)


def dead_units(
    dead: Mapping[str, Mapping[float, Sequence[float | None]]], rule: DeadUnitsRule,
    confidence: float,
) -> Verdict:
    """Claim 4 from dead-unit fractions per activation, learning rate and seed (None: the run
    diverged, nothing to measure)."""
    text = (interval_rule("relu's dead fraction at its worst learning rate",
                          rule.min_relu_dead, confidence, "seeds")
            + f"; and every other activation's mean dead fraction ≤ {rule.max_other_dead:g} "
            "at every learning rate, else does not hold")
    if problem := _missing(("relu",), dead, "dead_units.activations"):
        return _inconclusive(problem, {}, text, confidence)
    means = {lr: _mean(values) for lr, values in dead["relu"].items()}
    measured = {lr: m for lr, m in means.items() if m is not None}
    if not measured:
        return _inconclusive("every relu run diverged: nothing to measure; lower "
                             "claims.dead_units.lrs", {}, text, confidence)
    worst = max(measured, key=lambda lr: measured[lr])
    numbers: dict[str, float | None] = {"worst lr for relu": worst,
                                        "dead fraction relu": measured[worst]}
    out = single(f"relu at lr {worst:g}", effect(dead["relu"][worst], rule.min_relu_dead,
                                                 confidence),
                 what=f"relu's dead fraction at lr {worst:g}", numbers=numbers, rule=text,
                 confidence=confidence)
    died, alive = [], []
    for act, by_lr in dead.items():
        if act == "relu":
            continue
        others = {lr: m for lr, values in by_lr.items() if (m := _mean(values)) is not None}
        top = max(others, key=lambda lr: others[lr]) if others else None
        out.numbers[f"dead fraction {act}"] = others[top] if top is not None else None
        if top is not None and others[top] > rule.max_other_dead:
            died.append(f"{act} units died too ({fmt(100 * others[top], 1)}% at lr {top:g} > "
                        f"{100 * rule.max_other_dead:g}%)")
        elif top is not None:
            alive.append(f"{act} at most {fmt(100 * others[top], 1)}% dead")
    reason, status = out.reason, out.status
    diverged = sum(v is None for by_lr in dead.values() for vs in by_lr.values() for v in vs)
    if died:
        status, reason = NOT_HOLDS, "; ".join(died) + f"; {reason}"
    if alive:
        reason += f"; {', '.join(alive)}"
    if diverged:
        reason += f" ({diverged} run(s) diverged and are left out)"
    return _with_reason(out, reason, status)


def preprocessing(test_acc: Mapping[str, Sequence[float]], rule: PreprocessingRule,
                  confidence: float) -> Verdict:
    """Claim 5 from test accuracies per preprocessing mode and seed: every mode against none,
    paired by seed, one condition each."""
    text = (interval_rule("test accuracy of each mode minus none (paired by seed)",
                          rule.min_gain_points, confidence, "seeds", " pp")
            + f"; per mode, overall rule '{rule.overall}'")
    numbers: dict[str, float | None] = {f"test acc {m}": _mean(v) for m, v in test_acc.items()}
    if problem := _missing(("none",), test_acc, "preprocessing.modes"):
        return _inconclusive(problem, numbers, text, confidence)
    modes = [mode for mode in test_acc if mode != "none"]
    if not modes:
        return _inconclusive("only `none` was trained: add modes to claims.preprocessing.modes",
                             numbers, text, confidence)
    each = each_confidence(confidence, len(modes))
    verdicts = {}
    for mode in modes:
        gains = [100 * (a - b) for a, b in zip(test_acc[mode], test_acc["none"], strict=True)]
        verdicts[mode] = effect(gains, rule.min_gain_points, each, unit="pp")
        numbers[f"gain {mode} pp"] = verdicts[mode].interval.estimate
    return overall(verdicts, rule.overall, confidence, numbers=numbers, rule_text=text)


def early_stopping(
    runs: Sequence[tuple[Sequence[float], Sequence[float]]], rule: EarlyStoppingRule,
    confidence: float,
) -> Verdict:
    """Claim 6 from (val accuracy per epoch, test accuracy per epoch) of each run.

    The kept snapshot is the first epoch of highest val accuracy (as the checkpoint keeps it).
    """
    text = interval_rule("test accuracy at the best val epoch minus at the last epoch",
                         rule.min_gain_points, confidence, "runs", " pp")
    best = [max(range(len(val)), key=lambda e: (val[e], -e)) for val, _ in runs if val]
    gains = [100 * (test[b] - test[-1]) for b, (_, test) in zip(best, runs, strict=False)]
    numbers: dict[str, float | None] = {
        "best val epoch": _mean([b + 1 for b in best]),
        "epochs": _mean([len(val) for val, _ in runs]),
        "test acc at best val epoch": _mean([t[b] for b, (_, t) in zip(best, runs, strict=False)]),
        "test acc at last epoch": _mean([t[-1] for _, t in runs if t]),
        "gain pp": _mean(gains),
    }
    if best and all(b == len(val) - 1 for b, (val, _) in zip(best, runs, strict=False)):
        return _inconclusive(f"the validation accuracy peaked at the last epoch in all "
                             f"{len(best)} runs: nothing to stop early within the epoch budget "
                             "(raise claims.early_stopping.epochs)", numbers, text, confidence)
    return single("best snapshot vs last epoch",
                  effect(gains, rule.min_gain_points, confidence, unit="pp"),
                  what="test accuracy at the best val epoch minus at the last",
                  numbers=numbers, rule=text, confidence=confidence)


# The interval of the claims that compare trained models on the same test images.
SEED_IMAGE = "seed x image bootstrap interval"


def ensemble_rule(rule: EnsembleRule, confidence: float) -> str:
    return (interval_rule("the ensembles' gain over the best recipe (by val) at the same "
                          "seeds, one ensemble per seed of stats.seeds", rule.min_gain_points,
                          confidence, "the seeds and the same test images", " pp",
                          SEED_IMAGE)
            + f" (one seed: inconclusive; the lecture: about {rule.lecture_gain_points:g} pp)")


def ensemble(gain: Interval, rule: EnsembleRule, confidence: float,
             numbers: Mapping[str, float | None] | None = None) -> Verdict:
    """Claim 7 from the ensemble stage: its gain over the best recipe at the same seeds, with
    the interval the stage computed (seed x image: the training randomness included)."""
    out = dict(numbers or {}) | {"gain pp": gain.estimate,
                                 "lecture gain pp": rule.lecture_gain_points}
    return single("mean-probability ensemble", judge(gain, rule.min_gain_points, unit="pp"),
                  what="ensemble gain", numbers=out, rule=ensemble_rule(rule, confidence),
                  confidence=confidence)


def regularization_rule(rule: RegularizationRule, confidence: float) -> str:
    return (interval_rule("gap shrink of each preset vs none (paired trials)",
                          rule.min_shrink_points, confidence, "pairs", " pp")
            + f"; per preset, overall rule '{rule.overall}'; inconclusive when none's mean "
            f"train-test gap is below {rule.min_baseline_gap_points:g} pp (nothing to shrink); "
            "each preset's test-accuracy change (its cost) stands beside its gap effect")


def regularization(
    presets: Mapping[str, Mapping[str, Sequence[float | None]]], untested: Sequence[str],
    rule: RegularizationRule, confidence: float,
) -> Verdict:
    """Claim 8 from paired search trials: per preset, the gap of `none` minus the preset's
    (same other recipe axes and seed) in points, and the test-accuracy change (the cost)."""
    text = regularization_rule(rule, confidence)
    numbers: dict[str, float | None] = {}
    if not presets:
        return _inconclusive("the search grid has no regularization or augmentation preset "
                             "besides none (and paired trials of both)", numbers, text,
                             confidence)
    each = each_confidence(confidence, len(presets))
    verdicts, costs = {}, {}
    baseline = []
    for name, entry in presets.items():
        verdicts[name] = effect(entry["shrink"], rule.min_shrink_points, each, unit="pp")
        costs[name] = mean_interval(finite(entry["test_change"]), each) \
            if finite(entry["test_change"]) else None
        baseline += finite(entry.get("baseline_gap", []))
        numbers[f"gap shrink {name} pp"] = verdicts[name].interval.estimate
        numbers[f"test change {name} pp"] = _mean(entry["test_change"])
    gap = _mean(baseline)
    numbers["baseline gap pp"] = gap
    notes = [f"not in the grid, untested: {', '.join(untested)}"] if untested else []
    out = overall(verdicts, rule.overall, confidence, numbers=numbers, rule_text=text,
                  costs={k: v for k, v in costs.items() if v is not None}, notes=notes)
    if gap is not None and gap < rule.min_baseline_gap_points:
        return _with_reason(out, f"no gap worth shrinking: without regularization the mean "
                                 f"train-test gap is {fmt(gap)} pp, below "
                                 f"{rule.min_baseline_gap_points:g} pp (train longer or on less "
                                 f"data to test the claim); {out.reason}", INCONCLUSIVE)
    return out


def transfer_rule(rule: TransferRule, confidence: float) -> str:
    return (interval_rule("per backbone x mode: (gain over scratch at the smallest target "
                          "size) minus (at the largest), mean over the cells' seeds",
                          rule.min_diff_points, confidence,
                          "each cell's seeds and the target test images", " pp", SEED_IMAGE)
            + f" (so is one seed a cell); overall rule '{rule.overall}' over backbone x mode")


def transfer(diffs: Mapping[str, Interval | Sequence[float]],
             gains: Mapping[str, Mapping[str, float]], rule: TransferRule, confidence: float,
             seeds: int = 1) -> Verdict:
    """Claim 9, per `backbone/mode`: `diffs` holds the difference of gains in points
    (pretrained minus scratch at the smallest size, minus the same at the largest): its seed
    x image interval, drawn at `each_confidence` (`evidence.transfer_differences`; it carries
    its seeds), or per-image values (a t-interval over the images, `seeds` trainings a cell);
    `gains` the gain over scratch per target size (smallest first), for the numbers. A
    condition without per-image results has one value: inconclusive. With one seed a cell,
    every condition is "one seed", undecided."""
    text = transfer_rule(rule, confidence)
    numbers: dict[str, float | None] = {}
    for name, by_size in gains.items():
        for size, gain in by_size.items():
            numbers[f"gain {name} at {size} pp"] = gain
    if not diffs:
        return _inconclusive("needs pretrained and scratch cells at two or more target sizes "
                             "(transfer.sizes, transfer.modes)", numbers, text, confidence)
    each = each_confidence(confidence, len(diffs))
    verdicts = {name: judge(values, rule.min_diff_points, unit="pp")
                if isinstance(values, Interval)
                else effect(values, rule.min_diff_points, each, unit="pp", seeds=seeds)
                for name, values in diffs.items()}
    for name, verdict in verdicts.items():
        numbers[f"small minus large {name} pp"] = verdict.interval.estimate
    return overall(verdicts, rule.overall, confidence, numbers=numbers, rule_text=text)
