"""The one computation of transfer gains, shared by the stage's summary, the claims and the
report (`trainlab.transfer.results`)."""

from __future__ import annotations

from stagefiles import cell  # tests/stagefiles.py

from trainlab.transfer.results import Gain, summarise, transfer_gains


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
