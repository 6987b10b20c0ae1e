"""``python -m simulation.evaporation``: the MD half of the kinetic retention route, evaporation from a film.

The equilibrated box is cut into a film between vacuum regions (:func:`simulation.slab.make_film`: normal along z,
periodic in x and y), given the Yeh-Berkowitz slab correction and a soft wall that holds the vapour
(:mod:`simulation.slab`), and run NVT (Langevin, ``--collision-rate``) at ``--temperature`` (e.g. 450 K: heating
is the thermostat's, from velocities drawn at that temperature) for ``--duration``, in ``--replicas`` independent
runs (velocities and noise from seeds ``evaporation-<r>``). Every ``--sample-interval`` it records

- the mass-weighted centre z of every solvent molecule (residues ``--solvent-residues``),
- the z of every atom of the network (every cluster that is neither solvent nor ion, ``--ion-residues``), to
  tell whether the network stayed in the film,
- the mass profile along z (all atoms, bins of ``PROFILE_BIN_NM``), from which analysis.evaporation finds the
  Gibbs dividing surfaces.

Evaporated molecules are held in the vapour by the soft wall (``--evaporated wall``, the stage's default) or
removed (``--evaporated remove``: at the first sample frame at which a molecule's centre is ``--removal-distance``
beyond that frame's dividing surface, its charges and LJ are switched off, :mod:`simulation.ghosts`; the mass
profile then leaves it out from the next frame on). Both count it once, at first passage.

Output: ``--out`` NPZ (``time_ps``, ``centre_z_nm[replica, frame, molecule]``, ``network_z_nm[replica, frame,
atom]``, ``profile_amu[replica, frame, bin]``, ``profile_edges_nm``, ``molecule_residue``, ``molecule_mass_amu``,
``removed_at_frame[replica, molecule]``: -1 unless ``--evaporated remove``)
and the JSON report ``--report`` (schema ``gelmd.simulation.evaporation/1``, written last). A gel whose network
spans x, y and z is cut at its least-crossed plane (:mod:`simulation.slab`, Film; ``network_bonds_cut`` in the
report). A box that cannot be made a film (not rectangular) records ``status: refused`` and the reason, and the
NPZ holds no frames, so the retention analysis says so instead of failing the campaign.
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Sequence

import numpy as np
import openmm
from openmm import unit

from common.config import EVAPORATION_WALL_MARGIN_NM
from common.errors import SimulationError
from common.io import atomic_path, write_json_atomic
from common.units import parse_quantity
from simulation.cli import add_input_arguments, load_inputs, remove_outputs, run_cli
from simulation.ghosts import EvaporatedRemover
from simulation.platform import choose_platform
from simulation.reporters import RunLog, interval_steps
from simulation.slab import dipole_correction, make_film, soft_wall
from systems.na_interface import switch_off_cut_bonds

REPORT_SCHEMA = "gelmd.simulation.evaporation/1"
PROFILE_BIN_NM = 0.05
MAX_TEMPERATURE_FACTOR = 2.0
EVAPORATED_MODES = ("wall", "remove")
EVAPORATED_DESCRIPTION = {
    "wall": "held by a flat-bottomed harmonic wall 0.5 nm inside the z boundary; counted at first passage "
            "(analysis.evaporation)",
    "remove": "removed at the first sample frame beyond the removal distance: charges and LJ well depth set to "
              "zero (simulation.ghosts); counted at first passage (analysis.evaporation)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.evaporation", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--temperature", required=True, help="film temperature, e.g. '450 K'")
    parser.add_argument("--duration", required=True, help="time per replica, e.g. '2 ns'")
    parser.add_argument("--sample-interval", required=True, help="e.g. '10 ps'")
    parser.add_argument("--vacuum-gap", required=True, help="vacuum added along the film normal, e.g. '6 nm'")
    parser.add_argument("--wall-force-constant", type=float, required=True,
                        help="soft wall force constant, kJ mol^-1 nm^-2 (e.g. 1000)")
    parser.add_argument("--evaporated", choices=EVAPORATED_MODES, default="wall",
                        help="what happens to an evaporated molecule: held in the vapour by the soft wall (the "
                             "stage's choice) or removed, its interactions switched off (simulation.ghosts); "
                             "benchmarks/evaporation_mode.py compares the two")
    parser.add_argument("--removal-distance", default=None,
                        help="with --evaporated remove: distance beyond the Gibbs dividing surface at which a "
                             "molecule is removed, e.g. '1 nm' (the analysis' counting distance)")
    parser.add_argument("--collision-rate", required=True, help="Langevin collision rate, e.g. '1 /ps'")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--solvent-residues", nargs="+", required=True, help="residues that can evaporate")
    parser.add_argument("--ion-residues", nargs="*", default=[], help="ion residues (neither solvent nor network)")
    parser.add_argument("--out", required=True, help="NPZ of the recorded film")
    parser.add_argument("--report", required=True, help="JSON run report (written last)")
    return parser


def film_system(system: openmm.System, film, wall_k: float) -> openmm.System:
    """A copy of ``system`` for the film: box set, dipole correction and soft wall added (separate groups)."""
    system = openmm.XmlSerializer.clone(system)
    switch_off_cut_bonds(system, film.cut_bonds)  # a network spanning x, y and z was cut (simulation.slab notes)
    system.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in film.box])
    volume = float(np.prod(np.diag(film.box)))
    correction = dipole_correction(system, volume)
    correction.setForceGroup(30)
    system.addForce(correction)
    lz = film.box[2, 2]
    wall = soft_wall(system.getNumParticles(), 0.5 * lz, 0.5 * lz - EVAPORATION_WALL_MARGIN_NM, wall_k)
    wall.setForceGroup(31)
    system.addForce(wall)
    return system


def classify(film, topology, solvent_residues: Sequence[str], ion_residues: Sequence[str]
             ) -> tuple[list[list[int]], list[int]]:
    """(solvent molecules, which can evaporate; network atoms: every cluster that is neither solvent nor ion)."""
    residue_of = {a.index: a.residue.name for a in topology.atoms()}
    molecules, network = [], []
    for cluster in film.clusters:
        residue = residue_of[cluster[0]]
        if residue in solvent_residues:
            molecules.append(sorted(cluster))
        elif residue not in ion_residues:
            network.extend(cluster)
    return molecules, sorted(network)


def run_replica(system, film, molecules, network, masses, settings, platform, seed, edges, log, label,
                removal_distance_nm: float | None = None):
    """One replica: time series of the molecule centres, the network atoms' z and the mass profile (of the
    atoms still in play), and the frame at which each molecule was removed (-1: never; always -1 unless
    ``removal_distance_nm`` is given, which removes evaporated molecules: simulation.ghosts)."""
    if removal_distance_nm is not None:  # removal edits the System's NonbondedForce: each replica gets its own copy
        system = openmm.XmlSerializer.clone(system)
    integrator = openmm.LangevinMiddleIntegrator(settings["temperature_K"], settings["collision_rate_per_ps"],
                                                 settings["timestep_ps"])
    integrator.setRandomNumberSeed(int(seed))
    context = openmm.Context(system, integrator, platform.platform, platform.properties)
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in film.box])
    context.setPositions(film.positions)
    context.applyConstraints(1e-6)
    context.setVelocitiesToTemperature(settings["temperature_K"], int(seed))
    steps = interval_steps(settings["sample_interval_ps"], settings["timestep_ps"])
    n_frames = int(round(settings["duration_ps"] / (steps * settings["timestep_ps"])))
    weights = [masses[m] / masses[m].sum() for m in molecules]
    centres = np.zeros((n_frames + 1, len(molecules)), dtype=np.float32)
    net = np.zeros((n_frames + 1, len(network)), dtype=np.float32)
    profile = np.zeros((n_frames + 1, len(edges) - 1), dtype=np.float32)
    dof = 3 * system.getNumParticles() - system.getNumConstraints()
    remover = (None if removal_distance_nm is None else
               EvaporatedRemover(system, molecules, masses, edges, float(film.box[0, 0] * film.box[1, 1]),
                                 removal_distance_nm))
    start = time.perf_counter()
    for frame in range(n_frames + 1):
        if frame:
            try:
                integrator.step(steps)
            except openmm.OpenMMException as exc:
                raise SimulationError(f"{label}: MD failed at frame {frame}: {str(exc).strip()}") from exc
        state = context.getState(getPositions=True, getEnergy=True)
        z = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)[:, 2]
        centres[frame] = [float(np.dot(w, z[m])) for w, m in zip(weights, molecules)]
        net[frame] = z[network]
        if remover is None:
            profile[frame] = np.histogram(z, bins=edges, weights=masses)[0]
        else:  # the profile of the molecules in play, this frame's leavers included: the one removal decides on
            profile[frame] = remover.profile(z)
            remover.remove_evaporated(context, frame, profile[frame], centres[frame])
        temperature = 2 * state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole) / (dof * 0.00831446261815324)
        if not np.all(np.isfinite(z)) or temperature > MAX_TEMPERATURE_FACTOR * settings["temperature_K"]:
            raise SimulationError(f"{label}: blew up at frame {frame} (T = {temperature:.0f} K); shorten the time step")
    wall = time.perf_counter() - start
    log.message(f"{label}: {n_frames} frames of {steps} steps in {wall:.1f} s "
                f"({n_frames * steps * settings['timestep_ps'] / 1000 / (wall / 86400):.2f} ns/day)")
    removed_at = remover.removed_at if remover is not None else np.full(len(molecules), -1, dtype=int)
    return centres, net, profile, wall, removed_at


def _run(args: argparse.Namespace, log: RunLog) -> None:
    start = time.perf_counter()
    remove_outputs([args.report, args.out])
    if args.replicas < 1:
        raise SimulationError(f"--replicas {args.replicas}: must be >= 1")
    inputs = load_inputs(args, log)
    s = inputs.settings
    settings = {"temperature_K": parse_quantity(args.temperature, "temperature", "--temperature"),
                "duration_ps": parse_quantity(args.duration, "time", "--duration"),
                "sample_interval_ps": parse_quantity(args.sample_interval, "time", "--sample-interval"),
                "vacuum_gap_nm": parse_quantity(args.vacuum_gap, "length", "--vacuum-gap"),
                "wall_force_constant_kJ_per_mol_per_nm2": args.wall_force_constant,
                "collision_rate_per_ps": parse_quantity(args.collision_rate, "rate", "--collision-rate"),
                "timestep_ps": s.protocol.timestep_ps, "replicas": args.replicas, "evaporated": args.evaporated}
    removal_distance = None
    if args.evaporated == "remove":
        if args.removal_distance is None:
            raise SimulationError("--evaporated remove needs --removal-distance (e.g. '1 nm', the analysis' "
                                  "counting distance)")
        removal_distance = parse_quantity(args.removal_distance, "length", "--removal-distance")
        settings["removal_distance_nm"] = removal_distance
    box = np.array(inputs.state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer))
    positions = inputs.state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    report = {"schema": REPORT_SCHEMA, "settings": settings, "ensemble": "NVT (Langevin), film between vacuum regions",
              "slab_correction": "Yeh-Berkowitz dipole correction 2 pi M_z^2 / V (CustomCVForce), J. Chem. Phys. "
                                 "111, 3155 (1999)",
              "evaporated_molecules": EVAPORATED_DESCRIPTION[args.evaporated],
              "inputs": inputs.paths, "hydrogen_mass_repartitioning": inputs.hmr}
    try:
        film = make_film(inputs.system, positions, box, settings["vacuum_gap_nm"])
    except SimulationError as exc:
        log.message(f"evaporation refused: {exc}")
        _write(args, {"time_ps": np.zeros(0)})
        write_json_atomic(args.report, {**report, "status": "refused", "refusal": str(exc),
                                        "wall_time_s": time.perf_counter() - start})
        return
    molecules, network = classify(film, inputs.topology, args.solvent_residues, args.ion_residues)
    masses = np.array([inputs.system.getParticleMass(i).value_in_unit(unit.dalton)
                       for i in range(inputs.system.getNumParticles())])
    system = film_system(inputs.system, film, settings["wall_force_constant_kJ_per_mol_per_nm2"])
    platform = choose_platform(s.engine)
    edges = np.arange(0.0, film.box[2, 2] + PROFILE_BIN_NM, PROFILE_BIN_NM)
    residue_of = {a.index: a.residue.name for a in inputs.topology.atoms()}
    residues = [residue_of[m[0]] for m in molecules]
    log.message(f"film: normal along original {film.normal_axis}, thickness {film.thickness_nm:.3f} nm, box "
                f"{np.diag(film.box).round(3).tolist()} nm, {len(molecules)} molecules, {len(network)} network atoms")
    runs = [run_replica(system, film, molecules, network, masses, settings, platform,
                        s.seed_for(f"evaporation-{r}"), edges, log, f"evaporation replica {r + 1}",
                        removal_distance)
            for r in range(args.replicas)]
    n = runs[0][0].shape[0]
    _write(args, {"time_ps": np.arange(n) * settings["sample_interval_ps"],
                  "centre_z_nm": np.stack([r[0] for r in runs]), "network_z_nm": np.stack([r[1] for r in runs]),
                  "profile_amu": np.stack([r[2] for r in runs]), "profile_edges_nm": edges,
                  "molecule_residue": np.array(residues), "molecule_mass_amu": np.array([masses[m].sum() for m in molecules]),
                  "removed_at_frame": np.stack([r[4] for r in runs])})
    write_json_atomic(args.report, {
        **report, "status": "ok", "film_normal_original_axis": film.normal_axis,
        "film_thickness_nm": film.thickness_nm, "box_nm": np.diag(film.box).tolist(),
        "network_bonds_cut": int(len(film.cut_bonds)),
        "network_cut": ("a network spanning x, y and z cut at the plane normal to z crossed by the fewest heavy-atom "
                        "network bonds; bond, angle and torsion terms along them switched off, charges and "
                        "exclusions kept" if len(film.cut_bonds) else "none"),
        "area_nm2": float(film.box[0, 0] * film.box[1, 1]), "n_molecules": len(molecules),
        "n_network_atoms": len(network), "molecules_per_residue": {r: residues.count(r) for r in sorted(set(residues))},
        "platform": platform.description, "wall_time_s": time.perf_counter() - start,
        "md_wall_time_s": [r[3] for r in runs]})
    log.message(f"evaporation: done in {time.perf_counter() - start:.1f} s")


def _write(args, arrays: dict) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_path(args.out) as tmp:
        tmp.write_bytes(buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.evaporation", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
