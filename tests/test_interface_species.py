"""The LE(TEA) additive's ions by the GAFF2 rules: quaternary ammonium (tetramethyl-, tetraethylammonium) and nitrate.

antechamber's ATOMTYPE_GFF2.DEF: ``n4 * 7 4`` (sp3 N with four connected atoms), ``hx * 1 1 (C(N4))`` (H on a
carbon bonded to such an N), ``no * 7 3 (O1,O1)`` (nitro N) and ``o * 8 1``. Other charged species stay refused
(Na+ and PF6- take the ion force field; a protonated amine has no rule here).
"""

from pathlib import Path

import pytest

from common.errors import AtomTypingError
from forcefields.gaff2_typer import assign_gaff2_types
from forcefields.molecules import molecule_from_smiles

TEMPLATES = Path(__file__).resolve().parents[1] / "forcefields" / "data" / "templates"


def _types(smiles):
    mol = molecule_from_smiles(smiles, "x")
    return {(a.GetSymbol(), t) for a, t in zip(mol.GetAtoms(), assign_gaff2_types(mol, parameterised=True))}


def test_tetramethylammonium():
    assert _types("C[N+](C)(C)C") == {("N", "n4"), ("C", "c3"), ("H", "hx")}


def test_tetraethylammonium_methyl_hydrogens_are_hc():
    assert _types("CC[N+](CC)(CC)CC") == {("N", "n4"), ("C", "c3"), ("H", "hx"), ("H", "hc")}


def test_nitrate():
    assert _types("[O-][N+](=O)[O-]") == {("N", "no"), ("O", "o")}


@pytest.mark.parametrize("smiles", ["C[NH3+]", "F[P-](F)(F)(F)(F)F", "[Na+]"])
def test_other_charged_species_are_still_refused(smiles):
    with pytest.raises(AtomTypingError, match="charged species"):
        assign_gaff2_types(molecule_from_smiles(smiles, "x"))


@pytest.mark.parametrize("residue, charge, types", [("NO3", -1, {"no", "o"}), ("TMA", 1, {"n4", "c3", "hx"}),
                                                    ("TEA", 1, {"n4", "c3", "hx", "hc"})])
def test_shipped_templates_carry_integer_charge_and_gaff2_types(residue, charge, types):
    import xml.etree.ElementTree as ET

    root = ET.parse(TEMPLATES / f"{residue}.xml").getroot()
    atoms = root.findall("./Residues/Residue/Atom")
    assert sum(float(a.get("charge")) for a in atoms) == pytest.approx(charge, abs=1e-6)
    type_names = {t.get("name"): t.get("class") for t in root.findall("./AtomTypes/Type")}
    assert {type_names.get(a.get("type"), a.get("type")) for a in atoms} == types
