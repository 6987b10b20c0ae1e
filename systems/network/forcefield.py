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

from forcefields.system_factory import (NonbondedSettings, check_bond_coverage, create_system,  # noqa: F401
                                       make_bonded_forces_periodic, template_files_for)
from systems.network.graph import NetworkGraph

ION_RESIDUES = {"NA", "PF6"}


def network_system(graph: NetworkGraph, network_templates: list[Path], ion_charge_scale: float,
                   cutoff_nm: float, hydrogen_mass_amu: float = 1.008):
    """(System, Topology, master order, report) of the graph's present atoms."""
    topology, order = graph.topology()
    positions = graph.positions_array()[order]
    molecule_residues = {r.name for r in graph.residues if r.ptype is None}
    files = template_files_for(molecule_residues) + list(network_templates)
    settings = NonbondedSettings(cutoff_nm=cutoff_nm, hydrogen_mass_amu=hydrogen_mass_amu, constraints="HBonds",
                                 periodic_bonds=True)
    # create_system checks bond coverage and makes the bonded forces periodic (periodic_bonds).
    system, report = create_system(topology, np.asarray(positions), files, ION_RESIDUES, ion_charge_scale, settings)
    return system, topology, order, report
