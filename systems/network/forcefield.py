"""OpenMM System of a network: GAFF2 + residue templates, with bonded forces that obey periodic boundaries.

A crosslinked network is bonded across the periodic boundaries (it percolates), so bonds, angles,
torsions and the 1-2/1-3/1-4 nonbonded exceptions must use minimum-image distances. OpenMM computes them
from raw coordinates by default; :func:`make_bonded_forces_periodic` switches every bonded force to periodic
(``setUsesPeriodicBoundaryConditions(True)``) and the NonbondedForce exceptions too
(``setExceptionsUsePeriodicBoundaryConditions(True)``). Any System of a network built outside this module
needs the same call. Barostats must scale atoms, not molecules (``simulation.system_prep.add_barostat``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openmm

from forcefields.system_factory import NonbondedSettings, create_system, template_files_for
from systems.network.graph import NetworkGraph

ION_RESIDUES = {"NA", "PF6"}
_BONDED = (openmm.HarmonicBondForce, openmm.HarmonicAngleForce, openmm.PeriodicTorsionForce,
           openmm.RBTorsionForce, openmm.CustomBondForce, openmm.CustomAngleForce, openmm.CustomTorsionForce)


def make_bonded_forces_periodic(system: openmm.System) -> int:
    """Make bonded forces and nonbonded exceptions use periodic boundaries; returns how many forces changed."""
    changed = 0
    for force in system.getForces():
        if isinstance(force, _BONDED):
            force.setUsesPeriodicBoundaryConditions(True)
            changed += 1
        elif isinstance(force, openmm.NonbondedForce):
            force.setExceptionsUsePeriodicBoundaryConditions(True)
            changed += 1
    return changed


def network_system(graph: NetworkGraph, network_templates: list[Path], ion_charge_scale: float,
                   cutoff_nm: float, hydrogen_mass_amu: float = 1.008):
    """(System, Topology, master order, report) of the graph's present atoms."""
    topology, order = graph.topology()
    positions = graph.positions_array()[order]
    molecule_residues = {r.name for r in graph.residues if r.ptype is None}
    files = template_files_for(molecule_residues) + list(network_templates)
    settings = NonbondedSettings(cutoff_nm=cutoff_nm, hydrogen_mass_amu=hydrogen_mass_amu, constraints="HBonds")
    system, report = create_system(topology, np.asarray(positions), files, ION_RESIDUES, ion_charge_scale, settings)
    make_bonded_forces_periodic(system)
    check_bond_coverage(system, topology)
    return system, topology, order, report


def check_bond_coverage(system: openmm.System, topology) -> None:
    """Every Topology bond must have a bond term or a constraint (OpenMM silently skips bonds whose GAFF2
    type pair has no parameters, e.g. the amine type n7 in gaff-2.11.xml)."""
    from common.errors import ParameterError

    have = {tuple(sorted(system.getConstraintParameters(k)[:2])) for k in range(system.getNumConstraints())}
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            have |= {tuple(sorted(force.getBondParameters(k)[:2])) for k in range(force.getNumBonds())}
    missing = sorted({(a.residue.name, a.name, b.name) for a, b in topology.bonds()
                      if tuple(sorted((a.index, b.index))) not in have})
    if missing:
        raise ParameterError(f"{len(missing)} bond kind(s) have no GAFF2 bond parameters (OpenMM skipped them): "
                             f"{missing[:6]}; check the atom types of these residue templates")
