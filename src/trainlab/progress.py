"""Progress for a person at a terminal, silence for a log file.

Lightning's progress bar and trainlab's own step lines appear only when stderr is a terminal
(`dvc repro` in a shell passes its terminal through); redirected to a file or a CI log, the
stages print their one line per result and nothing else. TRAINLAB_PROGRESS=0 or 1 overrides.

Ground floor: the standard library only.
"""

from __future__ import annotations

import os
import sys
import time


def on_terminal() -> bool:
    """Whether to show progress: TRAINLAB_PROGRESS if set, else whether stderr is a TTY."""
    forced = os.environ.get("TRAINLAB_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()


def remaining(seconds_each: float, left: int, parallel: int = 1) -> str:
    """'~12 min left' for `left` items of `seconds_each`, `parallel` at a time."""
    seconds = seconds_each * left / max(parallel, 1)
    if left <= 0:
        return "done"
    if seconds < 90:
        return f"~{seconds:.0f} s left"
    if seconds < 5400:
        return f"~{seconds / 60:.0f} min left"
    return f"~{seconds / 3600:.1f} h left"


class Steps:
    """'<label>: [k/N] <what> (<elapsed>)' on stderr, one line per step, on a terminal only."""

    def __init__(self, label: str, total: int, show: bool | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.show = on_terminal() if show is None else show
        self.started = time.perf_counter()

    def step(self, what: str) -> None:
        self.done += 1
        if self.show:
            elapsed = time.perf_counter() - self.started
            print(f"{self.label}: [{self.done}/{self.total}] {what} ({elapsed:.0f} s, "
                  f"{remaining(elapsed / self.done, self.total - self.done)})",
                  file=sys.stderr, flush=True)
