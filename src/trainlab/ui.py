"""`trainlab ui`: the MLflow UI against the project's tracking database, on loopback."""

from __future__ import annotations

import subprocess
import sys

from trainlab.config.params import Config
from trainlab.tracking import client_for, experiment_id

# MLflow 3's UI keeps a GenAI / machine-learning switch in the browser (GenAI by default) and
# shows an experiment as the switch says; this query parameter sets it to machine learning.
ML_WORKFLOW = "workflowType=machine_learning"


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


def browse_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def runs_url(host: str, port: int, experiment_id: str) -> str:
    """The experiment's runs table in the MLflow UI (its routes follow the '#')."""
    return f"http://{browse_host(host)}:{port}/#/experiments/{experiment_id}/runs?{ML_WORKFLOW}"


def run_ui(cfg: Config, args) -> int:
    # Getting the experiment creates it, or marks an older one as model training.
    experiment = experiment_id(client_for(cfg.tracking), cfg.tracking.experiment)
    print(f"MLflow UI (tracking {cfg.tracking.uri}), experiment {cfg.tracking.experiment!r}: "
          f"{runs_url(args.host, args.port, experiment)}  (Ctrl-C stops)", flush=True)
    server = subprocess.Popen(ui_command(cfg, args.host, args.port))
    try:
        return server.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the whole terminal group; SIGTERM (a scheduler, `kill`) only this
        # process. `mlflow ui` stops its uvicorn workers and job runners on SIGTERM, where
        # subprocess.call's SIGKILL would leave them running, holding the port.
        server.terminate()
        server.wait()
        raise
