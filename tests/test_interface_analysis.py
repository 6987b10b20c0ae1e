"""Interface analysis (analysis/interface.py) on synthetic data with known answers."""

import numpy as np
import pytest

from analysis.interface import (composition, density_profile, first_layer_end, gibbs_dividing_surface,
                                homogeneity_index, potential_profile_V)
from common.errors import AnalysisError


def test_density_profile_of_uniform_atoms():
    rng = np.random.default_rng(0)
    frames = [rng.random(2000) * 4.0 for _ in range(50)]  # 2000 atoms in a 4 nm x 2 nm^2 box: 250 nm^-3
    profile = density_profile(frames, 2.0, np.linspace(0.0, 4.0, 9))
    assert profile.mean() == pytest.approx(250.0, rel=1e-12)
    assert np.abs(profile - 250.0).max() < 10.0


def test_gibbs_surface_of_a_slab_of_planes_is_half_a_spacing_outside():
    spacing, planes, per_area = 0.3, 5, 12.0  # 5 atomic planes, 12 atoms/nm^2 each, at z = 0 .. 1.2 nm
    edges = np.linspace(-1.0, 2.2, 3201)
    centres = 0.5 * (edges[1:] + edges[:-1])
    density = np.zeros_like(centres)
    for k in range(planes):  # Gaussian planes of width 0.03 nm
        density += per_area * np.exp(-0.5 * ((centres - k * spacing) / 0.03) ** 2) / (0.03 * np.sqrt(2 * np.pi))
    bulk = per_area / spacing
    top = gibbs_dividing_surface(centres, density, bulk, 0.6, +1)
    bottom = gibbs_dividing_surface(centres, density, bulk, 0.6, -1)
    assert top == pytest.approx(1.2 + spacing / 2, abs=1e-3)
    assert bottom == pytest.approx(-spacing / 2, abs=1e-3)


def test_first_layer_end_finds_the_first_minimum():
    d = np.linspace(0.0, 2.0, 201)
    profile = 1.0 + 2.0 * np.exp(-((d - 0.3) / 0.08) ** 2) - 0.7 * np.exp(-((d - 0.55) / 0.08) ** 2)
    assert first_layer_end(d, profile, smooth_bins=1) == pytest.approx(0.55, abs=0.02)
    with pytest.raises(AnalysisError):
        first_layer_end(d, d.copy(), smooth_bins=1)


def test_composition_and_enrichment():
    fractions, enrichment = composition({"amine N": 3, "C": 7}, {"amine N": 1, "C": 19, "F": 5})
    assert fractions == {"C": 0.7, "F": 0.0, "amine N": 0.3}
    assert enrichment["amine N"] == pytest.approx(0.3 / (1 / 25))
    assert enrichment["F"] == 0.0
    with pytest.raises(AnalysisError):
        composition({}, {"C": 1})
    _, sparse = composition({"PF6- F": 2.0, "C": 8.0}, {"PF6- F": 0.07, "C": 20.0})  # F seen in the bulk once in 15 frames
    assert sparse["PF6- F"] is None and sparse["C"] == pytest.approx(0.8 / (20.0 / 20.07))


def test_homogeneity_index_random_ions_read_one_and_clustered_ions_more():
    rng = np.random.default_rng(3)
    box = (3.0, 3.0)
    random_frames = [rng.random((6, 2)) * 3.0 for _ in range(400)]
    result = homogeneity_index(random_frames, box, n_bins=4, n_blocks=8, seed=1)
    assert abs(result.value - 1.0) < 4 * result.stderr + 0.05
    # every ion in one corner bin: CV of counts (one bin of 16 full) = sqrt(15); far above random
    clustered = [rng.random((6, 2)) * 0.7 for _ in range(400)]
    hot = homogeneity_index(clustered, box, n_bins=4, n_blocks=8, seed=1)
    assert hot.cv == pytest.approx(np.sqrt(15.0), rel=1e-9)
    assert hot.value > 5.0
    # a perfect lattice, one ion per bin every frame: CV 0, index 0
    lattice = [np.array([[0.375 + 0.75 * i, 0.375 + 0.75 * j] for i in range(4) for j in range(4)])] * 40
    assert homogeneity_index(lattice, box, n_bins=4, n_blocks=4).value == 0.0
    with pytest.raises(AnalysisError):
        homogeneity_index([np.zeros((0, 2))] * 10, box, 4, 2)


def test_potential_of_a_parallel_plate_capacitor():
    # +sigma at z = 1 nm, -sigma at z = 3 nm in a 4 nm periodic cell without net field: the field between the
    # sheets is (sigma/eps0)(L - d)/L and outside -(sigma/eps0) d/L. sigma = 0.1 e/nm^2 = 1.6022e-2 C/m^2,
    # sigma/eps0 = 1.8095 V/nm, d = 2 nm, L = 4 nm: slopes -0.9048 V/nm between, +0.9048 V/nm outside
    edges = np.linspace(0.0, 4.0, 401)
    charge = np.zeros(400)
    charge[100] = 0.1 * 2.0  # e per bin in an area of 2 nm^2
    charge[300] = -0.1 * 2.0
    phi = potential_profile_V(edges, charge, 2.0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = phi[(centres > 1.2) & (centres < 2.8)]
    slope = np.polyfit(centres[(centres > 1.2) & (centres < 2.8)], inside, 1)[0]
    assert slope == pytest.approx(-1.8095 / 2, rel=2e-3)  # V/nm: the potential falls from + to - sheet
    outside = centres > 3.1
    assert np.polyfit(centres[outside], phi[outside], 1)[0] == pytest.approx(1.8095 / 2, rel=2e-3)


def test_summary_reads_the_interface_contract():
    from analysis.summary import _interface_line, interface_fields

    report = {"first_layer": {"composition": {"carbonyl O": 0.5, "amine N": 0.3, "C": 0.2},
                              "enrichment": {"carbonyl O": 1.2, "amine N": 4.0, "C": 0.5}},
              "na_homogeneity_index": {"value": 1.3, "stderr": 0.2, "cv": 0.65, "random_cv": 0.5},
              "bias_V": 1.0, "electrode_charge_e": {"electrode0": {"value": -1.2, "stderr": 0.05}}}
    row = interface_fields(report)
    assert row["interface_na_homogeneity_index"]["value"] == 1.3
    line = _interface_line(row)
    assert "amine N 0.30 (x4.00)" in line and "1.30 ± 0.20" in line and "-1.200" in line
    assert _interface_line({}) is None
