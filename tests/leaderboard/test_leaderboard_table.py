"""The leaderboard's numbers from per-image results: intervals, paired differences, the
crossover and the Pareto front (trainlab.leaderboard.table, no training)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from trainlab.config.schema import StatsConfig
from trainlab.leaderboard.results import BEHIND, BEST_SINGLE, ONE_SEED, REFERENCE
from trainlab.leaderboard.table import (
    Entry,
    crossover,
    curve_point,
    headline,
    leaderboard_rows,
    standing,
)
from trainlab.report.leaderboard import pareto_front
from trainlab.stats.paired import paired_difference

STATS = StatsConfig(confidence=0.95, resamples=500)
RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, 3, size=1000)


def _entry(name: str, accuracy: float, kind: str = "baseline", seconds: float = 1.0) -> Entry:
    correct = RNG.random(len(LABELS)) < accuracy
    # Probabilities whose argmax is right exactly where `correct` says.
    predicted = np.where(correct, LABELS, (LABELS + 1) % 3)
    probs = np.full((len(LABELS), 3), 0.1)
    probs[np.arange(len(LABELS)), predicted] = 0.8
    return Entry(name, kind, correct, probs, 0.99, 1000, seconds, 5000.0, None)


def test_the_paired_difference_is_the_difference_of_the_two_rows_accuracies():
    entries = [_entry(BEST_SINGLE, 0.85, "recipe"), _entry("mean", 0.88, "ensemble"),
               _entry("probe", 0.70)]
    rows = {row.name: row for row in leaderboard_rows(entries, LABELS, STATS, 10)}
    single = rows[BEST_SINGLE]
    for name in ("mean", "probe"):
        row = rows[name]
        assert row.diff_points == pytest.approx(100 * (row.test_acc - single.test_acc), abs=1e-9)
        assert row.diff_low <= row.diff_points <= row.diff_high
        assert row.test_low <= row.test_acc <= row.test_high
        assert row.gap_acc == pytest.approx(0.99 - row.test_acc)
    assert (single.diff_points, single.diff_low, single.diff_high) == (0.0, 0.0, 0.0)
    assert rows["probe"].diff_high < 0 and rows["probe"].diff_p < 0.001  # 15 pp behind
    assert [row.name for row in leaderboard_rows(entries, LABELS, STATS, 10)] == [
        "mean", BEST_SINGLE, "probe"]  # best test accuracy first


def test_rows_scored_on_other_images_are_refused():
    entries = [_entry(BEST_SINGLE, 0.85, "recipe"), _entry("short", 0.8)]
    entries[1] = Entry("short", "baseline", entries[1].correct[:-1], None, None, 1, 1.0, 1.0,
                       None)
    with pytest.raises(ValueError, match="short is scored on 999 test images"):
        leaderboard_rows(entries, LABELS, STATS, 10)
    with pytest.raises(ValueError, match=re.escape(BEST_SINGLE)):
        leaderboard_rows(entries[1:], LABELS, STATS, 10)


def test_a_vote_without_probabilities_has_no_calibration():
    vote = _entry("vote", 0.9, "ensemble")
    vote = Entry("vote", "ensemble", vote.correct, None, None, 10, 1.0, 1.0, None)
    rows = {r.name: r for r in leaderboard_rows([_entry(BEST_SINGLE, 0.85, "recipe"), vote],
                                                LABELS, STATS, 10)}
    assert rows["vote"].ece is None and rows["vote"].nll is None and rows["vote"].gap_acc is None
    assert rows[BEST_SINGLE].ece is not None


def test_the_crossover_is_where_the_baseline_stops_being_ahead():
    n = 4000
    truth = np.ones(n, dtype=bool)

    def correct(accuracy: float) -> np.ndarray:
        out = truth.copy()
        out[: int(round((1 - accuracy) * n))] = False
        return out

    def seeds(accuracy: float) -> np.ndarray:  # two seeds, (2, n): 0.5 pp apart
        return np.stack([correct(accuracy + 0.0025), correct(accuracy - 0.0025)])

    sizes = [100, 1000, 10000]
    # Ahead by 20 pp at 100, by 5 at 1,000, behind by 5 at 10,000.
    baseline = [seeds(0.80), seeds(0.85), seeds(0.85)]
    recipe = [seeds(0.60), seeds(0.80), seeds(0.90)]
    cross = crossover("effnet finetune", sizes, baseline, recipe, STATS)
    assert cross.ahead_up_to == 1000
    assert cross.diff_points == pytest.approx((20.0, 5.0, -5.0))
    assert "ahead at 100, 1,000" in cross.verdict and "behind at 10,000" in cross.verdict
    never = crossover("probe", sizes, recipe, recipe, STATS)
    assert never.ahead_up_to is None and "cannot be told apart" in never.verdict
    # The same differences from one trained model a side: never ahead or behind.
    single = crossover("effnet finetune", sizes, [b[0] for b in baseline],
                       [r[0] for r in recipe], STATS)
    assert single.ahead_up_to is None and "one seed each at every size" in single.verdict
    assert "ahead" not in single.verdict and "behind" not in single.verdict


def test_a_row_states_its_seeds_and_one_seed_is_never_ahead_or_behind():
    entries = [_entry(BEST_SINGLE, 0.85, "recipe"), _entry("probe", 0.60)]
    rows = {row.name: row for row in leaderboard_rows(entries, LABELS, STATS, 10)}
    probe = rows["probe"]
    assert probe.seeds == 1 and probe.diff_high < 0  # 25 pp behind on these images ...
    assert probe.standing == ONE_SEED  # ... but one trained model a side: not decided
    assert rows[BEST_SINGLE].standing == REFERENCE and rows[BEST_SINGLE].seeds == 1
    assert standing(paired_difference(np.stack([entries[1].correct] * 3),
                                      np.stack([entries[0].correct] * 3))) == BEHIND


def test_the_pareto_front_keeps_what_nothing_beats_on_both():
    entries = [_entry(BEST_SINGLE, 0.85, "recipe", 10.0), _entry("mean", 0.88, "ensemble", 50.0),
               _entry("slow and worse", 0.80, "baseline", 100.0),
               _entry("cheap", 0.70, "baseline", 1.0)]
    rows = leaderboard_rows(entries, LABELS, STATS, 10)
    assert [row.name for row in pareto_front(rows)] == ["cheap", BEST_SINGLE, "mean"]


def _seeded(name: str, accuracies, kind: str = "baseline") -> Entry:
    """An entry trained at one seed per accuracy: (n_seeds, N) correctness and probabilities."""
    seeds = [_entry(name, accuracy, kind) for accuracy in accuracies]
    return Entry(name, kind, np.stack([e.correct for e in seeds]),
                 np.stack([e.probs for e in seeds]), 0.99, 1000, 2.0, 5000.0, None)


def test_rows_over_seeds_are_means_with_seed_by_image_intervals_and_state_their_seeds():
    reference = _seeded(BEST_SINGLE, (0.84, 0.85, 0.86), "recipe")
    # Three seeds that disagree by 16 points: the accuracy's interval must show it.
    shaky = _seeded("efficientnet_lite0 finetune", (0.62, 0.70, 0.78))
    rows = {row.name: row for row in leaderboard_rows([reference, shaky], LABELS, STATS, 10)}
    row = rows["efficientnet_lite0 finetune"]
    assert row.seeds == 3 and rows[BEST_SINGLE].seeds == 3
    # The reference against itself: 0, exactly, whatever its seeds' spread.
    assert (rows[BEST_SINGLE].diff_points, rows[BEST_SINGLE].diff_low,
            rows[BEST_SINGLE].diff_high) == (0.0, 0.0, 0.0)
    assert row.test_acc == pytest.approx(shaky.correct.mean())
    assert row.diff_points == pytest.approx(100 * (row.test_acc - rows[BEST_SINGLE].test_acc))
    one = leaderboard_rows([_entry(BEST_SINGLE, 0.85, "recipe"),
                            Entry("x", "baseline", shaky.correct[1], shaky.probs[1], 0.99, 1,
                                  1.0, 1.0, None)], LABELS, STATS, 10)
    image_only = next(r for r in one if r.name == "x")
    assert row.test_high - row.test_low > 2 * (image_only.test_high - image_only.test_low)
    assert row.standing == BEHIND  # 15 pp behind over 3 seeds a side: decided
    assert row.ece is not None and row.nll is not None  # the mean of each seed's
    lead = headline(list(rows.values()), "efficientnet_lite0 finetune")
    assert lead is not None and (lead.diff_points, lead.seeds, lead.standing) == (
        row.diff_points, 3, BEHIND)
    assert headline(list(rows.values()), "resnet18 finetune") is None


def test_a_curve_point_is_the_mean_over_its_seeds():
    entry = _seeded("probe", (0.7, 0.8))
    point = curve_point("probe", 0.1, 129, entry.correct, 3.0, None, STATS)
    assert point.seeds == 2 and point.test_acc == pytest.approx(entry.correct.mean())
    assert point.test_low < point.test_acc < point.test_high
