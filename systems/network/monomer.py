"""A monomer cut into residues (one per reactive group, plus core pieces), and every state of each residue.

Why residues per reactive group
-------------------------------
Whole-monomer templates would need one template per combination of group states (4^2 = 10 for BMP's two
aziridines up to symmetry, 4^3 = 20 for TPA's three acrylates), each a RESP fit of a 40-60 atom capped
fragment. Cutting the monomer so that each residue holds at most one reactive group needs only 4 templates
per distinct arm (U, S, E, M; :mod:`systems.network.reactions`) plus one per core piece: BMP is two equal
arms (4 templates), TPA three equal arms and a core (5 templates).

How the monomer is cut
----------------------
Every heavy atom goes to the reactive group nearest to it in bonds (multi-source breadth-first search from
each group's atoms); atoms with two or more nearest groups form the core (one residue per connected core
piece). Hydrogens follow their heavy atom. Every bond between two residues must be a single, acyclic bond
(:class:`MonomerSplitError` otherwise). BMP (ethylene glycol core) is cut at its central CH2–CH2 bond into
two equal arms ``CH3-aziridinyl-CH2CH2C(=O)OCH2-``; TPA into three ``-CH2OC(=O)CH=CH2`` arms and the
``CH3CH2C<`` core.

Equal pieces share one template: pieces are compared as graphs (elements, bond orders, reactive atoms and
cut positions), and the atom order of the first piece is the template's order.

Residue names (3 characters, so PDB files keep them): one arm type and at most one core type:
``<first two letters of the monomer residue><state>`` for arms (BMP -> BMU, BMS, BME, BMM) and ``..X`` for
the core (TPA -> TPX). More types: ``<first letter><type digit><state>`` and ``<first letter>X<digit>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from rdkit import Chem

from forcefields.molecules import atom_names, molecule_from_smiles
from systems.network.errors import MonomerSplitError, ReactionTypeError
from systems.network.reactions import REACTION_TYPES, ReactionType, get_reaction_type, matching_reaction_types

STATES = ("U", "S", "E", "M")
X_LINKED = {"U": False, "S": True, "E": False, "M": True}
Y_LINKED = {"U": False, "S": False, "E": True, "M": True}


def state_of(x_linked: bool, y_linked: bool, reacted: bool) -> str:
    if not reacted:
        return "U"
    return {(True, False): "S", (False, True): "E", (True, True): "M"}[(x_linked, y_linked)]


@dataclass(frozen=True)
class PieceType:
    """One residue kind of a monomer: its superset of atoms (all states) and its state rules.

    Local atom indices: the piece's own atoms first (template order), then, for arms, ``end_x`` and
    ``end_y`` (the end atoms that close a chain start or end; present only in states E and S).
    ``cuts``: (local atom, partner element) for every bond to another residue of the same monomer.
    """

    key: str
    kind: str  # "arm" | "core"
    elements: tuple[str, ...]
    names: tuple[str, ...]
    bonds: tuple[tuple[int, int, int], ...]  # (i, j, order) of the unreacted piece
    cuts: tuple[tuple[int, str], ...]
    residue_names: dict = field(default_factory=dict)  # state -> residue name
    x: int | None = None
    y: int | None = None
    end_x: int | None = None
    end_y: int | None = None
    opened_bond_order: int = 1
    x_partner: str = ""  # element X bonds to across a network bond (= element of Y)
    y_partner: str = ""

    @property
    def states(self) -> tuple[str, ...]:
        return STATES if self.kind == "arm" else ("",)

    @property
    def n_piece_atoms(self) -> int:
        return len(self.elements) - (2 if self.kind == "arm" else 0)

    def present(self, state: str) -> list[int]:
        atoms = list(range(self.n_piece_atoms))
        if state == "E":
            atoms.append(self.end_x)
        if state == "S":
            atoms.append(self.end_y)
        return atoms

    def state_bonds(self, state: str) -> list[tuple[int, int, int]]:
        out = []
        for i, j, order in self.bonds:
            if state not in ("", "U") and {i, j} == {self.x, self.y}:
                if self.opened_bond_order == 0:
                    continue
                order = self.opened_bond_order
            out.append((i, j, order))
        if state == "E":
            out.append((self.x, self.end_x, 1))
        if state == "S":
            out.append((self.y, self.end_y, 1))
        return out

    def externals(self, state: str) -> list[tuple[int, str]]:
        """(local atom, partner element) of every external bond in ``state``."""
        ext = list(self.cuts)
        if state in ("S", "M"):
            ext.append((self.x, self.x_partner))
        if state in ("E", "M"):
            ext.append((self.y, self.y_partner))
        return ext


@dataclass
class MonomerModel:
    """A monomer species cut into residues, with the reaction that links its groups."""

    name: str
    smiles: str
    residue: str
    reaction: ReactionType
    mol: Chem.Mol
    piece_types: dict[str, PieceType]
    pieces: list[tuple[str, tuple[int, ...]]]  # (type key, monomer atom index of each local piece atom)
    inner_bonds: list[tuple[int, int, int, int]]  # (piece a, local a, piece b, local b), single bonds
    arm_pieces: list[int]  # piece index of each reactive group, group order

    @property
    def n_groups(self) -> int:
        return len(self.arm_pieces)

    def residue_names(self) -> set[str]:
        return {n for t in self.piece_types.values() for n in t.residue_names.values()}


def _nearest_groups(mol: Chem.Mol, groups: list[dict]) -> dict[int, list[int]]:
    """Heavy atom -> indices of the groups at the smallest bond distance."""
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() != 1]
    dist = []
    for g in groups:
        d = {a: 0 for a in g["atoms"]}
        queue = deque(g["atoms"])
        while queue:
            a = queue.popleft()
            for nb in mol.GetAtomWithIdx(a).GetNeighbors():
                b = nb.GetIdx()
                if nb.GetAtomicNum() != 1 and b not in d:
                    d[b] = d[a] + 1
                    queue.append(b)
        dist.append(d)
    out = {}
    for a in heavy:
        values = [d.get(a, 10 ** 9) for d in dist]
        best = min(values)
        out[a] = [k for k, v in enumerate(values) if v == best]
    return out


def _components(mol: Chem.Mol, atoms: set[int]) -> list[list[int]]:
    comps, seen = [], set()
    for start in sorted(atoms):
        if start in seen:
            continue
        comp, queue = [], deque([start])
        seen.add(start)
        while queue:
            a = queue.popleft()
            comp.append(a)
            for nb in mol.GetAtomWithIdx(a).GetNeighbors():
                if nb.GetIdx() in atoms and nb.GetIdx() not in seen:
                    seen.add(nb.GetIdx())
                    queue.append(nb.GetIdx())
        comps.append(sorted(comp))
    return comps


def _fragment(mol: Chem.Mol, atoms: list[int]) -> Chem.Mol:
    index = {a: k for k, a in enumerate(atoms)}
    rw = Chem.RWMol()
    for a in atoms:
        atom = Chem.Atom(mol.GetAtomWithIdx(a).GetAtomicNum())
        atom.SetNoImplicit(True)
        rw.AddAtom(atom)
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        if i in index and j in index:
            rw.AddBond(index[i], index[j], b.GetBondType())
    frag = rw.GetMol()
    frag.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(frag)
    return frag


def _match(ref: dict, inst: dict) -> tuple[int, ...] | None:
    """Map ref piece local atoms onto inst local atoms (elements, bonds, X/Y and cut partners), or None."""
    if len(ref["atoms"]) != len(inst["atoms"]):
        return None
    for match in inst["frag"].GetSubstructMatches(ref["frag"], uniquify=False, useChirality=False,
                                                  maxMatches=10000):
        if ref["x"] is not None and (match[ref["x"]] != inst["x"] or match[ref["y"]] != inst["y"]):
            continue
        if sorted((match[i], el) for i, el in ref["cuts"]) == sorted(inst["cuts"]):
            return match
    return None


def _prefixes(residue: str) -> tuple[str, str]:
    clean = "".join(ch for ch in residue.upper() if ch.isalnum()) or "MN"
    return (clean + "X")[:2], clean[:1]


def build_monomer_model(name: str, smiles: str, reaction_type: str, residue: str | None = None) -> MonomerModel:
    """Parse ``smiles``, find the reactive groups of ``reaction_type`` and cut the monomer into residues.

    Raises :class:`common.errors.SpeciesError` for a SMILES RDKit cannot read,
    :class:`ReactionTypeError` for an unknown reaction type or one with no group in the monomer, and
    :class:`MonomerSplitError` if the groups cannot be separated at single acyclic bonds.
    """
    reaction = get_reaction_type(reaction_type)
    mol, groups = _monomer_groups(name, smiles, reaction)
    owner, piece_atoms = _assign_pieces(name, mol, groups)
    cut_bonds = _cut_bonds(name, smiles, mol, owner)
    infos = _piece_infos(mol, groups, piece_atoms, cut_bonds)
    type_refs, piece_type, piece_order = _group_equal_pieces(infos)
    residue = residue or name
    piece_types, type_keys = _piece_types(mol, groups, reaction, infos, type_refs, residue)
    pieces = []
    for k, info in enumerate(infos):
        order = piece_order[k]
        pieces.append((type_keys[piece_type[k]], tuple(info["atoms"][order[n]] for n in range(len(order)))))
    where = {a: (p, n) for p, (_, atoms) in enumerate(pieces) for n, a in enumerate(atoms)}
    inner = [(where[i][0], where[i][1], where[j][0], where[j][1]) for i, j in cut_bonds]
    return MonomerModel(name=name, smiles=smiles, residue=residue, reaction=reaction, mol=mol,
                        piece_types=piece_types, pieces=pieces, inner_bonds=inner,
                        arm_pieces=list(range(len(groups))))


def _monomer_groups(name: str, smiles: str, reaction: ReactionType) -> tuple[Chem.Mol, list[dict]]:
    """The monomer molecule (explicit H, neutral) and its reactive groups of ``reaction``."""
    mol = molecule_from_smiles(smiles, name)
    if Chem.GetFormalCharge(mol) != 0 or any(a.GetFormalCharge() for a in mol.GetAtoms()):
        raise ReactionTypeError(f"monomer {name!r} ({smiles!r}) carries formal charges; monomers must be neutral")
    groups = reaction.find_groups(mol)
    if not groups:
        found = matching_reaction_types(mol)
        hint = (f"it has groups for: {', '.join(f'{k} ({v})' for k, v in found.items())}" if found
                else "it has no group of any supported reaction type")
        raise ReactionTypeError(
            f"monomer {name!r} ({smiles!r}) has no {reaction.group_name} group, so reaction type "
            f"{reaction.name!r} does not apply; {hint}. Allowed reaction types: "
            f"{', '.join(sorted(REACTION_TYPES))}")
    return mol, groups


def _assign_pieces(name: str, mol: Chem.Mol, groups: list[dict]) -> tuple[dict[int, int], list[list[int]]]:
    """Atom -> piece (arms first, one per group, then connected core pieces) and the atoms of each piece."""
    nearest = _nearest_groups(mol, groups)
    owner: dict[int, int] = {a: g[0] for a, g in nearest.items() if len(g) == 1}
    core_comps = _components(mol, {a for a, g in nearest.items() if len(g) > 1})
    for k, comp in enumerate(core_comps):
        for a in comp:
            owner[a] = len(groups) + k
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 1:
            owner[atom.GetIdx()] = owner[atom.GetNeighbors()[0].GetIdx()]
    piece_atoms = [sorted(a for a, p in owner.items() if p == k) for k in range(len(groups) + len(core_comps))]
    for k, atoms in enumerate(piece_atoms):
        if len(_components(mol, set(atoms))) != 1:
            raise MonomerSplitError(f"monomer {name!r}: the atoms nearest to reactive group {k} are not connected; "
                                    "this monomer cannot be cut into one residue per reactive group")
    return owner, piece_atoms


def _cut_bonds(name: str, smiles: str, mol: Chem.Mol, owner: dict[int, int]) -> list[tuple[int, int]]:
    """Bonds between two pieces; each must be single and acyclic."""
    cut_bonds = []
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        if owner[i] == owner[j]:
            continue
        if b.GetBondType() != Chem.BondType.SINGLE or b.IsInRing():
            raise MonomerSplitError(
                f"monomer {name!r} ({smiles!r}): the bond {mol.GetAtomWithIdx(i).GetSymbol()}{i}-"
                f"{mol.GetAtomWithIdx(j).GetSymbol()}{j} between the residues of two reactive groups is "
                f"{'in a ring' if b.IsInRing() else str(b.GetBondType()).lower()}; residues can only be cut at "
                "single acyclic bonds (put at least two single bonds between reactive groups)")
        cut_bonds.append((i, j))
    return cut_bonds


def _piece_infos(mol: Chem.Mol, groups: list[dict], piece_atoms: list[list[int]],
                 cut_bonds: list[tuple[int, int]]) -> list[dict]:
    """Per piece: its atoms, fragment, cut positions (local atom, partner element), X/Y and kind."""
    infos = []
    for k, atoms in enumerate(piece_atoms):
        local = {a: n for n, a in enumerate(atoms)}
        cuts = []
        for i, j in cut_bonds:
            if i in local:
                cuts.append((local[i], mol.GetAtomWithIdx(j).GetSymbol()))
            if j in local:
                cuts.append((local[j], mol.GetAtomWithIdx(i).GetSymbol()))
        g = groups[k] if k < len(groups) else None
        infos.append({"atoms": atoms, "frag": _fragment(mol, atoms), "cuts": cuts,
                      "x": local[g["x"]] if g else None, "y": local[g["y"]] if g else None,
                      "kind": "arm" if g else "core"})
    return infos


def _group_equal_pieces(infos: list[dict]) -> tuple[list[int], list[int], list[tuple[int, ...]]]:
    """Equal pieces share a type: (reference piece of each type, type of each piece, local atoms in type order)."""
    type_refs: list[int] = []
    piece_type: list[int] = []
    piece_order: list[tuple[int, ...]] = []
    for k, info in enumerate(infos):
        for t, ref_k in enumerate(type_refs):
            ref = infos[ref_k]
            if ref["kind"] != info["kind"]:
                continue
            m = _match(ref, info)
            if m is not None:
                piece_type.append(t)
                piece_order.append(tuple(m))
                break
        else:
            type_refs.append(k)
            piece_type.append(len(type_refs) - 1)
            piece_order.append(tuple(range(len(info["atoms"]))))
    return type_refs, piece_type, piece_order


def _piece_types(mol: Chem.Mol, groups: list[dict], reaction: ReactionType, infos: list[dict],
                 type_refs: list[int], residue: str) -> tuple[dict[str, PieceType], list[str]]:
    """One :class:`PieceType` per piece type, with its residue names (module notes) and atom names."""
    p2, p1 = _prefixes(residue)
    arm_types = [t for t, k in enumerate(type_refs) if infos[k]["kind"] == "arm"]
    core_types = [t for t, k in enumerate(type_refs) if infos[k]["kind"] == "core"]
    simple = len(arm_types) == 1 and len(core_types) <= 1
    x_el = mol.GetAtomWithIdx(groups[0]["x"]).GetSymbol()
    y_el = mol.GetAtomWithIdx(groups[0]["y"]).GetSymbol()
    piece_types: dict[str, PieceType] = {}
    type_keys = []
    for t, ref_k in enumerate(type_refs):
        ref = infos[ref_k]
        local = {a: n for n, a in enumerate(ref["atoms"])}
        elements = [mol.GetAtomWithIdx(a).GetSymbol() for a in ref["atoms"]]
        bonds = [(local[b.GetBeginAtomIdx()], local[b.GetEndAtomIdx()], int(b.GetBondTypeAsDouble()))
                 for b in mol.GetBonds() if b.GetBeginAtomIdx() in local and b.GetEndAtomIdx() in local]
        if ref["kind"] == "arm":
            key = f"arm{arm_types.index(t)}"
            elements += [reaction.end_x, reaction.end_y]
            names_state = {s: (f"{p2}{s}" if simple else f"{p1}{arm_types.index(t)}{s}") for s in STATES}
            n = len(ref["atoms"])
            extra = dict(x=ref["x"], y=ref["y"], end_x=n, end_y=n + 1,
                         opened_bond_order=reaction.opened_bond_order, x_partner=y_el, y_partner=x_el)
        else:
            key = f"core{core_types.index(t)}"
            names_state = {"": (f"{p2}X" if simple else f"{p1}X{core_types.index(t)}")}
            extra = {}
        piece_types[key] = PieceType(key=key, kind=ref["kind"], elements=tuple(elements),
                                     names=tuple(atom_names(elements)), bonds=tuple(bonds),
                                     cuts=tuple(sorted(ref["cuts"])), residue_names=names_state, **extra)
        type_keys.append(key)
    return piece_types, type_keys


BOND_TYPES = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}


def editable_molecule(elements, bonds) -> Chem.RWMol:
    """An RDKit RWMol of ``elements`` (no implicit hydrogens) and ``bonds`` (i, j, order) in their indices."""
    rw = Chem.RWMol()
    for element in elements:
        atom = Chem.Atom(element)
        atom.SetNoImplicit(True)
        rw.AddAtom(atom)
    for i, j, order in bonds:
        rw.AddBond(i, j, BOND_TYPES[order])
    return rw


def capped_fragment(ptype: PieceType, state: str) -> tuple[Chem.Mol, list[int], list[list[int]]]:
    """The residue in ``state`` with every external bond capped, for typing and RESP.

    Each external bond gets a cap atom of the element it bonds to in the network (C for C–C cuts, N for the
    aziridine CH2 that bonds an N, ...), saturated with hydrogen (CH3, NH2, OH): the residue atoms then see
    the element and hybridisation of their real neighbour, which decides their GAFF2 types (e.g. h1 vs hc
    on a CH2 next to N). Returns the molecule (explicit H), the fragment index of each present residue atom
    (in :meth:`PieceType.present` order) and the atom groups of each cap (constrained to 0 e in RESP).
    """
    present = ptype.present(state)
    index = {a: k for k, a in enumerate(present)}
    rw = editable_molecule([ptype.elements[a] for a in present],
                           [(index[i], index[j], order) for i, j, order in ptype.state_bonds(state)])
    table = Chem.GetPeriodicTable()
    caps = []
    for a, partner in ptype.externals(state):
        cap = Chem.Atom(partner)
        cap.SetNoImplicit(True)
        c = rw.AddAtom(cap)
        rw.AddBond(index[a], c, Chem.BondType.SINGLE)
        group = [c]
        for _ in range(table.GetDefaultValence(partner) - 1):
            h = Chem.Atom(1)
            h.SetNoImplicit(True)
            hidx = rw.AddAtom(h)
            rw.AddBond(c, hidx, Chem.BondType.SINGLE)
            group.append(hidx)
        caps.append(group)
    mol = rw.GetMol()
    Chem.SanitizeMol(mol)
    return mol, list(range(len(present))), caps
