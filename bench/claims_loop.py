"""Why the claims train with a hand loop: the claims' MLP through it and through Lightning.

The claims stage trains ~66 small MLPs (3 seeds by default: 9 gradient probes of 20 steps,
18 convergence/preprocessing runs of 8 epochs, 36 dead-unit runs of 2 epochs, 3 early-stopping
runs of 30 short epochs). Both variants here train the same RecipeModule (same seed, same
weights) on the same 5,000 Fashion-MNIST images, batches of 128, the same steps, and score
2,000 val and 2,000 test images after each epoch, as `trainlab.claims.loop.train` does (the
shuffles differ: Lightning iterates the train loader once more when fit starts, which moves
its permutation on by one seed):

- `hand`: `trainlab.claims.loop.train` (what the claims run);
- `lightning`: trainlab's one way to train (`build_trainer`, untracked, its best snapshot
  and the recipe's grouped batches, `build_datamodule`), a callback scoring the test images;
- `lightning_steps`: the same with one batch per Lightning call, as a callback would need to
  stop at a given step or measure within an epoch (claims 1-3 do both).

Each variant trains 1 and `--epochs` epochs per round (rounds interleaved); the fixed cost of
a run and the cost of an epoch follow from the two, and the claims stage's extra time through
Lightning is projected from its runs and epochs.

    python -m bench.claims_loop [--epochs N] [--rounds R] [--threads T]
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from bench.common import fashion_mnist, interleave, quiet, set_threads, write_result

# The default claims stage (params.yaml, 3 seeds): trainings and their epochs of 5,000 images
# (the early-stopping runs' 30 epochs of 1,000 images count as 6 such epochs each). The
# gradient probes' 20 steps are half an epoch.
CLAIMS_RUNS = 9 + 18 + 36 + 3
CLAIMS_EPOCHS = 9 * 0.5 + 18 * 8 + 36 * 2 + 3 * 6


def variants(data, epochs: int, workdir: Path):
    """name -> a function training one fresh claims MLP for `epochs` epochs (its test acc)."""
    from lightning.pytorch.callbacks import Callback

    from trainlab.claims.loop import make_module, make_subsets, scoring_batches, train
    from trainlab.config.params import Config
    from trainlab.models.scoring import module_accuracy
    from trainlab.training.recipe import build_datamodule
    from trainlab.training.trainer import build_trainer, fit

    cfg = Config()
    claims, device, seed = cfg.claims, torch.device("cpu"), cfg.seed
    subsets = make_subsets(data, claims.train_images, claims.eval_images, 1000, seed, device)
    model = cfg.model.model_copy(update={"arch": "mlp", "activation": "relu", "dropout": 0.0,
                                         "hidden": tuple(claims.hidden)})  # as the claims do
    # The claims' images as prepared data, so the recipe's own loaders serve them.
    first = torch.arange(claims.eval_images)
    subset = dataclasses.replace(data, train=subsets.train, val=data.val.subset(first),
                                 test=data.test.subset(first))
    recipe = cfg.replace(**{"train.batch_size": claims.batch_size, "train.patience": None})

    def module():
        return make_module(data, model, data.preprocessing, claims.optimizer, claims.lr,
                           claims.momentum, seed, device)

    def hand() -> float:
        run = train(module(), subsets, subsets.train, epochs=epochs,
                    batch_size=claims.batch_size, seed=seed)
        return run.test_acc[-1]

    class ScoreTest(Callback):  # the hand loop scores test after every epoch too
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self.acc = module_accuracy(pl_module, scoring_batches(*subsets.test))

    def lightning(group: bool) -> float:
        score = ScoreTest()
        trainer, _ = build_trainer(max_epochs=epochs, device=device, run=None,
                                   checkpoint_dir=workdir / "lightning", callbacks=[score])
        datamodule = build_datamodule(recipe, subset, device)
        if not group:
            datamodule.train_dataloader().group = None
        fit(trainer, module(), datamodule)
        return score.acc

    return {"hand": hand, "lightning": lambda: lightning(True),
            "lightning_steps": lambda: lightning(False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the longer run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (claims.threads)")
    parser.add_argument("--results", default=None, help="where claims_loop.json goes")
    args = parser.parse_args(argv)
    quiet()
    set_threads(args.threads)
    data = fashion_mnist()
    with tempfile.TemporaryDirectory(prefix="bench-claims-") as tmp:
        short = variants(data, 1, Path(tmp))
        long = variants(data, args.epochs, Path(tmp))
        accs = {name: fn() for name, fn in long.items()}  # warm-up; the accuracies agree
        runs = {f"{name}_1": fn for name, fn in short.items()}
        runs |= {f"{name}_{args.epochs}": fn for name, fn in long.items()}
        times = interleave(runs, args.rounds)
    median = {name: statistics.median(t["wall"]) for name, t in times.items()}
    rows = {}
    for name in long:
        epoch = (median[f"{name}_{args.epochs}"] - median[f"{name}_1"]) / (args.epochs - 1)
        rows[name] = {"epoch_s": round(epoch, 4), "fixed_s": round(median[f"{name}_1"] - epoch, 4),
                      "test_acc": round(accs[name], 4)}
    for row in rows.values():  # the claims stage's training time this way
        row["claims_s"] = round(CLAIMS_RUNS * row["fixed_s"] + CLAIMS_EPOCHS * row["epoch_s"], 1)
    hand = rows["hand"]["claims_s"]
    for name, row in rows.items():
        print(f"{name:>15}: {row['epoch_s']:.3f} s an epoch, {row['fixed_s']:.3f} s a run, "
              f"test acc {row['test_acc']:.4f}; the claims stage ({CLAIMS_RUNS} runs, "
              f"{CLAIMS_EPOCHS:g} epochs) ~{row['claims_s']:.0f} s "
              f"({100 * (row['claims_s'] / hand - 1):+.0f}%)")
    command = "python -m bench.claims_loop " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_result("claims_loop", {
        "epochs": args.epochs, "rounds": args.rounds, "threads": args.threads, "rows": rows,
        "claims_runs": CLAIMS_RUNS, "claims_epochs": CLAIMS_EPOCHS, "wall_s": times,
    }, command.strip(), args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
