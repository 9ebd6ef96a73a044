"""The claims' small trainings: a plain loop over a RecipeModule, and per-layer probes.

The experiments train many tiny MLPs for a few epochs each and score them far more often
than a pipeline run does (several times per epoch), so they skip Lightning's Trainer and
MLflow's per-run cost: the network, the preprocessing and the optimizer are the very ones
`trainlab train` uses (RecipeModule), driven by a loop of a few lines.

Why not trainlab's one Trainer (`trainlab.training.trainer.build_trainer`): measured with
`python -m bench.claims_loop` (the claims' MLP, 5,000 Fashion-MNIST images, one CPU core), an
epoch takes 0.155 s here, 0.175 s (+13%) through that Trainer with the recipe's grouped
batches, and 0.193 s (+25%) with one batch per Lightning call, which claims 1-3 would need
(they stop at an exact step or measure train accuracy within an epoch): the default claims
stage (66 trainings) would train 15-28% longer, ~38 s becoming 43-48 s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from trainlab.config.schema import ModelConfig
from trainlab.data.loader import DeviceLoader
from trainlab.data.prepared import PreparedData
from trainlab.data.split import Split
from trainlab.models.diagnostics import activation_stats, grad_norms
from trainlab.models.module import RecipeModule
from trainlab.models.networks import hidden_activations
from trainlab.models.scoring import module_accuracy

EVAL_BATCH = 2048  # images per scoring batch


@dataclass(frozen=True, eq=False)
class Subsets:
    """The claims' slices of the prepared data; scored images are float [0, 1] on `device`.

    Attributes:
        train: the training subset (uint8, the loader converts it).
        probe: (x, y), the first training images, scored to measure train accuracy.
        val, test: (x, y) of the first `eval_images` of each split.
    """

    train: Split
    probe: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    device: torch.device


def _on(split: Split, count: int, device: torch.device) -> tuple[Tensor, Tensor]:
    return (split.images[:count].to(device).float().div_(255.0), split.labels[:count].to(device))


def make_subsets(data: PreparedData, train_images: int, eval_images: int, probe_images: int,
                 seed: int, device: torch.device) -> Subsets:
    """A seeded random subset of `train_images` train images and the first val/test images."""
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))
    train = data.train.subset(order[:train_images])
    return Subsets(train, _on(train, probe_images, device), _on(data.val, eval_images, device),
                   _on(data.test, eval_images, device), device)


def make_module(data: PreparedData, model: ModelConfig, preprocessing: str, optimizer: str,
                lr: float, momentum: float, seed: int, device: torch.device) -> RecipeModule:
    """A freshly initialised RecipeModule (weights drawn from `seed`) with the train stats."""
    torch.manual_seed(seed)
    module = RecipeModule(
        model=model.model_dump(mode="json"), regularization={}, augmentation={},
        image_shape=data.image_shape, num_classes=data.num_classes,
        preprocessing=preprocessing, optimizer=optimizer, lr=lr, momentum=momentum,
        diagnostics_every=0,
    )
    module.load_stats(data.stats)
    return module.to(device)


def scoring_batches(x: Tensor, y: Tensor) -> zip:
    """Images x (N, C, H, W) in [0, 1] and labels as EVAL_BATCH-sized (x, y) batches."""
    return zip(x.split(EVAL_BATCH), y.split(EVAL_BATCH), strict=True)


@dataclass
class Run:
    """One short training.

    Attributes:
        points: (epoch, seconds of training, train accuracy on the probe images) at each
            measurement; epochs are fractional (0.25 = a quarter of the first epoch).
        val_acc, test_acc: at the end of each epoch (when scored).
        diverged: the loss became NaN/inf; training stopped there.
        seconds: training time, scoring excluded.
    """

    module: RecipeModule
    points: list[tuple[float, float, float]] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    diverged: bool = False
    seconds: float = 0.0


def train(module: RecipeModule, subsets: Subsets, train_split: Split, *, epochs: int,
          batch_size: int, seed: int, evals_per_epoch: int = 0, score_epochs: bool = True,
          max_steps: int | None = None) -> Run:
    """Train `module` on `train_split` with its own optimizer (cross-entropy, no penalty).

    Args:
        evals_per_epoch: train-accuracy measurements per epoch (0: none).
        score_epochs: score val and test accuracy after every epoch.
        max_steps: stop after this many optimizer steps (None: `epochs` epochs).
    """
    optimizer = module.configure_optimizers()
    loader = DeviceLoader(train_split, batch_size, subsets.device, shuffle=True,
                          drop_last=len(train_split) >= batch_size, seed=seed)
    per_epoch = len(loader)
    marks = {round(per_epoch * (i + 1) / evals_per_epoch) for i in range(evals_per_epoch)}
    run, steps = Run(module), 0
    module.train()
    for epoch in range(epochs):
        started = time.perf_counter()
        for step, (x, y) in enumerate(loader, start=1):
            loss = F.cross_entropy(module(x), y)
            # A host sync per step (cheap for these tiny MLPs): a diverged run must stop
            # before its NaN weights are probed or scored.
            if not math.isfinite(loss.item()):
                run.diverged = True
                run.seconds += time.perf_counter() - started
                return run
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            if step in marks:
                run.seconds += time.perf_counter() - started
                run.points.append((epoch + step / per_epoch, run.seconds,
                                   module_accuracy(module, scoring_batches(*subsets.probe))))
                started = time.perf_counter()
            if max_steps is not None and steps >= max_steps:
                break
        run.seconds += time.perf_counter() - started
        if score_epochs:
            run.val_acc.append(module_accuracy(module, scoring_batches(*subsets.val)))
            run.test_acc.append(module_accuracy(module, scoring_batches(*subsets.test)))
        if max_steps is not None and steps >= max_steps:
            break
    return run


def gradient_norms(module: RecipeModule, x: Tensor, y: Tensor) -> list[float]:
    """The weight-gradient L2 norm of every weighted layer, first to last (output), for one
    cross-entropy forward/backward pass on the batch (x, y); gradients are cleared after."""
    module.zero_grad(set_to_none=True)
    F.cross_entropy(module(x), y).backward()
    norms = [float(v) for v in grad_norms(module.net).values()]
    module.zero_grad(set_to_none=True)
    return norms


def layer_profile(module: RecipeModule, x: Tensor, grad_eps: float) -> dict[str, list[float]]:
    """Per hidden activation layer (first to last), on images x in [0, 1]:

    `mean` and `saturated` (the report's diagnostics), `derivative` (mean |f'(z)| over
    units and images), `dead` (fraction of units with |f'(z)| < grad_eps on every image: no
    gradient passes them) and `inactive` (fraction of units whose output is <= 0 on every
    image; for leaky_relu/elu such units still pass a gradient).
    """
    stats = activation_stats(module.net, module.normalize(x))
    inputs: list[tuple[torch.nn.Module, Tensor]] = []
    handles = [act.register_forward_hook(
        lambda m, args, out: inputs.append((m, args[0].detach())))
        for _, act in hidden_activations(module.net)]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    profile: dict[str, list[float]] = {"mean": [], "saturated": [], "derivative": [], "dead": [],
                                       "inactive": [], "units": []}
    for i, (act, z) in enumerate(inputs, start=1):
        z = z.clone().requires_grad_(True)
        with torch.enable_grad():
            out = act(z)
            (slope,) = torch.autograd.grad(out.sum(), z)  # f'(z) elementwise (B, U[, H, W])
        # (B, U, ...) -> (U, B*...): a unit is a feature (or a conv channel) over every image
        per_unit = slope.abs().transpose(0, 1).flatten(1)
        profile["mean"].append(stats[f"diag/layer{i}/mean"])
        profile["saturated"].append(stats[f"diag/layer{i}/saturated"])
        profile["derivative"].append(float(per_unit.mean()))
        profile["dead"].append(float((per_unit < grad_eps).all(dim=1).float().mean()))
        silent = (out.detach() <= 0).transpose(0, 1).flatten(1).all(dim=1)
        profile["inactive"].append(float(silent.float().mean()))
        profile["units"].append(float(per_unit.shape[0]))
    return profile


def dead_fraction(profile: dict[str, list[float]]) -> float:
    """Dead units over all hidden units of a :func:`layer_profile`."""
    units = profile["units"]
    return sum(d * u for d, u in zip(profile["dead"], units, strict=True)) / max(sum(units), 1.0)
