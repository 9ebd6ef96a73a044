"""Benchmark 5: the DVC pipeline, run whole, then `dvc repro` with nothing changed.

Copies the working tree (tracked and untracked, not ignored files) into a scratch project,
commits it there, runs `dvc repro` (every stage from scratch) and then `dvc repro` again
with nothing changed, a few times. The stages' `python` is this interpreter, importing the
scratch copy's `src/`.

Without `--full` the pipeline runs on reduced params (REDUCED: fewer images, a 2x2x2 grid,
short trainings, the `source` transfer backbone only, one seed of the claims' experiments),
so it fits a `make bench`; the no-op `dvc repro` is the same check either way (DVC reads the
same files and hashes the same dependency lists).

    python -m bench.pipeline [--full] [--noop-runs N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_result

ROOT = Path(__file__).resolve().parent.parent
NOOP_TARGET_S = 5.0
FULL_BUDGET_S = 30 * 60
REDUCED = {
    "data.train_subset": 2000, "data.val_subset": 500, "data.test_subset": 1000,
    "train.epochs": 2,
    "grid.activation": ["relu", "tanh"],
    "grid.regularization": {"none": {}, "l2": {"kind": "l2", "strength": 0.0005}},
    "grid.augmentation": {"none": {}, "flip_crop": {"hflip": 0.5, "crop_scale": 0.15,
                                                    "translate": 0.1}},
    "search.overrides.train.epochs": 2, "search.top_k": 3, "ensemble.top_k": 3,
    "ensemble.greedy_pool": 3,
    "transfer.backbones": ["source"], "transfer.sizes": [100], "transfer.epochs": 1,
    "transfer.source_epochs": 1, "transfer.val_size": 200, "transfer.test_size": 500,
    "claims.seeds": 1, "claims.train_images": 1000, "claims.eval_images": 500,
}


def copy_tree(target: Path) -> None:
    """The working tree as git sees it (tracked + untracked, minus ignored), into `target`."""
    listed = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file() and not name.startswith("bench/results/"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "benchmark snapshot"]):
        subprocess.run(git + command, cwd=target, check=True, capture_output=True)


def reduce_params(path: Path, overrides: dict) -> None:
    """Apply dotted-key overrides to params.yaml in place (the scratch copy's)."""
    import yaml

    from trainlab.config.params import load_config, set_dotted

    raw = yaml.safe_load(path.read_text())
    for key, value in overrides.items():
        if key.startswith("search.overrides."):  # a dotted key *inside* search.overrides
            raw["search"].setdefault("overrides", {})[key.removeprefix("search.overrides.")] = value
        else:
            set_dotted(raw, key, value)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    load_config(path)  # fail here, with the config's own message, if the schema moved on


def dvc(project: Path, env: dict, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return wall, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the default params (~30 min)")
    parser.add_argument("--noop-runs", type=int, default=3, help="repeats of the no-op repro")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    args = parser.parse_args(argv)
    project = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(project / "src"),  # the stages import the scratch copy
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
    }
    try:
        copy_tree(project)
        if not args.full:
            reduce_params(project / "params.yaml", REDUCED)
            subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                            "commit", "-qam", "reduced params"], cwd=project, check=True)
        scale = "default params" if args.full else "reduced params"
        print(f"pipeline ({scale}) in {project}: dvc repro ...", flush=True)
        full_s, log = dvc(project, env, "repro")
        stages = [line for line in log.splitlines() if line.startswith("Running stage")]
        print(f"  {len(stages)} stages in {full_s:.0f} s; dvc repro again with nothing "
              f"changed, {args.noop_runs} times ...", flush=True)
        noop = []
        for _ in range(args.noop_runs):
            wall, log = dvc(project, env, "repro")
            if "Running stage" in log:
                raise RuntimeError(f"the second dvc repro ran stages again:\n{log[-3000:]}")
            noop.append(round(wall, 2))
        status_s, _ = dvc(project, env, "status")
    finally:
        if not args.keep:
            shutil.rmtree(project, ignore_errors=True)
    noop_s = statistics.median(noop)
    print(f"whole pipeline {full_s:.0f} s ({scale}); no-op dvc repro {noop_s:.2f} s (target "
          f"< {NOOP_TARGET_S:.0f} s); dvc status {status_s:.2f} s", flush=True)
    command = "python -m bench.pipeline " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_result("pipeline_full" if args.full else "pipeline", {
        "params": "default" if args.full else REDUCED, "stages": len(stages),
        "stage_lines": stages, "repro_s": round(full_s, 1), "noop_repro_s": noop,
        "noop_repro_median_s": noop_s, "status_s": round(status_s, 2),
        "target": {"noop_s_below": NOOP_TARGET_S, "full_s_within": FULL_BUDGET_S},
        "meets_target": noop_s < NOOP_TARGET_S and (not args.full or full_s <= FULL_BUDGET_S),
    }, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
