"""Loading params.yaml: the YAML file, `--set key=value` overrides, profiles, and one clear
error for whatever does not validate (the key, the value and what is allowed)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trainlab.config.schema import Config
from trainlab.errors import ConfigError


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


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "params"
    if error["type"] == "extra_forbidden":
        allowed = _section_keys(error["loc"])
        hint = f"allowed keys here: {', '.join(allowed)}" if allowed else "check its spelling"
        return f"unknown key {key!r} (value {error['input']!r}); {hint}"
    allowed = error.get("ctx", {}).get("expected")
    reason = f"allowed: {allowed}" if allowed else error["msg"]
    reason = reason.removeprefix("Value error, ").replace("Input should be", "must be")
    return f"{key} = {error.get('input')!r} is not allowed: {reason}"


def validate(raw: Any, source: str = "params") -> Config:
    """Validate a nested dict into a :class:`Config`, raising one clear ConfigError."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {raw!r}")
    raw = _apply_profile(raw, source)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as err:
        problems = [_describe(e) for e in err.errors()]
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if problems[1:] else ""
        raise ConfigError(f"{source}: {problems[0]}{more}") from None
    _check_across_sections(cfg, source)
    return cfg


def search_trial_count(cfg: Config) -> int:
    """Trials the search runs: every grid cell once per seed, or tpe's n_trials."""
    if cfg.search.sampler == "tpe":
        return cfg.search.n_trials
    grid = cfg.grid
    cells = len(grid.activation) * len(grid.regularization) * len(grid.augmentation)
    return cells * len(grid.preprocessing or (None,)) * cfg.search.repeats


def _check_across_sections(cfg: Config, source: str) -> None:
    """Rules that tie two sections together (a single field cannot see them)."""
    trials = search_trial_count(cfg)
    if cfg.search.top_k > trials:
        raise ConfigError(
            f"{source}: search.top_k = {cfg.search.top_k} is larger than the {trials} trials "
            f"the search runs; use at most {trials}"
        )
    if cfg.ensemble.top_k > cfg.search.top_k:
        raise ConfigError(
            f"{source}: ensemble.top_k = {cfg.ensemble.top_k} is larger than search.top_k = "
            f"{cfg.search.top_k}, the checkpoints the search keeps; use at most "
            f"{cfg.search.top_k} or raise search.top_k"
        )


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
