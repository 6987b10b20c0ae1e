"""Analysis of Na | electrolyte | Na cells: profiles along z, the first layer at the metal, Na+ lateral homogeneity.

All lengths in nm, densities in atoms per nm^3, charges in e, potentials in V. Pure functions (tested on
synthetic data with known answers in tests/test_interface_analysis.py) and :func:`main`, which reads the
files the interface run writes (topology PDB, DCD, electrode charges CSV, run JSON).

- **Number-density profiles** n(z) = <N in slab [z, z+dz)> / (A dz) per atom class and per residue
  (residue centre of geometry).
- **Gibbs dividing surface** of a metal face: the plane where a step profile of the bulk metal density
  rho_b holds as many atoms as the real profile, z_G = z_0 + (integral of n from z_0 outward) / rho_b, with
  z_0 a plane inside the bulk of the slab (the slab's centre).
- **First layer**: electrolyte heavy atoms from the Gibbs surface to the first minimum of their density
  after its first maximum; composition = fraction of each atom class among the heavy atoms there; enrichment
  = that fraction over the class's fraction in the central third of the electrolyte.
- **Na+ lateral homogeneity index**: Na+ positions (x, y) in the first layer of both faces, binned on an
  n x n grid and summed over a block of frames; CV = std/mean of the bin counts. The random reference is the
  CV of the same counts per frame placed uniformly at random. Index = CV / CV_random (1: as even as random;
  > 1: clustered, "hot spots"; < 1: more even than random, ordered). Errors: standard error over blocks.
- **Potential profile**: 1D Poisson equation of the laterally averaged charge density (fixed charges and the
  electrodes' mean charges), phi(z) = -(1/eps0) double integral of rho, the field's mean set to zero (the cell
  is periodic and neutral).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.constants import ELEMENTARY_CHARGE_C
from common.errors import AnalysisError

VACUUM_PERMITTIVITY_F_PER_M = 8.8541878128e-12
"""epsilon_0, F/m (CODATA 2018)."""


def density_profile(z_frames: Sequence[np.ndarray], area_nm2: float, edges_nm: np.ndarray) -> np.ndarray:
    """Mean number density (nm^-3) in each z bin over the frames; ``z_frames`` one array of heights per frame."""
    if len(z_frames) == 0:
        raise AnalysisError("density_profile: no frames")
    counts = np.zeros(len(edges_nm) - 1)
    for z in z_frames:
        counts += np.histogram(z, bins=edges_nm)[0]
    return counts / len(z_frames) / (area_nm2 * np.diff(edges_nm))


def gibbs_dividing_surface(centres_nm: np.ndarray, density: np.ndarray, bulk_density: float, z_inside_nm: float,
                           outward: int = +1) -> float:
    """Gibbs dividing surface of a slab face: from ``z_inside`` (inside the slab's bulk) going ``outward``
    (+1: towards larger z), the plane at which a step of ``bulk_density`` holds the profile's atoms."""
    if bulk_density <= 0:
        raise AnalysisError(f"gibbs_dividing_surface: bulk density {bulk_density!r} must be positive")
    width = np.gradient(centres_nm)
    side = (centres_nm - z_inside_nm) * outward > 0
    held = float(np.sum(density[side] * width[side]))
    return z_inside_nm + outward * held / bulk_density


def first_layer_end(distance_nm: np.ndarray, density: np.ndarray, smooth_bins: int = 3) -> float:
    """Distance of the first minimum after the first maximum of a (lightly smoothed) profile from a wall."""
    kernel = np.ones(smooth_bins) / smooth_bins
    smooth = np.convolve(density, kernel, mode="same") if smooth_bins > 1 else density
    peak = int(np.argmax(smooth > 0.5 * smooth.max()))
    while peak + 1 < len(smooth) and smooth[peak + 1] >= smooth[peak]:
        peak += 1
    low = peak
    while low + 1 < len(smooth) and smooth[low + 1] <= smooth[low]:
        low += 1
    if low == len(smooth) - 1:
        raise AnalysisError("first_layer_end: the profile has no minimum after its first maximum")
    return float(distance_nm[low])


def composition(layer_counts: dict[str, float], bulk_counts: dict[str, float]) -> tuple[dict, dict]:
    """Fractions of each class in the layer, and enrichment = layer fraction / bulk fraction (None if absent)."""
    n_layer = sum(layer_counts.values())
    n_bulk = sum(bulk_counts.values())
    if n_layer <= 0 or n_bulk <= 0:
        raise AnalysisError(f"composition: empty layer ({n_layer}) or bulk ({n_bulk}) counts")
    classes = sorted(set(layer_counts) | set(bulk_counts))
    fractions = {c: layer_counts.get(c, 0.0) / n_layer for c in classes}
    enrichment = {c: (fractions[c] / (bulk_counts[c] / n_bulk) if bulk_counts.get(c, 0.0) > 0 else None)
                  for c in classes}
    return fractions, enrichment


def _cv(counts: np.ndarray) -> float:
    mean = counts.mean()
    return float(counts.std() / mean) if mean > 0 else float("nan")


@dataclass(frozen=True)
class Homogeneity:
    value: float
    stderr: float
    cv: float
    cv_stderr: float
    random_cv: float
    random_cv_stderr: float
    n_blocks: int
    mean_ions_per_frame: float


def homogeneity_index(xy_frames: Sequence[np.ndarray], box_xy_nm: tuple[float, float], n_bins: int, n_blocks: int,
                      seed: int = 0, n_random: int = 20) -> Homogeneity:
    """CV of the binned 2D density of ``xy_frames`` (positions per frame) against a random arrangement."""
    frames = [np.asarray(xy, dtype=float).reshape(-1, 2) for xy in xy_frames]
    if len(frames) < n_blocks or n_blocks < 2:
        raise AnalysisError(f"homogeneity_index: {len(frames)} frames for {n_blocks} blocks (need >= 2 blocks and a "
                            "frame per block)")
    if sum(len(f) for f in frames) == 0:
        raise AnalysisError("homogeneity_index: no ions in the layer in any frame")
    edges = [np.linspace(0.0, box_xy_nm[k], n_bins + 1) for k in range(2)]
    rng = np.random.default_rng(seed)
    blocks = np.array_split(np.arange(len(frames)), n_blocks)
    cvs, randoms = [], []
    for block in blocks:
        counts = np.zeros((n_bins, n_bins))
        for i in block:
            wrapped = np.mod(frames[i], box_xy_nm)
            counts += np.histogram2d(wrapped[:, 0], wrapped[:, 1], bins=edges)[0]
        cvs.append(_cv(counts))
        block_random = []
        for _ in range(n_random):
            random_counts = np.zeros((n_bins, n_bins))
            for i in block:
                xy = rng.random((len(frames[i]), 2)) * box_xy_nm
                random_counts += np.histogram2d(xy[:, 0], xy[:, 1], bins=edges)[0]
            block_random.append(_cv(random_counts))
        randoms.append(float(np.mean(block_random)))
    cvs, randoms = np.array(cvs), np.array(randoms)
    ratios = cvs / randoms
    sem = lambda x: float(x.std(ddof=1) / np.sqrt(len(x)))  # noqa: E731
    return Homogeneity(value=float(ratios.mean()), stderr=sem(ratios), cv=float(cvs.mean()), cv_stderr=sem(cvs),
                       random_cv=float(randoms.mean()), random_cv_stderr=sem(randoms), n_blocks=n_blocks,
                       mean_ions_per_frame=float(np.mean([len(f) for f in frames])))


def potential_profile_V(edges_nm: np.ndarray, charge_per_bin_e: np.ndarray, area_nm2: float) -> np.ndarray:
    """Electric potential (V) at the bin centres from the laterally averaged charge (e per bin), periodic cell.

    d2phi/dz2 = -rho/eps0; E(z) = (1/eps0) * cumulative charge per area, shifted so that <E> = 0 (a periodic,
    neutral cell has no net field), phi = -integral E dz, phi(first bin) = 0.
    """
    width = np.diff(edges_nm)
    sigma = np.cumsum(charge_per_bin_e) * ELEMENTARY_CHARGE_C / (area_nm2 * 1e-18)  # C/m^2 below each bin's top
    field = sigma / VACUUM_PERMITTIVITY_F_PER_M  # V/m at the bin tops
    field = field - np.sum(field * width) / np.sum(width)
    phi_tops = -np.cumsum(field * width * 1e-9)
    centres = 0.5 * (edges_nm[1:] + edges_nm[:-1])
    tops = edges_nm[1:]
    phi = np.interp(centres, tops, phi_tops)
    return phi - phi[0]
