"""Our descriptors beside the founding paper's, and how well the rankings agree (Kendall τ).

The paper's values (Zhang et al., main text and Fig. 1c–e, S4–S6 of
``shared/seed/pbmp-gel-electrolyte-paper.txt``): Na binding energy, Bader charge transfer Na → molecule,
LUMO energy. Its level of theory is not stated in the main text. "TEA" is the paper's name for its
tetramethylammonium nitrate additive; its charge transfer is compared with our TMA⁺.

Kendall's τ-b (scipy.stats.kendalltau) over the species that both have: +1 identical order, −1 reversed.
With 4–5 species τ takes only a few values (for n = 4: ±1, ±2/3, ±1/3, 0) and its p-value cannot be
small; the discordant pairs are listed so that a reader sees where the orders differ.
"""

from __future__ import annotations

from itertools import combinations

PAPER = {
    "binding": {"BMP": -1.02, "TPA": -0.37, "PC": -0.31, "FEC": -0.25},
    "lumo": {"BMP": 0.19, "FEC": 0.52, "TPA": 0.91, "PC": 1.0},
    "charge_transfer": {"BMP": 0.91, "TPA": 0.899, "FEC": 0.90, "PC": 0.889, "TEA": 0.868},
}
PAPER_UNITS = {"binding": "eV", "lumo": "eV", "charge_transfer": "e"}
PAPER_SOURCE = ("Zhang, Bian, Liu, Wang, Song, Shi, Zhao: PBMP gel polymer electrolyte for sodium metal batteries "
                "(founding paper), DFT: Fig. 1c (binding), 1d (Bader charge transfer), 1e (LUMO), S4–S6")
OUR_KEY = {"binding": "na_binding_eV", "lumo": "lumo_eV", "charge_transfer": "charge_transfer_e"}
#: Sort direction of the ranking: "first to react with Na" first (most negative binding, lowest LUMO,
#: largest charge transfer).
DESCENDING = {"binding": False, "lumo": False, "charge_transfer": True}


def kendall_tau(ours: dict[str, float], theirs: dict[str, float]) -> dict:
    """τ-b, its two-sided p-value, n, and the discordant pairs, over the common keys."""
    from scipy.stats import kendalltau

    common = sorted(set(ours) & set(theirs))
    out = {"n": len(common), "species": common}
    if len(common) < 2:
        return out | {"kendall_tau": None, "p_value": None, "discordant_pairs": [],
                      "note": "fewer than 2 species in common: no ranking to compare"}
    res = kendalltau([ours[k] for k in common], [theirs[k] for k in common])
    discordant = [[a, b] for a, b in combinations(common, 2)
                  if (ours[a] - ours[b]) * (theirs[a] - theirs[b]) < 0]
    tau = None if res.statistic != res.statistic else round(float(res.statistic), 4)  # NaN (ties) -> None
    p = None if res.pvalue != res.pvalue else round(float(res.pvalue), 4)
    return out | {"kendall_tau": tau, "p_value": p, "discordant_pairs": discordant}


def paper_comparison(species_records: dict[str, dict], paper_name: dict[str, str]) -> dict:
    """For each descriptor: our value, the paper's, both orders and Kendall τ.

    ``species_records``: our species name -> its record (keys of :data:`OUR_KEY`);
    ``paper_name``: our name -> the paper's (e.g. TMA+ -> TEA)."""
    out = {"source": PAPER_SOURCE}
    for what, paper in PAPER.items():
        ours = {paper_name[n]: r[OUR_KEY[what]] for n, r in species_records.items()
                if n in paper_name and r.get(OUR_KEY[what]) is not None}
        common = {k: v for k, v in ours.items() if k in paper}
        rank = sorted(common, key=lambda k: common[k], reverse=DESCENDING[what])
        paper_rank = sorted((k for k in paper if k in common), key=lambda k: paper[k], reverse=DESCENDING[what])
        out[what] = {
            "unit": PAPER_UNITS[what],
            "ours": {k: common[k] for k in rank}, "paper": {k: paper[k] for k in paper},
            "order_ours": rank, "order_paper": paper_rank,
            "missing_from_ours": sorted(set(paper) - set(common)),
        } | kendall_tau(common, paper)
    return out
