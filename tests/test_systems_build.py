"""Species, structures, packing and the electrolyte builder."""

import json

import numpy as np
import pytest
from openmm import app

from common.errors import SpeciesError
from systems.build_electrolyte import build_electrolyte
from systems.species import BUILTIN_SPECIES, molecule_from_smiles
from workflow.config_vocabulary import load_workflow_config as load_config
from systems.structures import PF6_BOND_LENGTH_NM, conformer_positions


def test_builtin_species_formulas():
    formulas = {name: s.mol.GetNumAtoms() for name, s in BUILTIN_SPECIES.items()}
    assert formulas == {"PC": 13, "FEC": 10, "Na+": 1, "PF6-": 7, "BMP": 44, "TPA": 41,
                        "TMA+": 17, "TEA+": 29, "NO3-": 4}
    assert BUILTIN_SPECIES["PF6-"].formal_charge == -1
    assert BUILTIN_SPECIES["PC"].molar_mass_g_per_mol == pytest.approx(102.09, abs=0.01)


def test_unparseable_smiles():
    with pytest.raises(SpeciesError, match="cannot parse SMILES"):
        molecule_from_smiles("C1CC", "broken")


def test_pf6_template_is_an_ideal_octahedron():
    mol = BUILTIN_SPECIES["PF6-"].mol
    xyz = conformer_positions(mol, seed=1)
    p = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "P"][0]
    bonds = np.linalg.norm(np.delete(xyz, p, axis=0) - xyz[p], axis=1)
    assert np.allclose(bonds, PF6_BOND_LENGTH_NM)
    f = np.delete(xyz, p, axis=0) - xyz[p]
    cosines = np.round((f @ f.T) / PF6_BOND_LENGTH_NM**2, 6)
    assert sorted(cosines[np.triu_indices(6, 1)]) == [-1.0] * 3 + [0.0] * 12


def test_conformers_are_deterministic():
    mol = BUILTIN_SPECIES["PC"].mol
    assert np.array_equal(conformer_positions(mol, 7), conformer_positions(mol, 7))


@pytest.fixture(scope="module")
def small_le(tmp_path_factory):
    raw = {"name": "t", "seed": 3, "forcefield": {"nonbonded_cutoff": "0.9 nm"},
           "systems": {"LE": {"solvents": {"PC": 0.95, "FEC": 0.05},
                              "salt": {"concentration": "1 mol/L"}, "n_solvent": 60}}}
    out = tmp_path_factory.mktemp("build") / "LE"
    return build_electrolyte(load_config(raw), "LE", out), out


def test_builder_writes_topology_with_bonds_and_manifest(small_le):
    manifest, out = small_le
    pdb = app.PDBFile(str(out / "system.pdb"))
    counts = manifest["composition"]["counts"]
    assert manifest["n_atoms"] == pdb.topology.getNumAtoms()
    expected_bonds = counts["PC"] * 13 + counts["FEC"] * 10 + counts["PF6-"] * 6
    assert pdb.topology.getNumBonds() == expected_bonds
    residues = {r.name for r in pdb.topology.residues()}
    assert residues == {"PC", "FEC", "NA", "PF6"}
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["composition"]["molarity_convention"].startswith("mol of salt per litre")


def test_packing_respects_the_periodic_tolerance(small_le):
    _, out = small_le
    pdb = app.PDBFile(str(out / "system.pdb"))
    xyz = np.array(pdb.getPositions(asNumpy=True)._value)
    edge = pdb.topology.getUnitCellDimensions()[0]._value
    residue_of = np.array([a.residue.index for a in pdb.topology.atoms()])
    heavy = np.array([a.element.symbol != "H" for a in pdb.topology.atoms()])
    d = xyz[heavy][:, None, :] - xyz[heavy][None, :, :]
    d -= edge * np.round(d / edge)
    dist = np.linalg.norm(d, axis=-1)
    different = residue_of[heavy][:, None] != residue_of[heavy][None, :]
    assert dist[different].min() > 0.15  # packmol tolerance is 0.2 nm between atoms of different molecules


def test_same_seed_same_structure(tmp_path, small_le):
    manifest, out = small_le
    raw = {"name": "t", "seed": 3, "forcefield": {"nonbonded_cutoff": "0.9 nm"},
           "systems": {"LE": {"solvents": {"PC": 0.95, "FEC": 0.05},
                              "salt": {"concentration": "1 mol/L"}, "n_solvent": 60}}}
    build_electrolyte(load_config(raw), "LE", tmp_path / "again")
    assert (tmp_path / "again" / "system.pdb").read_text().splitlines()[1:] == \
        (out / "system.pdb").read_text().splitlines()[1:]
