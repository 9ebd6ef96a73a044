"""The lecture's claims, in the lecture's words, and the experiment that tests each one.

The experiment texts are written from the config, so the report states the sizes that ran.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainlab.config import Config


@dataclass(frozen=True)
class Claim:
    number: int
    key: str  # the claim's id in claims.json, MLflow tags and metrics
    statement: str


CLAIMS = (
    Claim(1, "saturation", "Saturated sigmoid units kill the gradient: in a deep network the "
          "first layer gets orders of magnitude less gradient with sigmoid than with ReLU."),
    Claim(2, "zero_centred", "Sigmoid outputs are not zero-centred; tanh outputs are."),
    Claim(3, "convergence", "ReLU converges much faster than sigmoid/tanh in practice (e.g. 6x, "
          "Krizhevsky et al. 2012)."),
    Claim(4, "dying_relu", "ReLU units can die, e.g. when the learning rate is too high; Leaky "
          "ReLU and ELU units do not."),
    Claim(5, "preprocessing", "Preprocess the input: subtracting the mean image (AlexNet), the "
          "per-channel mean (VGGNet) or standardising per channel (ResNet) each trains better "
          "than raw pixels."),
    Claim(6, "early_stopping", "Early stopping: the snapshot that worked best on validation "
          "does better on new data than the last epoch."),
    Claim(7, "ensemble", "Ensembles: averaging the predicted probabilities of several "
          "independent models gives about 2% extra performance."),
    Claim(8, "regularization", "Regularization (L2, L1, elastic net, dropout) and data "
          "augmentation shrink the gap between training and test accuracy."),
    Claim(9, "transfer", "Transfer learning helps most when the target dataset is small."),
)
BY_KEY = {claim.key: claim for claim in CLAIMS}


def _listed(values) -> str:
    return ", ".join(str(v) for v in values)


def experiments(cfg: Config) -> dict[str, str]:
    """What tests each claim, with the sizes of `cfg.claims`, keyed like :data:`CLAIMS`."""
    c = cfg.claims
    g, v, d, p, e = c.gradient, c.convergence, c.dead_units, c.preprocessing, c.early_stopping
    seeds = f"{c.seeds} seed{'s' if c.seeds > 1 else ''}"
    mlp = f"MLP {list(c.hidden)}, {c.optimizer} lr {c.lr:g}, {c.train_images} train images"
    deep = (f"{g.depth}-hidden-layer MLP ({g.width} units) per activation ({_listed(g.activations)}"
            f"), {seeds}, one forward/backward pass on {g.batch} train images after {g.steps} "
            f"{c.optimizer} steps (lr {c.lr:g})")
    return {
        "saturation": f"{deep}: L2 norm of each layer's weight gradient, first layer / last.",
        "zero_centred": f"{deep}: mean output of each hidden layer.",
        "convergence": (f"{mlp}, per activation ({_listed(v.activations)}), {seeds}, "
                        f"{v.epochs} epochs: train accuracy on {v.train_sample} train images "
                        f"{v.evals_per_epoch}x per epoch; epochs and seconds to the threshold. "
                        "Context: the search's train accuracy per epoch."),
        "dying_relu": (f"MLP {list(c.hidden)}, {d.optimizer}, {d.epochs} epochs on "
                       f"{c.train_images} train images, per activation ({_listed(d.activations)}"
                       f") × lr ({_listed(d.lrs)}), {seeds}: a unit is dead when |f'(z)| < "
                       f"{d.grad_eps:g} on all {d.probe_images} probe images."),
        "preprocessing": (f"{mlp}, {p.activation}, per mode ({_listed(p.modes)}), {seeds}, "
                          f"{p.epochs} epochs: test accuracy ({c.eval_images} images) at the "
                          "best validation epoch."),
        "early_stopping": (f"{e.activation} MLP {list(c.hidden)} on "
                           f"{e.train_images} train images for {e.epochs} epochs, {seeds}: val "
                           f"and test accuracy ({c.eval_images} images each) after every "
                           "epoch. Context: the search trials' best epochs."),
        "ensemble": ("The ensemble stage (ensemble.json): the mean of the top-k models' "
                     "probabilities against the best single model chosen on validation."),
        "regularization": ("The search (search_trials.csv): each preset paired with `none` on "
                           "the same activation, other axis, preprocessing and seed; the gap is "
                           "final train accuracy minus test accuracy."),
        "transfer": ("The transfer stage (transfer.csv): linear probe and fine-tuning of "
                     "pretrained backbones against scratch at each target size."),
    }
