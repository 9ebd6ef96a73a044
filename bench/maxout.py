"""Benchmark: the maxout CNN's training step, `Maxout` (max(dim).values) against amax.

The search trains its grid on one torch thread per worker; a maxout trial took ~4x a relu
trial's time there. amax's backward spreads the gradient over ties with elementwise passes
over the pieces tensor; max(dim)'s scatters it to the argmax. Without ties (float pieces) the
values and gradients are the same, so the weights after training must be identical: the
benchmark checks that too.

Both variants train the search's CNN (params.yaml's `search.overrides`: channels [16, 32],
hidden 64; channels-last, as the trainer keeps it on the CPU) on the same random batches with
Adam, the order alternating each round.

    python -m bench.maxout [--quick] [--rounds R] [--steps N] [--threads T]
"""

from __future__ import annotations

import argparse
import shlex
import sys

import torch

from bench.common import interleave, median_ratio, median_ratio_ci, set_threads, write_result


def _amax(self, x: torch.Tensor) -> torch.Tensor:
    """The implementation before: amax over the pieces."""
    return x.unflatten(1, (-1, self.pieces)).amax(dim=2)


def _trainer(steps: int, reference: bool):
    from trainlab.config.params import Config
    from trainlab.models.activations import Maxout
    from trainlab.models.networks import build_network

    model_cfg = Config().model.model_copy(
        update={"activation": "maxout", "channels": [16, 32], "cnn_hidden": 64})
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randn(128, 1, 28, 28, generator=gen),
                torch.randint(0, 10, (128,), generator=gen)) for _ in range(4)]
    weights: list[list[torch.Tensor]] = []

    def train() -> None:
        original = Maxout.forward
        if reference:
            Maxout.forward = _amax  # type: ignore[method-assign]
        try:
            torch.manual_seed(0)
            # channels-last, as the trainer keeps a CNN on the CPU (RecipeModule.use_channels_last)
            net = build_network(model_cfg, (1, 28, 28), 10).to(memory_format=torch.channels_last)
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
    new()  # warm-up: one-time allocations and kernel selection
    old()
    times = interleave({"max": new, "amax": old}, rounds)
    identical = all(torch.equal(a, b) for a, b in zip(new_weights[-1], old_weights[-1],
                                                      strict=True))
    ratio = median_ratio(times["amax"]["wall"], times["max"]["wall"])
    row = {
        "steps": steps, "rounds": rounds, "threads": args.threads,
        "max_ms_per_step": 1000 * sorted(times["max"]["wall"])[rounds // 2] / steps,
        "amax_ms_per_step": 1000 * sorted(times["amax"]["wall"])[rounds // 2] / steps,
        "speedup": ratio,
        "speedup_ci95": median_ratio_ci(times["amax"]["wall"], times["max"]["wall"]),
        "identical_weights": identical,
        "target": 1.2,
        "meets_target": ratio >= 1.2 and identical,
    }
    command = "python -m bench.maxout " + " ".join(map(shlex.quote, argv or sys.argv[1:]))
    path = write_result("maxout", {"rows": [row]}, command.strip())
    print(f"maxout: {row['max_ms_per_step']:.1f} ms / step (max) vs "
          f"{row['amax_ms_per_step']:.1f} ms (amax): {ratio:.2f}x, identical weights "
          f"{identical} -> {path}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
