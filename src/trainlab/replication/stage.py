"""`trainlab replicate --seed N`: the pipeline again under another base seed, in its own
workspace, then every verdict of the two runs side by side (reports/replication.json).

Where it runs: a copy of the project's files (what git tracks, and new files it does not
ignore; no data, models, MLflow or Optuna database) under `replications/seed-N/`, with
`seed: N` in its params.yaml, where `dvc repro` runs the whole pipeline. The user's results,
databases and dvc.lock are not touched; the workspace stays for inspection (its own
`trainlab ui`) and a rerun resumes it (DVC skips what is done). `dvc exp run --temp -S seed=N`
is not used: its temporary copy is deleted after the run and the experiment keeps only what
git would track, and the stage files compared here are git-ignored outputs.

A replication trains everything again (~30 min on 2 cores), so it is no dvc.yaml stage that
every `dvc repro` would run; the report shows its file whenever it exists (README).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from trainlab.config.params import Config
from trainlab.errors import ConfigError, DataError, TrainingError
from trainlab.replication.compare import compare_runs
from trainlab.replication.results import METRICS, OUT, Replication
from trainlab.stagefile import write_dvc_metrics, write_model

WORKSPACES = "replications"  # one folder per seed; git- and dvc-ignored (.gitignore, .dvcignore)
SEED_LINE = re.compile(r"^seed:.*$", re.MULTILINE)


def add_arguments_replicate(parser: argparse.ArgumentParser) -> None:
    # Not required by argparse: every command parses with only --params/--set (tests/test_cli),
    # and a missing seed is a config error naming the option (run_replicate).
    parser.add_argument("--seed", type=int, default=None,
                        help="the replication's base seed (an integer other than params.yaml's)")
    parser.add_argument("--workspace", default=None,
                        help=f"where the pipeline reruns (default {WORKSPACES}/seed-N)")
    parser.add_argument("--compare-only", action="store_true",
                        help="do not run: compare the workspace's finished run with this one")
    parser.add_argument("--out", default=OUT, help="the replication file")
    parser.add_argument("--metrics", default=METRICS, help="DVC metrics file (agreement)")


def run_replicate(cfg: Config, args: argparse.Namespace) -> int:
    """Rerun the pipeline under `--seed` in its workspace; write the replication file."""
    seed = check_seed(cfg, args.seed)
    if args.overrides:
        raise ConfigError(
            f"replicate reruns the project's params.yaml with only `seed` changed; --set "
            f"{args.overrides[0]!r} is not applied there: drop it (or edit params.yaml)")
    root = Path.cwd()
    workspace = Path(args.workspace or Path(WORKSPACES) / f"seed-{seed}")
    if not args.compare_only:
        make_workspace(root, workspace, args.params, seed)
        repro(workspace)
    elif not workspace.is_dir():
        raise DataError(f"--compare-only: workspace {str(workspace)!r} not found; run "
                        f"`trainlab replicate --seed {seed}` without it first")
    replication = compare_runs(root, workspace)
    write_model(args.out, replication)
    write_dvc_metrics(args.metrics, replication.metrics())
    print(describe(replication), flush=True)
    print(f"replicate: wrote {args.out} and {args.metrics}; `dvc repro -s -f report` (this "
          "stage only; `-f` alone reruns the whole pipeline) shows them", flush=True)
    return 0


def check_seed(cfg: Config, seed: int | None) -> int:
    """`seed`, if it is a non-negative base seed other than the project's; else ConfigError."""
    if seed is None:
        raise ConfigError(f"--seed is required: the replication's base seed, an integer other "
                          f"than params.yaml's seed ({cfg.seed}), e.g. --seed {cfg.seed + 1}")
    if seed < 0:
        raise ConfigError(f"--seed {seed}: a seed is a non-negative integer, e.g. --seed 1")
    if seed == cfg.seed:
        raise ConfigError(
            f"--seed {seed} is this project's own base seed (params.yaml seed: {cfg.seed}); a "
            f"replication needs another one, e.g. --seed {cfg.seed + 1}")
    return seed


def make_workspace(root: Path, workspace: Path, params: str, seed: int) -> None:
    """Copy the project's files into `workspace` (kept files there stay: a rerun resumes),
    with `seed: N` in its params.yaml, and let DVC run there without git (`core.no_scm`)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, check=True, capture_output=True, text=True).stdout.split("\0")
    except (OSError, subprocess.CalledProcessError) as err:
        raise DataError(f"replicate copies the files git lists, but `git ls-files` failed in "
                        f"{str(root)!r} ({err}); run it from the project's git checkout") from None
    for name in filter(None, listed):
        source = root / name
        if name.startswith(f"{WORKSPACES}/") or not source.is_file():
            continue
        target = workspace / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    text = (root / params).read_text()
    if not SEED_LINE.search(text):
        raise ConfigError(f"{params} has no top-level `seed:` line to change for the replication")
    (workspace / "params.yaml").write_text(SEED_LINE.sub(f"seed: {seed}", text, count=1))
    (workspace / ".dvc").mkdir(exist_ok=True)
    (workspace / ".dvc" / "config.local").write_text("[core]\n    no_scm = true\n")


def repro(workspace: Path) -> None:
    """`dvc repro` in the workspace, with its own sources first on the path and this
    Python's environment's tools (python, dvc) on PATH; its output goes to the terminal."""
    bin_dir = str(Path(sys.executable).parent)
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str((workspace / "src").resolve()),
                                                     os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
    }
    dvc = shutil.which("dvc", path=env["PATH"])
    if dvc is None:
        raise DataError("replicate runs `dvc repro`, but no `dvc` is on PATH; install dvc")
    print(f"replicate: `dvc repro` in {workspace} (its own data, models, MLflow and Optuna "
          "databases; this project's are not touched)", flush=True)
    code = subprocess.run([dvc, "repro"], cwd=workspace, env=env, check=False).returncode
    if code != 0:
        raise TrainingError(f"`dvc repro` in {str(workspace)!r} exited {code} (its output is "
                            "above); fix it and rerun `trainlab replicate` (finished stages are "
                            "kept)")


def describe(replication: Replication) -> str:
    """One line for the terminal: agreement, the flips by kind, the best sets' Jaccard."""
    r = replication
    share = f"{r.agreement:.0%}" if r.agreement is not None else "n/a"
    flips = ", ".join(f"{n} {kind}" for kind, n in r.flip_counts().items()) or "none"
    jaccard = f"{r.best_sets.jaccard:.2f}" if r.best_sets.jaccard is not None else "n/a"
    return (f"replicate: seed {r.a.seed} vs seed {r.b.seed}: {r.agree} of {r.total} verdicts "
            f"agree ({share}); flips: {flips}; best sets' Jaccard {jaccard}")
