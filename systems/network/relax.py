"""Relaxing the network after each crosslinking cycle: ramped new bonds, minimisation, short MD.

New bonds are formed between atoms up to the cycle cutoff apart (0.4-1 nm), far from the ~0.15 nm
equilibrium. Switching the full bond on at once would fling atoms, so the new bonds are ramped over
``ramp_stages`` stages: at stage k of n, each new bond has equilibrium length r0 = r_start + (r_eq -
r_start) k/n (r_start its length when formed) and force constant k_eq k/n, and the angle terms that contain
a new bond have their force constants scaled by k/n too; each stage is minimised (L-BFGS) and run for a few
MD steps. Then the full force field is minimised and run for ``md_steps`` of MD (Langevin middle
integrator; NPT with a Monte Carlo barostat scaling whole molecules while no molecule percolates, NVT once
one does: see :func:`relax`).

The engine is the simulation runner's (:mod:`simulation.runner`): a Simulation on the platform the builder
chose (its properties, e.g. ``DeterministicForces``, passed through), L-BFGS with loud failures, and MD
watched by :class:`simulation.reporters.BlowUpGuard`, which stops a run whose potential energy rises by more
than ``blowup_max_potential_rise_kJ_per_mol_per_atom`` per atom or whose instantaneous temperature exceeds
``blowup_max_temperature_factor`` x the target, naming the stage and the step. Every random stream (integrator
noise, barostat, velocities) has its own non-zero seed from :func:`common.seeds.derive_seed` of the seed
the builder passes (itself derived from the builder seed and the cycle).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import openmm
from openmm import app, unit

from common.errors import SimulationError
from common.seeds import derive_seed
from simulation.platform import PlatformChoice
from simulation.reporters import BlowUpGuard
from simulation.runner import make_simulation, minimise_in_place, run_steps
from simulation.system_prep import add_barostat, degrees_of_freedom

RELAX_TIMESTEP_PS = 0.002  # H bonds constrained, hydrogen mass 1.008 amu
PULL_FORCE_GROUP = 31  # the flat-bottom pull: kept out of every reported energy
CONSTRAINT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RelaxSettings:
    """Thermostat/barostat (K, bar, ps, 1/ps, steps), ramp and minimisation budgets, MD length, blow-up limits."""

    temperature_K: float = 298.15
    pressure_bar: float = 1.0
    timestep_ps: float = RELAX_TIMESTEP_PS
    friction_per_ps: float = 5.0
    barostat_interval: int = 25
    ramp_stages: int = 3
    ramp_min_iterations: int = 25
    ramp_md_steps: int = 0
    final_min_iterations: int = 100
    min_tolerance_kJ_per_mol_per_nm: float = 20.0
    md_steps: int = 500
    guard_interval_steps: int = 100
    blowup_max_potential_rise_kJ_per_mol_per_atom: float = 100.0
    blowup_max_temperature_factor: float = 3.0


@dataclass
class _Ramp:
    """The bond and angle terms switched on gradually: (index, atoms..., full parameters) of each."""

    bond_force: openmm.HarmonicBondForce
    angle_force: openmm.HarmonicAngleForce | None
    bonds: list[tuple] = field(default_factory=list)  # (index, i, j, r_start nm, r_eq nm, k_eq kJ/mol/nm^2)
    angles: list[tuple] = field(default_factory=list)  # (index, i, j, l, theta0, k_theta) as OpenMM gives them

    def set_fraction(self, lam: float, context: openmm.Context) -> None:
        """Bonds at r0 = r_start + (r_eq - r_start) lam, k = k_eq lam; angle force constants x lam."""
        for k, i, j, r_start, r_eq, k_eq in self.bonds:
            self.bond_force.setBondParameters(k, i, j, r_start + (r_eq - r_start) * lam, k_eq * lam)
        for k, i, j, l, theta, ka in self.angles:
            self.angle_force.setAngleParameters(k, i, j, l, theta, ka * lam)
        self.bond_force.updateParametersInContext(context)
        if self.angles:
            self.angle_force.updateParametersInContext(context)


def relax(system: openmm.System, positions_nm: np.ndarray, box_nm: np.ndarray, new_bonds: list[tuple[int, int]],
          settings: RelaxSettings, platform: PlatformChoice, seed: int, md_steps: int | None = None,
          stage: str = "relax", npt: bool = True, pull_pairs: list[tuple[int, int]] = (),
          pull_to_nm: float = 0.4, pull_k_kJ_per_mol_nm2: float = 2000.0) -> tuple[np.ndarray, np.ndarray, dict]:
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

    Steps: a copy of the System with the barostat and pull force added (:func:`_relaxation_system`); the new
    bonds' and their angles' terms found (:func:`_ramp_terms`); a Simulation at the given positions and box;
    the ramp (:func:`_ramp_in`); a minimisation with the full force field; the MD (:func:`_md_with_pulls`).
    """
    start = time.perf_counter()
    system = _relaxation_system(system, settings, seed, npt, pull_pairs, pull_to_nm)
    ramp = _ramp_terms(system, positions_nm, box_nm, new_bonds)
    simulation = _relaxation_simulation(system, positions_nm, box_nm, settings, platform, seed, stage)
    guard = BlowUpGuard(settings.guard_interval_steps, stage, system.getNumParticles(), degrees_of_freedom(system),
                        settings.blowup_max_potential_rise_kJ_per_mol_per_atom,
                        settings.blowup_max_temperature_factor * settings.temperature_K)
    simulation.reporters.append(guard)
    energies = [_energy(simulation.context)]
    n_stages = settings.ramp_stages if ramp.bonds else 0
    energies += _ramp_in(simulation, ramp, n_stages, settings, seed, guard, stage)
    minimise_in_place(simulation, settings.min_tolerance_kJ_per_mol_per_nm, settings.final_min_iterations, stage)
    energies.append(_energy(simulation.context))
    steps = settings.md_steps if md_steps is None else md_steps
    final = _md_with_pulls(simulation, settings, seed, guard, steps, stage, pull_pairs, pull_k_kJ_per_mol_nm2)
    new_pos, new_box = _positions_and_box(simulation.context)
    info = {"ramped_bonds": len(ramp.bonds), "ramped_angles": len(ramp.angles), "ramp_stages": n_stages,
            "potential_energy_kJ_per_mol": final, "energies_kJ_per_mol": energies, "md_steps": steps,
            "ensemble": "NPT (molecules scaled as rigid units)" if npt else "NVT", "pulled_pairs": len(pull_pairs),
            "box_nm": new_box.tolist(), "wall_time_s": time.perf_counter() - start}
    return new_pos, new_box, info


def _relaxation_system(system: openmm.System, settings: RelaxSettings, seed: int, npt: bool,
                       pull_pairs, pull_to_nm: float) -> openmm.System:
    """A copy of ``system`` with, for ``npt``, a molecular-scaling barostat and, for ``pull_pairs``, the pull force.

    The pull is a periodic ``CustomBondForce`` ``step(r - r_pull) k_pull/2 (r - r_pull)^2`` in force group
    :data:`PULL_FORCE_GROUP` with ``k_pull`` 0 (switched on for the MD only).
    """
    system = openmm.XmlSerializer.clone(system)
    if npt:
        add_barostat(system, settings.pressure_bar, settings.temperature_K, settings.barostat_interval,
                     derive_seed(seed, "relax-barostat"), scale_molecules_as_rigid=True)
    if pull_pairs:
        pull = openmm.CustomBondForce("step(r - r_pull) * 0.5 * k_pull * (r - r_pull)^2")
        pull.addGlobalParameter("r_pull", float(pull_to_nm))
        pull.addGlobalParameter("k_pull", 0.0)
        pull.setUsesPeriodicBoundaryConditions(True)
        pull.setForceGroup(PULL_FORCE_GROUP)
        for i, j in pull_pairs:
            pull.addBond(int(i), int(j), [])
        system.addForce(pull)
    return system


def _ramp_terms(system: openmm.System, positions_nm, box_nm, new_bonds) -> _Ramp:
    """The HarmonicBondForce terms of ``new_bonds`` (with their current minimum-image lengths, nm) and the
    HarmonicAngleForce terms that contain one of them."""
    bond_force = next(f for f in system.getForces() if isinstance(f, openmm.HarmonicBondForce))
    angle_force = next((f for f in system.getForces() if isinstance(f, openmm.HarmonicAngleForce)), None)
    ramp = _Ramp(bond_force, angle_force)
    box = np.asarray(box_nm, dtype=float)
    pos = np.asarray(positions_nm, dtype=float)
    wanted = {(min(a, b), max(a, b)) for a, b in new_bonds}
    for k in range(bond_force.getNumBonds()):
        i, j, r0, kb = bond_force.getBondParameters(k)
        if (min(i, j), max(i, j)) in wanted:
            d = pos[j] - pos[i]
            d -= box * np.round(d / box)
            ramp.bonds.append((k, i, j, float(np.linalg.norm(d)), r0.value_in_unit(unit.nanometer),
                               kb.value_in_unit(unit.kilojoule_per_mole / unit.nanometer ** 2)))
    if angle_force is not None and wanted:
        for k in range(angle_force.getNumAngles()):
            i, j, l, theta, ka = angle_force.getAngleParameters(k)
            if (min(i, j), max(i, j)) in wanted or (min(j, l), max(j, l)) in wanted:
                ramp.angles.append((k, i, j, l, theta, ka))
    return ramp


def _relaxation_simulation(system: openmm.System, positions_nm, box_nm, settings: RelaxSettings,
                           platform: PlatformChoice, seed: int, stage: str) -> app.Simulation:
    """A Langevin-middle Simulation on ``platform`` at the given positions in the rectangular box, constrained."""
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K * unit.kelvin,
                                                 settings.friction_per_ps / unit.picosecond,
                                                 settings.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(derive_seed(seed, "relax-integrator"))
    try:
        simulation = make_simulation(None, system, integrator, platform)
    except SimulationError as exc:
        raise SimulationError(f"{stage}: {exc}") from exc
    box = np.asarray(box_nm, dtype=float)
    context = simulation.context
    context.setPeriodicBoxVectors(*(openmm.Vec3(*(np.eye(3)[k] * box[k])) for k in range(3)))
    context.setPositions(np.asarray(positions_nm, dtype=float) * unit.nanometer)
    context.applyConstraints(CONSTRAINT_TOLERANCE)
    return simulation


def _ramp_in(simulation: app.Simulation, ramp: _Ramp, n_stages: int, settings: RelaxSettings, seed: int,
             guard: BlowUpGuard, stage: str) -> list[float]:
    """Switch the ramped terms on in ``n_stages`` equal steps, minimising (and optionally running MD) after
    each; returns the potential energy (kJ/mol, pull excluded) after each stage."""
    energies = []
    for s in range(1, n_stages + 1):
        ramp.set_fraction(s / n_stages, simulation.context)
        minimise_in_place(simulation, settings.min_tolerance_kJ_per_mol_per_nm, settings.ramp_min_iterations,
                          f"{stage} (bond ramp {s}/{n_stages})")
        if settings.ramp_md_steps and s < n_stages:
            _guarded_md(simulation, settings, derive_seed(seed, f"relax-ramp-velocities-{s}"), guard,
                        settings.ramp_md_steps, f"{stage} (bond ramp {s}/{n_stages})")
        energies.append(_energy(simulation.context))
    return energies


def _md_with_pulls(simulation: app.Simulation, settings: RelaxSettings, seed: int, guard: BlowUpGuard, steps: int,
                   stage: str, pull_pairs, pull_k_kJ_per_mol_nm2: float) -> float:
    """``steps`` of MD with the pulls switched on (``k_pull``, kJ/mol/nm^2); returns the final potential energy
    (kJ/mol, pull excluded), which must be finite."""
    if steps:
        if pull_pairs:
            simulation.context.setParameter("k_pull", float(pull_k_kJ_per_mol_nm2))
        _guarded_md(simulation, settings, derive_seed(seed, "relax-md-velocities"), guard, steps, stage)
    final = _energy(simulation.context)
    if not np.isfinite(final):
        raise SimulationError(f"{stage}: the potential energy became {final} after relaxation")
    return final


def _guarded_md(simulation: app.Simulation, settings: RelaxSettings, velocity_seed: int, guard: BlowUpGuard,
                steps: int, stage: str) -> None:
    """Velocities drawn at the target temperature, the guard's reference set to the energy now, ``steps`` of MD."""
    simulation.context.setVelocitiesToTemperature(settings.temperature_K * unit.kelvin, velocity_seed)
    guard.stage = stage
    guard.set_reference(simulation.context)
    run_steps(simulation, steps, stage)


def _energy(context: openmm.Context) -> float:
    """Potential energy (kJ/mol) without the pull force's group."""
    groups = {g for g in range(32) if g != PULL_FORCE_GROUP}
    return context.getState(getEnergy=True, groups=groups).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def _positions_and_box(context: openmm.Context) -> tuple[np.ndarray, np.ndarray]:
    """Positions (nm, not wrapped) and the rectangular box edge lengths (nm) of the Context."""
    state = context.getState(getPositions=True)
    vectors = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer)
    return state.getPositions(asNumpy=True).value_in_unit(unit.nanometer), np.array([vectors[0][0], vectors[1][1],
                                                                                    vectors[2][2]])
