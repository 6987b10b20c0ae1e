"""Network chemistry: reaction types, residue split, graph edits, templates, periodic bonded System."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from common.errors import SpeciesError
from forcefields.gaff2_typer import assign_gaff2_types
from forcefields.residue_templates import read_residue_templates
from forcefields.system_factory import TEMPLATE_DIR
from systems.network.builder import (CrosslinkSettings, ElectrolyteSpec, MonomerSpec, NetworkBuildSpec,
                                     choose_build_platform, validate_spec)
from systems.network.errors import NetworkBuildError, ReactionTypeError
from systems.network.forcefield import network_system
from systems.network.graph import NetworkGraph
from systems.network.growth import ChainGrowth
from systems.network.monomer import build_monomer_model, capped_fragment
from common.periodic import minimum_image, walk_bonded_clusters
from systems.network.reactive_pairs import segment_pierces_ring, select_bonds
from systems.network.templates import template_key
from systems.species import BUILTIN_SPECIES
from systems.structures import conformer_positions

BMP = BUILTIN_SPECIES["BMP"].smiles
TPA = BUILTIN_SPECIES["TPA"].smiles


def bmp():
    return build_monomer_model("BMP", BMP, "ring_opening_aziridine", "BMP")


def tpa():
    return build_monomer_model("TPA", TPA, "radical_acrylate", "TPA")


def test_bmp_splits_into_two_equal_arms_with_four_states():
    m = bmp()
    assert m.n_groups == 2
    assert list(m.piece_types) == ["arm0"]
    arm = m.piece_types["arm0"]
    assert arm.residue_names == {"U": "BMU", "S": "BMS", "E": "BME", "M": "BMM"}
    assert [m.mol.GetAtomWithIdx(a).GetSymbol() for a in (m.pieces[0][1][arm.x], m.pieces[0][1][arm.y])] == ["C", "N"]
    # the cut is the central CH2-CH2 bond of the ethylene glycol core
    (pa, la, pb, lb), = m.inner_bonds
    assert {m.mol.GetAtomWithIdx(m.pieces[pa][1][la]).GetSymbol(), m.mol.GetAtomWithIdx(m.pieces[pb][1][lb]).GetSymbol()} == {"C"}
    assert sum(len(atoms) for _, atoms in m.pieces) == m.mol.GetNumAtoms()


def test_tpa_splits_into_three_arms_and_a_core():
    m = tpa()
    assert m.n_groups == 3
    assert m.piece_types["arm0"].residue_names["M"] == "TPM"
    assert m.piece_types["core0"].residue_names[""] == "TPX"
    assert len(m.piece_types["core0"].cuts) == 3


@pytest.mark.parametrize("state,smiles", [("U", "CCOC(=O)CCN1CC1C"), ("S", "CCOC(=O)CCNC(C)CN"),
                                          ("E", "CCOC(=O)CCN(C)C(C)CF"), ("M", "CCOC(=O)CCN(C)C(C)CN")])
def test_bmp_state_chemistry(state, smiles):
    frag, _, caps = capped_fragment(bmp().piece_types["arm0"], state)
    assert Chem.MolToSmiles(Chem.RemoveHs(frag)) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    assert all(a.GetFormalCharge() == 0 for a in frag.GetAtoms())


@pytest.mark.parametrize("state,smiles", [("U", "C=CC(=O)OCC"), ("S", "CCOC(=O)C(C)C"), ("E", "CCCC(=O)OCC"),
                                          ("M", "CCOC(=O)C(C)CC")])
def test_acrylate_state_chemistry_head_to_tail(state, smiles):
    frag, _, _ = capped_fragment(tpa().piece_types["arm0"], state)
    assert Chem.MolToSmiles(Chem.RemoveHs(frag)) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def test_bad_smiles_is_a_clear_error():
    with pytest.raises(SpeciesError, match="cannot parse SMILES"):
        build_monomer_model("X", "C1CC(", "radical_acrylate")


def test_reaction_type_that_does_not_match_the_monomer():
    with pytest.raises(ReactionTypeError, match="radical_acrylate") as info:
        build_monomer_model("TPA", TPA, "ring_opening_aziridine")
    assert "no N-substituted aziridine group" in str(info.value)
    with pytest.raises(ReactionTypeError, match="allowed"):
        build_monomer_model("TPA", TPA, "epoxy_amine")


def test_groups_too_close_to_cut_are_refused():
    from systems.network.errors import MonomerSplitError
    with pytest.raises(MonomerSplitError, match="in a ring"):  # the two arms meet inside the cyclohexane ring
        build_monomer_model("CHDA", "C=CC(=O)OC1CCC(OC(=O)C=C)CC1", "radical_acrylate")
    with pytest.raises(ReactionTypeError, match="share atoms"):  # acrylic anhydride: both groups own one O
        build_monomer_model("AA", "C=CC(=O)OC(=O)C=C", "radical_acrylate")


def test_bad_build_numbers_are_refused():
    base = dict(system="G", electrolyte=ElectrolyteSpec({"PC": 1.0}), monomer=MonomerSpec("BMP", BMP, "ring_opening_aziridine"))
    with pytest.raises(NetworkBuildError, match="polymer_weight_fraction"):
        validate_spec(NetworkBuildSpec(**base, polymer_weight_fraction=1.2))
    with pytest.raises(NetworkBuildError, match="target_conversion"):
        validate_spec(NetworkBuildSpec(**base, crosslink=CrosslinkSettings(target_conversion=1.5)))


@pytest.mark.parametrize("model", [bmp, tpa])
def test_cached_templates_match_typer_and_are_integer(model):
    m = model()
    for ptype in m.piece_types.values():
        for state in ptype.states:
            name = ptype.residue_names[state]
            t = read_residue_templates(TEMPLATE_DIR / f"{name}.xml")[name]
            assert t.provenance["network_template_key"] == template_key(m, ptype, state)
            frag, idx, _ = capped_fragment(ptype, state)
            types = assign_gaff2_types(frag, parameterised=True)
            assert list(t.types) == [types[i] for i in idx]
            assert t.total_charge == 0.0
            assert len(t.external_bonds) == len(ptype.externals(state))
            assert "RESP" in t.provenance["charge_method"]


def _graph_of(model, n, spacing=1.2):
    xyz = conformer_positions(model.mol, 7, model.name)
    xyz = xyz - xyz.mean(axis=0)
    g = NetworkGraph(np.array([4.0, 4.0, 4.0]))
    for k in range(n):
        g.add_monomer(model, xyz + np.array([1.0 + spacing * k, 2.0, 2.0]), 1.0)
    return g


def _check_chemistry(g):
    assert g.valence_problems() == []
    mol, _ = g.polymer_rdkit()
    assert all(a.GetFormalCharge() == 0 for a in mol.GetAtoms())
    assert all(a.GetNumRadicalElectrons() == 0 for a in mol.GetAtoms())
    return mol


def test_aziridine_chain_edits_make_tertiary_amine_backbone():
    g = _graph_of(bmp(), 3)
    # sites: monomer 0 -> sites 0,1; monomer 1 -> 2,3; monomer 2 -> 4,5
    g.form_bond(0, 2)  # CH2 of site 0 to N of site 2
    assert g.sites[0].state == "S" and g.sites[2].state == "E"
    assert g.residues[g.sites[0].residue].name == "BMS"
    mol = _check_chemistry(g)
    assert mol.HasSubstructMatch(Chem.MolFromSmarts("[NH1]C(C)C[N;H0;!r3]"))  # start N-H, opened ring
    assert mol.HasSubstructMatch(Chem.MolFromSmarts("FCC(C)N"))  # fluoride-terminated end
    g.form_bond(2, 4)  # the chain grows at its end: site 2 becomes interior
    assert g.sites[2].state == "M" and g.residues[g.sites[2].residue].name == "BMM"
    mol = _check_chemistry(g)
    # start N-H ... -N(R)-CH(CH3)-CH2-N(R)-CH(CH3)-CH2-F end, all three rings open
    backbone = Chem.MolFromSmarts("[NH1;!r3]([CH2])[CH]([CH3])[CH2][N;H0;!r3]([CH2])[CH]([CH3])[CH2][N;H0;!r3]([CH2])[CH]([CH3])[CH2]F")
    assert mol.HasSubstructMatch(backbone)
    assert len(mol.GetSubstructMatches(Chem.MolFromSmarts("[#9]"))) == 1  # one chain, one end
    with pytest.raises(ValueError):
        g.form_bond(0, 4)  # X of site 0 already bonded
    assert g.conversion() == pytest.approx(3 / 6)


def test_acrylate_chain_edits_head_to_tail():
    g = _graph_of(tpa(), 2)
    g.form_bond(0, 3)
    g.form_bond(3, 1)
    mol = _check_chemistry(g)
    assert not mol.HasSubstructMatch(Chem.MolFromSmarts("C=C")) or len(mol.GetSubstructMatches(Chem.MolFromSmarts("[CH2]=[CH]"))) == 3
    assert mol.HasSubstructMatch(Chem.MolFromSmarts("[CH3][CH](C(=O)O)[CH2][CH](C(=O)O)[CH2][CH2]C(=O)O"))


@pytest.mark.parametrize("which", [
    "tpa",
    "bmp",
])
def test_network_system_types_every_atom_and_is_neutral(which):
    if which == "bmp":
        g, names, pairs = _graph_of(bmp(), 3), ("BMU", "BMS", "BME", "BMM"), [(0, 2), (2, 4), (5, 1)]
    else:
        g, names, pairs = _graph_of(tpa(), 3), ("TPU", "TPS", "TPE", "TPM", "TPX"), [(0, 3), (3, 1), (4, 6)]
    for i, j in pairs:
        g.form_bond(i, j)
    system, topology, order, report = network_system(g, [TEMPLATE_DIR], {"NA", "PF6"}, 0.8, 0.9)
    assert system.getNumParticles() == topology.getNumAtoms() == sum(g.present)
    assert abs(report.total_charge_e) < 1e-9
    import openmm
    bonded = [f for f in system.getForces() if isinstance(f, (openmm.HarmonicBondForce, openmm.HarmonicAngleForce,
                                                               openmm.PeriodicTorsionForce))]
    assert bonded and all(f.usesPeriodicBoundaryConditions() for f in bonded)


def test_ring_piercing_geometry():
    ring = np.array([[0.1, 0, 0], [-0.05, 0.087, 0], [-0.05, -0.087, 0]])
    assert segment_pierces_ring(np.array([0, 0, -0.3]), np.array([0, 0, 0.3]), ring)
    assert not segment_pierces_ring(np.array([0.5, 0, -0.3]), np.array([0.5, 0, 0.3]), ring)
    assert not segment_pierces_ring(np.array([0, 0, 0.1]), np.array([0, 0, 0.3]), ring)


def test_pair_selection_closest_first_one_bond_per_group_no_small_rings():
    g = _graph_of(bmp(), 3, spacing=0.9)
    growth = ChainGrowth(initiations_left=6)
    chosen, report = select_bonds(g, growth.candidates(g, 1.5), min_ring_size=6, min_loop_units=1)
    used = [c.site_x for c in chosen] + [c.site_y for c in chosen]
    assert len(used) == len(set(used))
    d = [c.distance_nm for c in chosen]
    assert d == sorted(d)
    assert all(c.site_x != c.site_y for c in chosen)


def test_random_partner_choice_is_uniform_over_the_groups_in_reach_and_seeded():
    """partner_choice random: each living end adds any group within the cutoff with equal probability (the
    closest-first rule would always pick the same one), the same generator seed gives the same order, and
    propagation candidates still come before initiation ones."""
    g = _graph_of(bmp(), 3, spacing=0.9)
    growth = ChainGrowth(initiations_left=2)
    nearest = growth.candidates(g, 1.5)
    end = nearest[0].site_x
    growth.living.add(end)
    in_reach = sorted(c.site_y for c in growth.candidates(g, 1.5) if not c.initiation and c.site_x == end)
    assert len(in_reach) >= 3
    closest = min((c for c in growth.candidates(g, 1.5) if not c.initiation), key=lambda c: c.distance_nm)
    rng = np.random.default_rng(7)
    picks = []
    for _ in range(3000):
        order = growth.candidates(g, 1.5, rng)
        kinds = [c.initiation for c in order]
        assert kinds == sorted(kinds)  # propagation first, initiation after
        assert sorted((c.site_x, c.site_y) for c in order) == sorted((c.site_x, c.site_y)
                                                                     for c in growth.candidates(g, 1.5))
        picks.append(next(c.site_y for c in order if not c.initiation and c.site_x == end))
    share = np.array([picks.count(k) for k in in_reach]) / len(picks)
    assert np.all(np.abs(share - 1 / len(in_reach)) < 0.05), share
    assert share[in_reach.index(closest.site_y)] < 0.5
    first = [(c.site_x, c.site_y) for c in growth.candidates(g, 1.5, np.random.default_rng(11))]
    again = [(c.site_x, c.site_y) for c in growth.candidates(g, 1.5, np.random.default_rng(11))]
    assert first == again


def test_molecules_made_whole_across_the_boundary_and_percolation_counted():
    g = NetworkGraph(np.array([3.0, 3.0, 3.0]))
    ethane = Chem.AddHs(Chem.MolFromSmiles("CC"))
    xyz = conformer_positions(ethane, 1, "ethane")
    xyz = xyz - xyz[0] + np.array([2.95, 1.5, 1.5])  # C1 just inside the +x face
    shifted = xyz.copy()
    shifted[1:] -= np.array([3.0, 0.0, 0.0])  # the rest wrapped to the other side: split by a box vector
    g.add_molecule(ethane, "ETH", "ethane", shifted)
    assert g.make_molecules_whole() == 0
    pos = g.positions_array()
    assert np.allclose(pos, xyz, atol=1e-9)  # whole again, raw bond vectors = minimum-image ones
    # a chain of atoms bonded to its own image along x percolates; a finite molecule does not
    chain = Chem.RWMol()
    for _ in range(10):
        chain.AddAtom(Chem.Atom(6))
    for k in range(10):
        chain.AddBond(k, (k + 1) % 10, Chem.BondType.SINGLE)
    ring_xyz = np.array([[0.3 * k, 0.5, 0.5] for k in range(10)])  # 10 x 0.3 nm = one box edge
    g.add_molecule(chain.GetMol(), "RNG", "chain", ring_xyz)
    assert g.make_molecules_whole() == 1


def test_minimum_image_and_percolation_walk():
    box = np.array([2.0, 2.0, 2.0])
    assert np.allclose(minimum_image(np.array([[1.9, -1.2, 0.3]]), box), [[-0.1, 0.8, 0.3]])
    # a chain 0-1-2-3 along x whose last bond closes through the x face: it percolates along x only
    pos = [np.array(p) for p in ([0.2, 1.0, 1.0], [0.7, 1.0, 1.0], [1.2, 1.0, 1.0], [1.7, 1.0, 1.0])]
    ring = {0: [1, 3], 1: [0, 2], 2: [1, 3], 3: [2, 0]}
    unwrapped, clusters = walk_bonded_clusters(pos, box, ring, range(4))
    assert len(clusters) == 1 and clusters[0].percolating_axes == {"x"}
    # a molecule split by the box face is made whole and does not percolate
    pos = [np.array([1.95, 0.5, 0.5]), np.array([0.05, 0.5, 0.5])]
    unwrapped, clusters = walk_bonded_clusters(pos, box, {0: [1], 1: [0]}, [0, 1])
    assert np.allclose(unwrapped[1], [2.05, 0.5, 0.5]) and clusters[0].percolating_axes == set()


def test_build_platform_auto_deterministic_and_conflict():
    def spec(**kw):
        return NetworkBuildSpec(system="G", electrolyte=ElectrolyteSpec({"PC": 1.0}),
                                monomer=MonomerSpec("TPA", TPA, "radical_acrylate"), **kw)

    choice, record = choose_build_platform(spec(platform="auto", cpu_threads=2))
    assert record["platform_requested"] == "auto" and record["platform"] == choice.name in ("CUDA", "CPU")
    assert choice.properties["DeterministicForces"] == "true"
    choice, record = choose_build_platform(spec(deterministic=True, cpu_threads=4))
    assert choice.name == "CPU" and choice.properties["Threads"] == "1" and record["deterministic"]
    assert record["determinism"].startswith("bitwise")
    with pytest.raises(NetworkBuildError, match="deterministic"):
        choose_build_platform(spec(deterministic=True, platform="CUDA"))
