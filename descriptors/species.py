"""The molecules the descriptors stage computes, and how a campaign's species map onto them.

Reacted units are the repeat unit of each network in its chain-interior state, with the bonds to the
neighbouring units capped by methyl groups (the same chemistry as the force-field templates BMM and TPM of
``forcefields/data/templates``, whose caps are NH2/CH3 fragments for charge fitting):

- ``BMP_reacted``: one ring-opened aziridine arm of PBMP, ethyl 3-[isopropyl(methyl)amino]propanoate —
  the backbone tertiary amine N(CH3) (N–CH3 = the bond to the previous unit's CH2), CH(CH3)CH3 (the CH2
  that bonds the next unit's N, capped by H), and the ester of the diol core cut at the O–CH2 (ethyl).
- ``TPA_reacted``: one polymerised acrylate arm of PTPA, ethyl isobutyrate — the backbone CH with its two
  backbone neighbours capped as CH3, the ester cut at the trimethylolpropane CH2 (ethyl).

``TMA+`` and ``NO3-`` are the ions of the paper's LE(TEA) additive (tetramethylammonium nitrate, as its text
names it); they are computed as isolated ions with a neutral Na, which is how the paper compares "Na to TEA".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DescriptorSpecies:
    name: str
    smiles: str
    charge: int
    description: str


SPECIES = {s.name: s for s in (
    DescriptorSpecies("PC", "CC1COC(=O)O1", 0, "propylene carbonate"),
    DescriptorSpecies("FEC", "O=C1OCC(F)O1", 0, "fluoroethylene carbonate"),
    DescriptorSpecies("BMP", "CC1CN1CCC(=O)OCCOC(=O)CCN1CC1C", 0,
                      "ethylene glycol bis[3-(2-methylaziridin-1-yl)propanoate], the PBMP crosslinker"),
    DescriptorSpecies("BMP_reacted", "CCOC(=O)CCN(C)C(C)C", 0,
                      "PBMP repeat unit, one ring-opened arm, methyl-capped (see module notes)"),
    DescriptorSpecies("TPA", "CCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C=C", 0,
                      "trimethylolpropane triacrylate, the PTPA crosslinker"),
    DescriptorSpecies("TPA_reacted", "CCOC(=O)C(C)C", 0,
                      "PTPA repeat unit, one polymerised acrylate arm, methyl-capped (see module notes)"),
    DescriptorSpecies("TMA+", "C[N+](C)(C)C", 1, "tetramethylammonium, the LE(TEA) cation"),
    DescriptorSpecies("NO3-", "[O-][N+](=O)[O-]", -1, "nitrate, the LE(TEA) anion"),
)}

#: Campaign species -> the descriptor species computed for it (a crosslinker brings its reacted unit).
CAMPAIGN_MAP = {"PC": ("PC",), "FEC": ("FEC",), "BMP": ("BMP", "BMP_reacted"), "TPA": ("TPA", "TPA_reacted"),
                "TMA+": ("TMA+",), "NO3-": ("NO3-",)}

#: The founding paper's names for its descriptor species (Fig. 1c–e, S4–S6), ours -> theirs.
PAPER_NAME = {"PC": "PC", "FEC": "FEC", "BMP": "BMP", "TPA": "TPA", "TMA+": "TEA"}


def species_for_campaign(campaign_species, extra=()) -> tuple[list[str], list[str]]:
    """(descriptor species to report, campaign species with no descriptor definition), in a stable order.
    ``campaign_species``: species names used by the config's systems; ``extra``: descriptor species
    always wanted (the config's ``descriptors.extra_species``)."""
    wanted, unknown = [], []
    for name in list(campaign_species) + list(extra):
        if name in SPECIES:
            targets = CAMPAIGN_MAP.get(name, (name,))
        elif name in CAMPAIGN_MAP:
            targets = CAMPAIGN_MAP[name]
        else:
            if name not in unknown:
                unknown.append(name)
            continue
        wanted += [t for t in targets if t not in wanted]
    order = list(SPECIES)
    return sorted(wanted, key=order.index), unknown
