"""Na+ solvation: site groups from bonds, RDF normalisation, coordination numbers, ion-pair classes."""

from __future__ import annotations

import numpy as np
import pytest

import transport_synthetic as ts
from analysis.solvation import Solvation, first_minimum, site_groups
from analysis.topology import build_molecular_system
from analysis.trajectory import ArrayTrajectory
from common.errors import AnalysisError


def _system(counts):
    top, molecule, offsets, system = ts.build(counts)
    nb = system.getForce(0)
    q = np.array([nb.getParticleParameters(i)[0]._value for i in range(system.getNumParticles())])
    m = np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])
    return build_molecular_system(top, q, m), molecule, offsets


def test_site_groups_are_found_from_bonds():
    system, _, _ = _system({"NA": 2, "PF6": 2, "PC": 3})
    groups = {g.name: g for g in site_groups(system)}
    assert set(groups) == {"PF6:F", "PF6:COM", "PC:O_carbonyl", "PC:O_ether"}
    assert groups["PC:O_carbonyl"].n_sites == 3          # the O bonded only to C1
    assert groups["PC:O_ether"].n_sites == 6
    assert groups["PF6:F"].n_sites == 12
    assert groups["PF6:COM"].com and groups["PF6:COM"].n_sites == 2
    carbonyl = groups["PC:O_carbonyl"].indices
    assert [system.atom_names[i] for i in carbonyl] == ["O1"] * 3


def test_no_sodium_is_refused():
    system, _, _ = _system({"PF6": 2, "PC": 2})
    traj = ArrayTrajectory(np.zeros((3, system.n_atoms, 3)), np.diag([3.0] * 3), 1.0)
    with pytest.raises(AnalysisError, match="no Na atoms"):
        Solvation(traj, system)


def _structured(frames=200, seed=0):
    """8 Na+ 2 nm apart: 2 free (SSIP), 4 with one PF6- at 0.35 nm (CIP), 2 with two (AGG); one PC each."""
    counts = {"NA": 8, "PF6": 8, "PC": 8}
    system, molecule, offsets = _system(counts)
    L = 4.0
    na = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float) * 2.0 + 0.5
    n_anions = [0, 0, 1, 1, 1, 1, 2, 2]
    centres = list(na)                                   # NA molecules first
    directions = [np.array([1.0, 0, 0]), np.array([-1.0, 0, 0])]
    anion_centres = [na[s] + 0.35 * directions[k] for s in range(8) for k in range(n_anions[s])]
    centres += anion_centres
    pc_centres = [na[s] + np.array([0, 0.23 + 0.12, 0]) for s in range(8)]  # carbonyl O at 0.23 nm from Na
    centres += pc_centres
    centres = np.array(centres)
    # PC local frame has O1 at +0.12 y from C1; flip it so O1 points at the Na
    pc_atoms = np.flatnonzero(np.isin(molecule, np.arange(16, 24)))
    offsets = offsets.copy()
    offsets[pc_atoms] *= -1
    rng = np.random.default_rng(seed)
    jitter = rng.normal(0, 0.01, (frames, centres.shape[0], 3))
    x = (centres[None] + jitter)[:, molecule] + offsets[None]
    return system, x, L, n_anions


def test_ion_pair_classes_and_coordination_numbers():
    system, x, L, n_anions = _structured()
    solv = Solvation(ArrayTrajectory(x, np.diag([L] * 3), 1.0, chunk_frames=64), system, max_frames=100).run()
    r = solv.results
    assert r["n_frames_used"] == 100 and r["frame_stride"] == 2
    ip = r["ion_pairs"]
    assert 0.37 < ip["cutoff_nm"] < 0.6
    assert ip["SSIP"] == pytest.approx(2 / 8)
    assert ip["CIP"] == pytest.approx(4 / 8)
    assert ip["AGG"] == pytest.approx(2 / 8)
    assert ip["mean_anions_per_Na"] == pytest.approx(np.mean(n_anions))
    g = r["groups"]
    assert g["PF6:COM"]["coordination_number"] == pytest.approx(1.0)
    assert g["PC:O_carbonyl"]["coordination_number"] == pytest.approx(1.0)
    assert 0.21 < r["r_nm"][np.argmax(g["PC:O_carbonyl"]["g"])] < 0.25
    assert g["PC:O_carbonyl"]["first_minimum_nm"] < 0.35


def test_rdf_of_an_ideal_gas_is_one():
    counts = {"NA": 60, "PF6": 60}
    system, molecule, offsets = _system(counts)
    rng = np.random.default_rng(5)
    L = 3.0
    centres = rng.uniform(0, L, (300, 120, 3))
    x = centres[:, molecule] + offsets[None]
    r = Solvation(ArrayTrajectory(x, np.diag([L] * 3), 1.0, chunk_frames=100), system, r_max_nm=1.4).run().results
    assert r["r_max_nm"] == pytest.approx(1.4)
    g = r["groups"]["PF6:COM"]["g"]
    far = (r["r_nm"] > 0.6) & (r["r_nm"] < 1.4)
    assert np.mean(g[far]) == pytest.approx(1.0, abs=0.03)
    # the running coordination number is rho * 4/3 pi r^3 for an ideal gas
    n = r["groups"]["PF6:COM"]["n"]
    k = np.searchsorted(r["r_nm"], 1.2)
    assert n[k] == pytest.approx(60 / L**3 * 4 / 3 * np.pi * (r["r_nm"][k] + 0.0025) ** 3, rel=0.05)


def test_first_minimum_rule():
    r = np.arange(0.0025, 1.2, 0.005)
    g = 3 * np.exp(-((r - 0.25) / 0.03) ** 2) + 1 / (1 + np.exp(-(r - 0.45) / 0.02))   # peak, then rise to 1
    rmin = first_minimum(r, g)
    assert 0.3 < rmin < 0.42
    assert first_minimum(r, np.zeros_like(r)) is None
    noise = 1 + 0.05 * np.random.default_rng(0).normal(size=r.size)         # structureless g: no shell
    assert first_minimum(r, noise) is None
    assert first_minimum(r, 0.4 * np.exp(-((r - 0.25) / 0.03) ** 2) + 1.0) is None   # peak too low
    assert first_minimum(r, g, counts=np.full(r.size, 0.5)) is None                 # too few pairs
    assert first_minimum(r, g, counts=np.full(r.size, 5.0)) == rmin


@pytest.mark.parametrize("angles", [(90.0, 90.0, 90.0), (80.0, 95.0, 75.0)])
def test_kd_tree_and_brute_force_agree(angles):
    from analysis.trajectory import box_vectors_from_lengths_angles

    counts = {"NA": 20, "PF6": 20, "PC": 10}
    system, molecule, offsets = _system(counts)
    rng = np.random.default_rng(9)
    box = box_vectors_from_lengths_angles([[3.0, 3.1, 2.9]], [angles])[0]
    centres = rng.uniform(0, 1, (40, 50, 3)) @ box
    x = centres[:, molecule] + offsets[None]
    fast = Solvation(ArrayTrajectory(x, box, 1.0), system, r_max_nm=1.2).run().results
    slow = Solvation(ArrayTrajectory(x, box, 1.0), system, r_max_nm=1.2, method="brute").run().results
    for name in fast["groups"]:
        np.testing.assert_array_equal(fast["groups"][name]["n"], slow["groups"][name]["n"])
    assert fast["ion_pairs"] == slow["ion_pairs"]
    assert fast["groups"]["PF6:COM"]["n"][-1] > 0
