"""Conducting electrodes: every Coulomb term of a System moved into OpenMM 8.6's ConstantPotentialForce.

``ConstantPotentialForce`` computes all electrostatics with PME (no Lennard-Jones) and solves, at every
step, for the charges of the electrode atoms (Gaussian charge distributions of width ``gaussian_width_nm``)
that hold each electrode at its set potential, with the total charge of the cell held at zero (the
electrodes together carry minus the fixed charges' sum: zero for a neutral electrolyte). The fixed charges of the GAFF2 ``NonbondedForce`` move into
it and are zeroed there (otherwise every Coulomb term would be counted twice), with the 1-2/1-3 exclusions
and scaled 1-4 Coulomb exceptions rebuilt in it; the ``NonbondedForce`` keeps only Lennard-Jones (its method
becomes ``CutoffPeriodic``: no charge is left for PME).

An ideal metal (Thomas-Fermi length 0) is the default. ``Matrix`` (a precomputed inverse, fast) requires
electrode atoms of zero mass, i.e. a frozen lattice; a mobile EAM slab needs ``CG``. Potentials are in
volts here and in kJ/mol per proton charge in OpenMM (1 V = 96.485 kJ/mol/e).

Gaussian width default 0.05 nm: Reed, Lanning & Madden, J. Chem. Phys. 126, 084704 (2007), eta = 19.79 nm^-1
(1/eta = 0.0505 nm).
"""

from __future__ import annotations

from typing import Sequence

import openmm

from common.constants import ELECTRON_VOLT_KJ_PER_MOL
from common.errors import ParameterError

DEFAULT_GAUSSIAN_WIDTH_NM = 0.0505
ELECTRODE_FORCE_NAME = "ConstantPotentialForce (electrodes)"


def volts_to_kJ_per_mol_per_e(volts: float) -> float:
    return float(volts) * ELECTRON_VOLT_KJ_PER_MOL


def move_charges_to_constant_potential(system: openmm.System, electrodes: Sequence[Sequence[int]],
                                       potentials_V: Sequence[float], *, method: str = "CG",
                                       gaussian_width_nm: float = DEFAULT_GAUSSIAN_WIDTH_NM,
                                       thomas_fermi_scale_per_nm: float = 0.0) -> openmm.ConstantPotentialForce:
    """Replace the Coulomb part of ``system``'s NonbondedForce by a ConstantPotentialForce (in place)."""
    if len(electrodes) != len(potentials_V):
        raise ParameterError(f"{len(electrodes)} electrodes but {len(potentials_V)} potentials")
    if method not in ("CG", "Matrix"):
        raise ParameterError(f"electrode method {method!r}; allowed: 'CG' (mobile metal), 'Matrix' (frozen, massless)")
    nonbondeds = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
    if len(nonbondeds) != 1:
        raise ParameterError(f"the System holds {len(nonbondeds)} NonbondedForce objects; exactly one is needed")
    nonbonded = nonbondeds[0]
    if method == "Matrix":
        massive = [i for e in electrodes for i in e if system.getParticleMass(i).value_in_unit(openmm.unit.dalton) > 0]
        if massive:
            raise ParameterError(f"the Matrix method needs massless (frozen) electrode atoms; {len(massive)} have mass "
                                 f"(first: particle {massive[0]}); use 'CG' for a mobile metal")
    force = openmm.ConstantPotentialForce()
    for i in range(nonbonded.getNumParticles()):
        charge, sigma, epsilon = nonbonded.getParticleParameters(i)
        force.addParticle(charge.value_in_unit(openmm.unit.elementary_charge))
        nonbonded.setParticleParameters(i, 0.0, sigma, epsilon)
    for k in range(nonbonded.getNumExceptions()):
        i, j, charge_product, sigma, epsilon = nonbonded.getExceptionParameters(k)
        force.addException(i, j, charge_product.value_in_unit(openmm.unit.elementary_charge ** 2))
        nonbonded.setExceptionParameters(k, i, j, 0.0, sigma, epsilon)
    force.setExceptionsUsePeriodicBoundaryConditions(nonbonded.getExceptionsUsePeriodicBoundaryConditions())
    force.setCutoffDistance(nonbonded.getCutoffDistance())
    force.setEwaldErrorTolerance(nonbonded.getEwaldErrorTolerance())
    force.setConstantPotentialMethod(getattr(openmm.ConstantPotentialForce, method))
    force.setUseChargeConstraint(True)
    force.setChargeConstraintTarget(0.0)  # the whole cell (fixed + electrode charges) is neutral
    for atoms, volts in zip(electrodes, potentials_V):
        force.addElectrode(set(int(i) for i in atoms), volts_to_kJ_per_mol_per_e(volts), gaussian_width_nm,
                           thomas_fermi_scale_per_nm)
    force.setName(ELECTRODE_FORCE_NAME)
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    system.addForce(force)
    return force
