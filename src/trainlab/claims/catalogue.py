"""The lecture's claims, one row each: what `trainlab claims`, claims.json and the report loop over.

A row names everything about its claim: the lecture's words, the experiment that tests it (in
words, sized by params.yaml; and the :class:`~trainlab.claims.experiments.Experiments` method
that runs it, if it is the claims' own), its assessment in :mod:`trainlab.claims.assess`, its
rule (its thresholds' model, read from `claims.rules.<rule>`; function
`trainlab.claims.rules.<rule>`) and its figure in the report. Imports neither torch nor
MLflow, so the report reads it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trainlab.claims import assess
from trainlab.config import claims as claim_rules  # each row's thresholds
from trainlab.config.claims import ClaimsConfig, Thresholds


@dataclass(frozen=True)
class Claim:
    """One claim of the lecture.

    Attributes:
        number: its number in the report and the CLI's lines (1, 2, ...).
        key: its id in claims.json (a key of its `claims`, whose details model names it:
            `results.Details.key`), MLflow tags and metrics.
        statement: the claim in the lecture's words.
        experiment: what tests it on the user's data, in words, from the `claims` section.
        measure: the `Experiments` method whose rows it judges (None: another stage's file).
        assess: its evidence -> its rule -> (verdict, details for the report).
        thresholds: its thresholds' model (`config.claims`), handed to `assess` from its
            section of `claims.rules`, `thresholds.section`: the claim's :attr:`rule`.
        figure: the function of `trainlab.report.figures.claims` that draws its details
            (None: none).
    """

    number: int
    key: str
    statement: str
    experiment: Callable[[ClaimsConfig], str]
    measure: str | None
    assess: Callable[..., assess.Judged]
    thresholds: type[Thresholds]
    figure: str | None = None

    @property
    def rule(self) -> str:
        """Its section of `claims.rules`, also its function in `trainlab.claims.rules`."""
        return self.thresholds.section


def _listed(values) -> str:
    return ", ".join(str(v) for v in values)


def _seeds(c: ClaimsConfig) -> str:
    return f"{c.seeds} seed{'s' if c.seeds > 1 else ''}"


def _mlp(c: ClaimsConfig) -> str:
    return f"MLP {list(c.hidden)}, {c.optimizer} lr {c.lr:g}, {c.train_images} train images"


def _deep(c: ClaimsConfig) -> str:
    g = c.gradient
    return (f"{g.depth}-hidden-layer MLP ({g.width} units) per activation ({_listed(g.activations)}"
            f"), {_seeds(c)}, one forward/backward pass on {g.batch} train images after {g.steps} "
            f"{c.optimizer} steps (lr {c.lr:g})")


def _saturation(c: ClaimsConfig) -> str:
    return f"{_deep(c)}: L2 norm of each layer's weight gradient, first layer / last."


def _zero_centred(c: ClaimsConfig) -> str:
    return f"{_deep(c)}: mean output of each hidden layer."


def _convergence(c: ClaimsConfig) -> str:
    v = c.convergence
    return (f"{_mlp(c)}, per activation ({_listed(v.activations)}), {_seeds(c)}, "
            f"{v.epochs} epochs: train accuracy on {v.train_sample} train images "
            f"{v.evals_per_epoch}x per epoch; epochs and seconds to the threshold. "
            "Context: the search's train accuracy per epoch.")


def _dying_relu(c: ClaimsConfig) -> str:
    d = c.dead_units
    return (f"MLP {list(c.hidden)}, {d.optimizer}, {d.epochs} epochs on "
            f"{c.train_images} train images, per activation ({_listed(d.activations)}"
            f") × lr ({_listed(d.lrs)}), {_seeds(c)}: a unit is dead when |f'(z)| < "
            f"{d.grad_eps:g} on all {d.probe_images} probe images.")


def _preprocessing(c: ClaimsConfig) -> str:
    p = c.preprocessing
    return (f"{_mlp(c)}, {p.activation}, per mode ({_listed(p.modes)}), {_seeds(c)}, "
            f"{p.epochs} epochs: test accuracy ({c.eval_images} images) at the "
            "best validation epoch.")


def _early_stopping(c: ClaimsConfig) -> str:
    e = c.early_stopping
    return (f"{e.activation} MLP {list(c.hidden)} on "
            f"{e.train_images} train images for {e.epochs} epochs, {_seeds(c)}: val "
            f"and test accuracy ({c.eval_images} images each) after every "
            "epoch. Context: the search trials' best epochs.")


def _ensemble(c: ClaimsConfig) -> str:
    return ("The ensemble stage (ensemble.json): the mean of the top-k models' "
            "probabilities against the best single model chosen on validation.")


def _regularization(c: ClaimsConfig) -> str:
    return ("The search (search_trials.csv): each preset paired with `none` on "
            "the same activation, other axis, preprocessing and seed; the gap is "
            "final train accuracy minus test accuracy.")


def _transfer(c: ClaimsConfig) -> str:
    return ("The transfer stage (transfer.csv): linear probe and fine-tuning of "
            "pretrained backbones against scratch at each target size.")


CLAIMS = (
    Claim(1, "saturation", "Saturated sigmoid units kill the gradient: in a deep network the "
          "first layer gets orders of magnitude less gradient with sigmoid than with ReLU.",
          _saturation, "gradient", assess.saturation, claim_rules.SaturationRule,
          "gradient_profile"),
    Claim(2, "zero_centred", "Sigmoid outputs are not zero-centred; tanh outputs are.",
          _zero_centred, "gradient", assess.zero_centred, claim_rules.ZeroCentredRule,
          "layer_means"),
    Claim(3, "convergence", "ReLU converges much faster than sigmoid/tanh in practice (e.g. 6x, "
          "Krizhevsky et al. 2012).",
          _convergence, "convergence", assess.convergence, claim_rules.ConvergenceRule),
    Claim(4, "dying_relu", "ReLU units can die, e.g. when the learning rate is too high; Leaky "
          "ReLU and ELU units do not.",
          _dying_relu, "dead_units", assess.dying_relu, claim_rules.DeadUnitsRule, "dead_by_lr"),
    Claim(5, "preprocessing", "Preprocess the input: subtracting the mean image (AlexNet), the "
          "per-channel mean (VGGNet) or standardising per channel (ResNet) each trains better "
          "than raw pixels.",
          _preprocessing, "preprocessing", assess.preprocessing, claim_rules.PreprocessingRule),
    Claim(6, "early_stopping", "Early stopping: the snapshot that worked best on validation "
          "does better on new data than the last epoch.",
          _early_stopping, "early_stopping", assess.early_stopping, claim_rules.EarlyStoppingRule),
    Claim(7, "ensemble", "Ensembles: averaging the predicted probabilities of several "
          "independent models gives about 2% extra performance.",
          _ensemble, None, assess.ensemble, claim_rules.EnsembleRule),
    Claim(8, "regularization", "Regularization (L2, L1, elastic net, dropout) and data "
          "augmentation shrink the gap between training and test accuracy.",
          _regularization, None, assess.regularization, claim_rules.RegularizationRule),
    Claim(9, "transfer", "Transfer learning helps most when the target dataset is small.",
          _transfer, None, assess.transfer, claim_rules.TransferRule),
)
BY_KEY = {claim.key: claim for claim in CLAIMS}


def measures() -> list[str]:
    """The claims' own experiments, each once, in the order of the first claim that reads it."""
    return list(dict.fromkeys(claim.measure for claim in CLAIMS if claim.measure))
