"""The grid, its cells and their configs, the queue's atomic claim, and bad params (no training)."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import optuna
import pytest
import yaml

from trainlab.cli import main
from trainlab.config.params import RECIPE_KEYS, TRAINING_SECTIONS, Config, load_config, validate
from trainlab.config.schema import ReportConfig, TrackingConfig
from trainlab.errors import ConfigError
from trainlab.search.grid import (
    Cell,
    base_config,
    cell_overrides,
    grid_cells,
    handout_order,
    recipe_hash,
    trial_config,
)
from trainlab.search.study import (
    claim_next,
    create_or_load,
    make_pruner,
    open_storage,
)

REPO = Path(__file__).resolve().parents[2]
LECTURE_ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "maxout", "elu"]


def test_default_grid_is_72_cells_of_the_lecture():
    cfg = load_config(REPO / "params.yaml")
    cells = grid_cells(cfg.grid)
    assert len(cells) == 72 == len({cell.id for cell in cells})
    assert [c.activation for c in cells[::12]] == LECTURE_ACTIVATIONS  # activation-major
    assert cells[0].id == "sigmoid|none|none"
    assert {c.regularization for c in cells} == {"none", "l2", "elastic", "dropout"}
    assert {c.augmentation for c in cells} == {"none", "flip_crop", "full"}
    # Every cell is a valid recipe, and every cell trains something different.
    base = base_config(cfg)
    hashes = {recipe_hash(trial_config(base, cfg.grid, c, cfg.seed), "fp") for c in cells}
    assert len(hashes) == 72


def test_grid_trials_are_handed_out_in_a_seeded_shuffle_by_default():
    cfg = load_config(REPO / "params.yaml")
    cells = grid_cells(cfg.grid)
    assert cfg.search.order == "shuffled"
    first = handout_order(cells, "shuffled", cfg.seed)
    assert sorted(c.id for c in first) == sorted(c.id for c in cells)  # each cell once
    assert handout_order(cells, "shuffled", cfg.seed) == first  # the same seed, the same order
    assert handout_order(cells, "shuffled", cfg.seed + 1) != first
    # The pruner's first reference trials span the grid, not one activation.
    assert len({c.activation for c in first[:6]}) >= 3
    assert handout_order(cells, "grid", cfg.seed) == cells


def test_cell_overrides_map_presets_onto_the_config():
    cfg = validate({
        "grid": {
            "activation": ["elu"],
            "regularization": {"elastic": {"kind": "elastic", "strength": 1e-4,
                                           "elastic_beta": 0.5, "dropout": 0.2}},
            "augmentation": {"flip_crop": {"hflip": 0.5, "crop_scale": 0.15, "translate": 0.1}},
            "preprocessing": ["mean_image"],
        },
        "search": {"top_k": 1}, "ensemble": {"top_k": 1},  # one cell: one trial to keep
    })
    cell = grid_cells(cfg.grid)[0]
    assert cell.id == "elu|elastic|flip_crop|mean_image"
    recipe = trial_config(cfg, cfg.grid, cell, seed=7)
    assert recipe.model.activation == "elu" and recipe.model.dropout == 0.2
    assert (recipe.regularization.kind, recipe.regularization.strength,
            recipe.regularization.elastic_beta) == ("elastic", 1e-4, 0.5)
    assert recipe.augmentation.hflip == 0.5 and recipe.augmentation.rotate == 0.0
    assert recipe.data.preprocessing == "mean_image" and recipe.seed == 7
    assert Cell.from_params(cell.params()) == cell


def test_unknown_preset_name_names_the_cell():
    cfg = Config()
    with pytest.raises(ConfigError, match=r"cell 'relu\|l2\|none' names the preset 'l2'"):
        cell_overrides(cfg.grid, Cell("relu", "l2", "none"))


def test_recipe_hash_ignores_where_a_trial_runs_but_not_what_it_learns():
    cfg = Config()
    same = cfg.replace(**{"train.threads": 3, "tracking.uri": "sqlite:///x.db",
                          "search.workers": 4, "train.device": "cpu"})
    assert recipe_hash(cfg, "fp") == recipe_hash(same, "fp")
    assert recipe_hash(cfg, "fp") != recipe_hash(cfg.replace(**{"train.epochs": 9}), "fp")
    assert recipe_hash(cfg, "fp") != recipe_hash(cfg, "other data")


# The hash of the default params before RECIPE_KEYS replaced a deny-list: the same value keeps
# every existing study's finished trials (a changed value retrains the whole search).
DEFAULT_HASH = "6d2b95df543a"


class TrackingPlus(TrackingConfig):
    tags: dict[str, str] = {"team": "vision"}  # a new key in a section that decides nothing


class ConfigPlus(Config):
    notes: ReportConfig = ReportConfig(title="a section this version does not know")
    tracking: TrackingPlus = TrackingPlus()


def test_recipe_hash_is_an_allow_list_a_new_section_or_runtime_key_changes_nothing():
    assert recipe_hash(Config(), "fp") == DEFAULT_HASH
    extended = ConfigPlus()
    assert "notes.title" in extended.flat() and "tracking.tags.team" in extended.flat()
    assert recipe_hash(extended, "fp") == DEFAULT_HASH
    # Keys outside RECIPE_KEYS: where a trial runs, logs, or other stages' params.
    for key, value in {"train.device": "cpu", "train.threads": 2, "data.root": "/elsewhere",
                       "data.prepared_dir": "data/other", "data.download": False,
                       "profile": None, "claims.seeds": 7, "ensemble.top_k": 2,
                       "transfer.epochs": 1, "report.dpi": 60, "search.repeats": 2}.items():
        assert recipe_hash(Config().replace(**{key: value}), "fp") == DEFAULT_HASH, key


@pytest.mark.parametrize("key, value", [
    ("seed", 1), ("data.dataset", "digits"), ("data.train_subset", 500),
    ("data.preprocessing", "none"), ("model.arch", "mlp"), ("model.dropout", 0.5),
    ("train.epochs", 3), ("train.lr", 0.01), ("train.patience", None),
    ("regularization.strength", 1e-4), ("augmentation.hflip", 0.5),
])
def test_recipe_hash_changes_with_every_deciding_key(key, value):
    assert recipe_hash(Config().replace(**{key: value}), "fp") != DEFAULT_HASH


def test_recipe_keys_name_existing_fields_and_training_logs_them():
    for section, keys in RECIPE_KEYS.items():
        assert section in Config.model_fields
        fields = getattr(Config.model_fields[section].annotation, "model_fields", {})
        assert set(keys or ()) <= set(fields), section  # a renamed key must not drop out
    recipe = Config().recipe()
    assert set(recipe) <= set(Config().flat(*TRAINING_SECTIONS))
    assert "train.epochs" in recipe and "train.device" not in recipe


def test_search_overrides_set_the_per_trial_scale():
    cfg = validate({"search": {"overrides": {"train.epochs": 4, "model.channels": [16, 32]}}})
    base = base_config(cfg)
    assert base.train.epochs == 4 and base.model.channels == (16, 32)
    with pytest.raises(ConfigError, match=r"search\.overrides: unknown key 'train\.epochz'"):
        base_config(validate({"search": {"overrides": {"train.epochz": 4}}}))
    with pytest.raises(ConfigError, match=r"search\.overrides key 'search\.top_k' is not allowed"):
        validate({"search": {"overrides": {"search.top_k": 4}}})


@pytest.mark.parametrize(("raw", "message"), [
    ({"grid": {"regularization": {"l2|x": {}}}}, r"preset name 'l2\|x' is not allowed"),
    ({"search": {"dropout": {"low": 0.1, "high": 1.0}}}, r"search\.dropout\.high must be below 1"),
    ({"search": {"heartbeat_interval": 60, "grace_period": 30}}, r"grace_period \(30 s\) must"),
])
def test_bad_search_params_are_config_errors(raw, message):
    with pytest.raises(ConfigError, match=message):
        validate(raw)


@pytest.mark.parametrize(("override", "message"), [
    ("search.sampler=random", r"search\.sampler = 'random' is not allowed: allowed: 'grid' or "
                              r"'tpe'"),
    ("search.pruner=asha", r"search\.pruner = 'asha' is not allowed: allowed: 'median'"),
    ("search.storage=not a url", r"search\.storage = 'not a url' is not a database URL"),
    ("tracking.enabled=false", r"tracking\.enabled = false is not allowed for the search"),
])
def test_bad_search_setup_exits_2_before_any_work(project, capsys, override, message):
    (project / "data").mkdir()
    assert main(["search", "--set", override]) == 2
    assert re.search(message, capsys.readouterr().err)


def _claim_all(storage_url: str, name: str, out: list) -> None:
    cfg = validate({"search": {"storage": storage_url, "study_name": name}})
    storage = open_storage(cfg.search)
    search_study = create_or_load(storage, cfg, make_pruner(cfg, 1))
    while (trial := claim_next(search_study)) is not None:
        out.append(trial.number)
        search_study.study.tell(trial, 0.0)


@pytest.mark.slow
def test_concurrent_claims_hand_out_each_queued_trial_once(tmp_path):
    # Plain SQLite lets two processes claim the same WAITING trial; BEGIN IMMEDIATE must not.
    url, name = f"sqlite:///{tmp_path / 'optuna.db'}", "claims"
    cfg = validate({"search": {"storage": url, "study_name": name}})
    search_study = create_or_load(open_storage(cfg.search), cfg, make_pruner(cfg, 1))
    for i in range(40):
        search_study.study.enqueue_trial({"i": i})
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        claimed = manager.list()
        workers = [ctx.Process(target=_claim_all, args=(url, name, claimed)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()  # no deadline: pytest-timeout bounds the test
        assert [worker.exitcode for worker in workers] == [0, 0, 0]
        numbers = list(claimed)
    assert sorted(numbers) == list(range(40))  # each once, none lost
    study = optuna.load_study(study_name=name, storage=url)
    assert len(study.trials) == 40  # no claim created a trial of its own
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_repo_params_load_with_the_search_sections():
    cfg = load_config(REPO / "params.yaml")
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    assert cfg.search.sampler == "grid" and raw["search"]["overrides"]
    assert cfg.search.storage.startswith("sqlite:///")
    full = load_config(REPO / "params.yaml", ["profile=full"])
    assert full.search.overrides != cfg.search.overrides  # the GPU profile trains longer

