"""A fabricated trainlab project for the report tests: real MLflow (SQLite) and real Optuna.

The grid: 3 activations x 2 regularizations x 2 augmentations x 2 seeds of finished runs with
known metrics (:func:`expected_runs`), plus one FAILED trial (named like an XSS attempt) and
one PRUNED trial, an older search of another study that must be ignored, and the runs of
the other stages. Building it costs seconds (MLflow migrates its database once), so it is
session-scoped; tests never write into it and render into their own tmp_path.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import stagefiles  # tests/stagefiles.py
import yaml
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from trainlab.cli import main
from trainlab.ensemble.summary_file import ARTIFACT, EnsembleSummary
from trainlab.leaderboard.results import BEST_SINGLE, CurvePoint, LeaderboardFile, Row
from trainlab.report.inputs import ReportInputs, gather
from trainlab.search.results import TrialRow
from trainlab.stagefile import write_model, write_rows
from trainlab.transfer.results import CellResult, summarise

ACTIVATION = {"relu": (0.880, 0.975), "tanh": (0.863, 0.950), "sigmoid": (0.820, 0.860)}
REGULARIZATION = {"none": (0.0, 0.0), "l2": (0.006, -0.012)}  # (test, train) shifts
AUGMENTATION = {"none": (0.0, 0.0), "flip_crop": (0.009, -0.020)}
SEED_SHIFT = {0: 0.002, 1: -0.003}
MAX_EPOCHS = 8
XSS_NAME = "<script>alert(1)</script>"
XSS_TAG = '"><img src=x onerror=alert(1)>'
DIAG = {  # activation -> last logged diagnostics
    "relu": {"diag/layer1/dead": 0.05, "diag/layer2/dead": 0.12, "diag/dead": 0.09,
             "diag/layer1/saturated": 0.0, "diag/layer2/saturated": 0.0,
             "grad_norm/layer1": 0.5, "grad_norm/layer2": 0.6, "grad_norm/layer3": 0.7},
    "tanh": {"diag/layer1/saturated": 0.08, "diag/layer2/saturated": 0.15,
             "grad_norm/layer1": 0.2, "grad_norm/layer2": 0.4, "grad_norm/layer3": 0.8},
    "sigmoid": {"diag/layer1/saturated": 0.2, "diag/layer2/saturated": 0.3,
                "grad_norm/layer1": 0.01, "grad_norm/layer2": 0.1, "grad_norm/layer3": 0.9},
}
TRANSFER = {  # (backbone, mode) -> test accuracy at 100, 1000, all (4500) target images
    ("efficientnet_lite0", "linear_probe"): (0.72, 0.83, 0.88),
    ("efficientnet_lite0", "finetune"): (0.70, 0.86, 0.93),
    ("efficientnet_lite0", "scratch"): (0.55, 0.78, 0.90),  # the same network, random weights
    ("source", "linear_probe"): (0.66, 0.80, 0.86),
    ("source", "finetune"): (0.64, 0.82, 0.91),
    ("source", "scratch"): (0.55, 0.78, 0.90),
}
SIZES = {"100": 100, "1000": 1000, "all": 4500}  # transfer.sizes entry -> images used


@dataclass(frozen=True)
class FakeRun:
    trial: int
    activation: str
    regularization: str
    augmentation: str
    seed: int
    state: str = "finished"  # finished | pruned | failed
    test_acc: float = 0.0
    train_acc: float = 0.0
    val_acc: float = 0.0
    epochs_run: int = MAX_EPOCHS
    best_epoch: int = MAX_EPOCHS - 1  # counted from 0, as MLflow logs it
    seconds: float = 0.0
    name: str = ""
    failure: str = ""
    curves_artifact: bool = True

    @property
    def cell(self) -> str:
        return f"{self.activation}|{self.regularization}|{self.augmentation}"

    def curves(self) -> list[dict[str, float]]:
        """Per-epoch accuracies: validation peaks at the best epoch at exactly val_acc."""
        rows = []
        for e in range(self.epochs_run):
            val = self.val_acc - (0.012 * (self.best_epoch - e) if e < self.best_epoch
                                  else 0.003 * (e - self.best_epoch))
            train = self.train_acc - 0.04 * (self.epochs_run - 1 - e) / self.epochs_run
            rows.append({"epoch": e, "train/loss": 1.5 * (1 - train), "train/acc": train,
                         "val/loss": 1.5 * (1 - val), "val/acc": val})
        return rows


def expected_runs(shift: float = 0.0) -> list[FakeRun]:
    """The finished grid runs; `shift` moves relu|l2|flip_crop's test accuracy (compare)."""
    runs = []
    grid = itertools.product(ACTIVATION, REGULARIZATION, AUGMENTATION, SEED_SHIFT)
    for trial, (act, reg, aug, seed) in enumerate(grid):
        test = ACTIVATION[act][0] + REGULARIZATION[reg][0] + AUGMENTATION[aug][0] + SEED_SHIFT[seed]
        if (act, reg, aug) == ("relu", "l2", "flip_crop"):
            test += shift
        train = ACTIVATION[act][1] + REGULARIZATION[reg][1] + AUGMENTATION[aug][1] \
            + SEED_SHIFT[seed] / 2
        stops_early = (act, reg, aug) == ("relu", "none", "none")
        epochs = 6 if stops_early else MAX_EPOCHS
        runs.append(FakeRun(
            trial, act, reg, aug, seed, test_acc=round(test, 6), train_acc=round(train, 6),
            val_acc=round(test + 0.004 + SEED_SHIFT[seed] / 2, 6), epochs_run=epochs,
            best_epoch=2 if stops_early else epochs - 1 - seed, seconds=30.0 + trial,
            name=f"{act}|{reg}|{aug}#s{seed}",  # as the search names its runs
            # the worst recipe's best seed has no curves.csv: its curves come from the history
            curves_artifact=(act, reg, aug, seed) != ("sigmoid", "none", "none", 0),
        ))
    return runs


def odd_runs(first_trial: int) -> list[FakeRun]:
    return [
        FakeRun(first_trial, "relu", "l2", "none", 2, state="failed", name=XSS_NAME,
                failure=f"RuntimeError: {XSS_TAG}", val_acc=0.71, train_acc=0.7, epochs_run=1,
                best_epoch=0, seconds=3.0),
        FakeRun(first_trial + 1, "tanh", "l2", "flip_crop", 2, state="pruned", val_acc=0.74,
                train_acc=0.75, test_acc=0.73, epochs_run=2, best_epoch=1,
                name="tanh|l2|flip_crop#s2", seconds=9.0),
    ]


def _log_run(client: MlflowClient, exp_id: str, run: FakeRun, parent: str, start: int,
             study: str, full: bool = True) -> str:
    """One trial run; `full` adds the per-epoch history, diagnostics and curves.csv."""
    status = {"finished": "FINISHED", "pruned": "FINISHED", "failed": "FAILED"}[run.state]
    optuna_state = {"finished": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL"}[run.state]
    tags = {
        "mlflow.parentRunId": parent, "recipe.cell": run.cell,
        "recipe.activation": run.activation, "recipe.regularization": run.regularization,
        "recipe.augmentation": run.augmentation, "recipe.preprocessing": "channel_standardize",
        "recipe.seed": str(run.seed), "recipe.arch": "cnn", "optuna.trial_number": str(run.trial),
        "optuna.state": optuna_state, "optuna.study": study, "trainlab.outcome": run.state,
        "trainlab.kind": "search_trial",
        "trainlab.git_commit": "0123abc", "hardware.cpu": "Fake CPU @ 2.0GHz",
        "hardware.gpu": "none", "data.fingerprint": "fp-1234", "data.dataset": "fashion_mnist",
    }
    if run.failure:
        tags["trainlab.failure"] = run.failure
    created = client.create_run(exp_id, start_time=start, tags=tags, run_name=run.name)
    run_id = created.info.run_id
    metrics = []
    for row in run.curves() if full else []:
        step = (row["epoch"] + 1) * 10
        metrics += [Metric(k, v, start + step, step) for k, v in row.items() if k != "epoch"]
    if run.state in ("finished", "pruned"):  # a pruned run is scored where it stopped
        last = run.epochs_run * 10
        for key, value in DIAG[run.activation].items() if full and run.state == "finished" \
                else []:
            metrics += [Metric(key, 0.99, start, 0), Metric(key, value, start + last, last)]
        final = {"test/acc": run.test_acc, "final/train_acc": run.train_acc,
                 "gap/acc": run.train_acc - run.test_acc, "gap/loss": 0.1,
                 "val/acc_best": run.val_acc, "epochs_run": run.epochs_run,
                 "best_epoch": run.best_epoch, "time/seconds": run.seconds}
        metrics += [Metric(k, float(v), start + last, last) for k, v in final.items()]
    client.log_batch(run_id, metrics=metrics,
                     params=[Param("train.epochs", str(MAX_EPOCHS)), Param("seed", str(run.seed))],
                     synchronous=True)
    if run.state == "finished" and run.curves_artifact and full:
        client.log_text(run_id, _curves_csv(run), "curves.csv")
    client.set_terminated(run_id, status=status, end_time=start + int(run.seconds * 1000))
    return run_id


def _curves_csv(run: FakeRun) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["epoch", "train/loss", "train/acc", "val/loss", "val/acc",
                                  "best"], lineterminator="\n")
    writer.writeheader()
    for row in run.curves():
        writer.writerow(row | {"best": int(row["epoch"] == run.best_epoch)})
    return out.getvalue()


def build_experiment(client: MlflowClient, root: Path, name: str, shift: float = 0.0,
                     full: bool = True) -> tuple[dict[str, str], str, str]:
    """The experiment; returns trial number -> run id of the current search's children, the
    current search's parent run id and the older search's.

    `full=False` (for the comparison) logs the final metrics only, no other stage's runs.
    """
    exp_id = client.create_experiment(name, artifact_location=(root / "artifacts" / name).as_uri())
    t0 = 1_700_000_000_000
    # An older search of another study: its child must not reach the report.
    old = client.create_run(exp_id, start_time=t0, run_name="search-old",
                            tags={"trainlab.kind": "search", "trainlab.study": "old-study"})
    _log_run(client, exp_id, FakeRun(0, "relu", "none", "none", 0, test_acc=0.5, train_acc=0.5,
                                     val_acc=0.5, name="old-trial"), old.info.run_id, t0 + 1, "old")
    client.set_terminated(old.info.run_id, end_time=t0 + 10)
    parent = client.create_run(exp_id, start_time=t0 + 1000, run_name="search-grid-study",
                               tags={"trainlab.kind": "search", "trainlab.study": "grid-study"})
    ids = {}
    grid = expected_runs(shift)
    for i, run in enumerate([*grid, *odd_runs(len(grid))]):
        ids[run.trial] = _log_run(client, exp_id, run, parent.info.run_id,
                                  t0 + 2000 + 100_000 * i, "grid-study", full)
    client.set_terminated(parent.info.run_id, end_time=t0 + 1000 + 3_600_000)
    if full:
        client.create_run(exp_id, run_name="train-cnn-relu-none",
                          tags={"recipe.activation": "relu"})
        # The ensemble stage's run keeps a copy of its file: what `--compare` reads.
        run = client.create_run(exp_id, run_name="ensemble", tags={"trainlab.kind": "ensemble"})
        members = sorted(grid, key=lambda r: -r.val_acc)[:3]
        client.log_text(run.info.run_id, ensemble_summary(members, ids).model_dump_json(),
                        ARTIFACT)
    return ids, parent.info.run_id, old.info.run_id


def build_study(storage: str, runs: list[FakeRun]) -> None:
    study = optuna.create_study(study_name="grid-study", storage=storage, direction="maximize")
    space = {"activation": optuna.distributions.CategoricalDistribution(list(ACTIVATION)),
             "regularization": optuna.distributions.CategoricalDistribution(list(REGULARIZATION)),
             "augmentation": optuna.distributions.CategoricalDistribution(list(AUGMENTATION)),
             "seed": optuna.distributions.CategoricalDistribution([0, 1, 2])}
    for run in runs:
        params = {"activation": run.activation, "regularization": run.regularization,
                  "augmentation": run.augmentation, "seed": run.seed}
        state = {"finished": optuna.trial.TrialState.COMPLETE,
                 "pruned": optuna.trial.TrialState.PRUNED,
                 "failed": optuna.trial.TrialState.FAIL}[run.state]
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=space, state=state,
            value=run.val_acc if run.state == "finished" else None,
            intermediate_values={0: 0.70, 1: run.val_acc} if run.state == "pruned" else None))


def write_stage_files(folder: Path, runs: list[FakeRun], ids: dict[int, str],
                      parent_run_id: str) -> None:
    """The files the search, ensemble, transfer and train stages write, through their models."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in runs:
        done = r.state in ("finished", "pruned")  # scored: a pruned trial where it stopped
        scores = {"val_acc": r.val_acc, "test_acc": r.test_acc, "final_train_acc": r.train_acc,
                  "gap_acc": r.train_acc - r.test_acc, "gap_loss": 0.1,
                  "best_epoch": r.best_epoch + 1} if done else {}
        rows.append(stagefiles.trial_row(
            r.trial, r.activation, r.regularization, r.augmentation, r.seed,
            state={"finished": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL"}[r.state],
            epochs_run=r.epochs_run, seconds=r.seconds, run_id=ids[r.trial],
            fail_reason=r.failure or None, **scores))
    write_rows(folder / "search_trials.csv", rows, TrialRow)
    best = stagefiles.trial_row(0, "relu", "l2", "flip_crop", 0, val_acc=0.902, test_acc=0.897)
    write_model(folder / "search.json", stagefiles.search_summary(
        best, {"complete": 24, "pruned": 1, "fail": 1, "total": 26}, wall_seconds=1234.5,
        parent_run_id=parent_run_id))
    members = sorted((r for r in runs if r.state == "finished"), key=lambda r: -r.val_acc)[:3]
    write_model(folder / "ensemble.json", ensemble_summary(members, ids))
    cells = [stagefiles.cell(b, m, SIZES[s], acc, seconds=60.0, requested_size=s)
             for (b, m), accs in TRANSFER.items() for s, acc in zip(SIZES, accs, strict=True)]
    write_rows(folder / "transfer.csv", cells, CellResult)
    write_model(folder / "transfer.json", summarise(cells, {}, 500.0, (0, 1), (5, 6)))
    write_model(folder / "train.json", stagefiles.train_summary(0.871, 0.05))
    write_model(folder / "leaderboard.json", leaderboard_file())


# The reference run's leaderboard (reports/report.md at 70f4a79): the mean-probability and
# vote ensembles cost the same training (their members'), a fraction of a point apart.
BOARD = [  # name, kind, test acc [low, high], diff pp [low, high], gap, params, seconds, img/s
    ("ensemble: mean probability", "ensemble", (0.8823, 0.8758, 0.8886), (1.26, 0.86, 1.68),
     None, 844_978, 185.0, 1371.0),
    ("ensemble: greedy selection", "ensemble", (0.8798, 0.8733, 0.8861), (1.01, 0.68, 1.36),
     None, 422_164, 104.0, 3000.0),
    ("ensemble: majority vote", "ensemble", (0.8791, 0.8725, 0.8854), (0.94, 0.53, 1.36),
     None, 844_978, 185.0, 1283.0),
    (BEST_SINGLE, "recipe", (0.8697, 0.8629, 0.8762), (0.0, 0.0, 0.0), 0.0408,
     211_082, 53.1, 6622.0),
    ("efficientnet_lite0 finetune", "baseline", (0.8532, 0.8461, 0.8601), (-1.65, -2.39, -0.89),
     0.0794, 3_383_818, 107.0, 404.0),
    ("efficientnet_lite0 linear_probe", "baseline", (0.8121, 0.8043, 0.8197),
     (-5.76, -6.59, -4.95), 0.0922, 3_383_818, 43.4, 585.0),
]


def leaderboard_file() -> LeaderboardFile:
    rows = [Row(name=name, kind=kind, test_acc=acc, test_low=low, test_high=high,
                diff_points=diff, diff_low=dlow, diff_high=dhigh, diff_p=1.0 if diff == 0 else 0.0,
                train_acc=None if gap is None else acc + gap, gap_acc=gap,
                ece=None if name.endswith("vote") else 0.02, nll=None if name.endswith("vote")
                else 0.35, params=params, train_seconds=seconds, images_per_second=speed,
                run_id=None)
            for name, kind, (acc, low, high), (diff, dlow, dhigh), gap, params, seconds, speed
            in BOARD]
    curve = [CurvePoint(model=model, fraction=images / 10_000, images=images, test_acc=acc,
                        test_low=acc - 0.01, test_high=acc + 0.01, train_seconds=10.0,
                        run_id=None)
             for model, accs in (("best recipe", (0.70, 0.80, 0.87)),
                                 ("efficientnet_lite0 linear_probe", (0.72, 0.78, 0.81)),
                                 ("efficientnet_lite0 finetune", (0.71, 0.79, 0.85)))
             for images, acc in zip((100, 1000, 10_000), accs, strict=True)]
    return LeaderboardFile(
        dataset="fashion_mnist", fingerprint="fp-1234", test_images=10_000,
        train_images=10_000, confidence=0.95, best_single="relu|l2|flip_crop#s0, trial 3",
        method="Clopper-Pearson; paired bootstrap", rows=tuple(rows), curve=tuple(curve),
        crossovers=(), notes=(), seconds=600.0, mlflow_run_id=None)


def ensemble_summary(members: list[FakeRun], ids: dict[int, str]) -> EnsembleSummary:
    """The ensemble of `members` (best val first): 0.9071 test accuracy, an XSS note."""
    return stagefiles.ensemble_summary(
        [{"run_id": ids[m.trial], "trial": m.trial, "cell": m.cell, "val_acc": m.val_acc,
          "test_acc": m.test_acc} for m in members],
        gain_points=100 * (0.9071 - members[0].test_acc), notes=[f"a note with {XSS_TAG}"])


@dataclass(frozen=True)
class Project:
    parent_run_id: str  # the current search's parent run
    old_parent_run_id: str  # an older search of another study
    root: Path
    params: Path  # params.yaml pointing at this project's databases
    inputs: Path  # the stage files (reports/ of the pipeline)
    uri: str
    runs: list[FakeRun]  # every trial of the current search, odd ones included
    ids: dict[int, str]  # trial number -> MLflow run id

    xss_name: str = XSS_NAME  # the failed trial's run name
    xss_tag: str = XSS_TAG  # in its failure tag and in an ensemble note

    @property
    def finished(self) -> list[FakeRun]:
        return [r for r in self.runs if r.state == "finished"]


def write_params(root: Path, uri: str, storage: str, experiment: str, **report) -> Path:
    params = {"tracking": {"uri": uri, "experiment": experiment},
              "search": {"storage": storage, "study_name": "grid-study"},
              "report": {"curves": 2, "dpi": 60, **report}}
    path = root / f"params-{experiment}.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture(scope="session")
def fake_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Experiment 'grid' (+ 'grid-b', relu|l2|flip_crop 1.5 points better; 'bare', one
    finished run and no stage files) in one MLflow database, the Optuna study, stage files."""
    root = tmp_path_factory.mktemp("project")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    ids, parent, old_parent = build_experiment(client, root, "grid")
    build_experiment(client, root, "grid-b", shift=0.015, full=False)
    bare = client.create_experiment("bare", artifact_location=(root / "artifacts/bare").as_uri())
    bare_parent = client.create_run(bare, run_name="search", tags={"trainlab.kind": "search"})
    _log_run(client, bare, expected_runs()[0], bare_parent.info.run_id, 1_700_000_000_000, "s")
    runs = [*expected_runs(), *odd_runs(len(expected_runs()))]
    storage = f"sqlite:///{root / 'optuna.db'}"
    build_study(storage, runs)
    write_stage_files(root / "reports", runs, ids, parent)
    params = write_params(root, uri, storage, "grid", title="Fashion-MNIST recipes")
    return Project(parent, old_parent, root, params, root / "reports", uri, runs, ids)


@pytest.fixture(scope="session")
def rendered(fake_project: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of experiment 'grid' at the default figure resolution."""
    out = tmp_path_factory.mktemp("rendered") / "reports"
    params = yaml.safe_load(fake_project.params.read_text())
    params["report"].pop("dpi")
    path = fake_project.root / "params-rendered.yaml"
    path.write_text(yaml.safe_dump(params))
    assert main(["report", "--params", str(path), "--out", str(out),
                 "--inputs", str(fake_project.inputs)]) == 0
    return out


@pytest.fixture(scope="session")
def found(fake_project: Project) -> ReportInputs:
    """What the report of experiment 'grid' gathers (MLflow, stage files, the study)."""
    storage = f"sqlite:///{fake_project.root / 'optuna.db'}"
    return gather(fake_project.uri, "grid", fake_project.inputs, storage, "grid-study", curves=2)
