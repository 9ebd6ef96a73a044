"""The verdict rules of the lecture's claims: one pure function per claim, numbers -> Verdict.

Every rule reads plain numbers (per seed, per pair of runs, per member) and its thresholds
from `claims.rules` in params.yaml, and returns a :class:`~trainlab.claims.verdict.Verdict`
whose reason quotes the numbers the status follows from. Accuracies arrive as fractions;
differences of accuracies are reported in percentage points (pp).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from trainlab.claims.verdict import (
    HOLDS,
    INCONCLUSIVE,
    NOT_HOLDS,
    Interval,
    Verdict,
    combine,
    decide,
    finite,
    fmt,
    interval_rule,
    judge,
)
from trainlab.config import (
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

TINY_RATIO = 1e-30  # a gradient ratio that underflowed to 0 counts as this (30 orders)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = finite(values)
    return statistics.fmean(kept) if kept else None


def _missing(needed: Sequence[str], present: Mapping[str, object], key: str) -> str | None:
    absent = [name for name in needed if name not in present]
    return (f"the experiment needs {', '.join(absent)} in claims.{key}" if absent else None)


def saturation(
    ratios: Mapping[str, Sequence[float]],
    saturated: Mapping[str, Sequence[float]],
    derivative: Mapping[str, Sequence[float]],
    rule: SaturationRule,
    k: float,
) -> Verdict:
    """Claim 1 from the deep MLP's first/last gradient-norm ratio per activation and seed."""
    text = interval_rule("log10(relu's first/last gradient ratio / sigmoid's)",
                         rule.min_orders, k, "seeds", " orders")
    numbers: dict[str, float | None] = {
        f"first/last ratio {act}": _geomean(values) for act, values in ratios.items()}
    if problem := _missing(("sigmoid", "relu"), ratios, "gradient.activations"):
        return Verdict(INCONCLUSIVE, problem, numbers, text)
    orders = [math.log10(max(r, TINY_RATIO)) - math.log10(max(s, TINY_RATIO))
              for r, s in zip(ratios["relu"], ratios["sigmoid"], strict=True)]
    status, reason, band = decide(orders, rule.min_orders, k, unit=" orders",
                                  what="relu's first/last ratio over sigmoid's")
    numbers["orders relu over sigmoid"] = band.mean if band else None
    sat, slope = _mean(saturated.get("sigmoid", [])), _mean(derivative.get("sigmoid", []))
    numbers["sigmoid saturated fraction"] = sat
    numbers["sigmoid mean derivative"] = slope
    reason += (f". Sigmoid: {fmt(100 * sat if sat is not None else None, 1)}% of outputs "
               f"saturated, mean σ'(z) = {fmt(slope, 3)} per layer (never above 0.25), so "
               "each layer shrinks the gradient")
    return Verdict(status, reason, numbers, text)


def _geomean(values: Sequence[float]) -> float | None:
    kept = [max(v, TINY_RATIO) for v in finite(values)]
    return math.exp(statistics.fmean(math.log(v) for v in kept)) if kept else None


def zero_centred(
    layer_means: Mapping[str, Sequence[Sequence[float]]], rule: ZeroCentredRule, k: float
) -> Verdict:
    """Claim 2 from the mean activation of each hidden layer, per activation and seed."""
    text = (interval_rule("sigmoid's mean |layer mean| minus tanh's", rule.min_offset, k,
                          "seeds") + f"; and tanh's mean |layer mean| ≤ {rule.max_centred:g}, "
            "else does not hold")
    level = {act: [statistics.fmean(abs(m) for m in layers) for layers in seeds if layers]
             for act, seeds in layer_means.items()}
    numbers: dict[str, float | None] = {
        f"mean abs layer mean {act}": _mean(values) for act, values in level.items()}
    if problem := _missing(("sigmoid", "tanh"), layer_means, "gradient.activations"):
        return Verdict(INCONCLUSIVE, problem, numbers, text)
    offsets = [s - t for s, t in zip(level["sigmoid"], level["tanh"], strict=True)]
    status, reason, _ = decide(offsets, rule.min_offset, k, digits=3,
                               what="sigmoid's mean |layer mean| minus tanh's")
    tanh = _mean(level["tanh"])
    if tanh is not None and tanh > rule.max_centred:
        status = NOT_HOLDS
        reason = (f"tanh's outputs are not zero-centred here: mean |layer mean| "
                  f"{fmt(tanh, 3)} > {rule.max_centred:g}; {reason}")
    return Verdict(status, reason, numbers, text)


Point = tuple[float, float, float]  # (epoch, seconds of training, train accuracy)


def crossing(points: Sequence[Point], threshold: float) -> Point | None:
    """The first measurement whose train accuracy reached `threshold` (None: never)."""
    return next((p for p in points if p[2] >= threshold), None)


def convergence(
    curves: Mapping[str, Sequence[Sequence[Point]]], epochs: int, rule: ConvergenceRule,
    k: float,
) -> Verdict:
    """Claim 3 from train-accuracy curves per activation and seed (relu is the baseline).

    The speedup of a seed is epochs(other) / epochs(relu) to reach `rule.train_acc`; an
    activation that never reached it counts `epochs` (a lower bound on its speedup).
    """
    threshold = rule.train_acc
    text = (interval_rule("epochs to reach train accuracy "
                          f"{threshold:g}, other activation / relu (paired by seed)",
                          rule.min_speedup, k, "seeds", "x")
            + "; every other activation must hold (a run that never reaches the threshold "
            f"counts its epoch budget, a lower bound). The lecture's example: "
            f"{rule.lecture_speedup:g}x")
    cross = {act: [crossing(c, threshold) for c in seeds] for act, seeds in curves.items()}
    numbers: dict[str, float | None] = {}
    for act, points in cross.items():
        numbers[f"epochs to {threshold:g} {act}"] = _mean([p[0] if p else None for p in points])
        numbers[f"seconds to {threshold:g} {act}"] = _mean([p[1] if p else None for p in points])
    if problem := _missing(("relu",), curves, "convergence.activations"):
        return Verdict(INCONCLUSIVE, problem, numbers, text)
    if not any(cross["relu"]):
        return Verdict(INCONCLUSIVE, f"relu never reached train accuracy {threshold:g} within "
                       f"{epochs} epochs: lower claims.rules.convergence.train_acc or raise "
                       "claims.convergence.epochs", numbers, text)
    parts, reasons = {}, []
    for act, points in cross.items():
        if act == "relu":
            continue
        speedups, censored = [], 0
        for relu, other in zip(cross["relu"], points, strict=True):
            if relu is None:
                continue
            censored += other is None
            speedups.append((other[0] if other else epochs) / relu[0])
        status, reason, band = decide(speedups, rule.min_speedup, k, unit="x",
                                      what=f"{act}: speedup of relu")
        numbers[f"speedup over {act}"] = band.mean if band else None
        if censored and status != HOLDS:
            status = INCONCLUSIVE
            reason += (f" ({act} never reached {threshold:g} in {censored} seed(s): a lower "
                       "bound)")
        parts[act] = status
        reasons.append(f"{reason} → {status}")
    numbers["lecture speedup"] = rule.lecture_speedup
    if not parts:
        return Verdict(INCONCLUSIVE, "only relu was trained: add sigmoid/tanh to "
                       "claims.convergence.activations", numbers, text)
    return Verdict(combine(parts), "; ".join(reasons), numbers, text)


def dead_units(
    dead: Mapping[str, Mapping[float, Sequence[float | None]]], rule: DeadUnitsRule, k: float
) -> Verdict:
    """Claim 4 from dead-unit fractions per activation, learning rate and seed (None: the run
    diverged, nothing to measure)."""
    text = (interval_rule("relu's dead fraction at its worst learning rate",
                          rule.min_relu_dead, k, "seeds")
            + f"; and every other activation's mean dead fraction ≤ {rule.max_other_dead:g} "
            "at every learning rate, else does not hold")
    if problem := _missing(("relu",), dead, "dead_units.activations"):
        return Verdict(INCONCLUSIVE, problem, {}, text)
    means = {lr: _mean(values) for lr, values in dead["relu"].items()}
    measured = {lr: m for lr, m in means.items() if m is not None}
    if not measured:
        return Verdict(INCONCLUSIVE, "every relu run diverged: nothing to measure; lower "
                       "claims.dead_units.lrs", {}, text)
    worst = max(measured, key=lambda lr: measured[lr])
    status, reason, _ = decide(dead["relu"][worst], rule.min_relu_dead, k, digits=3,
                               what=f"relu's dead fraction at lr {worst:g}")
    numbers: dict[str, float | None] = {"worst lr for relu": worst,
                                        "dead fraction relu": measured[worst]}
    died, alive = [], []
    for act, by_lr in dead.items():
        if act == "relu":
            continue
        others = {lr: m for lr, values in by_lr.items() if (m := _mean(values)) is not None}
        top = max(others, key=lambda lr: others[lr]) if others else None
        numbers[f"dead fraction {act}"] = others[top] if top is not None else None
        if top is not None and others[top] > rule.max_other_dead:
            died.append(f"{act} units died too ({fmt(100 * others[top], 1)}% at lr {top:g} > "
                        f"{100 * rule.max_other_dead:g}%)")
        elif top is not None:
            alive.append(f"{act} at most {fmt(100 * others[top], 1)}% dead")
    diverged = sum(v is None for by_lr in dead.values() for vs in by_lr.values() for v in vs)
    if died:
        status, reason = NOT_HOLDS, "; ".join(died) + f"; {reason}"
    if alive:
        reason += f"; {', '.join(alive)}"
    if diverged:
        reason += f" ({diverged} run(s) diverged and are left out)"
    return Verdict(status, reason, numbers, text)


def preprocessing(test_acc: Mapping[str, Sequence[float]], rule: PreprocessingRule,
                  k: float) -> Verdict:
    """Claim 5 from test accuracies per preprocessing mode and seed: every mode against none,
    paired by seed; all modes must hold."""
    text = interval_rule("test accuracy of each mode minus none (paired by seed)",
                         rule.min_gain_points, k, "seeds", " pp") + "; every mode must hold"
    numbers: dict[str, float | None] = {f"test acc {m}": _mean(v) for m, v in test_acc.items()}
    if problem := _missing(("none",), test_acc, "preprocessing.modes"):
        return Verdict(INCONCLUSIVE, problem, numbers, text)
    parts, reasons = {}, []
    for mode, values in test_acc.items():
        if mode == "none":
            continue
        gains = [100 * (a - b) for a, b in zip(values, test_acc["none"], strict=True)]
        status, reason, band = decide(gains, rule.min_gain_points, k, unit=" pp",
                                      what=f"{mode} minus none")
        numbers[f"gain {mode} pp"] = band.mean if band else None
        parts[mode] = status
        reasons.append(f"{reason} → {status}")
    if not parts:
        return Verdict(INCONCLUSIVE, "only `none` was trained: add modes to "
                       "claims.preprocessing.modes", numbers, text)
    return Verdict(combine(parts), "; ".join(reasons), numbers, text)


def early_stopping(
    runs: Sequence[tuple[Sequence[float], Sequence[float]]], rule: EarlyStoppingRule, k: float
) -> Verdict:
    """Claim 6 from (val accuracy per epoch, test accuracy per epoch) of each run.

    The kept snapshot is the first epoch of highest val accuracy (as the checkpoint keeps it).
    """
    text = interval_rule("test accuracy at the best val epoch minus at the last epoch",
                         rule.min_gain_points, k, "runs", " pp")
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
        return Verdict(INCONCLUSIVE, f"the validation accuracy peaked at the last epoch in all "
                       f"{len(best)} runs: nothing to stop early within the epoch budget (raise "
                       "claims.early_stopping.epochs)", numbers, text)
    status, reason, _ = decide(gains, rule.min_gain_points, k, unit=" pp", over="runs",
                               what="test accuracy at the best val epoch minus at the last")
    return Verdict(status, reason, numbers, text)


def ensemble_rule(rule: EnsembleRule, k: float) -> str:
    return (f"gain ± {k:g}·sd of the members' test accuracies: ≥ {rule.min_gain_points:g} pp "
            f"→ holds; entirely below → does not hold; otherwise inconclusive (the lecture: "
            f"about {rule.lecture_gain_points:g} pp)")


def ensemble(gain_points: float, member_test_acc: Sequence[float], rule: EnsembleRule,
             k: float, numbers: Mapping[str, float | None] | None = None) -> Verdict:
    """Claim 7 from the ensemble stage: its gain over the best single model (by val), with
    the spread of the members' test accuracies as the uncertainty of that baseline."""
    text = ensemble_rule(rule, k)
    members = finite(member_test_acc)
    sd = 100 * statistics.stdev(members) if len(members) > 1 else 0.0
    band = Interval(gain_points, sd, max(len(members), 1), k)
    status, reason = judge(band, rule.min_gain_points, what="ensemble gain", unit=" pp",
                           over="members' test accuracies")
    out = dict(numbers or {}) | {"gain pp": gain_points, "member sd pp": sd,
                                 "lecture gain pp": rule.lecture_gain_points}
    return Verdict(status, reason, out, text)


def regularization_rule(rule: RegularizationRule, k: float) -> str:
    return interval_rule("gap shrink of each preset vs none (paired trials)",
                         rule.min_shrink_points, k, "pairs", " pp") + "; every preset must hold"


def regularization(
    presets: Mapping[str, Mapping[str, object]], untested: Sequence[str],
    rule: RegularizationRule, k: float,
) -> Verdict:
    """Claim 8 from paired search trials: per preset, the gap of `none` minus the preset's
    (same other recipe axes and seed) in points, and the test-accuracy change (the cost)."""
    text = regularization_rule(rule, k)
    numbers: dict[str, float | None] = {}
    parts, reasons = {}, []
    for name, entry in presets.items():
        shrink, cost = entry["shrink"], entry["test_change"]
        status, reason, band = decide(shrink, rule.min_shrink_points, k, unit=" pp",
                                      over="pairs", what=f"{entry['axis']} {name}: gap shrink")
        numbers[f"gap shrink {name} pp"] = band.mean if band else None
        numbers[f"test change {name} pp"] = _mean(cost)
        parts[name] = status
        reasons.append(f"{reason}, test accuracy {fmt(_mean(cost))} pp → {status}")
    if not parts:
        return Verdict(INCONCLUSIVE, "the search grid has no regularization or augmentation "
                       "preset besides none (and paired trials of both)", numbers, text)
    if untested:
        reasons.append(f"not in the grid, untested: {', '.join(untested)}")
    return Verdict(combine(parts), "; ".join(reasons), numbers, text)


def transfer_rule(rule: TransferRule, k: float) -> str:
    return interval_rule("gain over scratch at the smallest target size minus at the largest",
                         rule.min_diff_points, k, "backbone × mode pairs", " pp") + \
        "; and the mean gain at the smallest size must be positive"


def transfer(gains: Mapping[str, Mapping[str, float]], rule: TransferRule, k: float) -> Verdict:
    """Claim 9 from the gain over scratch (pp) per `backbone/mode` and target size; sizes in
    each mapping are ordered smallest first."""
    text = transfer_rule(rule, k)
    diffs, small, numbers = [], [], {}
    for name, by_size in gains.items():
        sizes = list(by_size)
        numbers[f"gain {name} at {sizes[0]} pp"] = by_size[sizes[0]]
        if len(sizes) > 1:
            numbers[f"gain {name} at {sizes[-1]} pp"] = by_size[sizes[-1]]
            diffs.append(by_size[sizes[0]] - by_size[sizes[-1]])
            small.append(by_size[sizes[0]])
    if not diffs:
        return Verdict(INCONCLUSIVE, "needs pretrained and scratch cells at two or more target "
                       "sizes (transfer.sizes, transfer.modes)", numbers, text)
    status, reason, _ = decide(diffs, rule.min_diff_points, k, unit=" pp",
                               over="backbone × mode pairs",
                               what="gain at the smallest size minus at the largest")
    mean_small = statistics.fmean(small)
    numbers["mean gain at smallest pp"] = mean_small
    if mean_small <= 0:
        status = NOT_HOLDS
        reason = (f"pretraining does not beat scratch at the smallest size (mean gain "
                  f"{fmt(mean_small)} pp); {reason}")
    return Verdict(status, reason, numbers, text)
