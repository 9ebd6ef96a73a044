#!/usr/bin/env bash
# Run on the GPU machine (one NVIDIA GPU, no network), from the repo root, through the device
# tool, after bench/fetch_gpu_wheels.sh ran here:
#
#   run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpu"], timeout_s=480)
#
# Installs the carried wheels (MLflow, pydantic, ...) beside the machine's PyTorch, torchvision
# and Lightning, then trains the default CNN and the MLP on the carried Fashion-MNIST on CUDA:
# trainlab's train_recipe (MLflow tracking on) against the hand-written loop, interleaved.
# Prints the GPU's name, images per second of both, and their ratio; the JSON result goes to
# $OUT (it comes back) or bench/results/gpu/. Sized for well under 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD/src:$PWD" PYTHONUNBUFFERED=1
export MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, lightning; print('GPU:', torch.cuda.get_device_name(0), \
'| torch', torch.__version__, '| lightning', lightning.__version__)"
results=${OUT:-bench/results/gpu}
timeout 400 python3 -m bench.throughput --device cuda --threads 4 --data .gpu/data/prepared \
  --arch cnn mlp --epochs 5 --rounds 3 --results "$results"
echo "gpu_check: done in $(( $(date +%s) - started )) s; result in $results/throughput.json"
