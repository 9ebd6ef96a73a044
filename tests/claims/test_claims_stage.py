"""The claims stage: evidence from the other stages, config, dvc.yaml, and end to end."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from trainlab.claims import assess, evidence
from trainlab.claims.assess import Findings, Read
from trainlab.claims.catalogue import CLAIMS
from trainlab.claims.results import ClaimsFile
from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, PENDING
from trainlab.cli import main
from trainlab.config.claims import ClaimRules
from trainlab.config.params import Config, load_config, set_dotted
from trainlab.config.schema import GridConfig
from trainlab.databases import absolute_uri
from trainlab.ensemble.summary_file import EnsembleSummary
from trainlab.errors import ConfigError
from trainlab.search.grid import recipe_hash
from trainlab.search.results import TrialRow
from trainlab.stagefile import read_model, read_rows, rerun
from trainlab.transfer.results import CellResult

ROOT = Path(__file__).resolve().parents[2]


def _trials(path):
    return Read(*read_rows(path, TrialRow, rerun("search")))


def _ensemble(path):
    return Read(*read_model(path, EnsembleSummary, rerun("ensemble")))


def _cells(path):
    return Read(*read_rows(path, CellResult, rerun("transfer")))


def _found(**files) -> Findings:
    """What the assessments of claims 7-9 read: the stage files given, at C."""
    return Findings(Config().claims, Config().grid, C, **files)


def test_preset_pairs_pair_each_preset_with_none_on_the_same_recipe_and_seed(tmp_path, fake):
    read = _trials(fake.search_trials(tmp_path / "t.csv", {"none": 0.05, "l2": 0.02}))
    assert read.problem is None
    trials = read.content
    pairs = evidence.preset_pairs(trials)
    assert list(pairs) == ["l2"] and pairs["l2"]["pairs"] == 4  # 2 activations x 2 seeds
    assert pairs["l2"]["shrink"] == pytest.approx([3.0] * 4)  # the pruned trial is left out
    assert pairs["l2"]["test_change"] == pytest.approx([0.0] * 4)
    grid = GridConfig(regularization={"none": {}, "l2": {"kind": "l2", "strength": 1e-4},
                                      "drop": {"dropout": 0.3}})
    assert evidence.untested_penalties(trials, grid) == ["l1", "elastic", "dropout"]
    context = evidence.search_early_stopping(trials)
    assert context["search trials"] == 8 and context[
        "search share of trials peaking before the last epoch"] == 0.5


C = 0.95  # stats.confidence


def test_claims_7_to_9_judge_contradicting_evidence_from_the_stage_files(tmp_path, fake):
    rules = ClaimRules()
    # The search: l2 widens the gap (5 -> 8 points), dropout narrows it: claim 8 fails on l2.
    trials = _trials(fake.search_trials(tmp_path / "t.csv",
                                        {"none": 0.05, "l2": 0.08, "dropout": 0.02}))
    verdict, details = assess.regularization(_found(trials=trials), rules.regularization)
    assert verdict.status == NOT_HOLDS and verdict.confidence == C
    assert verdict.conditions["l2"].status == NOT_HOLDS
    assert verdict.conditions["l2"].effect == pytest.approx(-3.0)
    assert "untested: l1, elastic" in verdict.reason
    assert verdict.numbers["gap shrink dropout pp"] == pytest.approx(3.0)
    assert details["presets"]["l2"]["pairs"] == 4
    # The ensemble hurts: -0.4 points.
    ensemble = _ensemble(fake.ensemble_json(tmp_path / "e.json", -0.4, [0.86, 0.865, 0.855]))
    verdict, details = assess.ensemble(_found(ensemble=ensemble), rules.ensemble)
    # One ensemble against one trained model (the file's gain has seeds = 1): whatever the
    # interval, not decided.
    assert verdict.status == INCONCLUSIVE and verdict.numbers["gain pp"] == -0.4
    assert "one seed" in verdict.reason
    assert verdict.numbers["members"] == 3.0
    assert details == {"member_test_acc": [0.86, 0.865, 0.855]}
    # Transfer helps more with more data (2 points at 100 images, 9 at 1000).
    verdict, details = assess.transfer(_found(cells=_cells(fake.transfer_csv(
        tmp_path / "c.csv", {1000: 9.0, 100: 2.0}))), rules.transfer)
    # Per-image intervals over the target test images, one training per cell: not decided.
    assert verdict.status == INCONCLUSIVE
    assert all(c.reason.startswith("one seed") for c in verdict.conditions.values())
    assert verdict.conditions["source/linear_probe"].effect == pytest.approx(-7.0)
    assert details["gain_points"] == {"source/finetune": {"100": 3.0, "1000": 10.0},
                                      "source/linear_probe": {"100": 2.0, "1000": 9.0}}


def test_missing_stage_outputs_leave_their_claims_pending_with_the_command(tmp_path):
    rules = ClaimRules()
    verdict, details = assess.ensemble(_found(ensemble=_ensemble(tmp_path / "ensemble.json")),
                                       rules.ensemble)
    assert verdict.status == PENDING and details is None
    assert verdict.reason == f"{tmp_path / 'ensemble.json'} is missing: rerun `dvc repro ensemble`"
    assert "lecture: about 2 pp" in verdict.rule  # the rule is stated even while pending
    verdict, _ = assess.transfer(_found(cells=_cells(tmp_path / "transfer.csv")), rules.transfer)
    assert verdict.status == PENDING and "rerun `dvc repro transfer`" in verdict.reason


def test_a_stage_file_of_another_shape_leaves_its_claim_pending_naming_the_field(tmp_path,
                                                                                fake):
    rules = ClaimRules()
    path = fake.ensemble_json(tmp_path / "ensemble.json", 1.5, [0.9, 0.89])
    payload = json.loads(path.read_text())
    del payload["best_single"]["by_val"]["acc"]  # written by an older trainlab
    path.write_text(json.dumps(payload))
    verdict, _ = assess.ensemble(_found(ensemble=_ensemble(path)), rules.ensemble)
    assert verdict.status == PENDING
    assert verdict.reason == (
        f"{path}: field `best_single.by_val.acc` is missing (it was written by another "
        "version of trainlab or edited by hand): rerun `dvc repro ensemble`")
    path = fake.search_trials(tmp_path / "t.csv", {"none": 0.05, "l2": 0.02})
    path.write_text(path.read_text().replace(",COMPLETE,", ",done,", 1))  # trial 0, line 2
    verdict, _ = assess.regularization(_found(trials=_trials(path)), rules.regularization)
    assert verdict.status == PENDING
    assert re.fullmatch(
        rf"{re.escape(str(path))} line 2: field `state` = 'done': Input should be 'RUNNING', "
        r"'WAITING', 'COMPLETE', 'PRUNED' or 'FAIL' \(it was written by another version of "
        r"trainlab or edited by hand\): rerun `dvc repro search`", verdict.reason)


def test_claims_config_is_validated_and_kept_out_of_the_recipe_hash():
    with pytest.raises(ConfigError, match=r"claims\.convergence\.activations = \['tanh'\] must "
                       r"include 'relu'"):
        Config().replace(**{"claims.convergence.activations": ["tanh"]})
    with pytest.raises(ConfigError, match=r"unknown key 'claims\.rules\.ensemble\.gain'"):
        Config().replace(**{"claims.rules.ensemble.gain": 1})
    with pytest.raises(ConfigError, match=r"claims\.rules\.transfer\.overall = 'some'"):
        Config().replace(**{"claims.rules.transfer.overall": "some"})
    # The search's recipe hash decides which trials belong to the params: resizing the
    # claims must not make it retrain.
    resized = Config().replace(**{"claims.seeds": 5, "claims.rules.transfer.overall": "all"})
    assert recipe_hash(resized, "fp") == recipe_hash(Config(), "fp")
    assert load_config(ROOT / "params.yaml").claims == Config().claims  # params = defaults


def test_dvc_yaml_declares_the_claims_stage_before_the_report():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stage = dvc["stages"]["claims"]
    assert stage["cmd"].startswith("python stages/claims.py")
    for path in ("reports/search_trials.csv", "reports/ensemble.json", "reports/transfer.csv",
                 "reports/claims.json"):
        assert path in stage["cmd"]
    assert {"stages/claims.py", "src/trainlab/claims", "${data.prepared_dir}",
            "reports/search_trials.csv", "reports/ensemble.json", "reports/transfer.csv"} <= set(
        stage["deps"])
    assert {"claims", "seed", "tracking", "train.device"} <= set(stage["params"])
    assert [next(iter(m)) for m in stage["metrics"]] == ["metrics/claims.json"]
    assert "reports/claims.json" in dvc["stages"]["report"]["deps"]
    assert list(dvc)[-1] == "plots"


@pytest.fixture
def claims_run(prepared, capsys, fake):
    """`trainlab claims` on digits at test scale, the other stages' files fabricated (the
    ensemble hurts, l2 widens the gap, transfer helps more with more data): (claims.json,
    what it printed)."""
    params = yaml.safe_load((prepared / "params.yaml").read_text())
    for key, value in fake.claims.items():
        set_dotted(params, key, value)
    (prepared / "params.yaml").write_text(yaml.safe_dump(params))
    reports = prepared / "reports"
    fake.search_trials(reports / "search_trials.csv", {"none": 0.05, "l2": 0.08, "dropout": 0.02})
    fake.ensemble_json(reports / "ensemble.json", -0.4, [0.86, 0.865, 0.855], seeds=2)
    fake.transfer_csv(reports / "transfer.csv", {100: 2.0, 1000: 9.0})
    assert main(["claims"]) == 0  # the defaults are the paths the fabricated files lie at
    claims, problem = read_model(reports / "claims.json", ClaimsFile)
    assert problem is None
    return claims, capsys.readouterr().out


@pytest.mark.slow
def test_stage_on_digits_writes_every_claim_measured_or_judged(claims_run):
    claims, out = claims_run
    entries = claims.claims
    assert [e.number for e in entries.values()] == [c.number for c in CLAIMS] == list(range(1, 10))
    assert entries["saturation"].status == HOLDS  # digits: measured, not fabricated
    assert entries["zero_centred"].status == HOLDS
    assert len(entries["saturation"].details.grad_norm["relu"]["trained"].mean) == 9
    # Claims 7-9 read the fabricated files (their judging: the fast tests above). The
    # transfer cells are one training each: one seed, so claim 9 is not decided from them.
    for key in ("ensemble", "regularization"):
        assert entries[key].status == NOT_HOLDS, key
    assert entries["transfer"].status == INCONCLUSIVE
    assert "one seed" in entries["transfer"].reason
    assert entries["early_stopping"].context["search trials"] == 12
    for entry in entries.values():
        assert entry.reason and entry.rule and entry.experiment
        assert all(v is None or math.isfinite(v) for v in entry.numbers.values())
    assert sum(n for _, n in claims.summary) == 9 and claims.seeds == [0, 1]
    assert claims.seconds.total >= claims.seconds.gradient > 0
    assert claims.evidence.ensemble == "reports/ensemble.json"
    assert "claims: 7. does not hold: Ensembles" in out and "reports/claims.json" in out


@pytest.mark.slow
def test_stage_tracks_its_verdicts_in_one_mlflow_run(claims_run):
    claims, _ = claims_run
    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests")
    [run] = client.search_runs([experiment.experiment_id], "tags.`trainlab.kind` = 'claims'")
    assert run.info.run_id == claims.mlflow_run_id and run.info.status == "FINISHED"
    assert run.data.tags["claims.ensemble.status"] == NOT_HOLDS
    assert run.data.metrics["ensemble/gain_pp"] == pytest.approx(-0.4)
    assert run.data.metrics["claims/does_not_hold"] == claims.summary.does_not_hold
    assert run.data.params["claims.seeds"] == "2"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
        "claims.json", "experiments.json"}
