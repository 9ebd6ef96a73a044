"""The transfer stage end to end on digits: CSV rows, DVC metrics, MLflow runs, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from trainlab.cli import main
from trainlab.config.params import load_config
from trainlab.data.prepared import load_prepared
from trainlab.databases import absolute_uri
from trainlab.tracking import client_for
from trainlab.transfer.stage import run_transfer_study

TINY_TRANSFER = [
    "--set", "model.arch=cnn", "--set", "model.channels=[8, 16]", "--set", "model.cnn_hidden=32",
    "--set", "transfer.backbones=[source]", "--set", "transfer.sizes=[20, all]",
    "--set", "transfer.epochs=2", "--set", "transfer.source_epochs=2",
    "--set", "transfer.min_steps=4", "--set", "transfer.threads=1",
    "--set", "transfer.test_size=null", "--set", "stats.seeds=2", "--set", "stats.resamples=500",
]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
def test_transfer_stage_on_digits_writes_rows_metrics_and_runs(prepared: Path):
    out_json, out_csv = prepared / "out" / "transfer.json", prepared / "out" / "transfer.csv"
    code = main(["transfer", *TINY_TRANSFER, "--out-json", str(out_json),
                 "--out-csv", str(out_csv)])
    assert code == 0
    rows = read_rows(out_csv)
    # digits: 1,293 train images, of which classes 5-9 are 645 (the size "all"); one row per
    # mode x size x seed (stats.seeds = 2: seed and seed + 1).
    cells = [(r["mode"], r["size"], r["seed"]) for r in rows]
    assert sorted(cells) == sorted((m, s, seed) for m in ("linear_probe", "finetune", "scratch")
                                   for s in ("20", "645") for seed in ("0", "1"))
    assert {r["requested_size"] for r in rows} == {"20", "all"}
    for row in rows:
        assert row["backbone"] == "source" and row["epochs"] == "2"
        test, train, gap = (float(row[k]) for k in ("test_acc", "final_train_acc", "gap_acc"))
        assert 0.0 <= test <= 1.0 and gap == pytest.approx(train - test, abs=2e-4)
        assert float(row["seconds"]) > 0
    # Each seed its own snapshot and per-image results: none overwrote another.
    assert len({r["test_correct"] for r in rows}) == len(rows) == 12
    by_cell = {(r["mode"], r["size"], r["seed"]): r for r in rows}

    def mean_acc(mode: str, size: str) -> float:
        return sum(float(by_cell[mode, size, seed]["test_acc"]) for seed in "01") / 2

    # The scratch network learns 5 digit classes well above chance (20 %) from 645 images.
    assert mean_acc("scratch", "645") > 0.6
    # The seeds differ in head initialisation and batch order, so in what they learn.
    assert by_cell["scratch", "20", "0"]["test_acc"] != by_cell["scratch", "20", "1"][
        "test_acc"] or by_cell["finetune", "20", "0"]["test_acc"] != by_cell[
        "finetune", "20", "1"]["test_acc"]

    summary = json.loads(out_json.read_text())
    source = summary["backbones"]["source"]
    assert summary["cells"] == 12 and summary["seeds"] == 2
    assert summary["total_seconds"] > source["seconds"] > 0
    assert source["smallest"]["size"] == 20 and source["largest"]["size"] == 645
    for label, size in (("smallest", "20"), ("largest", "645")):
        accs = {m: mean_acc(m, size) for m in ("linear_probe", "finetune", "scratch")}
        assert source[label]["test_acc"] == pytest.approx(accs, abs=1e-4)
        for mode in ("linear_probe", "finetune"):
            gain = 100 * (accs[mode] - accs["scratch"])
            assert source[label]["gain_points"][mode] == pytest.approx(gain, abs=0.02)
            band = source[label]["gain_interval"][mode]
            assert band["seeds"] == 2 and band["low_points"] <= gain <= band["high_points"]
    # tl_gain is the declared quantity (transfer.headline: the first backbone, finetune, at
    # the smallest size), recomputed here from the CSV, its interval beside it.
    headline = summary["headline"]
    gain = 100 * (mean_acc("finetune", "20") - mean_acc("scratch", "20"))
    assert (headline["backbone"], headline["mode"], headline["size"]) == ("source", "finetune",
                                                                          20)
    assert headline["seeds"] == 2 and "two-level bootstrap" in headline["method"]
    assert headline["low_points"] <= headline["gain_points"] <= headline["high_points"]
    metrics = json.loads(Path("metrics/transfer.json").read_text())
    assert metrics == {"tl_gain": pytest.approx(gain, abs=0.02)}
    assert metrics["tl_gain"] == headline["gain_points"]
    assert Path(source["source_checkpoint"]).is_file()  # under transfer.models_dir
    assert Path(source["source_checkpoint"]).parts[:2] == ("models", "transfer")

    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests")
    runs = client.search_runs([experiment.experiment_id])
    parent = [r for r in runs if r.data.tags.get("trainlab.kind") == "transfer-stage"]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    parent_id = parent[0].info.run_id
    cell_runs = [r for r in runs if r.data.tags.get("trainlab.kind") == "transfer"]
    assert len(cell_runs) == 12  # one child run per seed
    for run in cell_runs:
        tags, run_metrics = run.data.tags, run.data.metrics
        assert tags["mlflow.parentRunId"] == parent_id and run.info.status == "FINISHED"
        assert tags["transfer.backbone"] == "source"
        assert tags["data.fingerprint"] and tags["trainlab.git_commit"]
        row = by_cell[tags["transfer.mode"], tags["transfer.size"], tags["transfer.seed"]]
        assert row["run_id"] == run.info.run_id
        assert run.data.params["cell.seed"] == tags["transfer.seed"]
        assert run.data.params["stats.seeds"] == "2"
        assert run_metrics["test/acc"] == pytest.approx(float(row["test_acc"]), abs=1e-4)
        assert run_metrics["val/acc_best"] == pytest.approx(float(row["val_acc"]), abs=1e-4)
        for key in ("final/train_acc", "gap/acc", "time/seconds", "epochs_run"):
            assert key in run_metrics
        history = client.get_metric_history(run.info.run_id, "val/acc")
        assert len(history) == 2  # one point per epoch
    source_runs = [r for r in runs if r.data.tags.get("trainlab.kind") == "transfer-source"]
    assert len(source_runs) == 1
    assert source_runs[0].data.tags["mlflow.parentRunId"] == parent_id
    assert source_runs[0].info.run_id == source["source_run_id"]


def test_overlapping_classes_stop_the_stage_with_a_config_error(project: Path, capsys):
    code = main(["transfer", "--set", "transfer.source_classes=[0, 1, 5]",
                 "--set", "transfer.target_classes=[5, 6, 7, 8, 9]"])
    assert code == 2
    assert "overlap in [5]" in capsys.readouterr().err


def test_classes_the_dataset_lacks_stop_the_stage_before_training(prepared: Path, capsys):
    code = main(["transfer", "--set", "transfer.target_classes=[5, 10]"])
    assert code == 2
    err = capsys.readouterr().err
    assert "transfer.target_classes = [5, 10] names classes [10] that digits lacks" in err
    assert "allowed: 0..9" in err


def test_a_missing_resnet18_weights_file_is_a_data_error_naming_it(prepared: Path, capsys):
    code = main(["transfer", "--set", "transfer.backbones=[resnet18]",
                 "--set", "transfer.resnet18_weights=weights/none.pt"])
    assert code == 1
    assert "transfer.resnet18_weights = 'weights/none.pt' not found" in capsys.readouterr().err
    assert not Path("reports/transfer.csv").exists()


def test_the_stage_is_declared_in_dvc_yaml_and_params_yaml():
    root = Path(__file__).resolve().parents[2]
    stage = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["transfer"]
    assert "--out-json reports/transfer.json" in stage["cmd"]
    assert "--out-csv reports/transfer.csv" in stage["cmd"]
    assert {"seed", "model", "transfer", "stats", "tracking",
            "data.prepared_dir"} <= set(stage["params"])
    from trainlab.config.params import load_config

    params = load_config(root / "params.yaml").transfer
    assert params.backbones == ("source", "efficientnet_lite0")


@pytest.mark.slow
def test_runs_land_in_the_projects_database_after_a_change_of_directory(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The config (and the client) are loaded in the project; then the process moves on. Every
    # run, the cells' epoch curves included, must still reach the project's database, not a
    # `mlflow.db` in the new working directory (a relative URI would follow the process).
    cfg = load_config("params.yaml", [a for a in TINY_TRANSFER if a != "--set"]
                      + ["transfer.modes=[linear_probe, scratch]", "transfer.sizes=[all]"])
    data = load_prepared(cfg.data.prepared_dir)
    client = client_for(cfg.tracking)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    study = run_transfer_study(cfg, data, client=client)

    assert not (elsewhere / "mlflow.db").exists()
    project = MlflowClient(f"sqlite:///{prepared / 'mlflow.db'}")
    runs = project.search_runs([project.get_experiment_by_name("tests").experiment_id])
    by_id = {run.info.run_id: run for run in runs}
    assert by_id[study.parent_run_id].info.status == "FINISHED"
    assert len(study.cells) == 4  # 2 modes x 2 seeds
    for cell in study.cells:
        assert by_id[cell.run_id].data.tags["mlflow.parentRunId"] == study.parent_run_id
        assert len(project.get_metric_history(cell.run_id, "val/acc")) == cell.epochs == 2
        # transfer.csv keeps 4 decimals; MLflow the exact value
        assert by_id[cell.run_id].data.metrics["test/acc"] == pytest.approx(cell.test_acc,
                                                                             abs=5e-5)
