"""The command line: exit codes, one-line messages, and nothing written on bad input."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest
import yaml

from trainlab.cli import COMMANDS, build_parser, main
from trainlab.config.params import load_config
from trainlab.ui import ui_command


# A bad value or key is tests/test_bad_input.py's table; these two fail before any params
# are read (the override's syntax, the params file itself).
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "nokey"], r"--set expects key\.path=value"),
        (["--params", "missing.yaml"], r"params file 'missing\.yaml' not found"),
    ],
)
def test_config_errors_exit_2_before_any_work(project, capsys, args, message):
    import re

    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert err.startswith("trainlab train: config error: ")
    assert len(err.strip().splitlines()) == 1
    # Nothing was touched: no tracking database, no data, no models.
    assert sorted(p.name for p in project.iterdir()) == ["params.yaml"]


def test_missing_dataset_exits_1_and_says_where_it_looked(project, capsys):
    code = main(["prepare", "--set", "data.dataset=imagefolder", "--set", "data.root=nowhere"])
    assert code == 1
    err = capsys.readouterr().err
    assert "nowhere" in err and err.startswith("trainlab prepare: error: ")
    assert not (project / "data" / "prepared").exists()


def test_train_without_prepared_data_says_how_to_prepare(project, capsys):
    assert main(["train"]) == 1
    assert "trainlab prepare" in capsys.readouterr().err


def test_every_command_has_params_and_set(project):
    for name in COMMANDS:
        args = build_parser(name).parse_args([name, "--params", "p.yaml", "--set", "a.b=1"])
        assert args.params == "p.yaml" and args.overrides == ["a.b=1"]


def test_every_command_that_loads_prepared_data_checks_its_params_first():
    # The table's flag is what the CLI checks: a command module that loads the prepared data
    # without it would train on whatever data/prepared holds, whatever the params say.
    for name, entry in COMMANDS.items():
        spec = importlib.util.find_spec(entry.module)
        loads = "load_prepared(" in Path(spec.origin).read_text()
        assert entry.reads_prepared == loads, name


def test_ui_binds_loopback_by_default_and_passes_an_argument_list(project):
    cfg = load_config("params.yaml")
    args = build_parser("ui").parse_args(["ui"])
    assert args.host == "127.0.0.1"
    command = ui_command(cfg, args.host, args.port)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--backend-store-uri") + 1] == "sqlite:///mlflow.db"


def test_config_prints_the_resolved_configuration(project, capsys):
    assert main(["config", "--set", "train.lr=0.05", "--set", "grid.activation=[tanh]"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["train"]["lr"] == 0.05
    assert printed["grid"]["activation"] == ["tanh"]
    assert printed["train"]["epochs"] == load_config("params.yaml").train.epochs
    assert "profiles" not in printed


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"trainlab {importlib.metadata.version('trainlab')}"
