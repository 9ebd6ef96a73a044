"""The lecture's claims, one row each: what `trainlab claims`, claims.json and the report loop over.

A row names everything about its claim: the lecture's words, the experiment that tests it (in
words, sized by params.yaml; and the :class:`~trainlab.claims.experiments.Experiments` method
that runs it, if it is the claims' own), its assessment in :mod:`trainlab.claims.assess`, its
rule (its thresholds' model, read from `claims.rules.<rule>`; function
`trainlab.claims.rules.<rule>`) and its figure in the report. Imports neither torch nor
MLflow, so the report reads it too.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
        experiment: what tests it on the user's data, in words with the values of the
            `claims` section as `{c.<key>}` (see :func:`describe`).
        measure: the `Experiments` method whose rows it judges (None: another stage's file).
        assess: its evidence -> its rule -> (verdict, details for the report).
        thresholds: its thresholds' model (`config.claims`), handed to `assess` from its
            section of `claims.rules`, `thresholds.section`: the claim's :attr:`rule`.
        figure: its figure in the report, a key of `trainlab.report.figures.claims.FIGURES`
            (None: none).
    """

    number: int
    key: str
    statement: str
    experiment: str
    measure: str | None
    assess: Callable[..., assess.Judged]
    thresholds: type[Thresholds]
    figure: str | None = None

    def describe(self, c: ClaimsConfig) -> str:
        """Its experiment in words, sized by the `claims` section `c`."""
        return describe(self.experiment, c)

    @property
    def rule(self) -> str:
        """Its section of `claims.rules`, also its function in `trainlab.claims.rules`."""
        return self.thresholds.section


class _Experiment(string.Formatter):
    """Writes a row's experiment text: `{c.<key>}` is a value of the `claims` section, the
    format `list` writes a sequence as "a, b" and `[list]` as "[a, b]"; `{seeds}` and the
    shared parts (:data:`PARTS`) are written first."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in ("list", "[list]"):
            listed = ", ".join(str(v) for v in value)
            return listed if format_spec == "list" else f"[{listed}]"
        return super().format_field(value, format_spec)


# Parts several claims' experiments share: the MLP of claims 3 and 5, the deep MLP of 1 and 2.
PARTS = {
    "mlp": "MLP {c.hidden:[list]}, {c.optimizer} lr {c.lr:g}, {c.train_images} train images",
    "deep": "{c.gradient.depth}-hidden-layer MLP ({c.gradient.width} units) per activation "
            "({c.gradient.activations:list}), {seeds}, one forward/backward pass on "
            "{c.gradient.batch} train images after {c.gradient.steps} {c.optimizer} steps "
            "(lr {c.lr:g})",
}


def describe(text: str, c: ClaimsConfig) -> str:
    """An experiment text with the values of the `claims` section `c`."""
    fields = {"c": c, "seeds": f"{c.seeds} seed{'s' if c.seeds > 1 else ''}"}
    parts = {name: _Experiment().format(part, **fields) for name, part in PARTS.items()}
    return _Experiment().format(text, **fields, **parts)


CLAIMS = (
    Claim(1, "saturation", "Saturated sigmoid units kill the gradient: in a deep network the "
          "first layer gets orders of magnitude less gradient with sigmoid than with ReLU.",
          "{deep}: L2 norm of each layer's weight gradient, first layer / last.",
          "gradient", assess.saturation, claim_rules.SaturationRule, "gradient_profile"),
    Claim(2, "zero_centred", "Sigmoid outputs are not zero-centred; tanh outputs are.",
          "{deep}: mean output of each hidden layer.",
          "gradient", assess.zero_centred, claim_rules.ZeroCentredRule, "layer_means"),
    Claim(3, "convergence", "ReLU converges much faster than sigmoid/tanh in practice (e.g. 6x, "
          "Krizhevsky et al. 2012).",
          "{mlp}, per activation ({c.convergence.activations:list}), {seeds}, "
          "{c.convergence.epochs} epochs: train accuracy on {c.convergence.train_sample} train "
          "images {c.convergence.evals_per_epoch}x per epoch; epochs and seconds to the "
          "threshold. Context: the search's train accuracy per epoch.",
          "convergence", assess.convergence, claim_rules.ConvergenceRule),
    Claim(4, "dying_relu", "ReLU units can die, e.g. when the learning rate is too high; Leaky "
          "ReLU and ELU units do not.",
          "MLP {c.hidden:[list]}, {c.dead_units.optimizer}, {c.dead_units.epochs} epochs on "
          "{c.train_images} train images, per activation ({c.dead_units.activations:list}) × "
          "lr ({c.dead_units.lrs:list}), {seeds}: a unit is dead when |f'(z)| < "
          "{c.dead_units.grad_eps:g} on all {c.dead_units.probe_images} probe images.",
          "dead_units", assess.dying_relu, claim_rules.DeadUnitsRule, "dead_by_lr"),
    Claim(5, "preprocessing", "Preprocess the input: subtracting the mean image (AlexNet), the "
          "per-channel mean (VGGNet) or standardising per channel (ResNet) each trains better "
          "than raw pixels.",
          "{mlp}, {c.preprocessing.activation}, per mode ({c.preprocessing.modes:list}), "
          "{seeds}, {c.preprocessing.epochs} epochs: test accuracy ({c.eval_images} images) at "
          "the best validation epoch.",
          "preprocessing", assess.preprocessing, claim_rules.PreprocessingRule),
    Claim(6, "early_stopping", "Early stopping: the snapshot that worked best on validation "
          "does better on new data than the last epoch.",
          "{c.early_stopping.activation} MLP {c.hidden:[list]} on "
          "{c.early_stopping.train_images} train images for {c.early_stopping.epochs} epochs, "
          "{seeds}: val and test accuracy ({c.eval_images} images each) after every epoch. "
          "Context: the search trials' best epochs.",
          "early_stopping", assess.early_stopping, claim_rules.EarlyStoppingRule),
    Claim(7, "ensemble", "Ensembles: averaging the predicted probabilities of several "
          "independent models gives about 2% extra performance.",
          "The ensemble stage (ensemble.json): the mean of the top-k models' probabilities "
          "against the best single model chosen on validation.",
          None, assess.ensemble, claim_rules.EnsembleRule),
    Claim(8, "regularization", "Regularization (L2, L1, elastic net, dropout) and data "
          "augmentation shrink the gap between training and test accuracy.",
          "The search (search_trials.csv): each preset paired with `none` on the same "
          "activation, other axis, preprocessing and seed; the gap is final train accuracy "
          "minus test accuracy.",
          None, assess.regularization, claim_rules.RegularizationRule),
    Claim(9, "transfer", "Transfer learning helps most when the target dataset is small.",
          "The transfer stage (transfer.csv): linear probe and fine-tuning of pretrained "
          "backbones against scratch at each target size.",
          None, assess.transfer, claim_rules.TransferRule),
)
BY_KEY = {claim.key: claim for claim in CLAIMS}


def measures() -> list[str]:
    """The claims' own experiments, each once, in the order of the first claim that reads it."""
    return list(dict.fromkeys(claim.measure for claim in CLAIMS if claim.measure))
