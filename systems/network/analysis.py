"""Network measures recorded in network.json: conversion, clusters (gel/sol), junctions, loops, percolation.

Monomer graph: one node per monomer molecule, one edge per network bond (X of one group to Y of another);
a bond between two groups of one monomer is a self-loop, two bonds between the same two monomers a
double edge.

- conversion: fraction of reactive groups that have reacted (ring opened / C=C consumed), per group kind;
- gel fraction: mass fraction of the monomer units in the largest connected cluster; every other cluster
  is a sol molecule (free monomers included), reported with its size in monomer units;
- crosslink density: junctions per volume, ``n_junctions / (N_A V)`` in mol/m^3, where a junction is a
  monomer unit joined to the network by at least 3 network bonds (a branch point of the monomer graph;
  a bis-aziridine with both groups inside chains has 4); also the density of monomer units with every
  group reacted (the chemist's "fully reacted crosslinker" density);
- loops: independent cycles of the monomer graph (cycle rank E - V + C), of which self-loops (intramolecular
  cyclisation) and double edges (two bonds between the same pair, e.g. piperazine rings of aziridines);
- percolation: per box axis, whether the largest cluster is bonded to its own periodic image along it.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx

from common.constants import AVOGADRO_PER_MOL, M3_PER_NM3
from systems.network.graph import NetworkGraph
from systems.network.periodic import walk_bonded_clusters


def monomer_graph(graph: NetworkGraph) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_nodes_from(range(len(graph.monomer_models)))
    for i, j in graph.network_bonds:
        g.add_edge(graph.sites[i].monomer, graph.sites[j].monomer)
    return g


def percolation_axes(graph: NetworkGraph, atoms: set[int]) -> list[str]:
    """Axes along which the bonded cluster ``atoms`` connects to its own periodic image."""
    _, clusters = walk_bonded_clusters(graph.positions, graph.box, graph.adjacency(), atoms)
    return sorted(set().union(*(c.percolating_axes for c in clusters)))


def network_measures(graph: NetworkGraph, volume_nm3: float) -> dict:
    g = monomer_graph(graph)
    masses = graph.monomer_masses
    total_mass = sum(masses)
    clusters = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-sum(masses[m] for m in c), c[0]))
    largest = clusters[0] if clusters else []
    sol = clusters[1:]
    volume_m3 = volume_nm3 * M3_PER_NM3
    degree = Counter()
    for i, j in graph.network_bonds:
        a, b = graph.sites[i].monomer, graph.sites[j].monomer
        if a != b:  # a bond within one monomer (a self-loop) makes it no branch point
            degree[a] += 1
            degree[b] += 1
    n_junctions = sum(1 for m in range(len(masses)) if degree[m] >= 3)
    groups_per_monomer = Counter(s.monomer for s in graph.sites)
    reacted_per_monomer = Counter(s.monomer for s in graph.sites if s.reacted)
    fully = sum(1 for m, n in groups_per_monomer.items() if reacted_per_monomer[m] == n)
    self_loops = sum(1 for i, j in graph.network_bonds if graph.sites[i].monomer == graph.sites[j].monomer)
    pair_counts = Counter(tuple(sorted((graph.sites[i].monomer, graph.sites[j].monomer)))
                          for i, j in graph.network_bonds if graph.sites[i].monomer != graph.sites[j].monomer)
    cycle_rank = g.number_of_edges() - g.number_of_nodes() + nx.number_connected_components(g)
    simple = nx.Graph(g)
    simple.remove_edges_from(nx.selfloop_edges(simple))
    basis_sizes = Counter(len(c) for c in nx.minimum_cycle_basis(simple)) if simple.number_of_edges() else Counter()
    largest_atoms = {a for r in graph.residues if r.ptype is not None and r.monomer in set(largest)
                     for a in r.atoms if graph.present[a]}
    states = Counter(s.state for s in graph.sites)
    by_kind: dict[str, dict] = {}
    for s in graph.sites:
        kind = graph.monomer_models[s.monomer].reaction.group_name
        d = by_kind.setdefault(kind, {"groups": 0, "reacted": 0})
        d["groups"] += 1
        d["reacted"] += int(s.reacted)
    for d in by_kind.values():
        d["conversion"] = d["reacted"] / d["groups"]
    return {
        "conversion": graph.conversion(),
        "conversion_by_group": by_kind,
        "n_groups": len(graph.sites),
        "n_network_bonds": len(graph.network_bonds),
        "group_states": {"U_unreacted": states.get("U", 0), "S_chain_start": states.get("S", 0),
                         "E_chain_end": states.get("E", 0), "M_chain_interior": states.get("M", 0)},
        "unreacted_groups": [{"monomer": s.monomer, "site": k} for k, s in enumerate(graph.sites) if not s.reacted],
        "n_monomers": len(masses),
        "gel_fraction": (sum(masses[m] for m in largest) / total_mass) if total_mass else 0.0,
        "gel_fraction_definition": "mass fraction of monomer units in the largest bonded cluster",
        "largest_cluster_monomers": len(largest),
        "sol_molecules": len(sol),
        "sol_cluster_sizes_monomers": dict(sorted(Counter(len(c) for c in sol).items())),
        "percolating_axes": percolation_axes(graph, largest_atoms) if largest_atoms else [],
        "n_junctions": n_junctions,
        "crosslink_density_mol_per_m3": n_junctions / AVOGADRO_PER_MOL / volume_m3,
        "crosslink_density_definition": ("monomer units with >= 3 network bonds to other monomer units (branch "
                                         "points; bonds within one unit not counted) per volume"),
        "fully_reacted_monomers": fully,
        "fully_reacted_monomer_density_mol_per_m3": fully / AVOGADRO_PER_MOL / volume_m3,
        "loops": {"cycle_rank": cycle_rank, "self_loops_intramolecular": self_loops,
                  "double_links_between_monomer_pairs": sum(n - 1 for n in pair_counts.values() if n > 1),
                  "minimum_cycle_basis_sizes_monomers": dict(sorted(basis_sizes.items()))},
        "volume_nm3": volume_nm3,
    }
