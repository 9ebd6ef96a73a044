"""What every benchmark shares: the machine, the data, interleaved timing, the result files.

The development machines are shared (other jobs run on the same two cores), so a benchmark
never compares numbers taken at different times: the variants run side by side in one
process, alternating their order round by round, and the figure reported is the median over
rounds of the per-round ratio.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
# The pipeline's own data sizes (params.yaml): 10,000 train, 2,000 val, the 10,000 test images.
DATA_OVERRIDES = {"data.dataset": "fashion_mnist", "data.train_subset": 10_000,
                  "data.val_subset": 2_000, "data.test_subset": None}


def quiet() -> None:
    """Silence Lightning's banners and MLflow's per-run lines (the benchmarks print tables)."""
    import lightning.pytorch  # noqa: F401  (sets its loggers' levels when imported)

    for name in ("lightning.pytorch", "lightning.fabric", "mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    warnings.filterwarnings("ignore")


def machine() -> dict[str, Any]:
    """Where the numbers come from: CPU model, usable cores, torch version, GPU if any."""
    import torch

    from trainlab.provenance import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def fashion_mnist(
    project: str | Path = ".", prepared: str | Path | None = None, **overrides: Any
):
    """Prepared Fashion-MNIST: the folder `prepared` if given; else the project's
    `data/prepared` when it holds the pipeline's Fashion-MNIST; else prepared now from
    Debian's files with the pipeline's sizes (plus `overrides`)."""
    from trainlab.config.params import Config
    from trainlab.data.prepared import load_prepared, prepare
    from trainlab.errors import DataError

    if prepared is not None:
        return load_prepared(prepared)
    prepared = Path(project) / "data" / "prepared"
    if not overrides and (prepared / "data.pt").is_file():
        try:
            data = load_prepared(prepared)
            if data.dataset == "fashion_mnist" and len(data.train) == DATA_OVERRIDES[
                "data.train_subset"
            ]:
                return data
        except DataError:
            pass
    cfg = Config().replace(**(DATA_OVERRIDES | overrides))
    return prepare(cfg)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, fn's result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def interleave(
    variants: Mapping[str, Callable[[], Any]], rounds: int, log: Callable[[str], None] = print
) -> dict[str, dict[str, list[float]]]:
    """Run every variant once per round, the order rotating each round.

    Returns per variant the wall and CPU seconds of each round, in round order.
    """
    names = list(variants)
    out = {name: {"wall": [], "cpu": []} for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            wall, cpu, _ = timed(variants[name])
            out[name]["wall"].append(wall)
            out[name]["cpu"].append(cpu)
        log(f"  round {r + 1}/{rounds}: " + ", ".join(
            f"{name} {out[name]['wall'][-1]:.2f} s" for name in names))
    return out


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator[i] / denominator[i]."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def median_ratio_ci(
    numerator: list[float], denominator: list[float], level: float = 0.95,
    resamples: int = 4000, seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of `median_ratio` over the rounds (seeded: repeatable).

    With a handful of rounds on shared cores it is wide; it says which differences the
    rounds can resolve, where the median alone reads as more precise than it is.
    """
    import random

    ratios = [n / d for n, d in zip(numerator, denominator, strict=True)]
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios)))
                     for _ in range(resamples))
    tail = (1.0 - level) / 2
    return medians[int(tail * resamples)], medians[int((1.0 - tail) * resamples) - 1]


def percent_interval(interval: list[float] | tuple[float, float]) -> str:
    """A ratio interval as the percent change it brackets: "95% CI -1.6..+7.1%"."""
    low, high = (100 * (bound - 1) for bound in interval)
    return f"95% CI {low:+.1f}..{high:+.1f}%"


def write_result(
    name: str, payload: dict[str, Any], command: str, folder: str | Path | None = None
) -> Path:
    """<folder>/<name>.json (bench/results by default) with the machine and the command."""
    folder = Path(folder) if folder else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    body = {"benchmark": name, "command": command,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()} | payload
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
