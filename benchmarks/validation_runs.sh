#!/usr/bin/env bash
# The validation campaign's CPU runs (issue 14, config/validation.yaml) as they were run on a shared 2-core
# machine: one Snakemake per lane, one OpenMM thread per job, niced, several lanes in parallel.
#   benchmarks/validation_runs.sh resp_hf631gs scaled     a lane per charge model: its neat PC chain first
#                                                          (build -> ... -> production, viscosity, density),
#                                                          then its LE chain
#   benchmarks/validation_runs.sh PC_resp2 LE_resp2        a lane per system
# Logs: logs/validation/runs_<lane>.log. When the lanes are done, the analyses (gas phase, transport,
# validation.json, summary.md) run in one go:
#   .venv/bin/snakemake --configfile config/validation.yaml --cores 2 results/validation/summary.md
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p logs/validation
targets() {  # the MD outputs of one system
  echo "results/validation/$1/viscosity/viscosity.json results/validation/$1/production/production.json" \
       "results/validation/$1/density.json"
}
for lane in "$@"; do
  case "$lane" in
    PC_*|LE_*) systems="$lane"; first="$lane" ;;
    *) systems="PC_${lane} LE_${lane}"; first="PC_${lane}" ;;
  esac
  words=()
  for s in $systems; do words+=($(targets "$s")); done
  OPENMM_CPU_THREADS=1 OMP_NUM_THREADS=1 nohup nice -n 10 .venv/bin/snakemake --configfile config/validation.yaml \
    --cores 1 --nolock --prioritize="results/validation/${first}/production/production.json" "${words[@]}" \
    > "logs/validation/runs_${lane}.log" 2>&1 &
  sleep 20  # lanes start one after another (the shared config.resolved.json is written once)
done
