"""`trainlab ensemble` on untrained checkpoints: report, MLflow run, and refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from stagefiles import manifest, member  # tests/stagefiles.py

from trainlab.cli import main
from trainlab.config.schema import EnsembleConfig
from trainlab.databases import absolute_uri
from trainlab.ensemble.predict import Predictions
from trainlab.ensemble.summary import summarize

ARGS = ["ensemble", "--manifest", "models/search/manifest.json", "--out", "reports/ensemble.json"]


def summary_of(preds: Predictions, cfg: EnsembleConfig) -> dict:
    """The report of `preds` (the manifest lists just those members), as its file holds it."""
    report = summarize(preds, cfg, manifest(preds.members), "digits", "fp")
    return report.model_dump(mode="json")


def run_stage(*overrides: str) -> int:
    return main([*ARGS, *(arg for key in overrides for arg in ("--set", key))])


def test_identical_members_equal_the_single_model():
    # 3 copies of one member: the ensemble is that member, whatever its accuracy.
    generator = torch.Generator().manual_seed(0)
    val = torch.softmax(torch.randn(40, 5, generator=generator), dim=1)
    test = torch.softmax(torch.randn(60, 5, generator=generator), dim=1)
    y_val, y_test = torch.randint(0, 5, (40,)), torch.randint(0, 5, (60,))
    val_acc = (val.argmax(1) == y_val).double().mean().item()  # as the search recorded it
    members = tuple(member(r, f"r{r}", "c", val_acc) for r in (1, 2, 3))
    preds = Predictions(members, val.expand(3, -1, -1), test.expand(3, -1, -1), y_val, y_test)
    report = summary_of(preds, EnsembleConfig(top_k=3, greedy_pool=3, ece_bins=10))
    single = report["best_single"]["by_val"]
    assert report["ensemble"]["acc"] == single["acc"] == report["members"][0]["test_acc"]
    assert report["ensemble"]["gain_points"] == 0.0
    assert report["ensemble"]["ece"] == pytest.approx(single["ece"], abs=1e-12)
    assert report["ensemble"]["nll"] == pytest.approx(single["nll"], abs=1e-12)
    assert report["vote"]["acc"] == report["greedy"]["acc"] == single["acc"]
    assert report["diversity"]["disagreement"] == 0.0
    assert report["greedy"]["selection"] == [{"rank": 1, "run_id": "r1", "count": 1}]
    assert report["notes"] == []


def test_gain_is_measured_against_the_best_member_by_val():
    # Member 2 is best on val (2/2) but worst on test; member 1 the reverse.
    y = torch.tensor([0, 1])
    right, wrong = torch.tensor([[0.9, 0.1], [0.1, 0.9]]), torch.tensor([[0.4, 0.6], [0.6, 0.4]])
    half = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
    val = torch.stack([half, right])  # val acc 0.5, 1.0
    test = torch.stack([right, wrong])  # test acc 1.0, 0.0 -> mean [[.65,.35],[.35,.65]]: 1.0
    members = (member(1, "a", "a", 0.9, test_acc=1.0), member(2, "b", "b", 0.8, test_acc=0.0))
    report = summary_of(Predictions(members, val, test, y, y), EnsembleConfig(top_k=2))
    assert report["best_single"]["by_val"]["run_id"] == "b"
    assert report["best_single"]["by_test"]["run_id"] == "a"
    assert report["ensemble"]["acc"] == 1.0
    assert report["ensemble"]["gain_points"] == pytest.approx(100.0)
    assert report["ensemble"]["gain_points_vs_best_test"] == pytest.approx(0.0)
    assert report["diversity"]["disagreement"] == 1.0
    # The manifest's val accuracies (0.9, 0.8) disagree with the recomputed ones.
    assert any("rank 1: val accuracy 0.5000 here, 0.9000" in note for note in report["notes"])


def test_stage_on_identical_checkpoints_reports_and_tracks(untrained, manifest_writer, capsys):
    checkpoint = untrained("same.ckpt", seed=1)
    manifest_writer(
        [{"run_id": f"run{i}", "checkpoint": checkpoint, "val_acc": 0.1} for i in range(3)],
        parent_run_id="the-search",
    )
    assert run_stage() == 0
    report = json.loads(Path("reports/ensemble.json").read_text())
    accs = {row["test_acc"] for row in report["members"]}
    assert len(accs) == 1 and report["ensemble"]["acc"] == accs.pop()
    assert report["ensemble"]["gain_points"] == 0.0
    assert report["diversity"]["disagreement"] == 0.0
    assert report["top_k"] == {"requested": 5, "used": 3}
    assert "ensemble.top_k = 5 but the manifest lists 3 member(s); used all" in report["notes"]
    assert report["data"] == {
        "dataset": "digits",
        "fingerprint": report["data"]["fingerprint"],
        "val_size": 144,
        "test_size": 360,
    }
    assert "ensemble: top-3 mean-prob test/acc" in capsys.readouterr().out

    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    run = client.get_run(report["mlflow_run_id"])
    assert run.info.run_name == "ensemble" and run.info.status == "FINISHED"
    assert run.data.tags["trainlab.kind"] == "ensemble"
    assert run.data.tags["trainlab.search_parent_run_id"] == "the-search"
    assert run.data.tags["ensemble.members"] == "run0,run1,run2"
    assert "mlflow.parentRunId" not in run.data.tags  # linked, not nested in the search
    assert json.loads(run.data.params["ensemble.members"]) == ["run0", "run1", "run2"]
    assert run.data.metrics["ensemble/acc"] == pytest.approx(report["ensemble"]["acc"])
    assert run.data.metrics["diversity/disagreement"] == 0.0
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"ensemble.json"}


def test_missing_manifest_exits_1_naming_it(prepared, capsys):
    assert run_stage() == 1
    err = capsys.readouterr().err
    assert "models/search/manifest.json" in err and "run the search stage" in err


def test_top_k_below_one_is_a_config_error(prepared, capsys):
    assert run_stage("ensemble.top_k=0") == 2
    assert "ensemble.top_k" in capsys.readouterr().err


def test_corrupted_checkpoint_exits_1(untrained, manifest_writer, capsys):
    good = untrained("good.ckpt")
    bad = Path("models/search/bad.ckpt")
    bad.write_bytes(Path(good).read_bytes()[:200])  # truncated
    manifest_writer(
        [
            {"run_id": "a", "checkpoint": good, "val_acc": 0.2},
            {"run_id": "b", "checkpoint": str(bad), "val_acc": 0.1},
        ]
    )
    assert run_stage() == 1
    err = capsys.readouterr().err
    assert "member rank 2 (run b)" in err and str(bad) in err and "corrupted" in err
    assert not Path("reports/ensemble.json").exists()


PICKLE_CALLS: list[str] = []


def _record(message: str) -> None:
    PICKLE_CALLS.append(message)


class Payload:
    """Unpickling this object would call _record: code a checkpoint must never run."""

    def __reduce__(self):
        return (_record, ("ran on load",))


def test_checkpoint_with_a_pickled_object_is_refused(untrained, manifest_writer, capsys):
    good = untrained("good.ckpt")
    evil = Path("models/search/evil.ckpt")
    torch.save({"state_dict": {}, "hyper_parameters": {"x": Payload()}}, evil)
    manifest_writer(
        [
            {"run_id": "a", "checkpoint": str(evil), "val_acc": 0.2},
            {"run_id": "b", "checkpoint": good, "val_acc": 0.1},
        ]
    )
    assert run_stage() == 1
    err = capsys.readouterr().err
    assert "member rank 1 (run a)" in err and "was refused" in err and "pickled" in err
    assert PICKLE_CALLS == []


def test_checkpoint_for_other_data_is_refused(untrained, manifest_writer, capsys):
    other = untrained("other.ckpt", num_classes=3)
    manifest_writer([{"run_id": "a", "checkpoint": other, "val_acc": 0.2}])
    assert run_stage() == 1
    assert (
        "3 classes, but the prepared digits data has (1, 8, 8) with 10" in capsys.readouterr().err
    )


def test_member_trained_on_other_data_is_refused(untrained, manifest_writer, capsys):
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.create_experiment("search")
    run = client.create_run(experiment, tags={"data.fingerprint": "0123456789abcdef"})
    manifest_writer(
        [{"run_id": run.info.run_id, "checkpoint": untrained("m.ckpt"), "val_acc": 0.2}]
    )
    assert run_stage() == 1
    err = capsys.readouterr().err
    assert "was trained on prepared data 0123456789abcdef" in err and "rerun the search" in err


def test_missing_checkpoint_names_member_and_file(untrained, manifest_writer, capsys):
    manifest_writer(
        [
            {"run_id": "a", "checkpoint": untrained("a.ckpt"), "val_acc": 0.2},
            {"run_id": "b", "checkpoint": "models/search/gone.ckpt", "val_acc": 0.1},
        ]
    )
    shutil.rmtree("reports", ignore_errors=True)
    assert run_stage() == 1
    err = capsys.readouterr().err
    assert "member rank 2 (run b)" in err and "models/search/gone.ckpt" in err


def test_top_k_smaller_than_the_greedy_pool():
    # top_k = 1: the "ensemble" is member 1 alone; greedy may still draw member 2 (pool 2),
    # which is right on every val sample where member 1 is wrong.
    y = torch.tensor([0, 1])
    first, second = torch.tensor([[0.9, 0.1], [0.6, 0.4]]), torch.tensor([[0.2, 0.8], [0.1, 0.9]])
    members = tuple(member(r, f"r{r}", "c", 0.5) for r in (1, 2))
    preds = Predictions(members, torch.stack([first, second]), torch.stack([first, second]), y, y)
    report = summary_of(preds, EnsembleConfig(top_k=1, greedy_pool=2))
    assert report["top_k"] == {"requested": 1, "used": 1}
    assert report["ensemble"]["members"] == ["r1"] and report["ensemble"]["acc"] == 0.5
    assert report["ensemble"]["gain_points"] == 0.0 and report["diversity"]["disagreement"] == 0.0
    assert [row["run_id"] for row in report["members"]] == ["r1", "r2"]
    # Greedy: r1 and r2 tie at 1/2 on val; r2 has the lower NLL -> r2. r2+r1 is 2/2 right
    # (NLL 0.514), 2 r1 + r2 too (0.487), 3 r1 + r2 too (0.483); then 4 r1 + r2 drops to
    # 1/2 and 3 r1 + 2 r2 has NLL 0.494 -> stop with r1 x3, r2 x1: test acc 1.0, +50 points.
    assert report["greedy"]["selection"] == [
        {"rank": 1, "run_id": "r1", "count": 3},
        {"rank": 2, "run_id": "r2", "count": 1},
    ]
    assert report["greedy"]["steps"] == 4 and report["greedy"]["stopped"] == "no_improvement"
    assert report["greedy"]["acc"] == 1.0 and report["greedy"]["gain_points"] == 50.0


def test_every_gain_carries_its_paired_interval_over_the_test_images():
    # The interval is the sampling error of the gain itself: the ensemble's and the best
    # single member's per-image results, paired (trainlab.stats), not the members' spread.
    from trainlab.config.schema import StatsConfig
    from trainlab.stats.paired import paired_difference

    generator = torch.Generator().manual_seed(1)
    y_val, y_test = torch.randint(0, 4, (80,)), torch.randint(0, 4, (400,))
    noise = [torch.randn(400, 4, generator=generator) for _ in range(3)]
    signal = torch.nn.functional.one_hot(y_test, 4).float() * 1.2
    test = torch.stack([torch.softmax(signal + n, dim=1) for n in noise])
    val = torch.softmax(torch.randn(3, 80, 4, generator=generator), dim=2)
    members = tuple(member(r, f"r{r}", "c", 0.5) for r in (1, 2, 3))
    preds = Predictions(members, val, test, y_val, y_test)
    stats = StatsConfig(confidence=0.9, resamples=500)
    report = summarize(preds, EnsembleConfig(top_k=3, greedy_pool=3), manifest(members),
                       "digits", "fp", stats=stats)
    best = report.best_single.by_val.rank - 1
    expected = paired_difference(
        (test.mean(0).argmax(1) == y_test).numpy(), (test[best].argmax(1) == y_test).numpy(),
        0.9, n_resamples=500)
    interval = report.ensemble.gain_interval
    assert interval.confidence == 0.9
    assert (interval.low_points, interval.high_points) == pytest.approx(
        (100 * expected.low, 100 * expected.high))
    assert report.ensemble.gain_points == pytest.approx(100 * expected.estimate)
    assert interval.low_points <= report.ensemble.gain_points <= interval.high_points
    assert report.vote.gain_interval.method.startswith("paired bootstrap over 400 test images")
