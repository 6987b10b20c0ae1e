"""Sampling the λ windows of an alchemical decoupling, and the interaction energy of the molecule by group.

Each window is an NVT Langevin run (``LangevinMiddleIntegrator``) at its (λ_elec, λ_ster), started from the last
configuration of the previous window; after ``equilibration_ps`` it records, every ``sample_interval_ps``, the
reduced potential u_k(x) = U_k(x) / kT of the current configuration at *every* state k (the input MBAR needs:
pymbar's u_kn), up to a per-sample constant: only the force groups that depend on λ are evaluated
(:func:`lambda_groups`). The volume is fixed (the equilibrated box), so u has no pV term.

:func:`interaction_energies` splits the coupled molecule's nonbonded energy by partner group (e.g. other solvent,
ions, network) by inclusion-exclusion on a copy of the System's NonbondedForce (PME, no dispersion correction):
E_int(mol, G) = E(mol ∪ G) − E(mol) − E(G) + E(∅), where E(S) is the energy with every particle outside S
given zero charge and zero ε. Pairwise energies (LJ, Coulomb in direct and reciprocal space, the exclusion
corrections) are exact under this split; the per-particle self terms cancel; the neutralising-background term
gives a cross term only for charged mol and G (a neutral solvent molecule has none).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import openmm
from openmm import unit

from common.constants import MOLAR_GAS_CONSTANT_KJ_PER_MOL_K
from common.errors import SimulationError
from simulation.alchemical import nonbonded_force, set_lambdas
from simulation.platform import PlatformChoice
from simulation.reporters import RunLog, interval_steps


@dataclass(frozen=True)
class WindowSettings:
    """Sampling of every λ window; internal units (ps, K, 1/ps)."""

    equilibration_ps: float
    duration_ps: float
    sample_interval_ps: float
    timestep_ps: float
    temperature_K: float
    collision_rate_per_ps: float

    def check(self) -> None:
        for key in ("duration_ps", "sample_interval_ps", "timestep_ps", "temperature_K", "collision_rate_per_ps"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) > 0):
                raise SimulationError(f"decoupling windows: {key} = {getattr(self, key)!r} must be > 0")
        if not self.equilibration_ps >= 0:
            raise SimulationError(f"decoupling windows: equilibration_ps = {self.equilibration_ps!r} must be >= 0")
        if self.sample_interval_ps > self.duration_ps:
            raise SimulationError(f"decoupling windows: sample interval {self.sample_interval_ps} ps is longer than "
                                  f"the window {self.duration_ps} ps")

    @property
    def kT_kJ_per_mol(self) -> float:
        return MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * self.temperature_K


@dataclass
class LegSamples:
    """u[k, n, l]: reduced potential of sample n of window k evaluated at state l; frames: positions (nm) of the
    samples of window 0 (the coupled state) when asked for; wall time and steps."""

    u: np.ndarray
    frames: list[np.ndarray]
    wall_time_s: float
    steps: int


def lambda_groups(system: openmm.System) -> set[int]:
    """Force groups whose energy depends on λ: forces with a ``lambda_*`` global parameter and NonbondedForces
    with parameter offsets (openmmtools' exact PME treatment). The other groups add the same energy to every
    state of a sample, which MBAR does not see, so they are not evaluated (faster, and no rounding noise)."""
    groups = set()
    for force in system.getForces():
        names = [force.getGlobalParameterName(i) for i in range(force.getNumGlobalParameters())] \
            if hasattr(force, "getNumGlobalParameters") else []
        offsets = isinstance(force, openmm.NonbondedForce) and (
            force.getNumParticleParameterOffsets() + force.getNumExceptionParameterOffsets() > 0)
        if offsets or any(n.startswith("lambda_") for n in names):
            groups.add(force.getForceGroup())
    if not groups:
        raise SimulationError("decoupling: no force of the System depends on lambda (not an alchemical System)")
    return groups


def reduced_potentials(context: openmm.Context, alchemical_state, states, kT: float,
                       groups: set[int] | None = None) -> np.ndarray:
    """u_l = U_l / kT of the current configuration at every state l (only ``groups``, when given)."""
    out = np.empty(len(states))
    for index, (elec, ster) in enumerate(states):
        set_lambdas(alchemical_state, context, elec, ster)
        state = context.getState(getEnergy=True, groups=groups) if groups else context.getState(getEnergy=True)
        out[index] = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) / kT
    return out


def sample_leg(system: openmm.System, alchemical_state, states: list[tuple[float, float]], positions: np.ndarray,
               box: np.ndarray | None, settings: WindowSettings, platform: PlatformChoice, seed: int,
               label: str, log: RunLog | None = None, keep_frames: bool = False) -> LegSamples:
    """Run every window of ``states`` in turn on the alchemical ``system`` (periodic ``box`` in nm, or None for a
    molecule in vacuum) from ``positions`` (nm); see the module notes."""
    settings.check()
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K, settings.collision_rate_per_ps,
                                                 settings.timestep_ps)
    integrator.setRandomNumberSeed(int(seed))
    try:
        context = openmm.Context(system, integrator, platform.platform, platform.properties)
    except Exception as exc:
        raise SimulationError(f"{label}: cannot create an OpenMM Context on {platform.name}: {exc}") from exc
    if box is not None:
        context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    context.setPositions(positions)
    context.applyConstraints(1e-6)
    eq_steps = int(round(settings.equilibration_ps / settings.timestep_ps))
    sample_steps = interval_steps(settings.sample_interval_ps, settings.timestep_ps)
    n_samples = max(1, int(round(settings.duration_ps / (sample_steps * settings.timestep_ps))))
    kT = settings.kT_kJ_per_mol
    u = np.empty((len(states), n_samples, len(states)))
    frames: list[np.ndarray] = []
    groups = lambda_groups(system)
    start = time.perf_counter()
    for k, (elec, ster) in enumerate(states):
        set_lambdas(alchemical_state, context, elec, ster)
        context.setVelocitiesToTemperature(settings.temperature_K, int(seed) + k + 1)
        _step(integrator, eq_steps, label, k)
        for n in range(n_samples):
            _step(integrator, sample_steps, label, k)
            u[k, n] = reduced_potentials(context, alchemical_state, states, kT, groups)
            set_lambdas(alchemical_state, context, elec, ster)
            if not np.all(np.isfinite(u[k, n])):
                raise SimulationError(f"{label}: window {k} (lambda_elec {elec:g}, lambda_ster {ster:g}) gave a "
                                      f"non-finite energy at sample {n}; shorten the time step or add windows")
            if keep_frames and k == 0:
                frames.append(context.getState(getPositions=True).getPositions(asNumpy=True)
                              .value_in_unit(unit.nanometer).astype(np.float64))
        if log:
            log.message(f"{label}: window {k + 1}/{len(states)} (lambda_elec {elec:g}, lambda_ster {ster:g}) done, "
                        f"{time.perf_counter() - start:.1f} s")
    steps = len(states) * (eq_steps + n_samples * sample_steps)
    return LegSamples(u=u, frames=frames, wall_time_s=time.perf_counter() - start, steps=steps)


def _step(integrator: openmm.Integrator, steps: int, label: str, window: int) -> None:
    if steps <= 0:
        return
    try:
        integrator.step(int(steps))
    except openmm.OpenMMException as exc:
        raise SimulationError(f"{label}: MD failed in window {window}: {str(exc).strip()}") from exc


def whole_molecule(positions: np.ndarray, atoms: list[int], box: np.ndarray) -> np.ndarray:
    """Positions (nm) of ``atoms`` made whole: each atom moved by box vectors to its nearest image of the first
    atom (valid for a molecule smaller than half the box, i.e. any solvent molecule)."""
    xyz = np.array(positions[atoms], dtype=float)
    lengths = np.diag(box)
    delta = xyz - xyz[0]
    return xyz - np.round(delta / lengths) * lengths


def interaction_energies(system: openmm.System, atoms: list[int], groups: dict[str, list[int]],
                         frames: list[np.ndarray], box: np.ndarray, platform: PlatformChoice) -> dict[str, np.ndarray]:
    """Nonbonded interaction energy (kJ/mol) of the molecule ``atoms`` with each group, per frame (module notes)."""
    reference = nonbonded_force(system)
    force = openmm.XmlSerializer.clone(reference)
    force.setUseDispersionCorrection(False)
    force.setForceGroup(0)
    isolated = openmm.System()
    for i in range(system.getNumParticles()):
        isolated.addParticle(system.getParticleMass(i))
    isolated.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    isolated.addForce(force)
    context = openmm.Context(isolated, openmm.VerletIntegrator(0.001), platform.platform, platform.properties)
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    parameters = [reference.getParticleParameters(i) for i in range(reference.getNumParticles())]

    def energies(active: set[int]) -> np.ndarray:
        for i, (q, sigma, epsilon) in enumerate(parameters):
            on = i in active
            force.setParticleParameters(i, q if on else 0.0, sigma, epsilon if on else 0.0)
        force.updateParametersInContext(context)
        out = np.empty(len(frames))
        for n, xyz in enumerate(frames):
            context.setPositions(xyz)
            out[n] = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        return out

    molecule = set(atoms)
    empty, alone = energies(set()), energies(molecule)
    result = {}
    for name, members in groups.items():
        group = set(members) - molecule
        result[name] = energies(molecule | group) - alone - energies(group) + empty if group else np.zeros(len(frames))
    return result
