"""`trainlab prepare`: load, split and preprocess the dataset of params.yaml."""

from __future__ import annotations

import argparse

from trainlab.config import Config
from trainlab.data.prepared import prepare, save_prepared


def run_prepare(cfg: Config, args: argparse.Namespace) -> int:
    """`trainlab prepare`: prepare the dataset of params.yaml into `data.prepared_dir`.

    Returns:
        The exit code, 0; errors propagate as DataError or ConfigError for the CLI.
    """
    data = prepare(cfg)
    save_prepared(data, cfg.data.prepared_dir)
    sizes = " / ".join(f"{name} {len(split)}" for name, split in data.splits.items())
    print(
        f"prepare: {data.dataset} {sizes} images of {data.image_shape}, {data.num_classes} "
        f"classes, fingerprint {data.fingerprint} -> {cfg.data.prepared_dir}"
    )
    return 0
