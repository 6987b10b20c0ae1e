"""Na⁺ solvation structure: radial distribution functions, coordination numbers and ion pairing.

Site groups (found from chemistry, not atom names)
--------------------------------------------------
The centres are the Na atoms of cation species (formal charge > 0). Around them, for every other
species (residue name) ``RES``, atoms are grouped by element and bonding in the topology:

``RES:O_carbonyl``  O whose only bonded neighbour is a C (the C=O oxygen of PC, FEC, esters, acrylates)
``RES:O_ether``     O with two bonded neighbours (ring/ether/ester O)
``RES:O_other``     any other O (e.g. with no bonds in the topology: then the split cannot be made)
``RES:N``, ``RES:F`` all N (e.g. the tertiary amine of a PBMP network), all F (PF6⁻ F, FEC F)
``RES:COM``         centre of mass of each molecule of an anion species (for PF6⁻ it is the P atom)

Polymer residues (residue names of the network's monomer units) are groups like any other species.

RDF and coordination number
---------------------------
g(r) = ⟨n(r, r+dr)⟩ / (N_Na ρ 4π r² dr) with ρ = N_group / ⟨V⟩, averaged over sampled frames (at most
``max_frames``, evenly strided), bins of ``bin_nm`` (0.005 nm) up to ``r_max_nm`` (1.2 nm, capped at half
the smallest perpendicular box width). Distances use the minimum image through fractional coordinates
(exact for r below half the smallest perpendicular width in OpenMM's reduced triclinic boxes); in
rectangular boxes pairs within ``r_max`` are found with periodic k-d trees (``scipy.spatial.cKDTree``
with ``boxsize``), in triclinic ones by brute force (``method="brute"`` forces it everywhere). The
running coordination number n(r) is the mean number of group sites within r of a Na⁺, counted directly.

First minimum (:func:`first_minimum`): g is smoothed by a 5-bin (0.025 nm) moving average; after its
highest peak, the first point that is the minimum of the smoothed curve within ±0.05 nm is the first
minimum. The coordination number of the first shell is n(r_min). No shell — a smoothed peak below 1.5,
a "minimum" above 0.8 × the peak (structureless g), or fewer than 50 (frame, Na⁺, site) pairs inside
the shell (a "peak" made of a handful of counts in tiny inner shells) — gives null, never a number read
off noise.

Ion pairing
-----------
The cutoff is the first minimum of the Na–anion-COM RDF (Na–P for PF6⁻), pooled over anion species. For
each sampled frame and Na⁺, the anions with their centre within the cutoff are counted: SSIP
(solvent-separated ion pair / free, 0 anions), CIP (contact ion pair, exactly 1), AGG (aggregate, ≥ 2).
Fractions are over all (frame, Na⁺) pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from analysis.topology import MolecularSystem
from analysis.trajectory import ChunkAnalysis, FrameChunk, UnwrappedTrajectory, perpendicular_widths
from common.errors import AnalysisError

NEAREST_ANIONS_KEPT = 3
MIN_SHELL_PEAK_G = 1.5      # a first shell needs a smoothed g(r) peak at least this high …
MAX_MIN_TO_PEAK = 0.8       # … and a first minimum at most this fraction of the peak
MIN_SHELL_COUNTS = 50       # … and at least this many (frame, Na, site) pairs inside it


@dataclass(frozen=True)
class SiteGroup:
    """Sites around Na⁺: atom indices, or (``com``) molecule indices whose centres of mass are the sites."""

    name: str
    species: str
    kind: str
    indices: np.ndarray
    com: bool = False

    @property
    def n_sites(self) -> int:
        return int(self.indices.size)


def sodium_atoms(system: MolecularSystem) -> np.ndarray:
    """Indices of Na atoms that belong to cation species (formal charge > 0)."""
    cations = {name for name, sp in system.species.items() if sp.charge_formal_e > 0}
    return np.array([i for i, (el, res) in enumerate(zip(system.elements, system.molecule_of_atom))
                     if el == "Na" and system.residue_names[res] in cations], dtype=np.int64)


def classify_oxygen(atom: int, elements: list[str], neighbours: list[list[int]]) -> str:
    """``O_carbonyl`` (only neighbour a C), ``O_ether`` (two neighbours) or ``O_other``."""
    nb = neighbours[atom]
    if len(nb) == 1 and elements[nb[0]] == "C":
        return "O_carbonyl"
    if len(nb) == 2:
        return "O_ether"
    return "O_other"


def site_groups(system: MolecularSystem) -> list[SiteGroup]:
    """All site groups around Na⁺ (see module docstring), in species order."""
    na = set(sodium_atoms(system).tolist())
    neighbours = system.neighbours()
    groups: list[SiteGroup] = []
    for name, sp in system.species.items():
        atoms = np.concatenate([system.molecule_atoms[m] for m in sp.molecule_indices])
        kinds: dict[str, list[int]] = {}
        for a in atoms.tolist():
            if a in na:
                continue
            el = system.elements[a]
            if el == "O":
                kinds.setdefault(classify_oxygen(a, system.elements, neighbours), []).append(a)
            elif el in ("N", "F"):
                kinds.setdefault(el, []).append(a)
        for kind in ("O_carbonyl", "O_ether", "O_other", "N", "F"):
            if kind in kinds:
                groups.append(SiteGroup(f"{name}:{kind}", name, kind, np.array(kinds[kind], dtype=np.int64)))
        if sp.charge_formal_e < 0:
            groups.append(SiteGroup(f"{name}:COM", name, "COM", sp.molecule_indices.copy(), com=True))
    return groups


def _minimum_image_single(d: np.ndarray, box: np.ndarray) -> np.ndarray:
    if np.all(box[[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]] == 0.0):
        lengths = np.diag(box)
        return d - lengths * np.round(d / lengths)
    frac = d @ np.linalg.inv(box)
    return d - np.round(frac) @ box


def _pairs_within_brute(centres: np.ndarray, sites: np.ndarray, box: np.ndarray,
                        r_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre index, site index, distance nm) of all minimum-image pairs closer than ``r_max``; any box."""
    d = _minimum_image_single(sites[None, :, :] - centres[:, None, :], box)
    r = np.sqrt(np.einsum("abk,abk->ab", d, d))
    a, b = np.nonzero(r < r_max)
    return a, b, r[a, b]


def _pairs_within_orthorhombic(centres: np.ndarray, sites: np.ndarray, lengths: np.ndarray,
                               r_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same as :func:`_pairs_within_brute` for a rectangular box, with periodic k-d trees (O(N log N))."""
    from scipy.spatial import cKDTree

    def wrap(x):
        w = np.mod(x, lengths)
        return np.where(w >= lengths, 0.0, w)

    trees = cKDTree(wrap(centres), boxsize=lengths), cKDTree(wrap(sites), boxsize=lengths)
    pairs = trees[0].sparse_distance_matrix(trees[1], r_max, output_type="ndarray")
    keep = pairs["v"] < r_max
    return pairs["i"][keep].astype(np.int64), pairs["j"][keep].astype(np.int64), pairs["v"][keep]


def _nearest_per_centre(n_centres: int, centre: np.ndarray, site: np.ndarray, r: np.ndarray, first_anion: int,
                        k: int) -> np.ndarray:
    """(n_centres, k) sorted distances to the k nearest anion sites (index ≥ ``first_anion``) within reach; inf pads."""
    sel = site >= first_anion
    c, d = centre[sel], r[sel]
    order = np.lexsort((d, c))
    c, d = c[order], d[order]
    out = np.full((n_centres, k), np.inf)
    if c.size:
        start = np.searchsorted(c, np.arange(n_centres))
        rank = np.arange(c.size) - start[c]
        ok = rank < k
        out[c[ok], rank[ok]] = d[ok]
    return out


def _smooth(g: np.ndarray, width: int = 5) -> np.ndarray:
    kernel = np.ones(width) / width
    return np.convolve(np.pad(g, width // 2, mode="edge"), kernel, mode="valid")


def first_minimum(r_nm: np.ndarray, g: np.ndarray, half_window_nm: float = 0.05,
                  counts: np.ndarray | None = None) -> float | None:
    """r (nm) of the first minimum of g after its highest peak (module docstring rule), or None.

    None also when there is no shell to speak of: the smoothed peak is below ``MIN_SHELL_PEAK_G`` or the
    minimum is not below ``MAX_MIN_TO_PEAK`` × the peak (a structureless, ideal-gas-like g), or — when
    the histogram ``counts`` are given — fewer than ``MIN_SHELL_COUNTS`` pairs fall inside the shell.
    """
    g = np.asarray(g, float)
    if g.size < 5 or not np.any(g > 0):
        return None
    s = _smooth(g)
    peak = int(np.argmax(s))
    if s[peak] < MIN_SHELL_PEAK_G:
        return None
    dr = float(r_nm[1] - r_nm[0])
    w = max(1, int(round(half_window_nm / dr)))
    for i in range(peak + 1, s.size - w):
        lo, hi = max(0, i - w), i + w + 1
        if s[i] <= s[lo:hi].min() and s[i] < s[peak]:
            if s[i] > MAX_MIN_TO_PEAK * s[peak]:
                return None
            if counts is not None and np.sum(counts[:i + 1]) < MIN_SHELL_COUNTS:
                return None
            return float(r_nm[i])
    return None


class Solvation(ChunkAnalysis):
    """Na⁺ RDFs, coordination numbers and ion-pair fractions (see module docstring).

    ``results`` after :meth:`run`: ``r_nm`` (bin centres), ``groups`` {name: {"g": (n_bins,), "n": (n_bins,)
    running coordination number, "first_minimum_nm", "coordination_number", "n_sites", "species",
    "kind"}}, ``ion_pairs`` {"cutoff_nm", "SSIP", "CIP", "AGG", "mean_anions_per_Na"} (None without
    anions), ``n_frames_used``, ``n_sodium``, ``r_max_nm``, ``bin_nm``.
    """

    def __init__(self, trajectory: UnwrappedTrajectory, system: MolecularSystem, r_max_nm: float = 1.2,
                 bin_nm: float = 0.005, max_frames: int = 500, method: str = "auto"):
        super().__init__(trajectory)
        if system.n_atoms != trajectory.n_atoms:
            raise AnalysisError(f"the topology has {system.n_atoms} atoms but the trajectory {trajectory.n_atoms}")
        self.system = system
        self.sodium = sodium_atoms(system)
        if self.sodium.size == 0:
            raise AnalysisError("no Na atoms in a cation species (residue with positive formal charge) were found; "
                                f"species present: {sorted(system.species)}")
        self.groups = site_groups(system)
        if not (bin_nm > 0 and r_max_nm > bin_nm):
            raise AnalysisError(f"RDF needs 0 < bin ({bin_nm} nm) < r_max ({r_max_nm} nm)")
        self.r_max_nm, self.bin_nm = float(r_max_nm), float(bin_nm)
        self.stride = max(1, math.ceil(trajectory.n_frames / max(1, int(max_frames))))
        self.anion_groups = [g for g in self.groups if g.com]
        mols = np.concatenate([g.indices for g in self.anion_groups]) if self.anion_groups else np.zeros(0, int)
        self._anion_molecules = mols
        # one site array per frame: atom groups first, then anion centres (in anion_groups order)
        atom_groups = [g for g in self.groups if not g.com]
        self._atom_sites = (np.concatenate([g.indices for g in atom_groups]) if atom_groups
                            else np.zeros(0, np.int64))
        offsets, start = {}, 0
        for g in atom_groups + self.anion_groups:
            offsets[g.name] = slice(start, start + g.n_sites)
            start += g.n_sites
        self._slices = [offsets[g.name] for g in self.groups]
        self._group_of_site = np.empty(start, dtype=np.int64)
        for k, sl in enumerate(self._slices):
            self._group_of_site[sl] = k
        if method not in ("auto", "brute"):
            raise AnalysisError(f"solvation method {method!r} is not known; allowed: 'auto', 'brute'")
        self.method = method
        if mols.size:
            rows, cols, w = [], [], []
            for k, m in enumerate(mols.tolist()):
                atoms = system.molecule_atoms[m]
                rows += [k] * atoms.size
                cols += atoms.tolist()
                w += (system.masses_amu[atoms] / system.molecule_mass_amu[m]).tolist()
            self._com_weights = scipy.sparse.csr_matrix((w, (rows, cols)), shape=(mols.size, system.n_atoms))

    def _prepare(self) -> None:
        self._hist: dict[str, np.ndarray] = {}
        self._volume_sum = 0.0
        self._frames = 0
        self._min_width = np.inf
        self._nearest: list[np.ndarray] = []
        self._n_bins = int(round(self.r_max_nm / self.bin_nm))
        self._edges = np.arange(self._n_bins + 1) * self.bin_nm
        for g in self.groups:
            self._hist[g.name] = np.zeros(self._n_bins)

    def _process(self, chunk: FrameChunk) -> None:
        for i in range(chunk.n_frames):
            if (chunk.start + i) % self.stride:
                continue
            pos, box = chunk.positions[i], chunk.boxes[i]
            self._min_width = min(self._min_width, float(perpendicular_widths(box).min()))
            na = pos[self.sodium]
            anion_centres = self._com_weights @ pos if self._anion_molecules.size else None
            sites = pos[self._atom_sites]
            if anion_centres is not None:
                sites = np.concatenate([sites, anion_centres])
            orthorhombic = np.all(box[[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]] == 0.0)
            if orthorhombic and self.method == "auto":
                na_idx, site_idx, r = _pairs_within_orthorhombic(na, sites, np.diag(box).copy(), self.r_max_nm)
            else:
                na_idx, site_idx, r = _pairs_within_brute(na, sites, box, self.r_max_nm)
            bins = np.minimum((r * (1.0 / self.bin_nm)).astype(np.int64), self._n_bins - 1)
            flat = self._group_of_site[site_idx] * self._n_bins + bins
            counts = np.bincount(flat, minlength=len(self.groups) * self._n_bins).reshape(len(self.groups), -1)
            for g, c in zip(self.groups, counts):
                self._hist[g.name] += c
            if anion_centres is not None:
                self._nearest.append(_nearest_per_centre(na.shape[0], na_idx, site_idx, r,
                                                         self._atom_sites.size, NEAREST_ANIONS_KEPT))
            self._volume_sum += abs(float(np.linalg.det(box)))
            self._frames += 1

    def _conclude(self) -> None:
        if self._frames == 0:
            raise AnalysisError("no frames were sampled for the solvation analysis")
        r_max = min(self.r_max_nm, 0.5 * self._min_width)
        n_bins = int(math.floor(r_max / self.bin_nm + 1e-9))
        edges = self._edges[:n_bins + 1]
        r = 0.5 * (edges[1:] + edges[:-1])
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        volume = self._volume_sum / self._frames
        n_na = self.sodium.size
        groups = {}
        for g in self.groups:
            h = self._hist[g.name][:n_bins]
            rho = g.n_sites / volume
            gr = h / (self._frames * n_na * rho * shell)
            running = np.cumsum(h) / (self._frames * n_na)
            rmin = first_minimum(r, gr, counts=h)
            cn = None if rmin is None else float(running[int(round(rmin / self.bin_nm - 0.5))])
            groups[g.name] = {"species": g.species, "kind": g.kind, "n_sites": g.n_sites, "g": gr, "n": running,
                              "first_minimum_nm": rmin, "coordination_number": cn}
        ion_pairs = None
        if self.anion_groups:
            total = sum(self._hist[g.name][:n_bins] for g in self.anion_groups)
            n_sites = sum(g.n_sites for g in self.anion_groups)
            g_pool = total / (self._frames * n_na * (n_sites / volume) * shell)
            cutoff = first_minimum(r, g_pool, counts=total)
            ion_pairs = {"cutoff_nm": cutoff, "cutoff_rule": "first minimum of the Na-anion(centre of mass) RDF",
                         "classification": "cation-centred: fraction of (frame, Na+) with 0 (SSIP), 1 (CIP) or "
                                           ">= 2 (AGG) anions within the cutoff; anion-centred schemes, which "
                                           "count Na+ around each anion, can call a shared anion AGG where this "
                                           "says CIP",
                         "note": None if cutoff is not None else
                         "no Na-anion first shell in the RDF (structureless g(r)): ion-pair fractions undefined",
                         "anion_species": [g.species for g in self.anion_groups],
                         "SSIP": None, "CIP": None, "AGG": None, "mean_anions_per_Na": None}
            if cutoff is not None:
                nearest = np.concatenate(self._nearest, axis=0)          # (frames·n_Na, k)
                counts = (nearest < cutoff).sum(axis=1)
                ion_pairs.update(SSIP=float(np.mean(counts == 0)), CIP=float(np.mean(counts == 1)),
                                 AGG=float(np.mean(counts >= 2)),
                                 mean_anions_per_Na=float(total[:int(round(cutoff / self.bin_nm - 0.5)) + 1].sum()
                                                          / (self._frames * n_na)))
        self.results = {"r_nm": r, "groups": groups, "ion_pairs": ion_pairs, "n_frames_used": self._frames,
                        "frame_stride": self.stride, "n_sodium": int(n_na), "r_max_nm": float(r_max),
                        "bin_nm": self.bin_nm, "mean_volume_nm3": volume}
