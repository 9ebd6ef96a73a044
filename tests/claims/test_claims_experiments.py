"""The small experiments on digits: they measure what the claims are about."""

from __future__ import annotations

import math

import pytest
import torch

from trainlab.claims import assess
from trainlab.claims.assess import Findings
from trainlab.claims.experiments import Experiments
from trainlab.claims.loop import layer_profile
from trainlab.claims.verdict import HOLDS, INCONCLUSIVE
from trainlab.data.prepared import load_prepared

CPU = torch.device("cpu")


def _experiments(cfg) -> Experiments:
    return Experiments(cfg, load_prepared(cfg.data.prepared_dir), CPU)


def test_deep_sigmoid_loses_the_gradient_and_is_not_zero_centred(tiny_cfg):
    ex = _experiments(tiny_cfg)
    rows = ex.gradient()
    assert len(rows) == 3 * 2  # sigmoid, tanh, relu x 2 seeds
    ratio = {}
    for row in rows:
        norms = row["trained"]["grad_norm"]
        assert len(norms) == 8 + 1 and len(row["trained"]["mean"]) == 8  # + the output layer
        ratio.setdefault(row["activation"], []).append(norms[0] / norms[-1])
    # The first layer of the 8-layer sigmoid MLP gets >1000x less of the output layer's
    # gradient than relu's does, in every seed; tanh keeps it (default init, no saturation).
    assert max(ratio["sigmoid"]) < 1e-3 * min(ratio["relu"])
    assert min(ratio["tanh"]) > 0.05
    means = {row["activation"]: row["trained"]["mean"] for row in rows}
    assert all(0.4 < m < 0.6 for m in means["sigmoid"])  # sigmoid(~0) = 0.5
    assert all(abs(m) < 0.1 for m in means["tanh"])  # tanh is zero-centred
    assert all(s <= 0.25 for row in rows if row["activation"] == "sigmoid"
               for s in row["trained"]["derivative"])  # sigmoid' never exceeds 1/4
    found = Findings(tiny_cfg.claims, tiny_cfg.grid, 0.95, rows={"gradient": rows})
    saturation, profile = assess.saturation(found, tiny_cfg.claims.rules.saturation)
    centred, _ = assess.zero_centred(found, tiny_cfg.claims.rules.zero_centred)
    assert saturation.status == HOLDS and centred.status == HOLDS
    assert saturation.numbers["orders relu over sigmoid"] > 3
    assert len(profile["grad_norm"]["sigmoid"]["init"]["mean"]) == 9


def test_layer_profile_counts_units_that_pass_no_gradient(tiny_cfg):
    ex = _experiments(tiny_cfg)
    x = ex.subsets.probe[0][:100]
    found = {}
    for activation in ("relu", "leaky_relu", "elu"):
        module = ex.module(activation, seed=0, hidden=(16,))
        first = module.net.body[1]  # Flatten, Linear, Activation, Dropout
        with torch.no_grad():
            first.bias.fill_(-1e3)  # every pre-activation of layer 1 far below zero
        found[activation] = layer_profile(module, x, grad_eps=1e-6)
    assert found["relu"]["dead"] == [1.0] and found["relu"]["inactive"] == [1.0]
    # silent but alive: leaky_relu still passes slope 0.01 of the gradient
    assert found["leaky_relu"]["dead"] == [0.0] and found["leaky_relu"]["inactive"] == [1.0]
    assert found["leaky_relu"]["derivative"] == [pytest.approx(0.01)]
    assert found["elu"]["dead"] == [1.0]  # alpha * exp(-1000) = 0: saturated for good
    fresh = layer_profile(ex.module("relu", seed=0, hidden=(16,)), x, grad_eps=1e-6)
    assert fresh["dead"][0] < 0.5 and fresh["units"] == [16.0]


def test_trainings_measure_within_epochs_and_are_shared(tiny_cfg):
    cfg = tiny_cfg.replace(**{"claims.convergence.activations": ["relu", "tanh"],
                              "claims.preprocessing.modes": ["none", "channel_standardize"]})
    ex = _experiments(cfg)
    convergence = ex.convergence()
    preprocessing = ex.preprocessing()
    # relu with the prepared data's own mode ran once for both claims: 2 x 2 + 1 x 2 runs
    assert ex.data.preprocessing == "channel_standardize"
    assert len(ex._runs) == 2 * 2 + 1 * 2
    relu = next(r for r in convergence if r["activation"] == "relu")
    shared = next(r for r in preprocessing if r["preprocessing"] == ex.data.preprocessing
                  and r["seed"] == relu["seed"])
    assert shared["points"] == relu["points"]
    epochs = [p[0] for p in relu["points"]]
    assert epochs == [0.5, 1.0, 1.5, 2.0]  # 2 measurements per epoch, 2 epochs
    seconds = [p[1] for p in relu["points"]]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert len(relu["val_acc"]) == len(relu["test_acc"]) == 2
    assert relu["points"][-1][2] > relu["points"][0][2]  # it learns
    assert all(0.0 <= acc <= 1.0 for acc in relu["test_acc"])
    assert set(ex.seconds) == {"convergence", "preprocessing"}


def test_a_diverged_run_is_recorded_and_left_out(tiny_cfg):
    cfg = tiny_cfg.replace(**{"claims.dead_units.optimizer": "sgd", "claims.dead_units.lrs":
                              [1e30], "claims.dead_units.activations": ["relu"]})
    rows = _experiments(cfg).dead_units()
    assert [(r["diverged"], r["dead"]) for r in rows] == [(True, None), (True, None)]
    found = Findings(cfg.claims, cfg.grid, 0.95, rows={"dead_units": rows})
    verdict, details = assess.dying_relu(found, cfg.claims.rules.dead_units)
    assert verdict.status == INCONCLUSIVE and "every relu run diverged" in verdict.reason
    assert details["by_lr"][0]["diverged"] == 2
    assert not math.isnan(details["by_lr"][0]["dead_sd"])
