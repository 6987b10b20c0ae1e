"""Experimental reference values that gelmd results are compared with — one place, each with its source.

Every entry gives the value, its unit in the key, the temperature, the citation and how the number was
checked. ``None`` means no verified measurement was found; the comparison then says so instead of
inventing a target.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    value: float
    uncertainty: float
    unit: str
    temperature_K: float
    source: str
    note: str = ""


DENSITY_G_PER_CM3: dict[str, Reference] = {
    "PC": Reference(
        1.200, 0.005, "g/cm^3", 298.15,
        "Propylene carbonate at 298.15 K. Checked: 1.197 g/cm^3 from the DIPPR-105 correlation with the "
        "ChemSep database constants (as shipped in FOSSEE/OMChemSim, Propylenecarbonate.mo); handbook "
        "values quoted without temperature reach 1.205 g/cm^3. Measured tables (e.g. Muhuri & Hazra, "
        "J. Chem. Eng. Data 39 (1994) 375) could not be read here.",
        "1.200 is the middle of the checked 1.197-1.205 spread; the uncertainty covers that spread",
    ),
}

# 1 M NaPF6 in PC (density, conductivity): no measurement could be read and verified here (Ponrouch et al.,
# Energy Environ. Sci. 5 (2012) 8572 holds one); the LE comparison reports "no verified experimental value".
CONDUCTIVITY_MS_PER_CM: dict[str, Reference] = {
    # The founding paper (Adv. Energy Mater. 2024, 2303791), room temperature, stainless-steel blocking cells.
    "GPE_PBMP": Reference(1.8, 0.0, "mS/cm", 298.15, "founding paper: GPE(PBMP) ionic conductivity ≈ 1.8 mS/cm"),
    "GPE_PTPA": Reference(0.62, 0.0, "mS/cm", 298.15, "founding paper: GPE(PTPA) ionic conductivity ≈ 0.62 mS/cm"),
}


def lookup(table: dict[str, Reference], key: str) -> Reference | None:
    """The reference for ``key`` or None when the key is empty or has no verified value."""
    return table.get(key) if key else None


@dataclass(frozen=True)
class UnverifiedClaim:
    """A literature value that could not be read and checked here: kept so that someone with access can
    verify it, never used as a comparison target (``lookup`` does not see these tables)."""

    value: float
    unit: str
    temperature_K: float
    claim: str
    searched: str


# Liquid electrolyte, 1 M NaPF6 in PC (the LE of the founding paper is PC/FEC 95:5 + 1 M NaPF6; the paper
# reports no LE conductivity). Transport issue 3, checked with the project's search tools on the stored
# literature pages: only abstracts were readable, none with the number.
UNVERIFIED_CONDUCTIVITY_MS_PER_CM: dict[str, UnverifiedClaim] = {
    "LE_NaPF6_PC_1M": UnverifiedClaim(
        7.98, "mS/cm", 298.15,
        "Issue 3 text: '1 M NaPF6 in PC ≈ 7.98 mS/cm at 25 °C', attributed (itself with a question mark) to "
        "Ponrouch et al., Energy Environ. Sci. 2012 / J. Mater. Chem. A 2013, 'Towards high energy density sodium "
        "ion batteries through electrolyte optimization'. Not verified: neither the paper nor its journal, "
        "volume and page could be read here.",
        "Found but could not read the value in: Ponrouch et al., 'Non-aqueous electrolytes for sodium-ion "
        "batteries', J. Mater. Chem. A 3 (2015) 22 (review, c4ta04428b; abstract only); Geng, Buchholz, ... "
        "Passerini, 'Influence of salt concentration on the properties of sodium-based electrolytes', Small "
        "Methods 2018, doi:10.1002/smtd.201800208 (measures 0.1/1/3 M NaPF6 in PC conductivity; abstract only).",
    ),
}
