"""dvc.yaml tells the truth: each stage's `deps` cover every trainlab module its command
imports (found statically, lazy imports inside functions included), so a change to a module
a stage reads reruns that stage."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from trainlab.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
# The CLI shell every command runs inside: argument parsing, error classes, run tags, the UI
# command. They decide no stage output, so no stage lists them.
SHELL = {"trainlab/__init__.py", "trainlab/cli.py", "trainlab/errors.py", "trainlab/ui.py",
         "trainlab/provenance.py"}


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_files(module: str) -> set[str]:
    """The files of `module` and of every trainlab module it imports, transitively."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        path = module_file(todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trainlab"):
                todo += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("trainlab")]
    return {path.relative_to(SRC).as_posix() for path in seen}


def covered(file: str, deps: list[str]) -> bool:
    path = f"src/{file}"
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def stage_command(stage: str) -> str:
    """The `trainlab` command a dvc.yaml stage runs: the first word its `stages/*.py` script
    passes to `trainlab.cli.main` (an 8-line wrapper, so the first string in a main() call)."""
    [script] = re.findall(r"stages/\w+\.py", STAGES[stage]["cmd"])
    for node in ast.walk(ast.parse((ROOT / script).read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "main":
            [words] = node.args
            return words.elts[0].value
    raise AssertionError(f"{script} calls no trainlab.cli.main([...])")


@pytest.mark.parametrize("stage", sorted(STAGES))  # every stage dvc.yaml runs, none left out
def test_a_stage_depends_on_every_module_its_command_imports(stage):
    deps = STAGES[stage]["deps"]
    files = imported_files(COMMANDS[stage_command(stage)].module) - SHELL
    files = {f for f in files if not f.endswith("/__init__.py")}  # docstrings only
    assert sorted(f for f in files if not covered(f, deps)) == []
