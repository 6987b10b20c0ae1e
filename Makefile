# gelmd: the two commands of the README, plus a few helpers. Everything installs into .venv from pinned files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
CONFIG ?= config/demo.yaml

.PHONY: env gpu-env check-config demo test dry-run benchmarks clean-results

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $@

env: $(STAMP)

gpu-env: env  ## CUDA platform for OpenMM + CuPy analysis backend
	$(BIN)/pip install --disable-pip-version-check --quiet -r requirements-gpu.txt

check-config: env  ## the config checked as the workflow will (YAML line numbers, duplicate keys, every key)
	$(BIN)/python -m workflow.config_vocabulary $(CONFIG)

demo: check-config  ## the whole workflow on config/demo.yaml (CPU-sized)
	$(BIN)/snakemake --profile workflow/profiles/default --configfile $(CONFIG)

dry-run: check-config
	$(BIN)/snakemake -n --profile workflow/profiles/default --configfile $(CONFIG)

test: env  ## unit + integration tests (CI runs exactly this)
	$(BIN)/python -m pytest

benchmarks: env
	$(BIN)/python benchmarks/demo_walltime.py

slurm-check: env  ## a real Slurm on this machine (root; installs slurm-wlm, munge, MariaDB): the tiny LE through the slurm profile, checked with sacct
	$(BIN)/python benchmarks/slurm_check.py

gpu-check: env  ## on a machine with an NVIDIA GPU: CUDA selection, CuPy MSD, throughput ratio (LE, gel), network build speed
	bash benchmarks/gpu_check.sh

clean-results:
	rm -rf results/demo logs/demo
