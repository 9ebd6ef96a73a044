"""Benchmark: a slice of the `profile: full` grid at 1, 2, 4 and 8 workers on one device.

Each worker count runs `trainlab search` (the real command, its own study and MLflow
database) on the same slice of grid cells, with all of the data and the full epochs; the
figures are cells per hour and the projected wall time of the full grid (its cells x
`search.repeats`, before pruning), and each cell's test accuracy against the same cell
trained by one worker alone (the slice must not lose accuracy to sharing the device).

    python -m bench.gpu_grid --device cuda --data DIR --cells 24 --workers 1 2 4 8
    python -m bench.gpu_grid --dry-run     (CPU, digits, 2 cells, 1 and 2 workers: minutes)
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import write_result

ROOT = Path(__file__).resolve().parents[1]


def slice_params(cells: int, device: str, dry_run: bool, data_root: str | None = None) -> dict:
    """params.yaml of the slice: the full profile, its grid cut to the first `cells` cells."""
    from trainlab.config.params import load_config
    from trainlab.search.grid import grid_cells

    cfg = load_config(ROOT / "params.yaml", ["profile=full"])
    picked = grid_cells(cfg.grid)[:cells]
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["profile"] = "full"
    raw["grid"] = {
        "activation": sorted({c.activation for c in picked}),
        "regularization": sorted({c.regularization for c in picked}),
        "augmentation": sorted({c.augmentation for c in picked}),
    }
    raw["search"]["race"] = {"enabled": False}  # the slice's cells, each once: comparable
    raw["search"]["repeats"] = 1
    raw["train"]["device"] = device
    raw["tracking"]["register_models"] = False
    if data_root:
        raw["data"]["root"] = str(Path(data_root).resolve())
    if dry_run:
        raw["data"] = {"dataset": "digits", "prepared_dir": "data/prepared"}
        raw["profiles"]["full"] |= {"train.epochs": 1, "train.patience": None}
        raw["model"]["arch"] = "mlp"
    return raw


def run_slice(project: Path, workers: int) -> tuple[float, dict[str, float]]:
    """`trainlab search --workers N` in `project`: (wall seconds, test accuracy per cell)."""
    started = time.perf_counter()
    out = f"reports/trials_{workers}.csv"
    subprocess.run([sys.executable, "-m", "trainlab.cli", "search", "--workers", str(workers),
                    "--set", f"search.study_name=grid-{workers}", "--out-csv", out,
                    "--out-json", f"reports/search_{workers}.json",
                    "--out-cells", f"reports/cells_{workers}.csv",
                    "--metrics", f"reports/metrics_{workers}.json"],
                   cwd=project, check=True, env=os.environ | {"TRAINLAB_PROGRESS": "0"})
    wall = time.perf_counter() - started
    with (project / out).open() as stream:
        accuracy = {row["cell"]: float(row["test_acc"]) for row in csv.DictReader(stream)
                    if row["state"] == "COMPLETE"}
    return wall, accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--data", default=None, help="a prepared-data folder (full profile)")
    parser.add_argument("--data-root", default=None,
                        help="Fashion-MNIST's raw files (data.root), prepared here")
    parser.add_argument("--cells", type=int, default=24, help="grid cells in the slice")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, digits, 2 cells, 1 and 2 workers, 1 epoch: checks the script")
    parser.add_argument("--results", default=None, help="where gpu_grid.json goes")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.device, args.cells, args.workers = "cpu", 2, [1, 2]
    from trainlab.config.params import load_config
    from trainlab.search.grid import grid_cells

    full = load_config(ROOT / "params.yaml", ["profile=full"])
    full_trials = len(grid_cells(full.grid)) * full.search.repeats
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-grid-") as tmp:
        project = Path(tmp)
        (project / "params.yaml").write_text(
            yaml.safe_dump(slice_params(args.cells, args.device, args.dry_run, args.data_root),
                           sort_keys=False))
        if args.data:
            (project / "data").mkdir()
            (project / "data" / "prepared").symlink_to(Path(args.data).resolve())
        else:
            subprocess.run([sys.executable, "-m", "trainlab.cli", "prepare"], cwd=project,
                           check=True)
        alone: dict[str, float] = {}
        for workers in args.workers:
            wall, accuracy = run_slice(project, workers)
            alone = alone or accuracy  # the first count (1 worker) is the reference
            shared = sorted(set(alone) & set(accuracy))
            diff = max((abs(accuracy[c] - alone[c]) for c in shared), default=None)
            per_hour = 3600 * len(accuracy) / wall
            rows.append({
                "workers": workers, "cells": len(accuracy), "wall_s": round(wall, 1),
                "cells_per_hour": round(per_hour, 1),
                "projected_full_grid_min": round(60 * full_trials / per_hour, 1),
                "max_abs_test_acc_diff_vs_1_worker": diff,
            })
            print(f"gpu_grid: {workers} worker(s): {len(accuracy)} cells in {wall:.0f} s, "
                  f"{per_hour:.0f} cells/h, full grid ({full_trials} trials) ~"
                  f"{rows[-1]['projected_full_grid_min']:.0f} min; max |test acc - 1 worker| "
                  f"{diff}", flush=True)
    command = "python -m bench.gpu_grid " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_result("gpu_grid", {"device": args.device, "full_grid_trials": full_trials,
                              "dry_run": args.dry_run, "rows": rows}, command, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
