"""Alchemical decoupling of one molecule with openmmtools: the System, the λ schedule, the vacuum copy, the tail.

What is switched off, and how (openmmtools 0.27.0 ``alchemy``)
---------------------------------------------------------------
``AbsoluteAlchemicalFactory(alchemical_pme_treatment="exact")`` with an ``AlchemicalRegion`` holding the
molecule's atoms, ``annihilate_electrostatics=True``, ``annihilate_sterics=False``:

- Electrostatics: with PME, openmmtools' *exact* treatment scales the molecule's charges (direct and reciprocal
  space, and the charge products of its exceptions) by λ_elec; it is the only PME treatment that keeps the
  reciprocal-space part and openmmtools documents that it can only *annihilate* (the molecule's intramolecular
  electrostatics goes off with the rest). So the gas phase is run too (:func:`vacuum_system`: the same molecule
  alone, no cutoff, the same annihilation), and ΔG_solv = ΔG_vacuum(charges off) − ΔG_box(charges off, then LJ
  off): the intramolecular change cancels, and the result is that of decoupling (the standard for solvation).
- Lennard-Jones: soft-core (Beutler et al. 1994 form, α = 0.5, openmmtools' defaults) and *decoupled*: only the
  molecule–environment LJ is scaled by λ_ster; the molecule's own LJ (1-4 pairs and beyond) stays at full
  strength at every λ. In vacuum that leg is therefore exactly zero (nothing else to decouple from) and is not
  run.
- Bonds, angles, torsions of the molecule are untouched (the same in both legs).
- Long-range dispersion: ``disable_alchemical_dispersion_correction=True`` (otherwise OpenMM recomputes the
  correction, a CPU pass, at every change of λ_ster, i.e. at every cross-state energy); the molecule's share of
  the tail is added back analytically at the coupled end (:func:`dispersion_tail_kJ_per_mol`: Lorentz-Berthelot,
  g(r) = 1 beyond the cutoff, plain cutoff as in our NonbondedForce). The environment's own correction is kept.

States run from coupled (index 0: λ_elec = λ_ster = 1) to decoupled (last: 0, 0); electrostatics first with
full LJ, then LJ with no charges. The free energy of decoupling in the box is f_last − f_0 (MBAR, in kT).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from dataclasses import dataclass

import numpy as np
import openmm
from openmm import unit

from common.errors import SimulationError

ONE_4PI_EPS0 = 138.935456
"""Coulomb constant in kJ mol⁻¹ nm e⁻² (OpenMM's value)."""


@dataclass(frozen=True)
class LambdaSchedule:
    """λ values of the two legs: electrostatics 1 → 0 at full LJ, then LJ 1 → 0 at zero charge."""

    electrostatics: tuple[float, ...]
    sterics: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("electrostatics", "sterics"):
            values = getattr(self, name)
            if len(values) < 2 or values[0] != 1.0 or values[-1] != 0.0 or any(
                    b >= a for a, b in zip(values, values[1:])):
                raise SimulationError(f"lambda_{name} {list(values)}: must start at 1, end at 0 and decrease "
                                      "strictly (at least two values)")

    @property
    def states(self) -> list[tuple[float, float]]:
        """(λ_elec, λ_ster) of every box state, coupled first."""
        return [(e, 1.0) for e in self.electrostatics] + [(0.0, s) for s in self.sterics[1:]]

    @property
    def vacuum_states(self) -> list[tuple[float, float]]:
        """The gas-phase states: the electrostatics leg only (decoupled LJ has no partner in vacuum)."""
        return [(e, 1.0) for e in self.electrostatics]


def _quiet_openmmtools() -> None:
    logging.getLogger("openmmtools").setLevel(logging.ERROR)


def alchemical_system(system: openmm.System, atoms: list[int]):
    """(alchemical System, AlchemicalState) with ``atoms`` as the alchemical region (see the module notes)."""
    _quiet_openmmtools()
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)           # pymbar's import-time banner about the optional JAX
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from openmmtools import alchemy
    finally:
        logging.disable(previous)

    factory = alchemy.AbsoluteAlchemicalFactory(alchemical_pme_treatment="exact",
                                                disable_alchemical_dispersion_correction=True)
    region = alchemy.AlchemicalRegion(alchemical_atoms=list(atoms), annihilate_electrostatics=True,
                                      annihilate_sterics=False)
    alchemical = factory.create_alchemical_system(system, region)
    return alchemical, alchemy.AlchemicalState.from_system(alchemical)


def set_lambdas(alchemical_state, context: openmm.Context, lambda_elec: float, lambda_ster: float) -> None:
    """Put the Context in state (λ_elec, λ_ster) through openmmtools' AlchemicalState (the documented way with
    the exact PME treatment, whose charges are not a single global parameter)."""
    alchemical_state.lambda_electrostatics = float(lambda_elec)
    alchemical_state.lambda_sterics = float(lambda_ster)
    alchemical_state.apply_to_context(context)


def vacuum_system(system: openmm.System, atoms: list[int]) -> openmm.System:
    """The molecule ``atoms`` alone in vacuum: its masses, constraints, bonded terms and its own nonbonded
    exceptions and pairs (NonbondedForce without cutoff, no dispersion correction). Bonded forces of the types
    our force field makes (harmonic bonds and angles, periodic torsions) are copied; any other force type that
    touches the molecule is refused by name."""
    index = {a: i for i, a in enumerate(atoms)}
    out = openmm.System()
    for a in atoms:
        out.addParticle(system.getParticleMass(a))
    for k in range(system.getNumConstraints()):
        i, j, d = system.getConstraintParameters(k)
        if i in index and j in index:
            out.addConstraint(index[i], index[j], d)
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            new = openmm.HarmonicBondForce()
            for k in range(force.getNumBonds()):
                i, j, r0, kb = force.getBondParameters(k)
                if i in index and j in index:
                    new.addBond(index[i], index[j], r0, kb)
        elif isinstance(force, openmm.HarmonicAngleForce):
            new = openmm.HarmonicAngleForce()
            for k in range(force.getNumAngles()):
                i, j, l, th, ka = force.getAngleParameters(k)
                if i in index and j in index and l in index:
                    new.addAngle(index[i], index[j], index[l], th, ka)
        elif isinstance(force, openmm.PeriodicTorsionForce):
            new = openmm.PeriodicTorsionForce()
            for k in range(force.getNumTorsions()):
                i, j, l, m, n, ph, kt = force.getTorsionParameters(k)
                if all(x in index for x in (i, j, l, m)):
                    new.addTorsion(index[i], index[j], index[l], index[m], n, ph, kt)
        elif isinstance(force, openmm.NonbondedForce):
            new = openmm.NonbondedForce()
            new.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
            new.setUseDispersionCorrection(False)
            for a in atoms:
                new.addParticle(*force.getParticleParameters(a))
            for k in range(force.getNumExceptions()):
                i, j, qq, sig, eps = force.getExceptionParameters(k)
                if i in index and j in index:
                    new.addException(index[i], index[j], qq, sig, eps)
        elif isinstance(force, (openmm.CMMotionRemover, openmm.MonteCarloBarostat)):
            continue
        else:
            raise SimulationError(f"vacuum copy of the decoupled molecule: force {type(force).__name__} "
                                  f"({force.getName()}) is not supported; supported: harmonic bonds and angles, "
                                  "periodic torsions, NonbondedForce")
        out.addForce(new)
    return out


def nonbonded_force(system: openmm.System) -> openmm.NonbondedForce:
    forces = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
    if len(forces) != 1:
        raise SimulationError(f"the System has {len(forces)} NonbondedForce(s); alchemical decoupling needs exactly one")
    return forces[0]


def dispersion_tail_kJ_per_mol(system: openmm.System, atoms: list[int], volume_nm3: float) -> float:
    """Long-range LJ tail of the molecule with the rest of the box beyond the cutoff r_c (g(r) = 1 there):

        U_tail = Σ_{i∈mol} Σ_{j∉mol} (16π ε_ij / V) [σ_ij¹² / (9 r_c⁹) − σ_ij⁶ / (3 r_c³)]    (kJ/mol)

    with Lorentz-Berthelot σ_ij = (σ_i + σ_j)/2, ε_ij = √(ε_i ε_j) (our NonbondedForce has no switching function;
    refused if it has one). Being independent of the positions at fixed volume, it is the free-energy
    contribution of the tail that ``disable_alchemical_dispersion_correction`` leaves out.
    """
    force = nonbonded_force(system)
    if force.getUseSwitchingFunction():
        raise SimulationError("dispersion tail: the NonbondedForce uses a switching function; the analytic "
                              "plain-cutoff tail does not apply")
    rc = force.getCutoffDistance().value_in_unit(unit.nanometer)
    sigma = np.zeros(force.getNumParticles())
    epsilon = np.zeros(force.getNumParticles())
    for k in range(force.getNumParticles()):
        _, s, e = force.getParticleParameters(k)
        sigma[k], epsilon[k] = s.value_in_unit(unit.nanometer), e.value_in_unit(unit.kilojoule_per_mole)
    inside = np.zeros(sigma.size, dtype=bool)
    inside[list(atoms)] = True
    total = 0.0
    for i in atoms:
        s = 0.5 * (sigma[i] + sigma[~inside])
        e = np.sqrt(epsilon[i] * epsilon[~inside])
        total += float(np.sum(16.0 * math.pi * e / volume_nm3 * (s ** 12 / (9.0 * rc ** 9) - s ** 6 / (3.0 * rc ** 3))))
    return total
