"""The claims stage: evidence from the other stages, config, dvc.yaml, and end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from trainlab.claims import evidence
from trainlab.claims.stage import _ensemble, _transfer
from trainlab.claims.verdict import NOT_HOLDS, PENDING
from trainlab.cli import main
from trainlab.config import ClaimRules, Config, GridConfig, load_config, set_dotted
from trainlab.errors import ConfigError
from trainlab.io import read_csv, read_json
from trainlab.search.grid import recipe_hash
from trainlab.tracking import absolute_uri

ROOT = Path(__file__).resolve().parents[2]


def test_preset_pairs_pair_each_preset_with_none_on_the_same_recipe_and_seed(tmp_path, fake):
    path = fake.write_csv(tmp_path / "t.csv", fake.search_trials({"none": 0.05, "l2": 0.02}))
    trials, problem = read_csv(path, columns=evidence.REQUIRED["search"])
    assert problem is None
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


def test_transfer_gains_and_ensemble_numbers_from_the_stage_files(tmp_path, fake):
    frame, _ = read_csv(fake.transfer_csv(tmp_path / "t.csv", {1000: 2.0, 100: 9.0}))
    gains = evidence.transfer_gains(frame)
    assert list(gains["source/linear_probe"]) == ["100", "1000"]  # smallest first
    assert gains["source/finetune"] == pytest.approx({"100": 10.0, "1000": 3.0})
    payload, _ = read_json(fake.ensemble_json(tmp_path / "e.json", 1.5, [0.9, 0.89, 0.88]))
    gain, accs, numbers = evidence.ensemble_numbers(payload)
    assert (gain, accs, numbers["members"]) == (1.5, [0.9, 0.89, 0.88], 3.0)


def test_missing_stage_outputs_leave_their_claims_pending_with_the_command(tmp_path):
    rules = ClaimRules()
    verdict, _ = _ensemble(tmp_path / "ensemble.json", rules, 1.0)
    assert verdict.status == PENDING and "run `dvc repro ensemble`" in verdict.reason
    assert "lecture: about 2 pp" in verdict.rule  # the rule is stated even while pending
    (tmp_path / "transfer.csv").write_text("backbone,mode\nsource,scratch\n")
    verdict, _ = _transfer(tmp_path / "transfer.csv", rules, 1.0)
    assert verdict.status == PENDING and "lacks the column(s) size, test_acc" in verdict.reason


def test_claims_config_is_validated_and_kept_out_of_the_recipe_hash():
    with pytest.raises(ConfigError, match=r"claims\.convergence\.activations = \['tanh'\] must "
                       r"include 'relu'"):
        Config().replace(**{"claims.convergence.activations": ["tanh"]})
    with pytest.raises(ConfigError, match=r"unknown key 'claims\.rules\.ensemble\.gain'"):
        Config().replace(**{"claims.rules.ensemble.gain": 1})
    with pytest.raises(ConfigError, match=r"claims\.rules\.spread_k = -1"):
        Config().replace(**{"claims.rules.spread_k": -1})
    # The search's recipe hash decides which trials belong to the params: resizing the
    # claims must not make it retrain.
    resized = Config().replace(**{"claims.seeds": 5, "claims.rules.spread_k": 2.0})
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
    assert [next(iter(m)) for m in stage["metrics"]] == ["reports/claims.json"]
    assert "reports/claims.json" in dvc["stages"]["report"]["deps"]
    assert list(dvc)[-1] == "plots"


@pytest.mark.slow
def test_stage_end_to_end_on_digits_with_contradicting_evidence(prepared, capsys, fake):
    params = yaml.safe_load((prepared / "params.yaml").read_text())
    for key, value in fake.claims.items():
        set_dotted(params, key, value)
    (prepared / "params.yaml").write_text(yaml.safe_dump(params))
    reports = prepared / "reports"
    # The search: l2 widens the gap (5 -> 8 points), dropout narrows it: claim 8 fails on l2.
    fake.write_csv(reports / "search_trials.csv",
                   fake.search_trials({"none": 0.05, "l2": 0.08, "dropout": 0.02}))
    fake.ensemble_json(reports / "ensemble.json", -0.4, [0.86, 0.865, 0.855])  # it hurts
    fake.transfer_csv(reports / "transfer.csv", {100: 2.0, 1000: 9.0})  # helps more with more data
    assert main(["claims"]) == 0  # the defaults are the paths the fabricated files lie at
    payload = json.loads((reports / "claims.json").read_text())
    claims = payload["claims"]

    assert sorted(e["number"] for e in claims.values()) == list(range(1, 10))
    assert claims["regularization"]["status"] == NOT_HOLDS
    assert "regularization l2: gap shrink = -3.00 pp" in claims["regularization"]["reason"]
    assert claims["regularization"]["numbers"]["gap shrink dropout pp"] == pytest.approx(3.0)
    assert claims["ensemble"]["status"] == NOT_HOLDS
    assert claims["ensemble"]["numbers"]["gain pp"] == -0.4
    assert claims["transfer"]["status"] == NOT_HOLDS
    assert claims["saturation"]["status"] == "holds"  # digits: measured, not fabricated
    assert claims["zero_centred"]["status"] == "holds"
    assert claims["early_stopping"]["context"]["search trials"] == 12
    assert "untested: l1, elastic" in claims["regularization"]["reason"]
    for entry in claims.values():
        assert entry["reason"] and entry["rule"] and entry["experiment"]
        assert all(v is None or math.isfinite(v) for v in entry["numbers"].values())
    assert sum(payload["summary"].values()) == 9 and payload["seeds"] == [0, 1]
    assert set(payload["seconds"]) >= {"total", "gradient", "dead_units"}
    out = capsys.readouterr().out
    assert "claims: 7. does not hold: Ensembles" in out and "reports/claims.json" in out

    client = MlflowClient(absolute_uri("sqlite:///mlflow.db"))
    experiment = client.get_experiment_by_name("tests")
    [run] = client.search_runs([experiment.experiment_id], "tags.`trainlab.kind` = 'claims'")
    assert run.info.run_id == payload["mlflow_run_id"] and run.info.status == "FINISHED"
    assert run.data.tags["claims.ensemble.status"] == NOT_HOLDS
    assert run.data.metrics["ensemble/gain pp"] == pytest.approx(-0.4)
    assert run.data.metrics["claims/does_not_hold"] == payload["summary"]["does_not_hold"]
    assert run.data.params["claims.seeds"] == "2"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
        "claims.json", "experiments.json"}

    # The report renders the verdicts, coloured, with the claim figures.
    assert main(["report", "--out", "out"]) == 0
    html = (prepared / "out" / "index.html").read_text()
    assert '<section id="claims">' in html
    assert '<td class=" bad">does not hold</td>' in html
    figures = {p.stem for p in (prepared / "out" / "figures").iterdir()}
    assert {"claims_gradient_profile", "claims_layer_means", "claims_dead_units"} <= figures
    md = (prepared / "out" / "report.md").read_text()
    assert "## Claims" in md and "| 9 | Transfer learning helps most" in md
