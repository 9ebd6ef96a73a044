#!/usr/bin/env bash
# Run on the GPU machine (one NVIDIA GPU, no network), from the repo root, through the device
# tool, after `GRID=1 bash bench/fetch_gpu_wheels.sh` ran here (it adds Optuna's wheels and
# Fashion-MNIST's raw files to .whl/ and .gpu/):
#
#   run(command="bash bench/gpu_grid.sh", carry=[".whl", ".gpu"], timeout_s=540)
#
# 1. trainlab vs the hand loop on the full-profile CNN (bench.throughput, ~1.5 min);
# 2. a 24-cell slice of the `profile: full` grid (all 54,000 train images, 30 epochs) at 1, 2,
#    4 and 8 workers sharing the GPU (bench.gpu_grid): cells per hour, the projected wall
#    time of the 216-trial grid, each cell's accuracy against 1 worker's.
# Sized for under 8 minutes; `GRID_CELLS`/`GRID_WORKERS` shrink it. Results go to $OUT.
# `bash bench/gpu_grid.sh --dry-run` runs the same steps on the CPU at test size (tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
results=${OUT:-bench/results/gpu}
if [ "${1:-}" = "--dry-run" ]; then
  python -m bench.gpu_grid --dry-run --results "$results"
  echo "gpu_grid: dry run done in $(( $(date +%s) - started )) s; result in $results/gpu_grid.json"
  exit 0
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD/src:$PWD" PYTHONUNBUFFERED=1
export MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
timeout 120 python3 -m bench.throughput --device cuda --threads 4 --data .gpu/data/prepared \
  --arch cnn --epochs 5 --rounds 2 --results "$results"
# shellcheck disable=SC2086
timeout 400 python3 -m bench.gpu_grid --device cuda --data-root .gpu/fashion-mnist \
  --cells "${GRID_CELLS:-24}" --workers ${GRID_WORKERS:-1 2 4 8} --results "$results"
echo "gpu_grid: done in $(( $(date +%s) - started )) s; results in $results/"
