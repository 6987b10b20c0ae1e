"""The retention stage's per-molecule interaction energy with each partner group (simulation.decoupling),
against pair sums written out by hand: Coulomb + Lennard-Jones (Lorentz-Berthelot) over every pair between the
molecule and the group, intramolecular terms and exclusions cancelling, other groups not counted."""

from __future__ import annotations

import itertools

import numpy as np
import openmm
import pytest

from simulation.decoupling import interaction_energies
from simulation.platform import choose_platform

ONE_4PI_EPS0 = 138.935456  # kJ mol^-1 nm e^-2, OpenMM's constant
# (charge e, sigma nm, epsilon kJ/mol): a diatomic molecule (0, 1; bonded, excluded), a pair "ions" (2, 3),
# a single "solvent" atom (4)
PARTICLES = [(0.4, 0.30, 0.5), (-0.4, 0.32, 0.6), (0.8, 0.25, 0.2), (-0.8, 0.40, 0.3), (0.1, 0.35, 0.9)]


def pair_energy(i: int, j: int, xyz: np.ndarray) -> float:
    qi, si, ei = PARTICLES[i]
    qj, sj, ej = PARTICLES[j]
    r = float(np.linalg.norm(xyz[i] - xyz[j]))
    sigma, epsilon = 0.5 * (si + sj), np.sqrt(ei * ej)
    return ONE_4PI_EPS0 * qi * qj / r + 4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)


def test_interaction_energy_is_the_sum_over_molecule_group_pairs():
    system = openmm.System()
    force = openmm.NonbondedForce()
    force.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    force.setUseDispersionCorrection(False)
    for q, sigma, epsilon in PARTICLES:
        system.addParticle(12.0)
        force.addParticle(q, sigma, epsilon)
    force.addException(0, 1, 0.0, 0.1, 0.0)  # the molecule's bond: excluded
    system.addForce(force)
    box = np.diag([5.0, 5.0, 5.0])
    rng = np.random.default_rng(7)
    molecule = np.array([[1.0, 1.0, 1.0], [1.12, 1.0, 1.0]])
    partners = np.array([[1.0, 1.6, 1.0], [1.1, 0.4, 1.0], [1.7, 1.0, 1.6]])  # 0.5-0.9 nm from the molecule
    frames = [np.vstack([molecule, partners + rng.uniform(-0.05, 0.05, size=partners.shape)]) for _ in range(3)]
    platform = choose_platform(platform="Reference")
    result = interaction_energies(system, [0, 1], {"ions": [2, 3], "solvent": [4], "self": [0, 1]}, frames, box,
                                  platform)
    for n, xyz in enumerate(frames):
        ions = sum(pair_energy(i, j, xyz) for i, j in itertools.product((0, 1), (2, 3)))
        solvent = sum(pair_energy(i, 4, xyz) for i in (0, 1))
        assert result["ions"][n] == pytest.approx(ions, rel=1e-5, abs=1e-4)
        assert result["solvent"][n] == pytest.approx(solvent, rel=1e-5, abs=1e-4)
    assert np.all(result["self"] == 0.0)  # a group that is the molecule itself has nothing to interact with
    assert abs(result["ions"]).max() > 1.0  # the frames are close enough for the check to mean something
