"""The small controlled experiments behind claims 1-6, sized by `claims` in params.yaml.

Every experiment repeats over `claims.seeds` seeds (weights and batch order), so each effect
comes with its spread. Results are JSON-ready rows; :mod:`trainlab.claims.stage` turns them
into the numbers the rules judge. Trainings that several claims need (the relu MLP with the
default preprocessing) run once and are shared.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from trainlab.claims.loop import (
    Run,
    Subsets,
    dead_fraction,
    gradient_norms,
    layer_profile,
    make_module,
    make_subsets,
    train,
)
from trainlab.config.params import Config
from trainlab.config.schema import ModelConfig
from trainlab.data.prepared import PreparedData


class Experiments:
    """The experiments on one prepared dataset; each method returns JSON-ready rows.

    Args:
        cfg: the whole config: `claims` sizes the experiments, `model` gives the activation
            parameters (leaky slope, ELU alpha, maxout pieces), `seed` the first seed.
        data: the prepared data (raw uint8 images and the train statistics).
        device: where every training runs.
    """

    def __init__(self, cfg: Config, data: PreparedData, device: torch.device) -> None:
        self.cfg = cfg
        self.claims = cfg.claims
        self.data = data
        self.device = device
        self.seeds = [cfg.seed + i for i in range(self.claims.seeds)]
        probe = max(self.claims.gradient.batch, self.claims.convergence.train_sample,
                    self.claims.dead_units.probe_images)
        self.subsets: Subsets = make_subsets(data, self.claims.train_images,
                                             self.claims.eval_images, probe, cfg.seed, device)
        self.seconds: dict[str, float] = {}  # wall time of each experiment
        self._runs: dict[tuple, Run] = {}  # shared trainings: (activation, mode, seed, epochs)

    # --- building blocks ----------------------------------------------------------------
    def model(self, activation: str, hidden: tuple[int, ...] | None = None) -> ModelConfig:
        """The user's model section as an MLP with `activation` and the claims' widths."""
        return self.cfg.model.model_copy(update={
            "arch": "mlp", "activation": activation, "dropout": 0.0,
            "hidden": tuple(hidden or self.claims.hidden)})

    def module(self, activation: str, seed: int, *, preprocessing: str | None = None,
               hidden: tuple[int, ...] | None = None, optimizer: str | None = None,
               lr: float | None = None):
        c = self.claims
        return make_module(self.data, self.model(activation, hidden),
                           preprocessing or self.data.preprocessing, optimizer or c.optimizer,
                           c.lr if lr is None else lr, c.momentum, seed, self.device)

    def mlp_run(self, activation: str, preprocessing: str, seed: int, epochs: int) -> Run:
        """A claims MLP trained `epochs` epochs, train accuracy measured within epochs and
        val/test after each; identical requests share one training."""
        key = (activation, preprocessing, seed, epochs)
        if key not in self._runs:
            module = self.module(activation, seed, preprocessing=preprocessing)
            self._runs[key] = train(
                module, self.subsets, self.subsets.train, epochs=epochs,
                batch_size=self.claims.batch_size, seed=seed,
                evals_per_epoch=self.claims.convergence.evals_per_epoch)
        return self._runs[key]

    def _timed(self, name: str, started: float) -> None:
        self.seconds[name] = round(time.perf_counter() - started, 2)

    # --- the experiments ----------------------------------------------------------------
    def gradient(self) -> list[dict[str, Any]]:
        """Claims 1-2: a deep MLP per activation and seed, probed on one train batch at init
        and after `gradient.steps` steps: gradient norm per weighted layer, mean, saturation
        and local derivative per hidden layer."""
        started, g = time.perf_counter(), self.claims.gradient
        x, y = (t[: g.batch] for t in self.subsets.probe)
        eps = self.claims.dead_units.grad_eps
        per_epoch = max(len(self.subsets.train) // self.claims.batch_size, 1)
        epochs = math.ceil(g.steps / per_epoch)  # enough epochs for `steps` steps
        rows = []
        for activation in g.activations:
            for seed in self.seeds:
                module = self.module(activation, seed, hidden=(g.width,) * g.depth)
                row: dict[str, Any] = {"activation": activation, "seed": seed}
                for state in ("init", "trained"):
                    if state == "trained" and g.steps:
                        run = train(module, self.subsets, self.subsets.train, epochs=epochs,
                                    batch_size=self.claims.batch_size, seed=seed,
                                    score_epochs=False, max_steps=g.steps)
                        row["diverged"] = run.diverged
                    row[state] = {"grad_norm": gradient_norms(module, x, y)} | \
                        layer_profile(module, x, eps)
                rows.append(row)
        self._timed("gradient", started)
        return rows

    def convergence(self) -> list[dict[str, Any]]:
        """Claim 3: train accuracy within epochs, per activation and seed."""
        started, c = time.perf_counter(), self.claims.convergence
        rows = [self._run_row(activation, self.data.preprocessing, seed, c.epochs)
                for activation in c.activations for seed in self.seeds]
        self._timed("convergence", started)
        return rows

    def preprocessing(self) -> list[dict[str, Any]]:
        """Claim 5: the same MLP once per preprocessing mode and seed, on the same data."""
        started, p = time.perf_counter(), self.claims.preprocessing
        rows = [self._run_row(p.activation, mode, seed, p.epochs)
                for mode in p.modes for seed in self.seeds]
        self._timed("preprocessing", started)
        return rows

    def _run_row(self, activation: str, mode: str, seed: int, epochs: int) -> dict[str, Any]:
        run = self.mlp_run(activation, mode, seed, epochs)
        return {"activation": activation, "preprocessing": mode, "seed": seed,
                "epochs": epochs, "points": [list(p) for p in run.points],
                "val_acc": run.val_acc, "test_acc": run.test_acc, "diverged": run.diverged,
                "seconds": round(run.seconds, 3)}

    def dead_units(self) -> list[dict[str, Any]]:
        """Claim 4: dead and inactive unit fractions after `dead_units.epochs` epochs, per
        activation, learning rate and seed (None when the run diverged)."""
        started, d = time.perf_counter(), self.claims.dead_units
        x = self.subsets.probe[0][: d.probe_images]
        rows = []
        for activation in d.activations:
            for lr in d.lrs:
                for seed in self.seeds:
                    module = self.module(activation, seed, optimizer=d.optimizer, lr=lr)
                    run = train(module, self.subsets, self.subsets.train, epochs=d.epochs,
                                batch_size=self.claims.batch_size, seed=seed,
                                score_epochs=False)
                    row = {"activation": activation, "lr": lr, "seed": seed,
                           "diverged": run.diverged, "dead": None, "inactive": None,
                           "dead_per_layer": None}
                    if not run.diverged:
                        profile = layer_profile(module, x, d.grad_eps)
                        units = sum(profile["units"])
                        row |= {"dead": dead_fraction(profile),
                                "inactive": sum(i * u for i, u in zip(
                                    profile["inactive"], profile["units"], strict=True)) / units,
                                "dead_per_layer": profile["dead"]}
                    rows.append(row)
        self._timed("dead_units", started)
        return rows

    def early_stopping(self) -> list[dict[str, Any]]:
        """Claim 6: `early_stopping.train_images` images trained long enough to overfit,
        val and test accuracy after every epoch, per seed."""
        started, e = time.perf_counter(), self.claims.early_stopping
        small = self.subsets.train.subset(torch.arange(min(e.train_images,
                                                           len(self.subsets.train))))
        rows = []
        for seed in self.seeds:
            module = self.module(e.activation, seed)
            run = train(module, self.subsets, small, epochs=e.epochs,
                        batch_size=self.claims.batch_size, seed=seed)
            rows.append({"activation": e.activation, "seed": seed, "train_images": len(small),
                         "val_acc": run.val_acc, "test_acc": run.test_acc,
                         "diverged": run.diverged, "seconds": round(run.seconds, 3)})
        self._timed("early_stopping", started)
        return rows
