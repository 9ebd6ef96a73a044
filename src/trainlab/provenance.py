"""Where a number came from: code version, hardware and library versions (STYLE 12)."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import torch

import trainlab


@functools.cache
def git_commit(cwd: str | None = None) -> str:
    """The commit of the working tree ('+dirty' when it has uncommitted changes)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return "unknown"
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, timeout=10,
        )
        dirty = "+dirty" if status.stdout.strip() else ""
        return commit.stdout.strip() + dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache
def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def provenance_tags(fingerprint: str | None = None) -> dict[str, str]:
    """Tags every MLflow run carries so its numbers can be traced back."""
    tags = {
        "trainlab.version": trainlab.__version__,
        "trainlab.git_commit": git_commit(),
        "hardware.cpu": cpu_model(),
        "hardware.cpu_count": str(torch.get_num_threads()),
        "hardware.gpu": gpu_name() or "none",
        "torch.version": torch.__version__,
    }
    if git_commit() != "unknown":  # else MLflow's own context finds one, or the UI shows none
        tags["mlflow.source.git.commit"] = git_commit().removesuffix("+dirty")
    if fingerprint:
        tags["data.fingerprint"] = fingerprint
    return tags
