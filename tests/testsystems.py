"""Small test systems that need none of gelmd's force field: for the engine's tests and benchmarks.

Test-only code, so it lives in ``tests/`` (tests import it as ``import testsystems``; ``benchmarks/`` put
``tests/`` on ``sys.path`` first).

- :func:`lj_fluid`: argon-like Lennard-Jones particles (sigma 0.34 nm, epsilon 0.996 kJ/mol, 39.948 amu)
  on a cubic lattice in a periodic box, cutoff interactions with a long-range dispersion correction. Fast
  and bit-for-bit reproducible on the Reference platform (used for the exact kill-and-resume test).
- :func:`water_box`: OpenMM's own ``amber14/tip3pfb.xml`` water (TIP3P-FB, density about 0.995 g/cm^3 at
  298 K), PME, from ``Modeller.addSolvent``; rigid by default, flexible O–H (constrained) with
  ``rigid_water=False`` so that hydrogen mass repartitioning has hydrogens to act on. ``box_scale`` > 1
  spreads the molecules (centres scaled, molecules intact) to give the barostat something to do.
- :func:`percolating_network`: LJ beads bonded into rings closed through the periodic box along z (a
  network that percolates), each bead carrying a hydrogen-like particle held by a constraint *and* a
  harmonic bond term (as ``flexibleConstraints=True`` builds them).
- :func:`diatomic_liquid`: two-centre LJ nitrogen (site sigma 0.3310 nm, epsilon/k_B 37.3 K, bond 0.1098 nm;
  liquid at 77 K and 1 bar, about 0.8 g/cm^3) with the bond constrained and kept as a harmonic term: a
  cheap molecular liquid to compare barostat scalings on.
- :func:`write_inputs` writes the System/State/topology files the command-line tools read;
  :func:`quick_settings` builds short-protocol settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from common.config import EngineSettings, Protocol
from common.constants import AVOGADRO_PER_MOL, MOLAR_GAS_CONSTANT_KJ_PER_MOL_K, NM3_PER_CM3
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


def water_box(n_waters: int = 300, box_scale: float = 1.0, cutoff_nm: float = 0.8, rigid_water: bool = True,
              flexible_constraints: bool = False) -> tuple[openmm.System, app.Topology, np.ndarray]:
    """TIP3P-FB water; returns (System, Topology, positions nm). Needs no gelmd force field.

    ``flexible_constraints``: keep harmonic bond terms for the constrained O-H bonds (needs
    ``rigid_water=False``), as gelmd's force field does.
    """
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
                                     constraints=app.HBonds, rigidWater=rigid_water,
                                     flexibleConstraints=flexible_constraints)
    return system, modeller.topology, positions


def percolating_network(n_per_side: int = 3, reduced_density: float = 0.6, hydrogen_mass_amu: float = 1.008,
                        bond_k: float = 500.0, xh_length_nm: float = 0.1, xh_k: float = 3.0e5, xh_axis: int = 0
                        ) -> tuple[openmm.System, app.Topology, np.ndarray]:
    """``n_per_side**2`` rings of ``n_per_side`` argon-like beads along z, each closed through the box; one
    hydrogen-like particle per bead, ``xh_length_nm`` from it along axis ``xh_axis`` (constraint +
    HarmonicBondForce term, mass taken from the bead as HMR does). Bonds use periodic boundary conditions; bonded pairs are excluded from the LJ interactions."""
    beads, bead_topology, bead_positions = lj_fluid(n_per_side, reduced_density)
    n_beads = beads.getNumParticles()
    box = beads.getDefaultPeriodicBoxVectors()[0][0].value_in_unit(unit.nanometer)
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(*beads.getDefaultPeriodicBoxVectors())
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nonbonded.setCutoffDistance(min(1.0, 0.4 * box))  # room for the box to shrink
    nonbonded.setUseDispersionCorrection(True)
    bonds = openmm.HarmonicBondForce()
    bonds.setUsesPeriodicBoundaryConditions(True)
    topology = app.Topology()
    chain = topology.addChain()
    atoms, positions = [], []
    for i in range(n_beads):
        residue = topology.addResidue("BD", chain)
        system.addParticle(ARGON_MASS_AMU - (hydrogen_mass_amu - 1.008))
        nonbonded.addParticle(0.0, ARGON_SIGMA_NM, ARGON_EPSILON_KJ_PER_MOL)
        atoms.append(topology.addAtom("C", app.element.carbon, residue))
        positions.append(bead_positions[i])
        system.addParticle(hydrogen_mass_amu)
        nonbonded.addParticle(0.0, 0.2, 0.1)
        atoms.append(topology.addAtom("H", app.element.hydrogen, residue))
        positions.append(bead_positions[i] + xh_length_nm * np.eye(3)[xh_axis])
        system.addConstraint(2 * i, 2 * i + 1, xh_length_nm)
        bonds.addBond(2 * i, 2 * i + 1, xh_length_nm, xh_k)
        topology.addBond(atoms[2 * i], atoms[2 * i + 1])
    pairs = [(2 * i, 2 * i + 1) for i in range(n_beads)]
    # lattice index = n^2 ix + n iy + iz: rings along z, closed through the box
    n = n_per_side
    for ix in range(n):
        for iy in range(n):
            ring = [n * n * ix + n * iy + iz for iz in range(n)]
            for a, b in zip(ring, ring[1:] + ring[:1]):
                bonds.addBond(2 * a, 2 * b, box / n, bond_k)
                topology.addBond(atoms[2 * a], atoms[2 * b])
                pairs.append((2 * a, 2 * b))
    nonbonded.createExceptionsFromBonds(pairs, 0.0, 0.0)
    system.addForce(nonbonded)
    system.addForce(bonds)
    topology.setPeriodicBoxVectors(bead_topology.getPeriodicBoxVectors())
    return system, topology, np.asarray(positions)


N2_SIGMA_NM = 0.3310
N2_EPSILON_KJ_PER_MOL = 37.3 * MOLAR_GAS_CONSTANT_KJ_PER_MOL_K  # epsilon/k_B = 37.3 K
N2_BOND_NM = 0.1098
N2_ATOM_MASS_AMU = 14.0067


def diatomic_liquid(n_per_side: int = 6, density_g_per_cm3: float = 0.80, constrained: bool = True,
                    bond_k: float = 1.0e5, cutoff_nm: float = 1.0, seed: int = 1
                    ) -> tuple[openmm.System, app.Topology, np.ndarray]:
    """``n_per_side**3`` two-centre LJ N2 molecules on a cubic lattice with random orientations.

    The N-N bond is a HarmonicBondForce term (``bond_k`` kJ/mol/nm^2, r0 = 0.1098 nm) and, with
    ``constrained``, also a constraint. Returns (System, Topology, positions nm).
    """
    n_mol = n_per_side ** 3
    mass = 2 * N2_ATOM_MASS_AMU
    box = (n_mol * mass / (AVOGADRO_PER_MOL / NM3_PER_CM3 * density_g_per_cm3)) ** (1.0 / 3.0)  # nm
    system = openmm.System()
    vectors = [openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0), openmm.Vec3(0, 0, box)]
    system.setDefaultPeriodicBoxVectors(*vectors)
    nonbonded = openmm.NonbondedForce()
    nonbonded.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nonbonded.setCutoffDistance(min(cutoff_nm, 0.49 * box))
    nonbonded.setUseDispersionCorrection(True)
    bonds = openmm.HarmonicBondForce()
    topology = app.Topology()
    chain = topology.addChain()
    rng = np.random.default_rng(seed)
    grid = (np.arange(n_per_side) + 0.5) * box / n_per_side
    positions = []
    for centre in ((x, y, z) for x in grid for y in grid for z in grid):
        residue = topology.addResidue("N2", chain)
        u = rng.standard_normal(3)
        u *= 0.5 * N2_BOND_NM / np.linalg.norm(u)
        first = system.addParticle(N2_ATOM_MASS_AMU)
        second = system.addParticle(N2_ATOM_MASS_AMU)
        for _ in range(2):
            nonbonded.addParticle(0.0, N2_SIGMA_NM, N2_EPSILON_KJ_PER_MOL)
        a = topology.addAtom("N1", app.element.nitrogen, residue)
        b = topology.addAtom("N2", app.element.nitrogen, residue)
        topology.addBond(a, b)
        positions += [np.asarray(centre) - u, np.asarray(centre) + u]
        bonds.addBond(first, second, N2_BOND_NM, bond_k)
        nonbonded.addException(first, second, 0.0, 1.0, 0.0)
        if constrained:
            system.addConstraint(first, second, N2_BOND_NM)
    system.addForce(nonbonded)
    system.addForce(bonds)
    topology.setPeriodicBoxVectors(vectors)
    return system, topology, np.asarray(positions)


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
        timestep_ps=0.002, friction_per_ps=1.0, production_friction_per_ps=0.1, production_replicas=1,
        barostat_interval=25, minimise_max_iterations=200, heating_duration_ps=1.0, heating_start_temperature_K=50.0,
        equilibration_duration_ps=4.0, equilibration_max_blocks=3, density_tolerance=0.02,
        production_duration_ps=2.0, production_chunk_ps=0.5, trajectory_interval_ps=0.1, energy_interval_ps=0.1,
        transport_discard_ps=0.0, trajectory_format="dcd",
    )
    protocol.update(protocol_overrides)
    settings = SimulationSettings(
        temperature_K=temperature_K, pressure_bar=pressure_bar, seed=seed, hydrogen_mass_amu=hydrogen_mass_amu,
        engine=EngineSettings(platform=platform, precision="auto", allow_opencl=False, cpu_threads=cpu_threads,
                              deterministic=False),
        protocol=Protocol(**protocol))
    if path is not None:
        write_settings(settings, path)
    return settings
