"""Benchmark 2: what MLflow tracking adds to a training's wall time.

The same `train_recipe` call (Fashion-MNIST, early stopping off) with `tracking.enabled`
true (an MLflow run: params, config, per-epoch metrics, curves, confusion matrix, the
checkpoint copied as an artifact) and false (no run, Lightning logger off), interleaved.

    python -m bench.tracking_overhead [--quick] [--arch cnn mlp] [--epochs N] [--rounds R]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    fashion_mnist,
    interleave,
    median_ratio,
    median_ratio_ci,
    percent_interval,
    quiet,
    set_threads,
    write_result,
)
from bench.throughput import configs

TARGET = 1.03  # tracked wall time over untracked, at most


class RequestClock:
    """Seconds spent inside the MLflow requests of a training (create, params, metrics,
    tags, end, the artifact upload): the cost of tracking measured directly, which the
    on/off difference of two noisy wall times only brackets."""

    METHODS = ("create_run", "log_batch", "set_tag", "set_terminated")

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> RequestClock:
        from mlflow.tracking import MlflowClient

        import trainlab.training.recipe

        self._patched = [(MlflowClient, name, getattr(MlflowClient, name))
                         for name in self.METHODS]
        self._patched.append((trainlab.training.recipe, "log_artifacts",
                              trainlab.training.recipe.log_artifacts))
        for owner, name, original in self._patched:
            setattr(owner, name, self._timed(original))
        return self

    def _timed(self, original):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._patched:
            setattr(owner, name, original)


def compare(arch: str, data, epochs: int, rounds: int, threads: int,
            control: bool = False) -> dict:
    from trainlab.training.recipe import train_recipe

    requests: list[float] = []

    def tracked() -> None:
        with RequestClock() as clock:
            train_recipe(on, data, workdir / "ckpt")
        requests.append(clock.seconds)

    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        workdir = Path(tmp)
        on = configs(arch, epochs, threads, workdir)
        off = on.replace(**{"tracking.enabled": False})
        train_recipe(on.replace(**{"train.epochs": 1}), data, workdir / "ckpt")  # warm-up
        print(f"{arch}: {epochs} epochs of {len(data.train)} images, {rounds} rounds", flush=True)
        variants = {
            "tracking_on": tracked,
            "tracking_off": lambda: train_recipe(off, data, workdir / "ckpt"),
        }
        if control:  # an A/A control: the untracked training again, as a third variant
            variants["tracking_off_again"] = lambda: train_recipe(off, data, workdir / "ckpt")
        times = interleave(variants, rounds)
    overhead = median_ratio(times["tracking_on"]["wall"], times["tracking_off"]["wall"])
    low, high = median_ratio_ci(times["tracking_on"]["wall"], times["tracking_off"]["wall"])
    on_s = statistics.median(times["tracking_on"]["wall"])
    return {
        "arch": arch, "epochs": epochs, "rounds": rounds, "threads": threads,
        # Time inside MLflow's requests per tracked training (median), and its share of it.
        "mlflow_requests_s": round(statistics.median(requests), 4),
        "mlflow_requests_share": round(statistics.median(requests) / on_s, 4),
        "on_s": round(on_s, 3),
        "off_s": round(statistics.median(times["tracking_off"]["wall"]), 3),
        "on_over_off": round(overhead, 4),  # median over rounds of on / off wall time
        "on_over_off_ci95": [round(low, 4), round(high, 4)],  # bootstrap, over the rounds
        "on_over_off_cpu_time": round(
            median_ratio(times["tracking_on"]["cpu"], times["tracking_off"]["cpu"]), 4),
        "target": TARGET, "meets_target": overhead <= TARGET, "wall_s": times,
    } | (_control(times) if control else {})


def _control(times: dict) -> dict:
    """What the same comparison reports between two identical variants: the differences the
    rounds show with nothing to find (their interval assumes independent rounds; on shared
    cores the scatter drifts, and the control shows by how much)."""
    again, off = times["tracking_off_again"]["wall"], times["tracking_off"]["wall"]
    low, high = median_ratio_ci(again, off)
    return {"control_over_off": round(median_ratio(again, off), 4),
            "control_over_off_ci95": [round(low, 4), round(high, 4)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds")
    parser.add_argument("--arch", nargs="+", default=["cnn", "mlp"])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--control", action="store_true",
                        help="add an A/A control: the untracked training as a third variant")
    parser.add_argument("--name", default="tracking_overhead",
                        help="results file name (e.g. tracking_overhead_long for many rounds)")
    args = parser.parse_args(argv)
    quiet()
    set_threads(args.threads)
    data = fashion_mnist()
    rows = []
    for arch in args.arch:
        # The MLP at its recipe's train.epochs even with --quick: a 3-epoch MLP lasts ~1.5 s,
        # where an MLflow run's fixed ~0.08 s (create, params, one metrics batch, one
        # artifact upload, end) alone is 5%; that is the price of a run, not of tracking.
        # 6 rounds of it: its on/off difference is a few hundredths of a second, the
        # round-to-round scatter on shared cores several tenths.
        epochs = args.epochs or (8 if arch == "mlp" else 2 if args.quick else 5)
        rounds = args.rounds or ((3 if arch == "cnn" else 6) if args.quick else
                                 (3 if arch == "cnn" else 8))
        rows.append(compare(arch, data, epochs, rounds, args.threads, args.control))
        row = rows[-1]
        print(f"{arch}: tracking on {row['on_s']:.2f} s, off {row['off_s']:.2f} s: "
              f"{100 * (row['on_over_off'] - 1):+.1f}% "
              f"({percent_interval(row['on_over_off_ci95'])}, CPU time "
              f"{100 * (row['on_over_off_cpu_time'] - 1):+.1f}%; target <= "
              f"{100 * (TARGET - 1):+.0f}%); MLflow requests "
              f"{1000 * row['mlflow_requests_s']:.0f} ms a training "
              f"({100 * row['mlflow_requests_share']:.1f}%)", flush=True)
        if "control_over_off" in row:
            control = 100 * (row["control_over_off"] - 1)
            print(f"{arch}: A/A control (untracked twice) {control:+.1f}% "
                  f"({percent_interval(row['control_over_off_ci95'])})", flush=True)
    command = "python -m bench.tracking_overhead " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    write_result(args.name, {"rows": rows}, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
