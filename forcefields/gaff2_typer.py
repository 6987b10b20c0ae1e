"""GAFF2 atom types for neutral organic molecules, by antechamber's own rules, over RDKit.

Source of the rules
-------------------
The authority is antechamber's rule table ``ATOMTYPE_GFF2.DEF`` (AmberTools,
``$AMBERHOME/dat/antechamber/ATOMTYPE_GFF2.DEF``; it ships with AmberTools, e.g. the Amber-MD
repositories). The file itself is not in our code index, so its 318 ``ATD`` rules were read from a
one-to-one machine transcription of it (a generated Rust table, "The 318 ATD rules of
ATOMTYPE_GFF2.DEF, in file order"). How antechamber evaluates those rules was read from its C sources
in Amber-MD/AmberClassic, ``src/antechamber/atomtype.c`` (``jat``: first matching rule wins;
``apcheck``: atom properties; ``atadjust``: the ce/cf, cg/ch colouring) and antechamber's ``ring.c``
(``aromatic``: the electron-withdrawing flags and the ring classes AR1..AR5).

How antechamber types an atom
-----------------------------
An ``ATD`` line gives: element, number of neighbours, number of attached H, (for H) the number of
electron-withdrawing neighbours of the heavy atom it sits on, ring/bond properties, and a chemical
environment. The rules are tried in file order and the first one that matches wins, so the special
types (ring sizes, conjugation, hydrogen counts) precede the generic ones (c3, c2, n3, os, hc, ha).
This module walks the same order for the elements it supports, one function per element; each branch
names the DEF rule it reproduces.

Facts the rules use, as antechamber computes them:

* electron-withdrawing (EW) atoms are N, O, S, F, Cl, Br, I (``ring.c``); C, H and P are not. A
  hydrogen's type counts the EW neighbours of the atom it is bonded to (hc/h1/h2/h3 on sp3 C,
  ha/h4/h5 on sp2 C).
* ring classes (``ring.c``): every ring gets a class from its atoms. A ring with an sp3 carbon (or a
  four-connected P, a three-connected S) is non-planar (AR4; AR5 if it is made only of sp3 carbons).
  Otherwise it is planar: AR3 if a ring atom carries a double bond to an atom outside every ring,
  AR1 for a benzene/pyridine-like six-ring, AR2 for other planar rings. Only AR1..AR3 change types
  (ca/cp/cc/cd, na, nh); PC, FEC and aziridine rings are AR4.
* ``SB'`` in an environment means the environment atom is joined to the typed atom by a (non-
  aromatic) single bond; ``DB`` means the atom has a non-aromatic double bond. Bond orders are read
  from a Kekulé structure.
* conjugated chains: a sp2 carbon single-bonded to another sp2 or sp carbon (or a two-connected N/P)
  is ``ce``, a sp carbon so bonded is ``cg``. After typing, each conjugated system is 2-coloured
  (``atadjust``): across a single bond the colour is kept, across a double or triple bond it flips,
  and the second colour is renamed ce->cf, cg->ch. So ce-ce and cf-cf are conjugated single bonds and
  ce=cf the double bond. Which member of a system starts as ``ce`` is arbitrary (antechamber seeds
  by file order; we seed the lowest atom index); the parameters are symmetric under the swap.

GAFF2 specifics that differ from GAFF1: sp3 amine N is split by its hydrogen count (n7 = one H, n8 =
two H, n9 = three H, n3 = none), amide N likewise (ns = one H, nt = two H, n = none), N conjugated to
a double bond (nu = one H, nv = two H, nh = none), sp3 N in small rings (np/nq without H, n5/n6 with
one H, rules ``np * 7 3 0 * [RG3]`` etc.), and epoxide/oxetane oxygens op/oq.

GAFF versions: the current DEF also has ``c5``/``c6`` (sp3 C in 5-/6-membered rings, rules
``c5 * 6 4 * * [RG5]`` and ``c6 * 6 4 * * [RG6]``, right after cx/cy). Those types belong to GAFF
2.2.20 and are absent from ``gaff-2.11.xml``, which this project uses; for ``gaff_version="2.11"``
(the default) such carbons are ``c3``, as they were before c5/c6 existed. ``gaff_version="2.2.20"``
gives c5/c6 for use with ``gaff-2.2.20.xml``.

What is supported, and what is refused
--------------------------------------
Neutral, closed-shell molecules with explicit hydrogen atoms made of H, C, N, O, F, Cl, Br and I:
sp3/sp2/sp carbon outside aromatic or planar rings (c3, cx, cy, [c5, c6], c, c2, ce/cf, cu, cv, c1,
cg/ch), carbonyl and ether/ester/alcohol oxygen (o, os, oh, op, oq), amines, amides, nitriles and
N conjugated to C=C (n3, n7, n8, n9, np, nq, n5, n6, n, ns, nt, ni, nj, nh, nu, nv, nm, nn, n1),
halogens and every hydrogen type on C, N and O. Refused with :class:`AtomTypingError`, naming each
atom: aromatic and other planar-ring sp2 C and N (ca, cp, cc, na...), two-connected N (imines, azo),
sulfur, phosphorus and all other elements, dummy/attachment atoms (type capped fragments instead),
radicals, atoms without explicit hydrogens, and every atom of a charged species: the ions of the
electrolyte (Na+, PF6-) take their parameters from the separate ion force field, not from GAFF2.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rdkit import Chem

from common.errors import AtomTypingError, ConfigError

GAFF2_VERSIONS: tuple[str, ...] = ("2.11", "2.2.20")
"""GAFF2 releases whose type set we can target (openmmforcefields ships both ffxml files)."""

SUPPORTED_ELEMENTS: frozenset[str] = frozenset({"H", "C", "N", "O", "F", "Cl", "Br", "I"})

_TYPES_OF_ALL_VERSIONS = frozenset({
    "c3", "cx", "cy", "c", "c2", "ce", "cf", "cu", "cv", "c1", "cg", "ch",
    "n1", "n3", "n7", "n8", "n9", "np", "nq", "n5", "n6", "n", "ns", "nt", "ni", "nj",
    "nh", "nu", "nv", "nm", "nn",
    "o", "oh", "os", "op", "oq", "f", "cl", "br", "i",
    "hn", "ho", "hc", "h1", "h2", "h3", "ha", "h4", "h5",
})
EMITTED_TYPES: dict[str, frozenset[str]] = {
    "2.11": _TYPES_OF_ALL_VERSIONS,
    "2.2.20": _TYPES_OF_ALL_VERSIONS | {"c5", "c6"},
}
"""Every type name this typer can return, per GAFF version (each must exist in that version's ffxml)."""

SUPPORTED_CHEMISTRY = (
    "Supported: neutral, closed-shell organic molecules with explicit hydrogen atoms (Chem.AddHs) made "
    "of H, C, N, O, F, Cl, Br, I: alkanes and sp3 rings of any size, C=C and C#C outside aromatic or "
    "planar rings, carbonyls (ketones, aldehydes, esters, carbonates, amides), ethers, alcohols, "
    "epoxides/oxetanes, amines including aziridines/azetidines, nitriles and halides. Not supported: "
    "aromatic or planar-ring sp2 C/N, imine/azo N, sulfur, phosphorus and other elements, radicals, "
    "dummy atoms (type the capped fragment) and charged species (Na+, PF6- and other ions take their "
    "parameters from the ion force field, not from GAFF2)."
)

_ELECTRON_WITHDRAWING = frozenset({7, 8, 9, 16, 17, 35, 53})  # ring.c: atom[i].ewd = 1
_HALOGEN_TYPES = {9: "f", 17: "cl", 35: "br", 53: "i"}  # ATD f/cl/br/i: by atomic number only
_SECOND_COLOUR = {"ce": "cf", "cg": "ch"}  # atadjust(): the renamed partner of a paired type
_UNSUPPORTED_ELEMENT_NOTES = {
    "S": "sulfur types (s, s2, s4, s6, sh, ss, sx, sy, sp, sq) are not implemented",
    "P": "phosphorus types (p2..p5, pb..pf, px, py) are not implemented",
}


class _NoRule(Exception):
    """Raised inside this module when no implemented GAFF2 rule applies to an atom."""


PARAMETER_EQUIVALENTS: dict[str, dict[str, str]] = {
    "2.11": {"n7": "n3", "n8": "n3", "n9": "n3", "n5": "np", "n6": "nq", "ns": "n", "nt": "n",
             "nu": "nh", "nv": "nh"},
    "2.2.20": {},
}
"""Types that ``gaff-<version>.xml`` declares but gives no bond/angle terms, and the type whose terms they
take. antechamber's workflow fills such gaps with parmchk2, which substitutes the GAFF type these types
were split from (the hydrogen-count variants of sp3 amine, amide and enamine N: n7/n8/n9 -> n3,
ns/nt -> n, nu/nv -> nh; the N-H variants of small-ring N: n5 -> np, n6 -> nq). OpenMM has no parmchk2
and silently creates *no* bond for atom types without a term, so residue templates must use the
substituted types (``assign_gaff2_types(..., parameterised=True)``)."""


def assign_gaff2_types(mol: Chem.Mol, *, gaff_version: str = "2.11", parameterised: bool = False) -> list[str]:
    """Return the GAFF2 atom type of every atom of ``mol``, index-aligned with ``mol.GetAtoms()``.

    ``mol`` must carry its hydrogens as explicit atoms (``Chem.AddHs``); coordinates are not needed.
    ``gaff_version`` picks the type set: "2.11" (default, matches ``gaff-2.11.xml``) or "2.2.20"
    (adds c5/c6 for sp3 carbons in 5- and 6-membered rings). The types are those of antechamber's
    rules; with ``parameterised=True`` the types that the ffxml gives no bonded terms are replaced by
    their :data:`PARAMETER_EQUIVALENTS` (what parmchk2 does), which is what a force field needs.

    Raises :class:`AtomTypingError` naming every atom no implemented rule applies to (index, element,
    neighbours, reason) together with the supported chemistry, and :class:`ConfigError` for an
    unknown ``gaff_version``.
    """
    if gaff_version not in GAFF2_VERSIONS:
        raise ConfigError(f"gaff_version={gaff_version!r} is not supported; allowed: {', '.join(GAFF2_VERSIONS)}")
    failures = _precheck(mol)
    work = _kekulized(mol, failures)
    planar = _planar_ring_atoms(work)
    types: list[str] = []
    for atom in work.GetAtoms():
        if atom.GetIdx() in failures:
            types.append("")
            continue
        try:
            types.append(_atom_type(atom, planar, gaff_version))
        except _NoRule as exc:
            failures[atom.GetIdx()] = str(exc)
            types.append("")
    if failures:
        raise AtomTypingError(_failure_message(mol, failures))
    types = _colour_conjugated_systems(work, types)
    if parameterised:
        equivalents = PARAMETER_EQUIVALENTS[gaff_version]
        types = [equivalents.get(t, t) for t in types]
    return types


# --------------------------------------------------------------------------------------------------
# Input checks: what this typer refuses before any rule is tried
# --------------------------------------------------------------------------------------------------

def _precheck(mol: Chem.Mol) -> dict[int, str]:
    """Map atom index -> reason for atoms outside the supported input (ions, dummies, elements...)."""
    failures: dict[int, str] = {}
    charged = _atoms_of_charged_species(mol)
    for atom in mol.GetAtoms():
        reason = _precheck_atom(atom, charged)
        if reason:
            failures[atom.GetIdx()] = reason
    return failures


def _precheck_atom(atom: Chem.Atom, charged: dict[int, int]) -> str:
    """Reason an atom cannot be typed whatever its environment, or '' if it may go to the rules."""
    symbol = atom.GetSymbol()
    if atom.GetAtomicNum() == 0:
        return "dummy/attachment atom: type the capped fragment (e.g. methyl caps) instead"
    if atom.GetIdx() in charged:
        return (f"part of a charged species (net charge {charged[atom.GetIdx()]:+d}, this atom "
                f"{atom.GetFormalCharge():+d}): ions such as Na+ and PF6- take their parameters from "
                "the ion force field, not from GAFF2")
    if symbol not in SUPPORTED_ELEMENTS:
        note = _UNSUPPORTED_ELEMENT_NOTES.get(symbol, "no GAFF2 rules implemented for this element")
        return f"element {symbol}: {note}"
    if atom.GetNumRadicalElectrons():
        return "radical (unpaired electrons): GAFF2 types closed-shell molecules"
    if atom.GetTotalNumHs(includeNeighbors=False):
        return "carries implicit hydrogens: add them as atoms with Chem.AddHs before typing"
    return ""


def _atoms_of_charged_species(mol: Chem.Mol) -> dict[int, int]:
    """Atom index -> net charge of its fragment, for every fragment holding a formally charged atom.

    A whole fragment is refused (PF6-: the P and all six F), not just the charged atom, because
    its neutral atoms would otherwise receive organic types they must not have.
    """
    charged: dict[int, int] = {}
    for fragment in Chem.GetMolFrags(mol, asMols=False, sanitizeFrags=False):
        charges = [mol.GetAtomWithIdx(i).GetFormalCharge() for i in fragment]
        if any(charges) and not _is_gaff2_molecular_ion(mol, fragment):
            charged.update({i: sum(charges) for i in fragment})
    return charged


def _is_gaff2_molecular_ion(mol: Chem.Mol, fragment: tuple[int, ...]) -> bool:
    """Molecular ions that GAFF2 types like molecules (their charges come from RESP like any residue's):
    quaternary ammonium (every charged atom an N+ with four carbon neighbours: ``n4``, ``hx``) and nitrate
    (an N+ bonded to three O, the charged O bonded to it: ``no``, ``o``)."""
    for i in fragment:
        atom = mol.GetAtomWithIdx(i)
        charge = atom.GetFormalCharge()
        if charge == 0:
            continue
        neighbours = [nb.GetAtomicNum() for nb in atom.GetNeighbors()]
        if atom.GetAtomicNum() == 7 and charge == 1 and (neighbours == [6] * 4 or sorted(neighbours) == [8, 8, 8]):
            continue
        if (atom.GetAtomicNum() == 8 and charge == -1 and len(neighbours) == 1
                and _is_nitro_nitrogen(atom.GetNeighbors()[0])):
            continue
        return False
    return True


def _is_nitro_nitrogen(atom: Chem.Atom) -> bool:
    """An N with three neighbours of which at least two are singly connected O (nitro, nitrate: ``no``)."""
    return (atom.GetAtomicNum() == 7 and atom.GetDegree() == 3
            and sum(1 for nb in atom.GetNeighbors() if nb.GetAtomicNum() == 8 and nb.GetDegree() == 1) >= 2)


def _kekulized(mol: Chem.Mol, failures: dict[int, str]) -> Chem.Mol:
    """Copy of ``mol`` with explicit single/double bonds: antechamber's DB/SB' read Kekulé orders."""
    work = Chem.Mol(mol)
    Chem.GetSymmSSSR(work)  # makes sure ring information exists, also for unsanitized input
    try:
        Chem.Kekulize(work, clearAromaticFlags=True)
    except Chem.KekulizeException:
        for atom in mol.GetAtoms():
            if atom.GetIsAromatic():
                failures.setdefault(atom.GetIdx(), "aromatic atom whose ring cannot be kekulized")
    return work


# --------------------------------------------------------------------------------------------------
# Ring classes (antechamber ring.c, aromatic())
# --------------------------------------------------------------------------------------------------

def _ring_score(atom: Chem.Atom) -> int:
    """antechamber's per-atom planarity score ``initarom``: sp2-capable atoms > 0, sp3 atoms < 0."""
    z, degree = atom.GetAtomicNum(), atom.GetDegree()
    if z == 6:
        return {3: 2, 4: -2}.get(degree, 0)
    if z == 7:
        return 2 if degree <= 3 else 0
    if z == 8:
        return 1 if degree == 2 else 0
    if z == 15:
        return {2: 2, 3: 1}.get(degree, -1 if degree >= 4 else 0)
    if z == 16:
        return 1 if degree == 2 else (-1 if degree >= 3 else 0)
    return 0


def _ring_class(mol: Chem.Mol, ring: tuple[int, ...], in_any_ring: set[int]) -> str:
    """Class AR1..AR5 of one ring, following the order of the tests in ring.c."""
    scores = [_ring_score(mol.GetAtomWithIdx(i)) for i in ring]
    size, total = len(ring), sum(scores)
    if total == -2 * size:
        return "AR5"  # pure aliphatic ring of sp3 carbons
    if any(score < 0 for score in scores):
        return "AR4"  # ring containing an sp3 carbon (or P/S with too many neighbours): not planar
    if size <= total <= 2 * size and _has_exocyclic_double_bond(mol, ring, in_any_ring):
        return "AR3"  # planar ring with a double bond to an atom outside every ring
    if size == 6 and total == 12 and _ring_heteroatoms_double_bonded(mol, ring):
        return "AR1"  # benzene/pyridine-like
    if total >= size + 3:
        return "AR2"  # other planar ring
    return "AR4"


def _has_exocyclic_double_bond(mol: Chem.Mol, ring: tuple[int, ...], in_any_ring: set[int]) -> bool:
    """True if a ring atom is double-bonded to an atom that belongs to no ring (e.g. a C=O)."""
    members = set(ring)
    for bond in mol.GetBonds():
        if bond.GetBondType() != Chem.BondType.DOUBLE:
            continue
        ends = {bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()}
        inside, outside = ends & members, ends - members
        if len(inside) == 1 and outside and not (outside & in_any_ring):
            return True
    return False


def _ring_heteroatoms_double_bonded(mol: Chem.Mol, ring: tuple[int, ...]) -> bool:
    """ring.c's AR1 condition: every N or P of the six-ring carries a double bond (pyridine-like)."""
    for i in ring:
        atom = mol.GetAtomWithIdx(i)
        if atom.GetAtomicNum() in (7, 15) and not _has_double_bond(atom):
            return False
    return True


def _planar_ring_atoms(mol: Chem.Mol) -> frozenset[int]:
    """Atoms in at least one AR1, AR2 or AR3 ring: the rings that make sp2 C/N aromatic-like types."""
    rings = mol.GetRingInfo().AtomRings()
    in_any_ring = {i for ring in rings for i in ring}
    planar: set[int] = set()
    for ring in rings:
        if _ring_class(mol, ring, in_any_ring) in ("AR1", "AR2", "AR3"):
            planar.update(ring)
    return frozenset(planar)


# --------------------------------------------------------------------------------------------------
# Small structural predicates
# --------------------------------------------------------------------------------------------------

def _has_double_bond(atom: Chem.Atom) -> bool:
    """The DEF's ``DB``: a non-aromatic double bond (Kekulé structure)."""
    return any(b.GetBondType() == Chem.BondType.DOUBLE for b in atom.GetBonds())


def _has_bond(atom: Chem.Atom, bond_type: Chem.BondType) -> bool:
    return any(b.GetBondType() == bond_type for b in atom.GetBonds())


def _single_bonded_neighbours(atom: Chem.Atom) -> Iterable[Chem.Atom]:
    """Neighbours joined by a single bond: the ``[SB']`` relation of a DEF environment."""
    for bond in atom.GetBonds():
        if bond.GetBondType() == Chem.BondType.SINGLE:
            yield bond.GetOtherAtom(atom)


def _hydrogen_count(atom: Chem.Atom) -> int:
    return sum(1 for nb in atom.GetNeighbors() if nb.GetAtomicNum() == 1)


def _is_carbonyl_carbon(atom: Chem.Atom) -> bool:
    """DEF environment ``C3(XA1)``: a three-connected carbon bearing a one-connected O or S."""
    return atom.GetAtomicNum() == 6 and atom.GetDegree() == 3 and any(
        nb.GetAtomicNum() in (8, 16) and nb.GetDegree() == 1 for nb in atom.GetNeighbors())


def _small_ring_size(atom: Chem.Atom) -> int:
    """3 or 4 if the atom is in a 3- or 4-membered ring (DEF [RG3], [RG4]; RG3 is tested first)."""
    for size in (3, 4):
        if atom.IsInRingSize(size):
            return size
    return 0


# --------------------------------------------------------------------------------------------------
# Per-element rules, in DEF order
# --------------------------------------------------------------------------------------------------

def _atom_type(atom: Chem.Atom, planar: frozenset[int], gaff_version: str) -> str:
    """Dispatch to the rules of the atom's element."""
    z = atom.GetAtomicNum()
    if z == 1:
        return _hydrogen_type(atom)
    if z == 6:
        return _carbon_type(atom, planar, gaff_version)
    if z == 7:
        return _nitrogen_type(atom, planar)
    if z == 8:
        return _oxygen_type(atom)
    return _HALOGEN_TYPES[z]


def _carbon_type(atom: Chem.Atom, planar: frozenset[int], gaff_version: str) -> str:
    """Carbon by number of neighbours: 4 -> sp3, 3 -> sp2, 2 -> sp."""
    degree = atom.GetDegree()
    if degree == 4:
        return _sp3_carbon_type(atom, gaff_version)
    if degree == 3:
        return _sp2_carbon_type(atom, planar)
    if degree == 2:
        return _sp_carbon_type(atom)
    raise _NoRule(f"carbon with {degree} neighbours (carbene or isolated atom)")


def _sp3_carbon_type(atom: Chem.Atom, gaff_version: str) -> str:
    """Rules ``cx [RG3]``, ``cy [RG4]``, (2.2.20: ``c5 [RG5]``, ``c6 [RG6]``), then ``c3``.

    The ring types carry the strain of small rings in their angle parameters (C-C-C ~60 deg in cx).
    """
    ring = _small_ring_size(atom)
    if ring == 3:
        return "cx"
    if ring == 4:
        return "cy"
    if gaff_version != "2.11":
        if atom.IsInRingSize(5):
            return "c5"
        if atom.IsInRingSize(6):
            return "c6"
    return "c3"


def _sp2_carbon_type(atom: Chem.Atom, planar: frozenset[int]) -> str:
    """Three-connected carbon, rules in DEF order: c, (cz), ca/cp/cc (refused), ce, cu, cv, c2.

    ``c  * 6 3 * * [1DB,0DL] (XA1)``: carbonyl carbon, C=O of ketones, aldehydes, esters,
    carbonates, amides; it precedes every ring rule, so a ring C=O (PC, FEC) is still ``c``.
    ``cz (N3,N3,N3)`` needs a guanidinium carbon, which is charged and refused earlier.
    """
    if any(nb.GetAtomicNum() == 8 and nb.GetDegree() == 1 for nb in atom.GetNeighbors()):
        return "c"
    if atom.GetIdx() in planar:
        raise _NoRule("sp2 carbon in an aromatic or planar ring (GAFF2 ca/cp/cq/cc/cd): not supported")
    if not (_has_double_bond(atom) and _has_bond(atom, Chem.BondType.SINGLE)):
        raise _NoRule("three-connected carbon without a double bond (carbocation or radical)")
    if _is_conjugated_sp2(atom):
        return "ce"
    ring = _small_ring_size(atom)
    if ring == 3:
        return "cu"  # ``cu * 6 3 * * [RG3]``: sp2 C of a cyclopropene
    if ring == 4:
        return "cv"  # ``cv * 6 3 * * [RG4]``: sp2 C of a cyclobutene
    return "c2"  # ``c2 * 6 3``: isolated C=C (vinyl CH2= of an acrylate)


def _is_conjugated_sp2(atom: Chem.Atom) -> bool:
    """``ce * 6 3 * * [sb,db] (C3[SB'] | C2[SB'] | XB2[SB'])``: single bond to an sp2/sp C or 2-conn. N.

    E.g. the CH= of an acrylate, single-bonded to the carbonyl carbon (C3). The XD3/XD4 (S, P)
    environments of the same rule cannot occur because S and P are refused.
    """
    for nb in _single_bonded_neighbours(atom):
        z, degree = nb.GetAtomicNum(), nb.GetDegree()
        if (z == 6 and degree in (2, 3)) or (z in (7, 15) and degree == 2):
            return True
    return False


def _sp_carbon_type(atom: Chem.Atom) -> str:
    """Two-connected carbon: ``cg [sb,tb] (C2[SB'] | C3[SB'] | N1[SB'] | XB2[SB'])``, else ``c1``.

    A nitrile or alkyne carbon single-bonded to a sp or sp2 carbon is conjugated (cg); the nitrile
    of the AIBN fragment sits on an sp3 carbon and is c1.
    """
    if _has_bond(atom, Chem.BondType.TRIPLE) and _has_bond(atom, Chem.BondType.SINGLE):
        for nb in _single_bonded_neighbours(atom):
            z, degree = nb.GetAtomicNum(), nb.GetDegree()
            if (z == 6 and degree in (2, 3)) or (z == 7 and degree == 1) or (z in (7, 15) and degree == 2):
                return "cg"
    return "c1"


def _nitrogen_type(atom: Chem.Atom, planar: frozenset[int]) -> str:
    """Nitrogen: nitro/nitrate ``no``, 4 neighbours -> ``n4`` (ammonium), 3 -> amine/amide, 1 -> nitrile ``n1``."""
    degree = atom.GetDegree()
    if _is_nitro_nitrogen(atom):
        return "no"  # ATD no * 7 3 (O1,O1): nitro N, here nitrate
    if degree == 4:
        return "n4"  # ATD n4 * 7 4: sp3 N with four connected atoms (quaternary ammonium)
    if degree == 3:
        return _trivalent_nitrogen_type(atom, planar)
    if degree == 1:
        return "n1"
    raise _NoRule(f"nitrogen with {degree} neighbours (imine/azo/aromatic n2, ne, nb, nc): not supported")


def _trivalent_nitrogen_type(atom: Chem.Atom, planar: frozenset[int]) -> str:
    """Three-connected N, DEF order: amide, (nitro: charged), ring-aromatic na, conjugated, sp3 amine."""
    hydrogens = _hydrogen_count(atom)
    ring = _small_ring_size(atom)
    if any(_is_carbonyl_carbon(nb) for nb in atom.GetNeighbors()):
        return _amide_nitrogen_type(hydrogens, ring)
    if atom.GetIdx() in planar:
        raise _NoRule("nitrogen in an aromatic or planar ring (GAFF2 na): not supported")
    if any(_makes_nitrogen_conjugated(nb, planar) for nb in atom.GetNeighbors()):
        return _conjugated_nitrogen_type(hydrogens, ring)
    return _amine_nitrogen_type(hydrogens, ring)


def _amide_nitrogen_type(hydrogens: int, ring: int) -> str:
    """Rules with environment ``(C3(XA1))``: ``ns`` (1 H), ``nt`` (2 H), ``ni [RG3]``, ``nj [RG4]``, ``n``."""
    if hydrogens == 1:
        return "ns"
    if hydrogens == 2:
        return "nt"
    return {3: "ni", 4: "nj"}.get(ring, "n")


def _makes_nitrogen_conjugated(nb: Chem.Atom, planar: frozenset[int]) -> bool:
    """Environments ``XX[AR1.AR2.AR3]``, ``C3[DB]``, ``N2[DB]``, ``P2[DB]`` of the nh/nu/nv/nm/nn rules.

    The lone pair of an N next to a C=C (enamine) or a planar ring is delocalised; GAFF2 gives it
    the flatter nh family instead of the pyramidal amine types.
    """
    z, degree = nb.GetAtomicNum(), nb.GetDegree()
    if z in (6, 7, 8, 15, 16) and nb.GetIdx() in planar:
        return True
    return _has_double_bond(nb) and ((z == 6 and degree == 3) or (z in (7, 15) and degree == 2))


def _conjugated_nitrogen_type(hydrogens: int, ring: int) -> str:
    """``nu`` (1 H), ``nv`` (2 H), ``nm [RG3]``, ``nn [RG4]``, else ``nh`` (the H count is tested first)."""
    if hydrogens == 1:
        return "nu"
    if hydrogens == 2:
        return "nv"
    return {3: "nm", 4: "nn"}.get(ring, "nh")


def _amine_nitrogen_type(hydrogens: int, ring: int) -> str:
    """sp3 amine N, GAFF2 rules ``np``/``nq`` (0 H, [RG3]/[RG4]), ``n5``/``n6`` (1 H, [RG3]/[RG4]),
    ``n7``/``n8``/``n9`` (1/2/3 H), ``n3`` (tertiary).

    The aziridine N of BMP (no H, 3-ring) is np; once the ring has opened it is a tertiary n3.
    """
    if hydrogens == 0 and ring:
        return {3: "np", 4: "nq"}[ring]
    if hydrogens == 1 and ring:
        return {3: "n5", 4: "n6"}[ring]
    return {1: "n7", 2: "n8", 3: "n9"}.get(hydrogens, "n3")


def _oxygen_type(atom: Chem.Atom) -> str:
    """``o * 8 1`` (C=O), ``oh * 8 2 1|2`` (hydroxyl, water), ``op [RG3]``, ``oq [RG4]``, ``os * 8 2``."""
    degree = atom.GetDegree()
    if degree == 1:
        return "o"
    if degree != 2:
        raise _NoRule(f"oxygen with {degree} neighbours")
    if _hydrogen_count(atom):
        return "oh"
    ring = _small_ring_size(atom)
    return {3: "op", 4: "oq"}.get(ring, "os")  # os: ether, ester and carbonate O (PC, FEC rings: os)


def _hydrogen_type(atom: Chem.Atom) -> str:
    """Hydrogen rules in DEF order: ``hn (N)``, ``ho (O)``, then by the carrying carbon.

    On an sp3 carbon (``C4``): ``h3``/``h2``/``h1`` with 3/2/1 electron-withdrawing neighbours of that
    carbon, else ``hc``. On an sp2 carbon (``C3``): ``h5``/``h4`` with 2/1, else ``ha``; ``ha`` is
    also the fall-through for H on sp carbon. (``hw (O(H1))`` follows ``ho`` and is never reached;
    ``hx (C(N4))``: H on a carbon of a quaternary ammonium.)
    """
    if atom.GetDegree() != 1:
        raise _NoRule(f"hydrogen with {atom.GetDegree()} neighbours")
    heavy = atom.GetNeighbors()[0]
    z = heavy.GetAtomicNum()
    if z == 7:
        return "hn"
    if z == 8:
        return "ho"
    if z != 6:
        raise _NoRule(f"hydrogen bonded to {heavy.GetSymbol()}: not supported")
    if any(nb.GetAtomicNum() == 7 and nb.GetDegree() == 4 for nb in heavy.GetNeighbors()):
        return "hx"  # ATD hx * 1 1 (C(N4)): H on a carbon bonded to a positively charged (four-connected) N
    withdrawing = _electron_withdrawing_count(heavy)
    if heavy.GetDegree() == 4:
        return {1: "h1", 2: "h2", 3: "h3"}.get(withdrawing, "hc")
    if heavy.GetDegree() == 3:
        return {1: "h4", 2: "h5"}.get(withdrawing, "ha")
    return "ha"


def _electron_withdrawing_count(heavy: Chem.Atom) -> int:
    """Number of neighbours of ``heavy`` that antechamber flags electron-withdrawing (N, O, S, halogens).

    E.g. the ring CH of PC (bonded to one ring O) -> 1 -> h1; the CHF of FEC (F and a ring O) -> 2 -> h2.
    """
    return sum(1 for nb in heavy.GetNeighbors() if nb.GetAtomicNum() in _ELECTRON_WITHDRAWING)


# --------------------------------------------------------------------------------------------------
# Post-processing and error report
# --------------------------------------------------------------------------------------------------

def _colour_conjugated_systems(mol: Chem.Mol, types: list[str]) -> list[str]:
    """antechamber ``atadjust``: 2-colour each bonded system of ce/cg atoms, second colour -> cf/ch.

    The colour is kept across a single bond and flipped across a double or triple bond, so the
    conjugated double bond of a chain is typed ce=cf and its single bonds ce-ce / cf-cf.
    """
    paired = {i for i, t in enumerate(types) if t in _SECOND_COLOUR}
    colour: dict[int, int] = {}
    for seed in sorted(paired):
        if seed in colour:
            continue
        colour[seed] = 1
        queue = deque([seed])
        while queue:
            current = mol.GetAtomWithIdx(queue.popleft())
            for bond in current.GetBonds():
                other = bond.GetOtherAtomIdx(current.GetIdx())
                if other not in paired or other in colour:
                    continue
                keep = bond.GetBondType() == Chem.BondType.SINGLE
                colour[other] = colour[current.GetIdx()] * (1 if keep else -1)
                queue.append(other)
    return [_SECOND_COLOUR[t] if colour.get(i) == -1 else t for i, t in enumerate(types)]


def _describe_atom(atom: Chem.Atom) -> str:
    """'atom 3 (N; neighbours C1, C2, C4)': index, element and bonded atoms, for error messages."""
    neighbours = ", ".join(f"{nb.GetSymbol()}{nb.GetIdx()}" for nb in atom.GetNeighbors()) or "none"
    charge = f", charge {atom.GetFormalCharge():+d}" if atom.GetFormalCharge() else ""
    return f"atom {atom.GetIdx()} ({atom.GetSymbol()}{charge}; neighbours {neighbours})"


def _failure_message(mol: Chem.Mol, failures: dict[int, str]) -> str:
    """One line per untypable atom, then the supported chemistry."""
    try:
        smiles = Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False))
    except (RuntimeError, ValueError):
        smiles = "<unprintable molecule>"
    lines = [f"No GAFF2 type for {len(failures)} atom(s) of {smiles}:"]
    for index in sorted(failures):
        lines.append(f"  {_describe_atom(mol.GetAtomWithIdx(index))}: {failures[index]}")
    lines.append(SUPPORTED_CHEMISTRY)
    return "\n".join(lines)
