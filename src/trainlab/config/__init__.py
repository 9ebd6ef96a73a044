"""params.yaml -> typed, validated, frozen config (pydantic); one clear error per mistake.

- `section`: what every section is (frozen, unknown keys forbidden), shared value types
- `schema`: the pipeline's sections (data ... report), the whole :class:`Config`, and
  :data:`RECIPE_KEYS`, what decides a training's result
- `claims`: the `claims` section (the lecture's claims: experiments and verdict rules)
- `loading`: the YAML file, `--set` overrides, profiles, cross-section rules, messages

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
from trainlab.config.loading import (
    load_config,
    parse_override,
    search_trial_count,
    set_dotted,
    validate,
)
from trainlab.config.schema import (
    RECIPE_KEYS,
    TRAINING_SECTIONS,
    AugmentationConfig,
    Config,
    DataConfig,
    EnsembleConfig,
    GridConfig,
    ModelConfig,
    Range,
    RegularizationConfig,
    RegularizationPreset,
    ReportConfig,
    SearchConfig,
    TrackingConfig,
    TrainConfig,
    TransferConfig,
)
from trainlab.config.section import (
    ACTIVATIONS,
    BACKBONES,
    DATASETS,
    PENALTIES,
    PREPROCESSING,
    TRANSFER_MODES,
    Section,
    project_relative,
)

__all__ = [
    "ACTIVATIONS",
    "BACKBONES",
    "DATASETS",
    "PENALTIES",
    "PREPROCESSING",
    "RECIPE_KEYS",
    "TRAINING_SECTIONS",
    "TRANSFER_MODES",
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
    "ModelConfig",
    "PreprocessingClaim",
    "PreprocessingRule",
    "Range",
    "RegularizationConfig",
    "RegularizationPreset",
    "RegularizationRule",
    "ReportConfig",
    "SaturationRule",
    "SearchConfig",
    "Section",
    "TrackingConfig",
    "TrainConfig",
    "TransferConfig",
    "TransferRule",
    "ZeroCentredRule",
    "load_config",
    "parse_override",
    "project_relative",
    "search_trial_count",
    "set_dotted",
    "validate",
]
