#!/usr/bin/env bash
# The validation campaign's CPU runs (issue 14) as they were run on a shared 2-core machine: one Snakemake per
# charge model, each running its neat-PC chain first and then its LE chain, one OpenMM thread per job,
# niced. Usage: benchmarks/validation_runs.sh resp resp2 scaled   (logs in logs/validation/runs_<model>.log)
set -euo pipefail
cd "$(dirname "$0")/.."
for model in "$@"; do
  OPENMM_CPU_THREADS=1 OMP_NUM_THREADS=1 nohup nice -n 10 .venv/bin/snakemake --configfile config/validation.yaml \
    --cores 1 --nolock \
    --prioritize="results/validation/PC_${model}/production/production.json" \
    "results/validation/PC_${model}/viscosity/viscosity.json" "results/validation/PC_${model}/production/production.json" \
       "results/validation/PC_${model}/density.json" \
       "results/validation/LE_${model}/viscosity/viscosity.json" "results/validation/LE_${model}/production/production.json" \
    > "logs/validation/runs_${model}.log" 2>&1 &
done
