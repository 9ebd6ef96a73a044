"""Racing on the grid: extra seeds, round by round, only for the cells that cannot yet be told
apart from the leader on validation (the rule: :mod:`trainlab.stats.racing`).

Every cell first trains `search.repeats` seeds. Then each round picks the leader and the
closest unresolved cells (at most `search.race.max_cells`), and each of them trains
`search.race.seeds_per_round` more seeds: round r (from 0) adds the seeds
`seed + repeats + r * seeds_per_round + j`, so a seed is never trained twice. The race ends
when every cell is told apart from the leader or after `search.race.max_rounds` rounds.

A round is stored in the study (`trainlab.race/<configuration id>`) the moment it is decided
and before its trials are queued: a search killed mid-round replays the stored rounds on
resume (the same trials, none repeated) instead of deciding again on partial results, and its
trials are ordinary queued Optuna trials that any `--worker` trains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainlab.config.params import Config
from trainlab.search.results import RaceRound, RaceSummary, TrialRow
from trainlab.search.standings import race_correct, race_scores
from trainlab.search.study import RACE_ATTR, SearchStudy
from trainlab.stats.intervals import DEFAULT_RESAMPLES
from trainlab.stats.racing import RaceDecision, race


def round_seeds(base: Config, index: int) -> list[int]:
    """The seeds round `index` (from 0) adds to each cell it picks."""
    per = base.search.race.seeds_per_round
    start = base.seed + base.search.repeats + index * per
    return list(range(start, start + per))


def stored_rounds(search_study: SearchStudy, config_id: str) -> list[dict[str, Any]]:
    """The rounds decided so far for this configuration: [{"leader", "cells"}, ...]."""
    return list(search_study.study.user_attrs.get(RACE_ATTR + config_id) or [])


def store_round(search_study: SearchStudy, config_id: str, decision: RaceDecision) -> list[dict]:
    rounds = stored_rounds(search_study, config_id)
    rounds.append({"leader": decision.leader, "cells": list(decision.selected),
                   "method": decision.method})
    search_study.study.set_user_attr(RACE_ATTR + config_id, rounds)
    return rounds


def round_pairs(base: Config, rounds: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """(cell id, seed) of every trial the stored rounds added."""
    return [(cell, seed) for index, entry in enumerate(rounds)
            for cell in entry["cells"] for seed in round_seeds(base, index)]


def decide(base: Config, rows: Sequence[TrialRow], confidence: float,
           val_correct: Mapping[int, np.ndarray] | None = None,
           resamples: int = DEFAULT_RESAMPLES) -> RaceDecision | None:
    """The next round, from the COMPLETE trials' validation accuracies and (trial ->) their
    per-image validation correctness; None without two cells."""
    scores = race_scores(rows)
    if len(scores) < 2:
        return None
    return race(scores, max_cells=base.search.race.max_cells, confidence=confidence,
                correct=race_correct(rows, val_correct or {}), n_resamples=resamples,
                seed=base.seed)


def summary(base: Config, rounds: Sequence[dict[str, Any]], stopped: str) -> RaceSummary:
    """What racing spent, for search.json and the report."""
    entries = tuple(
        RaceRound(round=index + 1, leader=entry["leader"], cells=tuple(entry["cells"]),
                  seeds=tuple(round_seeds(base, index)))
        for index, entry in enumerate(rounds)
    )
    race_cfg = base.search.race
    method = rounds[-1]["method"] if rounds else (
        "leader = highest mean validation accuracy; a cell is resolved when the interval of "
        "(cell - leader) lies below 0 (paired over the validation images, else Welch t over "
        "seeds)")
    method += (f"; each selected cell adds {race_cfg.seeds_per_round} seed(s) per round, at most "
               f"{race_cfg.max_rounds} round(s)")
    extra = sum(len(r.cells) * len(r.seeds) for r in entries)
    return RaceSummary(rounds=entries, extra_trials=extra, stopped=stopped, method=method)


def raced_seeds(base: Config, rounds: Sequence[dict[str, Any]]) -> dict[str, int]:
    """cell -> how many seeds racing added to it."""
    counts: dict[str, int] = {}
    for cell, _ in round_pairs(base, rounds):
        counts[cell] = counts.get(cell, 0) + 1
    return counts
