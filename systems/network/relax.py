"""Relaxing the network after each crosslinking cycle: ramped new bonds, minimisation, short MD.

New bonds are formed between atoms up to the cycle cutoff apart (0.4-1 nm), far from the ~0.15 nm
equilibrium. Switching the full bond on at once would fling atoms, so the new bonds are ramped over
``ramp_stages`` stages: at stage k of n, each new bond has equilibrium length r0 = r_start + (r_eq -
r_start) k/n (r_start its length when formed) and force constant k_eq k/n, and the angle terms that contain
a new bond have their force constants scaled by k/n too; each stage is minimised (L-BFGS) and run for a few
MD steps. Then the full force field is minimised and run for ``md_steps`` of MD (Langevin middle
integrator; NPT with a Monte Carlo barostat scaling whole molecules while no molecule percolates, NVT once
one does: see :func:`relax`). Seeds are derived from the builder seed and
the cycle number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import openmm
from openmm import unit

from common.errors import SimulationError
from simulation.platform import PlatformChoice
from simulation.system_prep import add_barostat


RELAX_TIMESTEP_PS = 0.002  # H bonds constrained, hydrogen mass 1.008 amu


@dataclass(frozen=True)
class RelaxSettings:
    temperature_K: float = 298.15
    pressure_bar: float = 1.0
    timestep_ps: float = RELAX_TIMESTEP_PS
    friction_per_ps: float = 5.0
    barostat_interval: int = 25
    ramp_stages: int = 3
    ramp_min_iterations: int = 50
    ramp_md_steps: int = 0
    final_min_iterations: int = 200
    min_tolerance_kJ_per_mol_per_nm: float = 20.0
    md_steps: int = 500


def _energy(context: openmm.Context) -> float:
    groups = set(range(31))  # group 31: the pull force
    return context.getState(getEnergy=True, groups=groups).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def relax(system: openmm.System, positions_nm: np.ndarray, box_nm: np.ndarray, new_bonds: list[tuple[int, int]],
          settings: RelaxSettings, platform: PlatformChoice, seed: int, md_steps: int | None = None,
          stage: str = "relax", npt: bool = True, pull_pairs: list[tuple[int, int]] = (),
          pull_to_nm: float = 0.4, pull_k_kJ_per_mol_nm2: float = 500.0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Ramp in ``new_bonds`` (Topology index pairs), minimise, run MD; return positions, box, info.

    ``npt``: a Monte Carlo barostat scaling molecules as rigid units. That is only valid when every molecule's
    coordinates are whole (no bond split by a box vector; ``NetworkGraph.make_molecules_whole``); once a
    cluster percolates the builder passes False and the relaxation runs at constant volume: atom-wise scaling
    with H-bond constraints would inflate the box (:mod:`simulation.system_prep`), and the equilibrate stage
    runs unbiased NPT of the finished network on a constraint-free copy.

    ``pull_pairs`` (Topology index pairs): during the MD only, each pair is drawn together by a flat-bottom
    harmonic attraction ``k/2 (r - r_pull)^2`` for r > ``pull_to_nm`` (minimum-image distance, periodic), so
    reactive groups that are out of reach meet in picoseconds instead of the ~100 ps free diffusion of a
    monomer would need. The force is not in the returned state's energy.
    """
    start = time.perf_counter()
    system = openmm.XmlSerializer.clone(system)
    if npt:
        add_barostat(system, settings.pressure_bar, settings.temperature_K, settings.barostat_interval, seed + 1,
                     scale_molecules_as_rigid=True)
    bond_force = next(f for f in system.getForces() if isinstance(f, openmm.HarmonicBondForce))
    angle_force = next((f for f in system.getForces() if isinstance(f, openmm.HarmonicAngleForce)), None)
    box = np.asarray(box_nm, dtype=float)
    pos = np.asarray(positions_nm, dtype=float)
    wanted = {(min(a, b), max(a, b)) for a, b in new_bonds}
    ramp_bonds = []  # (index, i, j, r_start, r_eq, k_eq)
    for k in range(bond_force.getNumBonds()):
        i, j, r0, kb = bond_force.getBondParameters(k)
        if (min(i, j), max(i, j)) in wanted:
            d = pos[j] - pos[i]
            d -= box * np.round(d / box)
            ramp_bonds.append((k, i, j, float(np.linalg.norm(d)), r0.value_in_unit(unit.nanometer),
                               kb.value_in_unit(unit.kilojoule_per_mole / unit.nanometer ** 2)))
    new_atoms_pairs = wanted
    ramp_angles = []
    if angle_force is not None and wanted:
        for k in range(angle_force.getNumAngles()):
            i, j, l, theta, ka = angle_force.getAngleParameters(k)
            if (min(i, j), max(i, j)) in new_atoms_pairs or (min(j, l), max(j, l)) in new_atoms_pairs:
                ramp_angles.append((k, i, j, l, theta, ka))
    pull_group = 31  # kept out of the reported energy
    if pull_pairs:
        pull = openmm.CustomBondForce("step(r - r_pull) * 0.5 * k_pull * (r - r_pull)^2")
        pull.addGlobalParameter("r_pull", float(pull_to_nm))
        pull.addGlobalParameter("k_pull", 0.0)  # switched on for the MD only
        pull.setUsesPeriodicBoundaryConditions(True)
        pull.setForceGroup(pull_group)
        for i, j in pull_pairs:
            pull.addBond(int(i), int(j), [])
        system.addForce(pull)
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K * unit.kelvin,
                                                 settings.friction_per_ps / unit.picosecond,
                                                 settings.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(int(seed))
    try:
        context = openmm.Context(system, integrator, platform.platform, platform.properties)
    except Exception as exc:
        raise SimulationError(f"{stage}: cannot create an OpenMM Context: {exc}") from exc
    context.setPeriodicBoxVectors(*(openmm.Vec3(*(np.eye(3)[k] * box[k])) for k in range(3)))
    context.setPositions(pos * unit.nanometer)
    context.applyConstraints(1e-6)
    tol = settings.min_tolerance_kJ_per_mol_per_nm * unit.kilojoule_per_mole / unit.nanometer
    energies = [_energy(context)]
    n = settings.ramp_stages if ramp_bonds else 0
    for s in range(1, n + 1):
        lam = s / n
        for k, i, j, r_start, r_eq, k_eq in ramp_bonds:
            bond_force.setBondParameters(k, i, j, r_start + (r_eq - r_start) * lam, k_eq * lam)
        for k, i, j, l, theta, ka in ramp_angles:
            angle_force.setAngleParameters(k, i, j, l, theta, ka * lam)
        bond_force.updateParametersInContext(context)
        if ramp_angles:
            angle_force.updateParametersInContext(context)
        openmm.LocalEnergyMinimizer.minimize(context, tol, settings.ramp_min_iterations)
        if settings.ramp_md_steps and s < n:
            context.setVelocitiesToTemperature(settings.temperature_K * unit.kelvin, int(seed) + 10 + s)
            _step(integrator, settings.ramp_md_steps, stage)
        energies.append(_energy(context))
    openmm.LocalEnergyMinimizer.minimize(context, tol, settings.final_min_iterations)
    energies.append(_energy(context))
    steps = settings.md_steps if md_steps is None else md_steps
    if pull_pairs and steps:
        context.setParameter("k_pull", float(pull_k_kJ_per_mol_nm2))
    if steps:
        context.setVelocitiesToTemperature(settings.temperature_K * unit.kelvin, int(seed) + 2)
        _step(integrator, steps, stage)
    state = context.getState(getPositions=True, getEnergy=True, groups={g for g in range(32) if g != pull_group})
    final = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    if not np.isfinite(final):
        raise SimulationError(f"{stage}: the potential energy became {final} after relaxation")
    new_pos = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    vectors = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer)
    new_box = np.array([vectors[0][0], vectors[1][1], vectors[2][2]])
    info = {"ramped_bonds": len(ramp_bonds), "ramped_angles": len(ramp_angles), "ramp_stages": n,
            "potential_energy_kJ_per_mol": final, "energies_kJ_per_mol": energies, "md_steps": steps,
            "ensemble": "NPT (molecules scaled as rigid units)" if npt else "NVT", "pulled_pairs": len(pull_pairs),
            "box_nm": new_box.tolist(), "wall_time_s": time.perf_counter() - start}
    del context
    return new_pos, new_box, info


def _step(integrator: openmm.Integrator, steps: int, stage: str) -> None:
    try:
        integrator.step(int(steps))
    except (openmm.OpenMMException, ValueError) as exc:
        raise SimulationError(f"{stage}: MD failed: {str(exc).strip()}") from exc
