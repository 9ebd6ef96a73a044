"""`trainlab dashboard`: optuna-dashboard on the search's study, on loopback like `trainlab ui`.

It serves the storage of `search.storage` (SQLite or a server database) opened as the search
opens it, so the same drivers and time-outs apply; trials show live while a search runs.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

from optuna_dashboard import wsgi

from trainlab.config.params import Config
from trainlab.databases import sqlite_file
from trainlab.errors import DataError
from trainlab.search.study import open_storage, redact
from trainlab.ui import browse_host

DEFAULT_PORT = 8080  # optuna-dashboard's own default


class ThreadingServer(ThreadingMixIn, WSGIServer):
    """A request per thread, as `optuna-dashboard` serves: a browser asks several at once."""

    daemon_threads = True


def add_arguments_dashboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)


def study_url(host: str, port: int, study_id: int) -> str:
    return f"http://{browse_host(host)}:{port}/dashboard/studies/{study_id}"


def run_dashboard(cfg: Config, args: argparse.Namespace) -> int:
    """Serve the study's storage until Ctrl-C (or SIGTERM); returns the exit code.

    Raises:
        DataError: the storage or the study does not exist yet (a SQLite file is never
            created here), or the database cannot be reached.
    """
    search = cfg.search
    fix = "run the search first (`trainlab search` or `dvc repro search`)"
    database = sqlite_file(search.storage)
    if database is not None and not Path(database).is_file():
        raise DataError(f"search.storage = {search.storage!r}: the database {database!r} "
                        f"does not exist; {fix}")
    storage = open_storage(search)
    try:
        study_id = storage.get_study_id_from_name(search.study_name)
    except KeyError:
        raise DataError(
            f"search.study_name = {search.study_name!r} is not a study in "
            f"{redact(search.storage)}; {fix}, or name an existing study"
        ) from None
    print(f"optuna-dashboard (storage {redact(search.storage)}), study "
          f"{search.study_name!r}: {study_url(args.host, args.port, study_id)}  (Ctrl-C stops)",
          flush=True)
    serve(wsgi(storage), args.host, args.port)
    return 0


def serve(app, host: str, port: int) -> None:
    """Serve `app` until Ctrl-C or SIGTERM (the CLI turns both into KeyboardInterrupt).

    The server runs in a thread and the main thread waits: signals reach only the main
    thread, and one arriving inside a request (wsgiref's handler, in `optuna-dashboard`'s
    own server) is logged as that request's error and the server goes on.
    """
    try:
        server = make_server(host, port, app, server_class=ThreadingServer)
    except OSError as err:
        raise DataError(f"cannot serve on {host}:{port} ({err.strerror}); choose another "
                        "--port or --host") from None
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
