"""Network measures of a periodic polymer network, from its labelled quotient graph (pure numpy/networkx).

Input model
-----------
A simulated network lives in a periodic box: the real material is the infinite *lift* of what is in the
cell. It is represented by its labelled quotient graph (the standard description of a periodic net,
e.g. Chung, Hahn & Klee, Acta Cryst. A40, 42 (1984); Delgado-Friedrichs & O'Keeffe, Acta Cryst. A59,
351 (2003)): one node per monomer unit of the cell, and one edge ``(a, b, shift)`` per network bond, from
unit ``a`` in cell 0 to unit ``b`` in the cell translated by the integer vector ``shift``. The same bond
may be written ``(b, a, -shift)``. A self-edge ``(a, a, 0)`` is a bond between two groups of one monomer
(primary cyclisation); ``(a, a, s)`` with ``s != 0`` bonds a unit to its own periodic image.

Definitions
-----------
*Winding lattice and periodicity.* In each connected component (cluster) of the quotient graph a
spanning-tree walk gives every unit a cell offset ``o`` (tree edge: ``o[b] = o[a] + shift``). Every
non-tree edge closes a cycle whose lift does not close but translates by its winding vector
``w = o[a] + shift - o[b]``. The windings generate the cluster's winding lattice ``L`` (a subgroup of
Z^3; it does not depend on the tree). The lift of the cluster is invariant under ``L`` and under nothing
else, so its dimensionality, the *rank* 0-3 of ``L``, is the cluster's periodicity: rank 0 is a finite
molecule however many units it has, rank 1 an endless chain, rank 2 a layer, rank 3 a 3D network.
A cluster *percolates along x* (y, z) when ``L`` contains a vector with a non-zero x (y, z) component,
i.e. when the infinite molecule reaches arbitrarily far along x; a chain running along the diagonal
(1, 1, 0) therefore has rank 1 and percolates along x and y. For rank 3 the index ``|Z^3 / L|`` is the
number of disjoint, interpenetrating copies into which the lift falls (``interpenetrating_nets``).

*Gel.* The gel is everything in clusters that percolate (rank >= 1); the gel fraction is its mass
fraction (Flory, Principles of Polymer Chemistry, 1953, ch. IX: the gel is the infinite network, the sol
the finite molecules). It is also given per axis and for 3D percolation (rank 3). A finite (rank 0)
cluster is sol however big it is; one bonded to its own image through a single chain is a rank-1 chain,
not a 3D gel.

*Elastic backbone.* The parts of a percolating cluster that can carry no stress are the finite
structures that hang from the rest by a single unit or a single bond in the lift: dangling chain ends,
and also pendant loops (a ring that hangs from one junction). They are found exactly in the quotient
graph: a finite piece of the lift hanging by one unit projects one-to-one onto a set of blocks
(biconnected components) of the quotient, attached at one articulation unit, whose cycles all have zero
winding. So the backbone is the smallest subtree of the block-cut tree that contains every block with
non-zero winding rank; everything else is *dangling* (``dangling_units``; each connected dangling
piece counts once in ``dangling_pieces``). For tree-like dangling structure this is the usual iterative
removal of units of degree 1; it also removes pendant loops, which degree-1 pruning leaves behind.
Degrees count bonds to other units and to images: a zero-shift self-edge counts nothing (it is a pendant
loop and is never in the backbone), a self-edge to an image counts 2 like any loop.

*Junctions and strands.* Junctions are backbone units of backbone degree >= 3. Chains of degree-2
backbone units are collapsed into strands, each joining two junctions (possibly a junction and its own
image). Elastically effective strands are the strands of the backbone of a cluster that percolates in
three dimensions (Scanlan, J. Polym. Sci. 43, 501 (1960); Case, J. Polym. Sci. 45, 397 (1960): a
junction is effective when at least three of its paths lead independently to the network, a strand when
both its ends are effective junctions). The same counts over every percolating cluster (rank >= 1) are
reported under ``percolating_backbone_*``: strands of a 1D or 2D percolating cluster cannot carry a 3D
shear stress. Two strands joining the same pair of junctions with the same relative shift (a
second-order loop) both count, as in the cycle rank; the extra ones are reported in
``parallel_effective_strands`` so that a reader can judge them.

*Cycle rank.* A finite connected graph has ``E - V + 1`` independent cycles. For the infinite periodic
net the constant is negligible per cell (an N^3 supercell has N^3 (E - V) + 1 + windings), so the cycle
rank per cell is ``xi = E_b - V_b`` over the backbone (dangling structure adds nothing, collapsing
degree-2 units leaves it unchanged, so ``xi = strands - junctions``). For a perfect network of
f-functional junctions with ``nu`` strands per cell, ``V = 2 nu / f`` and ``xi = nu (1 - 2/f)``
(Flory, Proc. R. Soc. A 351, 351 (1976)). The simple cubic net gives 3 strands, 1 junction, xi = 2; the
diamond net 4 strands, 2 junctions, xi = 2.

*Loops.* Primary loops are counted in two kinds: self-loops (a zero-shift self-edge: one monomer's two
groups bonded together) and double-edge loops (k bonds between the same two units, or between a unit and
the same image, with the same relative shift make k - 1 two-unit rings). ``finite_loops`` is the
number of independent cycles of zero winding, ``E - V + 1 - rank`` per cluster (the kernel of the
winding map; it includes the primary loops). ``winding_loops`` is the number of spanning-tree non-tree
edges with non-zero winding (bonds that close a loop through a periodic image); unlike ``finite_loops``
it depends on the spanning tree chosen (a breadth-first tree from the lowest unit), and it is at least
the rank.

*Densities and moduli.* Counts per cell divided by ``N_A V`` give mol/m^3. The affine network
(Kuhn; Wall; Flory) has ``G = nu k_B T / V``; the phantom network (James & Guth, J. Chem. Phys. 15, 669
(1947)) ``G = xi k_B T / V = (nu - mu) k_B T / V``; per mole: ``G = c R T`` with ``R = N_A k_B``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from math import prod
from typing import Iterable, Sequence

import networkx as nx
import numpy as np

from common.constants import AVOGADRO_PER_MOL, BOLTZMANN_J_PER_K, M3_PER_NM3

AXES = ("x", "y", "z")
MOLAR_GAS_CONSTANT_J_PER_MOL_K = BOLTZMANN_J_PER_K * AVOGADRO_PER_MOL
"""R = N_A k_B, J/(mol K)."""

Shift = tuple[int, int, int]
Edge = tuple[int, int, Shift]
ZERO: Shift = (0, 0, 0)


# ---------------------------------------------------------------------------------------------- input
@dataclass(frozen=True)
class PeriodicNetwork:
    """The labelled quotient graph of a periodic network (see the module docstring).

    ``unit_mass`` is in g/mol (only mass fractions are derived from it, so any consistent unit works);
    ``box_nm`` are the edges of the orthorhombic cell.
    """

    n_units: int
    unit_mass: Sequence[float]
    edges: Sequence[Edge]
    box_nm: Sequence[float]

    def __post_init__(self) -> None:
        n = int(self.n_units)
        if n < 0:
            raise ValueError(f"n_units must be >= 0, got {self.n_units}")
        masses = tuple(float(m) for m in self.unit_mass)
        if len(masses) != n:
            raise ValueError(f"unit_mass has {len(masses)} entries for {n} units")
        if any(not np.isfinite(m) or m < 0 for m in masses):
            raise ValueError("unit masses must be finite and >= 0")
        box = tuple(float(b) for b in self.box_nm)
        if len(box) != 3 or any(not np.isfinite(b) or b <= 0 for b in box):
            raise ValueError(f"box_nm must be three positive lengths, got {self.box_nm}")
        object.__setattr__(self, "n_units", n)
        object.__setattr__(self, "unit_mass", masses)
        object.__setattr__(self, "box_nm", box)
        object.__setattr__(self, "edges", tuple(_checked_edge(e, n) for e in self.edges))

    @property
    def volume_nm3(self) -> float:
        return prod(self.box_nm)

    @property
    def total_mass(self) -> float:
        return sum(self.unit_mass)


def _checked_edge(edge: Sequence, n_units: int) -> Edge:
    a, b, shift = edge
    if not (0 <= int(a) < n_units and 0 <= int(b) < n_units) or int(a) != a or int(b) != b:
        raise ValueError(f"edge {edge}: unit index out of range 0..{n_units - 1}")
    s = tuple(int(c) for c in shift)
    if len(s) != 3 or any(c != o for c, o in zip(s, shift)):
        raise ValueError(f"edge {edge}: the shift must be three integers")
    return int(a), int(b), s  # type: ignore[return-value]


# ------------------------------------------------------------------------------------ small helpers
def _add(u: Shift, v: Shift) -> Shift:
    return u[0] + v[0], u[1] + v[1], u[2] + v[2]


def _neg(u: Shift) -> Shift:
    return -u[0], -u[1], -u[2]


def _sub(u: Shift, v: Shift) -> Shift:
    return _add(u, _neg(v))


def _incidence(edges: Sequence[Edge], edge_ids: Iterable[int]) -> dict[int, list[tuple[int, int, Shift]]]:
    """unit -> [(edge id, other unit, shift from this unit to it)]; a self-edge appears twice (+s, -s)."""
    inc: dict[int, list[tuple[int, int, Shift]]] = {}
    for e in edge_ids:
        a, b, s = edges[e]
        inc.setdefault(a, []).append((e, b, s))
        inc.setdefault(b, []).append((e, a, _neg(s)))
    return inc


def cycle_windings(edges: Sequence[Edge], edge_ids: Iterable[int]) -> dict[int, Shift]:
    """Winding vector of the fundamental cycle of every non-tree edge among ``edge_ids``.

    Breadth-first spanning forest from the lowest unit of each component, neighbours in edge order;
    tree edge ``(a, b, s)``: ``o[b] = o[a] + s``; non-tree edge: ``w = o[a] + s - o[b]``.
    """
    ids = sorted(set(edge_ids))
    inc = _incidence(edges, ids)
    offset: dict[int, Shift] = {}
    tree: set[int] = set()
    for root in sorted(inc):
        if root in offset:
            continue
        offset[root] = ZERO
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for e, v, s in inc[u]:
                if v not in offset:
                    offset[v] = _add(offset[u], s)
                    tree.add(e)
                    queue.append(v)
    return {e: _sub(_add(offset[edges[e][0]], edges[e][2]), offset[edges[e][1]]) for e in ids if e not in tree}


def winding_lattice_basis(vectors: Iterable[Sequence[int]]) -> tuple[Shift, ...]:
    """Basis (integer row echelon form) of the lattice the integer 3-vectors generate; its length is the rank."""
    rows = [list(map(int, v)) for v in vectors if any(v)]
    basis: list[Shift] = []
    for col in range(3):
        while True:
            live = [r for r in rows if r[col] != 0]
            if len(live) <= 1:
                break
            pivot = min(live, key=lambda r: abs(r[col]))
            for r in live:
                if r is not pivot:
                    q = r[col] // pivot[col]
                    for c in range(3):
                        r[c] -= q * pivot[c]
            rows = [r for r in rows if any(r)]
        live = [r for r in rows if r[col] != 0]
        if live:
            pivot = live[0] if live[0][col] > 0 else [-c for c in live[0]]
            basis.append(tuple(pivot))  # type: ignore[arg-type]
            rows = [r for r in rows if r is not live[0]]
    return tuple(basis)


def percolating_axes(basis: Sequence[Shift]) -> tuple[str, ...]:
    """Axes along which a lattice with this basis (or any generating set) has a vector with a non-zero component."""
    return tuple(ax for i, ax in enumerate(AXES) if any(v[i] != 0 for v in basis))


def lattice_index(vectors: Iterable[Sequence[int]]) -> int | None:
    """|Z^3 / L| of the lattice L the vectors generate when it has rank 3 (interpenetrating copies); else None."""
    basis = winding_lattice_basis(vectors)
    if len(basis) != 3:
        return None
    return abs(basis[0][0] * basis[1][1] * basis[2][2])


def density_mol_per_m3(count_per_cell: float, box_nm: Sequence[float]) -> float:
    """Count per periodic cell as a molar density: count / (N_A V)."""
    return count_per_cell / (AVOGADRO_PER_MOL * prod(float(b) for b in box_nm) * M3_PER_NM3)


def affine_shear_modulus_Pa(nu_mol_per_m3: float, T_K: float) -> float:
    """Affine-network shear modulus G = nu R T (= nu k_B T per strand and volume), Pa, from strands in mol/m^3."""
    return nu_mol_per_m3 * MOLAR_GAS_CONSTANT_J_PER_MOL_K * T_K


def phantom_shear_modulus_Pa(xi_mol_per_m3: float, T_K: float) -> float:
    """Phantom-network shear modulus G = xi R T (James & Guth 1947; xi the cycle rank in mol/m^3), Pa."""
    return xi_mol_per_m3 * MOLAR_GAS_CONSTANT_J_PER_MOL_K * T_K


# ------------------------------------------------------------------------------------------- loops
def _canonical_bond(edge: Edge) -> Edge:
    """One spelling of a bond: ``(a, b, s)`` with a <= b, and for a self-edge the shift s or -s, whichever is larger."""
    a, b, s = edge
    if a > b:
        return b, a, _neg(s)
    if a == b and s < _neg(s):
        return a, a, _neg(s)
    return a, b, s


def self_loops(edges: Iterable[Edge]) -> int:
    """Zero-shift self-edges: intramolecular cyclisation of one monomer."""
    return sum(1 for a, b, s in edges if a == b and s == ZERO)


def double_edge_loops(edges: Iterable[Edge]) -> int:
    """Two-unit rings: k bonds between the same two units (or a unit and one image) at one relative shift make k - 1."""
    counts: dict[Edge, int] = {}
    for e in edges:
        if not (e[0] == e[1] and e[2] == ZERO):
            key = _canonical_bond(e)
            counts[key] = counts.get(key, 0) + 1
    return sum(k - 1 for k in counts.values())


# ---------------------------------------------------------------------------------------- backbone
@dataclass(frozen=True)
class Strand:
    """A chain of degree-2 backbone units between two junctions; ``end`` lies in the cell ``shift`` from ``start``."""

    start: int
    end: int
    shift: Shift
    interior_units: tuple[int, ...]
    edges: tuple[int, ...]


@dataclass(frozen=True)
class Backbone:
    """Elastic backbone of one percolating cluster (module docstring)."""

    units: tuple[int, ...]
    edges: tuple[int, ...]
    dangling_units: tuple[int, ...]
    dangling_pieces: int
    junctions: tuple[int, ...]
    strands: tuple[Strand, ...]

    @property
    def cycle_rank(self) -> int:
        """xi = E_b - V_b per cell."""
        return len(self.edges) - len(self.units)

    @property
    def parallel_strands(self) -> int:
        """Strands beyond the first between the same two junctions at the same relative shift."""
        seen: dict[Edge, int] = {}
        for s in self.strands:
            key = _canonical_bond((s.start, s.end, s.shift))
            seen[key] = seen.get(key, 0) + 1
        return sum(k - 1 for k in seen.values())


def _blocks(edges: Sequence[Edge], edge_ids: Sequence[int]) -> list[tuple[frozenset[int], tuple[int, ...]]]:
    """Blocks (biconnected components) of the multigraph: (units, edge ids); every self-edge is its own block."""
    pair_edges: dict[tuple[int, int], list[int]] = {}
    blocks: list[tuple[frozenset[int], tuple[int, ...]]] = []
    for e in edge_ids:
        a, b, _ = edges[e]
        if a == b:
            blocks.append((frozenset((a,)), (e,)))
        else:
            pair_edges.setdefault((min(a, b), max(a, b)), []).append(e)
    simple = nx.Graph()
    simple.add_edges_from(pair_edges)
    for comp in nx.biconnected_component_edges(simple):
        ids = tuple(sorted(e for u, v in comp for e in pair_edges[(min(u, v), max(u, v))]))
        units = frozenset(u for pair in comp for u in pair)
        blocks.append((units, ids))
    return blocks


def _backbone_blocks(blocks: list[tuple[frozenset[int], tuple[int, ...]]], infinite: list[bool]) -> list[int]:
    """Indices of the blocks on the smallest subtree of the block-cut tree that holds every infinite block."""
    tree = nx.Graph()
    membership: dict[int, list[int]] = {}
    for i, (units, _) in enumerate(blocks):
        tree.add_node(("block", i))
        for u in units:
            membership.setdefault(u, []).append(i)
    for u, owners in membership.items():
        if len(owners) > 1:  # an articulation unit
            tree.add_edges_from((("unit", u), ("block", i)) for i in owners)
    removable = deque(n for n in tree if tree.degree(n) <= 1 and not (n[0] == "block" and infinite[n[1]]))
    while removable:
        node = removable.popleft()
        if node not in tree or tree.degree(node) > 1:
            continue
        neighbours = list(tree.neighbors(node))
        tree.remove_node(node)
        for m in neighbours:
            if tree.degree(m) <= 1 and not (m[0] == "block" and infinite[m[1]]):
                removable.append(m)
    return sorted(n[1] for n in tree if n[0] == "block")


def _strands(edges: Sequence[Edge], edge_ids: Sequence[int], junctions: set[int]) -> tuple[Strand, ...]:
    """Collapse chains of degree-2 units: walk out of every junction along every unused edge to the next junction."""
    inc = _incidence(edges, edge_ids)
    used: set[int] = set()
    strands: list[Strand] = []
    for j in sorted(junctions):
        for e, v, s in inc[j]:
            if e in used:
                continue
            path, interior, shift, here, last = [e], [], s, v, e
            used.add(e)
            while here not in junctions:
                interior.append(here)
                e2, v2, s2 = next(x for x in inc[here] if x[0] != last)
                used.add(e2)
                path.append(e2)
                shift, here, last = _add(shift, s2), v2, e2
            strands.append(Strand(j, here, shift, tuple(interior), tuple(path)))
    return tuple(strands)


def _count_pieces(edges: Sequence[Edge], edge_ids: Iterable[int], units: set[int]) -> int:
    g = nx.Graph()
    g.add_nodes_from(units)
    g.add_edges_from((edges[e][0], edges[e][1]) for e in edge_ids if edges[e][0] in units and edges[e][1] in units)
    return nx.number_connected_components(g)


def elastic_backbone(edges: Sequence[Edge], units: Sequence[int], edge_ids: Sequence[int]) -> Backbone:
    """Backbone, dangling structure, junctions and strands of one percolating cluster (module docstring)."""
    blocks = _blocks(edges, edge_ids)
    infinite = [bool(winding_lattice_basis(cycle_windings(edges, ids).values())) for _, ids in blocks]
    kept = _backbone_blocks(blocks, infinite)
    bb_units = set().union(*(blocks[i][0] for i in kept))
    bb_edges = tuple(sorted(e for i in kept for e in blocks[i][1]))
    degree = {u: 0 for u in bb_units}
    for e in bb_edges:
        degree[edges[e][0]] += 1
        degree[edges[e][1]] += 1
    junctions = {u for u, d in degree.items() if d >= 3}
    dangling = set(units) - bb_units
    return Backbone(units=tuple(sorted(bb_units)), edges=bb_edges, dangling_units=tuple(sorted(dangling)),
                    dangling_pieces=_count_pieces(edges, edge_ids, dangling), junctions=tuple(sorted(junctions)),
                    strands=_strands(edges, bb_edges, junctions))


# ---------------------------------------------------------------------------------------- clusters
@dataclass(frozen=True)
class ClusterMeasures:
    """One connected cluster of the quotient graph; ``backbone`` is None for a finite (rank 0) cluster."""

    units: tuple[int, ...]
    edges: tuple[int, ...]
    mass: float
    winding_basis: tuple[Shift, ...]
    independent_cycles: int
    winding_loops: int
    self_loops: int
    double_edge_loops: int
    backbone: Backbone | None

    @property
    def rank(self) -> int:
        return len(self.winding_basis)

    @property
    def axes(self) -> tuple[str, ...]:
        return percolating_axes(self.winding_basis)

    @property
    def percolates(self) -> bool:
        return self.rank >= 1

    @property
    def interpenetrating_nets(self) -> int | None:
        return lattice_index(self.winding_basis)

    @property
    def finite_loops(self) -> int:
        """Independent cycles of zero winding: E - V + 1 - rank."""
        return self.independent_cycles - self.rank

    def to_dict(self, total_mass: float) -> dict:
        d = {
            "n_units": len(self.units),
            "mass_g_per_mol": self.mass,
            "mass_fraction": self.mass / total_mass if total_mass > 0 else 0.0,
            "percolation_rank": self.rank,
            "percolating_axes": list(self.axes),
            "winding_basis": [list(v) for v in self.winding_basis],
            "interpenetrating_nets": self.interpenetrating_nets,
            "n_bonds": len(self.edges),
            "independent_cycles": self.independent_cycles,
            "finite_loops": self.finite_loops,
            "winding_loops": self.winding_loops,
            "self_loops": self.self_loops,
            "double_edge_loops": self.double_edge_loops,
        }
        if self.backbone is not None:
            b = self.backbone
            d.update({"backbone_units": len(b.units), "dangling_units": len(b.dangling_units),
                      "dangling_pieces": b.dangling_pieces, "junctions": len(b.junctions),
                      "strands": len(b.strands), "parallel_strands": b.parallel_strands,
                      "cycle_rank": b.cycle_rank})
        return d


def _components(net: PeriodicNetwork) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(units, edge ids) of every connected component of the quotient graph, isolated units included."""
    g = nx.Graph()
    g.add_nodes_from(range(net.n_units))
    g.add_edges_from((a, b) for a, b, _ in net.edges)
    unit_comp = {}
    comps = [tuple(sorted(c)) for c in nx.connected_components(g)]
    for i, c in enumerate(comps):
        unit_comp.update(dict.fromkeys(c, i))
    comp_edges: list[list[int]] = [[] for _ in comps]
    for e, (a, _, _) in enumerate(net.edges):
        comp_edges[unit_comp[a]].append(e)
    return [(c, tuple(ids)) for c, ids in zip(comps, comp_edges)]


def measure_cluster(net: PeriodicNetwork, units: Sequence[int], edge_ids: Sequence[int]) -> ClusterMeasures:
    windings = cycle_windings(net.edges, edge_ids)
    basis = winding_lattice_basis(windings.values())
    own = [net.edges[e] for e in edge_ids]
    return ClusterMeasures(
        units=tuple(units), edges=tuple(edge_ids), mass=sum(net.unit_mass[u] for u in units),
        winding_basis=basis, independent_cycles=len(edge_ids) - len(units) + 1,
        winding_loops=sum(1 for w in windings.values() if w != ZERO),
        self_loops=self_loops(own), double_edge_loops=double_edge_loops(own),
        backbone=elastic_backbone(net.edges, units, edge_ids) if basis else None)


# ---------------------------------------------------------------------------------------- network
@dataclass(frozen=True)
class NetworkMeasures:
    """All measures of one periodic network; ``clusters`` heaviest first."""

    network: PeriodicNetwork
    clusters: tuple[ClusterMeasures, ...] = field(repr=False)

    def _mass_fraction(self, keep) -> float:
        total = self.network.total_mass
        return sum(c.mass for c in self.clusters if keep(c)) / total if total > 0 else 0.0

    @property
    def gel_fraction(self) -> float:
        return self._mass_fraction(lambda c: c.percolates)

    @property
    def gel_fraction_3d(self) -> float:
        return self._mass_fraction(lambda c: c.rank == 3)

    @property
    def gel_fraction_by_axis(self) -> dict[str, float]:
        return {ax: self._mass_fraction(lambda c, ax=ax: ax in c.axes) for ax in AXES}

    @property
    def percolating_axes(self) -> tuple[str, ...]:
        return tuple(ax for ax in AXES if any(ax in c.axes for c in self.clusters))

    def _backbones(self, min_rank: int) -> list[Backbone]:
        return [c.backbone for c in self.clusters if c.backbone is not None and c.rank >= min_rank]

    def _sum(self, min_rank: int, count) -> int:
        return sum(count(b) for b in self._backbones(min_rank))

    @property
    def effective_strands(self) -> int:
        return self._sum(3, lambda b: len(b.strands))

    @property
    def effective_junctions(self) -> int:
        return self._sum(3, lambda b: len(b.junctions))

    @property
    def cycle_rank(self) -> int:
        return self._sum(3, lambda b: b.cycle_rank)

    def density(self, count_per_cell: float) -> float:
        return density_mol_per_m3(count_per_cell, self.network.box_nm)

    def to_dict(self) -> dict:
        net = self.network
        total = net.total_mass
        dangling_mass = sum(net.unit_mass[u] for b in self._backbones(1) for u in b.dangling_units)
        by_axis = self.gel_fraction_by_axis
        return {
            "n_units": net.n_units,
            "n_bonds": len(net.edges),
            "total_mass_g_per_mol": total,
            "box_nm": list(net.box_nm),
            "volume_nm3": net.volume_nm3,
            "n_clusters": len(self.clusters),
            "n_percolating_clusters": sum(1 for c in self.clusters if c.percolates),
            "percolation_rank": max((c.rank for c in self.clusters), default=0),
            "percolating_axes": list(self.percolating_axes),
            "gel_fraction": self.gel_fraction,
            "sol_fraction": 1.0 - self.gel_fraction if total > 0 else 0.0,
            "gel_fraction_3d": self.gel_fraction_3d,
            **{f"gel_fraction_{ax}": by_axis[ax] for ax in AXES},
            "dangling_units": self._sum(1, lambda b: len(b.dangling_units)),
            "dangling_pieces": self._sum(1, lambda b: b.dangling_pieces),
            "dangling_mass_fraction": dangling_mass / total if total > 0 else 0.0,
            "elastically_effective_strands": self.effective_strands,
            "elastically_effective_strands_mol_per_m3": self.density(self.effective_strands),
            "parallel_effective_strands": self._sum(3, lambda b: b.parallel_strands),
            "effective_junctions": self.effective_junctions,
            "effective_junctions_mol_per_m3": self.density(self.effective_junctions),
            "cycle_rank": self.cycle_rank,
            "cycle_rank_mol_per_m3": self.density(self.cycle_rank),
            "percolating_backbone_strands": self._sum(1, lambda b: len(b.strands)),
            "percolating_backbone_junctions": self._sum(1, lambda b: len(b.junctions)),
            "percolating_backbone_cycle_rank": self._sum(1, lambda b: b.cycle_rank),
            "self_loops": self_loops(net.edges),
            "double_edge_loops": double_edge_loops(net.edges),
            "primary_loops": self_loops(net.edges) + double_edge_loops(net.edges),
            "finite_loops": sum(c.finite_loops for c in self.clusters),
            "winding_loops": sum(c.winding_loops for c in self.clusters),
            "clusters": [c.to_dict(total) for c in self.clusters],
        }


def measure_network(net: PeriodicNetwork) -> NetworkMeasures:
    """Clusters with their periodicity, gel fractions, elastic backbones and loops of a periodic network."""
    clusters = [measure_cluster(net, units, ids) for units, ids in _components(net)]
    clusters.sort(key=lambda c: (-c.mass, c.units[0]))
    return NetworkMeasures(net, tuple(clusters))
