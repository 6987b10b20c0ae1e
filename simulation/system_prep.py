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

Barostat
    Every barostat gets ``setScaleMoleculesAsRigid(False)``: crosslinked networks percolate through the
    periodic box (one "molecule" spans it), so molecular-centre scaling would not change the box at all;
    atom-wise scaling is the correct move for them and harmless for liquids.
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


def add_barostat(system: openmm.System, pressure_bar: float, temperature_K: float, interval_steps: int,
                 seed: int) -> openmm.MonteCarloBarostat:
    """Add an isotropic MonteCarloBarostat (atom-wise scaling, see module notes) after removing others.

    ``pressure_bar`` is the target pressure, ``temperature_K`` the temperature the acceptance test uses
    (must equal the thermostat's), ``interval_steps`` the steps between volume moves.
    """
    if not system.usesPeriodicBoundaryConditions():
        raise SimulationError("NPT needs a periodic System; this System has no periodic boundary conditions")
    remove_barostats(system)
    barostat = openmm.MonteCarloBarostat(pressure_bar * openmm.unit.bar, temperature_K * openmm.unit.kelvin,
                                         int(interval_steps))
    barostat.setScaleMoleculesAsRigid(False)
    barostat.setRandomNumberSeed(int(seed))
    system.addForce(barostat)
    return barostat


def box_volume_nm3(box_vectors) -> float:
    """Volume (nm^3) of a periodic box given as three vectors (Quantity or plain nm)."""
    if hasattr(box_vectors, "value_in_unit"):
        box_vectors = box_vectors.value_in_unit(openmm.unit.nanometer)
    a = np.asarray([[v[0], v[1], v[2]] for v in box_vectors], dtype=float)
    return float(abs(np.linalg.det(a)))
