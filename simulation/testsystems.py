"""Small test systems that need none of gelmd's force field: for the engine's tests and speed benchmarks.

- :func:`lj_fluid`: argon-like Lennard-Jones particles (sigma 0.34 nm, epsilon 0.996 kJ/mol, 39.948 amu)
  on a cubic lattice in a periodic box, cutoff interactions with a long-range dispersion correction. Fast
  and bit-for-bit reproducible on the Reference platform (used for the exact kill-and-resume test).
- :func:`water_box`: OpenMM's own ``amber14/tip3pfb.xml`` water (TIP3P-FB, density about 0.995 g/cm^3 at
  298 K), PME, from ``Modeller.addSolvent``; rigid by default, flexible O–H (constrained) with
  ``rigid_water=False`` so that hydrogen mass repartitioning has hydrogens to act on. ``box_scale`` > 1
  spreads the molecules (centres scaled, molecules intact) to give the barostat something to do.
- :func:`write_inputs` writes the System/State/topology files the command-line tools read;
  :func:`quick_settings` builds short-protocol settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from common.config import EngineSettings, Protocol
from simulation.settings import SimulationSettings, write_settings
from simulation.state_io import write_state, write_system, write_topology

ARGON_SIGMA_NM = 0.34
ARGON_EPSILON_KJ_PER_MOL = 0.996
ARGON_MASS_AMU = 39.948


def lj_fluid(n_per_side: int = 6, reduced_density: float = 0.8, cutoff_nm: float | None = None
             ) -> tuple[openmm.System, app.Topology, np.ndarray]:
    """``n_per_side**3`` LJ particles at ``reduced_density`` (rho sigma^3); returns (System, Topology, positions nm)."""
    n = n_per_side ** 3
    box = (n / (reduced_density / ARGON_SIGMA_NM ** 3)) ** (1.0 / 3.0)
    cutoff = cutoff_nm if cutoff_nm is not None else min(1.0, 0.49 * box)
    system = openmm.System()
    vectors = [openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0), openmm.Vec3(0, 0, box)]
    system.setDefaultPeriodicBoxVectors(*vectors)
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nonbonded.setCutoffDistance(cutoff)
    nonbonded.setUseDispersionCorrection(True)
    topology = app.Topology()
    chain = topology.addChain()
    argon = app.element.argon
    for i in range(n):
        system.addParticle(ARGON_MASS_AMU)
        nonbonded.addParticle(0.0, ARGON_SIGMA_NM, ARGON_EPSILON_KJ_PER_MOL)
        residue = topology.addResidue("AR", chain)
        topology.addAtom("AR", argon, residue)
    system.addForce(nonbonded)
    topology.setPeriodicBoxVectors(vectors)
    grid = np.arange(n_per_side) * box / n_per_side
    positions = np.array([(x, y, z) for x in grid for y in grid for z in grid]) + 0.25 * box / n_per_side
    return system, topology, positions


def water_box(n_waters: int = 300, box_scale: float = 1.0, cutoff_nm: float = 0.8, rigid_water: bool = True
              ) -> tuple[openmm.System, app.Topology, np.ndarray]:
    """TIP3P-FB water; returns (System, Topology, positions nm). Needs no gelmd force field."""
    forcefield = app.ForceField("amber14-all.xml", "amber14/tip3pfb.xml")
    modeller = app.Modeller(app.Topology(), [])
    modeller.addSolvent(forcefield, model="tip3p", numAdded=n_waters)
    positions = np.asarray(modeller.getPositions().value_in_unit(unit.nanometer))
    vectors = np.asarray(modeller.topology.getPeriodicBoxVectors().value_in_unit(unit.nanometer))
    if box_scale != 1.0:
        for residue in modeller.topology.residues():
            index = [atom.index for atom in residue.atoms()]
            centre = positions[index].mean(axis=0)
            positions[index] += (box_scale - 1.0) * centre
        vectors = vectors * box_scale
    modeller.topology.setPeriodicBoxVectors([openmm.Vec3(*row) for row in vectors])
    system = forcefield.createSystem(modeller.topology, nonbondedMethod=app.PME, nonbondedCutoff=cutoff_nm,
                                     constraints=app.HBonds, rigidWater=rigid_water)
    return system, modeller.topology, positions


def initial_state(system: openmm.System, positions) -> openmm.State:
    """A State with the positions and the System's default box (no velocities)."""
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    return context.getState(getPositions=True)


def write_inputs(folder: str | Path, system: openmm.System, topology: app.Topology, positions) -> dict[str, Path]:
    """Write ``system.xml``, ``state.xml`` and ``topology.pdb`` into ``folder``; returns their paths."""
    folder = Path(folder)
    paths = {"system": folder / "system.xml", "state": folder / "state.xml", "topology": folder / "topology.pdb"}
    write_system(system, paths["system"])
    write_state(initial_state(system, positions), paths["state"])
    write_topology(topology, positions * unit.nanometer, paths["topology"])
    return paths


def quick_settings(path: str | Path | None = None, *, platform: str = "CPU", cpu_threads: int = 0,
                   temperature_K: float = 298.15, pressure_bar: float = 1.0, seed: int = 1,
                   hydrogen_mass_amu: float = 1.008, **protocol_overrides) -> SimulationSettings:
    """Settings with a short protocol (ps-scale), for tests; written to ``path`` if given."""
    protocol = dict(
        timestep_ps=0.002, friction_per_ps=1.0, production_friction_per_ps=0.1, barostat_interval=25,
        minimise_max_iterations=200, heating_duration_ps=1.0, heating_start_temperature_K=50.0,
        equilibration_duration_ps=4.0, equilibration_max_blocks=3, density_tolerance=0.02,
        production_duration_ps=2.0, production_chunk_ps=0.5, trajectory_interval_ps=0.1, energy_interval_ps=0.1,
    )
    protocol.update(protocol_overrides)
    settings = SimulationSettings(
        temperature_K=temperature_K, pressure_bar=pressure_bar, seed=seed, hydrogen_mass_amu=hydrogen_mass_amu,
        engine=EngineSettings(platform=platform, precision="auto", allow_opencl=False, cpu_threads=cpu_threads),
        protocol=Protocol(**protocol))
    if path is not None:
        write_settings(settings, path)
    return settings
