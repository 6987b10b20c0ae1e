"""Benchmark: the network builder completes for N seeds in a row at the demo's gel settings (issue 8).

    python benchmarks/network_seeds.py [--system GPE_PBMP|GPE_PTPA] [--seeds 10] [--first-seed 1]
                                       [--config config/demo.yaml] [--set min_loop_units=3 ...]
                                       [--keep DIR]

Builds the gel ``--system`` of the config once per seed (network_seed = first..first+N-1; every other setting
as in the config, or as overridden for that system by ``--set key=value`` (YAML values), engine on the CPU
platform), each into a temporary folder (or into DIR/seed<N> with ``--keep DIR``, for a build worth reading
afterwards, e.g. a paper-scale one: run the same command again after an interruption and the build resumes
from its last checkpointed cycle), and prints one line per build: whether
it completed, wall time, cycles, conversion, bonds undone, kinetic chains, gel fraction, percolation rank
and axes, effective strand density; then how many of the N completed. Exit 1 if any did not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.config import read_yaml  # noqa: E402
from common.errors import GelmdError  # noqa: E402
from systems.build_network import spec_from_config  # noqa: E402
from systems.network.builder import build_network  # noqa: E402
from workflow.config_vocabulary import load_workflow_config  # noqa: E402

KEYS = ("cycles", "conversion", "undone_bonds", "kinetic_chains", "gel_fraction", "percolation_rank",
        "percolating_axes", "elastically_effective_strands_mol_per_m3", "primary_loops", "cycle_rank")


def build_once(raw: dict, system: str, seed: int, keep: Path | None = None) -> dict:
    raw["systems"][system]["network_seed"] = seed
    spec = spec_from_config(load_workflow_config(raw), system)
    started = time.perf_counter()
    folder = (tempfile.TemporaryDirectory(prefix=f"gelmd-seed{seed}-") if keep is None
              else contextlib.nullcontext(keep / f"seed{seed}"))
    with folder as out:
        try:
            record = build_network(spec, Path(out)).record
        except GelmdError as error:
            return {"seed": seed, "completed": False, "error": str(error)[:300],
                    "wall_time_s": round(time.perf_counter() - started, 1)}
    # build_wall_time_s: the build's own compute time, including earlier jobs that a checkpoint resumed from
    return {"seed": seed, "completed": True, "wall_time_s": round(time.perf_counter() - started, 1),
            "build_wall_time_s": round(record["wall_time_s"], 1), **{k: record.get(k) for k in KEYS}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="GPE_PBMP")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--config", default="config/demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of --system (YAML value), e.g. min_loop_units=3")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="write each build to DIR/seed<N> instead of a temporary folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    raw = read_yaml(args.config)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        raw["systems"][args.system][key] = yaml.safe_load(value)
    raw["engine"] = {**raw.get("engine", {}), "platform": "CPU"}
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rows.append(build_once(raw, args.system, seed, args.keep))
        print(json.dumps(rows[-1]), flush=True)
    done = sum(r["completed"] for r in rows)
    print(f"{args.system}: {done} of {len(rows)} builds completed; median wall time "
          f"{sorted(r['wall_time_s'] for r in rows)[len(rows) // 2]:.0f} s")
    return 0 if done == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
