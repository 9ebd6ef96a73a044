"""Importing a pure module stays cheap: package `__init__`s import no submodules, and the CLI
imports a command's module only when that command runs.

Each check runs in a fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("lightning", "mlflow", "pandas")
# The stage-file models: what another stage imports to read a file (pydantic only).
STAGE_FILES = ("trainlab.stagefile", "trainlab.search.results", "trainlab.ensemble.summary_file",
               "trainlab.transfer.results", "trainlab.training.results",
               "trainlab.claims.results", "trainlab.report.metrics_file")


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The heavy libraries in sys.modules after running `code` in a new interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {heavy!r} " \
             "if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [
    "trainlab.claims.rules", "trainlab.ensemble.metrics", "trainlab.config.params", "trainlab.io",
    "trainlab.search.grid", "trainlab.models.scoring", "trainlab.models.device",
])
def test_a_pure_module_imports_no_heavy_library(module):
    assert loaded_after(f"import {module}") == []


@pytest.mark.parametrize("module", STAGE_FILES)
def test_a_stage_file_model_imports_neither_torch_nor_a_heavy_library(module):
    assert loaded_after(f"import {module}", (*HEAVY, "torch")) == []


def test_the_cli_help_imports_no_heavy_library():
    code = ("import contextlib, io\nfrom trainlab.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])")
    assert loaded_after(code) == []


def test_the_ensemble_stage_loads_no_training_package():
    # It predicts with saved checkpoints (a RecipeModule is a LightningModule, so Lightning
    # itself loads); its device comes from trainlab.models.device, not the training package.
    script = ("import sys, trainlab.ensemble.stage\nprint(sorted(m for m in sys.modules "
              "if m.startswith('trainlab.training')))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_check_sees_a_heavy_import():
    assert loaded_after("import trainlab.report.sources") == ["mlflow", "pandas"]


def test_a_package_init_imports_nothing():
    # Each package's __init__ is a map of its modules (a docstring); a name is imported from
    # the module that defines it, so importing one module never loads its siblings.
    root = Path(__file__).resolve().parents[1] / "src" / "trainlab"
    for init in sorted(root.rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        imports = [node for node in ast.walk(tree)
                   if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert imports == [], init.relative_to(root).as_posix()
