"""params.yaml -> typed, validated, frozen config (pydantic); one clear error per mistake.

- `schema`: what every section is (frozen, unknown keys forbidden), the value types and
  choices the sections share, and the recipe's, the search's and the outputs' sections
- `claims`: the `claims` section (the lecture's claims: experiments and verdict rules)
- `pretrained`: the pretrained networks' sections, `transfer` and the `leaderboard` that
  trains its baselines as transfer cells, and the backbone and mode names
- `params`: the whole params.yaml (:class:`Config`), :data:`RECIPE_KEYS` (what decides a
  training's result), and loading: YAML, `--set` overrides, profiles, the grid's presets
- `stage`: `trainlab config`, the resolved configuration printed as YAML

The one package that re-exports its modules' names (`from trainlab.config import Config`):
every command needs the whole config, and it imports only pydantic and yaml.
"""

from trainlab.config.claims import (
    ClaimRules,
    ClaimsConfig,
    ConvergenceClaim,
    ConvergenceRule,
    DeadUnitsClaim,
    DeadUnitsRule,
    EarlyStoppingClaim,
    EarlyStoppingRule,
    EnsembleRule,
    GradientClaim,
    PreprocessingClaim,
    PreprocessingRule,
    RegularizationRule,
    SaturationRule,
    TransferRule,
    ZeroCentredRule,
)
from trainlab.config.params import (
    RECIPE_KEYS,
    TRAINING_SECTIONS,
    Config,
    load_config,
    parse_override,
    set_dotted,
    validate,
)
from trainlab.config.pretrained import LeaderboardConfig, TransferConfig
from trainlab.config.schema import (
    ACTIVATIONS,
    PREPROCESSING,
    AugmentationConfig,
    DataConfig,
    EnsembleConfig,
    GridConfig,
    ModelConfig,
    PresetsConfig,
    RaceConfig,
    Range,
    RegularizationConfig,
    RegularizationPreset,
    ReportConfig,
    SearchConfig,
    Section,
    StatsConfig,
    TrackingConfig,
    TrainConfig,
)

__all__ = [
    "ACTIVATIONS",
    "PREPROCESSING",
    "RECIPE_KEYS",
    "TRAINING_SECTIONS",
    "AugmentationConfig",
    "ClaimRules",
    "ClaimsConfig",
    "Config",
    "ConvergenceClaim",
    "ConvergenceRule",
    "DataConfig",
    "DeadUnitsClaim",
    "DeadUnitsRule",
    "EarlyStoppingClaim",
    "EarlyStoppingRule",
    "EnsembleConfig",
    "EnsembleRule",
    "GradientClaim",
    "GridConfig",
    "PresetsConfig",
    "ModelConfig",
    "PreprocessingClaim",
    "PreprocessingRule",
    "RaceConfig",
    "Range",
    "RegularizationConfig",
    "RegularizationPreset",
    "RegularizationRule",
    "ReportConfig",
    "StatsConfig",
    "SaturationRule",
    "SearchConfig",
    "Section",
    "TrackingConfig",
    "TrainConfig",
    "TransferConfig",
    "LeaderboardConfig",
    "TransferRule",
    "ZeroCentredRule",
    "load_config",
    "parse_override",
    "set_dotted",
    "validate",
]
