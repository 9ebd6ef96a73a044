"""`trainlab train`: the recipe of params.yaml on the prepared data, one MLflow run."""

from __future__ import annotations

from trainlab.config import Config
from trainlab.data.prepared import load_prepared
from trainlab.stagefile import write_model
from trainlab.training.recipe import train_recipe
from trainlab.training.results import TrainSummary


def add_arguments_train(parser) -> None:
    parser.add_argument("--checkpoints", default="models/train", help="best-snapshot folder")
    parser.add_argument("--metrics", default="reports/train.json", help="DVC metrics file")


def run_train(cfg: Config, args) -> int:
    """`trainlab train`: the recipe in params.yaml on the prepared data."""
    data = load_prepared(cfg.data.prepared_dir)
    run_name = f"train-{cfg.model.arch}-{cfg.model.activation}-{cfg.regularization.kind}"
    result = train_recipe(cfg, data, args.checkpoints, run_name=run_name)
    write_model(args.metrics, TrainSummary.from_metrics(result.metrics, result.run_id))
    print(
        f"train: test/acc {result.metrics['test/acc']:.4f}, final/train_acc "
        f"{result.metrics['final/train_acc']:.4f}, gap/acc {result.metrics['gap/acc']:+.4f}, "
        f"{result.epochs_run} epochs in {result.seconds:.1f} s "
        + (f"(MLflow run {result.run_id})" if result.run_id else "(tracking off)")
    )
    return 0
