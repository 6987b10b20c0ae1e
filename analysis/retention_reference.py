"""Measured vapour pressure and density of neat solvents, and the solvation free energy they imply.

For a neat liquid in equilibrium with its ideal vapour, μ_liq = μ_gas gives Ben-Naim's solvation free energy
(fixed position, gas at the same number density; the quantity alchemical decoupling computes):

    ΔG*_solv = −RT ln(c_liq / c_gas) = −RT ln(ρ_liq R T / (p_vap M)),

with c_liq = ρ_liq / M and c_gas = p_vap / (RT) (mol/m³). An error of a factor f in p_vap moves ΔG*_solv by
RT ln f (2.5 kJ/mol per factor e at 298 K), so the sources' spread is reported as the uncertainty.
"""

from __future__ import annotations

import math

from common.constants import MOLAR_GAS_CONSTANT_KJ_PER_MOL_K

MMHG_PA = 133.322368

NEAT_SOLVENT_REFERENCE = {
    "PC": {
        "temperature_K": 298.15,
        "vapour_pressure_Pa": 0.045 * MMHG_PA,
        "vapour_pressure_source": "0.045 mmHg at 25 °C: propylene carbonate data sheet (Sciencemadness wiki "
                                  "'Propylene carbonate' infobox, https://sciencemadness.org/smwiki/index.php?"
                                  "title=Propylene_carbonate, revision 2024-07-17)",
        "vapour_pressure_alternative_Pa": 0.13 * MMHG_PA,
        "vapour_pressure_alternative_source": "0.13 mmHg at 20 °C (Sigma-Aldrich product data, as listed at "
                                              "http://www.mywellwork.com/detail/productchemicalpropertiescb8852744_en.htm; "
                                              "also quoted with 0.98 mmHg at 50 °C in the Sciencemadness article)",
        "density_g_per_cm3": 1.205,
        "density_source": "1.205 g/cm^3 at 25 °C (Wikipedia 'Propylene carbonate' infobox; 1.204 g/mL at 25 °C, "
                          "Sigma-Aldrich)",
        "molar_mass_g_per_mol": 102.089,
    },
}
"""The two vapour-pressure sources differ by a factor ~2.9 (2.6 kJ/mol in ΔG*): the check is good to ±1.3 kJ/mol."""


def solvation_free_energy_from_vapour_pressure(residue: str, temperature_K: float) -> dict:
    """ΔG*_solv (kJ/mol) of the neat solvent from its measured p_vap and density (module formula), with the
    value from the alternative vapour pressure and half their difference as the uncertainty."""
    data = NEAT_SOLVENT_REFERENCE[residue]
    rt = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * data["temperature_K"]
    c_liq = data["density_g_per_cm3"] * 1e6 / data["molar_mass_g_per_mol"]          # mol/m^3

    def dg(p_pa: float) -> float:
        return -rt * math.log(c_liq / (p_pa / (rt * 1000.0)))

    value, alternative = dg(data["vapour_pressure_Pa"]), dg(data["vapour_pressure_alternative_Pa"])
    return {"residue": residue, "value_kJ_per_mol": value, "alternative_kJ_per_mol": alternative,
            "uncertainty_kJ_per_mol": 0.5 * abs(value - alternative), "temperature_K": data["temperature_K"],
            "simulation_temperature_K": temperature_K,
            "formula": "dG*_solv = -RT ln(rho_liq R T / (p_vap M))", **{k: v for k, v in data.items()
                                                                         if k != "temperature_K"}}
