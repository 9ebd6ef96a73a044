"""What MLflow's own clients read from trainlab's tracking: the experiment's kind, a run's
context tags (user, source, git commit) and its dataset input; telemetry off by default."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from trainlab.cli import TELEMETRY_OFF
from trainlab.data.prepared import load_prepared
from trainlab.tracking import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    absolute_uri,
    experiment_id,
    forget_experiment,
    tracked_run,
)
from trainlab.tracking_inputs import log_dataset

REPO = Path(__file__).resolve().parents[1]


def _client(tmp_path: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def _git_head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_a_new_experiment_is_marked_as_model_training(tmp_path):
    client = _client(tmp_path)
    made = experiment_id(client, "fresh")
    assert client.get_experiment(made).tags[EXPERIMENT_KIND_TAG] == "custom_model_development"


def test_an_older_experiment_gets_the_kind_and_a_chosen_kind_is_kept(tmp_path):
    client = _client(tmp_path)
    older = client.create_experiment("older")  # as MLflow itself makes it: no kind
    chosen = client.create_experiment("chosen", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    assert EXPERIMENT_KIND_TAG not in client.get_experiment(older).tags
    for name in ("older", "chosen"):
        forget_experiment(client, name)
        experiment_id(client, name)
    assert client.get_experiment(older).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "genai_development"


def test_a_tracked_run_carries_the_context_tags_of_mlflow_start_run(tmp_path):
    client = _client(tmp_path)
    with tracked_run(client, "exp", "r", tags={"trainlab.kind": "test"}) as run_id:
        pass
    tags = client.get_run(run_id).data.tags
    assert tags["mlflow.user"] == getpass.getuser()
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"] == sys.argv[0]  # the entry script: pytest's, here
    assert tags["trainlab.kind"] == "test"  # the given tags stay


def test_log_dataset_names_the_prepared_splits_once_per_run(prepared):
    data = load_prepared("data/prepared")
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    with tracked_run(client, "exp", "r") as run_id:
        log_dataset(client, run_id, data, "data/prepared")
        log_dataset(client, run_id, data, "data/prepared")  # a resumed run logs it again
    [used] = client.get_run(run_id).inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest) == ("digits", data.fingerprint)
    assert json.loads(used.dataset.source) == {"uri": str(prepared / "data" / "prepared")}
    assert used.dataset.source_type == "local"
    # digits: 1,797 8x8 images split 72/8/20 (conftest's defaults), 10 classes
    assert json.loads(used.dataset.profile) == {
        "splits": {"train": 1293, "val": 144, "test": 360}, "classes": 10,
        "image_shape": [1, 8, 8]}
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "training")]


@pytest.mark.slow
def test_the_train_command_tracks_its_source_commit_and_dataset(prepared):
    # As `dvc repro` runs it: a separate process whose entry script lies in the repository;
    # the project folder (tmp) is no git repository, so the commit is the script's.
    result = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"),
                             "--checkpoints", "models/train", "--out", "reports/train.json"],
                            cwd=prepared, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests")
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    [run] = client.search_runs([experiment.experiment_id])
    tags = run.data.tags
    assert tags["mlflow.source.name"] == str(REPO / "stages" / "train.py")
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"] == getpass.getuser()
    assert tags["mlflow.source.git.commit"] == _git_head()
    [used] = run.inputs.dataset_inputs
    assert used.dataset.digest == load_prepared("data/prepared").fingerprint


def _telemetry_client_after_cli(env: dict[str, str]) -> str:
    """Whether MLflow set up its telemetry client in a process that ran `trainlab ui --help`
    (which imports mlflow), outside pytest and CI (MLflow turns telemetry off in both)."""
    script = ("from trainlab.cli import main\n"
              "try:\n    main(['ui', '--help'])\nexcept SystemExit:\n    pass\n"
              "import os\nfrom mlflow.telemetry.client import get_telemetry_client\n"
              "print(os.environ.get('MLFLOW_DISABLE_TELEMETRY'), get_telemetry_client())")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


def test_mlflow_telemetry_is_off_unless_the_user_turns_it_on():
    ci = {"PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "DO_NOT_TRACK",
          *TELEMETRY_OFF}
    env = {k: v for k, v in os.environ.items() if k not in ci}
    assert _telemetry_client_after_cli(env) == "true None"
    # A user's own setting wins (read back without starting the client, which would try to
    # reach MLflow's servers).
    script = ("import os\nfrom trainlab.cli import main\n"
              "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "print(os.environ['MLFLOW_DISABLE_TELEMETRY'])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env | {"MLFLOW_DISABLE_TELEMETRY": "false"}, timeout=120,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "false"
