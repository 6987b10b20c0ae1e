"""Molecules from SMILES and the atom-naming rule, one of each for the whole project.

- :func:`molecule_from_smiles`: an RDKit molecule with explicit hydrogens, refused with
  :class:`common.errors.SpeciesError` when RDKit cannot read the SMILES, when it holds an element our force
  field does not cover (:data:`SUPPORTED_ELEMENTS`), or when it has radical electrons.
- :func:`atom_names`: element symbol + running index per element, in atom order (C1, C2, O1, H1, ...),
  unique within a residue. Residue templates (:mod:`forcefields.build_template`, the network unit templates)
  and the topologies of packed boxes (:mod:`systems.topology`, :mod:`systems.network`) use this one rule,
  which is what lets OpenMM match every residue to its template by atom name.
"""

from __future__ import annotations

from typing import Iterable

from rdkit import Chem

from common.errors import SpeciesError

SUPPORTED_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "P", "Na"})
"""Elements our force field covers: GAFF2 organics plus the Na+/PF6- ion parameters (data/ions.xml)."""


def molecule_from_smiles(smiles: str, name: str = "") -> Chem.Mol:
    """Parse ``smiles`` into an RDKit molecule with explicit hydrogens, or raise :class:`SpeciesError`.

    ``name`` (the species or residue) only labels the error message.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SpeciesError(f"species {name!r}: RDKit cannot parse SMILES {smiles!r}")
    unsupported = sorted({a.GetSymbol() for a in mol.GetAtoms()} - SUPPORTED_ELEMENTS)
    if unsupported:
        raise SpeciesError(f"species {name!r}: SMILES {smiles!r} contains element(s) {unsupported}; "
                           f"supported elements: {sorted(SUPPORTED_ELEMENTS)}")
    if any(a.GetNumRadicalElectrons() for a in mol.GetAtoms()):
        raise SpeciesError(f"species {name!r}: SMILES {smiles!r} has radical electrons; give a closed-shell "
                           "molecule with explicit charges")
    return Chem.AddHs(mol)


def atom_names(elements: Iterable[str]) -> list[str]:
    """Element symbol + running index per element, in atom order: C1, C2, O1, H1, ..."""
    counts: dict[str, int] = {}
    names = []
    for element in elements:
        counts[element] = counts.get(element, 0) + 1
        names.append(f"{element}{counts[element]}")
    return names


def molecule_atom_names(mol: Chem.Mol) -> list[str]:
    """:func:`atom_names` of an RDKit molecule's atoms."""
    return atom_names(a.GetSymbol() for a in mol.GetAtoms())
