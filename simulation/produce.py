"""``python -m simulation.produce``: chunked, checkpointed, resumable NVT production.

Usage::

    python -m simulation.produce --system SYSTEM.xml --state STATE.xml --topology TOP.pdb \\
        --settings SETTINGS.json --out-dir DIR [--work-dir WORK] [--log LOG] \\
        [--platform auto|CUDA|OpenCL|CPU|Reference]

Run the same command again after the job was killed and it resumes from the last checkpoint in the
work folder (default ``DIR.work``) with no lost or duplicated frames (:mod:`simulation.production`).
Hydrogen masses are set to the settings' ``hydrogen_mass_amu`` (a no-op on a System from
``simulation.equilibrate``) and any barostat is removed.

Outputs in DIR, all moved in at the very end: ``trajectory.dcd``, ``energies.csv``, ``final_state.xml``,
``system.xml`` and, last, ``production.json`` (the summary; its presence marks a finished run).
"""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from simulation.cli import add_input_arguments, load_inputs, run_cli
from simulation.platform import choose_platform
from simulation.production import run_production
from simulation.reporters import RunLog


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.produce", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--out-dir", required=True, help="folder for the final outputs")
    parser.add_argument("--replica", type=int, default=1,
                        help="replica number: k > 1 redraws velocities and thermostat noise from seeds of its own")
    parser.add_argument("--work-dir", default=None,
                        help="folder for checkpoints and in-progress files (default: OUT_DIR.work, beside OUT_DIR)")
    return parser


def _run(args: argparse.Namespace, log: RunLog) -> None:
    inputs = load_inputs(args, log)
    platform = choose_platform(inputs.settings.engine)
    log.message(f"platform: {json.dumps(platform.description)}")
    run_production(inputs.system, inputs.topology, inputs.state, inputs.settings, platform, args.out_dir,
                   work_dir=args.work_dir, log=log, replica=args.replica,
                   inputs={**inputs.paths, "hydrogen_mass_repartitioning": inputs.hmr,
                           "barostats_removed_from_input": inputs.barostats_removed})


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.produce", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
