"""Benchmark: the network builder completes for N seeds in a row at the demo's gel settings (issue 8).

    python benchmarks/network_seeds.py [--system GPE_PBMP|GPE_PTPA] [--seeds 10] [--config config/demo.yaml]

Builds the gel ``--system`` of the config once per seed (network_seed = 1..N; every other setting as in the
config, engine on the CPU platform), each into a temporary folder, and prints one line per build: whether
it completed, wall time, cycles, conversion, bonds undone, kinetic chains, gel fraction, percolation rank
and axes, effective strand density; then how many of the N completed. Exit 1 if any did not.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.config import read_yaml  # noqa: E402
from common.errors import GelmdError  # noqa: E402
from systems.build_network import spec_from_config  # noqa: E402
from systems.network.builder import build_network  # noqa: E402
from workflow.config_vocabulary import load_workflow_config  # noqa: E402

KEYS = ("cycles", "conversion", "undone_bonds", "kinetic_chains", "gel_fraction", "percolation_rank",
        "percolating_axes", "elastically_effective_strands_mol_per_m3")


def build_once(raw: dict, system: str, seed: int) -> dict:
    raw["systems"][system]["network_seed"] = seed
    spec = spec_from_config(load_workflow_config(raw), system)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"gelmd-seed{seed}-") as out:
        try:
            record = build_network(spec, Path(out)).record
        except GelmdError as error:
            return {"seed": seed, "completed": False, "error": str(error)[:300],
                    "wall_time_s": round(time.perf_counter() - started, 1)}
    return {"seed": seed, "completed": True, "wall_time_s": round(time.perf_counter() - started, 1),
            **{k: record[k] for k in KEYS}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="GPE_PBMP")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--config", default="config/demo.yaml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    raw = read_yaml(args.config)
    raw["engine"] = {**raw.get("engine", {}), "platform": "CPU"}
    rows = []
    for seed in range(1, args.seeds + 1):
        rows.append(build_once(raw, args.system, seed))
        print(json.dumps(rows[-1]), flush=True)
    done = sum(r["completed"] for r in rows)
    print(f"{args.system}: {done} of {len(rows)} builds completed; median wall time "
          f"{sorted(r['wall_time_s'] for r in rows)[len(rows) // 2]:.0f} s")
    return 0 if done == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
