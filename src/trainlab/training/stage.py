"""`trainlab train`: the recipe of params.yaml on the prepared data, one MLflow run."""

from __future__ import annotations

from trainlab.config.params import Config
from trainlab.data.prepared import load_prepared
from trainlab.io import write_atomic
from trainlab.models.custom import check_network
from trainlab.progress import on_terminal
from trainlab.stagefile import write_dvc_metrics, write_model
from trainlab.tracking import KIND_TAG, TRAIN_KIND
from trainlab.training.recipe import train_recipe
from trainlab.training.results import TrainSummary


def add_arguments_train(parser) -> None:
    parser.add_argument("--checkpoints", default="models/train", help="best-snapshot folder")
    parser.add_argument("--out", default="reports/train.json", help="the training's scores")
    parser.add_argument("--metrics", default="metrics/train.json",
                        help="DVC metrics file (numbers only)")
    parser.add_argument("--confusion", default="reports/plots/confusion.csv",
                        help="actual,predicted class per test image (DVC's confusion plot)")


def write_confusion(path: str, labels: list[int], predicted: list[int],
                    classes: tuple[str, ...]) -> None:
    """One row per test image, class names (DVC's `confusion` template counts them)."""
    rows = "".join(f"{classes[a]},{classes[p]}\n" for a, p in zip(labels, predicted, strict=True))
    write_atomic(path, "actual,predicted\n" + rows)


def run_train(cfg: Config, args) -> int:
    """`trainlab train`: the recipe in params.yaml on the prepared data."""
    data = load_prepared(cfg.data.prepared_dir)
    check_network(cfg.model, data.image_shape, data.num_classes)  # a user's factory
    run_name = f"train-{cfg.model.arch}-{cfg.model.activation}-{cfg.regularization.kind}"
    result = train_recipe(cfg, data, args.checkpoints, run_name=run_name,
                          tags={KIND_TAG: TRAIN_KIND}, progress=on_terminal())
    summary = TrainSummary.from_metrics(result.metrics, result.run_id)
    write_model(args.out, summary)
    write_dvc_metrics(args.metrics, summary.metrics())
    write_confusion(args.confusion, result.test_labels, result.test_predicted, data.classes)
    print(
        f"train: test/acc {result.metrics['test/acc']:.4f}, final/train_acc "
        f"{result.metrics['final/train_acc']:.4f}, gap/acc {result.metrics['gap/acc']:+.4f}, "
        f"{result.epochs_run} epochs in {result.seconds:.1f} s "
        + (f"(MLflow run {result.run_id})" if result.run_id else "(tracking off)")
    )
    return 0
