"""Experiment rows and stage outputs -> each claim's rule inputs, verdict and figure data.

Each `assess_*` returns (Verdict, details): the verdict from :mod:`trainlab.claims.rules`
and the aggregated numbers the report draws (per-layer profiles, dead fraction by lr).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from trainlab.claims import rules
from trainlab.claims.verdict import Verdict
from trainlab.config import ClaimRules, ClaimsConfig

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


def assess_gradient(rows: Sequence[dict[str, Any]], r: ClaimRules) -> tuple[
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
    saturation = rules.saturation(ratios, saturated, slope, r.saturation, r.spread_k)
    centred = rules.zero_centred(means, r.zero_centred, r.spread_k)
    layer_means = {act: _layerwise(m) for act, m in means.items()}
    return (saturation, {"grad_norm": profile, "seeds": len(next(iter(by_act.values()), []))},
            centred, {"layer_mean": layer_means})


def assess_convergence(rows: Sequence[dict[str, Any]], epochs: int, r: ClaimRules,
                       search_curves: dict[str, list[float]] | None = None,
                       ) -> tuple[Verdict, Details]:
    """Claim 3 from the convergence rows; the search's mean train accuracy per epoch is
    context (its first epoch at or above the threshold, per activation)."""
    curves = {act: [[tuple(p) for p in row["points"]] for row in seeds]
              for act, seeds in _by(rows, "activation").items()}
    verdict = rules.convergence(curves, epochs, r.convergence, r.spread_k)
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


def assess_dead_units(rows: Sequence[dict[str, Any]], r: ClaimRules) -> tuple[Verdict, Details]:
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
    return rules.dead_units(dead, r.dead_units, r.spread_k), {"by_lr": table}


def best_val_test(row: dict[str, Any]) -> float | None:
    """Test accuracy at the first epoch of highest validation accuracy (the kept snapshot)."""
    val, test = row["val_acc"], row["test_acc"]
    if not val:
        return None
    return test[max(range(len(val)), key=lambda e: (val[e], -e))]


def assess_preprocessing(rows: Sequence[dict[str, Any]], r: ClaimRules) -> tuple[Verdict,
                                                                                 Details]:
    """Claim 5 from one MLP run per mode and seed (test accuracy at the best val epoch)."""
    by_mode = {mode: [best_val_test(row) for row in sorted(seeds, key=lambda x: x["seed"])]
               for mode, seeds in _by(rows, "preprocessing").items()}
    return rules.preprocessing(by_mode, r.preprocessing, r.spread_k), {"test_acc": by_mode}


def assess_early_stopping(rows: Sequence[dict[str, Any]], r: ClaimRules,
                          search: dict[str, float] | None = None) -> tuple[Verdict, Details]:
    """Claim 6 from the long small-data runs; the search's best epochs are context."""
    runs = [(row["val_acc"], row["test_acc"]) for row in rows if row["val_acc"]]
    verdict = rules.early_stopping(runs, r.early_stopping, r.spread_k)
    return verdict, {"val_acc": [v for v, _ in runs], "test_acc": [t for _, t in runs],
                     "context": dict(search or {})}


def experiment_sizes(cfg: ClaimsConfig) -> dict[str, Any]:
    """The sizes that ran, for claims.json (what a reader needs to rerun them)."""
    return cfg.model_dump(mode="json", exclude={"rules"})
