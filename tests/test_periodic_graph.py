"""Network measures of periodic quotient graphs, on hand-built nets with hand-derived answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from common.constants import AVOGADRO_PER_MOL, BOLTZMANN_J_PER_K
from systems.network.periodic_graph import (
    PeriodicNetwork,
    affine_shear_modulus_Pa,
    cycle_windings,
    density_mol_per_m3,
    lattice_index,
    measure_network,
    percolating_axes,
    phantom_shear_modulus_Pa,
    winding_lattice_basis,
)

O, X, Y, Z = (0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)
MX = (-1, 0, 0)
SIMPLE_CUBIC = [(0, 0, X), (0, 0, Y), (0, 0, Z)]
DIAMOND = [(0, 1, O), (0, 1, X), (0, 1, Y), (0, 1, Z)]
BOX_3NM = (3.0, 3.0, 3.0)
PER_CELL_IN_3NM_BOX = 1.0 / (AVOGADRO_PER_MOL * 27e-27)  # mol/m^3 of one object per (3 nm)^3 cell


def measures(n: int, edges, masses=None, box=BOX_3NM) -> dict:
    return measure_network(PeriodicNetwork(n, masses or [1.0] * n, edges, box)).to_dict()


# ------------------------------------------------------------------------------ winding lattice
def test_winding_of_the_non_tree_edge_follows_the_stated_sign_convention():
    # tree edge 0 puts unit 1 in cell 0; edge 1 (1 -> 0 shifted by +x): w = o[1] + x - o[0] = x
    assert cycle_windings([(0, 1, O), (1, 0, X)], [0, 1]) == {1: X}
    # written the other way round the same bond winds the other way
    assert cycle_windings([(0, 1, O), (0, 1, X)], [0, 1]) == {1: X}
    assert cycle_windings([(0, 1, O), (0, 1, MX)], [0, 1]) == {1: MX}


@pytest.mark.parametrize("vectors, basis", [
    ([], ()),
    ([O, O], ()),
    ([(2, 0, 0), (3, 0, 0)], ((1, 0, 0),)),
    ([(-2, 0, 0), (4, 0, 0)], ((2, 0, 0),)),
    ([(1, 1, 0), (2, 2, 0)], ((1, 1, 0),)),
    ([(0, 0, 5)], ((0, 0, 5),)),
])
def test_winding_lattice_basis(vectors, basis):
    assert winding_lattice_basis(vectors) == basis


def test_lattice_rank_axes_and_index():
    assert len(winding_lattice_basis([(1, 1, 0), (1, -1, 0)])) == 2
    assert percolating_axes(winding_lattice_basis([(1, 1, 0)])) == ("x", "y")
    assert percolating_axes(winding_lattice_basis([(0, 0, 3)])) == ("z",)
    assert lattice_index([(1, 1, 0), (1, -1, 0), (0, 0, 1)]) == 2
    assert lattice_index([(2, 0, 0), (0, 3, 0), (0, 0, 1), (1, 0, 0)]) == 3
    assert lattice_index([X, Y, Z]) == 1
    assert lattice_index([X, Y]) is None


# ------------------------------------------------------------------------------ chains and dimers
def test_periodic_chain_of_one_unit_bonded_to_its_image():
    d = measures(1, [(0, 0, X)])
    assert d["percolation_rank"] == 1
    assert d["percolating_axes"] == ["x"]
    assert (d["gel_fraction"], d["gel_fraction_x"], d["gel_fraction_y"], d["gel_fraction_z"]) == (1.0, 1.0, 0.0, 0.0)
    assert d["gel_fraction_3d"] == 0.0
    assert d["percolating_backbone_junctions"] == 0 and d["percolating_backbone_strands"] == 0
    assert d["percolating_backbone_cycle_rank"] == 0  # E - V = 1 - 1
    assert d["effective_junctions"] == 0 and d["elastically_effective_strands"] == 0 and d["cycle_rank"] == 0
    assert (d["winding_loops"], d["finite_loops"], d["primary_loops"]) == (1, 0, 0)
    assert d["clusters"][0]["winding_basis"] == [[1, 0, 0]]


def test_self_image_dimer_is_a_chain_not_a_gel():
    d = measures(2, [(0, 1, O), (1, 0, X)])
    assert (d["percolation_rank"], d["percolating_axes"]) == (1, ["x"])
    assert (d["gel_fraction"], d["gel_fraction_x"], d["gel_fraction_3d"]) == (1.0, 1.0, 0.0)
    assert d["dangling_units"] == 0 and d["percolating_backbone_junctions"] == 0
    assert (d["double_edge_loops"], d["winding_loops"], d["finite_loops"]) == (0, 1, 0)


def test_dimer_bonded_twice_at_the_same_relative_shift_is_a_finite_two_unit_loop():
    for edges in ([(0, 1, O), (1, 0, O)], [(0, 1, X), (1, 0, MX)], [(0, 1, X), (0, 1, X)]):
        d = measures(2, edges)
        assert (d["percolation_rank"], d["percolating_axes"]) == (0, [])
        assert (d["gel_fraction"], d["sol_fraction"]) == (0.0, 1.0)
        assert (d["double_edge_loops"], d["self_loops"], d["primary_loops"]) == (1, 0, 1)
        assert (d["finite_loops"], d["winding_loops"]) == (1, 0)
        assert "junctions" not in d["clusters"][0]  # no backbone for a finite cluster


def test_dimer_whose_second_bond_reaches_the_next_image_winds_twice_per_period():
    # 0@0 - 1@x - 0@2x - ...: a chain along x with winding 2x (one period spans two cells)
    d = measures(2, [(0, 1, X), (1, 0, X)])
    assert d["clusters"][0]["winding_basis"] == [[2, 0, 0]]
    assert d["percolating_axes"] == ["x"] and d["gel_fraction"] == 1.0


def test_diagonal_chain_percolates_along_both_axes_it_advances_on():
    d = measures(1, [(0, 0, (1, 1, 0))])
    assert (d["percolation_rank"], d["percolating_axes"]) == (1, ["x", "y"])
    assert (d["gel_fraction_x"], d["gel_fraction_y"], d["gel_fraction_z"]) == (1.0, 1.0, 0.0)


def test_unit_bonded_twice_to_the_same_image_counts_one_double_edge_loop():
    for edges in ([(0, 0, X), (0, 0, X)], [(0, 0, X), (0, 0, MX)]):
        d = measures(1, edges)
        assert d["percolation_rank"] == 1
        assert (d["double_edge_loops"], d["self_loops"], d["finite_loops"]) == (1, 0, 1)


def test_chain_with_a_dangling_unit():
    d = measures(2, [(0, 0, X), (0, 1, O)])
    assert d["percolation_rank"] == 1 and d["gel_fraction"] == 1.0
    assert (d["dangling_units"], d["dangling_pieces"], d["dangling_mass_fraction"]) == (1, 1, 0.5)
    assert d["clusters"][0]["backbone_units"] == 1
    assert d["percolating_backbone_junctions"] == 0  # unit 0 has backbone degree 2


# ------------------------------------------------------------------------------ finite loops
def test_finite_four_unit_loop_with_a_dangling_unit_is_sol():
    ring = [(0, 1, O), (1, 2, O), (2, 3, O), (3, 0, O), (3, 4, O)]
    d = measures(5, ring)
    assert (d["n_clusters"], d["percolation_rank"], d["gel_fraction"], d["sol_fraction"]) == (1, 0, 0.0, 1.0)
    assert (d["finite_loops"], d["winding_loops"], d["primary_loops"]) == (1, 0, 0)
    assert d["clusters"][0]["independent_cycles"] == 1
    assert d["effective_junctions"] == 0 and d["percolating_backbone_junctions"] == 0


def test_loop_that_crosses_the_box_boundary_and_closes_is_still_finite():
    d = measures(4, [(0, 1, O), (1, 2, O), (2, 3, X), (3, 0, MX)])
    assert (d["percolation_rank"], d["gel_fraction"], d["finite_loops"]) == (0, 0.0, 1)


def test_self_loop_is_a_primary_loop_and_adds_no_connectivity():
    d = measures(1, [(0, 0, O)])
    assert (d["self_loops"], d["primary_loops"], d["percolation_rank"], d["gel_fraction"]) == (1, 1, 0, 0.0)
    # on the simple cubic net it changes neither junctions nor strands nor the cycle rank
    d = measures(1, SIMPLE_CUBIC + [(0, 0, O)])
    assert (d["self_loops"], d["effective_junctions"]) == (1, 1)
    assert (d["elastically_effective_strands"], d["cycle_rank"]) == (3, 2)


def test_free_monomers_are_sol_clusters():
    d = measures(3, [])
    assert (d["n_clusters"], d["gel_fraction"], d["percolation_rank"]) == (3, 0.0, 0)


# ------------------------------------------------------------------------------ 3D nets
def test_simple_cubic_net():
    d = measures(1, SIMPLE_CUBIC)
    assert (d["percolation_rank"], d["percolating_axes"]) == (3, ["x", "y", "z"])
    assert (d["gel_fraction"], d["gel_fraction_3d"]) == (1.0, 1.0)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (1, 3, 2)
    assert d["clusters"][0]["interpenetrating_nets"] == 1
    assert (d["winding_loops"], d["finite_loops"], d["dangling_units"], d["parallel_effective_strands"]) == (3, 0, 0, 0)
    # f = 6: xi = nu (1 - 2/f)
    assert d["cycle_rank"] == d["elastically_effective_strands"] * (1 - 2 / 6)


def test_diamond_net():
    d = measures(2, DIAMOND)
    assert (d["percolation_rank"], d["percolating_axes"], d["gel_fraction_3d"]) == (3, ["x", "y", "z"], 1.0)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (2, 4, 2)
    assert d["cycle_rank"] == d["elastically_effective_strands"] * (1 - 2 / 4)
    assert d["clusters"][0]["interpenetrating_nets"] == 1
    assert d["finite_loops"] == 0


def test_densities_in_a_3_nm_box():
    assert density_mol_per_m3(1, BOX_3NM) == pytest.approx(PER_CELL_IN_3NM_BOX, rel=1e-14)
    assert PER_CELL_IN_3NM_BOX == pytest.approx(61.5014, rel=1e-5)
    d = measures(1, SIMPLE_CUBIC)
    assert d["elastically_effective_strands_mol_per_m3"] == pytest.approx(3 * PER_CELL_IN_3NM_BOX, rel=1e-14)
    assert d["effective_junctions_mol_per_m3"] == pytest.approx(PER_CELL_IN_3NM_BOX, rel=1e-14)
    assert d["cycle_rank_mol_per_m3"] == pytest.approx(2 * PER_CELL_IN_3NM_BOX, rel=1e-14)
    assert d["volume_nm3"] == pytest.approx(27.0, rel=1e-15)


def test_densities_scale_with_an_orthorhombic_box():
    d = measures(1, SIMPLE_CUBIC, box=(2.0, 3.0, 4.5))
    assert d["elastically_effective_strands_mol_per_m3"] == pytest.approx(3 / (AVOGADRO_PER_MOL * 27e-27), rel=1e-14)


def test_interpenetrating_copies_of_a_net_whose_x_period_is_two_cells():
    d = measures(1, [(0, 0, (2, 0, 0)), (0, 0, Y), (0, 0, Z)])
    assert (d["percolation_rank"], d["percolating_axes"]) == (3, ["x", "y", "z"])
    assert d["clusters"][0]["interpenetrating_nets"] == 2


def test_dangling_chains_on_the_diamond_net_are_pruned():
    # unit 2 on junction 0 with unit 3 on unit 2 (a two-unit dangling chain), unit 4 on junction 1
    d = measures(5, DIAMOND + [(0, 2, O), (2, 3, Y), (4, 1, O)])
    assert (d["gel_fraction"], d["gel_fraction_3d"]) == (1.0, 1.0)  # dangling ends belong to the gel
    assert (d["dangling_units"], d["dangling_pieces"], d["dangling_mass_fraction"]) == (3, 2, 0.6)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (2, 4, 2)
    assert d["clusters"][0]["backbone_units"] == 2


def test_pendant_loops_on_the_diamond_net_are_dangling_not_junctions():
    # control: a triangle on junction 0 that closes on the image 0@x winds, so it is a strand 0 -> 0@x
    edges = DIAMOND + [(0, 2, O), (2, 3, O), (3, 0, X)]
    d = measures(4, edges)
    assert (d["dangling_units"], d["effective_junctions"], d["elastically_effective_strands"]) == (0, 2, 5)
    assert d["cycle_rank"] == 3  # E - V = 7 - 4
    # a triangle that closes in the same cell hangs from unit 0 alone: dangling, unit 0 stays f = 4
    edges = DIAMOND + [(0, 2, O), (2, 3, O), (3, 0, O)]
    d = measures(4, edges)
    assert (d["dangling_units"], d["dangling_pieces"], d["finite_loops"]) == (2, 1, 1)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (2, 4, 2)
    # a two-unit loop hanging by a bond, and a double-bonded pendant unit, are dangling too
    edges = DIAMOND + [(1, 2, O), (2, 3, O), (3, 2, O), (4, 0, O), (0, 4, O)]
    d = measures(5, edges)
    assert (d["dangling_units"], d["dangling_pieces"], d["double_edge_loops"]) == (3, 2, 2)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (2, 4, 2)


def test_degree_two_units_in_strands_are_collapsed():
    # diamond with two extra units inserted in the x strand: 0 -> 2 -> 3 -> 1@x
    edges = [(0, 1, O), (0, 1, Y), (0, 1, Z), (0, 2, O), (2, 3, O), (3, 1, X)]
    d = measures(4, edges)
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["cycle_rank"]) == (2, 4, 2)
    assert d["dangling_units"] == 0 and d["clusters"][0]["backbone_units"] == 4


def test_double_strand_between_the_same_junctions_is_reported_as_parallel():
    d = measures(1, SIMPLE_CUBIC + [(0, 0, X)])
    assert (d["effective_junctions"], d["elastically_effective_strands"], d["parallel_effective_strands"]) == (1, 4, 1)
    assert (d["cycle_rank"], d["double_edge_loops"], d["finite_loops"]) == (3, 1, 1)


def test_sol_molecule_lowers_the_gel_fraction_by_its_mass_share():
    gel_only = measures(1, SIMPLE_CUBIC, masses=[100.0])
    with_sol = measures(3, SIMPLE_CUBIC + [(1, 2, O)], masses=[100.0, 30.0, 70.0])
    assert gel_only["gel_fraction"] == 1.0
    assert (with_sol["gel_fraction"], with_sol["gel_fraction_3d"], with_sol["sol_fraction"]) == (0.5, 0.5, 0.5)
    assert gel_only["gel_fraction"] - with_sol["gel_fraction"] == 100.0 / 200.0
    assert with_sol["n_clusters"] == 2 and with_sol["n_percolating_clusters"] == 1
    assert with_sol["clusters"][0]["mass_fraction"] == 0.5 and with_sol["clusters"][1]["percolation_rank"] == 0
    # strands and junctions are those of the gel only
    assert (with_sol["effective_junctions"], with_sol["elastically_effective_strands"]) == (1, 3)


def test_a_self_image_dimer_next_to_a_3d_gel_is_gel_along_x_only():
    d = measures(3, SIMPLE_CUBIC + [(1, 2, O), (2, 1, X)], masses=[100.0, 30.0, 70.0])
    assert (d["gel_fraction"], d["gel_fraction_3d"]) == (1.0, 0.5)
    assert (d["gel_fraction_x"], d["gel_fraction_y"], d["gel_fraction_z"]) == (1.0, 0.5, 0.5)
    assert d["n_percolating_clusters"] == 2
    assert (d["elastically_effective_strands"], d["percolating_backbone_strands"]) == (3, 3)


# ------------------------------------------------------------------------------ 1D/2D percolation
def test_square_layer_percolates_in_two_dimensions_only():
    d = measures(1, [(0, 0, X), (0, 0, Y)])
    assert (d["percolation_rank"], d["percolating_axes"]) == (2, ["x", "y"])
    assert (d["gel_fraction"], d["gel_fraction_3d"], d["gel_fraction_z"]) == (1.0, 0.0, 0.0)
    assert (d["elastically_effective_strands"], d["effective_junctions"], d["cycle_rank"]) == (0, 0, 0)
    assert (d["percolating_backbone_strands"], d["percolating_backbone_junctions"]) == (2, 1)
    assert d["percolating_backbone_cycle_rank"] == 1


def test_bond_between_two_endless_chains_is_part_of_the_backbone():
    # an x-chain and a y-chain joined once per cell make a 2D net: the joining bond carries load
    d = measures(2, [(0, 0, X), (1, 1, Y), (0, 1, O)])
    assert (d["percolation_rank"], d["percolating_axes"]) == (2, ["x", "y"])
    assert d["dangling_units"] == 0
    assert (d["percolating_backbone_junctions"], d["percolating_backbone_strands"]) == (2, 3)
    assert d["percolating_backbone_cycle_rank"] == 1


# ------------------------------------------------------------------------------ invariance, output
def _invariant_view(d: dict) -> dict:
    """Everything that must not depend on unit labels, edge spelling or the cell each unit is drawn in."""
    skip = {"winding_basis", "winding_loops"}  # basis: echelon form of the same lattice; loops: tree-dependent
    top = {k: v for k, v in d.items() if k not in skip | {"clusters"}}
    top["clusters"] = sorted(json.dumps({k: v for k, v in c.items() if k not in skip}, sort_keys=True)
                             for c in d["clusters"])
    return top


def test_measures_do_not_depend_on_labels_edge_direction_or_unit_cells():
    edges = DIAMOND + [(0, 2, O), (2, 3, Y), (0, 4, O), (4, 5, O), (5, 0, O), (6, 7, O), (7, 6, X), (8, 9, O),
                       (9, 9, O), (1, 1, O), (0, 1, X)]
    n = 10
    masses = [float(10 + i) for i in range(n)]
    reference = _invariant_view(measures(n, edges, masses))
    rng = np.random.default_rng(7)
    for _ in range(5):
        perm = rng.permutation(n)
        cell = rng.integers(-2, 3, size=(n, 3))
        new_edges = []
        for a, b, s in edges:
            s2 = tuple(int(c) for c in np.add(s, cell[a] - cell[b]))  # unit u redrawn in cell -cell[u]
            if rng.random() < 0.5:
                new_edges.append((int(perm[a]), int(perm[b]), s2))
            else:
                new_edges.append((int(perm[b]), int(perm[a]), tuple(-c for c in s2)))
        order = rng.permutation(len(new_edges))
        new_masses = [0.0] * n
        for u in range(n):
            new_masses[perm[u]] = masses[u]
        got = measures(n, [new_edges[i] for i in order], new_masses)
        assert _invariant_view(got) == reference


def test_to_dict_is_json_and_names_units():
    d = measures(3, DIAMOND + [(2, 2, O)])
    json.dumps(d)
    for key in ("elastically_effective_strands_mol_per_m3", "effective_junctions_mol_per_m3",
                "cycle_rank_mol_per_m3", "total_mass_g_per_mol", "volume_nm3", "box_nm"):
        assert key in d
    assert d["clusters"][0]["mass_g_per_mol"] == 2.0


# ------------------------------------------------------------------------------ moduli, validation
def test_rubber_elasticity_moduli():
    R = BOLTZMANN_J_PER_K * AVOGADRO_PER_MOL
    assert affine_shear_modulus_Pa(1000.0, 300.0) == pytest.approx(1000.0 * R * 300.0, rel=1e-15)
    assert phantom_shear_modulus_Pa(500.0, 300.0) == pytest.approx(500.0 * R * 300.0, rel=1e-15)
    assert affine_shear_modulus_Pa(1.0, 1.0) == pytest.approx(8.314462618, rel=1e-9)
    d = measures(2, DIAMOND)
    T = 298.15
    ratio = (phantom_shear_modulus_Pa(d["cycle_rank_mol_per_m3"], T)
             / affine_shear_modulus_Pa(d["elastically_effective_strands_mol_per_m3"], T))
    assert ratio == pytest.approx(0.5, rel=1e-14)  # 1 - 2/f for f = 4


@pytest.mark.parametrize("kwargs", [
    dict(n_units=2, unit_mass=[1.0], edges=[], box_nm=BOX_3NM),
    dict(n_units=2, unit_mass=[1.0, 1.0], edges=[(0, 2, O)], box_nm=BOX_3NM),
    dict(n_units=2, unit_mass=[1.0, 1.0], edges=[(0, 1, (0.5, 0, 0))], box_nm=BOX_3NM),
    dict(n_units=2, unit_mass=[1.0, 1.0], edges=[(0, 1, (0, 0))], box_nm=BOX_3NM),
    dict(n_units=2, unit_mass=[1.0, 1.0], edges=[], box_nm=(3.0, 0.0, 3.0)),
    dict(n_units=2, unit_mass=[1.0, -1.0], edges=[], box_nm=BOX_3NM),
])
def test_invalid_input_is_rejected(kwargs):
    with pytest.raises(ValueError):
        PeriodicNetwork(**kwargs)
