"""OpenMM System of a network: the one System factory (:func:`forcefields.parameterise.system_from_templates`)
applied to the graph's present atoms, with bonded forces that obey periodic boundaries.

A crosslinked network is bonded across the periodic boundaries (it percolates), so bonds, angles,
torsions and the 1-2/1-3/1-4 nonbonded exceptions must use minimum-image distances. OpenMM computes them
from raw coordinates by default; ``NonbondedSettings(periodic_bonds=True)`` makes the factory switch every
bonded force to periodic and the NonbondedForce exceptions too. The parameterise stage does the same for a
built gel (``--periodic-bonds``). Barostats must scale atoms, not molecules
(``simulation.system_prep.add_barostat``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from forcefields.parameterise import system_from_templates
from forcefields.system_factory import NonbondedSettings
from systems.network.graph import NetworkGraph


def network_system(graph: NetworkGraph, template_dirs: Sequence[Path], ion_residues: set[str],
                   ion_charge_scale: float, cutoff_nm: float, hydrogen_mass_amu: float = 1.008):
    """(System, Topology, master order, report) of the graph's present atoms.

    Every residue's template ``NAME.xml`` is taken from the first of ``template_dirs`` that has it (the
    build's own template folder); ``ion_residues`` are the residues whose charges ``ion_charge_scale`` scales.
    """
    topology, order = graph.topology()
    positions = graph.positions_array()[order]
    settings = NonbondedSettings(cutoff_nm=cutoff_nm, hydrogen_mass_amu=hydrogen_mass_amu, constraints="HBonds",
                                 periodic_bonds=True)
    # the factory checks bond coverage and makes the bonded forces periodic (periodic_bonds)
    system, report, _ = system_from_templates(topology, np.asarray(positions), ion_residues=ion_residues,
                                              ion_charge_scale=ion_charge_scale, settings=settings,
                                              template_dirs=list(template_dirs))
    return system, topology, order, report
