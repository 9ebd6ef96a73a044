"""A hold point for the tests that stop a training process: `TRAINLAB_TEST_HOLD=FIT:EPOCH`.

The kill, interrupt and worker tests must stop a real `trainlab` process while it trains,
whatever the speed of the machine: a guessed sleep lands mid-training on one machine and
after the end of the search on a machine twice as fast. So the process holds still at a chosen
moment of its training, says so in a file the test waits for, and stays there until the test
sends its signal (SIGKILL, SIGINT, SIGTERM) or releases it (SIGUSR1).

Nothing of trainlab, Lightning, MLflow or Optuna is replaced: Lightning loads this callback
into every Trainer through its own extension point, the `lightning.pytorch.callbacks_factory`
entry point (this folder's .dist-info), when the folder is on PYTHONPATH. Without
`TRAINLAB_TEST_HOLD` the factory returns no callback.

- `FIT` counts the fits of this process from 1 (a search's trials, a transfer's cells, in order);
- `EPOCH` 0 holds when training starts (after the trial's MLflow run exists), N >= 1 at the end
  of the N-th training epoch, `end` once the fit has ended (its results not yet written).

When it holds, it writes `TRAINLAB_TEST_HOLD_DIR/<pid>.json` ({"pid", "fit", "epoch"}) and
prints `held at fit F epoch E` to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from lightning.pytorch.callbacks import Callback

SPEC = "TRAINLAB_TEST_HOLD"
FOLDER = "TRAINLAB_TEST_HOLD_DIR"
HELD = "held at fit"

_fits = 0  # fits started in this process (one Trainer each, so counted here, not per callback)


def parse(spec: str) -> tuple[int, int | str]:
    """`"FIT:EPOCH"` -> (fit, epoch); a clear error for anything else."""
    fit, _, epoch = spec.partition(":")
    try:
        parsed = (int(fit), epoch if epoch == "end" else int(epoch))
    except ValueError:
        parsed = (0, -1)
    if parsed[0] < 1 or (parsed[1] != "end" and parsed[1] < 0):
        raise ValueError(f"{SPEC}={spec!r}: expected FIT:EPOCH with FIT >= 1 and EPOCH >= 0 "
                         "or 'end' (e.g. 2:1, the end of the second fit's first epoch)")
    return parsed


class Hold(Callback):
    def __init__(self, fit: int, epoch: int | str) -> None:
        self.fit, self.epoch = fit, epoch

    def on_fit_start(self, trainer, pl_module) -> None:
        global _fits
        _fits += 1

    def on_train_start(self, trainer, pl_module) -> None:
        if self.epoch == 0:
            self._hold_if_due(0)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._hold_if_due(trainer.current_epoch + 1)

    def on_fit_end(self, trainer, pl_module) -> None:
        self._hold_if_due("end")

    def _hold_if_due(self, epoch: int | str) -> None:
        if (_fits, epoch) != (self.fit, self.epoch):
            return
        released = []
        previous = signal.signal(signal.SIGUSR1, lambda *_: released.append(True))
        folder = Path(os.environ.get(FOLDER, "."))
        folder.mkdir(parents=True, exist_ok=True)
        marker = {"pid": os.getpid(), "fit": _fits, "epoch": epoch}
        temporary = folder / f".{os.getpid()}.tmp"  # the test reads whole files only
        temporary.write_text(json.dumps(marker))
        temporary.replace(folder / f"{os.getpid()}.json")
        print(f"{HELD} {_fits} epoch {epoch}", file=sys.stderr, flush=True)
        while not released:  # a signal's handler raises out of this sleep, or SIGUSR1 ends it
            time.sleep(0.02)
        signal.signal(signal.SIGUSR1, previous)


def callbacks() -> list[Callback]:
    spec = os.environ.get(SPEC)
    return [Hold(*parse(spec))] if spec else []
