"""Benchmark 4: the grid search with the pruner against without it.

Runs `trainlab search` (the CLI the pipeline runs) twice on the same prepared data in a
scratch project: once with the median pruner (`--pruner hyperband`: that one), its settings
(warm-up, start-up trials, hand-out order) from params.yaml, and once with `none`, each
with its own Optuna storage, MLflow database and models folder. Reports the epochs
trained in total (the sum of every trial's epochs), the wall time, and the best validation
(and its test) accuracy each found.

The default grid (72 cells) on the default data takes ~14-19 min unpruned on two cores, so
`--quick` runs the same grid on 1,500 train images; the exact grid, data sizes and overrides
are written into the result. With two local workers the median pruner compares a trial with
the trials finished so far, so which trials it stops can change from run to run.

    python -m bench.search_efficiency [--quick] [--pruner median|hyperband] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import quiet, write_result
from trainlab.search.results import SearchSummary, TrialRow
from trainlab.stagefile import read_model, read_rows

ROOT = Path(__file__).resolve().parent.parent
TARGET_EPOCHS = 0.5  # pruned epochs over unpruned epochs, at most
TARGET_POINTS = 0.5  # best val accuracy may be this many points below the unpruned one
QUICK = {  # the default grid (72 cells) on fewer images: the grid is what pruning acts on
    "data.train_subset": 1500, "data.val_subset": 1000, "data.test_subset": 1000,
}


def trainlab(project: Path, *args: str) -> float:
    """Run `trainlab ARGS` in `project`; returns the wall seconds; raises on failure."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "trainlab.cli", *args], cwd=project,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"trainlab {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def sets(overrides: dict) -> list[str]:
    out = []
    for key, value in overrides.items():
        out += ["--set", f"{key}={json.dumps(value)}"]  # JSON is YAML: lists and maps pass
    return out


def run_variant(project: Path, pruner: str, overrides: dict, workers: int) -> dict:
    tag = f"pruner_{pruner}"
    args = ["search", *sets(overrides | {
        "search.pruner": pruner, "search.storage": f"sqlite:///optuna_{tag}.db",
        "search.study_name": f"bench-{tag}", "search.models_dir": f"models/{tag}",
        "tracking.uri": f"sqlite:///mlflow_{tag}.db",
    }), "--workers", str(workers),
        "--out-json", f"reports/{tag}.json", "--out-csv", f"reports/{tag}.csv"]
    print(f"  trainlab {shlex.join(args)}", flush=True)
    wall = trainlab(project, *args)
    summary, problem = read_model(project / "reports" / f"{tag}.json", SearchSummary)
    rows, rows_problem = read_rows(project / "reports" / f"{tag}.csv", TrialRow)
    if summary is None or rows is None:
        raise SystemExit(f"the search wrote no readable outputs: {problem or rows_problem}")
    epochs = sum(row.epochs_run or 0 for row in rows)
    states: dict[str, int] = {}
    for row in rows:
        states[row.state] = states.get(row.state, 0) + 1
    return {"pruner": pruner, "wall_s": round(wall, 1), "trials": len(rows), "states": states,
            "epochs": epochs, "best_val_acc": summary.best_val_acc,
            "best_test_acc": summary.best_test_acc,
            "best_cell": summary.best.cell if summary.best else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the grid on 1,500 train images (see QUICK), not the default data")
    parser.add_argument("--workers", type=int, default=None,
                        help="local search workers (default: search.workers of params.yaml)")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="more params overrides for both searches (YAML values)")
    parser.add_argument("--pruner", default="median", choices=["median", "hyperband"],
                        help="the pruned search's pruner; its settings (warm-up, start-up "
                        "trials, order) come from params.yaml")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    args = parser.parse_args(argv)
    quiet()
    import yaml

    from trainlab.config.params import load_config, parse_override

    overrides = dict(QUICK) if args.quick else {}
    overrides |= dict(parse_override(text) for text in args.extra)
    project = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        shutil.copy(ROOT / "params.yaml", project / "params.yaml")
        cfg = load_config(project / "params.yaml", [f"{k}={json.dumps(v)}"
                                                     for k, v in overrides.items()])
        workers = args.workers or cfg.search.workers
        print(f"search efficiency in {project}: {len(cfg.grid.activation)} activations x "
              f"{len(cfg.grid.regularization)} regularizations x "
              f"{len(cfg.grid.augmentation)} augmentations, {cfg.data.train_subset} train "
              f"images, {workers} worker(s)", flush=True)
        trainlab(project, "prepare", *sets({k: v for k, v in overrides.items()
                                            if k.startswith("data.")}))
        runs = [run_variant(project, args.pruner, overrides, workers),
                run_variant(project, "none", overrides, workers)]
    finally:
        if not args.keep:
            shutil.rmtree(project, ignore_errors=True)
    pruned, full = runs
    epoch_ratio = pruned["epochs"] / full["epochs"]
    points = 100 * (full["best_val_acc"] - pruned["best_val_acc"])
    for run in runs:
        print(f"pruner {run['pruner']}: {run['epochs']} epochs in {run['trials']} trials "
              f"{run['states']}, {run['wall_s']:.0f} s, best val {run['best_val_acc']:.4f} "
              f"({run['best_cell']})", flush=True)
    print(f"epochs {epoch_ratio:.2f}x (target <= {TARGET_EPOCHS}), best val {points:+.2f} "
          f"points below (target <= {TARGET_POINTS})", flush=True)
    command = "python -m bench.search_efficiency " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    name = ("search_efficiency" + ("" if args.quick else "_full")
            + ("" if args.pruner == "median" else f"_{args.pruner}"))
    write_result(name, {
        "overrides": overrides, "workers": workers,
        "search_params": cfg.search.model_dump(mode="json") | {"grid": cfg.grid.model_dump(
            mode="json")},
        "runs": runs, "epochs_ratio": round(epoch_ratio, 3),
        "wall_ratio": round(pruned["wall_s"] / full["wall_s"], 3),
        "best_val_points_below": round(points, 2),
        "target": {"epochs_ratio_at_most": TARGET_EPOCHS, "points_at_most": TARGET_POINTS},
        "meets_target": epoch_ratio <= TARGET_EPOCHS and points <= TARGET_POINTS,
        "params_yaml": yaml.safe_load((ROOT / "params.yaml").read_text()).get("search"),
    }, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
