"""Config validation: every bad value stops with one message naming key, value and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trainlab.config.params import Config, load_config, parse_override, validate
from trainlab.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"train": {"lr": -0.1}}, r"train\.lr = -0\.1 is not allowed: must be greater than 0"),
        ({"model": {"dropout": 1.5}}, r"model\.dropout = 1\.5 is not allowed: must be less than 1"),
        ({"model": {"dropout": 1.0}}, r"model\.dropout = 1\.0 is not allowed"),
        (
            {"model": {"activation": "swish"}},
            r"model\.activation = 'swish' is not allowed: allowed: 'sigmoid', 'tanh', 'relu'",
        ),
        ({"data": {"dataset": "imagenet"}}, r"data\.dataset = 'imagenet' .*'fashion_mnist'"),
        ({"train": {"lrr": 0.1}}, r"unknown key 'train\.lrr' \(value 0\.1\); allowed keys here: "
                                   r"batch_size, .*lr, "),
        ({"trian": {}}, r"unknown key 'trian'"),
        ({"train": {"epochs": "many"}}, r"train\.epochs = 'many' is not allowed: must be a valid "
                                         r"integer"),
        ({"train": {"epochs": 0}}, r"train\.epochs = 0 is not allowed: must be greater than 0"),
        ({"data": {"prepared_dir": "../outside"}}, r"data\.prepared_dir = '\.\./outside'.*"
                                                   r"relative path inside the project"),
        ({"data": {"prepared_dir": "/tmp/x"}}, r"relative path inside the project"),
        ({"regularization": {"kind": "l3"}}, r"regularization\.kind = 'l3'.*'elastic'"),
        ({"grid": {"activation": []}}, r"grid\.activation is empty"),
        ({"search": {"lr": {"low": 1.0, "high": 0.1}}}, r"`low <= high` must hold, but got "
                                                       r"\(low=1\.0, high=0\.1\)"),
        ({"profile": "gpu"}, r"profile = 'gpu' is not defined"),
    ],
)
def test_bad_values_are_rejected_with_key_value_and_rule(raw, message):
    with pytest.raises(ConfigError, match=message):
        validate(raw)


def test_config_error_exits_with_code_2():
    assert ConfigError.exit_code == 2


def test_defaults_are_valid_and_frozen():
    cfg = validate({})
    assert cfg.tracking.uri == "sqlite:///mlflow.db"
    assert cfg.data.dataset == "fashion_mnist"
    with pytest.raises(Exception, match="frozen"):
        cfg.train.lr = 1.0  # type: ignore[misc]


def test_every_issue_key_exists():
    flat = Config().flat()
    for key in ("seed", "data.dataset", "data.train_subset", "data.preprocessing", "model.arch",
                "model.activation", "train.epochs", "train.batch_size", "train.lr",
                "regularization.kind", "regularization.strength", "model.dropout",
                "augmentation.hflip", "tracking.uri", "tracking.experiment"):
        assert key in flat


def test_flat_with_sections_keeps_only_their_keys():
    cfg = Config()
    picked = cfg.flat("seed", "model")
    assert picked == {k: v for k, v in cfg.flat().items()
                      if k == "seed" or k.startswith("model.")}
    assert "model.activation" in picked and "seed" in picked


def test_overrides_are_parsed_as_yaml_and_validated(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"train": {"lr": 0.1}}))
    cfg = load_config(path, ["train.lr=0.5", "data.train_subset=null", "model.hidden=[8, 4]"])
    assert cfg.train.lr == 0.5
    assert cfg.data.train_subset is None
    assert cfg.model.hidden == (8, 4)
    with pytest.raises(ConfigError, match=r"train\.lr = -1 is not allowed"):
        load_config(path, ["train.lr=-1"])
    with pytest.raises(ConfigError, match=r"--set expects key\.path=value, got 'train\.lr'"):
        parse_override("train.lr")


def test_profile_applies_its_overrides():
    raw = {"profile": "full", "profiles": {"full": {"train.epochs": 30, "data.train_subset": None}}}
    cfg = validate(raw)
    assert cfg.train.epochs == 30 and cfg.data.train_subset is None


def test_replace_revalidates():
    cfg = Config()
    assert cfg.replace(**{"train.lr": 0.5}).train.lr == 0.5
    with pytest.raises(ConfigError, match="model.dropout"):
        cfg.replace(**{"model.dropout": 2.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train: [1, 2", r"malformed YAML"),
        ("- just\n- a list\n", r"top level must be a mapping"),
    ],
)
def test_malformed_files_name_the_file(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match=r"params file '.*nope\.yaml' not found"):
        load_config(tmp_path / "nope.yaml")


def test_repository_params_yaml_is_valid():
    from pathlib import Path

    cfg = load_config(Path(__file__).parents[2] / "params.yaml")
    assert cfg.data.dataset == "fashion_mnist"


# --- the grid's presets, picked by name ---------------------------------------------------
PRESETS = {"regularization": {"none": {}, "l2": {"kind": "l2", "strength": 1e-3},
                              "dropout": {"dropout": 0.3}},
           "augmentation": {"none": {}, "flip": {"hflip": 0.5}}}


def test_a_grid_axis_picks_presets_by_name_in_its_order():
    cfg = validate({"presets": PRESETS,
                    "grid": {"regularization": ["dropout", "none"], "augmentation": ["flip"]}})
    assert list(cfg.grid.regularization) == ["dropout", "none"]
    assert cfg.grid.regularization["dropout"].dropout == 0.3
    assert cfg.grid.augmentation["flip"].hflip == 0.5


def test_a_mapping_still_defines_presets_inline():
    cfg = validate({"presets": PRESETS, "grid": {"regularization": {"mine": {"kind": "l1",
                                                                             "strength": 0.1}}}})
    assert list(cfg.grid.regularization) == ["mine"]
    assert cfg.grid.regularization["mine"].kind == "l1"


@pytest.mark.parametrize(("names", "message"), [
    (["none", "l3"], r"grid\.regularization = \['none', 'l3'\] names \['l3'\], not defined under "
                     r"presets\.regularization; defined: none, l2, dropout"),
    (["l2", "l2"], r"grid\.regularization = \['l2', 'l2'\] lists a preset twice"),
])
def test_an_unknown_or_repeated_name_lists_the_defined_presets(names, message):
    with pytest.raises(ConfigError, match=message):
        validate({"presets": PRESETS, "grid": {"regularization": names}})


def test_the_repository_grid_resolves_to_the_presets_it_names():
    cfg = load_config("params.yaml")
    raw = yaml.safe_load(Path("params.yaml").read_text())
    assert list(cfg.grid.regularization) == raw["grid"]["regularization"]
    for name, preset in cfg.grid.augmentation.items():
        assert preset == cfg.presets.augmentation[name]


def test_a_list_written_over_an_axis_keeps_the_definitions(tmp_path):
    # What `dvc exp run -S 'grid.augmentation=[none]'` does: the list replaces the axis in
    # params.yaml; the definitions stay under presets.
    raw = yaml.safe_load(Path("params.yaml").read_text())
    raw["grid"]["augmentation"] = ["none"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(tmp_path / "params.yaml", ["grid.regularization=[l2]"])
    assert list(cfg.grid.augmentation) == ["none"]
    assert cfg.grid.regularization["l2"].strength == 0.0005


def test_search_sizes_never_stop_another_stage():
    # search.top_k and ensemble.top_k take at most what the search has, at run time: a value
    # above the grid's trials must not stop `prepare` (issue 17).
    cfg = load_config("params.yaml", ["search.top_k=1000", "ensemble.top_k=500",
                                      "grid.activation=[relu]", "grid.augmentation=[none]"])
    assert cfg.search.top_k == 1000
