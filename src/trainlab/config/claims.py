"""The `claims` section: the small experiments of the lecture's claims and their verdict rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, create_model, model_validator

from trainlab.config.schema import (
    ACTIVATIONS,
    PREPROCESSING,
    Fraction,
    NonNegative,
    Positive,
    PositiveInt,
    Probability,
    Section,
)


# `Literal[ACTIVATIONS]` and its `type: ignore[valid-type]`: see config.schema.
class GradientClaim(Section):
    """Claims 1-2: one batch through a deep MLP per activation, at init and briefly trained."""

    activations: tuple[Literal[ACTIVATIONS], ...] = ("sigmoid", "tanh", "relu")  # type: ignore[valid-type]
    depth: Annotated[int, Field(ge=2)] = 8  # hidden layers
    width: PositiveInt = 128  # units per hidden layer
    batch: PositiveInt = 256  # train images of the measured forward/backward pass
    steps: Annotated[int, Field(ge=0)] = 20  # optimizer steps before the second measurement


class ConvergenceClaim(Section):
    """Claim 3: train accuracy over (fractions of) epochs per activation; relu is the baseline."""

    activations: tuple[Literal[ACTIVATIONS], ...] = ("relu", "tanh", "sigmoid")  # type: ignore[valid-type]
    epochs: PositiveInt = 8
    evals_per_epoch: PositiveInt = 8  # train-accuracy measurements per epoch
    train_sample: PositiveInt = 1000  # fixed train images each measurement scores


class DeadUnitsClaim(Section):
    """Claim 4: dead-unit fraction after a short training, per activation and learning rate."""

    activations: tuple[Literal[ACTIVATIONS], ...] = ("relu", "leaky_relu", "elu")  # type: ignore[valid-type]
    optimizer: Literal["adam", "sgd"] = "adam"
    lrs: tuple[Positive, ...] = (0.001, 0.01, 0.03, 0.1)
    epochs: PositiveInt = 2
    grad_eps: Positive = 1e-6  # a unit is dead when |f'(z)| < grad_eps on every probe image
    probe_images: PositiveInt = 1000  # train images the dead fraction is measured on


class PreprocessingClaim(Section):
    """Claim 5: the same MLP trained once per preprocessing mode (and seed)."""

    modes: tuple[Literal[PREPROCESSING], ...] = PREPROCESSING  # type: ignore[valid-type]
    activation: Literal[ACTIVATIONS] = "relu"  # type: ignore[valid-type]
    epochs: PositiveInt = 8  # equal to convergence.epochs: the default mode's runs are shared


class EarlyStoppingClaim(Section):
    """Claim 6: a small train set trained long enough to overfit, scored every epoch."""

    activation: Literal[ACTIVATIONS] = "relu"  # type: ignore[valid-type]
    train_images: PositiveInt = 1000
    epochs: PositiveInt = 30


class Thresholds(Section):
    """A claim's verdict thresholds: the section `claims.rules.<section>`, handed to the
    claim's assessment and named by its row of :mod:`trainlab.claims.catalogue`. A claim's
    thresholds are one subclass here; :data:`ClaimRules` gathers them."""

    section: ClassVar[str]  # its key under claims.rules; also its function in claims.rules


class SaturationRule(Thresholds):
    section = "saturation"

    min_orders: NonNegative = 2.0  # log10(relu first/last ratio / sigmoid first/last ratio)


class ZeroCentredRule(Thresholds):
    section = "zero_centred"

    min_offset: NonNegative = 0.25  # mean |layer mean|: sigmoid minus tanh
    max_centred: NonNegative = 0.1  # tanh's mean |layer mean| at most this


# How a claim measured under several conditions gets its overall verdict: it holds when
# `all`, `any` or a `majority` of its conditions hold (trainlab.stats.verdict.combine).
OverallRule = Literal["all", "any", "majority"]


class ConvergenceRule(Thresholds):
    section = "convergence"

    train_acc: Annotated[float, Field(gt=0.0, le=1.0)] = 0.85  # the threshold to reach
    overall: OverallRule = "all"  # "faster than sigmoid/tanh": every other activation
    min_speedup: Positive = 2.0  # "much faster": epochs(other) / epochs(relu) at least this
    lecture_speedup: Positive = 6.0  # the lecture's example (Krizhevsky et al. 2012), shown


class DeadUnitsRule(Thresholds):
    section = "dead_units"

    min_relu_dead: Probability = 0.1  # relu's dead fraction at its worst learning rate
    max_other_dead: Probability = 0.02  # every other activation's, at every learning rate


class PreprocessingRule(Thresholds):
    section = "preprocessing"

    min_gain_points: float = 0.5  # test accuracy, each mode minus none, percentage points
    overall: OverallRule = "all"  # "each trains better than raw pixels"


class EarlyStoppingRule(Thresholds):
    section = "early_stopping"

    min_gain_points: float = 0.0  # test acc at the best val epoch minus at the last, points


class EnsembleRule(Thresholds):
    section = "ensemble"

    min_gain_points: float = 1.0  # ensemble minus best single model (by val), points
    lecture_gain_points: float = 2.0  # the lecture's "2% extra", shown


class RegularizationRule(Thresholds):
    section = "regularization"

    min_shrink_points: float = 0.5  # train-test gap of `none` minus the preset's, points
    # Below this mean gap of `none` (points) there is no overfitting worth shrinking: the
    # claim is inconclusive, not refuted, on such a grid.
    min_baseline_gap_points: NonNegative = 2.0
    overall: OverallRule = "all"  # "L2, L1, elastic net, dropout and augmentation shrink it"


class TransferRule(Thresholds):
    section = "transfer"

    min_diff_points: float = 1.0  # gain over scratch at the smallest size minus at the largest
    # Per backbone x mode; `any`: some way of transferring helps most on small data.
    overall: OverallRule = "any"


def _claim_rules() -> type[Section]:
    """The `claims.rules` section: one field per :class:`Thresholds` subclass above, named by
    its `section`, in their order (built from them, so no second list to keep in step)."""
    sections = {rule.section: (rule, rule()) for rule in Thresholds.__subclasses__()}
    return create_model("ClaimRules", __base__=Section, __doc__=(
        "The verdict rules: an effect's interval at `stats.confidence` against a threshold."),
        **sections)  # type: ignore[call-overload]


# mypy cannot read a model built at run time; it sees the Section every rule section is (the
# stage hands each assessment its section by name).
if TYPE_CHECKING:
    ClaimRules = Section
else:
    ClaimRules = _claim_rules()


class ClaimsConfig(Section):
    """The lecture's claims, checked by small controlled experiments and the other stages."""

    seeds: PositiveInt = 3  # every experiment runs with seed, seed+1, ... (the spread)
    train_images: PositiveInt = 5000  # seeded subset of the prepared train split
    eval_images: PositiveInt = 2000  # val and test images each training scores
    batch_size: PositiveInt = 128
    optimizer: Literal["adam", "sgd"] = "sgd"  # trainings of claims 1-3, 5, 6
    lr: Positive = 0.01
    momentum: Fraction = 0.9  # sgd only
    hidden: tuple[PositiveInt, ...] = (256, 128)  # the MLP of claims 3-6
    # torch threads for these tiny MLPs: 1 is fastest (2 threads on 2 busy cores spin and burn
    # ~5x the CPU time); null = torch's default. The device is train.device.
    threads: PositiveInt | None = 1
    gradient: GradientClaim = GradientClaim()
    convergence: ConvergenceClaim = ConvergenceClaim()
    dead_units: DeadUnitsClaim = DeadUnitsClaim()
    preprocessing: PreprocessingClaim = PreprocessingClaim()
    early_stopping: EarlyStoppingClaim = EarlyStoppingClaim()
    rules: ClaimRules = ClaimRules()

    @model_validator(mode="after")
    def _baselines_present(self) -> ClaimsConfig:
        needs = [
            ("convergence.activations", self.convergence.activations, "relu"),
            ("dead_units.activations", self.dead_units.activations, "relu"),
            ("preprocessing.modes", self.preprocessing.modes, "none"),
        ]
        for key, values, needed in needs:
            if needed not in values:
                raise ValueError(
                    f"claims.{key} = {list(values)} must include {needed!r}: the claim "
                    f"compares against it"
                )
        if not self.hidden or not self.dead_units.lrs:
            raise ValueError("claims.hidden and claims.dead_units.lrs need at least one value")
        return self
