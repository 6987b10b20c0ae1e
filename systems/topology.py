"""OpenMM topologies of packed systems: one residue per molecule, bonds from the RDKit graph.

Atom names follow the one naming rule of the residue templates (:func:`forcefields.molecules.atom_names`:
element symbol plus a running index per element within the residue, C1, C2, O1, H1 …). Chains group molecules of one
species, so a topology reads species by chain or by residue name.
"""

from __future__ import annotations

from openmm import app
from rdkit import Chem

from forcefields.molecules import molecule_atom_names


def append_molecules(topology: app.Topology, mol: Chem.Mol, residue_name: str, count: int) -> None:
    """Add ``count`` copies of ``mol`` to ``topology`` as residues ``residue_name`` in a new chain."""
    if count == 0:
        return
    chain = topology.addChain()
    names = molecule_atom_names(mol)
    elements = [app.Element.getBySymbol(a.GetSymbol()) for a in mol.GetAtoms()]
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), b.GetBondTypeAsDouble()) for b in mol.GetBonds()]
    for _ in range(count):
        residue = topology.addResidue(residue_name, chain)
        atoms = [topology.addAtom(name, element, residue) for name, element in zip(names, elements)]
        for i, j, order in bonds:
            topology.addBond(atoms[i], atoms[j], order=int(order) if order.is_integer() else None)
