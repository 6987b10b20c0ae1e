"""Removal of evaporated molecules (simulation.ghosts): a removed molecule no longer acts on anything, and only
molecules beyond the counting distance from the Gibbs dividing surface are removed."""

from __future__ import annotations

import numpy as np
import openmm
import pytest
from openmm import unit

from common.errors import SimulationError
from simulation.ghosts import EvaporatedRemover
from simulation.slab import dipole_correction

EDGE_NM, LZ_NM = 2.0, 8.0


def dimer_film():
    """64 polar dimers (+0.3/-0.3 e, 0.15 nm apart) on a 4 x 4 x 4 lattice filling z = 3-5 nm of a 2 x 2 x 8 nm
    box, and one more dimer in the vapour at z = 7.2 nm; PME, Yeh-Berkowitz correction (group 1)."""
    system = openmm.System()
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.PME)
    nonbonded.setCutoffDistance(0.9)
    bonds = openmm.HarmonicBondForce()
    positions, molecules = [], []
    sites = [(0.25 + 0.5 * i, 0.25 + 0.5 * j, 3.25 + 0.5 * k) for i in range(4) for j in range(4) for k in range(4)]
    sites.append((1.0, 1.0, 7.2))
    for x, y, z in sites:
        first = system.getNumParticles()
        for dz, q in ((0.0, 0.3), (0.15, -0.3)):
            system.addParticle(20.0)
            nonbonded.addParticle(q, 0.3, 0.8)
            positions.append((x, y, z + dz))
        bonds.addBond(first, first + 1, 0.15, 1e4)
        nonbonded.addException(first, first + 1, 0.0, 0.3, 0.0)
        molecules.append([first, first + 1])
    system.addForce(nonbonded)
    system.addForce(bonds)
    box = np.diag([EDGE_NM, EDGE_NM, LZ_NM])
    system.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    return system, np.array(positions), box, molecules


def with_correction(system, box):
    force = dipole_correction(system, float(np.prod(np.diag(box))))
    force.setForceGroup(1)
    system.addForce(force)
    return system


def context_of(system, positions, box):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    context.setPositions(positions)
    return context


def energies(context):
    """(total, Yeh-Berkowitz) potential energy, kJ/mol."""
    total = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    slab = context.getState(getEnergy=True, groups={1}).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    return total, slab


def remover_of(system, positions, molecules, distance_nm=1.0):
    masses = np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])
    return EvaporatedRemover(system, molecules, masses, np.arange(0.0, LZ_NM + 0.05, 0.05), EDGE_NM ** 2, distance_nm)


def centres(positions, molecules):
    return np.array([positions[m, 2].mean() for m in molecules])


def test_the_vapour_molecule_is_removed_and_then_acts_on_nothing():
    system, positions, box, molecules = dimer_film()
    system = with_correction(system, box)
    context = context_of(system, positions, box)
    remover = remover_of(system, positions, molecules)
    # the film's Gibbs surfaces are z = 3-5 nm (+ the 0.15 nm dimer): the vapour dimer at 7.2 nm is ~2 nm out
    assert remover.remove_evaporated(context, 3, remover.profile(positions[:, 2]), centres(positions, molecules)) == [64]
    assert remover.removed_at[64] == 3 and (remover.removed_at[:64] == -1).all()
    assert remover.remove_evaporated(context, 4, remover.profile(positions[:, 2]), centres(positions, molecules)) == []  # once
    assert remover.removed_at[64] == 3
    # reference: the same box with the vapour dimer uncharged and without LJ from the start
    reference, _, _, _ = dimer_film()
    force = next(f for f in reference.getForces() if isinstance(f, openmm.NonbondedForce))
    for atom in molecules[64]:
        force.setParticleParameters(atom, 0.0, 0.3, 0.0)
    expected = energies(context_of(with_correction(reference, box), positions, box))
    assert energies(context) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # moving the removed dimer anywhere, even into the film, changes no energy but its own (bond) term
    moved = positions.copy()
    moved[molecules[64]] = [(1.0, 1.0, 4.0), (1.0, 1.0, 4.15)]
    context.setPositions(moved)
    assert energies(context) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # the mass profile counts only the molecules still in play
    assert remover.profile(moved[:, 2]).sum() == pytest.approx(64 * 2 * 20.0)


def test_nothing_within_the_counting_distance_is_removed():
    system, positions, box, molecules = dimer_film()
    context = context_of(system, positions, box)
    remover = remover_of(system, positions, molecules, distance_nm=2.5)  # the vapour dimer is ~2 nm out
    assert remover.remove_evaporated(context, 1, remover.profile(positions[:, 2]), centres(positions, molecules)) == []


def test_removal_refuses_a_system_with_another_nonbonded_force():
    system, positions, box, molecules = dimer_film()
    extra = openmm.CustomNonbondedForce("0")
    for _ in range(system.getNumParticles()):
        extra.addParticle([])
    system.addForce(extra)
    with pytest.raises(SimulationError, match="exactly one NonbondedForce and no other nonbonded force"):
        remover_of(system, positions, molecules)


def test_a_replica_with_removal_leaves_the_system_it_was_given_unchanged():
    """Removal edits a NonbondedForce: run_replica works on its own copy, so the next replica (built from the
    same System) starts with every molecule in play."""
    from simulation.evaporation import film_system, run_replica
    from simulation.platform import choose_platform
    from simulation.slab import make_film

    system, positions, box, molecules = dimer_film()
    film = make_film(system, positions, box, 2.0)
    film_sys = film_system(system, film, 1000.0)
    masses = np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])
    force = next(f for f in film_sys.getForces() if isinstance(f, openmm.NonbondedForce))
    before = [force.getParticleParameters(i)[0]._value for i in range(force.getNumParticles())]
    settings = {"temperature_K": 100.0, "collision_rate_per_ps": 1.0, "timestep_ps": 0.001, "sample_interval_ps": 0.01,
                "duration_ps": 0.02}

    class Log:
        def message(self, text):
            pass

    clusters = [sorted(c) for c in film.clusters]
    edges = np.arange(0.0, film.box[2, 2] + 0.05, 0.05)
    *_, removed = run_replica(film_sys, film, clusters, [], masses, settings,
                              choose_platform(platform="CPU", cpu_threads=1), 1, edges, Log(), "test", 1.0)
    assert (removed >= 0).sum() == 1  # the vapour dimer
    assert [force.getParticleParameters(i)[0]._value for i in range(force.getNumParticles())] == before
