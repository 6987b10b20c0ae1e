"""Embedded-atom (Finnis-Sinclair) metal potentials from LAMMPS ``eam/fs`` "setfl" tables as OpenMM forces.

The energy of metal atom i is (Daw & Baskes, Phys. Rev. B 29, 6443 (1984); Finnis & Sinclair, Philos. Mag.
A 50, 45 (1984))

    E_i = F(rho_i) + 1/2 sum_{j != i} phi(r_ij),      rho_i = sum_{j != i} f(r_ij),

with F the embedding function (eV of the density rho), f the density function and phi the pair function
(eV of r in Angstrom), all cut at the file's cutoff. In OpenMM (internal units nm, kJ/mol) this is

- a :class:`openmm.CustomGBForce` whose computed value ``rho`` (type ``ParticlePairNoExclusions``) sums f over
  the metal neighbours and whose single-particle energy term is F(rho) (non-metal particles carry the
  per-particle parameter ``metal = 0``: they neither receive nor give density, and F(0) is added only for
  metal atoms);
- a :class:`openmm.CustomNonbondedForce` with phi(r) restricted by an interaction group to metal-metal pairs.

F, f and phi are :class:`openmm.Continuous1DFunction` natural cubic splines through the file's own grid
(10,000 points for the Na tables here), which is why the result agrees with ASE's EAM calculator (cubic
``InterpolatedUnivariateSpline`` through the same points) to ~1e-8 eV/atom; a tabulated function is zero
outside its grid, and every table here reaches zero at the cutoff.

The setfl "fs" layout (LAMMPS ``pair_style eam/fs``): three comment lines; element count and names;
``Nrho drho Nr dr cutoff``; per element a line ``Z mass a lattice`` then F on the rho grid (Nrho values) and
f_{element,k} for each element k on the r grid (Nr values); then r*phi(r) in eV*Angstrom for each element
pair i >= j. Grids start at zero: rho_k = k drho, r_k = k dr. Only single-element files are supported.

The Na tables and their provenance are in ``forcefields/data/eam/`` (README there):
Nichol & Ackland, Phys. Rev. B 93, 184101 (2016) (``Na_v2.eam.fs``, cutoff 5.578 Angstrom, the default) and
Mendelev's Na potential (``Na_MendelevM_2014.eam.fs``, 9.2 Angstrom).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import openmm

from common.constants import ELECTRON_VOLT_KJ_PER_MOL
from common.errors import ParameterError

NM_PER_ANGSTROM = 0.1
EAM_DATA_DIR = Path(__file__).resolve().parent / "data" / "eam"
EAM_POTENTIALS = {
    "nichol_ackland_2016": EAM_DATA_DIR / "Na_v2.eam.fs",
    "mendelev_2014": EAM_DATA_DIR / "Na_MendelevM_2014.eam.fs",
}
"""The shipped Na tables by config name (provenance: data/eam/README.md)."""
EAM_FORCE_GROUP = 5
"""Force group of the EAM forces (so that their energy can be read alone)."""


@dataclass(frozen=True)
class EamTables:
    """One element's tables of a setfl ``eam/fs`` file, in the file's units (eV, Angstrom, amu)."""

    source: str
    comments: tuple[str, ...]
    element: str
    atomic_number: int
    mass_amu: float
    lattice_constant_angstrom: float
    lattice: str
    drho: float
    dr_angstrom: float
    cutoff_angstrom: float
    embedding_eV: np.ndarray
    density: np.ndarray
    r_phi_eV_angstrom: np.ndarray

    @property
    def r_angstrom(self) -> np.ndarray:
        return np.arange(len(self.density)) * self.dr_angstrom

    @property
    def rho(self) -> np.ndarray:
        return np.arange(len(self.embedding_eV)) * self.drho


def read_setfl_fs(path: str | Path) -> EamTables:
    """Read a single-element LAMMPS ``eam/fs`` (setfl) file, or a shipped one by its name in
    ``EAM_POTENTIALS``; raise ParameterError naming what is wrong."""
    path = EAM_POTENTIALS.get(str(path), Path(path))
    if not path.is_file():
        raise ParameterError(f"EAM table {str(path)!r} does not exist")
    lines = path.read_text().splitlines()
    if len(lines) < 6:
        raise ParameterError(f"EAM table {str(path)!r}: {len(lines)} lines; a setfl file has at least 6")
    comments = tuple(line.strip() for line in lines[:3])
    head = lines[3].split()
    if int(head[0]) != 1 or len(head) != 2:
        raise ParameterError(f"EAM table {str(path)!r}: line 4 {lines[3].strip()!r} declares {head[0]} elements; "
                             "only single-element files are supported")
    grid = lines[4].split()
    nrho, drho, nr, dr, cutoff = int(grid[0]), float(grid[1]), int(grid[2]), float(grid[3]), float(grid[4])
    element = lines[5].split()
    numbers = np.array(" ".join(lines[6:]).split(), dtype=float)
    expected = nrho + 2 * nr
    if numbers.size != expected:
        raise ParameterError(f"EAM table {str(path)!r}: {numbers.size} tabulated values after line 6; an eam/fs "
                             f"file with Nrho={nrho} and Nr={nr} has {expected} (F, f, r*phi)")
    return EamTables(
        source=str(path), comments=comments, element=head[1], atomic_number=int(element[0]),
        mass_amu=float(element[1]), lattice_constant_angstrom=float(element[2]), lattice=element[3],
        drho=drho, dr_angstrom=dr, cutoff_angstrom=cutoff, embedding_eV=numbers[:nrho],
        density=numbers[nrho:nrho + nr], r_phi_eV_angstrom=numbers[nrho + nr:])


def _pair_function_eV(tables: EamTables) -> tuple[np.ndarray, float, float]:
    """phi(r) = (r phi)/r on the grid without r = 0 (as ASE does), with its first and last r in Angstrom."""
    r = tables.r_angstrom[1:]
    return tables.r_phi_eV_angstrom[1:] / r, float(r[0]), float(r[-1])


def add_eam_forces(system: openmm.System, metal_atoms: Iterable[int], tables: EamTables, *, periodic: bool = True,
                   force_group: int = EAM_FORCE_GROUP) -> tuple[openmm.CustomGBForce, openmm.CustomNonbondedForce]:
    """Add the EAM of ``tables`` between ``metal_atoms`` of ``system``; return the two forces added.

    Every other particle takes part with ``metal = 0`` (no density, no embedding, no pair term). Periodic
    systems use ``CutoffPeriodic`` with the table's cutoff (every box length must exceed twice it).
    """
    metal = sorted(set(int(i) for i in metal_atoms))
    if not metal:
        raise ParameterError("add_eam_forces: no metal atoms given")
    if metal[0] < 0 or metal[-1] >= system.getNumParticles():
        raise ParameterError(f"add_eam_forces: metal atom indices {metal[0]}..{metal[-1]} outside the System's "
                             f"{system.getNumParticles()} particles")
    cutoff_nm = tables.cutoff_angstrom * NM_PER_ANGSTROM
    r = tables.r_angstrom
    embedding = openmm.Continuous1DFunction(list(tables.embedding_eV * ELECTRON_VOLT_KJ_PER_MOL),
                                            0.0, float(tables.rho[-1]))
    density = openmm.Continuous1DFunction(list(tables.density), 0.0, float(r[-1]) * NM_PER_ANGSTROM)
    phi, r_first, r_last = _pair_function_eV(tables)
    pair = openmm.Continuous1DFunction(list(phi * ELECTRON_VOLT_KJ_PER_MOL), r_first * NM_PER_ANGSTROM,
                                       r_last * NM_PER_ANGSTROM)

    gb = openmm.CustomGBForce()
    gb.addPerParticleParameter("metal")
    gb.addTabulatedFunction("eam_f", density)
    gb.addTabulatedFunction("eam_F", embedding)
    gb.addComputedValue("rho", "metal1*metal2*eam_f(r)", openmm.CustomGBForce.ParticlePairNoExclusions)
    gb.addEnergyTerm("metal*eam_F(rho)", openmm.CustomGBForce.SingleParticle)
    is_metal = np.zeros(system.getNumParticles(), dtype=bool)
    is_metal[metal] = True
    for flag in is_metal:
        gb.addParticle([1.0 if flag else 0.0])

    nb = openmm.CustomNonbondedForce("eam_phi(r)")
    nb.addTabulatedFunction("eam_phi", pair)
    for _ in range(system.getNumParticles()):
        nb.addParticle([])
    nb.addInteractionGroup(metal, metal)
    nb.setUseLongRangeCorrection(False)
    nb.setUseSwitchingFunction(False)

    for force in (gb, nb):
        force.setNonbondedMethod(force.CutoffPeriodic if periodic else force.CutoffNonPeriodic)
        force.setCutoffDistance(cutoff_nm)
        force.setForceGroup(force_group)
        force.setName("EAM " + ("embedding" if force is gb else "pair") + f" ({Path(tables.source).name})")
        system.addForce(force)
    return gb, nb


def copy_nonbonded_exclusions(nonbonded: openmm.NonbondedForce,
                              custom: openmm.CustomNonbondedForce | openmm.CustomGBForce) -> None:
    """Give ``custom`` every exception of ``nonbonded`` as an exclusion.

    The GPU platforms require the nonbonded-style forces of a System to carry the same exclusions; metal
    atoms have none, so this only copies the molecules' own (the EAM terms never act on them, and the
    density is a ``ParticlePairNoExclusions`` value that ignores exclusions anyway).
    """
    for k in range(nonbonded.getNumExceptions()):
        i, j, *_ = nonbonded.getExceptionParameters(k)
        custom.addExclusion(i, j)


def bcc_positions_angstrom(lattice_constant_angstrom: float, cells: Sequence[int]) -> np.ndarray:
    """Atom positions (Angstrom) of ``cells`` = (nx, ny, nz) conventional bcc cubes from the origin."""
    a = float(lattice_constant_angstrom)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in cells], indexing="ij"), -1).reshape(-1, 3)
    basis = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
    return ((grid[:, None, :] + basis[None, :, :]).reshape(-1, 3)) * a


def metal_system(tables: EamTables, n_atoms: int, box_angstrom: Sequence[float], *,
                 periodic: bool = True) -> openmm.System:
    """A System of ``n_atoms`` EAM atoms (the file's mass) in an orthorhombic box, EAM forces only."""
    system = openmm.System()
    for _ in range(n_atoms):
        system.addParticle(tables.mass_amu)
    box = np.asarray(box_angstrom, dtype=float) * NM_PER_ANGSTROM
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(box[0], 0, 0), openmm.Vec3(0, box[1], 0), openmm.Vec3(0, 0, box[2]))
    add_eam_forces(system, range(n_atoms), tables, periodic=periodic)
    return system


def energy_eV_and_forces_eV_per_angstrom(system: openmm.System, positions_angstrom: np.ndarray,
                                         platform: str = "Reference", group: int | None = None
                                         ) -> tuple[float, np.ndarray]:
    """Potential energy (eV) and forces (eV/Angstrom) of ``system`` at ``positions_angstrom``."""
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    context.setPositions(np.asarray(positions_angstrom) * NM_PER_ANGSTROM)
    kwargs = {} if group is None else {"groups": {group}}
    state = context.getState(getEnergy=True, getForces=True, **kwargs)
    energy = state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole) / ELECTRON_VOLT_KJ_PER_MOL
    forces = state.getForces(asNumpy=True).value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.nanometer)
    return energy, np.asarray(forces) * NM_PER_ANGSTROM / ELECTRON_VOLT_KJ_PER_MOL


@dataclass(frozen=True)
class BulkProperties:
    """Zero-temperature bcc properties of an EAM potential (static lattice, no zero-point energy)."""

    lattice_constant_angstrom: float
    cohesive_energy_eV_per_atom: float


def bcc_energy_per_atom_eV(tables: EamTables, lattice_constant_angstrom: float, cells: int = 4) -> float:
    """Energy per atom (eV) of a perfect periodic bcc crystal of ``cells``^3 conventional cubes."""
    a = float(lattice_constant_angstrom)
    if cells * a <= 2.0 * tables.cutoff_angstrom:
        raise ParameterError(f"bcc_energy_per_atom_eV: {cells} cells of {a:g} Angstrom do not exceed twice the "
                             f"cutoff {tables.cutoff_angstrom:g} Angstrom")
    positions = bcc_positions_angstrom(a, (cells,) * 3)
    system = metal_system(tables, len(positions), (cells * a,) * 3)
    energy, _ = energy_eV_and_forces_eV_per_angstrom(system, positions)
    return energy / len(positions)


def bcc_bulk_properties(tables: EamTables, bracket_angstrom: tuple[float, float] = (3.8, 4.8)) -> BulkProperties:
    """Equilibrium bcc lattice constant (minimum of E(a), Brent to 1e-6 Angstrom) and cohesive energy -E/N."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(lambda a: bcc_energy_per_atom_eV(tables, a), bounds=bracket_angstrom,
                             method="bounded", options={"xatol": 1e-6})
    return BulkProperties(lattice_constant_angstrom=float(result.x),
                          cohesive_energy_eV_per_atom=-float(result.fun))
