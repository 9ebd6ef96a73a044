"""Every stage file round-trips through its model, and a file of another shape is refused
with one sentence naming the file, the field and the fix (`trainlab.stagefile`)."""

from __future__ import annotations

import json

import pytest
import stagefiles  # tests/stagefiles.py

from trainlab.claims.catalogue import CLAIMS
from trainlab.claims.results import ClaimsFile
from trainlab.ensemble.summary_file import EnsembleSummary
from trainlab.report.metrics_file import ReportMetrics, write_metrics
from trainlab.search.results import CellStanding, Manifest, SearchSummary, TrialRow
from trainlab.stagefile import (
    read_model,
    read_rows,
    rerun,
    write_dvc_metrics,
    write_model,
    write_rows,
)
from trainlab.training.results import TrainSummary
from trainlab.transfer.results import CellResult, TransferSummary, summarise

FIX = rerun("ensemble")
WHY = "(it was written by another version of trainlab or edited by hand)"


def _trials() -> list[TrialRow]:
    done = stagefiles.trial_row(0, "relu", "l2", "none", 0, val_acc=0.9, test_acc=0.8912345678,
                                final_train_acc=0.95, gap_acc=0.0587654322, gap_loss=0.1,
                                epochs_run=4, best_epoch=3, seconds=12.345, run_id="r0",
                                checkpoint="models/search/trials/r0/best.ckpt")
    failed = stagefiles.trial_row(1, "tanh", "none", "flip_crop", 1, state="FAIL",
                                  fail_reason='RuntimeError: "diverged", at epoch 2\nline 2')
    return [done, failed]


def _cells() -> list[CellResult]:
    return [stagefiles.cell("source", mode, size, acc) for size, accs in
            ((100, (0.6, 0.7)), (1000, (0.8, 0.83))) for mode, acc in zip(
                ("scratch", "finetune"), accs, strict=True)]


JSON_FILES = {
    "search.json": lambda: stagefiles.search_summary(_trials()[0], {"complete": 1, "fail": 1,
                                                                    "total": 2}),
    "manifest.json": lambda: stagefiles.manifest([stagefiles.member(1, "r", "c.ckpt", 0.9)]),
    "ensemble.json": lambda: stagefiles.ensemble_summary(
        [{"run_id": "a", "val_acc": 0.91, "test_acc": 0.9},
         {"run_id": "b", "val_acc": 0.9, "test_acc": 0.89, "cell": "relu|none|none"}], 1.25,
        notes=["a note"]),
    "transfer.json": lambda: summarise(_cells(), {"source": {"source_run_id": "s"}}, 12.345,
                                       (0, 1, 2), (5, 6)),
    "train.json": stagefiles.train_summary,
    "claims.json": stagefiles.claims_file,
}


@pytest.mark.parametrize("name", list(JSON_FILES))
def test_a_json_stage_file_reads_back_as_written(tmp_path, name):
    model = JSON_FILES[name]()
    path = write_model(tmp_path / name, model)
    assert read_model(path, type(model)) == (model, None)


def test_the_models_are_the_ones_their_readers_expect():
    types = {name: type(build()) for name, build in JSON_FILES.items()}
    assert types == {"search.json": SearchSummary, "manifest.json": Manifest,
                     "ensemble.json": EnsembleSummary, "transfer.json": TransferSummary,
                     "train.json": TrainSummary, "claims.json": ClaimsFile}
    # claims.json holds one entry per claim of the lecture, keyed and ordered as the claims.
    assert list(stagefiles.claims_file().model_dump(mode="json")["claims"]) == [
        claim.key for claim in CLAIMS]


def test_train_json_keeps_the_mlflow_metric_names(tmp_path):
    path = write_model(tmp_path / "train.json", stagefiles.train_summary(0.8712345678))
    payload = json.loads(path.read_text())
    assert payload["test/acc"] == 0.871235 and payload["epochs_run"] == 8  # 6 decimals
    assert set(payload) >= {"gap/acc", "final/train_acc", "time/seconds", "run_id"}


def test_the_report_metrics_leave_out_what_was_not_measured(tmp_path):
    metrics = ReportMetrics(trials={"total": 0}, ensemble={"gain_points": 1.5})
    path = write_metrics(tmp_path / "metrics.json", metrics)
    assert json.loads(path.read_text()) == {"trials": {"total": 0},
                                            "ensemble": {"gain_points": 1.5}}
    assert read_model(path, ReportMetrics) == (metrics, None)


@pytest.mark.parametrize(("rows", "row"), [(_trials, TrialRow), (_cells, CellResult)])
def test_a_csv_stage_file_reads_back_as_written(tmp_path, rows, row):
    written = rows()
    path = write_rows(tmp_path / "rows.csv", written, row)
    assert path.read_text().splitlines()[0] == ",".join(row.model_fields)
    assert read_rows(path, row) == (written, None)


def test_transfer_cells_keep_4_decimals_so_the_file_holds_what_the_model_holds():
    cell = stagefiles.cell("source", "scratch", 100, 0.712345678, seconds=1.23456)
    assert (cell.test_acc, cell.seconds) == (0.7123, 1.23)


def _ensemble_payload() -> dict:
    return JSON_FILES["ensemble.json"]().model_dump(mode="json")


def test_a_missing_or_renamed_field_names_the_file_the_field_and_the_fix(tmp_path):
    path = tmp_path / "ensemble.json"
    payload = _ensemble_payload()
    del payload["vote"]["acc"]
    path.write_text(json.dumps(payload))
    assert read_model(path, EnsembleSummary, FIX) == (
        None, f"{path}: field `vote.acc` is missing {WHY}: rerun `dvc repro ensemble`")
    payload = _ensemble_payload()
    payload["ensemble"]["gain"] = payload["ensemble"].pop("gain_points")  # an older name
    path.write_text(json.dumps(payload))
    assert read_model(path, EnsembleSummary, FIX) == (
        None, f"{path}: field `ensemble.gain_points` is missing; field `ensemble.gain` is not "
        f"one trainlab writes {WHY}: rerun `dvc repro ensemble`")


def test_a_value_of_the_wrong_type_is_quoted(tmp_path):
    payload = _ensemble_payload()
    payload["members"][1]["test_acc"] = "89%"
    payload["top_k"] = {}
    path = tmp_path / "ensemble.json"
    path.write_text(json.dumps(payload))
    _, problem = read_model(path, EnsembleSummary)
    assert problem == (f"{path}: field `members.1.test_acc` = '89%': Input should be a valid "
                       "number, unable to parse string as a number; field `top_k.requested` is "
                       f"missing (and 1 more problem(s)) {WHY}")


def test_a_csv_of_another_shape_names_the_column_or_the_line(tmp_path):
    path = write_rows(tmp_path / "t.csv", _cells(), CellResult)
    text = path.read_text()
    assert read_rows(tmp_path / "none.csv", CellResult, FIX) == (
        None, f"{tmp_path / 'none.csv'} is missing: {FIX}")
    path.write_text(text.splitlines()[0] + "\n")
    assert read_rows(path, CellResult, FIX) == (None, f"{path} has no rows: {FIX}")
    path.write_text(text.replace("best_epoch", "best"))
    assert read_rows(path, CellResult)[1] == (
        f"{path} lacks the column(s) best_epoch and has the column(s) best, which trainlab "
        f"does not write {WHY}")
    lines = text.splitlines()
    lines[3] = lines[3].replace("source", "", 1).replace(",3.0,", ",slow,")
    path.write_text("\n".join(lines) + "\n")
    assert read_rows(path, CellResult)[1] == (
        f"{path} line 4: field `backbone` = None: Input should be a valid string; field "
        f"`seconds` = 'slow': Input should be a valid number, unable to parse string as a "
        f"number {WHY}")
    path.write_bytes(b"\xff\xfe\x00bad")
    assert read_rows(path, CellResult)[1].startswith(f"{path} is not a readable CSV")


def test_a_dvc_metrics_file_holds_numbers_only(tmp_path):
    path = write_dvc_metrics(tmp_path / "m.json", {"acc": 0.912345678, "best_set": 3,
                                                   "gap": None})
    assert json.loads(path.read_text()) == {"acc": 0.912346, "best_set": 3}  # None: unmeasured
    for bad in ("0.9", True, [0.9]):
        with pytest.raises(TypeError, match="'acc'"):
            write_dvc_metrics(tmp_path / "bad.json", {"acc": bad})


def test_every_stage_file_names_a_few_numbers_for_dvc(tmp_path):
    """What `dvc metrics show` prints: short keys, numbers only, none of the stage file's text."""
    best = _trials()[0]
    views = {
        "train": stagefiles.train_summary(test_acc=0.87, gap_acc=0.05).metrics(),
        "search": stagefiles.search_summary(best, {"complete": 1}).metrics(),
        "ensemble": stagefiles.ensemble_summary(
            [{"run_id": "r0", "val_acc": 0.9, "test_acc": 0.8}], gain_points=1.5).metrics(),
        "claims": stagefiles.claims_file().metrics(),
    }
    assert views["train"] == {"acc": 0.87, "gap": 0.05}
    assert views["search"] == {"best": best.test_acc, "best_gap": best.gap_acc}
    assert views["ensemble"] == {"ens_gain": 1.5}
    assert sum(views["claims"].values()) == len(CLAIMS)
    # No two stages share a name: `dvc exp show` would label both columns with their files.
    names = [name for view in views.values() for name in view]
    assert len(names) == len(set(names))
    for stage, view in views.items():
        values = json.loads(write_dvc_metrics(tmp_path / f"{stage}.json", view).read_text())
        assert all(isinstance(v, int | float) and len(k) <= 8 for k, v in values.items()), stage


def test_the_search_metrics_are_the_best_recipe_over_its_seeds_not_the_best_trial():
    """metrics/search.json is declared: the cell first on mean validation, its test accuracy
    and gap as means over its seeds (a maximum over trials would not replicate)."""
    best = _trials()[0]
    recipe = CellStanding(
        cell="relu|none|none", activation="relu", regularization="none", augmentation="none",
        preprocessing=None, rank=1, seeds=3, raced_seeds=2, val_mean=0.88, val_low=0.87,
        val_high=0.89, test_mean=0.8712, test_low=0.865, test_high=0.877,
        test_interval="t over 3 seeds", gap_mean=0.031, gap_low=0.02, gap_high=0.04,
        vs_best=None, vs_best_low=None, vs_best_high=None, p_adjusted=None, best=True,
        in_best_set=True)
    summary = stagefiles.search_summary(best, {"complete": 5}, best_recipe=recipe)
    assert summary.metrics() == {"best": 0.8712, "best_gap": 0.031}
    assert summary.best_test_acc == best.test_acc  # the one trial's, kept in the file
    assert SearchSummary.model_validate_json(summary.model_dump_json()) == summary
