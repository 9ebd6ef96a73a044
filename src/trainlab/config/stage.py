"""`trainlab config`: the resolved configuration, as the commands see it.

The profile and every `--set` applied and validated, each value explicit (defaults too): what
a run will use, before it runs.
"""

from __future__ import annotations

import argparse

import yaml

from trainlab.config.params import Config


def run_config(cfg: Config, args: argparse.Namespace) -> int:
    """Print the resolved configuration as YAML (sections in params.yaml's order)."""
    resolved = cfg.model_dump(mode="json", exclude={"profiles"})
    print(yaml.safe_dump(resolved, sort_keys=False), end="")
    return 0
