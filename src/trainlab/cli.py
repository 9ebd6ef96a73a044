"""`trainlab <command>`: one subcommand per pipeline stage, plus `ui` and `dashboard`.

Every subcommand reads params.yaml (or `--params FILE`) with `--set key.path=value`
overrides, validated before any work. A config error exits 2, a data or runtime error 1,
an interrupt 130; each with one line that says what to fix.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

from trainlab.config.params import load_config
from trainlab.errors import ConfigError, TrainlabError


class Command(NamedTuple):
    """One row of the command table: a stage's entry is `trainlab.<package>.stage`, with
    `run_<command>` (takes cfg, args; returns an exit code) and `add_arguments_<command>`."""

    module: str
    function: str
    help: str
    # It reads data.prepared_dir: its params are checked against the prepared data's own
    # record first (trainlab.data.prepared.check_params), before any work.
    reads_prepared: bool = False


COMMANDS: dict[str, Command] = {
    "prepare": Command("trainlab.data.stage", "run_prepare",
                       "load, split and preprocess the dataset"),
    "train": Command("trainlab.training.stage", "run_train",
                     "train one recipe and track it in MLflow", reads_prepared=True),
    "search": Command("trainlab.search.stage", "run_search", "Optuna search over the recipe grid",
                      reads_prepared=True),
    "ensemble": Command("trainlab.ensemble.stage", "run_ensemble",
                        "average the top-k models' probabilities", reads_prepared=True),
    "report": Command("trainlab.report.stage", "run_report",
                      "HTML/Markdown report, DVC metrics, plots"),
    "transfer": Command("trainlab.transfer.stage", "run_transfer",
                        "linear probe / fine-tune vs scratch", reads_prepared=True),
    "claims": Command("trainlab.claims.stage", "run_claims",
                      "test the lecture's claims on this data", reads_prepared=True),
    "leaderboard": Command("trainlab.leaderboard.stage", "run_leaderboard",
                           "best recipe, ensembles and pretrained baselines on the same test "
                           "images", reads_prepared=True),
    "replicate": Command("trainlab.replication.stage", "run_replicate",
                         "rerun the pipeline under another base seed (--seed N) in "
                         "replications/seed-N and compare every verdict"),
    "config": Command("trainlab.config.stage", "run_config",
                      "print the resolved configuration (profile and --set applied)"),
    "ui": Command("trainlab.ui", "run_ui",
                  "start the MLflow UI on the project's tracking database"),
    "dashboard": Command("trainlab.dashboard", "run_dashboard",
                         "optuna-dashboard on the search's study"),
}
# No usage data leaves the machine unless the user asks (MLFLOW_DISABLE_TELEMETRY=false):
# MLflow reads it on its first import, so before any command's module is imported.
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", help="params file (params.yaml)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a param, e.g. --set train.lr=0.01 (repeatable)",
    )


def _add_command_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Options beyond --params/--set, declared by the command's module (`add_arguments_<name>`)."""
    module = importlib.import_module(COMMANDS[name].module)
    adder = getattr(module, f"add_arguments_{name}", None)
    if adder is not None:
        adder(parser)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported (torch, mlflow cost seconds)."""
    parser = argparse.ArgumentParser(prog="trainlab", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {importlib.metadata.version('trainlab')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, entry in COMMANDS.items():
        command = sub.add_parser(name, help=entry.help, description=entry.help)
        _add_common(command)
        if name == chosen:
            _add_command_arguments(name, command)
    return parser


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    # SIGTERM (dvc, a scheduler, `kill`) stops like Ctrl-C, so runs end KILLED, not RUNNING.
    raise KeyboardInterrupt(f"signal {signum}")


def _quiet_libraries() -> None:
    # Lightning's tips and MLflow's per-run banners drown the one line a stage prints.
    for name in ("lightning.pytorch", "lightning.fabric", "mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    # Lightning's internal deprecation notice and its hint about log_every_n_steps (trainlab
    # logs per epoch, so a short epoch is expected) say nothing a user can act on.
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
    chosen = next((word for word in argv if word in COMMANDS), None)
    args = build_parser(chosen).parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    _quiet_libraries()
    try:
        cfg = load_config(args.params, args.overrides)
        entry = COMMANDS[args.command]
        if entry.reads_prepared:
            from trainlab.data.prepared import check_params  # torch: only for such commands

            check_params(cfg)
        command = getattr(importlib.import_module(entry.module), entry.function)
        return int(command(cfg, args) or 0)
    except TrainlabError as err:
        kind = "config error" if isinstance(err, ConfigError) else "error"
        print(f"trainlab {args.command}: {kind}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"trainlab {args.command}: interrupted; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
