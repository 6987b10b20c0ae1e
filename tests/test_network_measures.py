"""network.json measures from the builder's graph: hand-built BMP graphs whose answers are known.

BMP monomers (two aziridine groups each: sites 2m and 2m+1) are laid along x in a 4 nm box, 1.2 nm apart
(centres at x = 1.0, 2.2, 3.4 nm), and bonded by hand. Their groups sit near x = 0.4 / 1.6 (monomer 0),
1.6 / 2.8 (monomer 1) and 2.8 / 4.0 (monomer 2), so X of site 5 (x = 4.0) to Y of site 0 (x = 0.4) is a
0.4 nm bond through the periodic boundary, and every other bond used here lies inside the box.
"""

from __future__ import annotations

import numpy as np
import pytest

from systems.network.analysis import kinetic_chains, network_measures, periodic_network
from systems.network.growth import Candidate, ChainGrowth, InitiatorRecipe, initiator_chains
from systems.network.loops import UnitLattice, refusal
from test_network_chemistry import _graph_of, bmp

VOLUME = 64.0


def _measures(bonds, n=3):
    g = _graph_of(bmp(), n)
    for i, j in bonds:
        g.form_bond(i, j)
    return g, network_measures(g, VOLUME)


def test_a_linear_chain_inside_the_box_is_sol_with_one_kinetic_chain():
    g, m = _measures([(0, 2), (2, 4)])
    assert m["kinetic_chains"] == 1 and m["degree_of_polymerisation"] == 3.0
    assert kinetic_chains(g) == [[0, 2, 4]]
    assert m["gel_fraction"] == 0.0 and m["percolating_axes"] == [] and m["percolation_rank"] == 0
    assert m["conversion"] == pytest.approx(3 / 6) and m["conversion_without_cyclisation"] == pytest.approx(3 / 6)
    assert m["primary_loops"] == 0 and m["loop_closing_bonds"] == 0


def test_a_chain_closed_through_its_own_image_percolates_along_x_only():
    # 0 -> 2 -> 4 inside the box, then site 5's X (monomer 2) to site 0's Y (monomer 0) through the boundary
    g, m = _measures([(0, 2), (2, 4), (5, 0)])
    shifts = {tuple(s) for _, _, s in periodic_network(g).edges}
    assert (1, 0, 0) in shifts or (-1, 0, 0) in shifts
    assert m["percolation_rank"] == 1 and m["percolating_axes"] == ["x"]
    assert m["gel_fraction"] == 1.0 and m["gel_fraction_x"] == 1.0 and m["gel_fraction_3d"] == 0.0
    # site 5 started by bonding to the chain start (site 0): one kinetic chain 5 -> 0 -> 2 -> 4
    assert m["loop_closing_bonds"] == 1 and m["kinetic_chains"] == 1 and m["degree_of_polymerisation"] == 4
    assert m["conversion"] == pytest.approx(4 / 6)
    assert m["conversion_without_cyclisation"] == pytest.approx((4 - 1) / 6)
    assert m["elastically_effective_strands_mol_per_m3"] == 0.0  # a 1D chain carries no 3D stress


def test_a_self_image_dimer_and_a_two_unit_loop():
    # monomers 0 and 2 bonded once inside the box (site 1 -> site 4) and once through the boundary (5 -> 0)
    g, m = _measures([(1, 4), (5, 0)])
    assert m["percolation_rank"] == 1 and m["percolating_axes"] == ["x"] and m["gel_fraction"] == pytest.approx(2 / 3)
    lattice = UnitLattice(g)
    assert lattice.shift_of(1, 4) == (0, 0, 0) and lattice.shift_of(5, 0) in ((1, 0, 0), (-1, 0, 0))
    # the same two monomers joined twice inside the box: a finite two-unit (primary) loop, sol
    g2 = _graph_of(bmp(), 2, spacing=0.8)
    g2.form_bond(0, 2)
    g2.form_bond(3, 1)
    m2 = network_measures(g2, VOLUME)
    assert m2["percolation_rank"] == 0 and m2["gel_fraction"] == 0.0
    assert m2["double_edge_loops"] == 1 and m2["primary_loops"] == 1 and m2["finite_loops"] == 1


def test_the_loop_rules_refuse_short_and_stretched_self_image_loops():
    g = _graph_of(bmp(), 3)
    g.form_bond(0, 2)
    g.form_bond(2, 4)
    lattice = UnitLattice(g)
    closure, percolating = lattice.closure(5, 0)  # back to monomer 0 through the boundary
    assert closure.units == 3 and closure.winds and percolating == set()
    # a winding loop whose strand is short against the 4 nm box is refused, a long one allowed
    assert refusal(closure, percolating, g.box, min_loop_units=2, path_bonds=20) == "stretched_self_image_loop"
    assert refusal(closure, percolating, g.box, min_loop_units=2, path_bonds=100) is None
    # already percolating along x: allowed whatever the strand
    assert refusal(closure, {"x"}, g.box, min_loop_units=2, path_bonds=5) is None
    # a loop of fewer units than min_loop_units
    same, _ = lattice.closure(3, 2)  # monomer 1 to itself: an intramolecular loop of one unit
    assert same.units == 1 and refusal(same, set(), g.box, min_loop_units=2, path_bonds=None) == "short_loop"


def test_bonds_undone_restore_the_graph_exactly():
    g = _graph_of(bmp(), 3)
    before = (dict(g.bonds), list(g.present), [r.name for r in g.residues])
    growth = ChainGrowth(initiations_left=1)
    steps = [Candidate(0, 2, 0.5, initiation=True), Candidate(2, 4, 0.5)]
    for c in steps:
        g.form_bond(c.site_x, c.site_y)
        growth.record(c)
    assert growth.living == {4} and growth.n_chains == 1 and growth.initiations_left == 0
    for c in reversed(steps):
        g.break_bond(c.site_x, c.site_y)
        growth.undo(c)
    assert (dict(g.bonds), list(g.present), [r.name for r in g.residues]) == before
    assert g.valence_problems() == [] and growth.living == set() and growth.initiations_left == 1
    assert growth.undone == 2


def test_chain_growth_candidates_are_living_ends_and_initiations_only():
    g = _graph_of(bmp(), 3, spacing=0.9)
    growth = ChainGrowth(initiations_left=0)
    assert growth.candidates(g, 2.0) == []  # no initiator, no living end: nothing may react
    growth = ChainGrowth(initiations_left=1)
    first = growth.candidates(g, 2.0)
    assert first and all(c.initiation for c in first)
    g.form_bond(first[0].site_x, first[0].site_y)
    growth.record(first[0])
    growth.initiations_left = 0
    after = growth.candidates(g, 2.0)
    assert after and all(c.site_x == first[0].site_y and not g.sites[c.site_y].reacted for c in after)


def test_initiator_chains_follow_the_recipe():
    aibn = initiator_chains(InitiatorRecipe("AIBN", 0.02, 0.6), 296.32, 100)
    n = 0.02 * 100 * 296.32 / 164.21
    assert aibn["initiator_molecules"] == pytest.approx(n)
    assert aibn["kinetic_chains"] == round(0.6 * 2 * n) == 4
    pf5 = initiator_chains(InitiatorRecipe("PF5", 0.001, 1.0), 284.35, 10)
    assert pf5["expected_chains"] < 0.5 and pf5["kinetic_chains"] == 1  # at least one chain in a box


def test_measures_do_not_depend_on_how_coordinates_are_wrapped():
    """Units split across the boundary (coordinates wrapped into the box) give the same quotient graph."""
    g, m = _measures([(0, 2), (2, 4), (5, 0)])
    for k, xyz in enumerate(g.positions):
        g.positions[k] = np.mod(xyz, g.box)
    wrapped = network_measures(g, VOLUME)
    for key in ("percolation_rank", "percolating_axes", "gel_fraction", "loop_closing_bonds", "finite_loops"):
        assert wrapped[key] == m[key], key


def test_no_more_chains_start_than_the_initiator_allows():
    from systems.network.reactive_pairs import select_bonds

    g = _graph_of(bmp(), 3, spacing=0.9)
    growth = ChainGrowth(initiations_left=1)
    chosen, _ = select_bonds(g, growth.candidates(g, 3.0), min_ring_size=6, min_loop_units=1,
                             max_initiations=growth.initiations_left)
    assert sum(c.initiation for c in chosen) == 1
