"""Experiment rows and stage outputs -> each claim's rule inputs, verdict and figure data.

Each `assess_*` returns (Verdict, details): the verdict from :mod:`trainlab.claims.rules`
and the aggregated numbers the report draws (per-layer profiles, dead fraction by lr), shaped
like the claim's details in :mod:`trainlab.claims.results`. Claims 1-6 judge the claims'
own experiments; 7-9 the files of the ensemble, search and transfer stages, and are pending
(details None) while a file is missing or stale.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from trainlab.claims import evidence, rules
from trainlab.claims.verdict import Verdict, pending
from trainlab.config import ClaimRules, ClaimsConfig, GridConfig
from trainlab.ensemble.summary_file import EnsembleSummary
from trainlab.search.results import TrialRow
from trainlab.stats.intervals import Interval
from trainlab.transfer.results import CellResult, transfer_gains

Details = dict[str, Any]


def _by(rows: Sequence[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
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


def assess_gradient(rows: Sequence[dict[str, Any]], r: ClaimRules, confidence: float) -> tuple[
        Verdict, Details, Verdict, Details]:
    """Claims 1 and 2 from the deep-MLP probe rows (the `trained` state is judged)."""
    by_act = _by(rows, "activation")
    ratios, saturated, slope, means = {}, {}, {}, {}
    profile: Details = {}
    for act, seeds in by_act.items():
        trained = [row["trained"] for row in seeds]
        ratios[act] = [p["grad_norm"][0] / p["grad_norm"][-1] if p["grad_norm"][-1] else math.inf
                       for p in trained]
        saturated[act] = [statistics.fmean(p["saturated"]) for p in trained]
        slope[act] = [statistics.fmean(p["derivative"]) for p in trained]
        means[act] = [p["mean"] for p in trained]
        profile[act] = {state: _layerwise([row[state]["grad_norm"] for row in seeds], True)
                        for state in ("init", "trained")}
    # a ratio of inf (the last layer got no gradient at all) says nothing about vanishing
    ratios = {act: [v if math.isfinite(v) else math.nan for v in vs] for act, vs in ratios.items()}
    saturation = rules.saturation(ratios, saturated, slope, r.saturation, confidence)
    centred = rules.zero_centred(means, r.zero_centred, confidence)
    layer_means = {act: _layerwise(m) for act, m in means.items()}
    return (saturation, {"grad_norm": profile, "seeds": len(next(iter(by_act.values()), []))},
            centred, {"layer_mean": layer_means})


def assess_convergence(rows: Sequence[dict[str, Any]], epochs: int, r: ClaimRules,
                       confidence: float, search_curves: dict[str, list[float]] | None = None,
                       ) -> tuple[Verdict, Details]:
    """Claim 3 from the convergence rows; the search's mean train accuracy per epoch is
    context (its first epoch at or above the threshold, per activation)."""
    curves = {act: [[tuple(p) for p in row["points"]] for row in seeds]
              for act, seeds in _by(rows, "activation").items()}
    verdict = rules.convergence(curves, epochs, r.convergence, confidence)
    details: Details = {"threshold": r.convergence.train_acc, "mean_curve": {
        act: _layerwise([[p[2] for p in c] for c in cs])["mean"] for act, cs in curves.items()},
        "epochs": [p[0] for p in next(iter(curves.values()))[0]] if curves else []}
    context = {}
    for act, curve in (search_curves or {}).items():
        reached = next((e + 1 for e, acc in enumerate(curve) if acc >= r.convergence.train_acc),
                       None)
        context[f"search epochs to {r.convergence.train_acc:g} {act}"] = reached
        context[f"search final train acc {act}"] = curve[-1]
    details["context"] = context
    return verdict, details


def assess_dead_units(rows: Sequence[dict[str, Any]], r: ClaimRules,
                      confidence: float) -> tuple[Verdict, Details]:
    """Claim 4 from the dead-unit rows (dead None: the run diverged)."""
    dead: dict[str, dict[float, list]] = defaultdict(dict)
    table = []
    for (act, lr), seeds in _by(rows, "activation", "lr").items():
        dead[act][lr] = [row["dead"] for row in seeds]
        values = [v for v in dead[act][lr] if v is not None]
        inactive = [row["inactive"] for row in seeds if row["inactive"] is not None]
        table.append({"activation": act, "lr": lr, "runs": len(seeds),
                      "diverged": sum(row["diverged"] for row in seeds),
                      "dead_mean": statistics.fmean(values) if values else None,
                      "dead_sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                      "inactive_mean": statistics.fmean(inactive) if inactive else None})
    return rules.dead_units(dead, r.dead_units, confidence), {"by_lr": table}


def best_val_test(row: dict[str, Any]) -> float | None:
    """Test accuracy at the first epoch of highest validation accuracy (the kept snapshot)."""
    val, test = row["val_acc"], row["test_acc"]
    if not val:
        return None
    return test[max(range(len(val)), key=lambda e: (val[e], -e))]


def assess_preprocessing(rows: Sequence[dict[str, Any]], r: ClaimRules,
                         confidence: float) -> tuple[Verdict, Details]:
    """Claim 5 from one MLP run per mode and seed (test accuracy at the best val epoch)."""
    by_mode = {mode: [best_val_test(row) for row in sorted(seeds, key=lambda x: x["seed"])]
               for mode, seeds in _by(rows, "preprocessing").items()}
    return rules.preprocessing(by_mode, r.preprocessing, confidence), {"test_acc": by_mode}


def assess_early_stopping(rows: Sequence[dict[str, Any]], r: ClaimRules, confidence: float,
                          search: dict[str, float] | None = None) -> tuple[Verdict, Details]:
    """Claim 6 from the long small-data runs; the search's best epochs are context."""
    runs = [(row["val_acc"], row["test_acc"]) for row in rows if row["val_acc"]]
    verdict = rules.early_stopping(runs, r.early_stopping, confidence)
    return verdict, {"val_acc": [v for v, _ in runs], "test_acc": [t for _, t in runs],
                     "context": dict(search or {})}


def assess_ensemble(summary: EnsembleSummary | None, problem: str | None,
                    r: ClaimRules, confidence: float) -> tuple[Verdict, Details | None]:
    """Claim 7 from the ensemble stage: its gain over the best single model (by val) with
    the interval the stage computed, paired over the same test images."""
    if summary is None:
        return pending(problem or "", rules.ensemble_rule(r.ensemble, confidence)), None
    accs = [member.test_acc for member in summary.averaged]
    numbers = {
        "ensemble test acc": summary.ensemble.acc,
        "best single test acc": summary.best_single.by_val.acc,
        "members": float(len(accs)),
        "vote gain pp": summary.vote.gain_points,
        "greedy gain pp": summary.greedy.gain_points,
    }
    gain = summary.ensemble.gain_interval
    band = Interval(summary.ensemble.gain_points, gain.low_points, gain.high_points,
                    gain.confidence, summary.data.test_size, gain.method)
    verdict = rules.ensemble(band, r.ensemble, gain.confidence, numbers)
    return verdict, {"member_test_acc": accs}


def assess_regularization(trials: list[TrialRow] | None, problem: str | None,
                          grid: GridConfig, r: ClaimRules,
                          confidence: float) -> tuple[Verdict, Details | None]:
    """Claim 8 from the search's trials: each preset paired with `none`."""
    if trials is None:
        return pending(problem or "", rules.regularization_rule(r.regularization,
                                                                confidence)), None
    presets = evidence.preset_pairs(trials)
    verdict = rules.regularization(presets, evidence.untested_penalties(trials, grid),
                                   r.regularization, confidence)
    return verdict, {"presets": presets}


def assess_transfer(cells: list[CellResult] | None, problem: str | None,
                    r: ClaimRules, confidence: float) -> tuple[Verdict, Details | None]:
    """Claim 9 from the transfer cells, per `backbone/mode`: per target test image, the gain
    over scratch at the smallest size minus at the largest (the cells score the same
    images); one value, so no interval, where a cell has no per-image results."""
    if cells is None:
        return pending(problem or "", rules.transfer_rule(r.transfer, confidence)), None
    gains: dict[str, dict[str, float]] = {}
    for gain in transfer_gains(cells):  # sizes smallest first, as the rule reads them
        gains.setdefault(f"{gain.backbone}/{gain.mode}", {})[str(gain.size)] = gain.gain_points
    return (rules.transfer(evidence.transfer_differences(cells, gains), gains, r.transfer,
                           confidence), {"gain_points": gains})


def experiment_sizes(cfg: ClaimsConfig) -> dict[str, Any]:
    """The sizes that ran, for claims.json (what a reader needs to rerun them)."""
    return cfg.model_dump(mode="json", exclude={"rules"})
