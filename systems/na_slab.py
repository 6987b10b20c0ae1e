"""bcc metal slabs with a chosen surface orientation, in an orthorhombic cell matched to the lattice.

The slab's surface normal is z. For each orientation the in-plane axes x, y and the normal z are lattice
directions whose repeat lengths make an orthorhombic supercell of the bcc lattice (lattice constant a):

==========  =================  =================  ==========================  ===================
orientation x                   y                  z (normal)                  atomic planes per z period
==========  =================  =================  ==========================  ===================
(100)       [100], a           [010], a           [001], a                    2 (spacing a/2)
(110)       [001], a           [1-10], a sqrt2    [110], a sqrt2              2 (spacing a/sqrt2)
(111)       [1-10], a sqrt2    [11-2], a sqrt6    [111], a sqrt3/2            3 (spacing a/(2 sqrt3))
==========  =================  =================  ==========================  ===================

(110) is the densest and lowest-energy bcc face (e.g. Vitos et al., Surf. Sci. 411, 186 (1998), surface
energies of the elements); it is the default of the interface stage. Lengths in Angstrom here, as the EAM
tables; builders convert to nm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import ConfigError

ORIENTATIONS = {
    "100": (np.array([1, 0, 0]), np.array([0, 1, 0]), np.array([0, 0, 1])),
    "110": (np.array([0, 0, 1]), np.array([1, -1, 0]), np.array([1, 1, 0])),
    "111": (np.array([1, -1, 0]), np.array([1, 1, -2]), np.array([1, 1, 1])),
}
Z_PERIOD_FACTOR = {"100": 1.0, "110": 1.0, "111": 0.5}
"""The z repeat is (factor x) the length of the integer normal vector times a ((111): a sqrt3 / 2)."""


@dataclass(frozen=True)
class Slab:
    """A bcc slab: positions (Angstrom, x and y in [0, L), z from 0 up), lateral box, plane spacing."""

    positions_angstrom: np.ndarray
    box_xy_angstrom: tuple[float, float]
    plane_spacing_angstrom: float
    n_planes: int
    orientation: str
    lattice_constant_angstrom: float

    @property
    def thickness_angstrom(self) -> float:
        """Distance between the outermost atomic planes."""
        return (self.n_planes - 1) * self.plane_spacing_angstrom

    @property
    def atoms_per_plane(self) -> int:
        return len(self.positions_angstrom) // self.n_planes


def cell_periods_angstrom(orientation: str, a: float) -> tuple[float, float, float]:
    """Repeat lengths (Angstrom) of the orthorhombic cell along x, y, z for ``orientation``."""
    _check(orientation)
    x, y, z = ORIENTATIONS[orientation]
    return (a * float(np.linalg.norm(x)), a * float(np.linalg.norm(y)),
            a * float(np.linalg.norm(z)) * Z_PERIOD_FACTOR[orientation])


def planes_per_period(orientation: str) -> int:
    return {"100": 2, "110": 2, "111": 3}[_check(orientation)]


def _check(orientation: str) -> str:
    if orientation not in ORIENTATIONS:
        raise ConfigError(f"config key 'interface.orientation': {orientation!r} is not supported; allowed: "
                          f"{sorted(ORIENTATIONS)}")
    return orientation


def bcc_slab(a: float, orientation: str, nx: int, ny: int, n_planes: int) -> Slab:
    """A slab of ``n_planes`` atomic planes of ``nx`` x ``ny`` cells, periodic in x and y.

    Built by rotating the bcc lattice points (cube corners and centres) into the (x, y, z) frame of the
    orientation and keeping one copy of each inside the supercell; the bottom plane is at z = 0.
    """
    _check(orientation)
    if min(nx, ny, n_planes) < 1:
        raise ConfigError(f"bcc_slab: nx, ny and n_planes must be >= 1 (got {nx}, {ny}, {n_planes})")
    px, py, pz = cell_periods_angstrom(orientation, a)
    per = planes_per_period(orientation)
    n_periods = -(-n_planes // per)
    lengths = np.array([nx * px, ny * py, n_periods * pz])
    rotation = np.array([v / np.linalg.norm(v) for v in ORIENTATIONS[orientation]])
    reach = int(np.ceil(np.linalg.norm(lengths) / a)) + 2
    grid = np.stack(np.meshgrid(*[np.arange(-reach, reach + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    points = np.concatenate([grid, grid + 0.5]) * a
    frame = points @ rotation.T
    tolerance = 1e-6 * a
    inside = np.all((frame > -tolerance) & (frame < lengths - tolerance), axis=1)
    kept = frame[inside]
    kept[np.abs(kept) < tolerance] = 0.0
    spacing = pz / per
    plane = np.rint(kept[:, 2] / spacing).astype(int)
    kept = kept[plane < n_planes]
    order = np.lexsort((kept[:, 0], kept[:, 1], np.rint(kept[:, 2] / spacing)))
    slab = kept[order]
    expected = 2 * nx * ny * int(round(px * py * pz / a ** 3)) * n_planes // per
    if len(slab) != expected:
        raise RuntimeError(f"bcc_slab: built {len(slab)} atoms, expected {expected} ({orientation}, {nx}x{ny}x{n_planes})")
    return Slab(positions_angstrom=slab, box_xy_angstrom=(float(lengths[0]), float(lengths[1])),
                plane_spacing_angstrom=spacing, n_planes=n_planes, orientation=orientation,
                lattice_constant_angstrom=a)


def lateral_cells(orientation: str, a: float, target_xy_angstrom: tuple[float, float],
                  min_length_angstrom: float) -> tuple[int, int]:
    """Cells (nx, ny) whose lateral lengths are nearest to ``target_xy`` and at least ``min_length``."""
    px, py, _ = cell_periods_angstrom(orientation, a)
    nx = max(int(round(target_xy_angstrom[0] / px)), int(np.ceil(min_length_angstrom / px)), 1)
    ny = max(int(round(target_xy_angstrom[1] / py)), int(np.ceil(min_length_angstrom / py)), 1)
    return nx, ny
