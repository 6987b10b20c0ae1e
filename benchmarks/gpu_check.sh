#!/usr/bin/env bash
# One call on a machine with an NVIDIA GPU: every GPU figure of issue 13, printed, in a few minutes.
#
#   bash benchmarks/gpu_check.sh              # the whole check (installs the GPU extra into .venv)
#   bash benchmarks/gpu_check.sh --prepare    # CPU-side preparation only: env, paths, tools (no GPU needed)
#
# Steps (each prints its figure; a failing step is reported and the next one still runs):
#   1. GPU extra: pip install -r requirements-gpu.txt (openmm-cuda-12, cupy-cuda12x) into .venv
#   2. platform selection: simulation.platform.choose_platform(auto) must pick CUDA (mixed precision, a slot)
#   3. CuPy MSD against NumPy (analysis.msd, max relative difference <= 1e-6) + the gpu-marked tests
#   4. paper-scale LE (config/config.yaml's LE, ~21.7k atoms): built and parameterised by the workflow
#      itself (snakemake target .../LE/parameterise/system.xml), then benchmarks/throughput.py on CUDA
#      (4 fs with the config's HMR; frames every 2 ps, energies every 10 ps, as the campaign)
#   5. a gel: benchmarks/network_build.py on CUDA (~3k atoms, BMP; the network build speed), then the
#      throughput ratio on the gel it built (2 fs, no HMR in the builder's System)
# Figures go to $OUT (default /tmp/gelmd-gpu-check) as JSON too; the summary is printed last.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
REPO=$(pwd)
PY="$REPO/.venv/bin/python"
OUT=${OUT:-/tmp/gelmd-gpu-check}
PREPARE_ONLY=0
[[ "${1:-}" == "--prepare" ]] && PREPARE_ONLY=1
export PYTHONPATH="$REPO"
mkdir -p "$OUT"
FAILED=()

step() {  # step NAME TIMEOUT_S COMMAND...: run, time, report; never stops the script
    local name=$1 limit=$2
    shift 2
    echo "=== $name"
    local start=$SECONDS
    if timeout "$limit" "$@"; then
        echo "=== $name: ok ($((SECONDS - start)) s)"
    else
        echo "=== $name: FAILED (exit $?, $((SECONDS - start)) s)"
        FAILED+=("$name")
    fi
}

if [[ ! -x "$PY" ]]; then
    make -C "$REPO" env || { echo "gpu-check: make env failed"; exit 1; }
fi
for tool in "$PY" "$REPO/.venv/bin/snakemake"; do
    [[ -x "$tool" ]] || { echo "gpu-check: $tool missing"; exit 1; }
done
"$PY" -c "import openmm, numpy, analysis.msd, simulation.platform" || exit 1
echo "gpu-check: repository $REPO, output $OUT, python $("$PY" --version 2>&1)"
if [[ $PREPARE_ONLY == 1 ]]; then
    bash -n "${BASH_SOURCE[0]}" && echo "gpu-check: prepared (CPU side only; run without --prepare on a GPU)"
    exit 0
fi

nvidia-smi -L || echo "gpu-check: nvidia-smi not found"
step "GPU extra" 300 "$REPO/.venv/bin/pip" install --disable-pip-version-check --quiet -r "$REPO/requirements-gpu.txt"

step "platform selection" 120 "$PY" - <<'EOF'
import json
import openmm
from simulation.platform import choose_platform
choice = choose_platform(platform="auto")
print("plugin load failures:", [f.splitlines()[0] for f in openmm.Platform.getPluginLoadFailures()])
print(json.dumps(choice.description, indent=1))
assert choice.name == "CUDA", f"auto chose {choice.name}, not CUDA"
EOF

step "CuPy MSD vs NumPy" 300 "$PY" - <<'EOF'
import time
import numpy as np
from analysis.msd import msd_fft
x = np.cumsum(np.random.default_rng(3).normal(size=(20000, 500, 3)), axis=0)
msd_fft(x[:100], "cupy")  # CUDA context and FFT plans outside the clock
t0 = time.perf_counter(); gpu = msd_fft(x, "cupy"); t1 = time.perf_counter(); cpu = msd_fft(x, "numpy"); t2 = time.perf_counter()
rel = float(np.max(np.abs(gpu[1:] - cpu[1:]) / cpu[1:]))
print(f"MSD 20000 frames x 500 particles: CuPy {t1 - t0:.2f} s, NumPy {t2 - t1:.2f} s; max relative difference {rel:.2e}")
assert rel <= 1e-6, rel
EOF
step "gpu-marked tests" 300 "$PY" -m pytest -q -m gpu "$REPO/tests"

LE_DIR="$OUT/paper"
step "paper-scale LE build + parameterise (workflow)" 900 "$REPO/.venv/bin/snakemake" --snakefile "$REPO/Snakefile" \
    --cores "$(nproc)" --configfile "$REPO/config/config.yaml" --directory "$LE_DIR" \
    results/paper/LE/parameterise/system.xml
step "throughput LE (CUDA)" 600 "$PY" "$REPO/benchmarks/throughput.py" --platform CUDA \
    --system "$LE_DIR/results/paper/LE/parameterise/system.xml" --state "$LE_DIR/results/paper/LE/parameterise/state.xml" \
    --topology "$LE_DIR/results/paper/LE/build/system.pdb" --hydrogen-mass 3.024 --minimise \
    --ps 200 --chunk-ps 100 --frame-ps 2 --energy-ps 10 --rounds 3 --trajectory-format xtc --json "$OUT/throughput_le.json"

step "network build (CUDA)" 900 "$PY" "$REPO/benchmarks/network_build.py" --platform CUDA --monomer BMP --target 0.5 \
    --out "$OUT/network"
step "throughput gel (CUDA)" 600 "$PY" "$REPO/benchmarks/throughput.py" --platform CUDA \
    --system "$OUT/network/BMP/system.xml" --state "$OUT/network/BMP/state.xml" --topology "$OUT/network/BMP/system.pdb" \
    --ps 100 --chunk-ps 50 --frame-ps 2 --energy-ps 10 --rounds 3 --trajectory-format xtc --json "$OUT/throughput_gel.json"

echo "=== summary"
for f in "$OUT"/throughput_*.json; do [[ -f "$f" ]] && echo "$(basename "$f"): $(tr -d '\n ' < "$f")"; done
if ((${#FAILED[@]})); then
    echo "gpu-check: failed steps: ${FAILED[*]}"
    exit 1
fi
echo "gpu-check: all steps passed"
