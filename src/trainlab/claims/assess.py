"""Each claim's assessment: what it measured -> its rule's numbers -> (Verdict, details).

One function per claim, all of one shape, `(found, thresholds) -> (Verdict, details)`, named by
its row in :mod:`trainlab.claims.catalogue`: it reads the rows of its experiment or another
stage's file from :class:`Findings`, hands the numbers to its rule in
:mod:`trainlab.claims.rules` with `thresholds` (its section of `claims.rules`), and returns the
aggregated numbers the report draws (per-layer profiles, dead fraction by lr), shaped like the
claim's details in :mod:`trainlab.claims.results`. Claims 1-6 judge the claims' own
experiments; 7-9 the files of the ensemble, search and transfer stages, and are pending
(details None) while a file is missing or stale.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from trainlab.claims import evidence, rules
from trainlab.claims.verdict import Verdict, pending
from trainlab.config import claims as claim_rules  # each assessment's thresholds' type
from trainlab.config.claims import ClaimsConfig
from trainlab.config.schema import GridConfig
from trainlab.ensemble.summary_file import EnsembleSummary
from trainlab.search.results import TrialRow
from trainlab.stats.intervals import DEFAULT_RESAMPLES, Interval
from trainlab.transfer.results import CellResult, transfer_gains

Details = dict[str, Any]
Judged = tuple[Verdict, Details | None]
Rows = Sequence[dict[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class Read(Generic[T]):
    """Another stage's file as read: its typed content, or None and why (`problem`)."""

    content: T | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Findings:
    """Everything the assessments read, gathered once by `claims.stage.judge_all`.

    Attributes:
        claims: the `claims` section (experiment sizes; its `rules` are handed out per claim).
        grid: the search's grid (claim 8 names the penalties it left untested).
        confidence: `stats.confidence`, of every interval a rule draws.
        resamples: `stats.resamples`, of the bootstrap intervals (claim 9's seed x image one).
        rows: the claims' own experiments, by `Experiments` method name -> its rows.
        trials, ensemble, cells: the search's, ensemble's and transfer stage's files.
        search_curves: the search trials' mean train accuracy per epoch, per activation
            (from MLflow; context for claim 3).
    """

    claims: ClaimsConfig
    grid: GridConfig
    confidence: float
    resamples: int = DEFAULT_RESAMPLES
    rows: Mapping[str, Rows] = field(default_factory=dict)
    trials: Read[list[TrialRow]] = Read()
    ensemble: Read[EnsembleSummary] = Read()
    cells: Read[list[CellResult]] = Read()
    search_curves: Mapping[str, list[float]] = field(default_factory=dict)


def _by(rows: Rows, *keys: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]].append(row)
    return dict(grouped)


def _layerwise(profiles: Sequence[Sequence[float]], geometric: bool = False) -> dict[str, list]:
    """Mean and sd over seeds of each layer's value (geometric mean for gradient norms)."""
    mean, sd = [], []
    for values in zip(*profiles, strict=True):
        kept = [v for v in values if v is not None and math.isfinite(v)]
        if geometric:
            logs = [math.log10(max(v, rules.TINY_RATIO)) for v in kept]
            mean.append(10 ** statistics.fmean(logs) if logs else None)
            sd.append(statistics.stdev(logs) if len(logs) > 1 else 0.0)  # in decades
        else:
            mean.append(statistics.fmean(kept) if kept else None)
            sd.append(statistics.stdev(kept) if len(kept) > 1 else 0.0)
    return {"mean": mean, "sd": sd}


def _probed(rows: Rows) -> dict[str, list[dict[str, Any]]]:
    """The deep-MLP probe rows of claims 1-2, by activation (the `trained` state is judged)."""
    return _by(rows, "activation")


def saturation(found: Findings, thresholds: claim_rules.SaturationRule) -> Judged:
    """Claim 1: the first/last gradient-norm ratio per activation and seed."""
    by_act = _probed(found.rows["gradient"])
    ratios, saturated, slope, profile = {}, {}, {}, {}
    for act, seeds in by_act.items():
        trained = [row["trained"] for row in seeds]
        ratio = [p["grad_norm"][0] / p["grad_norm"][-1] if p["grad_norm"][-1] else math.inf
                 for p in trained]
        # a ratio of inf (the last layer got no gradient at all) says nothing about vanishing
        ratios[act] = [v if math.isfinite(v) else math.nan for v in ratio]
        saturated[act] = [statistics.fmean(p["saturated"]) for p in trained]
        slope[act] = [statistics.fmean(p["derivative"]) for p in trained]
        profile[act] = {state: _layerwise([row[state]["grad_norm"] for row in seeds], True)
                        for state in ("init", "trained")}
    verdict = rules.saturation(ratios, saturated, slope, thresholds, found.confidence)
    return verdict, {"grad_norm": profile, "seeds": len(next(iter(by_act.values()), []))}


def zero_centred(found: Findings, thresholds: claim_rules.ZeroCentredRule) -> Judged:
    """Claim 2: the mean output of each hidden layer per activation and seed."""
    means = {act: [row["trained"]["mean"] for row in seeds]
             for act, seeds in _probed(found.rows["gradient"]).items()}
    verdict = rules.zero_centred(means, thresholds, found.confidence)
    return verdict, {"layer_mean": {act: _layerwise(m) for act, m in means.items()}}


def convergence(found: Findings, thresholds: claim_rules.ConvergenceRule) -> Judged:
    """Claim 3 from the convergence rows; the search's mean train accuracy per epoch is
    context (its first epoch at or above the threshold, per activation)."""
    curves = {act: [[tuple(p) for p in row["points"]] for row in seeds]
              for act, seeds in _by(found.rows["convergence"], "activation").items()}
    verdict = rules.convergence(curves, found.claims.convergence.epochs, thresholds,
                                found.confidence)
    details: Details = {"threshold": thresholds.train_acc, "mean_curve": {
        act: _layerwise([[p[2] for p in c] for c in cs])["mean"] for act, cs in curves.items()},
        "epochs": [p[0] for p in next(iter(curves.values()))[0]] if curves else []}
    context: dict[str, float | None] = {}
    for act, curve in found.search_curves.items():
        reached = next((e + 1 for e, acc in enumerate(curve) if acc >= thresholds.train_acc),
                       None)
        context[f"search epochs to {thresholds.train_acc:g} {act}"] = reached
        context[f"search final train acc {act}"] = curve[-1]
    details["context"] = context
    return verdict, details


def dying_relu(found: Findings, thresholds: claim_rules.DeadUnitsRule) -> Judged:
    """Claim 4 from the dead-unit rows (dead None: the run diverged)."""
    dead: dict[str, dict[float, list]] = defaultdict(dict)
    table = []
    for (act, lr), seeds in _by(found.rows["dead_units"], "activation", "lr").items():
        dead[act][lr] = [row["dead"] for row in seeds]
        values = [v for v in dead[act][lr] if v is not None]
        inactive = [row["inactive"] for row in seeds if row["inactive"] is not None]
        table.append({"activation": act, "lr": lr, "runs": len(seeds),
                      "diverged": sum(row["diverged"] for row in seeds),
                      "dead_mean": statistics.fmean(values) if values else None,
                      "dead_sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                      "inactive_mean": statistics.fmean(inactive) if inactive else None})
    return rules.dead_units(dead, thresholds, found.confidence), {"by_lr": table}


def best_val_test(row: dict[str, Any]) -> float | None:
    """Test accuracy at the first epoch of highest validation accuracy (the kept snapshot)."""
    val, test = row["val_acc"], row["test_acc"]
    if not val:
        return None
    return test[max(range(len(val)), key=lambda e: (val[e], -e))]


def preprocessing(found: Findings, thresholds: claim_rules.PreprocessingRule) -> Judged:
    """Claim 5 from one MLP run per mode and seed (test accuracy at the best val epoch)."""
    # best_val_test is None only for a run without epochs; the claims loop records none such
    by_mode = {mode: [cast(float, best_val_test(row))
                      for row in sorted(seeds, key=lambda x: x["seed"])]
               for mode, seeds in _by(found.rows["preprocessing"], "preprocessing").items()}
    return rules.preprocessing(by_mode, thresholds, found.confidence), {"test_acc": by_mode}


def early_stopping(found: Findings, thresholds: claim_rules.EarlyStoppingRule) -> Judged:
    """Claim 6 from the long small-data runs; the search's best epochs are context."""
    runs = [(row["val_acc"], row["test_acc"]) for row in found.rows["early_stopping"]
            if row["val_acc"]]
    verdict = rules.early_stopping(runs, thresholds, found.confidence)
    trials = found.trials.content
    search = evidence.search_early_stopping(trials) if trials is not None else {}
    return verdict, {"val_acc": [v for v, _ in runs], "test_acc": [t for _, t in runs],
                     "context": search}


def ensemble(found: Findings, thresholds: claim_rules.EnsembleRule) -> Judged:
    """Claim 7 from the ensemble stage: its gain over the best recipe (by val) at the same
    seeds with the interval the stage computed (EnsembleSummary.gain: over the seeds)."""
    summary = found.ensemble.content
    if summary is None:
        return pending(found.ensemble.problem or "",
                       rules.ensemble_rule(thresholds, found.confidence)), None
    accs = [member.test_acc for member in summary.averaged]
    # Over the seeds when the stage built one ensemble per seed (its interval counts the
    # training randomness); else the one draw, whose seeds = 1 leaves the claim undecided.
    seeded = summary.over_seeds
    numbers = {
        "ensemble test acc": seeded.mean.acc if seeded else summary.ensemble.acc,
        "best single test acc": (seeded.best_recipe_acc if seeded
                                 else summary.best_single.by_val.acc),
        "members": float(len(seeded.cells) if seeded else len(accs)),
        "seeds": float(len(seeded.draws) if seeded else 1),
        "vote gain pp": seeded.vote.gain_points if seeded else summary.vote.gain_points,
        "greedy gain pp": seeded.greedy.gain_points if seeded else summary.greedy.gain_points,
    }
    points, gain = summary.gain
    band = Interval(points, gain.low_points, gain.high_points,
                    gain.confidence, summary.data.test_size, gain.method, seeds=gain.seeds)
    # the stage's own interval, at the confidence it was drawn at
    verdict = rules.ensemble(band, thresholds, gain.confidence, numbers)
    return verdict, {"member_test_acc": accs}


def regularization(found: Findings, thresholds: claim_rules.RegularizationRule) -> Judged:
    """Claim 8 from the search's trials: each preset paired with `none`."""
    trials = found.trials.content
    if trials is None:
        return pending(found.trials.problem or "",
                       rules.regularization_rule(thresholds, found.confidence)), None
    presets = evidence.preset_pairs(trials)
    verdict = rules.regularization(presets, evidence.untested_penalties(trials, found.grid),
                                   thresholds, found.confidence)
    return verdict, {"presets": presets}


def transfer(found: Findings, thresholds: claim_rules.TransferRule) -> Judged:
    """Claim 9 from the transfer cells, per `backbone/mode`: the gain over scratch at the
    smallest size minus at the largest, mean over seeds, with its seed x image interval (the
    cells score the same images); one value, so no interval, where a cell has no per-image
    results."""
    cells = found.cells.content
    if cells is None:
        return pending(found.cells.problem or "",
                       rules.transfer_rule(thresholds, found.confidence)), None
    gains: dict[str, dict[str, float]] = {}
    for gain in transfer_gains(cells):  # sizes smallest first, as the rule reads them
        gains.setdefault(f"{gain.backbone}/{gain.mode}", {})[str(gain.size)] = gain.gain_points
    # Trainings per backbone x mode x size: each cell is one row of transfer.csv per seed.
    trainings = Counter((cell.backbone, cell.mode, cell.size) for cell in cells)
    seeds = min(trainings.values(), default=1)
    return (rules.transfer(evidence.transfer_differences(cells, gains, found.confidence,
                                                         found.resamples), gains,
                           thresholds, found.confidence, seeds), {"gain_points": gains})
