"""Changes the engine makes to an existing System: hydrogen masses, barostats; and what it reads from one.

Hydrogen mass repartitioning (HMR)
    Each hydrogen bonded to a heavy atom gets the mass ``hydrogen_mass_amu`` (typically 3.024 amu = 3 x
    1.008); the mass it gains is taken from that heavy atom, so the mass of every molecule and of the
    system is unchanged (densities and centre-of-mass motion are unaffected). The fastest motions (X–H
    bond and angle vibrations) slow down by about sqrt(3), which allows a 4 fs step with H-bond
    constraints. Bonds are read from the System itself (its constraints and HarmonicBondForce bonds),
    not from topology CONECT records, and elements from the topology. Hydrogens in fully rigid groups
    (a hydrogen constrained to another hydrogen, as in rigid water) are left alone, like OpenMM's own
    ``ForceField.createSystem(hydrogenMass=...)`` does. The operation *sets* masses to the target, so it
    is idempotent: applying it to an already repartitioned System changes nothing.

Barostat: how volume moves scale coordinates
    DESIGN.md asks for ``setScaleMoleculesAsRigid(False)`` on every barostat because crosslinked networks
    percolate through the periodic box: one "molecule" spans it, and scaling its centre while keeping it
    rigid stretches the bonds that cross the box faces, so every volume move is rejected. Atom-wise
    scaling is the only move that works for such a System.

    Atom-wise scaling is exact only when every atom moves independently. OpenMM's acceptance test counts
    N = number of atoms in its N kT ln(V'/V) term; with constraints the constrained atoms do not move
    independently, and the surplus acts like an ideal-gas pressure of about (N_atoms - N_rigid_units) kT / V.
    Measured with OpenMM 8.6.1 (TIP3P-FB water, 200 rigid molecules, 300 K, 1 bar, 2 or 4 fs, CPU): with
    molecular scaling the density rises to 0.98-0.99 g/cm^3 within 10 ps; with atom-wise scaling it falls
    steadily (0.81 -> 0.60 g/cm^3 in 10 ps) and never converges. (OpenMM issue #3723 / PR #3797 discuss
    scaling constrained groups instead.)

    So :func:`add_barostat` warns on atom-wise scaling of a System with constraints (unless told to allow
    it, for measurements of the bias), and NPT equilibration decides per System (:func:`percolating_molecules`, used by
    :func:`simulation.protocol.equilibrate_npt`): molecular scaling unless a molecule is bonded to its own
    periodic image; atom-wise scaling then, on :func:`flexible_copy` of the System, which has no
    constraints: each constraint is represented by the harmonic bond term the force field keeps beside it
    (``flexibleConstraints=True``). Atom-wise NPT of that copy samples the flexible model's NPT ensemble
    without bias (``benchmarks/npt_scaling.py`` measures it against molecular scaling). A constraint with
    no bond term (rigid water's H-H, a rigid ion) cannot be made flexible: :func:`flexible_copy` raises.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
import openmm
from openmm import app

from common.constants import AVOGADRO_PER_MOL, MOLAR_GAS_CONSTANT_KJ_PER_MOL_K, NM3_PER_CM3
from common.errors import SimulationError
from common.periodic import walk_bonded_clusters

MIN_HEAVY_ATOM_MASS_AMU = 1.5
BAROSTAT_TYPES = (openmm.MonteCarloBarostat, openmm.MonteCarloAnisotropicBarostat,
                  openmm.MonteCarloMembraneBarostat, openmm.MonteCarloFlexibleBarostat)


class BiasedBarostatWarning(UserWarning):
    """Atom-wise barostat scaling was set up on a System with constraints (biased density)."""


def total_mass_amu(system: openmm.System) -> float:
    """Sum of particle masses (g/mol); virtual sites (mass 0) contribute nothing."""
    return float(sum(system.getParticleMass(i).value_in_unit(openmm.unit.dalton)
                     for i in range(system.getNumParticles())))


def density_g_per_cm3(mass_amu: float, volume_nm3: float) -> float:
    """Mass density in g/cm^3 of ``mass_amu`` g/mol in ``volume_nm3`` nm^3: rho = M / (N_A V), V in cm^3."""
    return mass_amu / (AVOGADRO_PER_MOL / NM3_PER_CM3 * volume_nm3)


def instantaneous_temperature_K(kinetic_energy_kJ_per_mol: float, dof: int) -> float:
    """Instantaneous temperature T = 2 KE / (dof R) in K, KE in kJ/mol, R the molar gas constant."""
    return 2.0 * kinetic_energy_kJ_per_mol / (dof * MOLAR_GAS_CONSTANT_KJ_PER_MOL_K)


def degrees_of_freedom(system: openmm.System) -> int:
    """Kinetic degrees of freedom: 3 per massive particle, minus constraints, minus 3 with a CMMotionRemover.

    This is the count that turns kinetic energy into temperature, T = 2 KE / (dof k_B).
    """
    massive = [system.getParticleMass(i).value_in_unit(openmm.unit.dalton) > 0
               for i in range(system.getNumParticles())]
    dof = 3 * sum(massive)
    for k in range(system.getNumConstraints()):
        i, j, _ = system.getConstraintParameters(k)
        if massive[i] or massive[j]:
            dof -= 1
    if any(isinstance(system.getForce(k), openmm.CMMotionRemover) for k in range(system.getNumForces())):
        dof -= 3
    return max(dof, 1)


def bonded_partners(system: openmm.System) -> dict[int, set[int]]:
    """Atom -> atoms it is bonded to, from constraints and every HarmonicBondForce of the System."""
    partners: dict[int, set[int]] = defaultdict(set)
    for k in range(system.getNumConstraints()):
        i, j, _ = system.getConstraintParameters(k)
        partners[i].add(j)
        partners[j].add(i)
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            for k in range(force.getNumBonds()):
                i, j, _, _ = force.getBondParameters(k)
                partners[i].add(j)
                partners[j].add(i)
    return partners


def repartition_hydrogen_mass(system: openmm.System, topology: app.Topology,
                              hydrogen_mass_amu: float) -> dict:
    """Set every hydrogen bonded to a heavy atom to ``hydrogen_mass_amu``, taking the difference from it.

    Modifies ``system`` in place and returns a summary (counts, masses, total mass before/after in amu).
    Raises SimulationError if the topology does not match the System, or a heavy atom would fall below
    1.5 amu (too many hydrogens or too large a target mass).
    """
    if topology.getNumAtoms() != system.getNumParticles():
        raise SimulationError(f"HMR: topology has {topology.getNumAtoms()} atoms, System has "
                              f"{system.getNumParticles()} particles")
    before = total_mass_amu(system)
    is_h = [atom.element is app.element.hydrogen for atom in topology.atoms()]
    partners = bonded_partners(system)
    changed = skipped_rigid = skipped_unbonded = 0
    for atom in range(system.getNumParticles()):
        if not is_h[atom]:
            continue
        bonded = partners.get(atom, set())
        heavy = [p for p in bonded if not is_h[p] and system.getParticleMass(p).value_in_unit(openmm.unit.dalton) > 0]
        if any(is_h[p] for p in bonded):
            skipped_rigid += 1
            continue
        if len(heavy) != 1:
            skipped_unbonded += 1
            continue
        heavy_atom = heavy[0]
        current = system.getParticleMass(atom).value_in_unit(openmm.unit.dalton)
        delta = hydrogen_mass_amu - current
        if abs(delta) < 1e-12:
            continue
        new_heavy = system.getParticleMass(heavy_atom).value_in_unit(openmm.unit.dalton) - delta
        if new_heavy < MIN_HEAVY_ATOM_MASS_AMU:
            raise SimulationError(
                f"HMR: giving hydrogen {atom} a mass of {hydrogen_mass_amu} amu would leave heavy atom "
                f"{heavy_atom} with {new_heavy:.3f} amu (< {MIN_HEAVY_ATOM_MASS_AMU} amu); lower "
                "forcefield.hydrogen_mass")
        system.setParticleMass(atom, hydrogen_mass_amu)
        system.setParticleMass(heavy_atom, new_heavy)
        changed += 1
    after = total_mass_amu(system)
    return {
        "hydrogen_mass_amu": hydrogen_mass_amu,
        "n_hydrogens": int(sum(is_h)),
        "n_hydrogens_changed": changed,
        "n_hydrogens_skipped_rigid": skipped_rigid,
        "n_hydrogens_skipped_not_bonded_to_one_heavy_atom": skipped_unbonded,
        "total_mass_before_amu": before,
        "total_mass_after_amu": after,
    }


def remove_barostats(system: openmm.System) -> int:
    """Remove every Monte Carlo barostat from ``system`` (in place); returns how many were removed."""
    removed = 0
    for index in reversed(range(system.getNumForces())):
        if isinstance(system.getForce(index), BAROSTAT_TYPES):
            system.removeForce(index)
            removed += 1
    return removed


def molecules(system: openmm.System) -> list[list[int]]:
    """Connected components of the bond graph (constraints + HarmonicBondForce bonds), particle indices."""
    partners = bonded_partners(system)
    seen = np.zeros(system.getNumParticles(), dtype=bool)
    components = []
    for start in range(system.getNumParticles()):
        if seen[start]:
            continue
        seen[start] = True
        stack, component = [start], []
        while stack:
            atom = stack.pop()
            component.append(atom)
            for other in partners.get(atom, ()):
                if not seen[other]:
                    seen[other] = True
                    stack.append(other)
        components.append(component)
    return components


def percolating_molecules(system: openmm.System, positions_nm, box_vectors_nm) -> int:
    """How many molecules are bonded to their own periodic image (span the box, as a network does).

    Each molecule is unwrapped by walking its bonds with minimum-image bond vectors; a bond whose
    minimum-image vector disagrees with the unwrapped coordinates closes a loop through the boundary,
    i.e. the molecule percolates. Assumes bonds are shorter than half the box (true for any valid System).
    """
    if not system.usesPeriodicBoundaryConditions():
        return 0
    if hasattr(positions_nm, "value_in_unit"):
        positions_nm = positions_nm.value_in_unit(openmm.unit.nanometer)
    pos = np.asarray(positions_nm, dtype=float)
    partners = bonded_partners(system)
    atoms = [a for component in molecules(system) if len(component) > 1 for a in component]
    _, clusters = walk_bonded_clusters(pos, box_matrix_nm(box_vectors_nm), partners, atoms)
    return sum(1 for cluster in clusters if cluster.percolating_axes)


def add_barostat(system: openmm.System, pressure_bar: float, temperature_K: float, interval_steps: int,
                 seed: int, scale_molecules_as_rigid: bool = True,
                 allow_constraints_with_atomwise_scaling: bool = False) -> openmm.MonteCarloBarostat:
    """Add an isotropic MonteCarloBarostat after removing others.

    ``pressure_bar`` is the target pressure, ``temperature_K`` the temperature the acceptance test uses
    (must equal the thermostat's), ``interval_steps`` the steps between volume moves.
    ``scale_molecules_as_rigid``: False for Systems with a percolating network. Atom-wise scaling of a
    System with constraints is biased (module notes): it warns (:class:`BiasedBarostatWarning`) unless
    ``allow_constraints_with_atomwise_scaling`` (for measuring that bias); use :func:`flexible_copy`.
    (A warning, not an error: the network builder's short NPT relaxations between crosslinking cycles use
    this function, and only need a plausible box, not the equilibrium density.)
    """
    if not system.usesPeriodicBoundaryConditions():
        raise SimulationError("NPT needs a periodic System; this System has no periodic boundary conditions")
    if not scale_molecules_as_rigid and system.getNumConstraints() and not allow_constraints_with_atomwise_scaling:
        warnings.warn(
            f"atom-wise barostat scaling of a System with {system.getNumConstraints()} constraints samples a biased "
            "density (simulation.system_prep notes); run NPT on flexible_copy(system) instead",
            BiasedBarostatWarning, stacklevel=2)
    remove_barostats(system)
    barostat = openmm.MonteCarloBarostat(pressure_bar * openmm.unit.bar, temperature_K * openmm.unit.kelvin,
                                         int(interval_steps))
    barostat.setScaleMoleculesAsRigid(bool(scale_molecules_as_rigid))
    barostat.setRandomNumberSeed(int(seed))
    system.addForce(barostat)
    return barostat


BOND_LENGTH_MATCH_TOLERANCE = 1e-3  # relative difference allowed between a constraint length and its bond's r0


def _describe_atom(index: int, atoms: list | None) -> str:
    if atoms is None:
        return f"particle {index}"
    atom = atoms[index]
    residue = atom.residue
    return f"atom {atom.name} (index {index}) of residue {residue.name} {residue.id}"


def flexible_copy(system: openmm.System, topology: app.Topology | None = None) -> tuple[openmm.System, dict]:
    """A copy of ``system`` with every constraint removed, each represented by its harmonic bond term.

    Every constraint (i, j, d) must have a term in a HarmonicBondForce of the System with the same pair,
    a positive force constant and r0 within 0.1 % of d (a System created with ``flexibleConstraints=True``
    has one for every constrained bond); the copy keeps those terms and drops the constraints, so no force
    term is added or changed. If any constraint has no such term (rigid water's H-H constraint, a rigid
    ion, a System created without ``flexibleConstraints``) a SimulationError names the atoms and residues
    (from ``topology`` when given). ``system`` is not modified.

    Returns the copy and a summary: constraints removed, the lightest atom in a removed constraint (amu;
    what limits the time step of the flexible run), the largest relative r0/length mismatch, and the
    removed constraints counted per residue name.
    """
    atoms = list(topology.atoms()) if topology is not None else None
    if atoms is not None and len(atoms) != system.getNumParticles():
        raise SimulationError(f"flexible copy: topology has {len(atoms)} atoms, System has "
                              f"{system.getNumParticles()} particles")
    summary = _match_constraints_to_bond_terms(system, atoms)
    copy = openmm.XmlSerializer.clone(system)
    for k in reversed(range(copy.getNumConstraints())):
        copy.removeConstraint(k)
    return copy, summary


def _harmonic_bond_terms(system: openmm.System) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """(i, j) with i < j -> every (r0 nm, k kJ/mol/nm^2) of that pair in the System's HarmonicBondForces."""
    terms: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            for k in range(force.getNumBonds()):
                i, j, r0, kb = force.getBondParameters(k)
                terms[(min(i, j), max(i, j))].append((r0.value_in_unit(openmm.unit.nanometer),
                                                      kb.value_in_unit(openmm.unit.kilojoule_per_mole
                                                                       / openmm.unit.nanometer ** 2)))
    return terms


def _match_constraints_to_bond_terms(system: openmm.System, atoms: list | None) -> dict:
    """Check every constraint has a bond term of the same length (:func:`flexible_copy`); return the summary.

    Raises SimulationError listing (up to five of) the constraints without a term and those whose term's
    r0 differs from the constraint length by more than :data:`BOND_LENGTH_MATCH_TOLERANCE`.
    """
    terms = _harmonic_bond_terms(system)
    missing, mismatched = [], []
    per_residue: dict[str, int] = defaultdict(int)
    lightest = np.inf
    worst = 0.0
    for k in range(system.getNumConstraints()):
        i, j, d = system.getConstraintParameters(k)
        d = d.value_in_unit(openmm.unit.nanometer)
        candidates = [(r0, kb) for r0, kb in terms.get((min(i, j), max(i, j)), []) if kb > 0]
        pair = f"{_describe_atom(i, atoms)} - {_describe_atom(j, atoms)} (length {d:.4f} nm)"
        if not candidates:
            missing.append(pair)
            continue
        mismatch = min(abs(r0 - d) / d for r0, _ in candidates)
        if mismatch > BOND_LENGTH_MATCH_TOLERANCE:
            mismatched.append(f"{pair}: bond r0 {min(candidates, key=lambda c: abs(c[0] - d))[0]:.4f} nm")
            continue
        worst = max(worst, mismatch)
        for p in (i, j):
            mass = system.getParticleMass(p).value_in_unit(openmm.unit.dalton)
            if mass > 0:
                lightest = min(lightest, mass)
        if atoms is not None:
            per_residue[atoms[i].residue.name] += 1
    if missing or mismatched:
        raise _unmatched_constraints_error(missing, mismatched)
    return {
        "constraints_removed": int(system.getNumConstraints()),
        "lightest_constrained_atom_mass_amu": float(lightest) if np.isfinite(lightest) else None,
        "max_relative_r0_mismatch": float(worst),
        "constraints_removed_per_residue": dict(sorted(per_residue.items())),
    }


def _unmatched_constraints_error(missing: list[str], mismatched: list[str]) -> SimulationError:
    """Why a System cannot run without constraints: constraints without a bond term, or with one of another length."""
    parts = []
    if missing:
        parts.append(f"{len(missing)} constraint(s) have no HarmonicBondForce term to stand in for them, e.g. "
                     + "; ".join(missing[:5]))
    if mismatched:
        parts.append(f"{len(mismatched)} constraint(s) have a bond term whose r0 differs from the constraint "
                     f"length by more than {BOND_LENGTH_MATCH_TOLERANCE:.1%}, e.g. " + "; ".join(mismatched[:5]))
    return SimulationError(
        "NPT of a percolating System must scale atoms and so must run without constraints, but "
        + " and ".join(parts) + ". Create the System with flexibleConstraints=True and without rigid water "
        "or other rigid groups (forcefields.system_factory does)")


def box_matrix_nm(box_vectors) -> np.ndarray:
    """3x3 array (rows a, b, c; nm) from box vectors as a Quantity, a list of Quantity Vec3, or plain nm."""
    if hasattr(box_vectors, "value_in_unit"):
        box_vectors = box_vectors.value_in_unit(openmm.unit.nanometer)
    rows = []
    for v in box_vectors:
        if hasattr(v, "value_in_unit"):
            v = v.value_in_unit(openmm.unit.nanometer)
        rows.append([float(v[0]), float(v[1]), float(v[2])])
    return np.asarray(rows, dtype=float)


def box_volume_nm3(box_vectors) -> float:
    """Volume (nm^3) of a periodic box given as three vectors (Quantity, list of Quantity, or plain nm)."""
    return float(abs(np.linalg.det(box_matrix_nm(box_vectors))))
