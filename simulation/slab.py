"""A film of an equilibrated box between vacuum regions, its slab electrostatics and a soft wall for the vapour.

Film (:func:`make_film`)
    Every bonded cluster (molecule, ion, network) is made whole by a walk along its bonds
    (:func:`common.periodic.walk_bonded_clusters`), which also says along which axes a cluster bonds to its own
    periodic image. The film normal is the first axis of (z, x, y) that no cluster spans. A network that spans
    all three (a gel percolating in 3D) is cut, as a gel surface is made by cutting it: at the plane normal to
    z crossed by the fewest bonds between heavy atoms of the network (:func:`common.periodic.least_crossed_plane`,
    as at the Na interface; an H stays with its atom), those bonds are listed in ``Film.cut_bonds`` and the walk is
    redone without them, so the network spans x and y and the normal is z. The film's System then carries no
    bond, angle or torsion term along a cut bond (:func:`systems.na_interface.switch_off_cut_bonds`, called by
    simulation.evaporation); the cut atoms keep their charges and exclusions (two radical ends, not capped). Heavy
    atoms are told by mass (> 4.5 amu: a repartitioned H carries 3.024). The axes are permuted
    cyclically (a proper rotation: energies unchanged) so that the normal is z; each cluster is shifted by whole
    box edges so that its centre lies in the box along z; the box is lengthened along z by the vacuum gap and the
    film centred. Periodicity in x and y is kept.

Slab electrostatics (:func:`dipole_correction`)
    3D PME with tin-foil boundary conditions on a slab system couples the film to its images along z through
    its net dipole M_z = Σ q_i z_i. Yeh & Berkowitz (J. Chem. Phys. 111, 3155 (1999)) remove that with

        E_YB = 2π M_z² / V   (Gaussian units)  =  (2π / (4πε₀)) M_z² / V  =  2π × 138.935456 kJ mol⁻¹ nm e⁻² × M_z² / V,

    force F_i,z = −4π q_i M_z / V (× 1/(4πε₀)); with it a vacuum gap of about twice the film thickness suffices
    (they recommend L_z ≥ 3 × the film). Here it is a ``CustomCVForce`` of the collective variable M_z (a
    ``CustomExternalForce`` "q*z" over every charged particle, unwrapped coordinates): M_z is continuous as long
    as no charge crosses the z boundary, which the wall guarantees.

Soft wall (:func:`soft_wall`)
    A flat-bottomed harmonic potential k (|z − z_c| − z_w)² beyond z_w from the film centre acts on every atom; it
    holds evaporated molecules in the vapour instead of letting them cross the z boundary (which would break the
    dipole correction and bring them back to the film's other face). Molecules are counted once, at their first
    passage beyond the counting distance (analysis.evaporation), so holding them does not change the count; the
    vapour they form at paper scale (tens of molecules in ~50 nm³) is an ideal gas far below PC's saturation
    density at 450 K, so re-condensation onto the film is negligible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import openmm

from common.errors import SimulationError
from common.periodic import least_crossed_plane, walk_bonded_clusters
from simulation.system_prep import bonded_partners

ONE_4PI_EPS0 = 138.935456
AXES = ("x", "y", "z")
NORMAL_PREFERENCE = ("z", "x", "y")
YB_GROUP_NAME = "Yeh-Berkowitz slab dipole correction"
HEAVY_ATOM_MIN_MASS_AMU = 4.5  # above a repartitioned hydrogen (3.024 amu), below any heavy atom after HMR


@dataclass
class Film:
    """Positions (nm, film normal along z), box (nm, 3x3 diagonal), the original axis that became z, the
    film's thickness and the clusters (lists of atom indices)."""

    positions: np.ndarray
    box: np.ndarray
    normal_axis: str
    permutation: tuple[int, int, int]
    thickness_nm: float
    clusters: list[list[int]]
    cut_bonds: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=int))  # network bonds cut (pairs)


def film_normal(spanned: set[str]) -> str:
    """The film normal: the first of z, x, y spanned by no cluster; SimulationError if all three are."""
    for axis in NORMAL_PREFERENCE:
        if axis not in spanned:
            return axis
    raise SimulationError("film: a bonded cluster (the network) is bonded to its own periodic image along x, y and z; "
                          "no film can be cut from this box without breaking bonds")


def make_film(system: openmm.System, positions: np.ndarray, box: np.ndarray, vacuum_nm: float) -> Film:
    """The film of the module notes from a periodic box (``positions`` nm, ``box`` 3x3 nm, rectangular)."""
    box = np.asarray(box, dtype=float)
    if np.any(np.abs(box - np.diag(np.diag(box))) > 1e-9):
        raise SimulationError(f"film: the box {box.tolist()} is not rectangular")
    if not vacuum_nm > 0:
        raise SimulationError(f"film: vacuum gap {vacuum_nm!r} nm must be > 0")
    positions = np.asarray(positions, dtype=float)
    partners = bonded_partners(system)
    unwrapped, walks = walk_bonded_clusters(positions, box, partners, range(system.getNumParticles()))
    spanned = set().union(*(w.percolating_axes for w in walks)) if walks else set()
    cut_bonds = np.zeros((0, 2), dtype=int)
    if spanned >= set(AXES):
        cut_bonds = network_cut(system, positions, box, partners, walks)
        for a, b in cut_bonds:
            partners[int(a)].discard(int(b))
            partners[int(b)].discard(int(a))
        unwrapped, walks = walk_bonded_clusters(positions, box, partners, range(system.getNumParticles()))
        spanned = set().union(*(w.percolating_axes for w in walks)) if walks else set()
    normal = film_normal(spanned)
    k = AXES.index(normal)
    permutation = ((k + 1) % 3, (k + 2) % 3, k)        # cyclic: (x, y, z) <- (a, b, normal)
    xyz = np.array([unwrapped[i] for i in range(len(unwrapped))])[:, permutation]
    lengths = np.diag(box)[list(permutation)]
    masses = np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])
    for walk in walks:
        atoms = np.array(walk.atoms)
        weight = np.maximum(masses[atoms], 1e-9)
        centre = float(np.sum(weight * xyz[atoms, 2]) / weight.sum())
        xyz[atoms, 2] -= math.floor(centre / lengths[2]) * lengths[2]
    low, high = float(xyz[:, 2].min()), float(xyz[:, 2].max())
    new_lz = lengths[2] + vacuum_nm
    xyz[:, 2] += 0.5 * new_lz - 0.5 * (low + high)
    return Film(positions=xyz, box=np.diag([lengths[0], lengths[1], new_lz]), normal_axis=normal,
                permutation=permutation, thickness_nm=float(lengths[2]),
                clusters=[list(w.atoms) for w in walks], cut_bonds=cut_bonds)


def network_cut(system: openmm.System, positions: np.ndarray, box: np.ndarray, partners: dict[int, set[int]],
                walks) -> np.ndarray:
    """The heavy-atom bonds of every cluster spanning x, y and z that cross the least-crossed plane normal to z
    (module notes, Film); (n, 2) atom pairs."""
    lengths = np.diag(box)
    masses = np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])
    heavy = masses > HEAVY_ATOM_MIN_MASS_AMU
    in_network = np.zeros(len(masses), dtype=bool)
    for walk in walks:
        if set(walk.percolating_axes) >= set(AXES):
            in_network[list(walk.atoms)] = True
    bonds = np.array(sorted({(min(a, b), max(a, b)) for a, others in partners.items() for b in others}),
                     dtype=int).reshape(-1, 2)
    cuttable = in_network[bonds[:, 0]] & heavy[bonds[:, 0]] & heavy[bonds[:, 1]] if len(bonds) else np.zeros(0, bool)
    molecules = [list(w.atoms) for w in walks if not in_network[w.atoms[0]]]
    wrapped = positions - lengths * np.floor(positions / lengths)
    _, cut = least_crossed_plane(wrapped, lengths, bonds, cuttable, molecules)
    return bonds[cut]


def particle_charges(system: openmm.System) -> np.ndarray:
    forces = [f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)]
    if len(forces) != 1:
        raise SimulationError(f"slab correction: the System has {len(forces)} NonbondedForce(s); need exactly one")
    force = forces[0]
    return np.array([force.getParticleParameters(i)[0]._value for i in range(force.getNumParticles())])


def dipole_correction(system: openmm.System, volume_nm3: float) -> openmm.CustomCVForce:
    """The Yeh-Berkowitz correction (module notes) for the charges of ``system``'s NonbondedForce, in a box of
    ``volume_nm3``; returns the force (not yet added)."""
    charges = particle_charges(system)
    dipole = openmm.CustomExternalForce("q*z")
    dipole.addPerParticleParameter("q")
    for i, q in enumerate(charges):
        if q != 0.0:
            dipole.addParticle(i, [float(q)])
    force = openmm.CustomCVForce("yb_k*Mz^2")
    force.addCollectiveVariable("Mz", dipole)
    force.addGlobalParameter("yb_k", 2.0 * math.pi * ONE_4PI_EPS0 / volume_nm3)
    force.setName(YB_GROUP_NAME)
    return force


def dipole_energy_kJ_per_mol(charges: np.ndarray, z_nm: np.ndarray, volume_nm3: float) -> float:
    """E_YB = 2π/(4πε₀) M_z² / V for charges (e) at unwrapped z (nm): the reference of the force above."""
    mz = float(np.dot(charges, z_nm))
    return 2.0 * math.pi * ONE_4PI_EPS0 * mz * mz / volume_nm3


def soft_wall(n_particles: int, centre_nm: float, half_width_nm: float, k_kJ_per_mol_nm2: float
              ) -> openmm.CustomExternalForce:
    """Flat-bottomed harmonic wall k (|z − centre| − half_width)² outside ``half_width`` of ``centre``, every atom."""
    wall = openmm.CustomExternalForce("wall_k*max(0, abs(z - wall_c) - wall_w)^2")
    wall.addGlobalParameter("wall_k", k_kJ_per_mol_nm2)
    wall.addGlobalParameter("wall_c", centre_nm)
    wall.addGlobalParameter("wall_w", half_width_nm)
    for i in range(n_particles):
        wall.addParticle(i, [])
    wall.setName("soft wall holding the vapour")
    return wall
