"""The seeds the ensemble stage needs: the top `ensemble.top_k` cells at `stats.seeds` seeds.

The ensemble stage builds one ensemble per seed s (the top cells' trials at seed s) and
compares it with the best cell's trial at the same seed, so its gain interval counts the
training randomness (trainlab.stats.paired, seed x image). Every cell trains `search.repeats`
seeds and racing adds seeds only where the leaders are close, so the top cells may lack some
of `seed, seed+1, ..., seed+stats.seeds-1`: this step trains exactly those, after racing
(one owner: the search trains every trial; the ensemble stage only loads checkpoints).

Which cells are the top cells is decided once, from the trials finished after racing (mean
validation accuracy; ties by first appearance), and stored in the study
(`trainlab.ensemble_cells/<configuration id>`) before its trials are queued: a search killed
mid-step replays the same cells on resume instead of deciding again on partial results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from mlflow.tracking import MlflowClient

from trainlab.config.params import Config
from trainlab.search import outputs
from trainlab.search.results import Member, SeedEnsemble, TrialRow
from trainlab.search.standings import complete_by_cell, val_accs
from trainlab.search.study import SearchStudy

CELLS_ATTR = "trainlab.ensemble_cells/"  # + configuration id: the top cells chosen
PREFIX = "seed"  # their checkpoints: models/search/seed{s}_cell{rank}_trial{n}.ckpt


def ensemble_seeds(cfg: Config) -> list[int]:
    """The seeds of the ensembles: `seed, seed+1, ...`, `stats.seeds` of them (the seeds
    every compared model trains with, config/schema.py StatsConfig)."""
    return list(range(cfg.seed, cfg.seed + cfg.stats.seeds))


def top_cells(rows: Sequence[TrialRow], top_k: int) -> list[str]:
    """The `top_k` cells by mean validation accuracy over their COMPLETE seeds, the best
    first (never test: the ensemble's members are chosen on validation)."""
    cells = complete_by_cell(rows)
    means = {cell: sum(val_accs(own)) / len(own) for cell, own in cells.items()}
    order = list(cells)
    return sorted(order, key=lambda c: (-means[c], order.index(c)))[:top_k]


def stored_cells(search_study: SearchStudy, config_id: str, top_k: int) -> list[str] | None:
    """The cells stored for this configuration and `ensemble.top_k` (which the configuration
    id does not include: another top_k decides again), else None."""
    found = search_study.study.user_attrs.get(CELLS_ATTR + config_id)
    if not isinstance(found, dict) or found.get("top_k") != top_k:
        return None
    return list(found["cells"])


def store_cells(search_study: SearchStudy, config_id: str, top_k: int,
                cells: Sequence[str]) -> None:
    search_study.study.set_user_attr(CELLS_ATTR + config_id,
                                     {"top_k": top_k, "cells": list(cells)})


def pairs(cfg: Config, cells: Sequence[str]) -> list[tuple[str, int]]:
    """(cell, seed) of every trial the ensembles need (those done already are not queued)."""
    return [(cell, seed) for cell in cells for seed in ensemble_seeds(cfg)]


def missing(cfg: Config, rows: Sequence[TrialRow], cells: Sequence[str]) -> list[tuple[str, int]]:
    """The needed pairs without a COMPLETE trial yet: what this step trains."""
    done = {(row.cell, row.seed) for row in rows if row.state == "COMPLETE"}
    return [pair for pair in pairs(cfg, cells) if pair not in done]


def seed_ensembles(
    cfg: Config, rows: Sequence[TrialRow], cells: Sequence[str], models_dir: str,
    client: MlflowClient,
) -> tuple[SeedEnsemble, ...]:
    """Per seed, the top cells' trials at that seed as manifest members (rank = the cell's
    rank among the top cells, 1 = the best cell: the single recipe each ensemble is compared
    with), their checkpoints copied beside the ranked ones. A seed that lacks a cell (its
    trial failed) is left out, and the search says so: its ensemble would not be comparable."""
    folder = Path(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    by_pair = {(row.cell, row.seed): row for row in outputs.ranked(list(rows))}
    found: list[SeedEnsemble] = []
    kept: set[str] = set()
    # No cells (the tpe sampler, or nothing completed): no per-seed ensembles, one draw.
    for seed in ensemble_seeds(cfg) if cells else []:
        members: list[Member] = []
        for rank, cell in enumerate(cells, start=1):
            row = by_pair.get((cell, seed))
            name = f"{PREFIX}{seed}_cell{rank}_trial{row.trial if row else 0}.ckpt"
            if row is None or not outputs.copy_checkpoint(row, folder / name, client):
                break
            members.append(Member(**row.recipe().model_dump(), rank=rank,
                                  checkpoint=str(PurePosixPath(models_dir) / name)))
        if len(members) == len(cells):
            found.append(SeedEnsemble(seed=seed, members=tuple(members)))
            kept |= {Path(m.checkpoint).name for m in members}
        else:
            print(f"search: seed {seed} lacks a COMPLETE trial of a top cell; no ensemble at "
                  "that seed", flush=True)
    for old in folder.glob(f"{PREFIX}*_cell*_trial*.ckpt"):
        if old.name not in kept:
            old.unlink()
    return tuple(found)
