"""Which reactive pairs bond in one crosslinking cycle.

Rules (in this order):

1. candidates: X of a group whose X is still free, Y of another group whose Y is still free, minimum-image
   distance below the cycle's cutoff;
2. no small rings: the new bond may not close a ring of fewer than ``min_ring_size`` atoms (bond path
   X..Y in the graph as it will be after the groups open; default 6, so a piperazine from two aziridines
   is allowed but no 3-5 rings);
3. no impossible geometry: the new bond may not pierce a ring (PC/FEC rings, intact aziridine rings) —
   the segment X–Y is tested against each ring triangulated from its centroid; a bond through a ring
   would thread a molecule through another (a catenane) once relaxed;
4. pairs that involve an unreacted group first (monomer addition: propagation and initiation; joining two
   chain ends comes after), closest first within each class; at most one new bond per reactive group per cycle (a group that takes part as X cannot
   also take part as Y in the same cycle); ties broken by atom index, so the choice is deterministic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from systems.network.graph import NetworkGraph
from systems.network.periodic import minimum_image


@dataclass(frozen=True)
class Candidate:
    site_x: int
    site_y: int
    distance_nm: float


@dataclass
class SelectionReport:
    candidates_within_cutoff: int = 0
    rejected_small_ring: int = 0
    rejected_ring_piercing: int = 0
    rejected_site_used: int = 0
    selected: int = 0


def _graph_distance_at_most(adj: dict[int, list[int]], start: int, goal: int, limit: int,
                            skip: set[tuple[int, int]]) -> bool:
    """True if ``goal`` is within ``limit`` bonds of ``start`` (bonds in ``skip`` ignored)."""
    if start == goal:
        return True
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        a, d = queue.popleft()
        if d == limit:
            continue
        for b in adj.get(a, ()):
            if (min(a, b), max(a, b)) in skip or b in seen:
                continue
            if b == goal:
                return True
            seen.add(b)
            queue.append((b, d + 1))
    return False


def segment_pierces_ring(p0: np.ndarray, p1: np.ndarray, ring_xyz: np.ndarray) -> bool:
    """True if the segment p0-p1 crosses the polygon ``ring_xyz`` (fan of triangles from the centroid)."""
    centre = ring_xyz.mean(axis=0)
    d = p1 - p0
    n = len(ring_xyz)
    for k in range(n):
        a, b = ring_xyz[k], ring_xyz[(k + 1) % n]
        # Moller-Trumbore segment/triangle (centre, a, b)
        e1, e2 = a - centre, b - centre
        h = np.cross(d, e2)
        det = np.dot(e1, h)
        if abs(det) < 1e-12:
            continue
        f = 1.0 / det
        s = p0 - centre
        u = f * np.dot(s, h)
        if u < 0 or u > 1:
            continue
        q = np.cross(s, e1)
        v = f * np.dot(d, q)
        if v < 0 or u + v > 1:
            continue
        t = f * np.dot(e2, q)
        if 0 < t < 1:
            return True
    return False


def find_candidates(graph: NetworkGraph, cutoff_nm: float) -> list[Candidate]:
    """All free X / free Y pairs of different groups within ``cutoff_nm``, closest first."""
    xs = [k for k, s in enumerate(graph.sites) if s.x_partner is None]
    ys = [k for k, s in enumerate(graph.sites) if s.y_partner is None]
    if not xs or not ys:
        return []
    pos = graph.positions_array()
    px = pos[[graph.sites[k].x for k in xs]]
    py = pos[[graph.sites[k].y for k in ys]]
    diff = minimum_image(py[None, :, :] - px[:, None, :], graph.box)
    dist = np.linalg.norm(diff, axis=2)
    out = []
    for a, b in zip(*np.nonzero(dist < cutoff_nm)):
        i, j = xs[a], ys[b]
        if i != j:
            out.append(Candidate(i, j, float(dist[a, b])))
    reacted = [s.reacted for s in graph.sites]
    out.sort(key=lambda c: (reacted[c.site_x] and reacted[c.site_y], round(c.distance_nm, 6),
                            graph.sites[c.site_x].x, graph.sites[c.site_y].y))
    return out


def select_bonds(graph: NetworkGraph, cutoff_nm: float, min_ring_size: int = 6) -> tuple[list[Candidate], SelectionReport]:
    """Apply the module rules; return the bonds to form this cycle (closest first) and the rejection counts."""
    report = SelectionReport()
    candidates = find_candidates(graph, cutoff_nm)
    report.candidates_within_cutoff = len(candidates)
    if not candidates:
        return [], report
    adj = graph.adjacency()
    pos = graph.positions_array()
    rings = graph.active_rings()
    ring_xyz = [pos[list(r)] for r in rings]
    ring_centres = np.array([r.mean(axis=0) for r in ring_xyz]) if rings else np.zeros((0, 3))
    used: set[int] = set()
    chosen: list[Candidate] = []
    for c in candidates:
        si, sj = graph.sites[c.site_x], graph.sites[c.site_y]
        if c.site_x in used or c.site_y in used:
            report.rejected_site_used += 1
            continue
        skip = set()
        for s in (si, sj):
            if not s.reacted and s.opened_bond_order == 0:
                skip.add((min(s.x, s.y), max(s.x, s.y)))
        if _graph_distance_at_most(adj, si.x, sj.y, min_ring_size - 2, skip):
            report.rejected_small_ring += 1
            continue
        p0 = pos[si.x]
        p1 = p0 + minimum_image(pos[sj.y] - p0, graph.box)
        if _pierces_any(p0, p1, rings, ring_xyz, ring_centres, graph.box, {si.x, sj.y}):
            report.rejected_ring_piercing += 1
            continue
        used.update((c.site_x, c.site_y))
        chosen.append(c)
        # later candidates of this cycle see this bond (ring-size rule)
        adj.setdefault(si.x, []).append(sj.y)
        adj.setdefault(sj.y, []).append(si.x)
    report.selected = len(chosen)
    return chosen, report


def _pierces_any(p0, p1, rings, ring_xyz, centres, box, own: set[int]) -> bool:
    if not rings:
        return False
    mid = 0.5 * (p0 + p1)
    half = 0.5 * np.linalg.norm(p1 - p0) + 0.35
    shift = minimum_image(centres - mid, box)
    near = np.nonzero(np.linalg.norm(shift, axis=1) < half)[0]
    for k in near:
        if own & set(rings[k]):
            continue
        xyz = ring_xyz[k]
        # bring the ring next to the segment (ring atoms are contiguous, shift by its centre's image)
        offset = (mid + shift[k]) - centres[k]
        if segment_pierces_ring(p0, p1, xyz + offset):
            return True
    return False
