"""GAFF2 atom typer: hand-derived types for the electrolyte and network chemistry, errors, ffxml coverage.

Every expected type below was written by applying the rules of antechamber's ATOMTYPE_GFF2.DEF by
hand (first matching rule wins; see the module docstring of ``forcefields.gaff2_typer``), not by
running the typer. Each molecule is written as one ``(heavy-atom type, type of its H atoms)`` pair
per heavy atom, in SMILES order; ``None`` where the heavy atom has no H. Reminders used throughout:

* H on sp3 C: hc/h1/h2/h3 by the number of electron-withdrawing (N, O, S, F, Cl, Br, I) neighbours
  of that carbon; H on sp2 C: ha/h4/h5 likewise (0/1/2).
* sp3 C in a 3-/4-membered ring: cx/cy; in 5-/6-rings c3 for GAFF 2.11 (c5/c6 only in 2.2.20).
* Rings with an sp3 carbon (PC, FEC, aziridines) are non-planar (AR4), so nothing in them is
  aromatic-typed; the ring C=O is still ``c`` because the carbonyl rule precedes all ring rules.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rdkit import Chem

from common.errors import AtomTypingError, ConfigError
from forcefields.gaff2_typer import EMITTED_TYPES, GAFF2_VERSIONS, assign_gaff2_types

# ------------------------------------------------------------------------------------------------
# Electrolyte and network chemistry of the founding paper
# ------------------------------------------------------------------------------------------------

PC = ("CC1COC(=O)O1", [
    ("c3", "hc"),   # CH3: its carbon has no EW neighbour
    ("c3", "h1"),   # ring CH: sp3 C in a 5-ring is c3 in GAFF 2.11; one EW neighbour (ring O) -> h1
    ("c3", "h1"),   # ring CH2-O
    ("os", None),   # ring ester O
    ("c", None),    # carbonate C=O: rule ``c (XA1)`` precedes every ring rule
    ("o", None),
    ("os", None),
])

FEC = ("O=C1OCC(F)O1", [
    ("o", None),
    ("c", None),
    ("os", None),
    ("c3", "h1"),   # ring CH2-O: one EW neighbour
    ("c3", "h2"),   # CHF-O: F and the ring O are both EW -> h2
    ("f", None),
    ("os", None),
])

BMP = ("CC1CN1CCC(=O)OCCOC(=O)CCN1CC1C", [
    ("c3", "hc"),   # CH3 on the aziridine ring
    ("cx", "h1"),   # ring CH: sp3 C in a 3-ring -> cx; bonded to ring N (EW) -> h1
    ("cx", "h1"),   # ring CH2
    ("np", None),   # aziridine N: no H, 3-ring, no amide/conjugated neighbour -> GAFF2 np (not n3)
    ("c3", "h1"),   # N-CH2
    ("c3", "hc"),   # CH2-C(=O): a carbonyl carbon is not electron-withdrawing
    ("c", None),
    ("o", None),
    ("os", None),
    ("c3", "h1"),   # O-CH2 of the ethylene-glycol core
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "h1"),
    ("np", None),
    ("cx", "h1"),
    ("cx", "h1"),
    ("c3", "hc"),
])

TPA = ("CCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C=C", [
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", None),   # quaternary C
    ("c3", "h1"),   # CH2-O
    ("os", None),
    ("c", None),
    ("o", None),
    ("ce", "ha"),   # acrylate CH=: single bond to a 3-connected C (the C=O) -> conjugated ce; its C
                    # has no EW neighbour -> ha
    ("c2", "ha"),   # =CH2: no single-bonded sp2/sp carbon -> plain c2
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("ce", "ha"),   # each acrylate is its own conjugated system, so all three stay ce
    ("c2", "ha"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("ce", "ha"),
    ("c2", "ha"),
])

# Both aziridines opened, backbone capped with methyls (N-CH3 for the previous unit, CH(CH3)-CH3 for
# the bond to the next N).
BMP_OPENED = ("CN(CCC(=O)OCCOC(=O)CCN(C)CC(C)C)CC(C)C", [
    ("c3", "h1"),   # N-CH3 cap
    ("n3", None),   # ring-opened tertiary amine: three sp3 C, no H, no ring -> n3
    ("c3", "h1"),
    ("c3", "hc"),
    ("c", None),
    ("o", None),
    ("os", None),
    ("c3", "h1"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "h1"),
    ("n3", None),
    ("c3", "h1"),   # N-CH3 cap
    ("c3", "h1"),   # backbone N-CH2
    ("c3", "hc"),   # backbone CH(CH3): with a methyl cap it has no EW neighbour
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "h1"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
])

# The backbone step -N(R)-CH2-CH(CH3)-N(R)- with both N kept: in the network the CH(CH3) is bonded to
# the next unit's N, which makes its H h1 (compare the methyl-capped fragment above).
BMP_BACKBONE = ("CN(C)CC(C)N(C)C", [
    ("c3", "h1"),
    ("n3", None),
    ("c3", "h1"),
    ("c3", "h1"),   # N-CH2
    ("c3", "h1"),   # CH bonded to N -> h1
    ("c3", "hc"),
    ("n3", None),
    ("c3", "h1"),
    ("c3", "h1"),
])

BMP_HALF_OPENED = ("CN(CCC(=O)OCCOC(=O)CCN1CC1C)CC(C)C", [
    ("c3", "h1"),
    ("n3", None),   # opened end
    ("c3", "h1"),
    ("c3", "hc"),
    ("c", None),
    ("o", None),
    ("os", None),
    ("c3", "h1"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "h1"),
    ("np", None),   # intact aziridine
    ("cx", "h1"),
    ("cx", "h1"),
    ("c3", "hc"),
    ("c3", "h1"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
])

# Every acrylate polymerised: -CH2-CH(COOR)- capped as CH3-CH2-CH(CH3)-C(=O)O- (both backbone
# neighbours replaced by methyls).
TPA_POLYMERISED = ("CCC(COC(=O)C(C)CC)(COC(=O)C(C)CC)COC(=O)C(C)CC", [
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", None),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),   # alpha CH: neighbours C(=O), CH3, CH2 -> no EW -> hc
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
])

TPA_PARTLY_REACTED = ("CCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C(C)CC", [
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", None),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("ce", "ha"),
    ("c2", "ha"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("ce", "ha"),
    ("c2", "ha"),
    ("c3", "h1"),
    ("os", None),
    ("c", None),
    ("o", None),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
])

# AIBN fragment (2-cyano-2-propyl) that started a chain on an acrylate (methyl ester stands for TPA).
AIBN_CAPPED = ("CC(C)(C#N)CC(C)C(=O)OC", [
    ("c3", "hc"),
    ("c3", None),
    ("c3", "hc"),
    ("c1", None),   # nitrile C on an sp3 C: the cg rule needs a single-bonded sp/sp2 neighbour -> c1
    ("n1", None),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c3", "hc"),
    ("c", None),
    ("o", None),
    ("os", None),
    ("c3", "h1"),
])

PAPER_CHEMISTRY = {
    "PC": PC, "FEC": FEC, "BMP": BMP, "TPA": TPA,
    "BMP_opened": BMP_OPENED, "BMP_backbone": BMP_BACKBONE, "BMP_half_opened": BMP_HALF_OPENED,
    "TPA_polymerised": TPA_POLYMERISED, "TPA_partly_reacted": TPA_PARTLY_REACTED, "AIBN_capped": AIBN_CAPPED,
}

# ------------------------------------------------------------------------------------------------
# Generic chemistry a user's new monomer may bring
# ------------------------------------------------------------------------------------------------

GENERIC = {
    "propane": ("CCC", [("c3", "hc")] * 3),
    "diethyl ether": ("CCOCC", [("c3", "hc"), ("c3", "h1"), ("os", None), ("c3", "h1"), ("c3", "hc")]),
    "methyl acetate": ("CC(=O)OC", [("c3", "hc"), ("c", None), ("o", None), ("os", None), ("c3", "h1")]),
    "ethanol": ("CCO", [("c3", "hc"), ("c3", "h1"), ("oh", "ho")]),
    "water": ("O", [("oh", "ho")]),  # the hw rule comes after ho in the DEF and is never reached
    # sp3 amine N by hydrogen count (GAFF2): n9 / n8 / n7 / n3
    "ammonia": ("N", [("n9", "hn")]),
    "methylamine": ("CN", [("c3", "h1"), ("n8", "hn")]),
    "dimethylamine": ("CNC", [("c3", "h1"), ("n7", "hn"), ("c3", "h1")]),
    "trimethylamine": ("CN(C)C", [("c3", "h1"), ("n3", None), ("c3", "h1"), ("c3", "h1")]),
    # small rings
    "aziridine": ("C1CN1", [("cx", "h1"), ("cx", "h1"), ("n5", "hn")]),  # NH in a 3-ring -> n5
    "azetidine": ("C1CNC1", [("cy", "hc"), ("cy", "h1"), ("n6", "hn"), ("cy", "h1")]),
    "N-methylazetidine": ("CN1CCC1", [("c3", "h1"), ("nq", None), ("cy", "h1"), ("cy", "hc"), ("cy", "h1")]),
    "cyclopropane": ("C1CC1", [("cx", "hc")] * 3),
    "cyclobutane": ("C1CCC1", [("cy", "hc")] * 4),
    "cyclopentane": ("C1CCCC1", [("c3", "hc")] * 5),
    "oxirane": ("C1CO1", [("cx", "h1"), ("cx", "h1"), ("op", None)]),
    "oxetane": ("C1COC1", [("cy", "hc"), ("cy", "h1"), ("oq", None), ("cy", "h1")]),
    "cyclopropene": ("C1=CC1", [("cu", "ha"), ("cu", "ha"), ("cx", "hc")]),
    "cyclobutene": ("C1=CCC1", [("cv", "ha"), ("cv", "ha"), ("cy", "hc"), ("cy", "hc")]),
    # amides: the C3(XA1) environment wins before any amine rule
    "acetamide": ("CC(N)=O", [("c3", "hc"), ("c", None), ("nt", "hn"), ("o", None)]),
    "N-methylacetamide": ("CC(=O)NC", [("c3", "hc"), ("c", None), ("o", None), ("ns", "hn"), ("c3", "h1")]),
    "N,N-dimethylacetamide": ("CC(=O)N(C)C",
                              [("c3", "hc"), ("c", None), ("o", None), ("n", None), ("c3", "h1"), ("c3", "h1")]),
    "N-acetylaziridine": ("CC(=O)N1CC1",
                          [("c3", "hc"), ("c", None), ("o", None), ("ni", None), ("cx", "h1"), ("cx", "h1")]),
    "N-acetylazetidine": ("CC(=O)N1CCC1", [("c3", "hc"), ("c", None), ("o", None), ("nj", None),
                                           ("cy", "h1"), ("cy", "hc"), ("cy", "h1")]),
    # carbonyl H: h4 (aldehyde, one EW) and h5 (formate, two EW) on sp2 carbon
    "acetaldehyde": ("CC=O", [("c3", "hc"), ("c", "h4"), ("o", None)]),
    "methyl formate": ("O=COC", [("o", None), ("c", "h5"), ("os", None), ("c3", "h1")]),
    # halogens and h2/h3
    "fluoroform": ("FC(F)F", [("f", None), ("c3", "h3"), ("f", None), ("f", None)]),
    "dichloromethane": ("ClCCl", [("cl", None), ("c3", "h2"), ("cl", None)]),
    "bromomethane": ("BrC", [("br", None), ("c3", "h1")]),
    "iodomethane": ("IC", [("i", None), ("c3", "h1")]),
    # conjugation: ce-ce single, ce=cf double (colouring flips across the double bond)
    "butadiene": ("C=CC=C", [("c2", "ha"), ("ce", "ha"), ("ce", "ha"), ("c2", "ha")]),
    "hexatriene": ("C=CC=CC=C",
                   [("c2", "ha"), ("ce", "ha"), ("ce", "ha"), ("cf", "ha"), ("cf", "ha"), ("c2", "ha")]),
    "cyclopentadiene": ("C1=CCC=C1",  # ring has an sp3 CH2 -> AR4, not planar: chain rules apply
                        [("ce", "ha"), ("c2", "ha"), ("c3", "hc"), ("c2", "ha"), ("ce", "ha")]),
    "acrylonitrile": ("C=CC#N", [("c2", "ha"), ("ce", "ha"), ("cg", None), ("n1", None)]),
    "vinylacetylene": ("C#CC=C", [("c1", "ha"), ("cg", None), ("ce", "ha"), ("c2", "ha")]),
    "2-butyne": ("CC#CC", [("c3", "hc"), ("c1", None), ("c1", None), ("c3", "hc")]),
    # N next to C=C: nh family; the vinyl CH on N gets h4 (one EW neighbour)
    "N,N-dimethylvinylamine": ("CN(C)C=C", [("c3", "h1"), ("nh", None), ("c3", "h1"), ("c2", "h4"), ("c2", "ha")]),
    "N-methylvinylamine": ("CNC=C", [("c3", "h1"), ("nu", "hn"), ("c2", "h4"), ("c2", "ha")]),
    "vinylamine": ("NC=C", [("nv", "hn"), ("c2", "h4"), ("c2", "ha")]),
    "N-vinylaziridine": ("C=CN1CC1", [("c2", "ha"), ("c2", "h4"), ("nm", None), ("cx", "h1"), ("cx", "h1")]),
    "N-vinylazetidine": ("C=CN1CCC1",
                         [("c2", "ha"), ("c2", "h4"), ("nn", None), ("cy", "h1"), ("cy", "hc"), ("cy", "h1")]),
}


def _mol(smiles: str) -> Chem.Mol:
    return Chem.AddHs(Chem.MolFromSmiles(smiles))


def _heavy_and_h_types(mol: Chem.Mol, types: list[str]) -> list[tuple[str, str | None]]:
    """(type, type of its H atoms) per heavy atom in index order; all H on one atom must agree."""
    pairs = []
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 1:
            continue
        h_types = {types[nb.GetIdx()] for nb in atom.GetNeighbors() if nb.GetAtomicNum() == 1}
        assert len(h_types) <= 1, f"atom {atom.GetIdx()} has H of several types {h_types}"
        pairs.append((types[atom.GetIdx()], h_types.pop() if h_types else None))
    return pairs


def _typed(smiles: str, gaff_version: str = "2.11") -> tuple[Chem.Mol, list[str]]:
    mol = _mol(smiles)
    return mol, assign_gaff2_types(mol, gaff_version=gaff_version)


ALL_CASES = {**PAPER_CHEMISTRY, **GENERIC}


@pytest.mark.parametrize("name", list(PAPER_CHEMISTRY))
def test_paper_chemistry_every_atom(name):
    smiles, expected = PAPER_CHEMISTRY[name]
    mol, types = _typed(smiles)
    assert len(types) == mol.GetNumAtoms()
    assert _heavy_and_h_types(mol, types) == expected


@pytest.mark.parametrize("name", list(GENERIC))
def test_generic_chemistry_every_atom(name):
    smiles, expected = GENERIC[name]
    mol, types = _typed(smiles)
    assert _heavy_and_h_types(mol, types) == expected


def test_gaff_2_2_20_types_five_and_six_ring_carbons():
    # The current DEF's c5/c6 rules (sp3 C in 5-/6-rings) apply only when GAFF 2.2.20 is targeted.
    mol, types = _typed(PC[0], "2.2.20")
    expected = list(PC[1])
    expected[1] = ("c5", "h1")
    expected[2] = ("c5", "h1")
    assert _heavy_and_h_types(mol, types) == expected
    mol, types = _typed("C1CCCCC1", "2.2.20")
    assert _heavy_and_h_types(mol, types) == [("c6", "hc")] * 6
    mol, types = _typed(BMP[0], "2.2.20")  # 3-rings stay cx: RG3 is tested before RG5/RG6
    assert _heavy_and_h_types(mol, types) == BMP[1]


def test_input_aromatic_flags_do_not_matter_for_nonaromatic_molecules():
    mol = _mol("CC1COC(=O)O1")
    Chem.Kekulize(mol, clearAromaticFlags=True)
    assert _heavy_and_h_types(mol, assign_gaff2_types(mol)) == PC[1]


def test_types_are_index_aligned_when_hydrogens_come_first():
    params = Chem.SmilesParserParams()
    params.removeHs = False
    mol = Chem.AddHs(Chem.MolFromSmiles("[H]C([H])([H])OC(C)=O", params))  # methyl acetate, H atoms 0, 2, 3
    types = assign_gaff2_types(mol)
    assert types[:8] == ["h1", "c3", "h1", "h1", "os", "c", "c3", "o"]
    assert types[8:] == ["hc"] * 3  # the acetyl H added by AddHs


# ------------------------------------------------------------------------------------------------
# Refusals: every untypable atom is named, with the supported chemistry
# ------------------------------------------------------------------------------------------------

def _typing_error(mol: Chem.Mol) -> str:
    with pytest.raises(AtomTypingError) as info:
        assign_gaff2_types(mol)
    message = str(info.value)
    assert "Supported:" in message
    return message


def _named_atoms(message: str) -> set[int]:
    return {int(line.split()[1]) for line in message.splitlines() if line.startswith("  atom ")}


def test_ions_are_refused_with_every_atom_named():
    message = _typing_error(_mol("[Na+].F[P-](F)(F)(F)(F)F"))
    assert _named_atoms(message) == set(range(8))  # Na, P and all six F
    assert "atom 2 (P, charge -1; neighbours F1, F3, F4, F5, F6, F7)" in message
    assert "ion force field" in message


def test_charged_organic_species_are_refused_whole():
    mol = _mol("C[NH3+]")
    assert _named_atoms(_typing_error(mol)) == set(range(mol.GetNumAtoms()))


def test_aromatic_ring_atoms_are_named():
    message = _typing_error(_mol("Cc1ccccc1"))
    assert _named_atoms(message) == {1, 2, 3, 4, 5, 6}  # the methyl is typable
    assert "atom 1 (C; neighbours C0, C2, C6)" in message
    assert "aromatic or planar ring" in message


def test_non_aromatic_planar_ring_is_refused_like_antechamber():
    # p-benzoquinone is not aromatic for RDKit, but its ring has no sp3 atom and exocyclic C=O, so
    # antechamber classes it AR3 and its CH= carbons would be cc/cd; the ring C=O carbons are c.
    assert _named_atoms(_typing_error(_mol("O=C1C=CC(=O)C=C1"))) == {2, 3, 6, 7}  # O0 C1 C2 C3 C4 O5 C6 C7


def test_pyrrole_nitrogen_is_refused():
    assert 3 in _named_atoms(_typing_error(_mol("c1cc[nH]c1")))


def test_imine_nitrogen_is_refused():
    message = _typing_error(_mol("CC=NC"))
    assert _named_atoms(message) == {2}
    assert "imine" in message


def test_sulfur_and_its_hydrogen_are_refused():
    mol = _mol("CS")
    message = _typing_error(mol)
    sulfur_h = next(n.GetIdx() for n in mol.GetAtomWithIdx(1).GetNeighbors() if n.GetAtomicNum() == 1)
    assert _named_atoms(message) == {1, sulfur_h}
    assert "sulfur" in message


def test_phosphorus_is_refused():
    assert _named_atoms(_typing_error(_mol("CP(C)C"))) == {1}


def test_dummy_attachment_atoms_are_refused():
    message = _typing_error(_mol("*CC(=O)OC"))
    assert _named_atoms(message) == {0}
    assert "capped fragment" in message


def test_implicit_hydrogens_are_refused():
    message = _typing_error(Chem.MolFromSmiles("CCO"))
    assert _named_atoms(message) == {0, 1, 2}
    assert "Chem.AddHs" in message


def test_radicals_are_refused():
    assert 0 in _named_atoms(_typing_error(_mol("[CH3]")))


def test_unknown_gaff_version_is_a_config_error():
    with pytest.raises(ConfigError, match="2.11"):
        assign_gaff2_types(_mol("C"), gaff_version="1.8")


# ------------------------------------------------------------------------------------------------
# Every type and every bonded term exists in openmmforcefields' GAFF2 ffxml
# ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _gaff_xml(version: str) -> ElementTree.Element:
    package = Path(importlib.util.find_spec("openmmforcefields").submodule_search_locations[0])
    return ElementTree.parse(package / "ffxml" / "amber" / "gaff" / "ffxml" / f"gaff-{version}.xml").getroot()


def _ffxml_types(version: str) -> set[str]:
    return {t.get("name") for t in _gaff_xml(version).find("AtomTypes")}


def _ffxml_terms(version: str, force: str, tag: str, n: int) -> set[tuple[str, ...]]:
    """Class tuples of one force, stored in both directions ('' is a wildcard in torsions)."""
    terms = set()
    for term in _gaff_xml(version).find(force).iter(tag):
        classes = tuple(term.get(f"class{k}") for k in range(1, n + 1))
        terms.update({classes, classes[::-1]})
    return terms


def _molecule_terms(mol: Chem.Mol, types: list[str]) -> tuple[set, set, set]:
    """Bond, angle and proper-torsion type tuples present in a molecule."""
    bonds, angles, torsions = set(), set(), set()
    for bond in mol.GetBonds():
        j, k = bond.GetBeginAtom(), bond.GetEndAtom()
        bonds.add((types[j.GetIdx()], types[k.GetIdx()]))
        for i in j.GetNeighbors():
            for l in k.GetNeighbors():
                if i.GetIdx() not in (k.GetIdx(), l.GetIdx()) and l.GetIdx() != j.GetIdx():
                    torsions.add(tuple(types[a.GetIdx()] for a in (i, j, k, l)))
    for centre in mol.GetAtoms():
        neighbours = [n.GetIdx() for n in centre.GetNeighbors()]
        for a, i in enumerate(neighbours):
            for k in neighbours[a + 1:]:
                angles.add((types[i], types[centre.GetIdx()], types[k]))
    return bonds, angles, torsions


def _torsion_known(torsion: tuple[str, ...], known: set[tuple[str, ...]]) -> bool:
    a, b, c, d = torsion
    return any(candidate in known for candidate in ((a, b, c, d), ("", b, c, d), (a, b, c, ""), ("", b, c, "")))


def _missing_terms(version: str, cases: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    """(molecule, 'bond'|'angle'|'torsion', type tuple) for every term the ffxml has no parameters for."""
    bond_terms = _ffxml_terms(version, "HarmonicBondForce", "Bond", 2)
    angle_terms = _ffxml_terms(version, "HarmonicAngleForce", "Angle", 3)
    torsion_terms = _ffxml_terms(version, "PeriodicTorsionForce", "Proper", 4)
    missing = []
    for name, (smiles, _) in cases.items():
        mol, types = _typed(smiles, version)
        bonds, angles, torsions = _molecule_terms(mol, types)
        missing += [(name, "bond", t) for t in sorted(bonds) if t not in bond_terms]
        missing += [(name, "angle", t) for t in sorted(angles) if t not in angle_terms]
        missing += [(name, "torsion", t) for t in sorted(torsions) if not _torsion_known(t, torsion_terms)]
    return missing


# Types that the ffxml defines (with Lennard-Jones terms) but gives no bond/angle terms: antechamber's
# workflow takes them from parmchk2, which substitutes an equivalent type (e.g. n7 -> n3).
_NO_BONDED_TERMS = {
    "2.11": frozenset({"n7", "n8", "n9", "n5", "n6", "ns", "nt", "nu", "nv", "nm", "nn"}),
    "2.2.20": frozenset({"nm", "nn"}),
}


def test_emitted_type_names_exist_in_each_gaff_ffxml():
    for version in GAFF2_VERSIONS:
        assert EMITTED_TYPES[version] <= _ffxml_types(version), version
    assert "c5" not in _ffxml_types("2.11")  # why 2.11 maps 5-/6-ring sp3 carbons to c3


@pytest.mark.parametrize("version", GAFF2_VERSIONS)
def test_all_types_produced_are_declared_and_exist(version):
    for name, (smiles, _) in ALL_CASES.items():
        _, types = _typed(smiles, version)
        assert set(types) <= EMITTED_TYPES[version] <= _ffxml_types(version) | {""}, name


@pytest.mark.parametrize("version", GAFF2_VERSIONS)
def test_paper_chemistry_has_every_bond_and_angle_parameter(version):
    # A wrong type (e.g. n3 for the aziridine N, c2 for the acrylate CH=) would show up here as a
    # bond or angle that GAFF2 does not parameterise.
    missing = [m for m in _missing_terms(version, PAPER_CHEMISTRY) if m[1] != "torsion"]
    assert not missing, missing


@pytest.mark.parametrize("version", GAFF2_VERSIONS)
def test_generic_chemistry_bonds_and_angles_exist_except_parmchk_only_types(version):
    missing = [m for m in _missing_terms(version, GENERIC) if m[1] != "torsion"]
    unexplained = [m for m in missing if not set(m[2]) & _NO_BONDED_TERMS[version]]
    assert not unexplained, unexplained
    # every type listed as lacking terms really does lack some in these molecules
    assert {t for m in missing for t in m[2]} >= _NO_BONDED_TERMS[version]


def test_paper_chemistry_torsions_missing_from_gaff_2_11_are_the_aziridine_ones():
    """Record for the System builder: gaff-2.11.xml has no proper torsion for these central bonds.

    They all involve the BMP aziridine (cx, np); antechamber's workflow fills them with parmchk2's
    equivalents (cx -> c3, np -> n3). Everything else in PC, FEC, TPA and the network fragments is
    covered, so OpenMM would silently drop only these torsions if nothing fills them.
    """
    missing = _missing_terms("2.11", PAPER_CHEMISTRY)
    assert {m[1] for m in missing} <= {"torsion"}
    centres = {frozenset(m[2][1:3]) for m in missing}
    assert centres == {frozenset({"c3", "cx"}), frozenset({"cx", "np"}), frozenset({"c3", "np"})}
    assert {m[0] for m in missing} == {"BMP", "BMP_half_opened"}


def test_parameterised_types_replace_the_types_gaff_2_11_gives_no_bond_terms():
    from forcefields.gaff2_typer import PARAMETER_EQUIVALENTS
    mol = _mol("CNC")  # dimethylamine: rule type n7, which gaff-2.11.xml has no bond term for
    assert "n7" in assign_gaff2_types(mol)
    types = assign_gaff2_types(mol, parameterised=True)
    assert "n7" not in types and types.count("n3") == 1
    # every substituted type is one of those lacking terms, and every substitute has terms
    assert set(PARAMETER_EQUIVALENTS["2.11"]) <= _NO_BONDED_TERMS["2.11"]
    assert not set(PARAMETER_EQUIVALENTS["2.11"].values()) & _NO_BONDED_TERMS["2.11"]
    assert assign_gaff2_types(mol, gaff_version="2.2.20", parameterised=True).count("n7") == 1
