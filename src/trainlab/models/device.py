"""The device a stage runs on, from its `device` param (auto | cpu | cuda).

Imports only torch, so a stage that predicts without training (the ensemble) never loads
Lightning to learn where to run.
"""

from __future__ import annotations

import torch


def resolve_device(requested: str) -> torch.device:
    """`cuda` when asked for, or when `auto` and a GPU is there; else the CPU."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")
