"""Plausible Na binding sites of a molecule and where a Na atom starts at each.

A site is an atom with lone pairs that a Na atom (or the Na⁺ it becomes) can coordinate:

- ``amine N``: a trivalent sp3 N that is not an amide, nitro/nitrate or aromatic N (one lone pair);
  the Na starts along the lone-pair direction, opposite the sum of the N–substituent unit vectors.
- ``carbonyl O``: O double-bonded to C; the Na starts on the C=O axis beyond the O (the C=O···Na⁺
  geometry of carbonate–Na⁺ complexes).
- ``ester O`` (also carbonate ring O): a two-coordinate O between two C; the Na starts on the external
  bisector of the C–O–C angle.
- ``F``: a C–F fluorine; the Na starts on the C–F axis beyond the F.
- ``nitrate O``: an O of NO3⁻; the Na starts on the N–O axis beyond the O.
- ``ammonium face``: for a quaternary ammonium (no lone pair), the Na starts on the C3 axis of a face of
  three methyl groups, i.e. opposite one N–C bond, the only place it can approach the N.

Symmetry-equivalent atoms (RDKit ``CanonicalRankAtoms(breakTies=False)``) give one site. Start distances
(Å) are near the Na⁺–X contact distances of crystal structures (Na–O 2.3–2.4, Na–N 2.5, Na–F 2.3); the
Na position is then optimised (:mod:`descriptors.binding`), so they only choose the basin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

START_DISTANCE_ANGSTROM = {"amine N": 2.5, "carbonyl O": 2.3, "ester O": 2.4, "F": 2.3, "nitrate O": 2.3,
                           "ammonium face": 3.4}


@dataclass(frozen=True)
class Site:
    """A binding site: kind, the 0-based index of its atom, and the Na start position (Å)."""

    kind: str
    atom: int
    start_angstrom: tuple[float, float, float]

    @property
    def label(self) -> str:
        return f"{self.kind} (atom {self.atom})"


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def site_kind(atom) -> str | None:
    """The site kind of an RDKit atom, or None when it is not a plausible Na site."""
    el = atom.GetSymbol()
    nbrs = list(atom.GetNeighbors())
    if el == "F" and len(nbrs) == 1 and nbrs[0].GetSymbol() == "C":
        return "F"
    if el == "O":
        if len(nbrs) == 1 and nbrs[0].GetSymbol() == "N" and nbrs[0].GetFormalCharge() == 1:
            return "nitrate O"
        if len(nbrs) == 1 and nbrs[0].GetSymbol() == "C":
            bond = atom.GetOwningMol().GetBondBetweenAtoms(atom.GetIdx(), nbrs[0].GetIdx())
            if bond.GetBondTypeAsDouble() == 2.0:
                return "carbonyl O"
        if len(nbrs) == 2 and all(n.GetSymbol() == "C" for n in nbrs):
            return "ester O"
        return None
    if el == "N":
        if atom.GetFormalCharge() == 1 and len(nbrs) == 4 and all(n.GetSymbol() == "C" for n in nbrs):
            return "ammonium face"
        if atom.GetFormalCharge() != 0 or atom.GetIsAromatic() or len(nbrs) != 3:
            return None
        for n in nbrs:  # amide N: conjugated with a C=O, no free lone pair
            if n.GetSymbol() == "C" and any(b.GetBondTypeAsDouble() == 2.0 and b.GetOtherAtom(n).GetSymbol() == "O"
                                            for b in n.GetBonds()):
                return None
        return "amine N"
    return None


def find_sites(mol, coordinates_angstrom: np.ndarray) -> list[Site]:
    """Every symmetry-unique plausible site of ``mol`` (RDKit, explicit H) at the given coordinates."""
    from rdkit import Chem

    xyz = np.asarray(coordinates_angstrom, float)
    ranks = list(Chem.CanonicalRankAtoms(mol, breakTies=False))
    seen: set[tuple[str, int]] = set()
    sites = []
    for atom in mol.GetAtoms():
        kind = site_kind(atom)
        if kind is None or (kind, ranks[atom.GetIdx()]) in seen:
            continue
        seen.add((kind, ranks[atom.GetIdx()]))
        i = atom.GetIdx()
        nbr = [n.GetIdx() for n in atom.GetNeighbors()]
        if kind == "ammonium face":
            direction = _unit(xyz[i] - xyz[nbr[0]])  # opposite one N-C bond: the face of the other three
        else:
            direction = _unit(sum(_unit(xyz[i] - xyz[j]) for j in nbr))
        start = xyz[i] + START_DISTANCE_ANGSTROM[kind] * direction
        sites.append(Site(kind, i, tuple(float(x) for x in start)))
    return sites
