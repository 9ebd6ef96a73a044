"""`trainlab prepare`: load, split and preprocess the dataset of params.yaml."""

from __future__ import annotations

import argparse

from trainlab.config.params import Config
from trainlab.data import stamp
from trainlab.data.prepared import prepare, save_prepared
from trainlab.data.split import describe_sizes


def run_prepare(cfg: Config, args: argparse.Namespace) -> int:
    """`trainlab prepare`: prepare the dataset of params.yaml into `data.prepared_dir`.

    A second run on unchanged raw files, data params, seed and code does no work (the stamp).

    Returns:
        The exit code, 0; errors propagate as DataError or ConfigError for the CLI.
    """
    directory = cfg.data.prepared_dir
    current = stamp.source_stamp(cfg)
    recorded = stamp.up_to_date(directory, current)
    if recorded is not None:
        print(f"prepare: {directory} is up to date (same raw files, data params, seed and "
              f"code; fingerprint {recorded['fingerprint']}); nothing to do")
        return 0
    data = prepare(cfg)
    stamp.forget(directory)
    save_prepared(data, directory)
    stamp.record(directory, current, data.fingerprint)
    sizes = describe_sizes(cfg.data, data.splits)
    print(
        f"prepare: {data.dataset} {sizes} images of {data.image_shape}, {data.num_classes} "
        f"classes, fingerprint {data.fingerprint} -> {cfg.data.prepared_dir}"
    )
    return 0
