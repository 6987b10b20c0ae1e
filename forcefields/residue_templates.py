"""Cached residue templates: OpenMM ffxml files that give each atom of a residue its GAFF2 type and charge.

A template file looks like::

    <ForceField>
      <!-- gelmd residue template PC: ... -->
      <Info>
        <DateGenerated>2025-01-31T12:00:00+00:00</DateGenerated>
        <Source>gelmd forcefields.residue_templates</Source>
        <Reference>...</Reference>
        <Provenance key="qm_method">RHF/6-31G* ...</Provenance>
        ...
      </Info>
      <Residues>
        <Residue name="PC">
          <Atom name="C1" type="c3" charge="-0.312800"/>
          ...
          <Bond atomName1="C1" atomName2="C2"/>
          <ExternalBond atomName="C3"/>
        </Residue>
      </Residues>
    </ForceField>

It is loaded together with openmmforcefields' ``gaff-2.11.xml`` (``ForceField(gaff, template)``): the atom
``type`` is a GAFF2 type name defined there (and so fixes element, mass, LJ and bonded classes), and
gaff-2.11.xml's NonbondedForce takes the ``charge`` attribute from the residue template
(``<UseAttributeFromResidue name="charge"/>``). OpenMM ignores ``<Info>``; it carries the provenance.

Charges are in units of the elementary charge e. They are written with 6 decimals, and the rounding is
done so that the written charges add up to exactly the integer residue charge (arithmetic in integer
units of 1e-6 e, so the sum is exact, not a float that is nearly integer):

1. the deviation of the given charges from the integer (at most ``charge_tolerance``) is spread evenly
   over all atoms;
2. each charge is rounded to the nearest 1e-6 e, so atoms with equal charges (symmetry-equivalent atoms
   of a RESP fit) stay equal;
3. the rounding residue, at most n_atoms/2 x 1e-6 e, is added to one atom: the one with the largest
   |charge| among atoms whose charge no other atom shares. Only when every atom shares its charge with
   another is the residue spread as single 1e-6 e steps over the atoms with the largest rounding errors.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence
from xml.etree import ElementTree as ET

import numpy as np

from common.errors import InputFileError, ParameterError
from common.io import write_text_atomic
from forcefields.gaff2 import gaff2_ffxml_path

#: Decimals of the written charges (1e-6 e).
CHARGE_DECIMALS = 6
#: Largest |sum(charges) - nearest integer| accepted before rounding, e.
CHARGE_TOLERANCE = 1e-3
_NAME_RE = re.compile(r"^[A-Za-z0-9_'+\-*]{1,8}$")


@lru_cache(maxsize=1)
def gaff2_type_elements() -> dict[str, str]:
    """GAFF2 atom type name -> element symbol, read from openmmforcefields' gaff-2.11.xml."""
    root = ET.parse(gaff2_ffxml_path()).getroot()
    return {t.get("name"): t.get("element") for t in root.find("AtomTypes")}


def integer_charges(charges: Sequence[float], total: int | None = None, *, decimals: int = CHARGE_DECIMALS,
                    tolerance: float = CHARGE_TOLERANCE) -> list[int]:
    """Charges rounded to ``10**-decimals`` e whose sum is exactly the integer ``total`` (module docstring).

    Returns the charges as integers in units of ``10**-decimals`` e (so the sum is exact); divide by
    ``10**decimals`` for e. ``total`` defaults to the nearest integer of ``sum(charges)``. Raises
    :class:`ParameterError` if the charges are further than ``tolerance`` e from that integer.
    """
    q = np.asarray(charges, dtype=float)
    if q.ndim != 1 or q.size == 0 or not np.all(np.isfinite(q)):
        raise ParameterError(f"charges must be a non-empty list of finite numbers, got {charges!r}")
    target = int(round(float(q.sum()))) if total is None else int(total)
    deviation = target - float(q.sum())
    if abs(deviation) > tolerance:
        raise ParameterError(f"charges sum to {q.sum():.6f} e, {abs(deviation):.2e} e away from the integer "
                             f"residue charge {target} e (allowed: {tolerance} e)")
    scale = 10 ** decimals
    x = (q + deviation / q.size) * scale
    units = np.rint(x).astype(np.int64)
    residue = target * scale - int(units.sum())
    if residue:
        shares = np.abs(q[:, None] - q[None, :]) < 1e-9
        single = np.flatnonzero(shares.sum(axis=1) == 1)
        if single.size:
            units[single[np.argmax(np.abs(q[single]))]] += residue
        else:
            step = 1 if residue > 0 else -1
            order = np.argsort(-(x - units) * step, kind="stable")
            units[order[:abs(residue)]] += step
    return [int(u) for u in units]


def _format_units(units: int, decimals: int = CHARGE_DECIMALS) -> str:
    """Exact decimal text of ``units * 10**-decimals`` (no binary floating-point rounding)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10 ** decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


@dataclass(frozen=True)
class ResidueTemplate:
    """One residue template as read back from an ffxml file (charges in e)."""

    name: str
    atom_names: tuple[str, ...]
    types: tuple[str, ...]
    charges: tuple[float, ...]
    bonds: tuple[tuple[str, str], ...]
    external_bonds: tuple[str, ...]
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def total_charge(self) -> float:
        """Sum of the charges in e (summed in units of 1e-6 e, so an integer residue gives an exact int)."""
        return round(sum(round(q * 10 ** CHARGE_DECIMALS) for q in self.charges)) / 10 ** CHARGE_DECIMALS

    @property
    def elements(self) -> tuple[str, ...]:
        """Element of each atom, from its GAFF2 type."""
        table = gaff2_type_elements()
        return tuple(table.get(t, "?") for t in self.types)

    def charge_of(self, atom_name: str) -> float:
        return self.charges[self.atom_names.index(atom_name)]


def _resolve_atom(ref, names: Sequence[str], what: str) -> str:
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        if not 0 <= int(ref) < len(names):
            raise ParameterError(f"{what}: atom index {ref} out of range 0..{len(names) - 1}")
        return names[int(ref)]
    if isinstance(ref, str) and ref in names:
        return ref
    raise ParameterError(f"{what}: unknown atom {ref!r}; atoms are {list(names)}")


def _check_atoms(residue_name: str, atom_names: Sequence[str], elements: Sequence[str], types: Sequence[str],
                 charges: Sequence[float]) -> list[str]:
    """Validate the residue name and the per-atom lists; return the atom names as strings.

    Names are 1-8 characters of letters, digits, _ ' + - *; atom names are unique; the lists are equally
    long and non-empty; every type is a GAFF2 type of gaff-2.11.xml whose element is the atom's element.
    """
    n = len(atom_names)
    if not isinstance(residue_name, str) or not _NAME_RE.match(residue_name):
        raise ParameterError(f"residue name {residue_name!r} is not allowed: 1-8 characters of letters, "
                             "digits, _ ' + - *")
    if not (len(elements) == len(types) == len(charges) == n) or n == 0:
        raise ParameterError(f"residue {residue_name}: atom_names ({n}), elements ({len(elements)}), types "
                             f"({len(types)}) and charges ({len(charges)}) must be non-empty and equally long")
    names = [str(a) for a in atom_names]
    bad = [a for a in names if not _NAME_RE.match(a)]
    if bad:
        raise ParameterError(f"residue {residue_name}: atom names {bad} are not allowed: 1-8 characters of "
                             "letters, digits, _ ' + - *")
    dupes = sorted({a for a in names if names.count(a) > 1})
    if dupes:
        raise ParameterError(f"residue {residue_name}: atom names must be unique; repeated: {dupes}")
    table = gaff2_type_elements()
    for name, el, t in zip(names, elements, types):
        if t not in table:
            raise ParameterError(f"residue {residue_name}, atom {name}: type {t!r} is not a GAFF2 type of "
                                 f"{gaff2_ffxml_path().name}")
        if table[t] != el:
            raise ParameterError(f"residue {residue_name}, atom {name}: element {el!r} disagrees with GAFF2 type "
                                 f"{t!r} (element {table[t]!r})")
    return names


def _resolve_bonds(residue_name: str, names: Sequence[str], bonds: Sequence[tuple]) -> list[tuple[str, str]]:
    """Bonds as (name, name) pairs, in the given order; refuses non-pairs, self-bonds and repeated bonds."""
    bond_pairs: list[tuple[str, str]] = []
    seen: set[frozenset] = set()
    for bond in bonds:
        if len(bond) != 2:
            raise ParameterError(f"residue {residue_name}: a bond is a pair of atoms, got {bond!r}")
        a1, a2 = (_resolve_atom(b, names, f"residue {residue_name} bond {bond!r}") for b in bond)
        key = frozenset((a1, a2))
        if a1 == a2 or key in seen:
            raise ParameterError(f"residue {residue_name}: bond {bond!r} is a self-bond or listed twice")
        seen.add(key)
        bond_pairs.append((a1, a2))
    return bond_pairs


def _template_provenance(provenance: Mapping[str, object] | None, residue_total: int) -> dict[str, str]:
    """Provenance strings for ``<Info>``: the given ones, plus date, charge rounding and GAFF file if missing."""
    prov: dict[str, str] = {str(k): str(v) for k, v in (provenance or {}).items()}
    prov.setdefault("date", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    prov.setdefault("charge_rounding", f"nearest 1e-6 e, rounding residue on one unshared atom "
                                       f"(forcefields.residue_templates), residue total exactly {residue_total} e")
    prov.setdefault("gaff_ffxml", gaff2_ffxml_path().name)
    return prov


def _template_xml(residue_name: str, names: Sequence[str], types: Sequence[str], units: Sequence[int],
                  bond_pairs: Sequence[tuple[str, str]], externals: Sequence[str], prov: Mapping[str, str],
                  residue_total: int) -> str:
    """The ffxml text of one residue template (charges given in units of 1e-6 e), newline-terminated."""
    root = ET.Element("ForceField")
    root.append(ET.Comment(f" gelmd residue template {residue_name}: GAFF2 types for {gaff2_ffxml_path().name}, "
                           f"charges {prov.get('charge_method', 'as given')}, total {residue_total} e "
                           "(provenance in <Info>) "))
    info = ET.SubElement(root, "Info")
    ET.SubElement(info, "DateGenerated").text = prov["date"]
    ET.SubElement(info, "Source").text = "gelmd forcefields.residue_templates"
    for key, value in prov.items():
        item = ET.SubElement(info, "Provenance", key=key)
        item.text = value
    residues = ET.SubElement(root, "Residues")
    res = ET.SubElement(residues, "Residue", name=residue_name)
    for name, t, u in zip(names, types, units):
        ET.SubElement(res, "Atom", name=name, type=str(t), charge=_format_units(u))
    for a1, a2 in bond_pairs:
        ET.SubElement(res, "Bond", atomName1=a1, atomName2=a2)
    for e in externals:
        ET.SubElement(res, "ExternalBond", atomName=e)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def write_residue_template(path: str | Path, residue_name: str, atom_names: Sequence[str],
                           elements: Sequence[str], types: Sequence[str], charges: Sequence[float],
                           bonds: Sequence[tuple], external_bonds: Sequence = (),
                           provenance: Mapping[str, object] | None = None, *, total_charge: int | None = None,
                           charge_tolerance: float = CHARGE_TOLERANCE) -> list[float]:
    """Write one OpenMM residue template (ffxml) that loads together with gaff-2.11.xml.

    Args:
        path: output file (written atomically; parent folders are created).
        residue_name: residue name OpenMM matches templates by (also the name in the Topology).
        atom_names: unique atom names, e.g. ``C1, C2, O1, H1``.
        elements: element symbol of each atom; must agree with the element of its GAFF2 type.
        types: GAFF2 atom type names (must exist in gaff-2.11.xml).
        charges: partial charges in e; rounded to 1e-6 e with an exact integer sum (module docstring).
        bonds: pairs of atom names or 0-based atom indices, each bond once.
        external_bonds: atom names or indices that bond to another residue (polymer units).
        provenance: key -> value strings stored in ``<Info>`` (method, basis, grid, restraints, seed, ESP
            RRMS, software versions...); the date and writer are added if missing.
        total_charge: the integer residue charge in e; default the nearest integer of ``sum(charges)``.
        charge_tolerance: largest accepted |sum(charges) - total_charge| in e.

    Returns:
        The charges as written (e).
    """
    names = _check_atoms(residue_name, atom_names, elements, types, charges)
    bond_pairs = _resolve_bonds(residue_name, names, bonds)
    externals = [_resolve_atom(e, names, f"residue {residue_name} external bond") for e in external_bonds]
    units = integer_charges(charges, total_charge, tolerance=charge_tolerance)
    residue_total = sum(units) // 10 ** CHARGE_DECIMALS
    prov = _template_provenance(provenance, residue_total)
    text = _template_xml(residue_name, names, types, units, bond_pairs, externals, prov, residue_total)
    write_text_atomic(path, text)
    return [u / 10 ** CHARGE_DECIMALS for u in units]


def read_residue_templates(path: str | Path) -> dict[str, ResidueTemplate]:
    """Every residue template of an ffxml file, by residue name."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"residue template file {path} does not exist")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ParameterError(f"residue template file {path} is not valid XML: {exc}") from exc
    provenance: dict[str, str] = {}
    info = root.find("Info")
    if info is not None:
        for item in info.findall("Provenance"):
            provenance[item.get("key", "")] = item.text or ""
    out: dict[str, ResidueTemplate] = {}
    residues = root.find("Residues")
    for res in ([] if residues is None else residues.findall("Residue")):
        atoms = res.findall("Atom")
        try:
            charges = tuple(float(a.get("charge")) for a in atoms)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{path}: residue {res.get('name')} has an atom without a numeric charge") from exc
        out[res.get("name")] = ResidueTemplate(
            name=res.get("name"),
            atom_names=tuple(a.get("name") for a in atoms),
            types=tuple(a.get("type") for a in atoms),
            charges=charges,
            bonds=tuple((b.get("atomName1"), b.get("atomName2")) for b in res.findall("Bond")),
            external_bonds=tuple(e.get("atomName") for e in res.findall("ExternalBond")),
            provenance=dict(provenance),
        )
    if not out:
        raise ParameterError(f"{path} holds no <Residues><Residue> template")
    return out


def read_residue_template(path: str | Path, residue_name: str | None = None) -> ResidueTemplate:
    """The residue template ``residue_name`` of ``path`` (or its only template when None)."""
    templates = read_residue_templates(path)
    if residue_name is None:
        if len(templates) != 1:
            raise ParameterError(f"{path} holds {len(templates)} templates {sorted(templates)}; name one")
        return next(iter(templates.values()))
    if residue_name not in templates:
        raise ParameterError(f"{path} has no residue {residue_name!r}; it has {sorted(templates)}")
    return templates[residue_name]


def single_residue_topology(residue_name: str, atom_names: Sequence[str], elements: Sequence[str],
                            bonds: Sequence[tuple[int, int]]):
    """An ``openmm.app.Topology`` holding one residue (one chain), bonds given as 0-based index pairs."""
    from openmm import app

    top = app.Topology()
    chain = top.addChain()
    res = top.addResidue(residue_name, chain)
    atoms = [top.addAtom(name, app.Element.getBySymbol(el), res) for name, el in zip(atom_names, elements)]
    for i, j in bonds:
        top.addBond(atoms[int(i)], atoms[int(j)])
    return top


def check_template_system(template_paths: Sequence[str | Path], topology) -> dict[str, float]:
    """Build a System from gaff-2.11.xml + ``template_paths`` for ``topology`` and check it.

    Fails loudly with :class:`ParameterError` when a residue matches no template (OpenMM's error is
    passed on) or when GAFF2 has no bond or angle parameters for some bonded atom types (OpenMM itself
    skips those silently). Returns the total charge (e) and the numbers of bonds, angles and torsions.
    """
    import openmm
    from openmm import app

    ff = app.ForceField(str(gaff2_ffxml_path()), *[str(p) for p in template_paths])
    try:
        system = ff.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None)
    except ValueError as exc:
        raise ParameterError(f"OpenMM could not build a System from gaff-2.11.xml + "
                             f"{[str(p) for p in template_paths]}: {exc}") from exc
    forces = {type(f).__name__: f for f in system.getForces()}
    nb = forces["NonbondedForce"]
    total = sum(nb.getParticleParameters(i)[0].value_in_unit(openmm.unit.elementary_charge)
                for i in range(nb.getNumParticles()))
    n_bonds_top = topology.getNumBonds()
    neighbours = [0] * topology.getNumAtoms()
    for b in topology.bonds():
        neighbours[b[0].index] += 1
        neighbours[b[1].index] += 1
    n_angles_top = sum(k * (k - 1) // 2 for k in neighbours)
    n_bonds = forces["HarmonicBondForce"].getNumBonds() if "HarmonicBondForce" in forces else 0
    n_angles = forces["HarmonicAngleForce"].getNumAngles() if "HarmonicAngleForce" in forces else 0
    if n_bonds != n_bonds_top or n_angles != n_angles_top:
        raise ParameterError(f"GAFF2 parameters missing: the System has {n_bonds} of {n_bonds_top} bonds and "
                             f"{n_angles} of {n_angles_top} angles; check the atom types of "
                             f"{[str(p) for p in template_paths]}")
    n_torsions = (forces["PeriodicTorsionForce"].getNumTorsions() if "PeriodicTorsionForce" in forces else 0)
    return {"total_charge_e": float(total), "n_bonds": n_bonds, "n_angles": n_angles, "n_torsions": n_torsions}


def scale_template_file(source: str | Path, out: str | Path, scale: float,
                        provenance: Mapping[str, object] | None = None) -> ResidueTemplate:
    """Write the one neutral residue template of ``source`` with every charge multiplied by ``scale``.

    The uniformly scaled solvent charge model (forcefields.charge_models, ``scaled``): the charges of a
    neutral molecule scaled by 0 < scale <= 1 keep their zero sum, so its dipole (and every multipole) scales
    by ``scale``. Types and bonds are copied; the provenance keeps the source's entries (prefixed
    ``base_``) and adds the scale, the source file and its SHA-256. A charged residue is refused (ions are
    scaled by ``forcefield.ion_charge_scale`` instead).
    """
    import hashlib

    if not 0.0 < float(scale) <= 1.0:
        raise ParameterError(f"solvent charge scale {scale!r} is not allowed: 0 < scale <= 1")
    template = read_residue_template(source)
    if abs(template.total_charge) > 1e-9:
        raise ParameterError(f"{source}: residue {template.name} carries {template.total_charge:+g} e; only "
                             "neutral molecules are scaled (ions: forcefield.ion_charge_scale)")
    table = gaff2_type_elements()
    prov = {f"base_{k}": v for k, v in template.provenance.items() if k not in ("date", "charge_rounding")}
    prov.update({
        "smiles": template.provenance.get("smiles", ""),
        "residue": template.name,
        "charge_method": f"{template.provenance.get('charge_method', 'template charges')} x {float(scale):g} "
                         "(uniformly scaled solvent charges)",
        "charge_model": f"scaled_{float(scale):.2f}",
        "solvent_charge_scale": f"{float(scale):g}",
        "qm_method": template.provenance.get("qm_method", ""),
        "base_template": str(source),
        "base_template_sha256": hashlib.sha256(Path(source).read_bytes()).hexdigest(),
    })
    prov.update({str(k): str(v) for k, v in (provenance or {}).items()})
    write_residue_template(out, template.name, template.atom_names, [table[t] for t in template.types],
                           template.types, [q * float(scale) for q in template.charges], template.bonds,
                           template.external_bonds, provenance=prov, total_charge=0)
    return read_residue_template(out)
