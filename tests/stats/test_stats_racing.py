"""Racing: only the leaders not yet told apart get another round of seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from trainlab.stats.racing import race, welch_interval

SCORES = {
    "leader": [0.90, 0.91, 0.92],
    "close": [0.905, 0.89, 0.915],  # mean 0.9033: overlaps the leader
    "near": [0.89, 0.90, 0.895],  # mean 0.895: still overlaps
    "single": [0.88],  # one seed: no interval, unresolved
    "far": [0.70, 0.71, 0.72],  # clearly below: resolved
}


def test_racing_picks_only_the_unresolved_leaders():
    decision = race(SCORES, max_cells=3)
    assert decision.leader == "leader"
    assert decision.selected == ("leader", "close", "near")  # closest first, cap of 3
    assert decision.unresolved == ("close", "near", "single")
    far = next(cell for cell in decision.cells if cell.name == "far")
    assert far.resolved and not far.selected and far.high < 0
    single = next(cell for cell in decision.cells if cell.name == "single")
    assert (single.low, single.high, single.resolved) == (None, None, False)
    assert race(SCORES, max_cells=10).selected == ("leader", "close", "near", "single")
    assert "Welch" in decision.method and "at most 3 cells" in decision.method


def test_race_ends_when_every_challenger_is_resolved():
    decision = race({"a": [0.90, 0.91, 0.92], "b": [0.70, 0.71, 0.72]}, max_cells=4)
    assert decision.selected == () and decision.unresolved == ()


def test_more_seeds_resolve_a_cell_that_is_truly_worse():
    rng = np.random.default_rng(5)
    leader, other = rng.normal(0.88, 0.004, 8), rng.normal(0.87, 0.004, 8)  # 1 pp apart
    resolved = [
        race({"leader": leader[:n], "other": other[:n]}, max_cells=2).cells[1].resolved
        for n in (2, 8)
    ]
    assert resolved == [False, True]


def test_welch_interval_by_hand():
    a, b = np.array([0.905, 0.89, 0.915]), np.array([0.90, 0.91, 0.92, 0.93])
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 4
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)  # Welch-Satterthwaite
    half = scipy.stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = a.mean() - b.mean()
    assert welch_interval(a, b, 0.95) == pytest.approx((diff - half, diff + half))
    assert welch_interval(a[:1], b, 0.95) == (None, None)
    assert welch_interval(np.array([0.8, 0.8]), np.array([0.9, 0.9]), 0.95) == pytest.approx(
        (-0.1, -0.1)
    )


def test_bad_racing_inputs_are_named():
    with pytest.raises(ValueError, match="max_cells must be >= 2 .* got 1"):
        race(SCORES, max_cells=1)
    with pytest.raises(ValueError, match="validation scores of cell 'x' must be a non-empty"):
        race({"x": []}, max_cells=2)


def _val_images(accuracy: float, n_seeds: int, n_images: int = 2000, seed: int = 0) -> np.ndarray:
    """Synthetic per-image validation correctness, (n_seeds, n_images), each seed at about
    `accuracy`."""
    rng = np.random.default_rng(seed)
    return rng.random((n_seeds, n_images)) < accuracy


def test_one_seed_paired_on_validation_images_resolves_a_cell_far_behind():
    # One seed per cell: Welch has no interval, the images do. 87% vs 67% (20 pp behind).
    correct = {"leader": _val_images(0.87, 1, seed=1), "far": _val_images(0.67, 1, seed=2),
               "twin": _val_images(0.87, 1, seed=3)}
    scores = {name: [float(c.mean())] for name, c in correct.items()}
    leader = max(scores, key=lambda name: scores[name][0])
    decision = race(scores, max_cells=4, correct=correct, n_resamples=500)
    far = next(cell for cell in decision.cells if cell.name == "far")
    assert far.paired and far.resolved and not far.selected and far.high < -0.15
    other = "twin" if leader == "leader" else "leader"
    twin = next(cell for cell in decision.cells if cell.name == other)
    assert twin.paired and not twin.resolved and twin.low < 0 < twin.high  # equal cells
    assert decision.unresolved == (other,)  # the log's count: only the equal cell
    assert "paired over the validation images" in decision.method
    # Without the per-image results one seed gives nothing: both stay unresolved.
    assert set(race(scores, max_cells=4).unresolved) == {"far", other}


def test_several_seeds_race_on_the_seed_x_image_bootstrap():
    correct = {"leader": _val_images(0.88, 3, seed=4), "close": _val_images(0.875, 3, seed=5),
               "far": _val_images(0.80, 2, seed=6)}
    scores = {name: list(c.mean(axis=1)) for name, c in correct.items()}
    decision = race(scores, max_cells=3, correct=correct, n_resamples=500)
    assert decision.leader == "leader"
    assert decision.unresolved == ("close",)
    # A cell without per-image results falls back to Welch over its seeds.
    partial = race(scores | {"old": [0.70, 0.71]}, max_cells=3,
                   correct={k: v for k, v in correct.items() if k != "close"},
                   n_resamples=500)
    flags = {cell.name: cell.paired for cell in partial.cells[1:]}
    assert flags == {"close": False, "far": True, "old": False}
