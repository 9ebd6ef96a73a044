"""How many trials one device holds at once, and waiting for room before a trial starts.

A trial keeps the prepared splits on its device (trainlab.data.loader), the network with its
gradients and Adam's two moments, and one batch's activations. `search.workers: auto`
divides the device's free memory by that estimate (with a margin), capped by the cores that
feed the device and by MAX_WORKERS; on the CPU it is one worker per usable core (one torch
thread each, the fastest split on the project's machines: bench/README.md).

Before each trial a worker checks the device's free memory: a trial that does not fit waits
(polling) until another finishes, and never starts to crash itself or the others with an
out-of-memory error. The estimate is deliberately rough and errs high; what it must get
right is the order of magnitude, which the tests pin down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from trainlab.config.params import Config
from trainlab.data.prepared import PreparedData

MAX_WORKERS = 8  # per device: beyond it kernel launches from more processes stop helping
MARGIN = 1.5  # the estimate x this must be free before a trial starts
CUDA_CONTEXT_BYTES = 512 * 2**20  # what a process's CUDA context and allocator reserve
ACTIVATION_FACTOR = 64  # activations + their gradients per input pixel (float32), CNN-sized
POLL_S = 5.0  # seconds between checks while a trial waits for memory


def trial_bytes(cfg: Config, data: PreparedData, parameters: int, device: torch.device) -> int:
    """Device memory one trial of `cfg` needs, roughly: data, model state, activations."""
    splits = sum(split.images.numel() + 8 * split.labels.numel() for split in data.splits.values())
    state = 16 * parameters  # float32 weights, gradients, Adam's two moments
    channels, height, width = data.image_shape
    batch = max(cfg.train.batch_size, 1)
    activations = 4 * batch * channels * height * width * ACTIVATION_FACTOR
    context = CUDA_CONTEXT_BYTES if device.type == "cuda" else 0
    return splits + state + activations + context


def auto_workers(device: torch.device, cores: int, free_bytes: int, need_bytes: int) -> int:
    """`search.workers: auto`: trials at once on `device`, at least 1.

    CUDA: as many as fit in `free_bytes` with MARGIN, at most one per core feeding the GPU
    and MAX_WORKERS. CPU: one per core.
    """
    if device.type != "cuda":
        return max(1, cores)
    fit = math.floor(free_bytes / (need_bytes * MARGIN)) if need_bytes > 0 else MAX_WORKERS
    return max(1, min(fit, cores, MAX_WORKERS))


def free_bytes(device: torch.device, meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Free memory of `device`: CUDA's free bytes, or the host's MemAvailable; None unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def wait_for_memory(need_bytes: int, free: Callable[[], int | None], say: Callable[[str], None],
                    poll: float = POLL_S, sleep: Callable[[float], None] = time.sleep) -> float:
    """Block until `free()` reports `need_bytes` x MARGIN; the seconds waited.

    Says once why it waits. An unknown free memory (None) never blocks.
    """
    waited, told = 0.0, False
    while (available := free()) is not None and available < need_bytes * MARGIN:
        if not told:
            say(f"waiting for {need_bytes * MARGIN / 2**30:.2f} GiB of free device memory "
                f"({available / 2**30:.2f} GiB free): another trial must finish first")
            told = True
        sleep(poll)
        waited += poll
    return waited
