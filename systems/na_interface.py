"""Symmetric Na | electrolyte | Na cells from an equilibrated bulk electrolyte or gel.

The cell, along z (periodic in x, y and z; "through the metal": the top slab's last plane and the bottom
slab's first plane are one plane spacing apart across the boundary, so the two slabs are one seamless bcc
crystal at 0 V)::

    [slab A: n planes] gap [electrolyte, thickness H] gap [slab B: n planes] | (period) -> slab A

1. The lateral box is a whole number of the slab's in-plane cells (systems/na_slab.py) nearest to the
   target side (sqrt of the bulk volume over the configured electrolyte thickness, or the bulk box's own
   side when none is configured) and at least twice the longest cutoff.
2. The bulk box is mapped onto it at constant volume (so at the equilibrated density): H = V / (Lx Ly).
   Molecules (bond-graph components of at most ``RIGID_MAX_ATOMS`` atoms that are not bonded to their own
   periodic image) are moved rigidly with their centres; a network (percolating or larger components) is
   scaled atom by atom. The deformation is relaxed by the run's
   minimisation.
3. The bulk box is opened at the height z_c that the fewest network bonds and molecules cross. A gel's
   bonds between heavy atoms that cross z_c are cut (the network is "cut from the bulk"; a bond to H never is:
   the H stays with its atom, at most a bond length beyond z_c, inside the gap); their bond, angle and torsion terms
   are switched off, the two ends keep their template charges (each residue stays integer-charged) and no
   cap atoms are added: an uncapped cut end is the approximation, reported with the number of cut bonds
   per nm^2 of each surface. Molecules straddling z_c are moved whole to the side of their centre.
4. Metal atoms (residue ``NAM``, one per atom) get Lennard-Jones parameters for the cross terms with the
   electrolyte (Lorentz-Berthelot) and no fixed charge: forcefields/electrode.py moves every charge into a
   ConstantPotentialForce in which the two slabs are electrodes. Two metal models:

   - mobile (``mobile_metal``): EAM (forcefields/eam.py) between metal atoms, cross LJ in a
     CustomNonbondedForce restricted to metal-electrolyte pairs; electrodes solved by CG. On the CPU
     platform the EAM's CustomGBForce runs over every particle of the cell and costs ~10x the rest (measured:
     0.13 s of 0.2 s per force evaluation for 2,000 atoms), so this is the GPU setting;
   - frozen (default): the slabs are relaxed with the EAM alone (surface relaxation, the cell's box without
     electrolyte), then held fixed (zero mass, LJ in the NonbondedForce) and solved by the Matrix method,
     the usual setting of constant-potential electrodes (e.g. MetalWalls, Reed et al. 2007).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import openmm
from openmm import app

from common.errors import ConfigError, SimulationError
from common.periodic import least_crossed_plane
from forcefields.eam import EamTables, add_eam_forces, copy_nonbonded_exclusions
from systems.na_slab import Slab, bcc_slab, lateral_cells

METAL_RESIDUE = "NAM"
METAL_CHAIN = "M"
RIGID_MAX_ATOMS = 200
"""Bond-graph components up to this size that do not span the box are molecules moved rigidly; larger or
percolating ones are a network (scaled atom-wise, cut at the opened boundary)."""
MAX_ASPECT_CHANGE = 2.5
"""Largest ratio between the cell's electrolyte height and the bulk box side (either way) accepted."""


@dataclass(frozen=True)
class MetalLJ:
    """Lennard-Jones parameters of a metal atom for its cross terms with the electrolyte (nm, kJ/mol)."""

    sigma_nm: float
    epsilon_kJ_per_mol: float
    source: str


@dataclass(frozen=True)
class CellSpec:
    orientation: str
    planes_per_slab: int
    lattice_constant_nm: float
    gap_nm: float
    electrolyte_thickness_nm: float | None
    metal_lj: MetalLJ
    nonbonded_cutoff_nm: float
    mobile_metal: bool = False


@dataclass
class Cell:
    system: openmm.System
    topology: app.Topology
    positions_nm: np.ndarray
    box_nm: np.ndarray
    electrode_atoms: tuple[list[int], list[int]]
    info: dict = field(default_factory=dict)


def _components(topology: app.Topology) -> list[list[int]]:
    n = topology.getNumAtoms()
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for bond in topology.bonds():
        a, b = find(bond[0].index), find(bond[1].index)
        if a != b:
            parent[a] = b
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _bonds(topology: app.Topology) -> np.ndarray:
    return np.array([(b[0].index, b[1].index) for b in topology.bonds()], dtype=int).reshape(-1, 2)


def _unwrap_component(atoms: list[int], pos: np.ndarray, box: np.ndarray, adjacency: dict[int, list[int]],
                      axes: slice) -> None:
    """Make ``atoms`` whole (in place) along ``axes`` by walking bonds with minimum-image bond vectors."""
    seen = {atoms[0]}
    stack = [atoms[0]]
    while stack:
        i = stack.pop()
        for j in adjacency.get(i, ()):
            if j in seen:
                continue
            d = pos[j, axes] - pos[i, axes]
            pos[j, axes] = pos[i, axes] + d - box[axes] * np.rint(d / box[axes])
            seen.add(j)
            stack.append(j)


def _percolates(atoms: list[int], pos: np.ndarray, box: np.ndarray, adjacency: dict[int, list[int]]) -> bool:
    """Whether a bonded component is bonded to its own periodic image (a network spanning the box)."""
    if len(atoms) < 2:
        return False
    whole = pos.copy()
    _unwrap_component(atoms, whole, box, adjacency, slice(0, 3))
    for i in atoms:
        for j in adjacency.get(i, ()):
            if np.any(np.abs(whole[j] - whole[i]) > 0.5 * box):
                return True
    return False


def map_electrolyte(topology: app.Topology, positions_nm: np.ndarray, box_nm: np.ndarray,
                    lateral_nm: tuple[float, float]) -> tuple[np.ndarray, float, np.ndarray, dict]:
    """Map the bulk box onto the lateral box at constant volume and open it along z.

    Returns the new positions (z from 0 to H), H (nm), the network bonds cut (pairs of atom indices) and a
    record of what was done.
    """
    pos = np.array(positions_nm, dtype=float)
    box = np.asarray(box_nm, dtype=float)
    components = _components(topology)
    bonds = _bonds(topology)
    adjacency: dict[int, list[int]] = {}
    for a, b in bonds:
        adjacency.setdefault(int(a), []).append(int(b))
        adjacency.setdefault(int(b), []).append(int(a))
    in_network = np.zeros(len(pos), dtype=bool)
    for comp in components:
        if len(comp) > RIGID_MAX_ATOMS or _percolates(comp, pos, box, adjacency):
            in_network[comp] = True
    # a bond to hydrogen is never cut: the H goes with its heavy atom (its X-H constraint would otherwise pull it
    # across the opened cell: seen as NaN in a demo PBMP cell's minimisation)
    heavy = np.array([atom.element is None or atom.element.symbol != "H" for atom in topology.atoms()])
    network_bond = (in_network[bonds[:, 0]] & heavy[bonds[:, 0]] & heavy[bonds[:, 1]] if len(bonds)
                    else np.zeros(0, dtype=bool))
    pos = pos - box * np.floor(pos / box)
    molecules = [c for c in components if not in_network[c[0]]]
    zc, cut = least_crossed_plane(pos, box, bonds, network_bond, molecules)
    pos[:, 2] = (pos[:, 2] - zc) % box[2]
    cut_pairs = bonds[cut] if len(bonds) else np.zeros((0, 2), dtype=int)
    cut_set = {tuple(sorted(map(int, p))) for p in cut_pairs}
    kept = {i: [j for j in adj if tuple(sorted((i, j))) not in cut_set] for i, adj in adjacency.items()}
    scale = np.array([lateral_nm[0] / box[0], lateral_nm[1] / box[1], 0.0])
    height = float(np.prod(box) / (lateral_nm[0] * lateral_nm[1]))
    scale[2] = height / box[2]
    new = pos.copy()
    pushed = 0
    for comp in molecules:
        _unwrap_component(comp, new, box, kept, slice(0, 3))
        centre = new[comp].mean(axis=0)
        shift = -box * np.floor(centre / box)  # centre back into the box: the molecule lies on its centre's side
        new[comp] += shift + (centre + shift) * (scale - 1.0)
        low, high = new[comp, 2].min(), new[comp, 2].max()
        if low < 0.0 or high > height:  # straddled the opened boundary: moved whole to the inside
            new[comp, 2] += -low if low < 0.0 else height - high
            pushed += 1
    network_atoms = np.flatnonzero(in_network)
    if len(network_atoms):
        for comp in components:
            if in_network[comp[0]]:
                _unwrap_component(comp, new, box, kept, slice(2, 3))
        new[network_atoms] *= scale
    info = {"cut_height_in_bulk_box_nm": float(zc), "network_bonds_cut": int(len(cut_pairs)),
            "molecules_moved_inside_at_the_cut": pushed,
            "molecules_moved_rigidly": len(molecules), "network_atoms_scaled": int(len(network_atoms)),
            "lateral_scale": [float(scale[0]), float(scale[1])], "height_scale": float(scale[2])}
    return new, height, cut_pairs, info


def switch_off_cut_bonds(system: openmm.System, cut_pairs: np.ndarray) -> dict:
    """Zero the bond, angle and torsion terms of ``system`` that run along a cut bond; returns counts."""
    cut = {tuple(sorted(map(int, p))) for p in cut_pairs}
    if not cut:
        return {"bonds": 0, "angles": 0, "torsions": 0}

    def along_cut(atoms):
        return any(tuple(sorted(atoms[k:k + 2])) in cut for k in range(len(atoms) - 1))

    counts = {"bonds": 0, "angles": 0, "torsions": 0}
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            for k in range(force.getNumBonds()):
                i, j, length, _ = force.getBondParameters(k)
                if along_cut([i, j]):
                    force.setBondParameters(k, i, j, length, 0.0)
                    counts["bonds"] += 1
        elif isinstance(force, openmm.HarmonicAngleForce):
            for k in range(force.getNumAngles()):
                i, j, m, theta, _ = force.getAngleParameters(k)
                if along_cut([i, j, m]):
                    force.setAngleParameters(k, i, j, m, theta, 0.0)
                    counts["angles"] += 1
        elif isinstance(force, openmm.PeriodicTorsionForce):
            for k in range(force.getNumTorsions()):
                i, j, m, n, per, phase, _ = force.getTorsionParameters(k)
                if along_cut([i, j, m, n]) or along_cut([i, m, j, n]):
                    force.setTorsionParameters(k, i, j, m, n, per, phase, 0.0)
                    counts["torsions"] += 1
    return counts


def add_metal(system: openmm.System, topology: app.Topology, n_metal: int, tables: EamTables,
              frozen_lj: MetalLJ | None = None) -> list[int]:
    """Append ``n_metal`` metal particles to ``system`` and ``topology``, uncharged.

    Mobile metal (``frozen_lj`` None): EAM mass, no LJ in the NonbondedForce (the cross terms are
    :func:`add_metal_cross_lj`, metal-metal is the EAM's). Frozen metal: zero mass (OpenMM does not move it)
    and the LJ in the NonbondedForce (metal-metal terms then act between fixed atoms: a constant).
    """
    first = system.getNumParticles()
    for _ in range(n_metal):
        system.addParticle(tables.mass_amu if frozen_lj is None else 0.0)
    metal = list(range(first, first + n_metal))
    sigma, epsilon = (0.1, 0.0) if frozen_lj is None else (frozen_lj.sigma_nm, frozen_lj.epsilon_kJ_per_mol)
    for force in system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            for _ in metal:
                force.addParticle(0.0, sigma, epsilon)
        elif isinstance(force, (openmm.CustomNonbondedForce, openmm.CustomGBForce)):
            raise ConfigError(f"the bulk System holds a {type(force).__name__}; the Na cell builder supports "
                              "GAFF2 Systems (NonbondedForce only) as parameterise writes them")
    chain = topology.addChain(METAL_CHAIN)
    element = app.Element.getBySymbol(tables.element)
    for k in range(n_metal):
        residue = topology.addResidue(METAL_RESIDUE, chain, id=str(k + 1))
        topology.addAtom(tables.element.upper(), element, residue)
    return metal


def add_metal_cross_lj(system: openmm.System, metal: list[int], metal_lj: MetalLJ) -> openmm.CustomNonbondedForce:
    """Lennard-Jones between metal atoms and every other particle (Lorentz-Berthelot with the electrolyte's
    own sigma and epsilon from the NonbondedForce); metal-metal pairs are left to the EAM."""
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    force = openmm.CustomNonbondedForce("4*eps*((sig/r)^12-(sig/r)^6); sig=0.5*(sig1+sig2); eps=sqrt(eps1*eps2)")
    force.addPerParticleParameter("sig")
    force.addPerParticleParameter("eps")
    metal_set = set(metal)
    for i in range(system.getNumParticles()):
        if i in metal_set:
            force.addParticle([metal_lj.sigma_nm, metal_lj.epsilon_kJ_per_mol])
        else:
            _, sigma, epsilon = nonbonded.getParticleParameters(i)
            force.addParticle([sigma.value_in_unit(openmm.unit.nanometer),
                               epsilon.value_in_unit(openmm.unit.kilojoule_per_mole)])
    others = [i for i in range(system.getNumParticles()) if i not in metal_set]
    force.addInteractionGroup(metal, others)
    force.setNonbondedMethod(force.CutoffPeriodic)
    force.setCutoffDistance(nonbonded.getCutoffDistance())
    force.setUseLongRangeCorrection(False)
    force.setName("metal-electrolyte LJ")
    copy_nonbonded_exclusions(nonbonded, force)
    system.addForce(force)
    return force


def relax_metal(positions_nm: np.ndarray, box_nm: np.ndarray, tables: EamTables) -> np.ndarray:
    """The slabs' EAM minimum (surface relaxation) in the cell's box without electrolyte, positions in nm."""
    system = openmm.System()
    for _ in range(len(positions_nm)):
        system.addParticle(tables.mass_amu)
    system.setDefaultPeriodicBoxVectors(*[openmm.Vec3(*row) for row in np.diag(box_nm)])
    add_eam_forces(system, range(len(positions_nm)), tables, periodic=True)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions_nm)
    openmm.LocalEnergyMinimizer.minimize(context, 1e-3, 2000)
    return context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)


def build_cell(system: openmm.System, topology: app.Topology, positions_nm: np.ndarray, box_nm: np.ndarray,
               tables: EamTables, spec: CellSpec) -> Cell:
    """The Na | electrolyte | Na cell of a bulk System (see the module docstring)."""
    box = np.asarray(box_nm, dtype=float)
    a_angstrom = spec.lattice_constant_nm * 10.0
    volume = float(np.prod(box))
    side = np.sqrt(volume / spec.electrolyte_thickness_nm) if spec.electrolyte_thickness_nm else np.sqrt(box[0] * box[1])
    min_length = 10.0 * max(2.0 * spec.nonbonded_cutoff_nm, 0.2 * tables.cutoff_angstrom) + 1e-6
    nx, ny = lateral_cells(spec.orientation, a_angstrom, (10.0 * side, 10.0 * side), min_length)
    slab: Slab = bcc_slab(a_angstrom, spec.orientation, nx, ny, spec.planes_per_slab)
    lateral = (slab.box_xy_angstrom[0] / 10.0, slab.box_xy_angstrom[1] / 10.0)
    electrolyte, height, cut_pairs, info = map_electrolyte(topology, positions_nm, box, lateral)
    ratio = height / box[2]
    if not 1.0 / MAX_ASPECT_CHANGE <= ratio <= MAX_ASPECT_CHANGE:
        raise ConfigError(f"config key 'interface.electrolyte_thickness': {spec.electrolyte_thickness_nm!r} nm makes the "
                          f"electrolyte {height:.2f} nm thick from a {box[2]:.2f} nm bulk box (ratio {ratio:.2f}); allowed "
                          f"ratio {1 / MAX_ASPECT_CHANGE:.2f}-{MAX_ASPECT_CHANGE:g}: change n_solvent or the thickness")
    spacing = slab.plane_spacing_angstrom / 10.0
    thickness = slab.thickness_angstrom / 10.0
    metal_xyz = slab.positions_angstrom / 10.0
    z_electrolyte = thickness + spec.gap_nm
    z_top = z_electrolyte + height + spec.gap_nm
    box_z = z_top + thickness + spacing
    electrolyte[:, 2] += z_electrolyte
    top = metal_xyz + np.array([0.0, 0.0, z_top])
    positions = np.vstack([electrolyte, metal_xyz, top])
    cell_box = np.array([lateral[0], lateral[1], box_z])

    new_system = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    cut_terms = switch_off_cut_bonds(new_system, cut_pairs)
    new_topology = app.Topology()
    atom_map = {}
    for chain in topology.chains():
        new_chain = new_topology.addChain(chain.id)
        for residue in chain.residues():
            new_residue = new_topology.addResidue(residue.name, new_chain, id=residue.id)
            for atom in residue.atoms():
                atom_map[atom] = new_topology.addAtom(atom.name, atom.element, new_residue)
    cut_set = {tuple(sorted(map(int, p))) for p in cut_pairs}
    for bond in topology.bonds():
        if tuple(sorted((bond[0].index, bond[1].index))) not in cut_set:
            new_topology.addBond(atom_map[bond[0]], atom_map[bond[1]])
    if spec.mobile_metal:
        metal = add_metal(new_system, new_topology, 2 * len(metal_xyz), tables)
        add_metal_cross_lj(new_system, metal, spec.metal_lj)
        eam_gb, eam_pair = add_eam_forces(new_system, metal, tables, periodic=True)
        nonbonded = next(f for f in new_system.getForces() if isinstance(f, openmm.NonbondedForce))
        copy_nonbonded_exclusions(nonbonded, eam_gb)
        copy_nonbonded_exclusions(nonbonded, eam_pair)
    else:
        metal = add_metal(new_system, new_topology, 2 * len(metal_xyz), tables, frozen_lj=spec.metal_lj)
        metal_positions = relax_metal(np.vstack([metal_xyz, top]), cell_box, tables)
        positions[len(electrolyte):] = metal_positions
    vectors = [openmm.Vec3(*row) for row in np.diag(cell_box)]
    new_system.setDefaultPeriodicBoxVectors(*vectors)
    new_topology.setPeriodicBoxVectors(vectors)
    n_slab = len(metal_xyz)
    area = lateral[0] * lateral[1]
    info.update({
        "orientation": f"({spec.orientation})", "lattice_constant_nm": spec.lattice_constant_nm,
        "lateral_cells": [nx, ny], "box_nm": cell_box.tolist(), "area_nm2": area,
        "planes_per_slab": spec.planes_per_slab, "plane_spacing_nm": spacing, "atoms_per_slab": n_slab,
        "electrolyte_thickness_nm": height, "gap_nm": spec.gap_nm,
        "surface_planes_z_nm": [thickness, z_top], "cut_bond_terms_switched_off": cut_terms,
        "network_bonds_cut_per_nm2_per_surface": len(cut_pairs) / area,
        "metal_lj": {"sigma_nm": spec.metal_lj.sigma_nm, "epsilon_kJ_per_mol": spec.metal_lj.epsilon_kJ_per_mol,
                     "combining_rule": "Lorentz-Berthelot", "source": spec.metal_lj.source},
        "eam": {"file": tables.source.split("/")[-1], "comments": list(tables.comments),
                "cutoff_nm": tables.cutoff_angstrom / 10.0},
    })
    first_metal = metal[0]
    electrodes = (list(range(first_metal, first_metal + n_slab)), list(range(first_metal + n_slab, metal[-1] + 1)))
    return Cell(new_system, new_topology, positions, cell_box, electrodes, info)


def _join_constrained_pairs(system: openmm.System, positions_nm: np.ndarray, box_nm) -> np.ndarray:
    """Each constrained atom placed at the minimum image of its partner.

    A percolating network cannot be made whole, so the mapped cell keeps its atoms wrapped in x and y; an X-H
    pair can then sit on opposite faces. OpenMM solves constraints on raw coordinates, not minimum images,
    and would pull such a pair through the box (seen: a demo gel cell minimised to a coordinate of 8e8 nm).
    """
    box = np.asarray(box_nm, dtype=float)  # edge lengths (nm) of the orthorhombic cell
    pos = positions_nm.copy()
    for k in range(system.getNumConstraints()):
        i, j, _ = system.getConstraintParameters(k)
        delta = pos[j] - pos[i]
        pos[j] = pos[i] + delta - box * np.round(delta / box)
    return pos


RELAX_TOLERANCE_KJ_PER_MOL_PER_NM = 10.0
"""The minimiser stops when the root-mean-square force component is below this (OpenMM 8's criterion)."""
RELAX_MAX_ITERATIONS = 20000
"""Upper bound on minimiser iterations; a mapped gel cell needed more than 500 (8.7e9 -> +1.2e5 kJ/mol in 500)."""
MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM = 5.0e3
"""A relaxed cell whose largest force is still above this is refused: at 298 K and a 4 fs step it blows up
(seen: a demo PBMP cell left at +1.2e5 kJ/mol after 500 iterations gave NaN coordinates within 500 steps)."""
PUSH_OFF_FORCE_CONSTANT_KJ_PER_MOL_PER_NM2 = 2.0e4
"""Stiffness of the soft-sphere repulsion of the push-off stage (kJ/mol/nm^2): at most k sigma ~ 8e3 kJ/mol/nm
per overlapping pair, bounded however close two atoms start, where the r^-12 wall gave 3.5e10 kJ/mol/nm."""
PUSH_OFF_MAX_ITERATIONS = 2000
PUSH_OFF_TOLERANCE_KJ_PER_MOL_PER_NM = 50.0
"""The push-off only has to remove overlaps; the full minimisation after it sets the criterion that counts."""


def _push_off_system(system: openmm.System) -> openmm.System:
    """A copy of ``system`` whose NonbondedForce is replaced by a soft-sphere repulsion, U = k/2 (d - r)^2 for
    r < d, d = (sigma_i + sigma_j)/2 (the LJ zero crossing, Lorentz's rule), with the NonbondedForce's exceptions as
    exclusions; no Coulomb. Bonded terms, constraints and any custom force are kept. Its minimum has no pair of
    atoms closer than their LJ sigma, from which the full force field minimises without overflow."""
    push_system = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    index = next(k for k, f in enumerate(push_system.getForces()) if isinstance(f, openmm.NonbondedForce))
    nonbonded = push_system.getForce(index)
    push = openmm.CustomNonbondedForce("0.5*k_push*step(d-r)*(d-r)^2; d=0.5*(sigma1+sigma2)")
    push.addGlobalParameter("k_push", PUSH_OFF_FORCE_CONSTANT_KJ_PER_MOL_PER_NM2)
    push.addPerParticleParameter("sigma")
    sigmas = []
    for i in range(nonbonded.getNumParticles()):
        _, sigma, epsilon = nonbonded.getParticleParameters(i)
        sigmas.append(sigma.value_in_unit(openmm.unit.nanometer) if epsilon._value > 0.0 else 0.0)
        push.addParticle([sigmas[-1]])
    copy_nonbonded_exclusions(nonbonded, push)
    push.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    push.setCutoffDistance(max(max(sigmas, default=0.0), 0.1))
    push.setName("push-off soft spheres")
    push_system.removeForce(index)
    push_system.addForce(push)
    return push_system


def _cpu_context(system: openmm.System, box_nm) -> openmm.Context:
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in np.diag(box_nm)])
    return context


def _energy_kJ_per_mol(context: openmm.Context) -> float:
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)


def _minimise(context: openmm.Context, positions_nm: np.ndarray, tolerance: float, max_iterations: int) -> None:
    context.setPositions(positions_nm)
    context.applyConstraints(1e-6)
    openmm.LocalEnergyMinimizer.minimize(context, tolerance, max_iterations)


def relax_electrolyte(cell: Cell, max_iterations: int = RELAX_MAX_ITERATIONS) -> tuple[np.ndarray, dict]:
    """Minimise the cell with ordinary PME electrostatics (uncharged metal), before the electrodes are made
    conducting: the constant-potential solve at every minimiser step would cost ~10x more. A frozen metal
    (zero mass) is not moved by OpenMM's minimiser.

    Two stages. The constant-volume mapping (rigid molecules moved with their centres, molecules straddling the
    cut moved whole inside) can leave atoms a few hundredths of a nm apart; their r^-12 forces (seen: 3.5e10
    kJ/mol/nm in a demo PBMP cell) overflow OpenMM's L-BFGS into NaN coordinates. So the cell is first pushed
    apart with bounded soft-sphere repulsions (:func:`_push_off_system`, at most ``PUSH_OFF_MAX_ITERATIONS``),
    then minimised with the full force field to OpenMM's criterion (RMS force below
    ``RELAX_TOLERANCE_KJ_PER_MOL_PER_NM``) or ``max_iterations``. Raises :class:`common.errors.SimulationError`
    when the largest force on a mobile atom is still above ``MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM`` (kJ/mol/nm),
    or the minimiser fails, naming both, so that no run starts from a cell that cannot hold together."""
    positions = _join_constrained_pairs(cell.system, np.asarray(cell.positions_nm, dtype=float), cell.box_nm)
    mobile = np.array([cell.system.getParticleMass(i).value_in_unit(openmm.unit.dalton) > 0.0
                       for i in range(cell.system.getNumParticles())])
    try:
        push_off = _cpu_context(_push_off_system(cell.system), cell.box_nm)
        _minimise(push_off, positions, PUSH_OFF_TOLERANCE_KJ_PER_MOL_PER_NM, min(PUSH_OFF_MAX_ITERATIONS, max_iterations))
        pushed = push_off.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)
        full = _cpu_context(cell.system, cell.box_nm)
        full.setPositions(positions)
        before = _energy_kJ_per_mol(full)
        full.setPositions(pushed)
        after_push = _energy_kJ_per_mol(full)
        _minimise(full, pushed, RELAX_TOLERANCE_KJ_PER_MOL_PER_NM, max_iterations)
        state = full.getState(getEnergy=True, getPositions=True, getForces=True)
    except openmm.OpenMMException as error:
        raise SimulationError(f"the Na interface cell did not relax: OpenMM's minimiser failed ({error}); check the "
                              "lateral mapping in cell.json (lateral_scale, height_scale) or use a thicker "
                              "electrolyte") from error
    after = state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
    forces = state.getForces(asNumpy=True).value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.nanometer)
    max_force = float(np.max(np.linalg.norm(forces[mobile], axis=1))) if mobile.any() else 0.0
    report = {"energy_before_kJ_per_mol": before, "energy_after_push_off_kJ_per_mol": after_push,
              "energy_after_kJ_per_mol": after, "max_force_after_kJ_per_mol_per_nm": max_force,
              "push_off": {"potential": "k/2 (d - r)^2 for r < d = (sigma_i + sigma_j)/2, no Coulomb",
                           "k_kJ_per_mol_per_nm2": PUSH_OFF_FORCE_CONSTANT_KJ_PER_MOL_PER_NM2,
                           "max_iterations": min(PUSH_OFF_MAX_ITERATIONS, max_iterations)},
              "tolerance_kJ_per_mol_per_nm": RELAX_TOLERANCE_KJ_PER_MOL_PER_NM, "max_iterations": max_iterations}
    if not np.isfinite(after) or not np.isfinite(max_force) or max_force > MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM:
        raise SimulationError(
            f"the Na interface cell did not relax: after minimisation (at most {max_iterations} iterations) its "
            f"energy is {after:.4g} kJ/mol (from {before:.4g}) and its largest force on a mobile atom "
            f"{max_force:.4g} kJ/mol/nm, above the {MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM:g} kJ/mol/nm a 4 fs run "
            "survives; check the electrolyte thickness and the lateral mapping in cell.json (lateral_scale, "
            "height_scale) or use a thicker electrolyte")
    return state.getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer), report


# --------------------------------------------------------------------------------------------------- CLI


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m systems.na_interface",
                                     description="Build a Na | electrolyte | Na cell from an equilibrated bulk box.")
    parser.add_argument("--system", required=True, help="bulk System XML (equilibrate/system.xml)")
    parser.add_argument("--state", required=True, help="bulk State XML (equilibrate/state.xml)")
    parser.add_argument("--topology", required=True, help="bulk topology PDB")
    parser.add_argument("--eam", required=True, help="EAM table name (forcefields.eam.EAM_POTENTIALS) or file")
    parser.add_argument("--orientation", required=True, choices=["100", "110", "111"])
    parser.add_argument("--planes", type=int, required=True, help="atomic planes per slab")
    parser.add_argument("--lattice-constant", required=True, help='bcc lattice constant, e.g. "0.42906 nm"')
    parser.add_argument("--gap", required=True, help='metal surface plane to electrolyte, e.g. "0.25 nm"')
    parser.add_argument("--thickness", default=None, help='electrolyte thickness, e.g. "3 nm" (default: bulk box)')
    parser.add_argument("--metal-sigma", required=True, help='LJ sigma of a metal atom, e.g. "0.2658 nm"')
    parser.add_argument("--metal-epsilon", required=True, help='LJ epsilon of a metal atom, e.g. "0.1255 kJ/mol"')
    parser.add_argument("--metal-lj-source", required=True, help="citation of the metal LJ parameters")
    parser.add_argument("--mobile-metal", action="store_true", help="EAM-mobile slabs (CG); default frozen (Matrix)")
    parser.add_argument("--gaussian-width", required=True, help='electrode Gaussian width, e.g. "0.0505 nm"')
    parser.add_argument("--out-dir", required=True)
    return parser


def main(argv=None) -> int:
    from common.cli import run_main
    from common.io import write_json_atomic
    from common.units import parse_quantity
    from forcefields.eam import read_setfl_fs
    from forcefields.electrode import move_charges_to_constant_potential
    from simulation.state_io import read_state, read_system, read_topology, write_state, write_system, write_topology

    args = build_parser().parse_args(argv)

    def body() -> None:
        from pathlib import Path

        system = read_system(args.system)
        state = read_state(args.state)
        topology, _ = read_topology(args.topology)
        box = np.asarray(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(openmm.unit.nanometer))
        if np.abs(box - np.diag(np.diag(box))).max() > 1e-9:
            raise ConfigError(f"the bulk box of {args.state!r} is triclinic; the Na cell builder needs an orthorhombic box")
        length = lambda text: parse_quantity(text, "length")  # noqa: E731
        spec = CellSpec(
            orientation=args.orientation, planes_per_slab=args.planes,
            lattice_constant_nm=length(args.lattice_constant), gap_nm=length(args.gap),
            electrolyte_thickness_nm=length(args.thickness) if args.thickness else None,
            metal_lj=MetalLJ(length(args.metal_sigma), parse_quantity(args.metal_epsilon, "energy"),
                             args.metal_lj_source),
            nonbonded_cutoff_nm=next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)
                                     ).getCutoffDistance().value_in_unit(openmm.unit.nanometer),
            mobile_metal=args.mobile_metal)
        tables = read_setfl_fs(args.eam)
        positions = state.getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)
        cell = build_cell(system, topology, positions, np.diag(box), tables, spec)
        cell.positions_nm, minimised = relax_electrolyte(cell)
        width = length(args.gaussian_width)
        move_charges_to_constant_potential(cell.system, cell.electrode_atoms, [0.0, 0.0],
                                           method="CG" if spec.mobile_metal else "Matrix", gaussian_width_nm=width)
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        integrator = openmm.VerletIntegrator(0.001)
        context = openmm.Context(cell.system, integrator, openmm.Platform.getPlatformByName("Reference"))
        context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in np.diag(cell.box_nm)])
        context.setPositions(cell.positions_nm)
        write_system(cell.system, out / "system.xml")
        write_state(context.getState(getPositions=True), out / "state.xml")
        write_topology(cell.topology, cell.positions_nm * openmm.unit.nanometer, out / "cell.pdb")
        cell.info.update({"electrodes": [[min(e), max(e)] for e in cell.electrode_atoms],
                          "metal_model": "mobile EAM, CG electrodes" if spec.mobile_metal else
                          "EAM-relaxed slabs held fixed, Matrix electrodes",
                          "gaussian_width_nm": width, "thomas_fermi_length_nm": 0.0,
                          "minimisation_before_electrodes": minimised,
                          "n_atoms": cell.system.getNumParticles(), "inputs": vars(args)})
        write_json_atomic(out / "cell.json", cell.info)

    return run_main("systems.na_interface", body)


if __name__ == "__main__":
    raise SystemExit(main())
