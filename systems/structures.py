"""3D structures of single molecules.

Organic molecules: RDKit ETKDGv3 embedding then MMFF94 optimisation, with a fixed seed (same seed, same
conformer). PF6- cannot be embedded by RDKit (hypervalent P) and MMFF/UFF have no octahedral P: it comes
from an ideal octahedral template with the experimental P–F bond length. Monatomic ions sit at the origin.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from common.errors import SpeciesError

# P–F bond length of PF6- in crystalline salts, ~1.58–1.60 Å; 1.606 Å is the CL&P equilibrium value used
# by our PF6- parameters (forcefields/data/ions.xml), so the template starts at the force-field minimum.
PF6_BOND_LENGTH_NM = 0.1606


def _is_pf6(mol: Chem.Mol) -> bool:
    symbols = sorted(a.GetSymbol() for a in mol.GetAtoms())
    return symbols == ["F"] * 6 + ["P"] and Chem.GetFormalCharge(mol) == -1


def octahedral_pf6_positions(mol: Chem.Mol) -> np.ndarray:
    """Positions (nm) of PF6- atoms in ``mol`` order: P at the origin, F along ±x, ±y, ±z.

    The two F atoms of each trans pair sit on opposite ends of one axis; trans pairs are assigned in atom
    order, which is arbitrary but harmless because all six F are equivalent.
    """
    directions = iter(np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float))
    positions = np.zeros((mol.GetNumAtoms(), 3))
    for atom in mol.GetAtoms():
        if atom.GetSymbol() == "F":
            positions[atom.GetIdx()] = next(directions) * PF6_BOND_LENGTH_NM
    return positions


def conformer_positions(mol: Chem.Mol, seed: int, name: str = "") -> np.ndarray:
    """Return one low-energy conformer of ``mol`` (explicit H) as an (n_atoms, 3) array in nm."""
    if mol.GetNumAtoms() == 1:
        return np.zeros((1, 3))
    if _is_pf6(mol):
        return octahedral_pf6_positions(mol)
    work = Chem.Mol(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(work, params) != 0:
        raise SpeciesError(f"species {name!r}: RDKit could not embed a 3D structure for "
                           f"{Chem.MolToSmiles(Chem.RemoveHs(mol))!r}")
    if AllChem.MMFFHasAllMoleculeParams(work):
        AllChem.MMFFOptimizeMolecule(work, maxIters=2000)
    else:
        AllChem.UFFOptimizeMolecule(work, maxIters=2000)
    return np.array(work.GetConformer().GetPositions()) / 10.0
