"""Ensembles whose members come from different seeds: one per seed, each against the best cell
at the same seed; the gain's interval is the seed x image bootstrap (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from stagefiles import ensemble_summary, manifest, member  # tests/stagefiles.py

from trainlab.claims.assess import Findings, Read
from trainlab.claims.assess import ensemble as claim_ensemble
from trainlab.cli import main
from trainlab.config.claims import EnsembleRule
from trainlab.config.params import Config
from trainlab.config.schema import EnsembleConfig, StatsConfig
from trainlab.ensemble.predict import Predictions
from trainlab.ensemble.summary import over_seeds
from trainlab.search.results import SeedEnsemble
from trainlab.stagefile import write_model
from trainlab.stats.paired import paired_difference

CELLS = ("relu|none|none", "elu|none|none", "tanh|none|none")


def _draw(seed: int, y_test: torch.Tensor, shift: float) -> Predictions:
    """Three members (cells) at `seed`: noisy around the labels; the ensemble's edge over
    member 1 (the best cell) grows with `shift` (member 1 gets noisier)."""
    generator = torch.Generator().manual_seed(seed)
    signal = torch.nn.functional.one_hot(y_test, 4).float() * 1.5
    noise = [torch.randn(len(y_test), 4, generator=generator) * (1.0 + (shift if i == 0 else 0))
             for i in range(3)]
    test = torch.stack([torch.softmax(signal + n, dim=1) for n in noise])
    y_val = y_test[:50]
    val = test[:, :50]
    members = tuple(member(r, f"s{seed}r{r}", "c", 0.5, cell=CELLS[r - 1], seed=seed)
                    for r in (1, 2, 3))
    return Predictions(members, val, test, y_val, y_test)


def _labels(n: int = 600) -> torch.Tensor:
    return torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(99))


def test_gain_interval_has_the_seeds_and_is_the_seed_by_image_bootstrap():
    y = _labels()
    draws = {s: _draw(s, y, 0.5) for s in (0, 1, 2)}
    stats = StatsConfig(confidence=0.9, resamples=400, seeds=3)
    found = over_seeds(draws, EnsembleConfig(top_k=3), stats)
    assert found.mean.gain_interval.seeds == stats.seeds == len(found.draws)
    assert found.best_cell == CELLS[0] and found.cells == CELLS
    ens = np.stack([(d.test.mean(0).argmax(1) == y).numpy() for d in draws.values()])
    best = np.stack([(d.test[0].argmax(1) == y).numpy() for d in draws.values()])
    expected = paired_difference(ens, best, 0.9, n_resamples=400)
    assert found.mean.gain_points == pytest.approx(100 * expected.estimate)
    assert found.mean.gain_points == pytest.approx(
        np.mean([100 * (d.mean_acc - d.best_acc) for d in found.draws]))
    assert (found.mean.gain_interval.low_points, found.mean.gain_interval.high_points) == \
        pytest.approx((100 * expected.low, 100 * expected.high))
    assert found.mean.gain_interval.method.startswith("two-level bootstrap")
    assert [d.seed for d in found.draws] == [0, 1, 2]
    assert all(d.members[0] == f"s{d.seed}r1" for d in found.draws)


def test_interval_is_wider_than_the_image_only_one_when_seeds_differ():
    # Seed 0: the ensemble gains a lot (member 1 very noisy); seeds 1, 2: it gains nothing.
    # The image bootstrap of one seed cannot see that spread; the seed x image one does.
    y = _labels()
    draws = {0: _draw(0, y, 2.0), 1: _draw(1, y, 0.0), 2: _draw(2, y, -0.3)}
    stats = StatsConfig(confidence=0.95, resamples=600, seeds=3)
    found = over_seeds(draws, EnsembleConfig(top_k=3), stats)
    gains = [d.mean_acc - d.best_acc for d in found.draws]
    assert max(gains) - min(gains) > 0.05  # the seeds do differ
    ens = np.stack([(d.test.mean(0).argmax(1) == y).numpy() for d in draws.values()])
    best = np.stack([(d.test[0].argmax(1) == y).numpy() for d in draws.values()])
    image_only = paired_difference(ens.reshape(-1), best.reshape(-1), 0.95, n_resamples=600)
    interval = found.mean.gain_interval
    assert interval.high_points - interval.low_points > \
        100 * (image_only.high - image_only.low)


def test_one_seed_leaves_claim_7_inconclusive_one_seed():
    # stats.seeds = 1: one ensemble, one best recipe: the gain is conditional on them.
    y = _labels()
    found = over_seeds({0: _draw(0, y, 3.0)}, EnsembleConfig(top_k=3),
                       StatsConfig(resamples=200, seeds=1))
    assert found.mean.gain_interval.seeds == 1 and found.mean.gain_points > 5
    summary = ensemble_summary([{"run_id": "a", "val_acc": 0.8, "test_acc": 0.8}], 0.0).model_copy(
        update={"over_seeds": found})
    assert summary.gain[0] == found.mean.gain_points  # the decided gain: over the seeds
    assert summary.metrics() == {"ens_gain": found.mean.gain_points}
    cfg = Config()
    found_files = Findings(cfg.claims, cfg.grid, 0.95, ensemble=Read(summary, None))
    verdict, _ = claim_ensemble(found_files, EnsembleRule())
    assert verdict.status == "inconclusive" and "one seed" in verdict.reason


def test_stage_builds_one_ensemble_per_seed(untrained, manifest_writer, capsys):
    # Checkpoints that need no training: 2 cells x 2 seeds, each its own initialisation.
    ranked = [{"run_id": f"run{i}", "checkpoint": untrained(f"r{i}.ckpt", seed=i),
               "val_acc": 0.1} for i in range(2)]
    path = manifest_writer(ranked)
    draws = tuple(
        SeedEnsemble(seed=s, members=tuple(
            member(r, f"s{s}c{r}", untrained(f"seed{s}_cell{r}.ckpt", seed=10 * s + r), 0.1,
                   cell=CELLS[r - 1], seed=s) for r in (1, 2)))
        for s in (0, 1))
    found = json.loads(Path(path).read_text())
    write_model(path, manifest([member(**m) for m in found["members"]]).model_copy(
        update={"seed_ensembles": draws}))
    assert main(["ensemble", "--set", "stats.seeds=2", "--set", "stats.resamples=200"]) == 0
    report = json.loads(Path("reports/ensemble.json").read_text())
    seeded = report["over_seeds"]
    assert [d["seed"] for d in seeded["draws"]] == [0, 1]
    assert seeded["mean"]["gain_interval"]["seeds"] == 2
    assert json.loads(Path("metrics/ensemble.json").read_text())["ens_gain"] == \
        pytest.approx(seeded["mean"]["gain_points"])
    assert "2 ensembles of the top 2 cells, one per seed" in capsys.readouterr().out
