"""Evaporation from a film: Gibbs dividing surfaces, the first-passage counter, retained fractions and the rate.

Gibbs dividing surfaces (:func:`dividing_surfaces`), per frame, from the mass profile m(z) along the normal
(bins of width Δz, film area A):
  1. the film centre z_c: the mass-weighted median of the profile (a few vapour molecules cannot move it);
  2. a first thickness h₀ = M / (ρ_max A), ρ_max the largest 5-bin running mean of the density;
  3. the bulk density ρ_b: mean density over |z − z_c| < h₀/4;
  4. the equimolar (Gibbs) thickness h = M_film / (ρ_b A), M_film the mass within h₀/2 + 1 nm of z_c (vapour
     beyond that is left out); the dividing surfaces are z_c ± h/2.

A molecule has evaporated once its centre has been beyond ``distance_nm`` outside the nearer dividing surface,
|z − z_c| − h/2 > distance_nm, in any frame so far (first passage: it is counted once and stays counted whether it
is then held by the wall or comes back). The retained fraction of a residue is 1 − N_evaporated / N.

Rate per unit area: a film has two faces, so rate = N_evaporated(t_end) / (t_end × 2A), reported per ns per nm²;
its standard error is the spread over replicas, s/√n, or, with one replica, the Poisson error √N (and, when
nothing evaporated, the 95 % upper bound 3 / (t × 2A), ln 20 ≈ 3 events).
"""

from __future__ import annotations

import math

import numpy as np

BULK_FRACTION = 0.25
VAPOUR_MARGIN_NM = 1.0
POISSON_UPPER_95_EVENTS = -math.log(0.05)


def dividing_surfaces(profile_amu: np.ndarray, edges_nm: np.ndarray, area_nm2: float) -> tuple[np.ndarray, np.ndarray]:
    """(z_c, h) per frame from ``profile_amu[frame, bin]`` (see the module notes), nm."""
    profile = np.atleast_2d(np.asarray(profile_amu, dtype=float))
    centres = 0.5 * (edges_nm[1:] + edges_nm[:-1])
    width = float(edges_nm[1] - edges_nm[0])
    zc, h = np.empty(len(profile)), np.empty(len(profile))
    for f, m in enumerate(profile):
        total = m.sum()
        cumulative = np.cumsum(m)
        zc[f] = float(np.interp(0.5 * total, cumulative, centres))
        density = m / (width * area_nm2)
        smooth = np.convolve(density, np.ones(5) / 5, mode="same")
        h0 = total / (smooth.max() * area_nm2)
        bulk = np.abs(centres - zc[f]) < BULK_FRACTION * h0
        rho_bulk = density[bulk].mean() if bulk.any() else smooth.max()
        film = np.abs(centres - zc[f]) < 0.5 * h0 + VAPOUR_MARGIN_NM
        h[f] = m[film].sum() / (rho_bulk * area_nm2)
    return zc, h


def evaporated(centre_z_nm: np.ndarray, zc: np.ndarray, h: np.ndarray, distance_nm: float) -> np.ndarray:
    """Boolean [frame, molecule]: evaporated at or before that frame (first passage, module notes)."""
    beyond = np.abs(centre_z_nm - zc[:, None]) - 0.5 * h[:, None] > distance_nm
    return np.logical_or.accumulate(beyond, axis=0)


def rate(counts: list[int], duration_ps: float, area_nm2: float) -> dict:
    """Evaporation rate per ns per nm² of film face over replicas (module notes)."""
    per = [c / (duration_ps / 1000.0) / (2.0 * area_nm2) for c in counts]
    n = len(per)
    if n >= 2:
        stderr, how = float(np.std(per, ddof=1) / math.sqrt(n)), f"spread over {n} replicas"
    else:
        stderr, how = math.sqrt(counts[0]) / (duration_ps / 1000.0) / (2.0 * area_nm2), "Poisson, one replica"
    out = {"value": float(np.mean(per)), "stderr": stderr, "stderr_from": how, "events": int(sum(counts)),
           "replicas": n}
    if sum(counts) == 0:
        out["upper_bound_95"] = POISSON_UPPER_95_EVENTS / (n * duration_ps / 1000.0) / (2.0 * area_nm2)
    return out


def analyse_film(arrays: dict, area_nm2: float, distance_nm: float) -> dict:
    """Retained fraction per residue vs time (mean over replicas), evaporated counts, rates, network intactness."""
    time_ps = np.asarray(arrays["time_ps"], dtype=float)
    residues = np.asarray(arrays["molecule_residue"]).astype(str)
    edges = np.asarray(arrays["profile_edges_nm"], dtype=float)
    n_rep = arrays["centre_z_nm"].shape[0]
    fractions: dict[str, np.ndarray] = {}
    counts: dict[str, list[int]] = {r: [] for r in sorted(set(residues))}
    network_out = []
    for r in range(n_rep):
        zc, h = dividing_surfaces(arrays["profile_amu"][r], edges, area_nm2)
        gone = evaporated(np.asarray(arrays["centre_z_nm"][r], dtype=float), zc, h, distance_nm)
        for residue in counts:
            mask = residues == residue
            counts[residue].append(int(gone[-1, mask].sum()))
            fractions.setdefault(residue, np.zeros(len(time_ps)))
            fractions[residue] += 1.0 - gone[:, mask].sum(axis=1) / mask.sum()
        net = np.asarray(arrays["network_z_nm"][r], dtype=float)
        if net.size:
            network_out.append(int((np.abs(net - zc[:, None]) - 0.5 * h[:, None] > distance_nm).any(axis=0).sum()))
    duration = float(time_ps[-1])
    return {"time_ps": time_ps, "retained_fraction": {k: v / n_rep for k, v in fractions.items()},
            "evaporated": counts, "rate_per_ns_per_nm2": {k: rate(c, duration, area_nm2) for k, c in counts.items()},
            "network_atoms_beyond_distance": network_out if network_out else None,
            "network_intact": (max(network_out) == 0) if network_out else None, "duration_ps": duration}
