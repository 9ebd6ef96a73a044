"""`trainlab ui`: the MLflow UI against the project's tracking database, on loopback."""

from __future__ import annotations

import subprocess
import sys

from trainlab.config import Config


def add_arguments_ui(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=5000)


def ui_command(cfg: Config, host: str, port: int) -> list[str]:
    """The mlflow server command line (an argument list: no shell sees user strings)."""
    return [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", cfg.tracking.uri,
        "--host", host, "--port", str(port),
    ]


def run_ui(cfg: Config, args) -> int:
    print(f"MLflow UI on http://{args.host}:{args.port} (tracking {cfg.tracking.uri}); "
          "Ctrl-C stops")
    return subprocess.call(ui_command(cfg, args.host, args.port))
