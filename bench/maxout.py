"""Benchmark: the maxout CNN's training step and prediction, `Maxout` against what it was.

The search trains its grid on one torch thread per worker; a maxout trial took ~4x a relu
trial's time there. Two rows:
- training: `Maxout` (max(dim).values) against amax. amax's backward spreads the gradient
  over ties with elementwise passes over the pieces tensor; max(dim)'s scatters it to the
  argmax. Without ties (float pieces) the values and gradients are the same, so the weights
  after training must be identical: the benchmark checks that too.
- prediction (no gradient, as validation, test scoring and the ensembles predict): `Maxout`
  (elementwise maxima of the pieces' strided views) against max(dim).values. The values are
  the same: the benchmark checks the logits exactly.

Both rows run the search's CNN (params.yaml's `search.overrides`: channels [16, 32],
hidden 64; channels-last, as the trainer keeps it on the CPU), on the same random batches
(training with Adam), the order alternating each round.

    python -m bench.maxout [--quick] [--rounds R] [--steps N] [--threads T]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

import torch

from bench.common import interleave, median_ratio, median_ratio_ci, set_threads, write_result


def _amax(self, x: torch.Tensor) -> torch.Tensor:
    """The training implementation before: amax over the pieces."""
    return x.unflatten(1, (-1, self.pieces)).amax(dim=2)


def _max_dim(self, x: torch.Tensor) -> torch.Tensor:
    """The prediction implementation before: max(dim).values, as in training."""
    return x.unflatten(1, (-1, self.pieces)).max(dim=2).values


def _network() -> torch.nn.Module:
    """The search's maxout CNN, channels-last as the trainer keeps a CNN on the CPU
    (RecipeModule.use_channels_last), seeded."""
    from trainlab.config.params import Config
    from trainlab.models.networks import build_network

    model_cfg = Config().model.model_copy(
        update={"activation": "maxout", "channels": [16, 32], "cnn_hidden": 64})
    torch.manual_seed(0)
    return build_network(model_cfg, (1, 28, 28), 10).to(memory_format=torch.channels_last)


def _predictor(batches: int, reference: bool):
    """Eval-mode logits of the 2,000 val images' worth of batches of 256, in inference mode
    (as `predict_proba`)."""
    from trainlab.models.activations import Maxout

    net = _network().eval()
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.randn(256, 1, 28, 28, generator=gen) for _ in range(batches)]
    outputs: list[torch.Tensor] = []

    def predict() -> None:
        original = Maxout.forward
        if reference:
            Maxout.forward = _max_dim  # type: ignore[method-assign]
        try:
            with torch.inference_mode():
                outputs[:] = [net(x) for x in inputs]
        finally:
            Maxout.forward = original  # type: ignore[method-assign]

    return predict, outputs


def _trainer(steps: int, reference: bool):
    from trainlab.models.activations import Maxout

    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(128, 1, 28, 28, generator=gen),
                torch.randint(0, 10, (128,), generator=gen)) for _ in range(4)]
    weights: list[list[torch.Tensor]] = []

    def train() -> None:
        original = Maxout.forward
        if reference:
            Maxout.forward = _amax  # type: ignore[method-assign]
        try:
            net = _network()
            opt = torch.optim.Adam(net.parameters())
            for step in range(steps):
                x, y = batches[step % len(batches)]
                loss = torch.nn.functional.cross_entropy(net(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            weights.append([p.detach().clone() for p in net.parameters()])
        finally:
            Maxout.forward = original  # type: ignore[method-assign]

    return train, weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds of 20 steps")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the search: 1)")
    args = parser.parse_args(argv)
    rounds, steps = (5, 20) if args.quick else (args.rounds, args.steps)
    set_threads(args.threads)
    new, new_weights = _trainer(steps, reference=False)
    old, old_weights = _trainer(steps, reference=True)
    new_predict, new_logits = _predictor(8, reference=False)
    old_predict, old_logits = _predictor(8, reference=True)
    for warm_up in (new, old, new_predict, old_predict):  # one-time allocations, kernels
        warm_up()
    train_times = interleave({"max": new, "amax": old}, rounds)
    predict_times = interleave({"maxima": new_predict, "max": old_predict}, rounds)
    rows = [
        _row("training", steps, rounds, args.threads, train_times, "max", "amax",
             all(torch.equal(a, b) for a, b in zip(new_weights[-1], old_weights[-1],
                                                   strict=True))),
        _row("prediction", 8, rounds, args.threads, predict_times, "maxima", "max",
             all(torch.equal(a, b) for a, b in zip(new_logits, old_logits, strict=True))),
    ]
    command = "python -m bench.maxout " + " ".join(map(shlex.quote, argv or sys.argv[1:]))
    path = write_result("maxout", {"rows": rows}, command.strip())
    for row in rows:
        print(f"maxout {row['task']}: {row['ms_per_step']:.1f} ms / {row['unit']} "
              f"({row['variant']}) vs {row['before_ms_per_step']:.1f} ms ({row['before']}): "
              f"{row['speedup']:.2f}x, identical {row['identical']} -> {path}")
    return 0 if all(row["identical"] for row in rows) else 1


def _row(task: str, steps: int, rounds: int, threads: int, times: dict[str, Any],
         variant: str, before: str, identical: bool) -> dict[str, Any]:
    """One result row: the median ms per step of each variant, their ratio with its interval,
    and whether the two computed the same numbers (training: weights; prediction: logits)."""
    ratio = median_ratio(times[before]["wall"], times[variant]["wall"])
    return {
        "task": task, "unit": "step" if task == "training" else "batch of 256",
        "variant": variant, "before": before,
        "steps": steps, "rounds": rounds, "threads": threads,
        "ms_per_step": 1000 * sorted(times[variant]["wall"])[rounds // 2] / steps,
        "before_ms_per_step": 1000 * sorted(times[before]["wall"])[rounds // 2] / steps,
        "speedup": ratio,
        "speedup_ci95": median_ratio_ci(times[before]["wall"], times[variant]["wall"]),
        "identical": identical,
        "target": 1.2,
        "meets_target": ratio >= 1.2 and identical,
    }


if __name__ == "__main__":
    raise SystemExit(main())
