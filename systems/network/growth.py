"""Chain growth: kinetic chains that start from initiators and grow only at their active ends.

Both supported chemistries are chain-growth polymerisations, and in the X/Y form of
:mod:`systems.network.reactions` they grow the same way:

- **Initiation** opens one unreacted group i (its Y takes the initiator's end: H⁺ on the aziridine N of
  PBMP, the initiator fragment on the acrylate CH2 of PTPA, modelled as H) and makes its X the active
  centre, which at once adds the Y of a second unreacted group j: the bond X_i–Y_j. The pair becomes
  i = S (chain start), j = E, and X_j is the active end. (A group with an active X but no partner yet has
  no closed-shell residue template, so initiation and the first propagation step are one event.)
- **Propagation**: the active end X_k (the aziridinium CH2 of a growing PBMP chain; the α-carbon radical of
  a growing PTPA chain) adds the Y of an unreacted group l (the N of an aziridine ring; the CH2 of an
  acrylate C=C): k becomes interior (M), l becomes the new active end (E). Only unreacted groups are
  attacked: a backbone tertiary amine attacking an aziridinium (quaternisation, a branching/termination
  path of cationic aziridine polymerisation) and chain transfer to polymer are not modelled.
- **Crosslinks** form because a unit added to a chain still carries unreacted groups (the second
  aziridine of BMP, the other two acrylates of TPA) that another active end can add.
- **Termination**: at the end of the build every living end keeps its end atom: F on the CH2 of PBMP (the
  fluoride of the PF6⁻/PF5 counter-ion closes the aziridinium end), H on the α-carbon of PTPA (the
  saturated end that disproportionation and chain transfer leave). Termination during growth
  (combination of two radicals) is not modelled: chains live until the build stops.

The number of kinetic chains is the initiator count of the recipe (:func:`initiator_chains`); every
initiator starts a chain as soon as an initiating pair is in reach (instantaneous initiation, as in a living
polymerisation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from systems.network.graph import NetworkGraph
from common.periodic import minimum_image

INITIATORS = {
    # name: (molar mass g/mol, active centres per initiator molecule, default efficiency, reference)
    "AIBN": (164.21, 2, 0.6, "2,2'-azobis(2-methylpropionitrile): two 2-cyano-2-propyl radicals per molecule; "
                             "efficiency f = 0.5-0.7 (Odian, Principles of Polymerization, 4th ed., 2004, "
                             "section 3-4b)"),
    "PF5": (125.97, 2, 1.0, "phosphorus pentafluoride from the thermal decomposition NaPF6 -> NaF + PF5 (the "
                            "founding paper's initiator); hydrolysis by trace water, PF5 + H2O -> POF3 + 2 HF, "
                            "gives two protons, each opening one aziridine into a chain start: two chains per "
                            "PF5 assumed (efficiency 1)"),
}
INITIATOR_OF_REACTION = {"ring_opening_aziridine": "PF5", "radical_acrylate": "AIBN"}


@dataclass(frozen=True)
class InitiatorRecipe:
    """How much initiator the recipe holds: a mass fraction of the monomer, and its efficiency."""

    name: str
    weight_fraction_of_monomer: float
    efficiency: float

    @property
    def molar_mass_g_per_mol(self) -> float:
        return INITIATORS[self.name][0]

    @property
    def centres_per_molecule(self) -> int:
        return INITIATORS[self.name][1]


def initiator_chains(recipe: InitiatorRecipe, monomer_mass_g_per_mol: float, n_monomers: int) -> dict:
    """Kinetic chains started by the recipe's initiator in a box of ``n_monomers`` monomers.

    n_initiator = w m_monomer / M_initiator; chains = round(f x centres x n_initiator), at least 1 (a box
    with monomer and initiator holds at least one chain). Returns the count and the numbers behind it.
    """
    n_initiator = recipe.weight_fraction_of_monomer * n_monomers * monomer_mass_g_per_mol / recipe.molar_mass_g_per_mol
    expected = recipe.efficiency * recipe.centres_per_molecule * n_initiator
    return {"initiator": recipe.name, "weight_fraction_of_monomer": recipe.weight_fraction_of_monomer,
            "efficiency": recipe.efficiency, "centres_per_molecule": recipe.centres_per_molecule,
            "initiator_molecules": n_initiator, "expected_chains": expected,
            "kinetic_chains": max(1, int(round(expected))),
            "convention": "chains = max(1, round(f x centres x w x n_monomer M_monomer / M_initiator))",
            "reference": INITIATORS[recipe.name][3]}


@dataclass(frozen=True)
class Candidate:
    site_x: int
    site_y: int
    distance_nm: float
    initiation: bool = False


@dataclass
class ChainGrowth:
    """The kinetic chains of a build: how many may still start, which X sites are living ends."""

    initiations_left: int
    living: set[int] = field(default_factory=set)
    chain_of: dict[int, int] = field(default_factory=dict)  # site -> kinetic chain
    n_chains: int = 0
    undone: int = 0

    def candidates(self, graph: NetworkGraph, cutoff_nm: float,
                   rng: np.random.Generator | None = None) -> list[Candidate]:
        """Propagation pairs (a living X, the Y of an unreacted group), then initiation pairs while
        initiators are left (X and Y of two unreacted groups), each class closest first — or, with ``rng``,
        in random order (:func:`shuffled`: every group within the capture cutoff equally likely)."""
        unreacted = [k for k, s in enumerate(graph.sites) if not s.reacted]
        propagation = _pairs(graph, sorted(self.living), unreacted, cutoff_nm, initiation=False)
        initiation = (_pairs(graph, unreacted, unreacted, cutoff_nm, initiation=True)
                      if self.initiations_left > 0 else [])
        if rng is not None:
            propagation, initiation = shuffled(propagation, rng), shuffled(initiation, rng)
        return propagation + initiation

    def record(self, candidate: Candidate) -> None:
        """Book a bond just formed in the graph: a new chain, or the active end moved along."""
        i, j = candidate.site_x, candidate.site_y
        if candidate.initiation:
            self.initiations_left -= 1
            self.chain_of[i] = self.chain_of[j] = self.n_chains
            self.n_chains += 1
        else:
            self.living.remove(i)
            self.chain_of[j] = self.chain_of[i]
        self.living.add(j)

    def undo(self, candidate: Candidate) -> None:
        """Book a bond that was broken again (it could not be relaxed): the exact inverse of :meth:`record`."""
        i, j = candidate.site_x, candidate.site_y
        self.living.discard(j)
        del self.chain_of[j]
        if candidate.initiation:
            del self.chain_of[i]
            self.initiations_left += 1
            self.n_chains -= 1
        else:
            self.living.add(i)
        self.undone += 1

    def wants_more(self) -> bool:
        return bool(self.living) or self.initiations_left > 0


def shuffled(candidates: list[Candidate], rng: np.random.Generator) -> list[Candidate]:
    """``candidates`` in a random order drawn from ``rng`` (``partner_choice: random``).

    Addition of a living end to a double bond or an aziridine is activation-controlled (k_p ~ 1e2-1e4
    L/(mol s) for acrylates, many orders below the diffusion limit), so every group that is in reach of the
    end reacts with the same probability per unit time: the chance that the end adds a given group is that
    group's share of the groups within the capture cutoff, i.e. the local concentration sets the rate.
    Taking the closest group instead favours pendant groups of the end's own chain (bonded neighbours are
    closest). Measured on the 25 wt% demo PTPA box, the random order did not reduce the primary loops
    (11-12 against 7-12 closest first; README "Gel networks"), so ``nearest`` stays the default.
    """
    order = rng.permutation(len(candidates))
    return [candidates[i] for i in order]


def _pairs(graph: NetworkGraph, xs: list[int], ys: list[int], cutoff_nm: float, initiation: bool) -> list[Candidate]:
    if not xs or not ys:
        return []
    pos = graph.positions_array()
    px = pos[[graph.sites[k].x for k in xs]]
    py = pos[[graph.sites[k].y for k in ys]]
    dist = np.linalg.norm(minimum_image(py[None, :, :] - px[:, None, :], graph.box), axis=2)
    out = [Candidate(xs[a], ys[b], float(dist[a, b]), initiation)
           for a, b in zip(*np.nonzero(dist < cutoff_nm)) if xs[a] != ys[b]]
    out.sort(key=lambda c: (round(c.distance_nm, 6), graph.sites[c.site_x].x, graph.sites[c.site_y].y))
    return out
