"""What the two command-line tools share: input arguments, loading and checking inputs, error handling.

Exit status 0 on success; 1 on a gelmd error (the message, which names what is wrong, goes to stderr and
to the log); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import openmm
from openmm import app

from common.cli import run_main
from common.errors import GelmdError
from simulation.reporters import RunLog
from simulation.settings import SimulationSettings, load_settings
from simulation.state_io import check_consistent, read_state, read_system, read_topology
from simulation.system_prep import remove_barostats, repartition_hydrogen_mass


@dataclass
class Inputs:
    settings: SimulationSettings
    system: openmm.System
    state: openmm.State
    topology: app.Topology
    hmr: dict
    barostats_removed: int
    paths: dict


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--system", required=True, help="OpenMM System XML")
    parser.add_argument("--state", required=True, help="OpenMM State XML (positions; velocities optional)")
    parser.add_argument("--topology", required=True, help="topology PDB (or PDBx/mmCIF) matching the System")
    parser.add_argument("--settings", required=True, help="SETTINGS.json (simulation.settings.SimulationSettings)")
    parser.add_argument("--platform", choices=["auto", "CUDA", "OpenCL", "CPU", "Reference"], default=None,
                        help="override engine.platform of the settings")
    parser.add_argument("--log", default=None, help="log file (appended; default: standard output)")


def load_inputs(args: argparse.Namespace, log: RunLog) -> Inputs:
    """Read and cross-check the inputs, drop any barostat, set hydrogen masses to the settings' value."""
    settings = load_settings(args.settings)
    if args.platform is not None:
        settings = settings.model_copy(update={"engine": settings.engine.model_copy(update={"platform": args.platform})})
    system = read_system(args.system)
    state = read_state(args.state)
    topology, _ = read_topology(args.topology)
    check_consistent(system, state, topology, names=(f"System {args.system}", f"State {args.state}",
                                                     f"topology {args.topology}"))
    removed = remove_barostats(system)
    if removed:
        log.message(f"removed {removed} barostat(s) found in the input System")
    hmr = repartition_hydrogen_mass(system, topology, settings.hydrogen_mass_amu)
    if hmr["n_hydrogens_changed"]:
        log.message(f"hydrogen mass repartitioning: {hmr['n_hydrogens_changed']} hydrogens set to "
                    f"{settings.hydrogen_mass_amu:g} amu (total mass {hmr['total_mass_after_amu']:.6g} amu, unchanged)")
    paths = {"system": str(args.system), "state": str(args.state), "topology": str(args.topology),
             "settings": str(args.settings)}
    return Inputs(settings, system, state, topology, hmr, removed, paths)


def run_cli(name: str, body: Callable[[argparse.Namespace, RunLog], None], parser: argparse.ArgumentParser,
            argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, open the log, run ``body`` under :func:`common.cli.run_main` (gelmd errors: exit status 1,
    ``name: error: <message>`` on stderr); the error is also written to the log, so the rule's log says why
    the job failed."""
    args = parser.parse_args(argv)
    log = RunLog(args.log if args.log else None)

    def logged_body() -> None:
        log.message(f"{name}: " + " ".join(sys.argv if argv is None else [name, *argv]))
        try:
            body(args, log)
        except GelmdError as exc:
            log.message(f"ERROR ({type(exc).__name__}): {exc}")
            raise

    try:
        return run_main(name, logged_body)
    finally:
        log.close()


def remove_outputs(paths: Sequence[str | Path]) -> None:
    """Delete outputs of an earlier run, so that a failing run leaves nothing that looks complete."""
    for path in paths:
        Path(path).unlink(missing_ok=True)
