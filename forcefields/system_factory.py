"""Topology + residue templates -> OpenMM System with GAFF2 + RESP + ion parameters.

Called through :func:`forcefields.parameterise.system_from_templates`, the one entry point that builds a
System (the parameterise stage for liquids and gels, the network builder between its cycles), which finds
the template files by residue name (:func:`template_files_for`). What :func:`create_system` does, in order:

1. loads ``gaff-2.11.xml`` (GAFF2 bonded and LJ parameters), ``data/ions.xml`` (Na+, PF6-) and the cached
   RESP residue templates, and lets OpenMM match every residue to a template;
2. builds the System with PME electrostatics, the given real-space cutoff, an isotropic long-range
   dispersion correction, H-bond constraints and (optionally) hydrogen mass repartitioning;
3. multiplies the charges of ion residues by ``ion_charge_scale`` (the electronic-continuum style scaling
   common for carbonate electrolytes, 0.8 by default) — 1-4 exception charge products are rescaled too;
4. resets the three trans F-P-F angles of each octahedral ion to 180 deg (OpenMM's angle generator gives
   every F-P-F triple the 90 deg equilibrium of the template, which would tear PF6- apart);
5. checks that every bond of the topology has a bond term or a constraint: OpenMM silently creates no bond
   for a GAFF2 type pair without parameters (e.g. the amine type n7 in gaff-2.11.xml);
6. for a crosslinked network (``periodic_bonds``), makes bonded forces and the nonbonded exceptions use
   periodic boundary conditions: a network bonded through the box edges needs minimum-image bonds.

X-H bonds keep their harmonic terms beside the constraints (``flexibleConstraints``): they add no energy
while the constraint holds (the constraint length is the bond's equilibrium length), and they let a stage
that must run without constraints (NPT of a percolating network, see ``simulation.system_prep``) drop the
constraints and keep the bonds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import openmm
from openmm import app, unit

from common.errors import ParameterError
from forcefields.gaff2 import gaff2_ffxml_path
from forcefields.ion_parameters import IONS_FFXML, ion_residues_with_parameters

DATA_DIR = Path(__file__).resolve().parent / "data"
TEMPLATE_DIR = DATA_DIR / "templates"
"""The shipped, reviewed residue templates: read-only inputs (builders write theirs into their output folder)."""
TRANS_ANGLE_THRESHOLD_DEG = 135.0
CHARGE_INTEGER_TOLERANCE = 1e-4


@dataclass(frozen=True)
class NonbondedSettings:
    """Nonbonded and constraint settings of the System (internal units: nm, amu)."""

    cutoff_nm: float = 1.0
    ewald_error_tolerance: float = 5e-4
    hydrogen_mass_amu: float = 1.008
    constraints: str = "HBonds"
    periodic_bonds: bool = False


@dataclass
class SystemReport:
    """What the factory did, for provenance in every result."""

    n_atoms: int
    force_field_files: list[str]
    ion_residues: list[str]
    ion_charge_scale: float
    total_charge_e: float
    residue_charges_formal_e: dict[str, float]
    trans_angles_fixed: int
    nonbonded: dict = field(default_factory=dict)


def template_files_for(residue_names: set[str], template_dirs: Path | Sequence[Path] = TEMPLATE_DIR) -> list[Path]:
    """Residue-template ffxml files ``NAME.xml`` for ``residue_names``, each from the first folder that has it.

    ``template_dirs`` is one folder or several, searched in order (a gel's build output first, then the
    shipped templates). Residues defined by ``data/ions.xml`` need no file.
    """
    dirs = [Path(template_dirs)] if isinstance(template_dirs, (str, Path)) else [Path(d) for d in template_dirs]
    missing, files = [], []
    for name in sorted(set(residue_names) - ion_residues_with_parameters()):
        found = next((d / f"{name}.xml" for d in dirs if (d / f"{name}.xml").is_file()), None)
        if found is None:
            missing.append(name)
        else:
            files.append(found)
    if missing:
        available = sorted({p.stem for d in dirs for p in d.glob("*.xml")})
        where = ", ".join(str(d) for d in dirs) or "(no template folder given)"
        raise ParameterError(f"no residue template for residue(s) {missing} in {where}; available: {available}. "
                             "Build one with 'python -m forcefields.build_template' (molecules) or let the "
                             "network builder write its unit templates into its output folder")
    return files


def create_system(topology: app.Topology, positions_nm: np.ndarray, template_files: list[Path],
                  ion_residues: set[str], ion_charge_scale: float,
                  settings: NonbondedSettings = NonbondedSettings()) -> tuple[openmm.System, SystemReport]:
    """Parameterise ``topology`` and return the System and a report of what was done."""
    if not 0 < ion_charge_scale <= 1:
        raise ParameterError(f"ion_charge_scale {ion_charge_scale!r} is not allowed; it must be in (0, 1]")
    ffxml = [str(gaff2_ffxml_path()), str(IONS_FFXML), *map(str, template_files)]
    forcefield = app.ForceField(*ffxml)
    constraints = {"None": None, "HBonds": app.HBonds, "AllBonds": app.AllBonds}[settings.constraints]
    # OpenMM refuses flexibleConstraints when no constrained bond consults it (e.g. a box of ions only).
    has_hydrogen_bonds = any("H" in (a.element.symbol, b.element.symbol) for a, b in topology.bonds()
                             if a.element is not None and b.element is not None)
    extra = {"flexibleConstraints": True} if constraints is not None and has_hydrogen_bonds else {}
    try:
        system = forcefield.createSystem(
            topology, nonbondedMethod=app.PME, nonbondedCutoff=settings.cutoff_nm * unit.nanometer,
            constraints=constraints, rigidWater=False, ewaldErrorTolerance=settings.ewald_error_tolerance,
            hydrogenMass=settings.hydrogen_mass_amu * unit.amu, removeCMMotion=True, **extra)
    except ValueError as exc:
        raise ParameterError(_explain_template_failure(str(exc), ffxml)) from exc
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    nonbonded.setUseDispersionCorrection(True)
    formal = residue_charges(topology, nonbonded)
    scale_ion_charges(nonbonded, topology, ion_residues, ion_charge_scale)
    fixed = fix_trans_octahedral_angles(system, positions_nm)
    check_bond_coverage(system, topology)
    if settings.periodic_bonds:
        make_bonded_forces_periodic(system)
    total = sum(nonbonded.getParticleParameters(i)[0].value_in_unit(unit.elementary_charge)
                for i in range(system.getNumParticles()))
    if abs(total) > CHARGE_INTEGER_TOLERANCE * max(1, system.getNumParticles()) ** 0.5:
        raise ParameterError(f"the system carries a net charge of {total:.6f} e; it must be neutral")
    report = SystemReport(
        n_atoms=system.getNumParticles(), force_field_files=[Path(f).name for f in ffxml],
        ion_residues=sorted(ion_residues), ion_charge_scale=ion_charge_scale, total_charge_e=total,
        residue_charges_formal_e=formal, trans_angles_fixed=fixed,
        nonbonded={"method": "PME", "cutoff_nm": settings.cutoff_nm,
                   "ewald_error_tolerance": settings.ewald_error_tolerance, "dispersion_correction": True,
                   "constraints": settings.constraints, "hydrogen_mass_amu": settings.hydrogen_mass_amu,
                   "flexible_constraints": bool(extra), "periodic_bonds": settings.periodic_bonds,
                   "coulomb14scale": 1 / 1.2, "lj14scale": 0.5, "combining_rule": "Lorentz-Berthelot"})
    return system, report


_BONDED_FORCES = (openmm.HarmonicBondForce, openmm.HarmonicAngleForce, openmm.PeriodicTorsionForce,
                  openmm.RBTorsionForce, openmm.CustomBondForce, openmm.CustomAngleForce, openmm.CustomTorsionForce)


def make_bonded_forces_periodic(system: openmm.System) -> int:
    """Make bonded forces and nonbonded exceptions use periodic boundaries; returns how many forces changed.

    A crosslinked network is bonded across the periodic boundaries (it percolates), so bonds, angles,
    torsions and the 1-2/1-3/1-4 exceptions must use minimum-image distances; OpenMM computes them from raw
    coordinates unless told otherwise.
    """
    changed = 0
    for force in system.getForces():
        if isinstance(force, _BONDED_FORCES):
            force.setUsesPeriodicBoundaryConditions(True)
            changed += 1
        elif isinstance(force, openmm.NonbondedForce):
            force.setExceptionsUsePeriodicBoundaryConditions(True)
            changed += 1
    return changed


def check_bond_coverage(system: openmm.System, topology: app.Topology) -> None:
    """Every topology bond must have a bond term or a constraint; ParameterError naming the bonds otherwise."""
    have = {tuple(sorted(system.getConstraintParameters(k)[:2])) for k in range(system.getNumConstraints())}
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            have |= {tuple(sorted(force.getBondParameters(k)[:2])) for k in range(force.getNumBonds())}
    missing = sorted({(a.residue.name, a.name, b.name) for a, b in topology.bonds()
                      if tuple(sorted((a.index, b.index))) not in have})
    if missing:
        raise ParameterError(f"{len(missing)} bond kind(s) (residue, atom, atom) have no GAFF2 bond parameters and "
                             f"OpenMM created no bond for them: {missing[:6]}; check the atom types of these "
                             "residue templates (types gaff-2.11.xml gives no bond terms need their parmchk2 "
                             "equivalents, forcefields.gaff2_typer.PARAMETER_EQUIVALENTS)")


def _explain_template_failure(message: str, ffxml: list[str]) -> str:
    match = re.search(r"residue (\d+) \((\w+)\)", message)
    residue = f"residue {match.group(2)} (#{match.group(1)})" if match else "a residue"
    return (f"no force-field template matches {residue}: its atoms or bonds differ from every template in "
            f"{[Path(f).name for f in ffxml]}. OpenMM said: {message.splitlines()[0]}")


def residue_charges(topology: app.Topology, nonbonded: openmm.NonbondedForce) -> dict[str, float]:
    """Net charge (e) of each residue name, checked to be an integer for every residue instance."""
    charges: dict[str, float] = {}
    for residue in topology.residues():
        q = sum(nonbonded.getParticleParameters(a.index)[0].value_in_unit(unit.elementary_charge)
                for a in residue.atoms())
        if abs(q - round(q)) > CHARGE_INTEGER_TOLERANCE:
            raise ParameterError(f"residue {residue.name} #{residue.index} has non-integer charge {q:.6f} e; "
                                 "every residue template must carry an integer charge")
        charges[residue.name] = float(round(q))
    return charges


def scale_ion_charges(nonbonded: openmm.NonbondedForce, topology: app.Topology, ion_residues: set[str],
                      scale: float) -> None:
    """Multiply the charges of atoms in ``ion_residues`` by ``scale``, exceptions included."""
    if scale == 1.0:
        return
    scaled = {a.index for r in topology.residues() if r.name in ion_residues for a in r.atoms()}
    for index in scaled:
        charge, sigma, epsilon = nonbonded.getParticleParameters(index)
        nonbonded.setParticleParameters(index, charge * scale, sigma, epsilon)
    for k in range(nonbonded.getNumExceptions()):
        i, j, charge_product, sigma, epsilon = nonbonded.getExceptionParameters(k)
        factor = (scale if i in scaled else 1.0) * (scale if j in scaled else 1.0)
        if factor != 1.0 and charge_product.value_in_unit(unit.elementary_charge ** 2) != 0.0:
            nonbonded.setExceptionParameters(k, i, j, charge_product * factor, sigma, epsilon)


def fix_trans_octahedral_angles(system: openmm.System, positions_nm: np.ndarray) -> int:
    """Set theta0 = 180 deg on angle terms whose template says 90 deg but whose atoms sit trans (>135 deg).

    Only angles with a 90 deg equilibrium are touched, so ordinary chemistry is never changed; the reference
    geometry is the input coordinates (PF6- is placed from an ideal octahedron). Returns how many changed.
    """
    positions = np.asarray(positions_nm)
    changed = 0
    for force in system.getForces():
        if not isinstance(force, openmm.HarmonicAngleForce):
            continue
        for k in range(force.getNumAngles()):
            i, j, l, theta0, stiffness = force.getAngleParameters(k)
            if abs(theta0.value_in_unit(unit.degree) - 90.0) > 1e-6:
                continue
            a, b = positions[i] - positions[j], positions[l] - positions[j]
            angle = math.degrees(math.acos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))
            if angle > TRANS_ANGLE_THRESHOLD_DEG:
                force.setAngleParameters(k, i, j, l, math.pi, stiffness)
                changed += 1
    return changed
