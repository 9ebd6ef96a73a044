"""The set of recipes not distinguishable from the best: selection, flags, multiplicity."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.stats.best import adjust, holm, not_distinguishable_from_best


def _grid(rng: np.random.Generator, n_images: int = 2000) -> dict[str, np.ndarray]:
    best = rng.random(n_images) < 0.88
    return {
        "best": best,
        "copy": best.copy(),  # identical correctness: never distinguishable
        "far": rng.random(n_images) < 0.60,  # 28 pp below: always distinguishable
        "seeds": rng.random((3, n_images)) < 0.60,  # far below with several seeds
    }


def test_far_recipe_is_flagged_and_an_identical_copy_is_not():
    test = _grid(np.random.default_rng(0))
    val = {"best": 0.90, "copy": 0.89, "far": 0.62, "seeds": [0.61, 0.60, 0.63]}
    result = not_distinguishable_from_best(val, test, n_resamples=500)
    assert result.best == "best"
    assert [row.name for row in result.rows] == ["best", "copy", "far", "seeds"]
    assert result.not_distinguishable == ("best", "copy")
    copy, far = result.row("copy"), result.row("far")
    assert (copy.difference.estimate, copy.difference.p_value) == (0.0, 1.0)
    assert not copy.distinguishable
    assert far.distinguishable and far.difference.high < 0 and far.p_adjusted < 1e-6
    assert result.row("seeds").distinguishable
    assert result.row("seeds").difference.n_seeds_a == 3
    assert result.row("seeds").validation == pytest.approx(1.84 / 3)  # mean over seeds
    assert result.row("best").difference is None
    assert "Holm" in result.method and "(best)" in result.method and "95%" in result.method
    assert "2000 test images" in result.method and "several seeds" in result.method


def test_best_is_chosen_on_validation_never_on_test():
    rng = np.random.default_rng(1)
    test = {"val_winner": rng.random(1000) < 0.80, "test_winner": rng.random(1000) < 0.95}
    result = not_distinguishable_from_best(
        {"val_winner": 0.91, "test_winner": 0.90}, test, n_resamples=300
    )
    assert result.best == "val_winner"
    # The test winner is above the best: its interval is above 0, so it stays in the set.
    row = result.row("test_winner")
    assert row.difference.low > 0 and not row.distinguishable


def test_validation_ties_go_to_the_first_name():
    flags = np.ones(50, bool)
    result = not_distinguishable_from_best({"b": 0.5, "a": 0.5}, {"b": flags, "a": flags},
                                           n_resamples=100)
    assert result.best == "a"


def test_holm_by_hand():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, max(0.04 * 1, 0.06) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert adjust([0.01, 0.04, 0.03, 0.005], "none") == pytest.approx([0.01, 0.04, 0.03, 0.005])
    # Benjamini-Hochberg (scipy): sorted p * m / rank, running min from the top.
    assert adjust([0.01, 0.04, 0.03, 0.005], "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])


def _marginal_grid() -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """A best, a recipe 20 vs 7 discordant images below it (McNemar p = 0.019), ten copies."""
    best = np.r_[np.ones(320, bool), np.ones(20, bool), np.zeros(7, bool), np.zeros(53, bool)]
    marginal = np.r_[np.ones(320, bool), np.zeros(20, bool), np.ones(7, bool),
                     np.zeros(53, bool)]
    test = {"best": best, "marginal": marginal} | {f"copy{i}": best.copy() for i in range(10)}
    val = {"best": 0.9, "marginal": 0.8} | {f"copy{i}": 0.7 for i in range(10)}
    return val, test


def test_holm_keeps_a_marginal_recipe_that_one_comparison_alone_would_exclude():
    val, test = _marginal_grid()
    alone = not_distinguishable_from_best(val, test, multiplicity="none", n_resamples=2000)
    row = alone.row("marginal")
    assert row.difference.p_value == pytest.approx(0.0191572904586792)
    assert row.difference.high < 0 and row.distinguishable
    family = not_distinguishable_from_best(val, test, n_resamples=2000)
    row = family.row("marginal")
    assert row.p_adjusted == pytest.approx(11 * 0.0191572904586792)
    assert not row.distinguishable
    assert "marginal" in family.not_distinguishable
    assert "unadjusted" in alone.method


def test_bad_inputs_are_named():
    flags = np.ones(10, bool)
    with pytest.raises(ValueError, match=r"only in validation \['b'\]"):
        not_distinguishable_from_best({"a": 0.5, "b": 0.4}, {"a": flags})
    with pytest.raises(ValueError, match="a has 9 images, b has 10"):
        not_distinguishable_from_best({"a": 0.5, "b": 0.4}, {"a": flags, "b": flags[:9]})
    with pytest.raises(ValueError, match="multiplicity must be one of"):
        not_distinguishable_from_best({"a": 0.5}, {"a": flags}, multiplicity="bonferroni")
    with pytest.raises(ValueError, match="validation of 'a' must be finite"):
        not_distinguishable_from_best({"a": float("nan")}, {"a": flags})


def _staircase(seed: int = 3) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """A best at 88% and recipes 0 to 10 pp below it on 2000 images (independent errors:
    a difference's sd is ~1 pp), some near the edge."""
    rng = np.random.default_rng(seed)
    test = {f"r{i}": rng.random(2000) < 0.88 - 0.01 * i for i in range(11)}
    val = {name: 0.9 - 0.01 * i for i, name in enumerate(test)}
    return val, test


@pytest.mark.parametrize("multiplicity", ["holm", "bh", "none"])
def test_the_printed_interval_is_the_one_membership_was_decided_with(multiplicity):
    val, test = _staircase()
    result = not_distinguishable_from_best(val, test, multiplicity=multiplicity,
                                           n_resamples=500)
    marked = [row for row in result.rows[1:] if row.distinguishable]
    assert 0 < len(marked) < len(result.rows) - 1  # some of each: the rule is exercised
    for row in result.rows[1:]:
        # In the set exactly when the printed interval reaches 0 (contains it, or lies above).
        assert row.distinguishable == (row.difference.high < 0)
        assert (row.name in result.not_distinguishable) == (row.difference.high >= 0)
    levels = {row.difference.confidence for row in result.rows[1:]}
    if multiplicity == "none":
        assert levels == {0.95}
    else:  # adjusted: at least 95%, at most Bonferroni over all 10 comparisons
        assert min(levels) >= 0.95 and max(levels) <= 1 - 0.05 / 10 + 1e-12
        assert max(levels) > 0.95


def test_holm_steps_down_a_marked_recipe_keeps_its_steps_level():
    val, test = _staircase()
    result = not_distinguishable_from_best(val, test, n_resamples=500)
    by_level: dict[float, list[bool]] = {}
    for row in result.rows[1:]:
        by_level.setdefault(row.difference.confidence, []).append(row.distinguishable)
    first = 1 - 0.05 / 10  # step 1: all 10 comparisons open
    assert first in by_level
    # The unmarked ones share the last step's level, the least strict one used.
    unmarked = {row.difference.confidence for row in result.rows[1:]
                if not row.distinguishable}
    assert len(unmarked) == 1 and unmarked.pop() == min(by_level)


def _rerun(run_seed: int, n_images: int = 3000, recipes: int = 30, seed_sd: float = 0.008):
    """A grid as the search leaves it: four leaders raced to 3 seeds, the rest trained once.

    The recipes' true accuracies and the images' difficulty are fixed; `run_seed` draws the
    training randomness (each training's accuracy shift, sd `seed_sd`, and which images it
    gets right beyond their difficulty), as a rerun under another base seed does.
    """
    fixed = np.random.default_rng(1234)
    true = 0.87 - np.sort(fixed.exponential(0.02, recipes))
    hard = fixed.random(n_images)
    rng = np.random.default_rng(run_seed)

    def train(acc: float) -> np.ndarray:
        score = 0.6 * hard + 0.4 * rng.random(n_images)
        return score < np.quantile(score, acc + rng.normal(0.0, seed_sd))

    test = {f"r{i:02d}": np.stack([train(acc) for _ in range(3 if i < 4 else 1)])
            for i, acc in enumerate(true)}
    val = {name: [float(x.mean() + rng.normal(0.0, 0.004)) for x in runs]
           for name, runs in test.items()}
    return val, test


def _jaccard(a, b) -> float:
    return len(set(a) & set(b)) / len(set(a) | set(b))


@pytest.mark.slow
def test_pooled_seed_spread_makes_the_best_set_replicate(monkeypatch):
    """Three reruns of one grid: the best sets agree more when a one-seed recipe's comparison
    carries the seed spread pooled from the raced recipes than on its test images alone."""
    def mean_overlap() -> float:
        sets = [not_distinguishable_from_best(*_rerun(s), n_resamples=400).not_distinguishable
                for s in range(3)]
        return float(np.mean([_jaccard(sets[i], sets[j]) for i, j in ((0, 1), (0, 2), (1, 2))]))

    pooled = mean_overlap()
    result = not_distinguishable_from_best(*_rerun(0), n_resamples=400)
    assert "pooled over the 4 recipes with several seeds" in result.method
    monkeypatch.setattr("trainlab.stats.best.pooled_seed_sd", lambda correct: (None, 0))
    images_only = mean_overlap()
    assert pooled >= 0.7 and pooled > images_only + 0.05, (pooled, images_only)


def test_membership_does_not_follow_the_resampling_seed():
    """Holm's first step reads a 1 - 0.05/29 tail: a percentile interval there rests on a
    handful of the 400 replicates and the resampling seed moves recipes in and out; the normal
    interval (the bootstrap's standard error, every replicate) gives one set under every seed."""
    grid = _rerun(0)

    def sets(method: str) -> set[tuple[str, ...]]:
        return {not_distinguishable_from_best(*grid, n_resamples=400, seed=s,
                                              method=method).not_distinguishable
                for s in range(6)}

    assert len(sets("normal")) == 1
    assert len(sets("percentile")) > 1


def test_the_adjusted_p_value_and_the_mark_agree_with_several_seeds():
    rng = np.random.default_rng(5)
    test = {f"r{i}": rng.random((3, 2000)) < 0.88 - 0.008 * i for i in range(11)}
    val = {name: 0.9 - 0.01 * i for i, name in enumerate(test)}
    result = not_distinguishable_from_best(val, test, n_resamples=500)
    marked = [row.distinguishable for row in result.rows[1:]]
    assert any(marked) and not all(marked)
    for row in result.rows[1:]:
        assert row.distinguishable == (row.p_adjusted < 0.05), row
    assert "standard error" in result.method
