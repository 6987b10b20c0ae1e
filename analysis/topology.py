"""Molecules, species, masses and charges of a simulated system, read from its topology and System XML.

Conventions
-----------
* A **molecule** is a residue of the topology and a **species** is a residue name (``PC``, ``FEC``,
  ``NA``, ``PF6``; a polymer network contributes one species per monomer-unit residue name). Network
  residues are bonded to each other; each is still treated as one "molecule" whose centre of mass is
  followed, which for a network gives segmental motion.
* **Masses** (amu) come from the OpenMM ``System`` (so hydrogen mass repartitioning is included; it moves
  a centre of mass by a body-fixed vector only and cannot change a long-time MSD).
* **Scaled charges** (e) are the per-particle charges of the System's ``NonbondedForce``: the charges the
  dynamics used (ion charges are often scaled, e.g. by 0.8).
* **Formal charges** are integer charges per residue: the residue's total scaled charge rounded half away
  from zero, unless given explicitly (``formal_charges={"NA": 1, "PF6": -1}``). A residue total between
  0.25 and 0.5 in magnitude is ambiguous and must be given explicitly.
* **Ions** are the species with a non-zero formal charge.

Bonds come from the topology (PDB ``CONECT`` records) and are used by :mod:`analysis.solvation` to find
carbonyl oxygens; nothing here depends on atom names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.errors import AnalysisError, InputFileError

AMBIGUOUS_CHARGE_RANGE = (0.25, 0.5)


@dataclass(frozen=True)
class Species:
    """All molecules (residues) sharing one residue name."""

    name: str
    molecule_indices: np.ndarray
    atoms_per_molecule: int
    mass_amu: float
    charge_scaled_e: float
    charge_formal_e: int
    sum_formal_charge_squared: float
    sum_scaled_charge_squared: float

    @property
    def n_molecules(self) -> int:
        return int(self.molecule_indices.size)

    @property
    def is_ion(self) -> bool:
        return self.charge_formal_e != 0


@dataclass
class MolecularSystem:
    """Everything the analyses need to know about the atoms (arrays are indexed by atom or molecule)."""

    n_atoms: int
    elements: list[str]
    atom_names: list[str]
    residue_names: list[str]
    molecule_of_atom: np.ndarray
    molecule_atoms: list[np.ndarray]
    masses_amu: np.ndarray
    charges_e: np.ndarray
    molecule_mass_amu: np.ndarray
    molecule_charge_scaled_e: np.ndarray
    molecule_charge_formal_e: np.ndarray
    bonds: np.ndarray
    species: dict[str, Species] = field(default_factory=dict)
    formal_charge_source: dict[str, str] = field(default_factory=dict)

    @property
    def n_molecules(self) -> int:
        return len(self.molecule_atoms)

    @property
    def ions(self) -> dict[str, Species]:
        return {name: sp for name, sp in self.species.items() if sp.is_ion}

    def neighbours(self) -> list[list[int]]:
        """Bonded neighbours of every atom (from the topology's bonds)."""
        result: list[list[int]] = [[] for _ in range(self.n_atoms)]
        for i, j in self.bonds:
            result[int(i)].append(int(j))
            result[int(j)].append(int(i))
        return result

    def charge_scale_of_ions(self) -> dict[str, float]:
        """Scaled/formal charge ratio of every ion species (e.g. 0.8 for scaled-charge ions)."""
        return {name: sp.charge_scaled_e / sp.charge_formal_e for name, sp in self.ions.items()}


def _require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} file {str(path)!r} does not exist")
    return path


def read_topology(path: str | Path):
    """Read an OpenMM ``Topology`` (with CONECT bonds) from a PDB or PDBx/mmCIF file."""
    from openmm import app

    path = _require_file(path, "topology")
    suffix = path.suffix.lower()
    try:
        if suffix in (".cif", ".pdbx", ".mmcif"):
            return app.PDBxFile(str(path)).topology
        if suffix in (".pdb", ".ent"):
            return app.PDBFile(str(path)).topology
    except Exception as exc:  # openmm raises plain Exceptions with parser messages
        raise AnalysisError(f"topology file {str(path)!r} could not be read: {exc}") from exc
    raise AnalysisError(f"topology file {str(path)!r}: unknown format {suffix!r}; allowed: .pdb, .cif, .pdbx")


def read_system_charges_masses(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle charges (e, from the NonbondedForce) and masses (amu) of a serialised OpenMM System."""
    import openmm
    from openmm import unit

    path = _require_file(path, "System XML")
    try:
        system = openmm.XmlSerializer.deserialize(path.read_text())
    except Exception as exc:
        raise AnalysisError(f"System XML {str(path)!r} could not be deserialised by OpenMM: {exc}") from exc
    if not isinstance(system, openmm.System):
        raise AnalysisError(f"System XML {str(path)!r} holds a {type(system).__name__}, not an openmm.System")
    n = system.getNumParticles()
    masses = np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(n)])
    nonbonded = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
    if len(nonbonded) != 1:
        raise AnalysisError(f"System XML {str(path)!r} has {len(nonbonded)} NonbondedForce objects; the charges "
                            "are read from exactly one")
    force = nonbonded[0]
    charges = np.array([force.getParticleParameters(i)[0].value_in_unit(unit.elementary_charge)
                        for i in range(n)])
    return charges, masses


def _formal_charge(total: float, residue: str, index: int) -> int:
    magnitude = abs(total)
    low, high = AMBIGUOUS_CHARGE_RANGE
    if low < magnitude < high:
        raise AnalysisError(
            f"residue {residue} (molecule {index}) has total charge {total:+.4f} e, between {low} and {high}: "
            f"its formal (integer) charge is ambiguous; give it explicitly, e.g. formal_charges "
            f"{residue}=+1 (CLI: --formal-charges {residue}=1)")
    return int(math.copysign(math.floor(magnitude + 0.5), total)) if magnitude >= high else 0


def build_molecular_system(topology, charges_e: np.ndarray, masses_amu: np.ndarray,
                           formal_charges: dict[str, int] | None = None,
                           source: str = "topology") -> MolecularSystem:
    """Combine an OpenMM topology with per-particle charges and masses into a :class:`MolecularSystem`."""
    atoms = list(topology.atoms())
    n_atoms = len(atoms)
    if charges_e.shape != (n_atoms,) or masses_amu.shape != (n_atoms,):
        raise AnalysisError(f"the topology {source} has {n_atoms} atoms but the System has "
                            f"{charges_e.shape[0]} particles; they must describe the same atoms in the same order")
    formal_charges = dict(formal_charges or {})
    residues = list(topology.residues())
    names = {r.name for r in residues}
    unknown = sorted(set(formal_charges) - names)
    if unknown:
        raise AnalysisError(f"formal charges were given for residue name(s) {unknown} that are not in the topology; "
                            f"residue names present: {sorted(names)}")
    molecule_of_atom = np.empty(n_atoms, dtype=np.int64)
    molecule_atoms: list[np.ndarray] = []
    residue_names: list[str] = []
    for m, residue in enumerate(residues):
        idx = np.array([a.index for a in residue.atoms()], dtype=np.int64)
        if idx.size == 0:
            continue
        molecule_of_atom[idx] = len(molecule_atoms)
        molecule_atoms.append(idx)
        residue_names.append(residue.name)
    mol_mass = np.array([masses_amu[idx].sum() for idx in molecule_atoms])
    massless = [residue_names[m] for m in np.flatnonzero(mol_mass <= 0)]
    if massless:
        raise AnalysisError(f"residue(s) {sorted(set(massless))} have zero total mass in the System; a centre of "
                            "mass cannot be defined")
    mol_q = np.array([charges_e[idx].sum() for idx in molecule_atoms])
    formal = np.empty(len(molecule_atoms), dtype=np.int64)
    source_of: dict[str, str] = {}
    for m, (name, q) in enumerate(zip(residue_names, mol_q)):
        if name in formal_charges:
            formal[m] = int(formal_charges[name])
            source_of[name] = "given"
        else:
            formal[m] = _formal_charge(q, name, m)
            source_of.setdefault(name, "rounded residue charge")
    elements = [a.element.symbol if a.element is not None else "" for a in atoms]
    bonds = np.array([(b[0].index, b[1].index) for b in topology.bonds()], dtype=np.int64).reshape(-1, 2)

    species: dict[str, Species] = {}
    for name in dict.fromkeys(residue_names):
        mols = np.array([m for m, n in enumerate(residue_names) if n == name], dtype=np.int64)
        z = formal[mols]
        sizes = {molecule_atoms[m].size for m in mols}
        if len(set(z.tolist())) != 1:
            # a species is one residue name; its molecules must carry one formal charge to report z
            raise AnalysisError(f"residues named {name} carry different formal charges {sorted(set(z.tolist()))}; "
                                "give them distinct residue names")
        species[name] = Species(
            name=name, molecule_indices=mols,
            atoms_per_molecule=sizes.pop() if len(sizes) == 1 else -1,
            mass_amu=float(mol_mass[mols].mean()),
            charge_scaled_e=float(mol_q[mols].mean()),
            charge_formal_e=int(z[0]),
            sum_formal_charge_squared=float((z.astype(float) ** 2).sum()),
            sum_scaled_charge_squared=float((mol_q[mols] ** 2).sum()),
        )
    return MolecularSystem(
        n_atoms=n_atoms, elements=elements, atom_names=[a.name for a in atoms], residue_names=residue_names,
        molecule_of_atom=molecule_of_atom, molecule_atoms=molecule_atoms, masses_amu=np.asarray(masses_amu, float),
        charges_e=np.asarray(charges_e, float), molecule_mass_amu=mol_mass, molecule_charge_scaled_e=mol_q,
        molecule_charge_formal_e=formal, bonds=bonds, species=species, formal_charge_source=source_of,
    )


def load_molecular_system(topology_path: str | Path, system_path: str | Path,
                          formal_charges: dict[str, int] | None = None) -> MolecularSystem:
    """Read the topology and System XML files and return the :class:`MolecularSystem` they describe."""
    topology = read_topology(topology_path)
    charges, masses = read_system_charges_masses(system_path)
    if charges.size != topology.getNumAtoms():
        raise AnalysisError(f"topology {str(topology_path)!r} has {topology.getNumAtoms()} atoms but System XML "
                            f"{str(system_path)!r} has {charges.size} particles; they must describe the same atoms")
    return build_molecular_system(topology, charges, masses, formal_charges, source=repr(str(topology_path)))


def parse_formal_charges(items: list[str] | None) -> dict[str, int]:
    """Parse ``["NA=1", "PF6=-1"]`` into ``{"NA": 1, "PF6": -1}``."""
    result: dict[str, int] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            result[name.strip()] = int(value)
        except ValueError:
            raise AnalysisError(f"--formal-charges: {item!r} is not RESIDUE=INTEGER (e.g. NA=1 PF6=-1)") from None
    return result
