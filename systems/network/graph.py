"""The molecular graph of a crosslinking system, edited in place (no RDKit reaction SMARTS on big molecules).

Atoms live in one master list; every residue owns a fixed superset of atoms. A polymer residue also owns
the two end atoms of its reactive group, which are *present* only in the states that need them (S: end on
Y, E: end on X; :mod:`systems.network.reactions`). Forming a network bond is then a constant-time edit:
lower the order of the group's opening bond on first reaction, add the X–Y bond, switch end atoms on or off
and rename the two residues to their new state templates. The OpenMM Topology is generated from the present
atoms each cycle.

Coordinates (nm) are kept as integrated by OpenMM (molecules are never re-wrapped), and every bond vector
is taken with the minimum-image convention, because network bonds cross the periodic boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from openmm import app, unit
from rdkit import Chem

from forcefields.molecules import molecule_atom_names
from systems.network.monomer import MonomerModel, PieceType, editable_molecule, state_of
from common.periodic import minimum_image, walk_bonded_clusters

VALENCE = {"H": 1, "C": 4, "N": 3, "O": 2, "F": 1, "Cl": 1, "Br": 1, "I": 1}
"""Valence of the neutral atoms of the elements the GAFF2 typer supports (forcefields.gaff2_typer)."""
END_BOND_LENGTH_NM = {("N", "H"): 0.101, ("C", "H"): 0.109, ("C", "F"): 0.138, ("O", "H"): 0.097}


@dataclass
class Residue:
    name: str
    atoms: tuple[int, ...]  # master indices (the superset for polymer pieces)
    monomer: int | None = None  # monomer instance
    ptype: PieceType | None = None
    state: str = ""
    species: str = ""


@dataclass
class Site:
    """One reactive group instance."""

    residue: int
    monomer: int
    x: int
    y: int
    end_x: int
    end_y: int
    opened_bond_order: int
    x_partner: int | None = None  # site whose Y is bonded to our X
    y_partner: int | None = None  # site whose X is bonded to our Y
    reacted: bool = False

    @property
    def state(self) -> str:
        return state_of(self.x_partner is not None, self.y_partner is not None, self.reacted)


class NetworkGraph:
    """Atoms, bonds, residues and reactive sites of a packed system, with in-place bond formation."""

    def __init__(self, box_nm: np.ndarray):
        self.box = np.asarray(box_nm, dtype=float)
        self.elements: list[str] = []
        self.names: list[str] = []
        self.present: list[bool] = []
        self.positions: list[np.ndarray] = []
        self.bonds: dict[tuple[int, int], int] = {}
        self.residues: list[Residue] = []
        self.sites: list[Site] = []
        self.monomer_models: list[MonomerModel] = []  # per monomer instance
        self.monomer_masses: list[float] = []
        self.network_bonds: list[tuple[int, int]] = []  # (site giving X, site giving Y)
        self.rings: list[tuple[int, ...]] = []  # small rings of molecules (for ring-piercing checks)

    # ------------------------------------------------------------------ construction
    def _new_atom(self, element: str, name: str, position, present: bool = True) -> int:
        self.elements.append(element)
        self.names.append(name)
        self.present.append(present)
        self.positions.append(np.asarray(position, dtype=float))
        return len(self.elements) - 1

    def _bond(self, i: int, j: int, order: int) -> None:
        key = (min(i, j), max(i, j))
        if order <= 0:
            self.bonds.pop(key, None)
        else:
            self.bonds[key] = int(order)

    def add_molecule(self, mol: Chem.Mol, residue: str, species: str, positions_nm: np.ndarray) -> None:
        """One non-reactive molecule (solvent, ion) as one residue."""
        names = molecule_atom_names(mol)
        atoms = tuple(self._new_atom(a.GetSymbol(), n, p) for a, n, p in zip(mol.GetAtoms(), names, positions_nm))
        for b in mol.GetBonds():
            self._bond(atoms[b.GetBeginAtomIdx()], atoms[b.GetEndAtomIdx()], int(b.GetBondTypeAsDouble()))
        for ring in mol.GetRingInfo().AtomRings():
            if len(ring) <= 6:
                self.rings.append(tuple(atoms[i] for i in ring))
        self.residues.append(Residue(residue, atoms, species=species))

    def add_monomer(self, model: MonomerModel, positions_nm: np.ndarray, mass: float) -> None:
        """One monomer molecule as its residues, all groups unreacted."""
        m = len(self.monomer_models)
        self.monomer_models.append(model)
        self.monomer_masses.append(mass)
        master_of: dict[int, int] = {}
        piece_residue = []
        for type_key, monomer_atoms in model.pieces:
            ptype = model.piece_types[type_key]
            atoms = [self._new_atom(ptype.elements[n], ptype.names[n], positions_nm[a])
                     for n, a in enumerate(monomer_atoms)]
            for n, a in enumerate(monomer_atoms):
                master_of[a] = atoms[n]
            if ptype.kind == "arm":
                atoms.append(self._new_atom(ptype.elements[ptype.end_x], ptype.names[ptype.end_x],
                                            positions_nm[monomer_atoms[ptype.x]], present=False))
                atoms.append(self._new_atom(ptype.elements[ptype.end_y], ptype.names[ptype.end_y],
                                            positions_nm[monomer_atoms[ptype.y]], present=False))
            state = "U" if ptype.kind == "arm" else ""
            for i, j, order in ptype.bonds:
                self._bond(atoms[i], atoms[j], order)
            self.residues.append(Residue(ptype.residue_names[state], tuple(atoms), m, ptype, state,
                                         species=model.name))
            piece_residue.append(len(self.residues) - 1)
        for pa, la, pb, lb in model.inner_bonds:
            self._bond(self.residues[piece_residue[pa]].atoms[la], self.residues[piece_residue[pb]].atoms[lb], 1)
        for p in model.arm_pieces:
            r = self.residues[piece_residue[p]]
            t = r.ptype
            self.sites.append(Site(residue=piece_residue[p], monomer=m, x=r.atoms[t.x], y=r.atoms[t.y],
                                   end_x=r.atoms[t.end_x], end_y=r.atoms[t.end_y],
                                   opened_bond_order=t.opened_bond_order))
            if t.opened_bond_order == 0:  # the group is a ring while unreacted
                self.rings.append(self._group_ring(r, t))

    def _group_ring(self, r: Residue, t: PieceType) -> tuple[int, ...]:
        """Atoms of the small ring containing X and Y of an unreacted ring group (aziridine: 3 atoms)."""
        x, y = t.x, t.y
        neighbours = {}
        for i, j, _ in t.bonds:
            neighbours.setdefault(i, set()).add(j)
            neighbours.setdefault(j, set()).add(i)
        common = sorted((neighbours[x] & neighbours[y]))
        return tuple(r.atoms[a] for a in [y, x] + common[:1])

    # ------------------------------------------------------------------ queries
    @property
    def n_atoms(self) -> int:
        return len(self.elements)

    def positions_array(self) -> np.ndarray:
        return np.array(self.positions)

    def neighbours(self, i: int) -> list[int]:
        return [b if a == i else a for (a, b) in self.bonds if a == i or b == i]

    def adjacency(self) -> dict[int, list[int]]:
        adj: dict[int, list[int]] = {}
        for a, b in self.bonds:
            adj.setdefault(a, []).append(b)
            adj.setdefault(b, []).append(a)
        return adj

    def conversion(self) -> float:
        return sum(s.reacted for s in self.sites) / len(self.sites) if self.sites else 0.0

    def active_rings(self) -> list[tuple[int, ...]]:
        """Rings that still exist (aziridine rings of reacted groups are gone)."""
        return [r for r in self.rings if all((min(a, b), max(a, b)) in self.bonds
                                             for a, b in zip(r, r[1:] + r[:1]))]

    # ------------------------------------------------------------------ editing
    def _place_end_atom(self, heavy: int, end: int, away_from: int | None) -> None:
        pos = self.positions
        vectors = [minimum_image(pos[n] - pos[heavy], self.box) for n in self.neighbours(heavy) if n != end]
        units = [v / np.linalg.norm(v) for v in vectors if np.linalg.norm(v) > 1e-6]
        direction = -np.sum(units, axis=0) if units else np.array([1.0, 0.0, 0.0])
        if np.linalg.norm(direction) < 0.3 and len(units) >= 2:  # planar sp2 centre: go along the normal
            normal = np.cross(units[1] - units[0], units[-1] - units[0]) if len(units) > 2 else \
                np.cross(units[0], units[1])
            if away_from is not None and np.dot(normal, minimum_image(pos[away_from] - pos[heavy], self.box)) > 0:
                normal = -normal
            direction = normal
        direction = direction / np.linalg.norm(direction)
        pair = (self.elements[heavy], self.elements[end])
        length = END_BOND_LENGTH_NM.get(pair, 0.11)
        self.positions[end] = pos[heavy] + direction * length
        self.present[end] = True
        self._bond(heavy, end, 1)

    def _remove_end_atom(self, heavy: int, end: int) -> None:
        self.present[end] = False
        self._bond(heavy, end, 0)

    def _open(self, site: Site) -> None:
        self._bond(site.x, site.y, site.opened_bond_order)
        site.reacted = True

    def _rename(self, site: Site) -> None:
        r = self.residues[site.residue]
        r.state = site.state
        r.name = r.ptype.residue_names[r.state]

    def form_bond(self, i: int, j: int) -> None:
        """Bond X of site ``i`` to Y of site ``j`` (i != j), updating states, end atoms and residue names."""
        if i == j:
            raise ValueError("a group cannot bond to itself")
        si, sj = self.sites[i], self.sites[j]
        if si.x_partner is not None or sj.y_partner is not None:
            raise ValueError(f"site {i} X or site {j} Y already bonded")
        first_i, first_j = not si.reacted, not sj.reacted
        if first_i:
            self._open(si)
        if first_j:
            self._open(sj)
        if not first_i and si.y_partner is not None:
            self._remove_end_atom(si.x, si.end_x)  # E -> M
        if not first_j and sj.x_partner is not None:
            self._remove_end_atom(sj.y, sj.end_y)  # S -> M
        self._bond(si.x, sj.y, 1)
        si.x_partner, sj.y_partner = j, i
        if first_i:
            self._place_end_atom(si.y, si.end_y, away_from=si.x)
        if first_j:
            self._place_end_atom(sj.x, sj.end_x, away_from=sj.y)
        self.network_bonds.append((i, j))
        self._rename(si)
        self._rename(sj)

    def break_bond(self, i: int, j: int) -> None:
        """Undo :meth:`form_bond` (X of site ``i`` to Y of site ``j``): the exact inverse of the edit.

        A group whose only network bond this was returns to U (its opening bond closes again and its end atom
        goes); an interior group (M) becomes a chain end again and gets its end atom back.
        """
        si, sj = self.sites[i], self.sites[j]
        if si.x_partner != j or sj.y_partner != i:
            raise ValueError(f"no network bond from X of site {i} to Y of site {j}")
        self._bond(si.x, sj.y, 0)
        si.x_partner, sj.y_partner = None, None
        self.network_bonds.remove((i, j))
        if si.y_partner is None:  # S -> U
            self._close(si, end=si.end_y)
        else:  # M -> E
            self._place_end_atom(si.x, si.end_x, away_from=si.y)
        if sj.x_partner is None:  # E -> U
            self._close(sj, end=sj.end_x)
        else:  # M -> S
            self._place_end_atom(sj.y, sj.end_y, away_from=sj.x)
        self._rename(si)
        self._rename(sj)

    def _close(self, site: Site, end: int) -> None:
        """An opened group back to its unreacted form: the end atom goes, the opening bond regains its order."""
        heavy = site.y if end == site.end_y else site.x
        self._remove_end_atom(heavy, end)
        self._bond(site.x, site.y, site.opened_bond_order + 1)
        site.reacted = False

    # ------------------------------------------------------------------ export
    def topology(self) -> tuple[app.Topology, list[int]]:
        """OpenMM Topology of the present atoms and the master index of each Topology atom."""
        top = app.Topology()
        top.setPeriodicBoxVectors(np.diag(self.box) * unit.nanometer)
        order: list[int] = []
        omm: dict[int, object] = {}
        chains: dict[str, object] = {}
        for r in self.residues:
            key = "polymer" if r.ptype is not None else r.species
            if key not in chains:
                chains[key] = top.addChain()
            res = top.addResidue(r.name, chains[key])
            for a in r.atoms:
                if self.present[a]:
                    omm[a] = top.addAtom(self.names[a], app.Element.getBySymbol(self.elements[a]), res)
                    order.append(a)
        for (a, b), bond_order in sorted(self.bonds.items()):
            if a in omm and b in omm:
                top.addBond(omm[a], omm[b], order=bond_order)
        return top, order

    def make_molecules_whole(self) -> int:
        """Give every bonded cluster image-consistent coordinates; returns how many clusters percolate.

        Each cluster of present atoms is walked from its lowest atom index along its bonds, and every atom is
        put at its bonded neighbour + the minimum-image bond vector (:func:`common.periodic.
        walk_bonded_clusters`). A new network bond joins two atoms that
        may sit in different periodic images; without this step the joined molecule's raw coordinates are
        split by a box vector, and a barostat that scales molecules as rigid units (the right choice for
        liquids with constraints, :mod:`simulation.system_prep`) would then stretch every such bond by the
        box change of each volume move. A cluster bonded to its own periodic image (percolating) cannot be
        made whole: its spanning tree is made consistent and it is counted.
        """
        present = [a for a in range(self.n_atoms) if self.present[a]]
        unwrapped, clusters = walk_bonded_clusters(self.positions, self.box, self.adjacency(), present)
        for a, xyz in unwrapped.items():
            self.positions[a] = xyz
        return sum(1 for c in clusters if c.percolating_axes)

    def set_positions(self, order: list[int], positions_nm: np.ndarray, box_nm: np.ndarray) -> None:
        for k, a in enumerate(order):
            self.positions[a] = np.asarray(positions_nm[k], dtype=float)
        self.box = np.asarray(box_nm, dtype=float)

    def valence_problems(self) -> list[str]:
        """Atoms of polymer residues whose bond-order sum differs from the neutral valence (empty if none)."""
        total = [0] * self.n_atoms
        for (a, b), order in self.bonds.items():
            total[a] += order
            total[b] += order
        problems = []
        for r in self.residues:
            if r.ptype is None:
                continue
            for a in r.atoms:
                if self.present[a] and self.elements[a] not in VALENCE:
                    problems.append(f"{r.name} atom {self.names[a]} (#{a}): element {self.elements[a]} is not "
                                    f"supported in networks; supported: {sorted(VALENCE)}")
                elif self.present[a] and total[a] != VALENCE[self.elements[a]]:
                    problems.append(f"{r.name} atom {self.names[a]} (#{a}): bond orders sum to {total[a]}, "
                                    f"neutral {self.elements[a]} needs {VALENCE[self.elements[a]]}")
                if not self.present[a] and total[a]:
                    problems.append(f"absent atom {self.names[a]} (#{a}) still bonded")
        return problems

    def polymer_rdkit(self) -> tuple[Chem.Mol, list[int]]:
        """The polymer (all monomer residues) as one sanitised RDKit molecule, and its master indices."""
        atoms = [a for r in self.residues if r.ptype is not None for a in r.atoms if self.present[a]]
        index = {a: k for k, a in enumerate(atoms)}
        rw = editable_molecule([self.elements[a] for a in atoms],
                               [(index[a], index[b], order) for (a, b), order in self.bonds.items()
                                if a in index and b in index])
        mol = rw.GetMol()
        Chem.SanitizeMol(mol)
        return mol, atoms
