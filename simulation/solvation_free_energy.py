"""``python -m simulation.solvation_free_energy``: the MD half of the thermodynamic retention route.

For each solvent residue named (``--residues PC FEC``) it picks ``--molecules`` molecules of that residue at
random (seed ``retention-molecules-<RES>``; each an independent sample of the same excess chemical potential) and,
for each, runs

1. the box leg: the molecule decoupled from the equilibrated box (NVT at its volume): charges off at full LJ,
   then soft-core LJ off (:mod:`simulation.alchemical`, :mod:`simulation.decoupling`);
2. the gas leg: the same molecule alone in vacuum with its charges annihilated the same way (the exact-PME
   treatment also switches off the molecule's own electrostatics; this leg cancels that);
3. the long-range LJ tail of the coupled molecule (analytic, added back at the coupled end);
4. the interaction energy of the coupled molecule with the other solvent molecules, the ions and the network
   (everything else), per sample of the coupled window.

It writes the reduced potentials (MBAR's u_kln) and those energies to ``--out`` (NPZ, keys
``<RES>/<m>/box_u``, ``<RES>/<m>/vacuum_u``, ``<RES>/<m>/interaction/<group>``) and a JSON report (``--report``,
schema ``gelmd.simulation.solvation/1``, written last) with the λ schedule, the molecules, the tails, the
sampling, the temperature, charges scale and speed. :mod:`analysis.free_energy` does the MBAR.

Usage::

    python -m simulation.solvation_free_energy --system SYSTEM.xml --state STATE.xml --topology TOP.pdb \\
        --settings SETTINGS.json --residues PC FEC --molecules 1 --solvent-residues PC FEC \\
        --ion-residues NA PF6 --lambda-electrostatics 1 0.5 0 --lambda-sterics 1 0.6 0.3 0 \\
        --window-equilibration "0.4 ps" --window-duration "1.6 ps" --sample-interval "0.2 ps" \\
        --collision-rate "1 /ps" --out solvation.npz --report solvation_run.json [--log LOG]
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Sequence

import numpy as np
import openmm
from openmm import unit

from common.errors import SimulationError
from common.io import atomic_path, write_json_atomic
from common.units import parse_quantity
from simulation.alchemical import LambdaSchedule, alchemical_system, dispersion_tail_kJ_per_mol, vacuum_system
from simulation.cli import add_input_arguments, load_inputs, remove_outputs, run_cli
from simulation.decoupling import WindowSettings, interaction_energies, sample_leg, whole_molecule
from simulation.platform import choose_platform
from simulation.reporters import RunLog

REPORT_SCHEMA = "gelmd.simulation.solvation/1"
GROUPS = ("solvent", "ions", "network")


def residue_molecules(topology, residue: str) -> list[list[int]]:
    """Atom indices of every residue called ``residue`` (a solvent molecule is one residue)."""
    return [[a.index for a in r.atoms()] for r in topology.residues() if r.name == residue]


def choose_molecules(molecules: list[list[int]], count: int, seed: int) -> list[int]:
    """``count`` distinct molecule indices drawn with ``seed`` (all of them if there are fewer)."""
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(len(molecules), size=min(count, len(molecules)), replace=False))


def partner_groups(topology, solvent_residues: Sequence[str], ion_residues: Sequence[str]) -> dict[str, list[int]]:
    """Atoms of the other solvent molecules, of the ions and of everything else (the network)."""
    groups: dict[str, list[int]] = {name: [] for name in GROUPS}
    for atom in topology.atoms():
        name = atom.residue.name
        key = "solvent" if name in solvent_residues else "ions" if name in ion_residues else "network"
        groups[key].append(atom.index)
    return groups


def decouple_molecule(inputs, atoms: list[int], schedule: LambdaSchedule, windows: WindowSettings, platform,
                      groups: dict[str, list[int]], seed: int, label: str, log: RunLog) -> tuple[dict, dict]:
    """Both legs, the tail and the interaction energies of one molecule: (arrays, report entry)."""
    state = inputs.state
    box = np.array(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer))
    positions = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    volume = float(np.prod(np.diag(box)))
    system, alchemical_state = alchemical_system(inputs.system, atoms)
    box_leg = sample_leg(system, alchemical_state, schedule.states, positions, box, windows, platform, seed,
                         f"{label} box", log, keep_frames=True)
    gas, gas_state = alchemical_system(vacuum_system(inputs.system, atoms), list(range(len(atoms))))
    gas_leg = sample_leg(gas, gas_state, schedule.vacuum_states, whole_molecule(positions, atoms, box), None, windows,
                         platform, seed + 7919, f"{label} vacuum", log)
    interactions = interaction_energies(inputs.system, atoms, groups, box_leg.frames, box, platform)
    tail = dispersion_tail_kJ_per_mol(inputs.system, atoms, volume)
    arrays = {"box_u": box_leg.u, "vacuum_u": gas_leg.u,
              **{f"interaction/{name}": values for name, values in interactions.items()}}
    entry = {"atoms": [int(a) for a in atoms], "tail_kJ_per_mol": tail, "volume_nm3": volume,
             "box_steps": box_leg.steps, "vacuum_steps": gas_leg.steps,
             "box_wall_time_s": box_leg.wall_time_s, "vacuum_wall_time_s": gas_leg.wall_time_s,
             "ns_per_day_box": box_leg.steps * windows.timestep_ps / 1000.0 / (box_leg.wall_time_s / 86400.0),
             "mean_interaction_kJ_per_mol": {k: float(np.mean(v)) for k, v in interactions.items()}}
    log.message(f"{label}: box leg {box_leg.wall_time_s:.1f} s, vacuum leg {gas_leg.wall_time_s:.1f} s, tail "
                f"{tail:.3f} kJ/mol, interactions " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                               entry["mean_interaction_kJ_per_mol"].items()))
    return arrays, entry


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.solvation_free_energy",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--residues", nargs="+", required=True, help="solvent residues to decouple, e.g. PC FEC")
    parser.add_argument("--molecules", type=int, required=True, help="molecules per residue (independent samples)")
    parser.add_argument("--solvent-residues", nargs="*", default=[], help="residues counted as solvent partners")
    parser.add_argument("--ion-residues", nargs="*", default=[], help="residues counted as ion partners")
    parser.add_argument("--lambda-electrostatics", nargs="+", type=float, required=True)
    parser.add_argument("--lambda-sterics", nargs="+", type=float, required=True)
    parser.add_argument("--window-equilibration", required=True, help="e.g. '0.4 ps'")
    parser.add_argument("--window-duration", required=True, help="sampled time per window, e.g. '1.6 ps'")
    parser.add_argument("--sample-interval", required=True, help="e.g. '0.2 ps'")
    parser.add_argument("--collision-rate", required=True, help="Langevin collision rate, e.g. '1 /ps'")
    parser.add_argument("--out", required=True, help="NPZ of reduced potentials and interaction energies")
    parser.add_argument("--report", required=True, help="JSON run report (written last)")
    return parser


def _run(args: argparse.Namespace, log: RunLog) -> None:
    start = time.perf_counter()
    remove_outputs([args.report, args.out])
    if args.molecules < 1:
        raise SimulationError(f"--molecules {args.molecules}: must be >= 1")
    inputs = load_inputs(args, log)
    s = inputs.settings
    schedule = LambdaSchedule(tuple(args.lambda_electrostatics), tuple(args.lambda_sterics))
    windows = WindowSettings(
        equilibration_ps=parse_quantity(args.window_equilibration, "time", "--window-equilibration"),
        duration_ps=parse_quantity(args.window_duration, "time", "--window-duration"),
        sample_interval_ps=parse_quantity(args.sample_interval, "time", "--sample-interval"),
        timestep_ps=s.protocol.timestep_ps, temperature_K=s.temperature_K,
        collision_rate_per_ps=parse_quantity(args.collision_rate, "rate", "--collision-rate"))
    windows.check()
    platform = choose_platform(s.engine)
    groups = partner_groups(inputs.topology, args.solvent_residues, args.ion_residues)
    arrays, residues = {}, {}
    for residue in args.residues:
        molecules = residue_molecules(inputs.topology, residue)
        if not molecules:
            raise SimulationError(f"--residues {residue}: no residue of that name in {args.topology}")
        chosen = choose_molecules(molecules, args.molecules, s.seed_for(f"retention-molecules-{residue}"))
        entries = []
        for m, index in enumerate(chosen):
            out, entry = decouple_molecule(inputs, molecules[index], schedule, windows, platform, groups,
                                           s.seed_for(f"retention-{residue}-{m}"), f"{residue} molecule {index}", log)
            arrays.update({f"{residue}/{m}/{key}": value for key, value in out.items()})
            entries.append({"residue_index": index, **entry})
        residues[residue] = {"n_in_box": len(molecules), "molecules": entries}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_path(args.out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    write_json_atomic(args.report, {
        "schema": REPORT_SCHEMA,
        "method": "alchemical decoupling with openmmtools 0.27.0 (AbsoluteAlchemicalFactory, exact PME treatment, "
                  "charges annihilated then soft-core LJ decoupled; gas leg with the same annihilation cancels the "
                  "intramolecular electrostatics), NVT Langevin per window at the equilibrated volume",
        "states": [list(x) for x in schedule.states], "vacuum_states": [list(x) for x in schedule.vacuum_states],
        "lambda_electrostatics": list(schedule.electrostatics), "lambda_sterics": list(schedule.sterics),
        "windows": {**windows.__dict__}, "temperature_K": s.temperature_K, "ensemble": "NVT (per window)",
        "groups": {k: len(v) for k, v in groups.items()}, "residues": residues,
        "hydrogen_mass_repartitioning": inputs.hmr, "platform": platform.description, "inputs": inputs.paths,
        "openmmtools_version": _version("openmmtools"), "openmm_version": openmm.__version__,
        "outputs": {"arrays": str(args.out)}, "wall_time_s": time.perf_counter() - start})
    log.message(f"solvation free energy MD: done in {time.perf_counter() - start:.1f} s")


def _version(package: str) -> str:
    from importlib.metadata import version
    return version(package)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.solvation_free_energy", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
