"""The kinetic route of the retention stage: slab correction, film construction, evaporation counter.

- The Yeh-Berkowitz force gives 2π/(4πε₀) M_z²/V for a known dipole, from unwrapped coordinates, and with it the
  PME energy of a charged slab no longer depends on the vacuum gap (without it it does, as −2π M_z²/V).
- A film of an LJ liquid is cut along z; a network bonded through z is cut along x instead; a network spanning x, y
  and z is cut at its least-crossed plane normal to z (heavy-atom bonds only, their terms switched off in the
  film's System).
- On a synthetic trajectory the counter finds exactly the molecules whose centre went beyond the counting distance
  from the Gibbs dividing surface, once each (first passage), and no others.
"""

from __future__ import annotations

import math

import numpy as np
import openmm
import pytest
from openmm import unit

import testsystems
from analysis.evaporation import analyse_film, dividing_surfaces, evaporated, rate
from analysis.retention import evaporation_block
from common.errors import SimulationError
from simulation.slab import ONE_4PI_EPS0, dipole_correction, dipole_energy_kJ_per_mol, film_normal, make_film


def energy(system, positions, box, groups=None):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    context.setPositions(positions)
    state = context.getState(getEnergy=True, getForces=True, **({"groups": groups} if groups is not None else {}))
    return (state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer))


def charged_slab(lz: float, with_correction: bool):
    """16 charges +1 on a plane and 16 charges −1 on a plane 1 nm above (a capacitor) in a 2 x 2 x lz nm box,
    centred in z: M_z = −16 e nm."""
    system = openmm.System()
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.PME)
    nonbonded.setCutoffDistance(0.9)
    nonbonded.setEwaldErrorTolerance(1e-6)
    positions = []
    for i in range(4):
        for j in range(4):
            charge = 1.0
            x, y = 0.25 + 0.5 * i, 0.25 + 0.5 * j
            for z, q in ((0.5 + 0.5 * lz - 1.0, charge), (1.5 + 0.5 * lz - 1.0, -charge)):
                system.addParticle(20.0)
                nonbonded.addParticle(q, 0.3, 0.0)
                positions.append((x, y, z))
    system.addForce(nonbonded)
    box = np.diag([2.0, 2.0, lz])
    system.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box])
    if with_correction:
        force = dipole_correction(system, float(np.prod(np.diag(box))))
        force.setForceGroup(1)
        system.addForce(force)
    return system, np.array(positions), box


def test_dipole_correction_reproduces_the_known_dipole_energy_and_force():
    system = openmm.System()
    nonbonded = openmm.NonbondedForce()
    for q in (0.7, -0.7, 0.0):
        system.addParticle(10.0)
        nonbonded.addParticle(q, 0.3, 0.0)
    system.addForce(nonbonded)
    box = np.diag([3.0, 3.0, 9.0])
    volume = 81.0
    force = dipole_correction(system, volume)
    force.setForceGroup(1)
    system.addForce(force)
    # the negative charge sits above the box top: the dipole must use the unwrapped z, not the image
    positions = np.array([[0.1, 2.9, 1.0], [2.5, 0.3, 10.2], [1.0, 1.0, 4.0]])
    e, f = energy(system, positions, box, groups={1})
    mz = 0.7 * 1.0 - 0.7 * 10.2
    expected = 2 * math.pi * ONE_4PI_EPS0 * mz ** 2 / volume
    assert e == pytest.approx(expected, rel=1e-5)
    assert e == pytest.approx(dipole_energy_kJ_per_mol(np.array([0.7, -0.7, 0.0]), positions[:, 2], volume), rel=1e-5)
    expected_fz = -4 * math.pi * ONE_4PI_EPS0 * mz / volume * np.array([0.7, -0.7, 0.0])
    assert f[:, 2] == pytest.approx(expected_fz, rel=1e-5, abs=1e-6)
    assert np.abs(f[:, :2]).max() < 1e-6


def test_slab_correction_removes_the_dependence_of_pme_on_the_vacuum_gap():
    raw, corrected = {}, {}
    for lz in (6.0, 24.0):
        system, positions, box = charged_slab(lz, with_correction=True)
        raw[lz] = energy(system, positions, box, groups={0})[0]
        corrected[lz] = energy(system, positions, box)[0]
    uncorrected_shift = raw[6.0] - raw[24.0]
    expected_shift = -2 * math.pi * ONE_4PI_EPS0 * 256.0 * (1 / 24.0 - 1 / 96.0)   # −2π M²/V, M = 16 e nm
    assert uncorrected_shift == pytest.approx(expected_shift, rel=0.05)
    assert abs(corrected[6.0] - corrected[24.0]) < 0.02 * abs(uncorrected_shift)


def test_film_is_cut_along_an_axis_no_cluster_spans():
    system, _, positions = testsystems.lj_fluid(n_per_side=4, reduced_density=0.8)
    box = np.diag([v.value_in_unit(unit.nanometer)[i] for i, v in enumerate(system.getDefaultPeriodicBoxVectors())])
    film = make_film(system, positions, box, vacuum_nm=3.0)
    assert film.normal_axis == "z" and film.box[2, 2] == pytest.approx(box[2, 2] + 3.0)
    z = film.positions[:, 2]
    assert z.min() > 1.0 and z.max() < film.box[2, 2] - 1.0          # the gap is vacuum on both sides
    network, _, net_positions = testsystems.percolating_network()
    net_box = np.diag([v.value_in_unit(unit.nanometer)[i] for i, v in enumerate(network.getDefaultPeriodicBoxVectors())])
    cut = make_film(network, net_positions, net_box, vacuum_nm=2.0)
    assert cut.normal_axis == "x" and cut.permutation == (1, 2, 0)
    assert cut.box[2, 2] == pytest.approx(net_box[0, 0] + 2.0)
    with pytest.raises(SimulationError, match="x, y and z"):
        film_normal({"x", "y", "z"})


def cubic_network(n: int = 3, spacing_nm: float = 0.5, hydrogen_mass_amu: float = 3.024):
    """n^3 heavy beads on a simple cubic lattice, each bonded to its six neighbours through the periodic box (one
    cluster spanning x, y and z), each with a light H-like partner bonded 0.1 nm away along z (the H must never
    be cut from its bead, whatever plane is chosen)."""
    system = openmm.System()
    edge = n * spacing_nm
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(edge * np.eye(3)[k])) for k in range(3)))
    bonds = openmm.HarmonicBondForce()
    bonds.setUsesPeriodicBoundaryConditions(True)
    positions = []
    for ix in range(n):
        for iy in range(n):
            for iz in range(n):
                system.addParticle(12.0)
                positions.append(spacing_nm * (np.array([ix, iy, iz]) + 0.5))
                system.addParticle(hydrogen_mass_amu)
                positions.append(positions[-1] + [0.0, 0.0, 0.1])
    index = lambda ix, iy, iz: 2 * (n * n * (ix % n) + n * (iy % n) + iz % n)
    for ix in range(n):
        for iy in range(n):
            for iz in range(n):
                a = index(ix, iy, iz)
                bonds.addBond(a, a + 1, 0.1, 1e5)
                for step in np.eye(3, dtype=int):
                    bonds.addBond(a, index(*(np.array([ix, iy, iz]) + step)), spacing_nm, 1e3)
    system.addForce(bonds)
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nonbonded.setCutoffDistance(0.7)
    for k in range(system.getNumParticles()):
        nonbonded.addParticle(0.1 if k % 4 == 0 else -0.1 if k % 4 == 2 else 0.0, 0.3, 0.5)
    system.addForce(nonbonded)
    return system, np.array(positions), np.diag([edge] * 3), bonds


def test_a_network_spanning_x_y_and_z_is_cut_into_a_film_at_its_least_crossed_plane():
    from simulation.evaporation import film_system

    system, positions, box, bonds = cubic_network()
    film = make_film(system, positions, box, vacuum_nm=2.0)
    assert film.normal_axis == "z" and film.permutation == (0, 1, 2)
    # one layer of z bonds cut (9 = n^2), heavy atoms only, all between the same two layers of beads
    assert len(film.cut_bonds) == 9
    heavy = {2 * k for k in range(27)}
    assert all(int(a) in heavy and int(b) in heavy for a, b in film.cut_bonds)
    layers = {tuple(sorted((round(positions[a, 2], 3), round(positions[b, 2], 3)))) for a, b in film.cut_bonds}
    assert len(layers) == 1
    # the cut network is one slab: 3 layers 0.5 nm apart (+ the H 0.1 nm above the top ones), vacuum around it
    z = film.positions[:, 2]
    assert np.ptp(z[sorted(heavy)]) == pytest.approx(1.0, abs=1e-6) and np.ptp(z) == pytest.approx(1.1, abs=1e-6)
    assert z.min() > 0.9 and z.max() < film.box[2, 2] - 0.9
    for a, b in [(2 * i, 2 * i + 1) for i in range(27)]:                      # every H still 0.1 nm from its bead
        assert np.linalg.norm(film.positions[a] - film.positions[b]) == pytest.approx(0.1, abs=1e-6)
    # the film's System has no force along the cut bonds, every other bond unchanged
    film_sys = film_system(system, film, wall_k=1000.0)
    cut = {tuple(sorted(map(int, p))) for p in film.cut_bonds}
    force = next(f for f in film_sys.getForces() if isinstance(f, openmm.HarmonicBondForce))
    for k in range(force.getNumBonds()):
        i, j, _, stiffness = force.getBondParameters(k)
        expected = 0.0 if tuple(sorted((i, j))) in cut else bonds.getBondParameters(k)[3]._value
        assert stiffness._value == pytest.approx(expected)


def synthetic_film(n_frames: int = 20, n_molecules: int = 200):
    """200 molecules of mass 100 amu evenly through a slab 4-6 nm in a 3 x 3 x 10 nm box; scripted departures."""
    z = np.tile(4.0 + (np.arange(n_molecules) + 0.5) * 2.0 / n_molecules, (n_frames, 1))
    z[5:, 3] = 8.5          # leaves at frame 5 and stays out
    z[10:, 17] = 2.0 - 0.5  # leaves through the lower face at frame 10
    z[15:, 42] = 8.0
    z[8, 70] = 7.5          # out at frame 8 only, then back: still counted once
    z[:, 60] = 6.6          # in the interface, within the 1 nm counting distance: never counted
    edges = np.arange(0.0, 10.0001, 0.05)
    profile = np.array([np.histogram(frame, bins=edges, weights=np.full(n_molecules, 100.0))[0] for frame in z])
    residues = np.array(["PC"] * (n_molecules - 20) + ["FEC"] * 20)
    residues[[3, 17, 42, 70]] = ["PC", "PC", "FEC", "PC"][:4]
    return {"time_ps": np.arange(n_frames) * 10.0, "centre_z_nm": z[None], "network_z_nm": np.zeros((1, n_frames, 0)),
            "profile_amu": profile[None], "profile_edges_nm": edges, "molecule_residue": residues}


def test_gibbs_surfaces_of_a_uniform_slab():
    data = synthetic_film()
    zc, h = dividing_surfaces(data["profile_amu"][0], data["profile_edges_nm"], 9.0)
    assert zc[0] == pytest.approx(5.0, abs=0.03) and h[0] == pytest.approx(2.0, abs=0.05)


def test_evaporation_counter_counts_exactly_the_molecules_that_left():
    data = synthetic_film()
    zc, h = dividing_surfaces(data["profile_amu"][0], data["profile_edges_nm"], 9.0)
    gone = evaporated(data["centre_z_nm"][0], zc, h, distance_nm=1.0)
    assert set(np.flatnonzero(gone[-1])) == {3, 17, 42, 70}
    assert gone.sum(axis=1).tolist() == [0] * 5 + [1] * 3 + [2] * 2 + [3] * 5 + [4] * 5
    result = analyse_film(data, area_nm2=9.0, distance_nm=1.0)
    assert result["evaporated"] == {"FEC": [1], "PC": [3]}
    assert result["retained_fraction"]["PC"][-1] == pytest.approx(1 - 3 / 179)
    assert result["retained_fraction"]["FEC"][4] == 1.0 and result["retained_fraction"]["FEC"][-1] == pytest.approx(1 - 1 / 21)
    pc = result["rate_per_ns_per_nm2"]["PC"]
    assert pc["value"] == pytest.approx(3 / 0.19 / 18.0) and pc["stderr"] == pytest.approx(math.sqrt(3) / 0.19 / 18.0)


def test_rate_over_replicas_and_upper_bound_when_nothing_evaporated():
    spread = rate([2, 4, 6], duration_ps=1000.0, area_nm2=5.0)
    per = np.array([2, 4, 6]) / 1.0 / 10.0
    assert spread["value"] == pytest.approx(per.mean()) and spread["stderr"] == pytest.approx(per.std(ddof=1) / math.sqrt(3))
    none = rate([0], duration_ps=500.0, area_nm2=5.0)
    assert none["value"] == 0.0 and none["upper_bound_95"] == pytest.approx(-math.log(0.05) / 0.5 / 10.0)


def test_a_refused_film_is_reported_as_refused_not_as_zero_evaporation():
    run = {"status": "refused", "refusal": "film: a bonded cluster ... along x, y and z", "ensemble": "NVT",
           "settings": {"temperature_K": 450.0}, "evaporated_molecules": "held", "slab_correction": "Yeh-Berkowitz"}
    block, film = evaporation_block(run, {}, 1.0)
    assert film is None and block["status"] == "refused" and "x, y and z" in block["refusal"]
    assert block["rate_per_ns_per_nm2"] == {}
