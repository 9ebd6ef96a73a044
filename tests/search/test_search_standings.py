"""Cell standings: intervals over seeds and the set not distinguishable from the best, on
synthetic trial rows and per-image results (trainlab.stats underneath, checked against it)."""

from __future__ import annotations

import numpy as np
import pytest
from stagefiles import trial_row

from trainlab.search import racing
from trainlab.search.standings import cell_standings, race_correct, race_scores
from trainlab.stats.intervals import accuracy_interval, mean_interval
from trainlab.stats.paired import paired_difference

N_IMAGES = 2000


def correct_at(accuracy: float, seed: int) -> np.ndarray:
    """Per-image results of a model right on `accuracy` of the images, mistakes at random."""
    rng = np.random.default_rng(seed)
    right = np.zeros(N_IMAGES, dtype=bool)
    right[rng.permutation(N_IMAGES)[: round(accuracy * N_IMAGES)]] = True
    return right


def rows_and_results(cells: dict[str, list[tuple[float, float]]]):
    """cell -> [(val, test) per seed]: trial rows and their per-image test results."""
    rows, correct, number = [], {}, 0
    for cell, seeds in cells.items():
        activation, regularization, augmentation = cell.split("|")
        for seed, (val, test) in enumerate(seeds):
            correct[number] = correct_at(test, seed=number)
            rows.append(trial_row(number, activation, regularization, augmentation, seed,
                                  val_acc=val, test_acc=correct[number].mean(),
                                  gap_acc=0.05 + 0.01 * seed, run_id=f"run{number}"))
            number += 1
    return rows, correct


def test_intervals_over_seeds_agree_with_trainlab_stats():
    rows, correct = rows_and_results({"relu|none|none": [(0.90, 0.89), (0.91, 0.88),
                                                         (0.92, 0.90)]})
    (standing,), _ = cell_standings(rows, correct, 0.95, 500)
    vals = [r.val_acc for r in rows]
    expected = mean_interval(vals, 0.95)
    assert (standing.val_mean, standing.val_low, standing.val_high) == pytest.approx(
        (expected.estimate, expected.low, expected.high))
    tests = mean_interval([r.test_acc for r in rows], 0.95)
    assert (standing.test_low, standing.test_high) == pytest.approx((tests.low, tests.high))
    assert standing.seeds == 3 and standing.test_interval.startswith("t-interval over 3")
    gaps = mean_interval([0.05, 0.06, 0.07], 0.95)
    assert (standing.gap_low, standing.gap_high) == pytest.approx((gaps.low, gaps.high))


def test_one_seed_gets_the_binomial_interval_over_the_test_images():
    rows, correct = rows_and_results({"relu|none|none": [(0.9, 0.87)]})
    (standing,), _ = cell_standings(rows, correct, 0.9, 500)
    exact = accuracy_interval(correct[0], 0.9)
    assert (standing.test_low, standing.test_high) == pytest.approx((exact.low, exact.high))
    assert standing.val_low is None  # one seed: no interval over seeds, never a fake one


def test_a_clearly_worse_cell_is_flagged_and_a_twin_of_the_best_is_not():
    rows, correct = rows_and_results({
        "relu|none|none": [(0.95, 0.90)],
        "tanh|none|none": [(0.94, 0.90)],  # same accuracy: cannot be told apart
        "sigmoid|none|none": [(0.80, 0.70)],  # 20 points below on 2,000 images
    })
    standings, best_set = cell_standings(rows, correct, 0.95, 500)
    by_cell = {s.cell: s for s in standings}
    assert best_set.best == "relu|none|none" and by_cell["relu|none|none"].best
    assert best_set.cells == ("relu|none|none", "tanh|none|none")
    assert by_cell["tanh|none|none"].in_best_set is True
    worse = by_cell["sigmoid|none|none"]
    assert worse.in_best_set is False and worse.vs_best_high < 0
    expected = paired_difference(correct[2], correct[0], 0.95, n_resamples=500)
    assert worse.vs_best == pytest.approx(expected.estimate)  # exactly acc difference
    assert worse.vs_best == pytest.approx(0.70 - 0.90)
    assert [s.rank for s in standings] == [1, 2, 3]
    assert "Holm" in best_set.method


def test_cells_without_per_image_results_are_not_compared():
    rows, correct = rows_and_results({"relu|none|none": [(0.95, 0.9)],
                                      "tanh|none|none": [(0.90, 0.85)]})
    del correct[1]  # trained by an older trainlab: no test_correct.npy
    standings, best_set = cell_standings(rows, correct, 0.95, 500)
    assert best_set.compared == 1
    assert {s.cell: s.in_best_set for s in standings} == {"relu|none|none": True,
                                                          "tanh|none|none": None}


def test_racing_decides_on_validation_only():
    rows, _ = rows_and_results({"relu|none|none": [(0.95, 0.50)],
                                "tanh|none|none": [(0.90, 0.99)]})
    assert race_scores(rows) == {"relu|none|none": [0.95], "tanh|none|none": [0.90]}


def test_racing_rounds_add_new_seeds_and_replay_exactly():
    from trainlab.config.params import Config

    base = Config().replace(**{"search.repeats": 2, "search.race.enabled": True,
                               "search.race.seeds_per_round": 2})
    assert racing.round_seeds(base, 0) == [2, 3] and racing.round_seeds(base, 1) == [4, 5]
    rounds = [{"leader": "a", "cells": ["a", "b"], "method": "m"},
              {"leader": "a", "cells": ["a", "c"], "method": "m"}]
    assert racing.round_pairs(base, rounds) == [("a", 2), ("a", 3), ("b", 2), ("b", 3),
                                                 ("a", 4), ("a", 5), ("c", 4), ("c", 5)]
    assert racing.raced_seeds(base, rounds) == {"a": 4, "b": 2, "c": 2}
    summary = racing.summary(base, rounds, "done")
    assert summary.extra_trials == 8 and summary.rounds[1].seeds == (4, 5)


def test_every_cells_printed_interval_is_the_one_its_membership_was_decided_with():
    # Twelve cells 0-11 pp below the best, one seed each (the default grid's shape).
    rows, correct = rows_and_results({
        f"relu|r{i}|none": [(0.95 - 0.01 * i, 0.90 - 0.01 * i)] for i in range(12)})
    standings, best_set = cell_standings(rows, correct, 0.95, 500)
    others = [s for s in standings if not s.best]
    assert any(s.in_best_set for s in others) and any(not s.in_best_set for s in others)
    for s in others:  # search_cells.csv: in the set exactly when its interval reaches 0
        assert s.in_best_set == (s.vs_best_high >= 0)
        assert 0.95 <= s.vs_best_confidence <= 1 - 0.05 / 11 + 1e-12
        assert (s.cell in best_set.cells) == s.in_best_set
    assert "step-down" in best_set.method


def test_racing_at_one_seed_resolves_a_cell_far_behind_on_the_validation_images():
    from trainlab.config.params import Config

    base = Config().replace(**{"search.race.enabled": True, "search.race.max_cells": 4})
    rows, val_correct = rows_and_results({  # the per-image results stand in for validation
        "maxout|none|none": [(0.87, 0.87)], "sigmoid|dropout|full": [(0.67, 0.67)],
        "relu|none|none": [(0.869, 0.869)]})
    rows = [row.model_copy(update={"val_acc": float(right.mean())})
            for row, right in zip(rows, val_correct.values(), strict=True)]
    decision = racing.decide(base, rows, 0.95, val_correct, resamples=500)
    assert decision.leader == "maxout|none|none"
    assert decision.unresolved == ("relu|none|none",)  # the log counts only this one
    far = decision.cells[-1]
    assert far.name == "sigmoid|dropout|full" and far.resolved and far.paired
    assert set(race_correct(rows, val_correct)) == {c.name for c in decision.cells}
    # Without per-image validation results one seed gives no interval: nothing resolved.
    assert len(racing.decide(base, rows, 0.95).unresolved) == 2
