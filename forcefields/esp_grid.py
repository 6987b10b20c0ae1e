"""Merz–Kollman (MK) sampling points for fitting atomic charges to the electrostatic potential (ESP).

Physics
-------
Charges are fitted to the molecular ESP on points that lie outside the molecule, where the potential is
what a neighbouring molecule feels. The Merz–Kollman scheme (Singh & Kollman, J. Comput. Chem. 5 (1984)
129; Besler, Merz & Kollman, J. Comput. Chem. 11 (1990) 431) places points on four nested van der Waals
surfaces, at 1.4, 1.6, 1.8 and 2.0 times the atomic radii. On each shell, every atom carries a sphere of
``scale * R_vdW`` with about ``density * 4 pi (scale R_vdW)^2`` points; a point is discarded when it lies
strictly inside the sphere of the same shell of any other atom (the union of spheres is the molecular
surface of that shell, so the kept points lie on it and never inside any inner sphere).

Points on each sphere follow Connolly's latitude/longitude dot algorithm (Connolly, J. Appl. Cryst. 16
(1983) 548), as used by GAMESS and the R.E.D. tools: ``n_equator = int(sqrt(pi n))`` points on the equator,
``n_equator // 2 + 1`` latitude circles from pole to pole (poles included), and on the circle at polar
angle theta ``max(1, int(n_equator sin theta))`` points, stopping once ``n`` points are placed.

Density: 1 point per Å^2 of each scaled sphere (the value Singh & Kollman recommend and the default of
Gaussian's ``Pop=MK`` and of R.E.D./RESP-A1), which gives ~150–250 points per atom over the four shells.

Radii (Å): the MK radii of Singh & Kollman for H, C, N, O (1.20, 1.50, 1.50, 1.40), P and S (1.80, 1.75)
as tabulated in GAMESS (which R.E.D. and the Psi4 RESP plugin use), with the GAMESS values for the other
light elements (Li 1.37, B 1.45, F 1.35, Na 1.57, Mg 1.36, Al 1.24, Si 1.17, Cl 1.70). Elements outside
the table need an explicit radius (``radii=`` argument).

Units: everything in this module is in ångström; convert to Bohr (``ANGSTROM_TO_BOHR``) before any
atomic-unit integral.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from common.errors import ChargeError

#: 1 Å in Bohr (CODATA 2018: a0 = 0.529177210903 Å), the factor pyscf uses as well.
BOHR_IN_ANGSTROM = 0.529177210903
ANGSTROM_TO_BOHR = 1.0 / BOHR_IN_ANGSTROM

#: Merz–Kollman radii in Å (Singh & Kollman 1984; GAMESS table for the elements they did not give).
MK_RADII_ANGSTROM: dict[str, float] = {
    "H": 1.20, "He": 1.20,
    "Li": 1.37, "Be": 1.45, "B": 1.45, "C": 1.50, "N": 1.50, "O": 1.40, "F": 1.35, "Ne": 1.30,
    "Na": 1.57, "Mg": 1.36, "Al": 1.24, "Si": 1.17, "P": 1.80, "S": 1.75, "Cl": 1.70,
}

#: Shell scale factors of the MK scheme (multiples of the vdW radius).
MK_SCALE_FACTORS: tuple[float, ...] = (1.4, 1.6, 1.8, 2.0)

#: Points per Å^2 of each scaled sphere.
MK_DENSITY_PER_ANGSTROM2 = 1.0


@dataclass(frozen=True)
class EspGrid:
    """Sampling points for an ESP fit.

    Attributes:
        points_angstrom: (n_points, 3) Cartesian coordinates in Å, in the frame of the molecule's
            coordinates.
        shell_index: (n_points,) index into ``scale_factors`` of the shell each point belongs to.
        scale_factors: the shell multiples of the vdW radii.
        density_per_angstrom2: requested points per Å^2 on each sphere.
        radii_angstrom: the unscaled vdW radius used for each element, Å.
    """

    points_angstrom: np.ndarray
    shell_index: np.ndarray
    scale_factors: tuple[float, ...]
    density_per_angstrom2: float
    radii_angstrom: dict[str, float]

    @property
    def n_points(self) -> int:
        return int(self.points_angstrom.shape[0])

    @property
    def points_bohr(self) -> np.ndarray:
        """The points in Bohr (atomic units of length)."""
        return self.points_angstrom * ANGSTROM_TO_BOHR

    def describe(self) -> str:
        """One line that says how the grid was built (for provenance)."""
        radii = ", ".join(f"{el} {r:.2f}" for el, r in sorted(self.radii_angstrom.items()))
        shells = "/".join(f"{s:g}" for s in self.scale_factors)
        return (f"Merz-Kollman shells at {shells} x vdW radii (Å: {radii}), Connolly dots, "
                f"{self.density_per_angstrom2:g} pt/Å^2, {self.n_points} points")


def connolly_sphere_points(n: int) -> np.ndarray:
    """About ``n`` (at most ``n``) points spread over the unit sphere by Connolly's dot algorithm.

    Latitude circles at polar angles ``pi i / n_vert`` (i = 0..n_vert, poles included) carry
    ``max(1, int(n_equator sin theta))`` equally spaced points each, with ``n_equator = int(sqrt(pi n))``
    and ``n_vert = n_equator // 2``; points are emitted pole to pole until ``n`` have been placed.

    Returns:
        (m, 3) array of unit vectors, m <= n.
    """
    if n < 1:
        return np.zeros((0, 3))
    eps = 1e-10
    n_equator = int(np.sqrt(np.pi * n))
    n_vert = max(1, n_equator // 2)
    points: list[np.ndarray] = []
    count = 0
    for i in range(n_vert + 1):
        theta = np.pi * i / n_vert
        z, rho = np.cos(theta), np.sin(theta)
        n_hor = max(1, int(n_equator * rho + eps))
        phi = 2.0 * np.pi * np.arange(n_hor) / n_hor
        ring = np.column_stack([rho * np.cos(phi), rho * np.sin(phi), np.full(n_hor, z)])
        take = min(n_hor, n - count)
        points.append(ring[:take])
        count += take
        if count >= n:
            break
    return np.concatenate(points, axis=0)


def mk_radii(elements: Sequence[str], radii: Mapping[str, float] | None = None) -> dict[str, float]:
    """The vdW radius (Å) for each element present: ``radii`` overrides, then the MK table."""
    table = dict(MK_RADII_ANGSTROM)
    if radii:
        table.update({str(k): float(v) for k, v in radii.items()})
    out: dict[str, float] = {}
    for el in elements:
        if el not in table:
            raise ChargeError(
                f"no Merz-Kollman radius for element {el!r}: known elements are {sorted(table)}; "
                "pass radii={element: radius_in_angstrom}")
        out[el] = table[el]
    return out


def mk_grid(coordinates_angstrom: np.ndarray, elements: Sequence[str], *,
            scale_factors: Sequence[float] = MK_SCALE_FACTORS,
            density_per_angstrom2: float = MK_DENSITY_PER_ANGSTROM2,
            radii: Mapping[str, float] | None = None) -> EspGrid:
    """Merz–Kollman ESP sampling points around a molecule.

    Args:
        coordinates_angstrom: (n_atoms, 3) nuclear positions in Å.
        elements: element symbols ("C", "H", "Na", ...), index-aligned with the coordinates.
        scale_factors: shell multiples of the vdW radii (MK: 1.4, 1.6, 1.8, 2.0).
        density_per_angstrom2: points per Å^2 on each scaled sphere (MK: 1.0).
        radii: optional vdW radii in Å overriding :data:`MK_RADII_ANGSTROM`.

    Returns:
        An :class:`EspGrid`; for every kept point on shell ``s`` the distance to every atom ``j`` is at
        least ``s * R_j``.
    """
    xyz = np.asarray(coordinates_angstrom, dtype=float)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.shape[0] != len(elements):
        raise ChargeError(f"coordinates must be (n_atoms, 3) with n_atoms = {len(elements)} elements; "
                          f"got shape {xyz.shape}")
    if density_per_angstrom2 <= 0:
        raise ChargeError(f"ESP grid density must be > 0 points/Å^2, got {density_per_angstrom2}")
    radius_of = mk_radii(elements, radii)
    r_vdw = np.array([radius_of[el] for el in elements])
    kept: list[np.ndarray] = []
    shell_of: list[np.ndarray] = []
    for shell, scale in enumerate(scale_factors):
        r_scaled = scale * r_vdw
        for i in range(len(elements)):
            n = int(density_per_angstrom2 * 4.0 * np.pi * r_scaled[i] ** 2)
            dots = xyz[i] + r_scaled[i] * connolly_sphere_points(n)
            d = np.linalg.norm(dots[:, None, :] - xyz[None, :, :], axis=2)
            inside = d < r_scaled[None, :]
            inside[:, i] = False  # a point lies on its own atom's sphere
            keep = ~inside.any(axis=1)
            kept.append(dots[keep])
            shell_of.append(np.full(int(keep.sum()), shell, dtype=int))
    points = np.concatenate(kept, axis=0) if kept else np.zeros((0, 3))
    if points.shape[0] < len(elements):
        raise ChargeError(f"only {points.shape[0]} ESP points for {len(elements)} atoms: the fit is "
                          "underdetermined; raise density_per_angstrom2")
    return EspGrid(points_angstrom=points, shell_index=np.concatenate(shell_of),
                   scale_factors=tuple(float(s) for s in scale_factors),
                   density_per_angstrom2=float(density_per_angstrom2), radii_angstrom=radius_of)
