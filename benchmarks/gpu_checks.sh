#!/usr/bin/env bash
# The GPU checks of issue 14 in one run, for a machine with an NVIDIA GPU and cupy:
# the gpu-marked tests on real cupy, then each benchmark with its --gpu rows.
# Usage: bash benchmarks/gpu_checks.sh [OUTPUT_DIR]   (default: benchmarks/results/gpu)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/gpu}"
mkdir -p "$out"
python=${PYTHON:-python}
$python -c "import cupy; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" | tee "$out/device.txt"
$python -m pytest -m gpu -q -p no:cacheprovider 2>&1 | tail -30 | tee "$out/pytest_gpu.txt"
$python benchmarks/gaussrank.py --gpu --repeats 3 2>&1 | tee "$out/gaussrank.md"
$python benchmarks/tsvd.py --gpu 2>&1 | tee "$out/tsvd.md"
# bmmc rows (one seed, the fast scikit-learn peer) and the full challenge shape on the GPU
$python benchmarks/predict.py --gpu --sizes --peers rbf --seeds 1 2>&1 | tee "$out/predict.md"
