"""params.yaml as a whole: the :class:`Config` of every section, :data:`RECIPE_KEYS` (what
decides a training's result), and the loading: the YAML file, `--set key=value` overrides,
profiles, and one clear error for whatever does not validate (the key, the value and what is
allowed)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from trainlab.config import schema
from trainlab.config.claims import ClaimsConfig
from trainlab.config.pretrained import LeaderboardConfig, TransferConfig
from trainlab.config.schema import Section
from trainlab.errors import ConfigError
from trainlab.io import flatten


class Config(Section):
    """The whole params.yaml."""

    seed: Annotated[int, Field(ge=0)] = 0
    profile: str | None = None  # name of an entry of `profiles` applied on top of the file
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    data: schema.DataConfig = schema.DataConfig()
    model: schema.ModelConfig = schema.ModelConfig()
    train: schema.TrainConfig = schema.TrainConfig()
    regularization: schema.RegularizationConfig = schema.RegularizationConfig()
    augmentation: schema.AugmentationConfig = schema.AugmentationConfig()
    tracking: schema.TrackingConfig = schema.TrackingConfig()
    presets: schema.PresetsConfig = schema.PresetsConfig()
    grid: schema.GridConfig = schema.GridConfig()
    search: schema.SearchConfig = schema.SearchConfig()
    ensemble: schema.EnsembleConfig = schema.EnsembleConfig()
    transfer: TransferConfig = TransferConfig()
    leaderboard: LeaderboardConfig = LeaderboardConfig()
    report: schema.ReportConfig = schema.ReportConfig()
    stats: schema.StatsConfig = schema.StatsConfig()
    claims: ClaimsConfig = ClaimsConfig()

    def replace(self, **overrides: Any) -> Config:
        """A copy with dotted-key overrides applied and validated again."""
        raw = self.model_dump(mode="python")
        for key, value in overrides.items():
            set_dotted(raw, key.replace("__", "."), value)
        return validate(raw, source="override")

    def flat(self, *sections: str) -> dict[str, Any]:
        """Every resolved value under its dotted key, for tracking (grid, presets and profiles
        left out); with `sections`, only the keys under those top-level names (`seed`, ...)."""
        flat = flatten(self.model_dump(mode="json", exclude={"profiles", "grid", "presets"}))
        if not sections:
            return flat
        return {key: value for key, value in flat.items() if key.split(".")[0] in sections}

    def training_seeds(self) -> list[int]:
        """The seeds of every compared model's trainings: `seed`, `seed` + 1, ... (`stats.seeds`
        of them), so a comparison's interval includes the training randomness."""
        return [self.seed + k for k in range(self.stats.seeds)]

    def recipe(self) -> dict[str, Any]:
        """The values that decide what a training learns (:data:`RECIPE_KEYS`), dotted."""
        return {key: value for key, value in self.flat(*RECIPE_KEYS).items()
                if _decides(key)}


# What decides a training's result, so what identifies it: each section a training reads,
# with None where every key of it decides, else the keys that do. The others say where it
# runs (train.device, train.threads), where its data lies (data.root, data.prepared_dir,
# data.download) or belong to other stages. The search's recipe hash is built from exactly
# these values (see `Config.recipe`): a new section, or a new key outside these, retrains
# nothing. A training logs every key of these sections (and `profile`) as its run's params.
RECIPE_KEYS: dict[str, tuple[str, ...] | None] = {
    "seed": None,
    "data": ("dataset", "train_subset", "val_subset", "test_subset", "val_fraction",
             "test_fraction", "image_size", "preprocessing"),
    # Not model.arch_file: it says where DVC looks for a factory's code; what the code is
    # enters the search's recipe hash as its digest (trainlab.models.custom.code_digest).
    "model": ("arch", "activation", "leaky_slope", "elu_alpha", "maxout_pieces", "hidden",
              "channels", "cnn_hidden", "dropout"),
    "train": ("epochs", "batch_size", "lr", "optimizer", "momentum", "patience", "min_delta",
              "gap_sample", "diagnostics_every", "diagnostics_batch", "deterministic"),
    "regularization": None,
    "augmentation": None,
}
# The sections a training reads, logged as its run's params (the search, ensemble, transfer
# and report sections are their own stages' params; each param costs MLflow time).
TRAINING_SECTIONS = (*RECIPE_KEYS, "profile")


def _decides(key: str) -> bool:
    section, _, rest = key.partition(".")
    keys = RECIPE_KEYS[section]
    return keys is None or rest.split(".")[0] in keys


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in a nested dict, creating dicts on the way (validation catches bad keys)."""
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"cannot set {dotted!r}: {part!r} holds the value {child!r}, not a section"
            )
        node = child
    node[leaf] = value


def parse_override(text: str) -> tuple[str, Any]:
    """`key.path=value` with the value read as YAML (so 0.1, null, [1, 2] and true work)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--set expects key.path=value, got {text!r}; for example --set train.lr=0.01"
        )
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: cannot read {value!r} as a YAML value ({err})") from err
    return key.strip(), parsed


def _section_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the section that holds `loc` (for unknown-key messages)."""
    model: Any = Config
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    return sorted(getattr(model, "model_fields", {}))


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "params"
    if error["type"] == "extra_forbidden":
        allowed = _section_keys(error["loc"])
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "check its spelling"
        return f"unknown key {key!r} (value {error['input']!r}); {hint}"
    expected = error.get("ctx", {}).get("expected")
    reason = f"allowed: {expected}" if expected else error["msg"]
    reason = reason.removeprefix("Value error, ").replace("Input should be", "must be")
    return f"{key} = {error.get('input')!r} is not allowed: {reason}"


def validate(raw: Any, source: str = "params") -> Config:
    """Validate a nested dict into a :class:`Config`, raising one clear ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {raw!r}")
    raw = _resolve_presets(_apply_profile(raw, source), source)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as err:
        problems = [_describe(e) for e in err.errors()]
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if problems[1:] else ""
        raise ConfigError(f"{source}: {problems[0]}{more}") from None
    return cfg


PRESET_AXES = ("regularization", "augmentation")


def _resolve_presets(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Grid axes given as lists of names, replaced by the definitions in `presets`.

    A mapping on an axis defines its presets inline, as before.
    """
    grid = raw.get("grid")
    if not isinstance(grid, dict) or not any(isinstance(grid.get(a), list) for a in PRESET_AXES):
        return raw
    presets = raw.get("presets")
    if not isinstance(presets, dict):
        presets = {}
    resolved = copy.deepcopy(raw)
    for axis in PRESET_AXES:
        names = grid.get(axis)
        if not isinstance(names, list):
            continue
        defined = presets.get(axis)
        if not isinstance(defined, dict):
            defined = {"none": {}}  # the default presets: no regularization, no augmentation
        unknown = [name for name in names if not isinstance(name, str) or name not in defined]
        if unknown:
            raise ConfigError(
                f"{source}: grid.{axis} = {names!r} names {unknown!r}, not defined under "
                f"presets.{axis}; defined: {', '.join(map(str, defined)) or 'none'} (define it "
                f"under presets.{axis}, or give grid.{axis} as a mapping of inline presets)"
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"{source}: grid.{axis} = {names!r} lists a preset twice")
        resolved["grid"][axis] = {name: defined[name] or {} for name in names}
    return resolved


def _apply_profile(raw: dict[str, Any], source: str) -> dict[str, Any]:
    name = raw.get("profile")
    if name is None:
        return raw
    profiles = raw.get("profiles") or {}
    if name not in profiles:
        raise ConfigError(
            f"{source}: profile = {name!r} is not defined; allowed: {sorted(profiles)} or null"
        )
    merged = copy.deepcopy(raw)
    for key, value in (profiles[name] or {}).items():
        set_dotted(merged, key, value)
    return merged


def load_config(path: str | Path = "params.yaml", overrides: list[str] | None = None) -> Config:
    """Read params.yaml, apply `--set key=value` overrides, validate.

    Raises:
        ConfigError: the file is missing or malformed, or a key or value is not allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file {str(path)!r} not found; pass --params FILE or create it")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: malformed YAML: {err}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {raw!r}")
    for text in overrides or []:
        key, value = parse_override(text)
        set_dotted(raw, key, value)
    return validate(raw, source=str(path))
