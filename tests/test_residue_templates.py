"""Residue templates: exact integer rounding, ffxml write/read, loading with gaff-2.11.xml, cached PC/FEC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from common.errors import InputFileError, ParameterError
from forcefields.build_template import main
from forcefields.molecules import atom_names as atom_names_for
from forcefields.molecules import molecule_from_smiles
from forcefields.residue_templates import (check_template_system, gaff2_type_elements, integer_charges,
                                           read_residue_template, read_residue_templates, single_residue_topology,
                                           write_residue_template)

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "forcefields" / "data" / "templates"

# methanol with hand-assigned GAFF2 types and charges that are 3e-6 e off neutral
METHANOL = dict(
    atom_names=["C1", "O1", "H1", "H2", "H3", "H4"],
    elements=["C", "O", "H", "H", "H", "H"],
    types=["c3", "oh", "h1", "h1", "h1", "ho"],
    charges=[0.1166671, -0.6497781, 0.0287771, 0.0287771, 0.0287771, 0.4467827],
    bonds=[(0, 1), (0, 2), (0, 3), (0, 4), (1, 5)],
)


def _write_methanol(path, **overrides):
    args = {**METHANOL, **overrides}
    return write_residue_template(path, "MOH", args["atom_names"], args["elements"], args["types"],
                                  args["charges"], args["bonds"], provenance={"charge_method": "test charges",
                                                                              "esp_rrms_resp": "0.1"},
                                  **{k: v for k, v in overrides.items() if k in ("external_bonds", "total_charge")})


def test_integer_charges_sum_exactly_and_keep_equal_charges_equal():
    q = np.array(METHANOL["charges"])
    units = integer_charges(q)
    assert sum(units) == 0
    assert units[2] == units[3] == units[4]
    assert np.abs(np.array(units) / 1e6 - (q - q.sum() / q.size)).max() <= q.size / 2 * 1e-6
    # a charged residue
    assert sum(integer_charges([0.5000004, 0.25, 0.25])) == 1_000_000
    # every atom shares its charge: residue spread as 1e-6 steps
    thirds = integer_charges([1 / 3] * 3)
    assert sum(thirds) == 1_000_000 and max(thirds) - min(thirds) == 1


def test_integer_charges_refuses_non_integer_total():
    with pytest.raises(ParameterError, match="away from the integer"):
        integer_charges([0.3, 0.3])
    with pytest.raises(ParameterError, match="away from the integer"):
        integer_charges([0.5, 0.5], total=0)


def test_write_read_round_trip(tmp_path):
    path = tmp_path / "MOH.xml"
    written = _write_methanol(path)
    tpl = read_residue_template(path)
    assert tpl.name == "MOH"
    assert tpl.atom_names == tuple(METHANOL["atom_names"])
    assert tpl.types == tuple(METHANOL["types"])
    assert tpl.elements == tuple(METHANOL["elements"])
    assert list(tpl.charges) == written
    assert tpl.total_charge == 0.0
    assert np.allclose(tpl.charges, METHANOL["charges"], atol=5e-6)
    assert tpl.bonds[0] == ("C1", "O1") and len(tpl.bonds) == 5
    assert tpl.external_bonds == ()
    assert tpl.provenance["charge_method"] == "test charges"
    assert "date" in tpl.provenance and "exactly 0 e" in tpl.provenance["charge_rounding"]
    text = path.read_text()
    assert 'charge="0.116667"' in text and "<!--" in text
    assert read_residue_templates(path).keys() == {"MOH"}


def test_external_bonds_and_charged_residue(tmp_path):
    path = tmp_path / "UNIT.xml"
    charges = [0.2, -0.1, 0.3, 0.2, 0.2, 0.2]  # +1 e unit
    write_residue_template(path, "UNIT", METHANOL["atom_names"], METHANOL["elements"], METHANOL["types"],
                           charges, METHANOL["bonds"], external_bonds=["C1", 1])
    tpl = read_residue_template(path, "UNIT")
    assert tpl.external_bonds == ("C1", "O1")
    assert tpl.total_charge == 1.0


@pytest.mark.parametrize("override,match", [
    ({"types": ["c3", "oh", "h1", "h1", "h1", "xx"]}, "not a GAFF2 type"),
    ({"elements": ["C", "O", "H", "H", "H", "C"]}, "disagrees with GAFF2 type"),
    ({"atom_names": ["C1", "O1", "H1", "H1", "H3", "H4"]}, "unique"),
    ({"bonds": [(0, 1), (0, 9)]}, "out of range"),
    ({"bonds": [(0, 1), ("O1", "C1")]}, "listed twice"),
    ({"charges": [0.1] * 6}, "away from the integer"),
    ({"charges": [0.1] * 5}, "equally long"),
])
def test_writer_rejects_bad_input(tmp_path, override, match):
    with pytest.raises(ParameterError, match=match):
        _write_methanol(tmp_path / "bad.xml", **override)
    assert not (tmp_path / "bad.xml").exists()


def test_reader_errors(tmp_path):
    with pytest.raises(InputFileError):
        read_residue_template(tmp_path / "missing.xml")
    (tmp_path / "empty.xml").write_text("<ForceField/>")
    with pytest.raises(ParameterError, match="no <Residues>"):
        read_residue_template(tmp_path / "empty.xml")


def test_template_loads_with_gaff2_and_gives_integer_system_charge(tmp_path):
    path = tmp_path / "MOH.xml"
    _write_methanol(path)
    top = single_residue_topology("MOH", METHANOL["atom_names"], METHANOL["elements"], METHANOL["bonds"])
    check = check_template_system([path], top)
    assert abs(check["total_charge_e"]) < 1e-9
    assert check["n_bonds"] == 5 and check["n_angles"] == 7


def test_missing_template_fails_loudly(tmp_path):
    path = tmp_path / "MOH.xml"
    _write_methanol(path)
    top = single_residue_topology("XYZ", ["C1", "O1"], ["C", "O"], [(0, 1)])
    with pytest.raises(ParameterError, match="could not build a System"):
        check_template_system([path], top)


def test_gaff2_type_table_has_the_carbonate_types():
    table = gaff2_type_elements()
    assert table["c"] == "C" and table["os"] == "O" and table["f"] == "F" and table["hc"] == "H"


def test_atom_names_are_element_plus_running_index():
    assert atom_names_for(["C", "C", "O", "H", "C", "H"]) == ["C1", "C2", "O1", "H1", "C3", "H2"]


@pytest.mark.parametrize("residue,smiles", [("PC", "CC1COC(=O)O1"), ("FEC", "O=C1OCC(F)O1")])
def test_cached_templates_build_a_neutral_system(residue, smiles):
    path = TEMPLATE_DIR / f"{residue}.xml"
    tpl = read_residue_template(path, residue)
    mol = molecule_from_smiles(smiles)
    elements = [a.GetSymbol() for a in mol.GetAtoms()]
    assert tpl.atom_names == tuple(atom_names_for(elements))
    assert tpl.elements == tuple(elements)
    assert tpl.total_charge == 0.0
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    check = check_template_system([path], single_residue_topology(residue, tpl.atom_names, elements, bonds))
    assert abs(check["total_charge_e"]) < 1e-9
    assert check["n_bonds"] == mol.GetNumBonds()
    # symmetry-equivalent hydrogens carry identical written charges
    ranks = list(Chem.CanonicalRankAtoms(mol, breakTies=False))
    for i in range(len(elements)):
        for j in range(i):
            if ranks[i] == ranks[j]:
                assert tpl.charges[i] == tpl.charges[j]
    prov = tpl.provenance
    assert "RHF/6-31G*" in prov["qm_method"] and float(prov["esp_rrms_resp"]) < 0.15
    assert prov["smiles"] == smiles and "Merz-Kollman" in prov["esp_grid"]


def test_cached_template_types_match_the_typer():
    pytest.importorskip("forcefields.gaff2_typer")
    from forcefields.gaff2_typer import assign_gaff2_types

    for residue, smiles in (("PC", "CC1COC(=O)O1"), ("FEC", "O=C1OCC(F)O1")):
        tpl = read_residue_template(TEMPLATE_DIR / f"{residue}.xml")
        assert tpl.types == tuple(assign_gaff2_types(molecule_from_smiles(smiles), parameterised=True))


@pytest.mark.qm
def test_cli_builds_a_template(tmp_path, capsys):
    out = tmp_path / "MOH.xml"
    assert main(["--smiles", "CO", "--residue", "MOH", "--out", str(out)]) == 0
    tpl = read_residue_template(out, "MOH")
    assert tpl.atom_names == ("C1", "O1", "H1", "H2", "H3", "H4")
    assert tpl.total_charge == 0.0
    assert tpl.charges[2] == tpl.charges[3] == tpl.charges[4]
    assert "--smiles 'CO'" in tpl.provenance["command"]
    assert "ESP RRMS" in capsys.readouterr().out
    # a charge that contradicts the SMILES is refused with a message, exit status 1
    assert main(["--smiles", "CO", "--residue", "MOH", "--out", str(out), "--charge", "1"]) == 1
