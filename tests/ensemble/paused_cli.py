"""`python -m trainlab.cli ARGS`, held still just before it opens a chosen file.

For the interrupt tests: they need the real command stopped at a known moment (mid-prediction,
inside its MLflow run) rather than after a guessed sleep. `TRAINLAB_PAUSE_AT` is a regular
expression; the first time the main thread opens a path that matches it (Python's "open"
audit event: builtins.open, os.open, so also tempfile and torch.load), this prints
`paused before opening PATH` to stderr and sleeps until a signal's handler raises (Ctrl-C's
KeyboardInterrupt, or trainlab's own SIGTERM handler). The open then fails with that
exception, as it would had the signal arrived a moment earlier. Nothing of trainlab, MLflow,
Optuna or the file system is replaced.

Usage: python paused_cli.py COMMAND [ARGS...]   (the arguments of `trainlab`)
"""

from __future__ import annotations

import os
import re
import runpy
import sys
import threading
import time

PAUSED = "paused before opening"

_pattern = re.compile(os.environ["TRAINLAB_PAUSE_AT"])
_paused = False


def _pause_at_open(event: str, args: tuple) -> None:
    global _paused
    if _paused or event != "open" or threading.current_thread() is not threading.main_thread():
        return
    path = args[0]
    if not isinstance(path, str | bytes | os.PathLike):  # a file descriptor
        return
    path = os.fsdecode(path)
    if not _pattern.search(path):
        return
    _paused = True
    print(f"{PAUSED} {path}", file=sys.stderr, flush=True)
    while True:  # until the test's signal: its handler raises out of this sleep
        time.sleep(1.0)


if __name__ == "__main__":
    sys.addaudithook(_pause_at_open)
    sys.argv = ["trainlab", *sys.argv[1:]]
    runpy.run_module("trainlab.cli", run_name="__main__", alter_sys=True)
