#!/usr/bin/env bash
# One call on a machine with a CUDA GPU: install the GPU extra, then compute the DFT descriptors of every
# species whose cached record is missing or stale (forcefields/data/descriptors/), with gpu4pyscf. Prints
# each species' result and wall time; commit the new cache files afterwards.
#   bash benchmarks/descriptors_gpu.sh [species ...]      (default: all defined species)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
$PY -m pip install --quiet -r requirements-gpu.txt
$PY - <<'PYEOF'
from descriptors.dft import gpu_available
import sys
print("gpu4pyscf sees a CUDA device:", gpu_available())
sys.exit(0 if gpu_available() else 1)
PYEOF
if [ "$#" -eq 0 ]; then set -- PC FEC NO3- TMA+ TPA_reacted BMP_reacted TPA BMP; fi
OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} $PY -m descriptors.compute --backend gpu --species "$@"
