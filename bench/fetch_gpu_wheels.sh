#!/usr/bin/env bash
# Run HERE (a machine with PyPI access), before bench/gpu_check.sh goes to the GPU machine.
#
# The GPU machine has PyTorch, torchvision and Lightning but no network and none of MLflow,
# pydantic or their needs. This fetches, as Python 3.12 x86-64 wheels into .whl/, exactly the
# distributions trainlab's training imports beyond that machine's packages (checked here by
# training with every other distribution blocked from import), at the versions this venv runs.
# It also writes the prepared Fashion-MNIST the check trains on into .gpu/ (the pipeline's
# 10,000 train / 2,000 val / 10,000 test images). Both folders are git-ignored locally (via
# .git/info/exclude) and travel with `carry: [".whl", ".gpu"]`.
#
#   bash bench/fetch_gpu_wheels.sh [PYTHON]     # PYTHON: the project venv's python (.venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
PACKAGES=(
  mlflow-skinny mlflow-tracing alembic Mako SQLAlchemy sqlparse
  pydantic pydantic-core annotated-types typing-inspection
  cachetools importlib-metadata databricks-sdk fastapi starlette
  opentelemetry-api opentelemetry-sdk opentelemetry-proto opentelemetry-semantic-conventions
  cryptography cffi pycparser
)
# GRID=1: what `trainlab search` adds (bench/gpu_grid.sh), and Fashion-MNIST's raw files.
if [ "${GRID:-}" = 1 ]; then
  PACKAGES+=(optuna colorlog tqdm optuna-integration optuna-dashboard)
fi
for pattern in /.whl/ /.gpu/; do
  grep -qxF "$pattern" .git/info/exclude 2>/dev/null || echo "$pattern" >> .git/info/exclude
done
rm -rf .whl && mkdir -p .whl
PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
         manylinux1_x86_64 manylinux_2_24_x86_64 manylinux_2_34_x86_64; do
  PLATFORMS+=(--platform "$p")
done
for name in "${PACKAGES[@]}"; do
  version=$("$PY" -c "import importlib.metadata as m; print(m.version('$name'))")
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${PLATFORMS[@]}" -d .whl "$name==$version"
done
echo "wheels: $(ls .whl | wc -l) files, $(du -sh .whl | cut -f1) in .whl/"

"$PY" - <<'PYTHON'
from pathlib import Path

from bench.common import fashion_mnist
from trainlab.data.prepared import save_prepared

path = save_prepared(fashion_mnist(), Path(".gpu/data/prepared"))
print(f"prepared Fashion-MNIST: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
PYTHON
if [ "${GRID:-}" = 1 ]; then
  mkdir -p .gpu/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .gpu/fashion-mnist/
  echo "Fashion-MNIST raw files: $(du -sh .gpu/fashion-mnist | cut -f1) in .gpu/fashion-mnist/"
fi
