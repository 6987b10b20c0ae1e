"""A charge near a conducting electrode (forcefields/electrode.py, OpenMM's ConstantPotentialForce) feels its image.

Two grounded Na(110) slabs (3 planes each, frozen, Gaussian width 0.0505 nm) face each other across a 4 nm
gap in a box periodic in x, y (2.57 x 2.43 nm) and z. One +1 e point charge moves along z between them.

Analytic reference (ideal conductors at the image planes z = -delta and z = L + delta, lateral period A):

    U(z') = C + q^2 z'(L' - z') / (2 eps0 A L')  -  q^2 / (4 eps0 A) sum_{G != 0} [exp(-2 G z') + exp(-2 G (L' - z'))] / G

with z' = z + delta, L' = L + 2 delta and G the lateral reciprocal vectors. The first term is the uniform
sheet of the charge's lateral images between the plates (a capacitor); the sum is the image interaction,
which for an infinite area becomes the textbook -q^2 / (16 pi eps0 d). Fitted: delta and C. Tolerances: the
residual below 1 kJ/mol (0.8 % of the 130 kJ/mol range) at 0.3-3.7 nm from the atoms, the image plane within
0.1 nm of the surface atoms. The induced charges follow Green's reciprocity: Q_bottom = -q (L' - z') / L',
linear in z to 1e-3 e, with an image plane within 0.02 nm of the energy's.
"""

import numpy as np
import openmm
import pytest
from scipy.optimize import least_squares

from forcefields.electrode import move_charges_to_constant_potential
from systems.na_slab import bcc_slab

COULOMB_KJ_NM_PER_MOL_E2 = 138.935458
GAP_NM = 4.0


def _two_electrodes(method: str):
    slab = bcc_slab(4.2906, "110", 6, 4, 3)
    lx, ly = (v / 10 for v in slab.box_xy_angstrom)
    thickness, spacing = slab.thickness_angstrom / 10, slab.plane_spacing_angstrom / 10
    bottom = slab.positions_angstrom / 10
    top = bottom + [0.0, 0.0, thickness + GAP_NM]
    n = len(bottom)
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(lx, 0, 0), openmm.Vec3(0, ly, 0),
                                        openmm.Vec3(0, 0, 2 * thickness + GAP_NM + 2 * spacing))
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.PME)
    nonbonded.setCutoffDistance(1.0)
    for i in range(2 * n + 1):
        system.addParticle(0.0 if (i < 2 * n and method == "Matrix") else 22.99)
        nonbonded.addParticle(1.0 if i == 2 * n else 0.0, 0.3, 0.0)
    system.addForce(nonbonded)
    force = move_charges_to_constant_potential(system, [range(n), range(n, 2 * n)], [0.0, 0.0], method=method)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    positions = np.vstack([bottom, top, [[lx / 2 + 0.03, ly / 2 + 0.02, thickness + 1.0]]])
    return context, force, positions, (lx, ly, thickness, n)


def _energies(context, force, positions, thickness, n, heights):
    energies, bottom_charges = [], []
    for z in heights:
        p = positions.copy()
        p[-1, 2] = thickness + z
        context.setPositions(p)
        energies.append(context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            openmm.unit.kilojoule_per_mole))
        charges = np.array([q.value_in_unit(openmm.unit.elementary_charge) for q in force.getCharges(context)])
        bottom_charges.append(charges[:n].sum())
    return np.array(energies), np.array(bottom_charges)


def _model(z, delta, constant, lx, ly):
    area = lx * ly
    inv_eps0 = 4 * np.pi * COULOMB_KJ_NM_PER_MOL_E2
    i, j = np.meshgrid(np.arange(-12, 13), np.arange(-12, 13))
    g = 2 * np.pi * np.hypot(i / lx, j / ly).ravel()
    g = g[g > 0]
    zp, length = z + delta, GAP_NM + 2 * delta
    uniform = inv_eps0 * zp * (length - zp) / (2 * area * length)
    image = -(inv_eps0 / (4 * area)) * np.array([np.sum((np.exp(-2 * g * x) + np.exp(-2 * g * (length - x))) / g)
                                                 for x in zp])
    return constant + uniform + image


def test_point_charge_feels_its_image_in_a_conducting_electrode():
    context, force, positions, (lx, ly, thickness, n) = _two_electrodes("Matrix")
    heights = np.linspace(0.3, GAP_NM - 0.3, 19)
    energies, bottom = _energies(context, force, positions, thickness, n, heights)
    fit = least_squares(lambda p: _model(heights, p[0], p[1], lx, ly) - energies, [0.05, 0.0])
    delta, constant = fit.x
    residual = _model(heights, delta, constant, lx, ly) - energies
    assert np.ptp(energies) > 100.0
    assert np.abs(residual).max() < 1.0
    assert abs(delta) < 0.1
    # without the image term the profile is off by > 20 kJ/mol near the metal: the test sees the image
    inv_eps0 = 4 * np.pi * COULOMB_KJ_NM_PER_MOL_E2
    uniform_only = inv_eps0 * heights * (GAP_NM - heights) / (2 * lx * ly * GAP_NM)
    assert np.abs(uniform_only - uniform_only.mean() - (energies - energies.mean())).max() > 20.0
    # Green's reciprocity: Q_bottom = -1 + (z + delta_q) / (L + 2 delta_q), linear in z, with an image plane that
    # agrees with the energy's
    slope, intercept = np.polyfit(heights, bottom, 1)
    assert np.abs(bottom - (slope * heights + intercept)).max() < 1e-3
    delta_q = (1.0 / slope - GAP_NM) / 2.0
    assert delta_q == pytest.approx(delta, abs=0.02)
    assert intercept == pytest.approx(-1.0 + delta_q * slope, abs=1e-3)


def test_cg_solver_with_mobile_atoms_agrees_with_matrix():
    heights = np.array([0.4, 1.2, 2.0])
    context, force, positions, (_, _, thickness, n) = _two_electrodes("Matrix")
    e_matrix, q_matrix = _energies(context, force, positions, thickness, n, heights)
    context, force, positions, _ = _two_electrodes("CG")
    e_cg, q_cg = _energies(context, force, positions, thickness, n, heights)
    assert np.abs(e_cg - e_matrix).max() < 0.05
    assert np.abs(q_cg - q_matrix).max() < 1e-3


def test_matrix_method_refuses_massive_electrodes():
    from common.errors import ParameterError

    system = openmm.System()
    nonbonded = openmm.NonbondedForce()
    for _ in range(2):
        system.addParticle(22.99)
        nonbonded.addParticle(0.0, 0.3, 0.0)
    system.addForce(nonbonded)
    with pytest.raises(ParameterError, match="massless"):
        move_charges_to_constant_potential(system, [[0], [1]], [0.0, 0.0], method="Matrix")
