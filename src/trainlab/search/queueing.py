"""The study's queue: which (cell, seed) pairs a search trains, each enqueued exactly once.

A pair is keyed by :func:`trainlab.search.study.cell_key` (cell, seed, recipe hash): a pair
already done, or held by a running trial, is not queued again, so a resumed or repeated search
trains only what is missing, and a retried pair records the attempt it retries.
"""

from __future__ import annotations

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData
from trainlab.search import outputs
from trainlab.search.grid import grid_cells, handout_order, recipe_hash, trial_config
from trainlab.search.results import TrialRow
from trainlab.search.study import SearchStudy, cell_key, is_done, redact

Key = tuple[str, int, str]  # (cell id, seed, recipe hash): see study.cell_key


def grid_pairs(base: Config) -> list[tuple[str, int]]:
    """(cell id, seed) of every grid cell x `search.repeats` seeds; none for tpe."""
    if base.search.sampler != "grid":
        return []
    seeds = range(base.seed, base.seed + base.search.repeats)
    return [(cell.id, seed) for cell in grid_cells(base.grid) for seed in seeds]


def enqueue(base: Config, data: PreparedData, search_study: SearchStudy,
            pairs: list[tuple[str, int]]) -> set[Key]:
    """Enqueue each (cell, seed) not done or held yet, exactly once; their keys."""
    cells = {cell.id: cell for cell in grid_cells(base.grid)}
    expected: dict[Key, dict] = {}
    for cell_id, seed in pairs:
        cell = cells[cell_id]
        cfg = trial_config(base, base.grid, cell, seed)
        attrs = {"cell": cell.id, "seed": seed, **cell.params(),
                 "recipe_hash": recipe_hash(cfg, data.fingerprint),
                 "base_hash": recipe_hash(base, data.fingerprint)}
        expected[cell_key(attrs)] = {"params": cell.params() | {"seed": seed},
                                     "user_attrs": attrs}
    if not expected:
        return set()
    trials = search_study.trials()
    taken = {cell_key(t.user_attrs) for t in trials
             if is_done(t, base.search.pruner) or not t.state.is_finished()}
    # The latest interrupted attempt of each cell (Ctrl-C), for the record of the retry.
    retry_of = {cell_key(t.user_attrs): t.number for t in trials if t.state.is_finished()}
    missing = [key for key in expected if key not in taken]
    missing = handout_order(missing, base.search.order, base.seed)
    for key in missing:
        job = expected[key]
        if key in retry_of:
            job["user_attrs"] |= {"retry_of": retry_of[key]}
        search_study.study.enqueue_trial(**job)
    print(f"search: study {search_study.name!r} in {redact(base.search.storage)}: "
          f"{len(expected)} grid trials, {len(expected) - len(missing)} already done or "
          f"held, {len(missing)} queued", flush=True)
    return set(expected)


def expected_rows(search_study: SearchStudy, expected: set[Key]) -> list[TrialRow]:
    """The trial rows of the pairs this search queued (racing decides on these)."""
    return outputs.trial_rows([t for t in search_study.trials()
                               if cell_key(t.user_attrs) in expected])
