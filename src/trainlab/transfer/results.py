"""What the transfer stage writes, typed: its one owner, for the stage and every reader.

- `reports/transfer.csv`: one :class:`CellResult` per backbone x mode x target size;
- `reports/transfer.json` (DVC metrics): a :class:`TransferSummary`;
- :func:`transfer_gains`: a pretrained mode's test accuracy over training from scratch, the
  one computation the stage's summary, the claims and the report all use.

Accuracies are fractions with 4 decimals (what the CSV keeps), gains percentage points.
Pydantic only, so the claims and report stages read these without torch or Lightning.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator

from trainlab.stagefile import StageFile

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


class SizeScores(StageFile):
    """Every mode of one backbone at one target size."""

    size: int
    test_acc: dict[str, float]  # mode -> test accuracy
    gain_points: dict[str, float]  # pretrained mode -> gain over scratch


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
    cells: int
    source_classes: tuple[int, ...]
    target_classes: tuple[int, ...]
    backbones: dict[str, BackboneSummary]

    def metrics(self) -> dict[str, float | None]:
        """The DVC metrics (metrics/transfer.json): the largest gain of a pretrained
        backbone and mode over scratch at the smallest target size, pp (`tl_gain`)."""
        gains = [gain for b in self.backbones.values() for gain in b.smallest.gain_points.values()]
        return {"tl_gain": max(gains, default=None)}


@dataclass(frozen=True)
class Gain:
    backbone: str
    mode: str
    size: int
    gain_points: float


def transfer_gains(cells: Sequence[CellResult]) -> list[Gain]:
    """Test accuracy of each pretrained mode minus training from scratch at the same size, in
    points, sorted by backbone, mode and size.

    The baseline is the scratch cells of the same backbone and size; when there are none (the
    scratch runs carry another backbone label), every scratch cell of that size. Cells that
    repeat (backbone, mode, size) are averaged. Accuracies have 4 decimals, so a gain has 2:
    rounding it to 4 only drops float noise.
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
            gains.append(Gain(backbone, mode, size,
                              round(100.0 * (acc - statistics.fmean(base)), 4)))
    return gains


def summarise(cells: Sequence[CellResult], notes: Mapping[str, Mapping[str, Any]],
              seconds: float, source_classes: Sequence[int],
              target_classes: Sequence[int]) -> TransferSummary:
    """The DVC metrics: per backbone the test accuracy of each mode at the smallest and the
    largest size, the gains over scratch, and the stage's total seconds; `notes` per backbone
    add what was measured once for it (feature seconds, the source pretraining)."""
    gains = transfer_gains(cells)
    backbones = {}
    for backbone in dict.fromkeys(c.backbone for c in cells):
        own = [c for c in cells if c.backbone == backbone]
        sizes = sorted({c.size for c in own})
        scores = {
            label: SizeScores(
                size=size,
                test_acc={c.mode: c.test_acc for c in own if c.size == size},
                gain_points={g.mode: g.gain_points for g in gains
                             if g.backbone == backbone and g.size == size},
            )
            for label, size in (("smallest", sizes[0]), ("largest", sizes[-1]))
        }
        measured = {"seconds": round(sum(c.seconds for c in own), 2), **scores}
        noted = dict.fromkeys(set(BackboneSummary.model_fields) - set(measured))  # None
        noted |= notes.get(backbone, {})
        backbones[backbone] = BackboneSummary(**measured, **noted)
    return TransferSummary(total_seconds=round(seconds, 2), cells=len(cells),
                           source_classes=tuple(source_classes),
                           target_classes=tuple(target_classes), backbones=backbones)

