"""Periodic geometry of bonded systems, one implementation each: the minimum image and the bond walk.

- :func:`minimum_image`: difference vectors folded into the box: a rectangular box given by its three edge
  lengths, or any (triclinic) box given by its 3x3 matrix of box vectors (rows), folded in fractional
  coordinates.
- :func:`walk_bonded_clusters`: every bonded cluster walked from its lowest atom index along its bonds,
  each atom placed at its bonded neighbour + the minimum-image bond vector. The result is image-consistent
  (whole) coordinates of every cluster that can be made whole, and, per cluster, the box axes along which
  the walk closes a loop through the cluster's own periodic image (the cluster percolates along them: a
  bond path leaves through one face and comes back through the opposite one).

Users: :meth:`systems.network.graph.NetworkGraph.make_molecules_whole` (whole molecules before each
relaxation), :func:`systems.network.analysis.percolation_axes` (network.json), the reactive-pair search,
the bond ramp of :mod:`systems.network.relax`, and :func:`simulation.system_prep.percolating_molecules`
(which barostat a System needs). It lives in common/ so that systems/ and simulation/ share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

AXES = "xyz"


def minimum_image(vectors: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Minimum-image version of difference vectors (nm): ``box`` is the three edge lengths of a rectangular
    box, or the 3x3 matrix of box vectors (rows) of any box."""
    box = np.asarray(box, dtype=float)
    if box.ndim == 1:
        return vectors - box * np.round(vectors / box)
    fractional = np.asarray(vectors) @ np.linalg.inv(box)
    return (fractional - np.round(fractional)) @ box


def _cell_shift(vector: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The whole box vectors (integers per axis) in ``vector``."""
    return np.round(vector / box) if box.ndim == 1 else np.round(vector @ np.linalg.inv(box))


@dataclass
class ClusterWalk:
    """One bonded cluster: its atoms (walk order) and the axes along which it bonds to its own image."""

    atoms: list[int]
    percolating_axes: set[str]


def walk_bonded_clusters(positions: Sequence[np.ndarray] | np.ndarray, box: np.ndarray,
                         adjacency: Mapping[int, Iterable[int]], atoms: Iterable[int]
                         ) -> tuple[dict[int, np.ndarray], list[ClusterWalk]]:
    """Unwrapped positions of ``atoms`` and their bonded clusters (bonds to atoms outside ``atoms`` ignored).

    Each cluster starts at its lowest atom index, which keeps its raw position; a depth-first walk puts
    every other atom at ``neighbour + minimum_image(raw difference)``. When the walk reaches an atom it has
    already placed and the two placements differ by a whole box vector, the cluster is bonded to its own
    periodic image along that vector's axes (a placement off by less than half a box edge is rounding).
    """
    box = np.asarray(box, dtype=float)
    members = set(atoms)
    unwrapped: dict[int, np.ndarray] = {}
    clusters: list[ClusterWalk] = []
    for start in sorted(members):
        if start in unwrapped:
            continue
        unwrapped[start] = np.asarray(positions[start], dtype=float)
        cluster = ClusterWalk([start], set())
        stack = [start]
        while stack:
            a = stack.pop()
            for b in adjacency.get(a, ()):
                if b not in members:
                    continue
                target = unwrapped[a] + minimum_image(np.asarray(positions[b], dtype=float) - unwrapped[a], box)
                if b not in unwrapped:
                    unwrapped[b] = target
                    cluster.atoms.append(b)
                    stack.append(b)
                else:
                    shift = _cell_shift(target - unwrapped[b], box)
                    cluster.percolating_axes.update(AXES[k] for k in range(3) if shift[k] != 0)
        clusters.append(cluster)
    return unwrapped, clusters


def least_crossed_plane(pos: np.ndarray, box: np.ndarray, bonds: np.ndarray, network_bond: np.ndarray,
                        molecules: list[list[int]], n_candidates: int = 64) -> tuple[float, np.ndarray]:
    """The height z_c (nm) crossed by the fewest network bonds (then molecules); the network bonds crossing it.

    ``pos``: positions wrapped into the box (nm); ``box``: its edge lengths (nm); ``bonds``: (n, 2) atom pairs;
    ``network_bond``: which of them may be cut; ``molecules``: the other clusters (a tie goes to the height
    that splits fewest of them). Also used to cut a network spanning x, y and z into a film
    (:func:`simulation.slab.make_film`) and a gel at the Na interface (:func:`systems.na_interface.map_electrolyte`)."""
    lz = box[2]
    best = None
    for zc in np.linspace(0.0, lz, n_candidates, endpoint=False):
        z = (pos[:, 2] - zc) % lz
        if len(bonds):
            dz = pos[bonds[:, 1], 2] - pos[bonds[:, 0], 2]
            dz_min = dz - lz * np.rint(dz / lz)
            crosses = np.abs(z[bonds[:, 0]] + dz_min - z[bonds[:, 1]]) > 1e-6
        else:
            crosses = np.zeros(0, dtype=bool)
        cut = crosses & network_bond
        straddle = sum(1 for m in molecules if len(m) > 1 and np.ptp(z[m]) > lz / 2)
        score = (int(cut.sum()), straddle)
        if best is None or score < best[0]:
            best = (score, zc, cut)
    return best[1], best[2]
