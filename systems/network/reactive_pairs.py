"""Which of the candidate pairs of a crosslinking cycle bond.

The candidates come from the chain-growth mechanism (:mod:`systems.network.growth`: active ends adding
unreacted groups, then initiations), closest first. Rules, in this order:

1. at most one new bond per reactive group per selection round (a group that takes part as X cannot also
   take part as Y in the same round); ties broken by atom index, so the choice is deterministic;
2. no small rings: the new bond may not close a ring of fewer than ``min_ring_size`` atoms (bond path
   X..Y in the graph as it will be after the groups open; default 6, so a piperazine from two aziridines
   is allowed but no 3-5 rings);
3. no impossible geometry: the new bond may not pierce a ring (PC/FEC rings, intact aziridine rings) —
   the segment X–Y is tested against each ring triangulated from its centroid; a bond through a ring
   would thread a molecule through another (a catenane) once relaxed;
4. loops (:mod:`systems.network.loops`): no loop of fewer than ``min_loop_units`` monomer units, and no
   bond to the cluster's own periodic image that the closing strand could only make stretched beyond its
   unperturbed size, unless the cluster already percolates that way.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from systems.network.graph import NetworkGraph
from systems.network.growth import Candidate
from systems.network.loops import UnitLattice, atom_path_bonds, refusal
from common.periodic import minimum_image


@dataclass
class SelectionReport:
    candidates_within_cutoff: int = 0
    rejected_small_ring: int = 0
    rejected_ring_piercing: int = 0
    rejected_site_used: int = 0
    rejected_short_loop: int = 0
    rejected_stretched_self_image_loop: int = 0
    closed_loops: int = 0
    closed_self_image_loops: int = 0
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


def select_bonds(graph: NetworkGraph, candidates: list[Candidate], min_ring_size: int = 6,
                 min_loop_units: int = 2, lattice: UnitLattice | None = None,
                 max_initiations: int | None = None) -> tuple[list[Candidate], SelectionReport]:
    """Apply the module rules to ``candidates`` (closest first within each class); return the bonds to form
    this round and the rejection counts. ``lattice`` (the unit quotient graph) is built when not given;
    at most ``max_initiations`` initiation candidates are chosen (the initiators left)."""
    report = SelectionReport(candidates_within_cutoff=len(candidates))
    if not candidates:
        return [], report
    adj = graph.adjacency()
    lattice = lattice or UnitLattice(graph)
    rings = graph.active_rings()
    pos = graph.positions_array()
    ring_xyz = [pos[list(r)] for r in rings]
    ring_centres = np.array([r.mean(axis=0) for r in ring_xyz]) if rings else np.zeros((0, 3))
    used: set[int] = set()
    chosen: list[Candidate] = []
    initiations = 0
    for c in candidates:
        si, sj = graph.sites[c.site_x], graph.sites[c.site_y]
        if c.initiation and max_initiations is not None and initiations >= max_initiations:
            break  # initiation candidates come last: no initiator left for the rest
        if c.site_x in used or c.site_y in used:
            report.rejected_site_used += 1
            continue
        if _closes_small_ring(adj, si, sj, min_ring_size):
            report.rejected_small_ring += 1
            continue
        p0 = pos[si.x]
        p1 = p0 + minimum_image(pos[sj.y] - p0, graph.box)
        if _pierces_any(p0, p1, rings, ring_xyz, ring_centres, graph.box, {si.x, sj.y}):
            report.rejected_ring_piercing += 1
            continue
        closure, percolating = lattice.closure(c.site_x, c.site_y)
        if closure is not None:
            path = atom_path_bonds(adj, si.x, sj.y) if closure.winds else None
            why = refusal(closure, percolating, graph.box, min_loop_units, None if path is None else path + 1)
            if why is not None:
                setattr(report, f"rejected_{why}", getattr(report, f"rejected_{why}") + 1)
                continue
            report.closed_loops += 1
            report.closed_self_image_loops += int(closure.winds)
        used.update((c.site_x, c.site_y))
        chosen.append(c)
        initiations += int(c.initiation)
        # later candidates of this round see this bond (ring-size and loop rules)
        adj.setdefault(si.x, []).append(sj.y)
        adj.setdefault(sj.y, []).append(si.x)
        lattice.add(c.site_x, c.site_y)
    report.selected = len(chosen)
    return chosen, report


def _closes_small_ring(adj: dict[int, list[int]], si, sj, min_ring_size: int) -> bool:
    skip = set()
    for s in (si, sj):
        if not s.reacted and s.opened_bond_order == 0:  # the ring bond of an aziridine opens on reaction
            skip.add((min(s.x, s.y), max(s.x, s.y)))
    return _graph_distance_at_most(adj, si.x, sj.y, min_ring_size - 2, skip)


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
