"""Removal of evaporated molecules from a running film: their interactions are switched off ("ghosts").

An OpenMM Context cannot lose particles, but a molecule whose charges and Lennard-Jones well depth are set to
zero in the NonbondedForce (and whose charges leave the Yeh-Berkowitz dipole M_z of
:func:`simulation.slab.dipole_correction`) no longer acts on the film in any way: it is removed as far as
the film's physics goes, while it keeps moving as a free molecule (its own bonded terms and intramolecular
1-4 exceptions stay; they act only within it). This is the alternative to holding evaporated molecules with
the soft wall (``simulation.evaporation --evaporated remove``); benchmarks/evaporation_mode.py compares the
two.

A molecule is removed at the first sample frame at which its mass-weighted centre lies more than
``distance_nm`` outside the nearer Gibbs dividing surface of that frame (:func:`analysis.evaporation.
dividing_surfaces`, computed from the mass profile of the molecules still present): the same first-passage
criterion that the analysis counts with, applied while the film runs.
"""

from __future__ import annotations

import numpy as np
import openmm

from analysis.evaporation import dividing_surfaces
from common.errors import SimulationError
from simulation.slab import YB_GROUP_NAME


class EvaporatedRemover:
    """Switches off the molecules that have evaporated (module notes), one sample frame at a time."""

    def __init__(self, system: openmm.System, molecules: list[list[int]], masses_amu: np.ndarray,
                 edges_nm: np.ndarray, area_nm2: float, distance_nm: float):
        nonbonded = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
        others = [f.getName() for f in system.getForces()
                  if isinstance(f, (openmm.CustomNonbondedForce, openmm.AmoebaMultipoleForce))]
        if len(nonbonded) != 1 or others:
            raise SimulationError(f"removal of evaporated molecules needs exactly one NonbondedForce and no other "
                                  f"nonbonded force; this System has {len(nonbonded)} NonbondedForce(s) and "
                                  f"{others or 'no'} other(s); use --evaporated wall")
        self.nonbonded = nonbonded[0]
        dipoles = [f for f in system.getForces() if isinstance(f, openmm.CustomCVForce) and f.getName() == YB_GROUP_NAME]
        self.dipole = dipoles[0] if dipoles else None
        self.molecules = molecules
        self.masses = np.asarray(masses_amu, dtype=float)
        self.edges, self.area, self.distance = edges_nm, area_nm2, distance_nm
        self.removed_at = np.full(len(molecules), -1, dtype=int)  # sample frame of removal, -1: still in play
        self.present_weight = np.ones(len(self.masses))  # 0 for the atoms of removed molecules (mass profile)

    def profile(self, z_nm: np.ndarray) -> np.ndarray:
        """Mass profile along z of the atoms still in play (amu per bin)."""
        return np.histogram(z_nm, bins=self.edges, weights=self.masses * self.present_weight)[0]

    def remove_evaporated(self, context: openmm.Context, frame: int, profile_amu: np.ndarray, centres_nm: np.ndarray
                          ) -> list[int]:
        """Switch off every molecule still in play whose centre is beyond the counting distance from the dividing
        surfaces of ``profile_amu`` (this frame's :meth:`profile`, the one recorded); returns them."""
        zc, h = dividing_surfaces(np.asarray(profile_amu, dtype=float)[None, :], self.edges, self.area)
        beyond = np.abs(centres_nm - zc[0]) - 0.5 * h[0] > self.distance
        leaving = [m for m in np.flatnonzero(beyond) if self.removed_at[m] < 0]
        if leaving:
            atoms = [a for m in leaving for a in self.molecules[m]]
            self._switch_off(context, atoms)
            self.removed_at[leaving] = frame
            self.present_weight[atoms] = 0.0
        return leaving

    def _switch_off(self, context: openmm.Context, atoms: list[int]) -> None:
        for a in atoms:
            _, sigma, _ = self.nonbonded.getParticleParameters(a)
            self.nonbonded.setParticleParameters(a, 0.0, sigma, 0.0)
        self.nonbonded.updateParametersInContext(context)
        if self.dipole is None:
            return
        # M_z (a CustomExternalForce q*z) lives in the CustomCVForce's inner Context, whose System holds its own
        # copy of it: that copy is the one to edit and update
        inner = self.dipole.getInnerContext(context)
        moment = inner.getSystem().getForce(0)
        gone = set(atoms)
        for k in range(moment.getNumParticles()):
            particle, _ = moment.getParticleParameters(k)
            if particle in gone:
                moment.setParticleParameters(k, particle, [0.0])
        moment.updateParametersInContext(inner)
