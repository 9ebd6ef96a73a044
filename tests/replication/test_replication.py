"""`trainlab replicate` and its core, `compare_runs`: two runs' stage files side by side.

No training here: the runs are folders of stage files (tests/stagefiles.py), the second an
edited copy of the first where a test wants them to disagree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from stagefiles import claims_file, search_summary, trial_row  # tests/stagefiles.py

from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS
from trainlab.cli import main
from trainlab.errors import DataError
from trainlab.leaderboard.results import (
    AHEAD,
    BEHIND,
    BEST_SINGLE,
    NOT_DISTINGUISHABLE,
    REFERENCE,
    Crossover,
    LeaderboardFile,
    Row,
)
from trainlab.replication.compare import CLAIMS, LEADERBOARD, SEARCH, compare_runs
from trainlab.replication.results import GAINED, LOST, OPPOSITE, Replication
from trainlab.replication.stage import make_workspace
from trainlab.search.results import BestSet
from trainlab.stagefile import read_model, write_model


def _row(name: str, standing: str) -> Row:
    return Row(name=name, kind="baseline", test_acc=0.85, test_low=0.84, test_high=0.86,
               diff_points=0.0, diff_low=-1.0, diff_high=1.0, diff_p=0.5, seeds=3,
               standing=standing, train_acc=None, gap_acc=None, ece=None, nll=None, params=1,
               train_seconds=1.0, images_per_second=1.0, run_id=None)


def _board(standings: dict[str, str], ahead_up_to: int | None = 100) -> LeaderboardFile:
    cross = Crossover(model="efficientnet_lite0 finetune", sizes=(100, 1000),
                      diff_points=(2.0, -1.0), diff_low=(1.0, -2.0), diff_high=(3.0, 0.0),
                      ahead_up_to=ahead_up_to, verdict="the sentence")
    return LeaderboardFile(
        dataset="digits", fingerprint="fp", test_images=360, train_images=1000,
        confidence=0.95, best_single="relu|none|none#s0, trial 1", method="m",
        rows=tuple(_row(n, s) for n, s in {BEST_SINGLE: REFERENCE, **standings}.items()),
        curve=(), crossovers=(cross,), notes=(), seconds=1.0, mlflow_run_id=None)


def _run(root: Path, seed: int, cells: tuple[str, ...] = ("a|n|n", "b|n|n", "c|n|n")) -> Path:
    """A finished run's stage files under `root` (its params.yaml names its seed)."""
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump({"seed": seed}))
    write_model(root / CLAIMS, claims_file({"ensemble": INCONCLUSIVE, "transfer": NOT_HOLDS}))
    write_model(root / LEADERBOARD, _board({"ensemble: mean probability": AHEAD,
                                            "efficientnet_lite0 finetune": BEHIND}))
    best = trial_row(1, "a", "n", "n", seed, val_acc=0.9, test_acc=0.88)
    write_model(root / SEARCH, search_summary(best, {"complete": 3, "total": 3}, best_set=BestSet(
        best=cells[0], cells=cells, compared=5, method="m")))
    return root


def test_two_runs_with_the_same_files_agree_everywhere(tmp_path):
    a = _run(tmp_path / "a", 0)
    found = compare_runs(a, a)
    assert found.agreement == 1.0 and found.agree == found.total > 20
    assert found.flipped == () and set(found.flips.values()) == {0}
    assert found.best_sets.jaccard == 1.0 and found.unread == ()
    kinds = {p.kind for p in found.pairs}
    assert kinds == {"claim", "condition", "leaderboard", "crossover", "best recipe"}
    assert found.metrics() == {"agreement": 1.0}


def test_runs_built_to_disagree_name_their_flips(tmp_path):
    a = _run(tmp_path / "a", 0)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / "params.yaml").write_text(yaml.safe_dump({"seed": 1}))
    claims, _ = read_model(b / CLAIMS, type(claims_file()))
    assert claims is not None
    edited = claims.model_dump(mode="json")
    edited["claims"]["saturation"]["status"] = NOT_HOLDS  # holds -> does not hold
    edited["claims"]["saturation"]["conditions"]["the condition"]["status"] = NOT_HOLDS
    edited["claims"]["zero_centred"]["status"] = INCONCLUSIVE  # holds -> undecided
    edited["claims"]["ensemble"]["status"] = HOLDS  # undecided -> holds
    (b / CLAIMS).write_text(json.dumps(edited))
    write_model(b / LEADERBOARD, _board({"ensemble: mean probability": NOT_DISTINGUISHABLE,
                                         "efficientnet_lite0 finetune": BEHIND}, None))
    best = trial_row(1, "b", "n", "n", 1, val_acc=0.9, test_acc=0.88)
    write_model(b / SEARCH, search_summary(best, {"complete": 3, "total": 3}, best_set=BestSet(
        best="b|n|n", cells=("b|n|n", "d|n|n"), compared=5, method="m")))

    found = compare_runs(a, b)
    flipped = {(p.kind, p.key): p for p in found.flipped}
    assert flipped[("claim", "saturation")].flip == OPPOSITE
    assert flipped[("claim", "zero_centred")].flip == LOST
    assert flipped[("claim", "ensemble")].flip == GAINED
    assert flipped[("leaderboard", "ensemble: mean probability")].flip == LOST
    assert flipped[("crossover", "efficientnet_lite0 finetune")].b == "not ahead at the smallest"
    assert flipped[("condition", "saturation / the condition")].flip == OPPOSITE
    assert flipped[("best recipe", "search")].a == "a|n|n"
    assert found.flips[OPPOSITE] == 2 and found.flips[LOST] == 2 and found.flips[GAINED] == 1
    assert found.total - found.agree == len(found.flipped) == 7
    assert found.agreement == pytest.approx(found.agree / found.total)
    assert found.best_sets.jaccard == pytest.approx(1 / 4)  # {b} of {a, b, c, d}
    assert (found.a.seed, found.b.seed) == (0, 1)


def test_a_run_without_a_file_is_named_and_its_verdicts_are_missing(tmp_path):
    a = _run(tmp_path / "a", 0)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / LEADERBOARD).unlink()
    found = compare_runs(a, b)
    assert any("leaderboard.json" in why for why in found.unread)
    assert {p.flip for p in found.flipped} == {"missing"}
    with pytest.raises(DataError, match="run the pipeline in both first"):
        compare_runs(tmp_path / "none", tmp_path / "neither")


def test_compare_only_writes_the_file_and_the_metric(project, tmp_path, capsys):
    # The project and its replication workspace hold the same stage files: full agreement.
    _run(tmp_path / "src-run", 0)
    for name in (CLAIMS, LEADERBOARD, SEARCH):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "src-run" / name, project / name)
    shutil.copytree(tmp_path / "src-run", project / "replications" / "seed-1")
    assert main(["replicate", "--seed", "1", "--compare-only"]) == 0
    found, _ = read_model("reports/replication.json", Replication)
    assert found is not None and found.agreement == 1.0
    assert json.loads(Path("metrics/replication.json").read_text()) == {"agreement": 1.0}
    assert "verdicts agree (100%)" in capsys.readouterr().out


@pytest.mark.parametrize(("seed", "message"), [
    ("0", "--seed 0 is this project's own base seed (params.yaml seed: 0); a replication "
          "needs another one, e.g. --seed 1"),
    ("-1", "--seed -1: a seed is a non-negative integer"),
    (None, "--seed is required: the replication's base seed"),
])
def test_the_base_seed_or_a_negative_one_exits_2_saying_why(project, capsys, seed, message):
    assert main(["replicate", *(["--seed", seed] if seed else [])]) == 2
    assert message in capsys.readouterr().err
    assert not Path("replications").exists()  # nothing copied, nothing run


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed", "one"], "argument --seed: invalid int value: 'one'"),
    (["--seed", "1.5"], "argument --seed: invalid int value: '1.5'"),
])
def test_a_seed_that_is_no_int_exits_2_saying_why(project, capsys, argv, message):
    with pytest.raises(SystemExit) as exit:
        main(["replicate", *argv])
    assert exit.value.code == 2 and message in capsys.readouterr().err


def test_the_workspace_is_a_copy_with_the_other_seed_and_no_git(project):
    # What git lists is copied (tracked and new unignored files), nothing it ignores.
    subprocess.run(["git", "init", "-q"], check=True)
    Path(".gitignore").write_text("/data/\n")
    Path("dvc.yaml").write_text("stages: {}\n")
    Path("src/pkg").mkdir(parents=True)
    Path("src/pkg/mod.py").write_text("X = 1\n")
    Path("data").mkdir()
    Path("data/big.bin").write_bytes(b"0" * 10)
    subprocess.run(["git", "add", "dvc.yaml", ".gitignore"], check=True)
    make_workspace(Path.cwd(), Path("replications/seed-3"), "params.yaml", 3)
    copy = Path("replications/seed-3")
    assert yaml.safe_load((copy / "params.yaml").read_text())["seed"] == 3
    assert yaml.safe_load(Path("params.yaml").read_text())["seed"] == 0  # ours untouched
    assert (copy / "src/pkg/mod.py").read_text() == "X = 1\n" and (copy / "dvc.yaml").is_file()
    assert not (copy / "data").exists()
    assert "no_scm = true" in (copy / ".dvc" / "config.local").read_text()
