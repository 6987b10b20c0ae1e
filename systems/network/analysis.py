"""Network measures recorded in network.json, from the builder's graph.

The graph is turned into the labelled quotient graph of its monomer units (one node per monomer molecule,
one edge per network bond with the cell shift of the bonded image, :class:`systems.network.loops.
UnitLattice`) and measured by :mod:`systems.network.periodic_graph`, which holds the definitions: gel
fraction (mass fraction in clusters that percolate, per axis and in 3D), elastic backbone, effective
junctions and strands, cycle rank, dangling structure, primary/finite/winding loops. Added here, from the
chemistry of the graph:

- conversion: fraction of reactive groups that have reacted (ring opened / C=C consumed), per group kind;
- conversion without cyclisation: (reacted groups - bonds that closed a loop) / groups. Every network bond
  that closes a loop (within one cluster, through an image or not) would, had it not formed, have left one
  more group unreacted; the number of such bonds is the cycle rank of the quotient graph, E - V + C, in
  whatever order the bonds formed;
- kinetic chains and their degree of polymerisation: a chain starts at a group in state S (the initiated
  end) and runs X -> Y from group to group to its end (state E); DP is the number of groups (monomer
  additions) per chain, reported as number average and the list;
- crosslink density: the effective junctions (backbone units with >= 3 bonds in a 3D-percolating
  cluster) per volume, in mol/m^3; the older branch-unit count (any unit with >= 3 bonds) is kept beside it.
"""

from __future__ import annotations

from collections import Counter

from systems.network.graph import NetworkGraph
from systems.network.loops import UnitLattice
from systems.network.periodic_graph import PeriodicNetwork, measure_network


def periodic_network(graph: NetworkGraph) -> PeriodicNetwork:
    """The quotient graph of the monomer units, with the cell shift of every network bond."""
    lattice = UnitLattice(graph)
    edges = [(graph.sites[i].monomer, graph.sites[j].monomer, lattice.shift_of(i, j)) for i, j in graph.network_bonds]
    return PeriodicNetwork(len(graph.monomer_models), list(graph.monomer_masses), edges, tuple(graph.box))


def kinetic_chains(graph: NetworkGraph) -> list[list[int]]:
    """Every kinetic chain as its groups (sites) from the initiated end (S) along X -> Y to its last group."""
    chains = []
    for start, site in enumerate(graph.sites):
        if site.state != "S":
            continue
        chain, k = [start], site.x_partner
        while k is not None:
            chain.append(k)
            k = graph.sites[k].x_partner
        chains.append(chain)
    return chains


def _conversion_by_group(graph: NetworkGraph) -> dict[str, dict]:
    by_kind: dict[str, dict] = {}
    for s in graph.sites:
        kind = graph.monomer_models[s.monomer].reaction.group_name
        d = by_kind.setdefault(kind, {"groups": 0, "reacted": 0})
        d["groups"] += 1
        d["reacted"] += int(s.reacted)
    for d in by_kind.values():
        d["conversion"] = d["reacted"] / d["groups"]
    return by_kind


def _chain_measures(graph: NetworkGraph) -> dict:
    chains = kinetic_chains(graph)
    lengths = [len(c) for c in chains]
    return {"kinetic_chains": len(chains),
            "degree_of_polymerisation": (sum(lengths) / len(lengths)) if lengths else 0.0,
            "degree_of_polymerisation_per_chain": lengths,
            "degree_of_polymerisation_definition": "groups (monomer additions) per kinetic chain, number average"}


def network_measures(graph: NetworkGraph, volume_nm3: float) -> dict:
    """Everything network.json says about the network's structure (module notes)."""
    periodic = measure_network(periodic_network(graph)).to_dict()
    n_units, n_bonds = periodic["n_units"], periodic["n_bonds"]
    loop_closing_bonds = n_bonds - n_units + periodic["n_clusters"]
    reacted = sum(s.reacted for s in graph.sites)
    degree = Counter()
    for i, j in graph.network_bonds:
        a, b = graph.sites[i].monomer, graph.sites[j].monomer
        if a != b:
            degree[a] += 1
            degree[b] += 1
    states = Counter(s.state for s in graph.sites)
    return {
        "conversion": graph.conversion(),
        "conversion_without_cyclisation": (reacted - loop_closing_bonds) / len(graph.sites) if graph.sites else 0.0,
        "conversion_by_group": _conversion_by_group(graph),
        "n_groups": len(graph.sites),
        "n_network_bonds": n_bonds,
        "loop_closing_bonds": loop_closing_bonds,
        "group_states": {"U_unreacted": states.get("U", 0), "S_chain_start": states.get("S", 0),
                         "E_chain_end": states.get("E", 0), "M_chain_interior": states.get("M", 0)},
        "unreacted_groups": [{"monomer": s.monomer, "site": k} for k, s in enumerate(graph.sites) if not s.reacted],
        "n_monomers": n_units,
        **_chain_measures(graph),
        **{k: v for k, v in periodic.items() if k not in ("n_units", "n_bonds")},
        "gel_fraction_definition": "mass fraction of monomer units in clusters that percolate (periodicity rank "
                                   ">= 1; systems/network/periodic_graph.py)",
        "dangling_ends": periodic["dangling_pieces"],
        "crosslink_density_mol_per_m3": periodic["effective_junctions_mol_per_m3"],
        "crosslink_density_definition": "effective junctions (units with >= 3 bonds in the elastic backbone of a "
                                        "cluster percolating in 3D) per volume",
        "branch_units": sum(1 for m in range(n_units) if degree[m] >= 3),
        "volume_nm3": volume_nm3,
    }
