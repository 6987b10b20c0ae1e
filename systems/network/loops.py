"""Which loop a new network bond would close, and whether the build allows it.

The network is a periodic graph of monomer units (the quotient graph of the infinite network): each
network bond joins unit A in the reference cell to unit B in the cell shifted by an integer vector n,
read off the current coordinates (:func:`bond_shift`). A new bond between two units of one cluster closes a
loop whose winding vector is w = n_new - n_path (n_path: the cell of B reached along the existing bonds
from A). Two rules limit loops (issue 8: small boxes made "gels" of dimers bonded to their own image):

1. **Short loops**: no loop of fewer than ``min_loop_units`` monomer units (1 would allow a unit bonded to
   itself, intramolecular cyclisation; 2 a pair of units joined twice).
2. **Self-image loops**: a loop with w != 0 bonds a cluster to its own periodic image (it then percolates
   along w). It is allowed when the cluster already percolates along every axis of w, or when the strand
   that closes it could span the distance |w . L| without being stretched beyond its unperturbed size: a
   Gaussian strand of contour length l_c = n_bonds x b_0 (b_0 = 0.154 nm, the C-C bond) and Kuhn length
   b_K has an RMS end-to-end distance sqrt(l_c b_K), and the loop is refused if |w . L| exceeds it. A
   dimer stretched across a 2.7 nm box (l_c ~ 5 nm, sqrt(l_c b_K) ~ 2.7 nm at most) is refused; a strand of
   several units is not.

b_K = 1.5 nm: Kuhn lengths of vinyl polymers with ester side groups and of polyethers lie between
1.1 nm (poly(ethylene oxide)) and 1.7 nm (poly(methyl methacrylate)) (Rubinstein & Colby, Polymer Physics,
2003, Table 2.1); both our backbones (polyacrylate; poly(aziridine), an N-substituted polyamine) are taken
at 1.5 nm.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from systems.network.graph import NetworkGraph
from common.periodic import AXES, minimum_image, walk_bonded_clusters

KUHN_LENGTH_NM = 1.5
BACKBONE_BOND_NM = 0.154


@dataclass(frozen=True)
class LoopClosure:
    """The loop a candidate bond would close: its size in units and bonds, and its winding vector."""

    units: int
    winding: tuple[int, int, int]
    path_bonds: int | None = None  # bonds along the shortest atom path X..Y (only computed for winding loops)

    @property
    def winds(self) -> bool:
        return any(self.winding)


def unit_whole_positions(graph: NetworkGraph) -> tuple[dict[int, int], dict[int, np.ndarray]]:
    """Owner unit of every present polymer atom, and its position with each unit made whole.

    Each monomer unit is walked along its own bonds (network bonds to other units left out) from its lowest
    atom with minimum-image bond vectors (:func:`common.periodic.walk_bonded_clusters`), so a unit is
    whole whatever its size relative to the box.
    """
    owner = {a: r.monomer for r in graph.residues if r.monomer is not None for a in r.atoms if graph.present[a]}
    inside: dict[int, list[int]] = {}
    for a, b in graph.bonds:
        if a in owner and b in owner and owner[a] == owner[b]:
            inside.setdefault(a, []).append(b)
            inside.setdefault(b, []).append(a)
    whole, _ = walk_bonded_clusters(graph.positions, graph.box, inside, owner)
    return owner, whole


def bond_shift(graph: NetworkGraph, whole: dict[int, np.ndarray], atom_a: int, atom_b: int) -> tuple[int, int, int]:
    """Cell (integer box vector) of the image of atom B's unit that atom A bonds to, relative to A's unit.

    ``whole``: positions with every unit made whole (:func:`unit_whole_positions`); the bond vector is the
    minimum image of the atom difference (bonds are far shorter than half the box).
    """
    box = graph.box
    b_bonded = whole[atom_a] + minimum_image(graph.positions[atom_b] - graph.positions[atom_a], box)
    return tuple(int(v) for v in np.round((b_bonded - whole[atom_b]) / box))


class UnitLattice:
    """The quotient graph of the monomer units with the cell shift of every network bond."""

    def __init__(self, graph: NetworkGraph):
        self.graph = graph
        self.owner, self.whole = unit_whole_positions(graph)
        self.edges: dict[int, list[tuple[int, np.ndarray]]] = {m: [] for m in range(len(graph.monomer_models))}
        for i, j in graph.network_bonds:
            self.add(i, j)

    def shift_of(self, site_x: int, site_y: int) -> tuple[int, int, int]:
        return bond_shift(self.graph, self.whole, self.graph.sites[site_x].x, self.graph.sites[site_y].y)

    def add(self, site_x: int, site_y: int) -> None:
        """Add the network bond X(site_x)-Y(site_y) (formed, or chosen earlier in this cycle)."""
        a, b = self.graph.sites[site_x].monomer, self.graph.sites[site_y].monomer
        n = np.array(self.shift_of(site_x, site_y))
        self.edges[a].append((b, n))
        self.edges[b].append((a, -n))

    def _walk(self, start: int) -> tuple[dict[int, np.ndarray], dict[int, int], set[str]]:
        """Cell offsets and path lengths (units) of the cluster of ``start``; the axes it percolates along."""
        offset = {start: np.zeros(3, dtype=int)}
        depth = {start: 0}
        axes: set[str] = set()
        queue = deque([start])
        while queue:
            a = queue.popleft()
            for b, n in self.edges[a]:
                target = offset[a] + n
                if b not in offset:
                    offset[b], depth[b] = target, depth[a] + 1
                    queue.append(b)
                else:
                    axes.update(AXES[k] for k in range(3) if target[k] != offset[b][k])
        return offset, depth, axes

    def closure(self, site_x: int, site_y: int) -> tuple[LoopClosure | None, set[str]]:
        """The loop the bond X(site_x)-Y(site_y) would close (None: it joins two clusters) and the axes the
        cluster already percolates along."""
        a, b = self.graph.sites[site_x].monomer, self.graph.sites[site_y].monomer
        offset, depth, axes = self._walk(a)
        if b not in offset:
            return None, axes
        winding = tuple(int(v) for v in np.array(self.shift_of(site_x, site_y)) - offset[b])
        return LoopClosure(units=depth[b] + 1, winding=winding), axes


def atom_path_bonds(adjacency: dict[int, list[int]], start: int, goal: int) -> int | None:
    """Bonds along the shortest path from ``start`` to ``goal`` (None if not connected)."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        a = queue.popleft()
        if a == goal:
            return seen[a]
        for b in adjacency.get(a, ()):
            if b not in seen:
                seen[b] = seen[a] + 1
                queue.append(b)
    return None


def refusal(closure: LoopClosure, percolating_axes: set[str], box_nm: np.ndarray, min_loop_units: int,
            path_bonds: int | None) -> str | None:
    """Why the loop is refused ("short_loop", "stretched_self_image_loop"), or None if it is allowed."""
    if closure.units < min_loop_units:
        return "short_loop"
    if not closure.winds:
        return None
    winding_axes = {AXES[k] for k in range(3) if closure.winding[k]}
    if winding_axes <= percolating_axes:
        return None
    span_nm = float(np.linalg.norm(np.array(closure.winding) * box_nm))
    contour_nm = (path_bonds or 0) * BACKBONE_BOND_NM
    if np.sqrt(contour_nm * KUHN_LENGTH_NM) < span_nm:
        return "stretched_self_image_loop"
    return None
