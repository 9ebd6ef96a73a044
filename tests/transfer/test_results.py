"""The one computation of transfer gains, shared by the stage's summary, the claims and the
report (`trainlab.transfer.results`)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from stagefiles import cell  # tests/stagefiles.py

from trainlab.claims import evidence, rules
from trainlab.config.claims import ClaimRules
from trainlab.config.pretrained import TransferConfig, TransferHeadline
from trainlab.config.schema import StatsConfig
from trainlab.correctness import save_correct
from trainlab.stats.verdict import HOLDS, INCONCLUSIVE
from trainlab.transfer.results import Gain, gain_interval, summarise, transfer_gains


def test_gains_use_the_scratch_cell_of_the_same_backbone_and_size():
    cells = [cell("b", "scratch", 100, 0.6), cell("b", "finetune", 100, 0.7123),
             cell("a", "scratch", 100, 0.5), cell("a", "finetune", 1000, 0.9),
             cell("a", "linear_probe", 100, 0.55), cell("a", "scratch", 1000, 0.8)]
    assert transfer_gains(cells) == [  # by backbone, mode, size; 4 decimals, no float noise
        Gain("a", "finetune", 1000, 10.0), Gain("a", "linear_probe", 100, 5.0),
        Gain("b", "finetune", 100, 11.23)]


def test_without_a_scratch_cell_of_its_backbone_any_scratch_of_that_size_is_the_baseline():
    cells = [cell("scratch-net", "scratch", 100, 0.6), cell("other", "scratch", 100, 0.7),
             cell("pretrained", "linear_probe", 100, 0.8), cell("pretrained", "finetune", 50, 0.9)]
    # The mean of both scratch cells at 100 images (0.65); none at 50: no gain there.
    assert transfer_gains(cells) == [Gain("pretrained", "linear_probe", 100, 15.0)]


def test_repeated_cells_are_averaged():
    cells = [cell("a", "scratch", 100, 0.6), cell("a", "finetune", 100, 0.7),
             cell("a", "finetune", 100, 0.8)]
    assert transfer_gains(cells) == [Gain("a", "finetune", 100, 15.0)]


def test_the_summary_reports_the_same_gains_at_the_smallest_and_largest_size():
    cells = [cell("a", mode, size, acc) for size, accs in ((100, (0.6, 0.7)), (20, (0.3, 0.45)))
             for mode, acc in zip(("scratch", "finetune"), accs, strict=True)]
    summary = summarise(cells, {"a": {"feature_seconds": 1.5}}, 10.0, (0, 1), (2, 3))
    a = summary.backbones["a"]
    assert (a.smallest.size, a.largest.size) == (20, 100)
    assert a.smallest.gain_points == {"finetune": 15.0} and a.largest.gain_points == {
        "finetune": 10.0}
    assert a.smallest.test_acc == {"scratch": 0.3, "finetune": 0.45}
    assert (a.feature_seconds, a.source_run_id, a.seconds) == (1.5, None, 12.0)
    assert summary.cells == 4 and summary.target_classes == (2, 3)


# --- seeds: the seed x image interval --------------------------------------------------------
N_IMAGES = 1000


def _seed_cells(tmp_path, mode: str, size: int, accuracies, backbone: str = "a"):
    """One cell row per seed, each with its own per-image results at the given accuracy."""
    rows = []
    for seed, acc in enumerate(accuracies):
        rng = np.random.default_rng(zlib.crc32(f"{backbone}{mode}{size}{seed}".encode()))
        correct = rng.random(N_IMAGES) < acc
        path = save_correct(tmp_path / f"{backbone}-{mode}-{size}-{seed}.npy", correct)
        rows.append(cell(backbone, mode, size, correct.mean(), seed=seed,
                         test_correct=str(path)))
    return rows


def test_seeds_that_differ_widen_the_gain_interval_beyond_the_image_only_one(tmp_path):
    # Three seeds of each side that disagree by several points: the spread the image-only
    # interval (one trained model a side) cannot see.
    cells = (_seed_cells(tmp_path, "finetune", 100, (0.80, 0.88, 0.95))
             + _seed_cells(tmp_path, "scratch", 100, (0.70, 0.78, 0.84)))
    [gain] = transfer_gains(cells)
    assert gain.seeds == 3
    seeds = gain_interval(cells, gain, 0.95, 2000)
    one = [c for c in cells if c.seed == 0]
    [gain_one] = transfer_gains(one)
    images = gain_interval(one, gain_one, 0.95, 2000)
    assert seeds is not None and images is not None
    assert seeds.seeds == 3 and images.seeds == 1
    assert seeds.low < gain.gain_points < seeds.high
    assert seeds.high - seeds.low > 1.5 * (images.high - images.low)
    # The point estimate is the mean over seeds of the per-seed gains.
    per_seed = [100 * (f.test_acc - s.test_acc) for f, s in zip(cells[:3], cells[3:], strict=True)]
    assert gain.gain_points == pytest.approx(np.mean(per_seed), abs=0.01)


def test_the_headline_is_the_declared_cell_not_the_largest_gain(tmp_path):
    cells = [*_seed_cells(tmp_path, "linear_probe", 20, (0.90, 0.91)),  # the largest gain
             *_seed_cells(tmp_path, "finetune", 20, (0.75, 0.77)),
             *_seed_cells(tmp_path, "scratch", 20, (0.70, 0.72)),
             *_seed_cells(tmp_path, "finetune", 100, (0.95, 0.96)),
             *_seed_cells(tmp_path, "scratch", 100, (0.93, 0.94))]
    t = TransferConfig(backbones=("efficientnet_lite0",))
    cells = [c.model_copy(update={"backbone": "efficientnet_lite0"}) for c in cells]
    summary = summarise(cells, {}, 1.0, (0,), (1,), stats=StatsConfig(resamples=500),
                        transfer=t)
    head = summary.headline
    assert head is not None and (head.mode, head.size, head.seeds) == ("finetune", 20, 2)
    finetune = np.mean([c.test_acc for c in cells if (c.mode, c.size) == ("finetune", 20)])
    scratch = np.mean([c.test_acc for c in cells if (c.mode, c.size) == ("scratch", 20)])
    assert summary.metrics() == {"tl_gain": pytest.approx(100 * (finetune - scratch),
                                                          abs=0.02)}
    assert head.low_points < head.gain_points < head.high_points
    assert summary.seeds == 2 and summary.cells == 10
    # Declared otherwise, it is that cell.
    probe = t.model_copy(update={"headline": TransferHeadline(mode="linear_probe")})
    other = summarise(cells, {}, 1.0, (0,), (1,), stats=StatsConfig(resamples=500),
                      transfer=probe)
    assert other.headline is not None and other.headline.mode == "linear_probe"


def test_claim_9_from_one_seed_a_cell_is_never_decided_and_from_two_it_decides(tmp_path):
    def cells_at(seeds: int):
        return [c for mode, size, accs in (
            ("finetune", 20, (0.95, 0.96)), ("scratch", 20, (0.55, 0.56)),
            ("finetune", 500, (0.97, 0.97)), ("scratch", 500, (0.95, 0.96)))
            for c in _seed_cells(tmp_path, mode, size, accs[:seeds])]

    for seeds, decided in ((1, False), (2, True)):
        cells = cells_at(seeds)
        gains = {"a/finetune": {str(g.size): g.gain_points for g in transfer_gains(cells)}}
        diffs = evidence.transfer_differences(cells, gains, 0.95)
        verdict = rules.transfer(diffs, gains, ClaimRules().transfer, 0.95)
        condition = verdict.conditions["a/finetune"]
        if decided:  # +38 pp at 20 images, +1.5 at 500: far apart at 1,000 images a cell
            assert condition.status == HOLDS
        else:
            assert condition.status == INCONCLUSIVE and "one seed" in condition.reason
