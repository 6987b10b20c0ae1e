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

    It is *not* harmless for liquids with constraints. Measured here with OpenMM 8.6.1 (TIP3P-FB water,
    200 molecules, 300 K, 1 bar, H-bonds constrained, 2 or 4 fs, CPU platform): with molecular scaling
    the density rises to 0.98-0.99 g/cm^3 within 10 ps; with atom-wise scaling it *falls* steadily
    (0.81 -> 0.60 g/cm^3 in 10 ps) and never converges. The acceptance test counts N = number of atoms
    in its N kT ln(V'/V) term, while constrained atoms do not move independently; the surplus acts like
    an ideal-gas pressure of about (N_atoms - N_rigid_units) kT / V, some 2700 bar for rigid water.
    (OpenMM issue #3723 / PR #3797 discuss scaling constrained groups instead.)

    So :func:`add_barostat` decides per System (:func:`percolating_molecules`): molecular scaling unless
    a molecule is bonded to its own periodic image (a network that spans the box), atom-wise scaling
    then, as DESIGN.md asks, with the bias recorded in the results. ``scale_molecules_as_rigid`` can force
    either choice.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import openmm
from openmm import app

from common.errors import SimulationError

AVOGADRO_TIMES_NM3_IN_CM3 = 602.214076  # N_A (1/mol) x 1e-21 (cm^3 per nm^3): rho[g/cm^3] = M[g/mol] / (this x V[nm^3])
MIN_HEAVY_ATOM_MASS_AMU = 1.5
BAROSTAT_TYPES = (openmm.MonteCarloBarostat, openmm.MonteCarloAnisotropicBarostat,
                  openmm.MonteCarloMembraneBarostat, openmm.MonteCarloFlexibleBarostat)


def total_mass_amu(system: openmm.System) -> float:
    """Sum of particle masses (g/mol); virtual sites (mass 0) contribute nothing."""
    return float(sum(system.getParticleMass(i).value_in_unit(openmm.unit.dalton)
                     for i in range(system.getNumParticles())))


def density_g_per_cm3(mass_amu: float, volume_nm3: float) -> float:
    """Mass density in g/cm^3 of ``mass_amu`` g/mol in ``volume_nm3`` nm^3."""
    return mass_amu / (AVOGADRO_TIMES_NM3_IN_CM3 * volume_nm3)


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
    box = box_matrix_nm(box_vectors_nm)
    inverse = np.linalg.inv(box)

    def minimum_image(d):
        frac = d @ inverse
        return (frac - np.round(frac)) @ box

    partners = bonded_partners(system)
    count = 0
    for component in molecules(system):
        if len(component) < 2:
            continue
        unwrapped = {component[0]: pos[component[0]]}
        stack, spans = [component[0]], False
        while stack and not spans:
            atom = stack.pop()
            for other in partners.get(atom, ()):
                target = unwrapped[atom] + minimum_image(pos[other] - pos[atom])
                if other not in unwrapped:
                    unwrapped[other] = target
                    stack.append(other)
                elif np.linalg.norm(unwrapped[other] - target) > 1e-3:
                    spans = True
                    break
        count += spans
    return count


def add_barostat(system: openmm.System, pressure_bar: float, temperature_K: float, interval_steps: int,
                 seed: int, scale_molecules_as_rigid: bool = True) -> openmm.MonteCarloBarostat:
    """Add an isotropic MonteCarloBarostat after removing others.

    ``pressure_bar`` is the target pressure, ``temperature_K`` the temperature the acceptance test uses
    (must equal the thermostat's), ``interval_steps`` the steps between volume moves.
    ``scale_molecules_as_rigid``: False for Systems with a percolating network (see the module notes:
    atom-wise scaling is biased towards low density when there are constraints).
    """
    if not system.usesPeriodicBoundaryConditions():
        raise SimulationError("NPT needs a periodic System; this System has no periodic boundary conditions")
    remove_barostats(system)
    barostat = openmm.MonteCarloBarostat(pressure_bar * openmm.unit.bar, temperature_K * openmm.unit.kelvin,
                                         int(interval_steps))
    barostat.setScaleMoleculesAsRigid(bool(scale_molecules_as_rigid))
    barostat.setRandomNumberSeed(int(seed))
    system.addForce(barostat)
    return barostat


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
