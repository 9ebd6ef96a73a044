"""What the transfer stage writes, typed: its one owner, for the stage and every reader.

- `reports/transfer.csv`: one :class:`CellResult` per backbone x mode x target size x seed
  (`stats.seeds` trainings a cell);
- `reports/transfer.json`: a :class:`TransferSummary`; metrics/transfer.json its `tl_gain`,
  the declared :class:`Headline` gain;
- :func:`transfer_gains`: a pretrained mode's test accuracy over training from scratch (mean
  over seeds), the one computation the stage's summary, the claims and the report all use;
  :func:`gain_interval` its seed x image interval from the cells' per-image results.

Accuracies are fractions with 4 decimals (what the CSV keeps), gains percentage points.
Pydantic and numpy/scipy only, so the claims and report stages read these without torch or
Lightning.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator

from trainlab.config.pretrained import TransferConfig
from trainlab.config.schema import StatsConfig
from trainlab.correctness import load_correct
from trainlab.errors import DataError
from trainlab.stagefile import StageFile
from trainlab.stats.intervals import Interval
from trainlab.stats.paired import paired_difference

STAGE = "transfer"  # `dvc repro transfer` writes these files
SCRATCH = "scratch"  # the mode every pretrained mode is measured against

# The model holds what the file holds, so a write -> read round trip is exact: accuracies
# keep 4 decimals (0.01 pp), seconds 2.
Fraction = Annotated[float, AfterValidator(lambda value: round(value, 4))]
Seconds = Annotated[float, AfterValidator(lambda value: round(value, 2))]


class CellResult(StageFile):
    """One backbone x mode x size cell (a line of transfer.csv): the best (val) snapshot."""

    backbone: str
    mode: str  # linear_probe | finetune | scratch
    size: int  # target train images actually used
    # The training's seed (head initialisation, batch order; the subset is the same for every
    # seed). None: a transfer.csv from before seeds, one training a cell.
    seed: int | None = None
    test_acc: Fraction
    final_train_acc: Fraction  # on the cell's (unaugmented) train subset, best snapshot
    gap_acc: Fraction  # final_train_acc - test_acc
    val_acc: Fraction  # best target val accuracy (the snapshot kept)
    epochs: int  # epochs run
    best_epoch: int
    seconds: Seconds  # the cell's training and evaluation (shared features: see the summary)
    run_id: str
    requested_size: str  # the `transfer.sizes` entry ("all" or a number)
    test_correct: str | None  # per target test image, right or not (trainlab.correctness)


class GainBand(StageFile):
    """A gain's seed x image interval (`trainlab.stats.paired.paired_difference`), pp."""

    low_points: float
    high_points: float
    seeds: int  # the fewest trainings of a side (one: never decided)


class SizeScores(StageFile):
    """Every mode of one backbone at one target size, each a mean over its seeds."""

    size: int
    test_acc: dict[str, float]  # mode -> test accuracy, mean over seeds
    gain_points: dict[str, float]  # pretrained mode -> gain over scratch, mean over seeds
    # pretrained mode -> the gain's interval at the summary's confidence (absent: a cell
    # without per-image results)
    gain_interval: dict[str, GainBand] = {}


class Headline(StageFile):
    """The declared gain (`transfer.headline`) the DVC metric `tl_gain` is, with its interval."""

    backbone: str
    mode: str
    size: int  # the smallest target size
    gain_points: float  # mode minus scratch, mean over seeds
    low_points: float | None  # seed x image interval at `confidence` (None: no per-image data)
    high_points: float | None
    confidence: float
    seeds: int  # the fewest trainings of a side
    method: str


class BackboneSummary(StageFile):
    smallest: SizeScores
    largest: SizeScores
    seconds: float  # its cells' own seconds, summed
    feature_seconds: float | None  # the frozen features, computed once (pretrained modes)
    # The `source` backbone: trainlab's own network pretrained on the source classes.
    source_test_acc: float | None
    source_seconds: float | None
    source_checkpoint: str | None
    source_run_id: str | None


class TransferSummary(StageFile):
    """reports/transfer.json."""

    total_seconds: float
    cells: int  # trainings: backbone x mode x size x seed
    seeds: int = 1  # trainings a cell (`stats.seeds`)
    confidence: float = 0.95  # of every interval here (`stats.confidence`)
    source_classes: tuple[int, ...]
    target_classes: tuple[int, ...]
    backbones: dict[str, BackboneSummary]
    headline: Headline | None = None  # None: no pretrained mode or no scratch was trained

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/transfer.json): the declared gain (`transfer.headline`) over
        scratch at the smallest target size, mean over seeds, pp (`tl_gain`; its interval:
        `headline` in reports/transfer.json)."""
        return {"tl_gain": None if self.headline is None else self.headline.gain_points}


@dataclass(frozen=True)
class Gain:
    backbone: str
    mode: str
    size: int
    gain_points: float
    seeds: int = 1  # the fewest trainings (rows) of the mode's and the scratch cells


def transfer_gains(cells: Sequence[CellResult]) -> list[Gain]:
    """Test accuracy of each pretrained mode minus training from scratch at the same size, in
    points, sorted by backbone, mode and size.

    The baseline is the scratch cells of the same backbone and size; when there are none (the
    scratch runs carry another backbone label), every scratch cell of that size. Cells that
    repeat (backbone, mode, size), one row per seed, are averaged: with the same seeds on both
    sides the difference of the means is the mean over seeds of the per-seed gains.
    Accuracies have 4 decimals, so a gain has 2: rounding it to 4 only drops float noise.
    """
    accs: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for cell in cells:
        accs[(cell.backbone, cell.mode, cell.size)].append(cell.test_acc)
    means = {key: statistics.fmean(values) for key, values in accs.items()}
    gains = []
    for (backbone, mode, size), acc in sorted(means.items()):
        if mode == SCRATCH:
            continue
        base = [a for (b, m, s), a in means.items() if m == SCRATCH and s == size and b == backbone]
        base = base or [a for (_, m, s), a in means.items() if m == SCRATCH and s == size]
        if base:
            seeds = min(len(accs[(backbone, mode, size)]),
                        len(_scratch(cells, backbone, size)))
            gains.append(Gain(backbone, mode, size,
                              round(100.0 * (acc - statistics.fmean(base)), 4), seeds))
    return gains


def _scratch(cells: Sequence[CellResult], backbone: str, size: int) -> list[CellResult]:
    """The scratch cells a gain of `backbone` at `size` is measured against (transfer_gains)."""
    at_size = [c for c in cells if c.mode == SCRATCH and c.size == size]
    return [c for c in at_size if c.backbone == backbone] or at_size


def seed_correctness(cells: Sequence[CellResult]) -> np.ndarray:
    """The cells' per-image test correctness, one row per seed (n_seeds, n_images).

    Raises:
        DataError: a cell without per-image results (an older transfer.csv), or cells scored
            on different numbers of images.
    """
    arrays = [load_correct(cell.test_correct) for cell in cells]
    if len({array.shape for array in arrays}) != 1:
        raise DataError(f"the cells {[c.run_id for c in cells]} score different test images; "
                        "rerun `dvc repro transfer`")
    return np.stack(arrays)


def gain_interval(cells: Sequence[CellResult], gain: Gain, confidence: float,
                  resamples: int) -> Interval | None:
    """`gain`'s seed x image interval, pp: each side's seeds resampled on their own, the
    target test images (which every cell scores) jointly (`stats.paired.paired_difference`).
    None when a cell has no per-image results (an older transfer.csv)."""
    mine = [c for c in cells if (c.backbone, c.mode, c.size) == (gain.backbone, gain.mode,
                                                                  gain.size)]
    try:
        diff = paired_difference(seed_correctness(mine),
                                 seed_correctness(_scratch(cells, gain.backbone, gain.size)),
                                 confidence, n_resamples=resamples)
    except DataError:
        return None
    return Interval(100.0 * diff.estimate, 100.0 * diff.low, 100.0 * diff.high, confidence,
                    diff.n_images, diff.method, seeds=diff.interval.seeds)


def summarise(cells: Sequence[CellResult], notes: Mapping[str, Mapping[str, Any]],
              seconds: float, source_classes: Sequence[int],
              target_classes: Sequence[int], *, stats: StatsConfig | None = None,
              transfer: TransferConfig | None = None) -> TransferSummary:
    """The stage's summary: per backbone the test accuracy of each mode (mean over seeds) at
    the smallest and the largest size, the gains over scratch with their seed x image
    intervals at `stats.confidence`, the declared headline gain (`transfer.headline`) and the
    stage's total seconds; `notes` per backbone add what was measured once for it (feature
    seconds, the source pretraining)."""
    stats = stats or StatsConfig()
    gains = transfer_gains(cells)
    intervals = {(g.backbone, g.mode, g.size): gain_interval(cells, g, stats.confidence,
                                                             stats.resamples)
                 for g in gains}
    backbones = {}
    for backbone in dict.fromkeys(c.backbone for c in cells):
        own = [c for c in cells if c.backbone == backbone]
        sizes = sorted({c.size for c in own})
        scores = {
            label: SizeScores(
                size=size,
                test_acc={mode: round(statistics.fmean(c.test_acc for c in own
                                                       if c.size == size and c.mode == mode), 4)
                          for mode in dict.fromkeys(c.mode for c in own if c.size == size)},
                gain_points={g.mode: g.gain_points for g in gains
                             if g.backbone == backbone and g.size == size},
                gain_interval={g.mode: _band(band) for g in gains
                               if g.backbone == backbone and g.size == size
                               and (band := intervals[(g.backbone, g.mode, g.size)])},
            )
            for label, size in (("smallest", sizes[0]), ("largest", sizes[-1]))
        }
        measured = {"seconds": round(sum(c.seconds for c in own), 2), **scores}
        noted = dict.fromkeys(set(BackboneSummary.model_fields) - set(measured))  # None
        noted |= notes.get(backbone, {})
        backbones[backbone] = BackboneSummary(**measured, **noted)
    trainings = Counter((c.backbone, c.mode, c.size) for c in cells)
    return TransferSummary(total_seconds=round(seconds, 2), cells=len(cells),
                           seeds=min(trainings.values(), default=1),
                           confidence=stats.confidence, source_classes=tuple(source_classes),
                           target_classes=tuple(target_classes), backbones=backbones,
                           headline=headline(cells, gains, intervals, transfer, stats))


def _band(interval: Interval) -> GainBand:
    assert interval.low is not None and interval.high is not None  # paired_difference's
    return GainBand(low_points=round(interval.low, 4), high_points=round(interval.high, 4),
                    seeds=interval.seeds or 1)


def headline(cells: Sequence[CellResult], gains: Sequence[Gain],
             intervals: Mapping[tuple[str, str, int], Interval | None],
             transfer: TransferConfig | None, stats: StatsConfig) -> Headline | None:
    """The declared gain (`transfer.headline`): its backbone and mode over scratch at the
    smallest target size, mean over seeds, with its seed x image interval. None when the
    config names no such cell (no pretrained mode or no scratch) or it was not trained."""
    if transfer is not None:
        declared = transfer.headline_cell()
    else:  # no config (a reader's own cells): the default rule on what was trained
        modes = [g.mode for g in gains]
        declared = (cells[0].backbone, "finetune" if "finetune" in modes else modes[0]) \
            if gains else None
    if declared is None:
        return None
    backbone, mode = declared
    mine = [g for g in gains if (g.backbone, g.mode) == (backbone, mode)]
    if not mine:
        return None
    gain = min(mine, key=lambda g: g.size)
    band = intervals.get((gain.backbone, gain.mode, gain.size))
    return Headline(
        backbone=backbone, mode=mode, size=gain.size, gain_points=gain.gain_points,
        low_points=None if band is None or band.low is None else round(band.low, 4),
        high_points=None if band is None or band.high is None else round(band.high, 4),
        confidence=stats.confidence, seeds=gain.seeds,
        method=band.method if band is not None else "no per-image results: no interval",
    )

