"""bench/gpu_grid.sh, the prepared device script, in its CPU dry run: the same steps at test
size, so a GPU session spends its minutes measuring, not debugging the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_grid_script_runs_its_slice_at_1_and_2_workers(tmp_path):
    env = os.environ | {"OUT": str(tmp_path),
                        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "bench/gpu_grid.sh", "--dry-run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    found = json.loads((tmp_path / "gpu_grid.json").read_text())
    assert found["dry_run"] and found["full_grid_trials"] == 216  # 72 cells x 3 seeds
    assert [row["workers"] for row in found["rows"]] == [1, 2]
    for row in found["rows"]:
        assert row["cells"] == 2 and row["cells_per_hour"] > 0
        assert row["projected_full_grid_min"] == pytest.approx(
            60 * 216 / row["cells_per_hour"], rel=0.01)
    # The same cells, seeds and data: sharing the machine changes no accuracy.
    assert found["rows"][1]["max_abs_test_acc_diff_vs_1_worker"] == 0.0
