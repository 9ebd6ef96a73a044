"""Benchmark 1: trainlab's training against a hand-written PyTorch loop, images per second.

trainlab runs `train_recipe` as the pipeline does (Lightning Trainer, MLflow tracking on,
checkpoints, diagnostics at their default cadence, the best snapshot's test and gap
evaluation); the hand-written loop (bench/handloop.py) trains the same model on the same
batches for the same number of steps, with a validation pass per epoch and the best
snapshot's test accuracy. Images per second = training images / wall time of the whole call.
Early stopping is off in both, so both take the same number of steps.

    python -m bench.throughput [--quick] [--epochs N] [--rounds R] [--threads T]
    python -m bench.throughput --device cuda --data DIR --results DIR   (bench/gpu_check.sh)
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from bench.common import fashion_mnist, interleave, median_ratio, quiet, set_threads, write_result

TARGET = 0.90  # trainlab's images/s over the hand-written loop's, on the CPU


def configs(arch: str, epochs: int, threads: int, workdir: Path, device: str = "cpu"):
    from trainlab.config.params import Config

    return Config().replace(**{
        "model.arch": arch, "train.epochs": epochs, "train.patience": None,
        "train.device": device, "train.threads": threads,
        "tracking.uri": f"sqlite:///{workdir / 'mlflow.db'}", "tracking.experiment": "bench",
    })


def compare(arch: str, data, epochs: int, rounds: int, threads: int, device: str = "cpu") -> dict:
    """Interleaved rounds of trainlab and the hand loop on one architecture."""
    from bench.handloop import hand_train
    from trainlab.training.recipe import train_recipe

    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        workdir = Path(tmp)
        cfg = configs(arch, epochs, threads, workdir, device)
        # Warm-up (not timed): creates the MLflow database and loads every lazy import, which
        # a user pays once per machine or process, not per training.
        train_recipe(cfg.replace(**{"train.epochs": 1}), data, workdir / "ckpt")
        hand_train(cfg.replace(**{"train.epochs": 1}), data, device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        last = {}

        def lab():
            last["trainlab"] = train_recipe(cfg, data, workdir / "ckpt").metrics["test/acc"]
            sync()

        def hand_loop():
            last["hand"] = hand_train(cfg, data, device).test_acc
            sync()

        print(f"{arch}: {epochs} epochs of {len(data.train)} images, batch "
              f"{cfg.train.batch_size}, {threads} thread(s), {rounds} rounds", flush=True)
        times = interleave({"trainlab": lab, "hand": hand_loop}, rounds)
    images = epochs * (len(data.train) // cfg.train.batch_size) * cfg.train.batch_size
    ratio = median_ratio(times["hand"]["wall"], times["trainlab"]["wall"])
    return {
        "arch": arch, "epochs": epochs, "train_images": len(data.train), "images": images,
        "batch_size": cfg.train.batch_size, "threads": threads, "rounds": rounds,
        "device": device,
        # images / median wall time; the ratio is the median of the rounds' ratios
        "trainlab_images_per_s": round(images / statistics.median(times["trainlab"]["wall"]), 1),
        "hand_images_per_s": round(images / statistics.median(times["hand"]["wall"]), 1),
        "ratio": round(ratio, 3),  # median over rounds of hand wall / trainlab wall
        "ratio_cpu_time": round(median_ratio(times["hand"]["cpu"], times["trainlab"]["cpu"]), 3),
        # The target is the CPU's; on a GPU the ratio is reported, not held to it.
        "wall_s": times, "target": TARGET if device == "cpu" else None,
        "meets_target": ratio >= TARGET if device == "cpu" else None,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "test_acc": {name: round(acc, 4) for name, acc in last.items()},
    }


# (--quick, default). The MLP trains its recipe's 8 epochs even with --quick: one lasts ~0.45 s,
# and a 5-epoch run measured the fixed ~0.3 s of a tracked training (MLflow run, Lightning
# set-up, checkpoints, the gap pass) more than the training (0.87 against 0.91 at 8 epochs).
# The CNN's quick size is 3 epochs x 2 rounds, not 2 x 3 (the same minutes): the fixed cost
# of the gap's pass over 5,000 train images (~1.3 s on a CPU core) is ~8% of a 2-epoch CNN
# training and ~5% of a 3-epoch one; a search trial trains 4.
EPOCHS = {"mlp": (8, 8), "cnn": (3, 5)}
ROUNDS = {"mlp": (6, 8), "cnn": (2, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and rounds")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per training")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: the cores are shared with other jobs)")
    parser.add_argument("--arch", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--data", default=None, help="a prepared-data folder (data.pt)")
    parser.add_argument("--results", default=None, help="where throughput.json goes")
    args = parser.parse_args(argv)
    quiet()
    set_threads(args.threads)
    data = fashion_mnist(prepared=args.data)
    rows = []
    for arch in args.arch:
        epochs = args.epochs or EPOCHS[arch][0 if args.quick else 1]
        rounds = args.rounds or ROUNDS[arch][0 if args.quick else 1]
        rows.append(compare(arch, data, epochs, rounds, args.threads, args.device))
        row = rows[-1]
        print(f"{arch} on {args.device}: trainlab {row['trainlab_images_per_s']:.0f} img/s, "
              f"hand {row['hand_images_per_s']:.0f} img/s, ratio {row['ratio']:.3f} (CPU-time "
              f"ratio {row['ratio_cpu_time']:.3f}; target >= {TARGET} on the CPU)", flush=True)
    command = "python -m bench.throughput " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_result("throughput", {"rows": rows}, command.strip(), args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
