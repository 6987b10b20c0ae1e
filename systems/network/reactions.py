"""Reaction types: which atoms of a monomer react, which bond they form, and how chain ends are closed.

Every supported chemistry is written in one common form. A *reactive group* (an aziridine ring, an acrylate
C=C) has two reactive atoms, X and Y, joined inside the group by the *opening bond*. A network bond always
joins X of one group to Y of another group (never of the same group)::

    X_i - Y_j

The first time a group takes part in a bond its opening bond loses one order (aziridine: the ring N–CH2
bond breaks; acrylate: C=C becomes C–C). Each of X and Y then needs exactly one new partner: either a
network bond, or — if none formed — an *end atom* that closes the chain end (``end_x``, ``end_y``).
So every group is in one of four states, and every state is a closed-shell, neutral residue:

=====  ===============  ===============  ===============================================================
state  X                Y                meaning
=====  ===============  ===============  ===============================================================
U      in group         in group         unreacted group (ring intact / C=C intact)
S      network bond     end atom on Y    chain start (the initiating end)
E      end atom on X    network bond     chain end (the terminated end)
M      network bond     network bond     chain interior
=====  ===============  ===============  ===============================================================

``ring_opening_aziridine`` (cationic ring-opening polymerisation of N-substituted aziridines, e.g. BMP):
    X = the ring CH2 (the less substituted ring carbon, where the nucleophile attacks the aziridinium ion),
    Y = the ring N. Propagation: the N of a monomer attacks the CH2 of the aziridinium chain end, so the
    backbone is ...–N(R)–CH(CH3)–CH2–N(R)–CH(CH3)–CH2–... and every ring-opened N is a tertiary amine.
    Chain ends: initiation by a proton (the acid PF5 + trace H2O / HF from NaPF6 decomposition, which is
    the initiator the PBMP paper names), so the start unit carries N–H (``end_y`` = H, a secondary amine);
    the living aziridinium end is terminated by fluoride from the PF6-/PF5 counter-ion, so the last unit
    ends in CH2–F (``end_x`` = F). Each chain therefore adds one HF; every residue stays neutral.
    Unreacted rings of partly reacted crosslinkers stay as rings (state U).

``radical_acrylate`` (free-radical polymerisation of acrylates / methacrylates, e.g. TPA):
    Y = the vinyl CH2 (beta, "tail"), X = the alpha carbon (CH of acrylates, C(CH3) of methacrylates,
    "head"). Head-to-tail propagation: the radical on the alpha carbon of the chain end adds to the CH2 of a
    monomer, so the backbone is ...–CH2–CH(COOR)–CH2–CH(COOR)–... Chain ends are closed with hydrogen on
    both sides (``end_x`` = ``end_y`` = H): the saturated ends that chain transfer and disproportionation
    leave. The AIBN fragment (2-cyano-2-propyl) that starts a small share of the real chains (AIBN is
    ~1 wt% of the monomer) is not modelled; this is documented in network.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem

from systems.network.errors import ReactionTypeError


@dataclass(frozen=True)
class ReactionType:
    """One polymerisation chemistry in the X/Y form of the module notes."""

    name: str
    smarts: str
    x_query: int  # index of X in the SMARTS
    y_query: int  # index of Y in the SMARTS
    opened_bond_order: int  # order of the X–Y bond once the group has reacted (0: bond broken)
    end_x: str  # element of the end atom closing X when X has no network bond
    end_y: str
    group_name: str
    description: str

    def find_groups(self, mol: Chem.Mol) -> list[dict]:
        """Reactive groups of ``mol`` (explicit-H molecule): ``{"atoms", "x", "y"}`` per group, sorted by X.

        Matched on the heavy-atom graph (hydrogen counts in the SMARTS are then the usual implicit ones).
        Groups sharing an atom are refused: one atom cannot belong to two reactive groups.
        """
        heavy = Chem.RemoveHs(mol, sanitize=True)
        # RemoveHs keeps heavy-atom order; map heavy indices back to the explicit-H molecule
        heavy_to_full = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() != 1]
        pattern = Chem.MolFromSmarts(self.smarts)
        seen: dict[frozenset, dict] = {}
        for match in heavy.GetSubstructMatches(pattern, uniquify=False):
            atoms = frozenset(heavy_to_full[i] for i in match)
            group = {"atoms": tuple(sorted(atoms)), "x": heavy_to_full[match[self.x_query]],
                     "y": heavy_to_full[match[self.y_query]]}
            if atoms not in seen or group["x"] < seen[atoms]["x"]:
                seen[atoms] = group
        groups = sorted(seen.values(), key=lambda g: g["x"])
        used: set[int] = set()
        for g in groups:
            if used & set(g["atoms"]):
                raise ReactionTypeError(f"reaction type {self.name!r}: two {self.group_name} groups share atoms "
                                        f"{sorted(used & set(g['atoms']))}; overlapping groups are not supported")
            used |= set(g["atoms"])
        return groups


REACTION_TYPES: dict[str, ReactionType] = {
    r.name: r for r in (
        ReactionType(
            name="ring_opening_aziridine",
            smarts="[N;D3;r3]1[CH2;r3][#6;r3]1",
            x_query=1, y_query=0, opened_bond_order=0, end_x="F", end_y="H",
            group_name="N-substituted aziridine",
            description="cationic ring-opening of N-substituted aziridines: N of one unit bonds the ring CH2 "
                        "of the next; chain start N-H (proton initiation), chain end CH2-F (fluoride "
                        "termination by the PF6-/PF5 counter-ion)"),
        ReactionType(
            name="radical_acrylate",
            smarts="[CH2]=[C;X3]-C(=O)-[O;X2]",
            x_query=1, y_query=0, opened_bond_order=1, end_x="H", end_y="H",
            group_name="(meth)acrylate C=C",
            description="free-radical head-to-tail polymerisation of (meth)acrylates: alpha C of one unit "
                        "bonds the CH2 of the next; both chain ends closed with H (chain transfer / "
                        "disproportionation ends; AIBN fragments not modelled)"),
    )
}


def get_reaction_type(name: str) -> ReactionType:
    try:
        return REACTION_TYPES[name]
    except KeyError:
        raise ReactionTypeError(f"unknown reaction type {name!r}; allowed: {sorted(REACTION_TYPES)}") from None


def matching_reaction_types(mol: Chem.Mol) -> dict[str, int]:
    """``{reaction type: number of its groups in mol}`` for every type with at least one group."""
    out = {}
    for name, reaction in REACTION_TYPES.items():
        n = len(reaction.find_groups(mol))
        if n:
            out[name] = n
    return out
