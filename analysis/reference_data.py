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
