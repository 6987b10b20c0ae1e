"""The thermodynamic route of the retention stage against cases with known answers.

- A Lennard-Jones particle decoupled from an LJ fluid (T* = 2, ρ* = 0.2, 125 particles, cutoff 3σ with the
  analytic tail) gives the excess chemical potential of the Johnson-Zollweg-Gubbins equation of state (tests/lj_eos.py).
- A rigid polar molecule decoupled from an "ideal gas" (particles with no charge and no LJ) gives ΔG_solv = 0 but for
  the known interaction with its own periodic images, −(2π/3)μ²/V: the box leg (exact PME) and the vacuum leg
  remove the same intramolecular electrostatics.
"""

from __future__ import annotations

import math

import numpy as np
import openmm
import pytest
from openmm import unit
from scipy import stats

import lj_eos
import testsystems
from analysis.free_energy import combine_molecules, mbar_leg, solvation_free_energy
from common.constants import MOLAR_GAS_CONSTANT_KJ_PER_MOL_K
from simulation.alchemical import (ONE_4PI_EPS0, LambdaSchedule, alchemical_system, dispersion_tail_kJ_per_mol, set_lambdas,
                                   vacuum_system)
from simulation.decoupling import WindowSettings, sample_leg
from simulation.platform import choose_platform

T_STAR, RHO_STAR = 2.0, 0.2


def cpu():
    return choose_platform(platform="CPU", probe=False, gpu_slot=False)


def lj_box():
    system, _, positions = testsystems.lj_fluid(n_per_side=5, reduced_density=RHO_STAR,
                                                cutoff_nm=3.0 * testsystems.ARGON_SIGMA_NM)
    box = np.array([[v.value_in_unit(unit.nanometer)[i] for i in range(3)]
                    for v in system.getDefaultPeriodicBoxVectors()])
    return system, positions, box


def melted(system, positions, temperature):
    """20 ps of Langevin MD from the lattice (the windows then start from a fluid)."""
    integrator = openmm.LangevinMiddleIntegrator(temperature, 5.0, 0.01)
    integrator.setRandomNumberSeed(3)
    context = openmm.Context(system, integrator, cpu().platform)
    context.setPositions(positions)
    context.setVelocitiesToTemperature(temperature, 3)
    integrator.step(2000)
    return context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)


def test_lj_particle_excess_chemical_potential_matches_jzg_equation_of_state():
    """Twelve particles decoupled independently and combined as the stage combines solvent molecules (error =
    the larger of the propagated MBAR error and the spread between particles).

    Sized from 45 single-particle runs on this machine: per-particle μ_ex/kT scatters with σ ≈ 0.2 at 15 ps
    windows (MBAR errors 0.07-0.15; the scatter comes from the last three soft-core windows, where the
    decoupled particle's overlaps with its neighbours decorrelate slowly). With three particles and a 0.12 kT
    bound the spread-based error s/√3 failed about 5 % of runs and once failed CI. With twelve, the error
    bound of 0.15 kT is exceeded with p ~ 1e-6 even at σ = 0.25 (χ²₁₁ > 47). The combined error is itself
    estimated from twelve values, so the accuracy check uses Student's t with 11 degrees of freedom at a
    two-sided false-failure rate of 5e-4 (4.86 standard errors, ~0.28 kT), plus the 2 % fit accuracy of the
    JZG equation of state.
    """
    system, positions, box = lj_box()
    temperature = T_STAR * testsystems.ARGON_EPSILON_KJ_PER_MOL / MOLAR_GAS_CONSTANT_KJ_PER_MOL_K
    kT = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * temperature
    schedule = LambdaSchedule((1.0, 0.0), (1.0, 0.8, 0.6, 0.45, 0.3, 0.15, 0.0))
    windows = WindowSettings(equilibration_ps=2.0, duration_ps=15.0, sample_interval_ps=0.3, timestep_ps=0.01,
                             temperature_K=temperature, collision_rate_per_ps=1.0)
    positions = melted(system, positions, temperature)
    values, stderrs = [], []
    for particle, seed in zip(range(0, 125, 11), range(11, 200, 10)):
        alchemical, state = alchemical_system(system, [particle])
        leg = sample_leg(alchemical, state, schedule.states, positions, box, windows, cpu(), seed=seed, label="LJ")
        gas, gas_state = alchemical_system(vacuum_system(system, [particle]), [0])
        gas_leg = sample_leg(gas, gas_state, schedule.vacuum_states, positions[particle:particle + 1], None, windows,
                             cpu(), seed + 1, "LJ gas")
        tail = dispersion_tail_kJ_per_mol(system, [particle], float(np.prod(np.diag(box))))
        result = solvation_free_energy(leg.u, gas_leg.u, tail, kT)
        assert abs(result["vacuum_leg"]["delta_f_kT"]) < 1e-9      # nothing to annihilate on an uncharged atom
        values.append(result["value"] / kT)
        stderrs.append(result["stderr"] / kT)
    combined = combine_molecules(values, stderrs)
    mu, error = combined["value"], combined["stderr"]
    expected = lj_eos.excess_chemical_potential_per_kT(T_STAR, RHO_STAR)
    print(f"mu_ex/kT per particle {np.round(values, 3)}, combined {mu:.4f} +- {error:.4f}, JZG {expected:.4f}")
    assert error < 0.15
    assert abs(mu - expected) < stats.t.ppf(1 - 2.5e-4, len(values) - 1) * error + 0.02 * abs(expected)


def ideal_gas_with_polar_molecule(n_ghosts: int = 60, box_nm: float = 3.0):
    """A rigid 4-site molecule (charges +0.5, −0.4, +0.3, −0.4 e; six distance constraints; exclusions 1-2, 1-3,
    2-4, 3-4 and one full intramolecular Coulomb pair 1-4) among particles with no charge and no LJ, PME."""
    system = openmm.System()
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.PME)
    nonbonded.setCutoffDistance(1.0)
    nonbonded.setUseDispersionCorrection(False)
    sites = np.array([[0.0, 0.0, 0.0], [0.15, 0.0, 0.0], [0.2, 0.14, 0.0], [0.3, 0.05, 0.12]]) + 1.2
    for q in (0.5, -0.4, 0.3, -0.4):
        system.addParticle(12.0)
        nonbonded.addParticle(q, 0.3, 0.4)
    for i in range(4):
        for j in range(i + 1, 4):
            system.addConstraint(i, j, float(np.linalg.norm(sites[i] - sites[j])))
            if (i, j) != (0, 3):
                nonbonded.addException(i, j, 0.0, 0.3, 0.0)
    rng = np.random.default_rng(5)
    ghosts = rng.uniform(0.0, box_nm, size=(n_ghosts, 3))
    for _ in range(n_ghosts):
        system.addParticle(20.0)
        nonbonded.addParticle(0.0, 0.3, 0.0)
    system.addForce(nonbonded)
    box = np.diag([box_nm] * 3)
    system.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    return system, np.vstack([sites, ghosts]), box


def test_decoupling_from_an_ideal_gas_gives_zero():
    system, positions, box = ideal_gas_with_polar_molecule()
    windows = WindowSettings(equilibration_ps=0.2, duration_ps=2.0, sample_interval_ps=0.1, timestep_ps=0.002,
                             temperature_K=300.0, collision_rate_per_ps=1.0)
    schedule = LambdaSchedule((1.0, 0.5, 0.0), (1.0, 0.5, 0.0))
    alchemical, state = alchemical_system(system, [0, 1, 2, 3])
    box_leg = sample_leg(alchemical, state, schedule.states, positions, box, windows, cpu(), 21, "ideal gas")
    gas, gas_state = alchemical_system(vacuum_system(system, [0, 1, 2, 3]), [0, 1, 2, 3])
    gas_leg = sample_leg(gas, gas_state, schedule.vacuum_states, positions[:4], None, windows, cpu(), 22, "vacuum")
    kT = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * 300.0
    tail = dispersion_tail_kJ_per_mol(system, [0, 1, 2, 3], float(np.prod(np.diag(box))))
    assert tail == 0.0                                      # the environment has no LJ
    result = solvation_free_energy(box_leg.u, gas_leg.u, tail, kT)
    intramolecular = ONE_4PI_EPS0 * 0.5 * -0.4 / float(np.linalg.norm(positions[0] - positions[3]))
    # The only thing the box adds is the molecule's interaction with its own periodic images: for a neutral
    # molecule of dipole μ in a cubic box with tin-foil boundary conditions −(2π/3) μ²/V (times 1/4πε₀).
    dipole = np.array([0.5, -0.4, 0.3, -0.4]) @ positions[:4]
    images = -2 * math.pi / 3 * ONE_4PI_EPS0 * float(dipole @ dipole) / float(np.prod(np.diag(box)))
    # both legs remove the molecule's own Coulomb pair (rigid: exactly −U_intra/kT); the box leg also the images
    assert result["vacuum_leg"]["delta_f_kT"] == pytest.approx(-intramolecular / kT, rel=1e-4)
    assert result["box_leg"]["delta_f_kT"] == pytest.approx(-(intramolecular + images) / kT, abs=0.005)
    assert result["value"] == pytest.approx(images, abs=0.02)   # kJ/mol: zero but for the known image term
    assert abs(images) < 0.3
