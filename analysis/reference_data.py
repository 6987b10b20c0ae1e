"""Experimental reference values that gelmd results are compared with — one place, each with its source.

Every entry gives the value, its unit in the key, the temperature, the citation and how the number was
checked. ``None`` means no verified measurement was found; the comparison then says so instead of
inventing a target.

``Reference.measured_in`` says what sample the number was measured on. Only a ``BULK`` value may be set
against a simulated bulk number; a value measured on a composite (a gel held in a glass-fibre membrane,
whose fibres block part of the cross-section and lengthen the ion path) is compared only as a ratio with
another value measured the same way, in which the membrane's geometric factor cancels
(:func:`same_sample_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass


BULK = "bulk"
"""``Reference.measured_in`` of a value measured on the bulk material, comparable with a bulk simulation."""
GLASS_FIBRE_MEMBRANE = "gel held in a glass-fibre membrane (~25 um), stainless-steel blocking electrodes"
"""``Reference.measured_in`` of the founding paper's gel conductivities (its GPE films contain a glassy fibre
membrane: seed/pbmp-gel-electrolyte-paper.txt, 'PBMP-based GPE containing glassy fiber membrane')."""


@dataclass(frozen=True)
class Reference:
    """One measured value; ``uncertainty`` 0 means the source gives none (not that the value is exact)."""

    value: float
    uncertainty: float
    unit: str
    temperature_K: float
    source: str
    note: str = ""
    measured_in: str = BULK

    @property
    def comparable_with_bulk(self) -> bool:
        """True when a simulated bulk value may be compared with this one directly (a per-system deviation)."""
        return self.measured_in == BULK


DENSITY_G_PER_CM3: dict[str, Reference] = {
    "PC": Reference(
        1.200, 0.005, "g/cm^3", 298.15,
        "Propylene carbonate at 298.15 K. Checked: 1.197 g/cm^3 from the DIPPR-105 correlation with the "
        "ChemSep database constants (as shipped in FOSSEE/OMChemSim, Propylenecarbonate.mo); handbook "
        "values quoted without temperature reach 1.205 g/cm^3. Measured tables (e.g. Muhuri & Hazra, "
        "J. Chem. Eng. Data 39 (1994) 375) could not be read here.",
        "1.200 is the middle of the checked 1.197-1.205 spread; the uncertainty covers that spread",
    ),
    "NaPF6_PC_1M": Reference(
        1.291, 0.005, "g/cm^3", 298.2,
        "1.0 M NaPF6 in PC, experimental density at 298.2 K, Kumar, Lai, Mezerkor, Wang, Wiaderek, Bazak, Blau, "
        "Crumlin, 'Prediction and Experimental Verification of Electrolyte Solvation Structure from an "
        "OMol25-Trained Interatomic Potential', arXiv:2603.20183 (2026), Table S1. Checked in the paper's "
        "dataset (GitHub KMNitesh05/sodium-ion-battery-electrolyte-dataset, "
        "data/na_ion_salt_concentrations_and_dens.csv, row 'napf6_PC_1M.xyz ... exp_density_g_cm3 1.291'; its "
        "README: 'Experimental density at 298.2 K (g cm-3), from Table S1 of the paper', listing NaPF6 in PC "
        "among the 1.0 M electrolytes). A second script reading the same group's measurement sheet gives "
        "'NaPF6-PC: 1.29088' g/mL ('Experimental densities (g/mL) from 298.2 K sheet'). The paper itself and "
        "its Table S1 could not be read here.",
        "the dataset gives no uncertainty; 0.005 g/cm^3 is assumed. The same dataset lists neat PC at 1.199 "
        "(consistent with the PC entry above) and 0.1 M NaPF6/PC at 1.206 g/cm^3. Used for the LE (PC/FEC 95:5 "
        "v/v + 1 M NaPF6) as the nearest measured electrolyte: ideal mixing of 5 vol% FEC (1.454 g/cm^3) in PC "
        "raises the density by about 0.012 g/cm^3 (~1 %), so an exact model would read ~1 % below 1.30",
    ),
}

# Neat propylene carbonate viscosity. No measured table could be read here; the value is the ChemSep
# database's DIPPR-101 correlation evaluated at 298.15 K, the same database as the PC density check above.
VISCOSITY_PA_S: dict[str, Reference] = {
    "PC": Reference(
        2.52e-3, 0.15e-3, "Pa s", 298.15,
        "Propylene carbonate at 298.15 K from the DIPPR-101 liquid-viscosity correlation of the ChemSep "
        "database (FOSSEE/OMChemSim, Simulator/Files/ChemsepDatabase/Propylenecarbonate.mo: "
        "'LiqVis = {101, -818.33, 28057, 129.62, -0.00022812, 2}', ln(mu/Pa s) = A + B/T + C ln T + D T^E), "
        "which gives 2.523 mPa s at 298.15 K (2.75 at 293.15 K, 2.32 at 303.15 K).",
        "a correlation of measured data, not a measurement read here; the uncertainty (about 6%) is an "
        "assumed allowance for the correlation. Cross-check (viscosity issue 9): a tabulation of PC properties "
        "(benchchem.com, product B149911 technical guide, Table 1) lists 2.5 mPa s at 25 C and 2.76 mPa s at 20 C, "
        "consistent with the correlation",
    ),
}
# 1 M NaPF6 in PC (nearest measured electrolyte to the LE): no measured viscosity could be read here. Searched
# (issue 9): Seki et al., J. Electrochem. Soc. 165 (2018) A542 (PC + Li, Na, Mg, Ca salts: density, viscosity,
# conductivity; only the title page readable, and its Na salt is not NaPF6), Kuratani et al., J. Power Sources 223
# (2013) 175 (NaClO4 in PC, not NaPF6). The LE viscosity is therefore reported without an experimental target
# (analysis.viscosity says so); 1 M Na/Li salts in PC typically raise the viscosity 2-3x over neat PC, which is the
# order of magnitude to expect, not a comparison value. An unverified candidate, 7.28 mPa s (a measurement sheet
# quoted in a public repository, 2.9x neat PC), is in UNVERIFIED_NAPF6_PC_1M_SHEET at the end of this module.

# Self-diffusion of neat PC (e.g. Hayamizu's PGSE-NMR work): no table with the number could be read here
# (only the opening pages of Hayamizu, J. Chem. Eng. Data 57 (2012) 2012 and Seki et al., J. Electrochem. Soc. 165
# (2018) A542; searched again 2026-12-03 with Kondo et al., J. Phys. Chem. B 104 (2000) 5040, whose PC series starts
# at 0 M: abstract only), so no SELF_DIFFUSION table is given. Unverified candidates for 1 M NaPF6/PC: below.

# 1 M NaPF6 in PC conductivity: no measurement could be read and verified here (Ponrouch et al., Energy
# Environ. Sci. 5 (2012) 8572 holds one); the LE comparison reports "no verified experimental value".
CONDUCTIVITY_MS_PER_CM: dict[str, Reference] = {
    # The founding paper (Adv. Energy Mater. 2024, 2303791), room temperature, stainless-steel blocking cells.
    # Both gels were measured as films containing a glass-fibre membrane: compared only as their ratio
    # (1.8 / 0.62 ≈ 2.9), never each against a simulated bulk gel.
    "GPE_PBMP": Reference(1.8, 0.0, "mS/cm", 298.15, "founding paper: GPE(PBMP) ionic conductivity ≈ 1.8 mS/cm",
                          measured_in=GLASS_FIBRE_MEMBRANE),
    "GPE_PTPA": Reference(0.62, 0.0, "mS/cm", 298.15, "founding paper: GPE(PTPA) ionic conductivity ≈ 0.62 mS/cm",
                          measured_in=GLASS_FIBRE_MEMBRANE),
}


def lookup(table: dict[str, Reference], key: str) -> Reference | None:
    """The reference for ``key`` or None when the key is empty or has no verified value."""
    return table.get(key) if key else None


def same_sample_pairs(table: dict[str, Reference], keys: list[str]) -> list[tuple[str, str]]:
    """Pairs (a, b) of ``keys`` whose values were measured on the same kind of non-bulk sample and in the
    same unit, each pair once, the larger value first: the ratios in which a composite's geometry cancels.
    """
    pairs = []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            ra, rb = table[a], table[b]
            if ra.comparable_with_bulk or ra.measured_in != rb.measured_in or ra.unit != rb.unit:
                continue
            pairs.append((a, b) if ra.value >= rb.value else (b, a))
    return pairs


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
        "A recollection of the lead developer, given to the analysis engineer as a value to check (it is not in "
        "the issue text): '1 M NaPF6 in PC ≈ 7.98 mS/cm at 25 °C', attributed with a question mark to Ponrouch "
        "et al., Energy Environ. Sci. 2012 / J. Mater. Chem. A 2013. Not verified: neither paper could be read "
        "here, so the number may be wrong.",
        "Found but could not read the value in: Ponrouch et al., 'Non-aqueous electrolytes for sodium-ion "
        "batteries', J. Mater. Chem. A 3 (2015) 22 (review, c4ta04428b; abstract only); Geng, Buchholz, ... "
        "Passerini, 'Influence of salt concentration on the properties of sodium-based electrolytes', Small "
        "Methods 2018, doi:10.1002/smtd.201800208 (measures 0.1/1/3 M NaPF6 in PC conductivity; abstract only). "
        "Second search (stored pages, docs, issues, code, exact-string search of public repositories): the "
        "stored copies of Seki et al., J. Electrochem. Soc. 165 (2018) A542, Kuratani et al., J. Power Sources "
        "223 (2013) 175 (NaClO4/PC), the Ponrouch 2015 review and Zenodo record 16755947 showed only title "
        "pages or abstracts; no repository file tabulates a measured 1 M NaPF6/PC conductivity.",
    ),
}


# 1 M NaPF6 in PC at 298 K from one research group's measurement sheet, as tabulated in a public repository
# (found 2026-12-03 with the project's search tools): a second candidate beside the recollection above, and the only
# one with self-diffusion coefficients and a viscosity of this electrolyte. Unverified (``_NAPF6_PC_SHEET_CAVEATS``):
# shown beside the model as a ratio, never a deviation.
_NAPF6_PC_SHEET_ORIGIN = (
    "GitHub repository ishanthewizard/MLFF-distill; it also lists the density 'NaPF6-PC: 1.29088' g/mL from an "
    "'Experimental densities (g/mL) from 298.2 K sheet', the value the DENSITY_G_PER_CM3 entry above checks against "
    "arXiv:2603.20183's dataset: the sheet appears to be that group's measurements. No citation is given.")
_NAPF6_PC_IONICITY_ROW = (
    "draft/ionicity/ionicity_opls.csv (commit 2bcf950), row 'napf6_pc,1.0,298.0,6.5052,...,1.29,1.76,...' under the "
    "header 'system_id,conc,T,sigma_exp,sigma_sim,Dp_exp,Dm_exp,...' (sigma in mS/cm, D in 1e-10 m^2/s: its sNE_exp "
    "11.46 mS/cm and alpha_exp 0.568 follow from these D and sigma, so the units are as read). ")
_NAPF6_PC_CORRECTION_ROW = (
    "plotting/diffusivity_correction/'main - correction.csv' (commit 8863246), row 'Na,PF6,PC,298K,1M,...': "
    "'exp solvent diffusivity' 2.43 (1e-10 m^2/s, the unit of its other D columns) and 'viscosity' 7.284 (mPa s: "
    "1.145 for 1 M NaOTf/DME in the same column). ")
_NAPF6_PC_SHEET_CAVEATS = (
    "Not verified: the sheet itself ('Updated data of density, viscosity, and diffusivity.xlsx') is not public. The "
    "correction file gives for NaPF6/PC a blank cation D and an anion D of 0.579 (the ionicity file: 1.76), and the "
    "ionicity file lists 0.5 M LiPF6/DME at 5.676 mS/cm at both 273 and 298 K, a copying slip. The ionicity row is "
    "the self-consistent one: Stokes-Einstein (slip) with 7.28 mPa s and a 0.25 nm radius gives 1.8e-10 m^2/s for "
    "PF6-, and 0.579 would make the ionicity 0.93, unlike a 1 M carbonate electrolyte.")

UNVERIFIED_NAPF6_PC_1M_SHEET: dict[str, UnverifiedClaim] = {
    "sigma_mS_per_cm": UnverifiedClaim(6.5052, "mS/cm", 298.0, _NAPF6_PC_IONICITY_ROW + _NAPF6_PC_SHEET_ORIGIN,
                                       _NAPF6_PC_SHEET_CAVEATS),
    "D_Na_m2_per_s": UnverifiedClaim(1.29e-10, "m^2/s", 298.0, _NAPF6_PC_IONICITY_ROW + _NAPF6_PC_SHEET_ORIGIN,
                                     _NAPF6_PC_SHEET_CAVEATS),
    "D_PF6_m2_per_s": UnverifiedClaim(1.76e-10, "m^2/s", 298.0, _NAPF6_PC_IONICITY_ROW + _NAPF6_PC_SHEET_ORIGIN,
                                      _NAPF6_PC_SHEET_CAVEATS),
    "D_PC_m2_per_s": UnverifiedClaim(2.43e-10, "m^2/s", 298.0, _NAPF6_PC_CORRECTION_ROW + _NAPF6_PC_SHEET_ORIGIN,
                                     _NAPF6_PC_SHEET_CAVEATS),
    "viscosity_Pa_s": UnverifiedClaim(7.284e-3, "Pa s", 298.0, _NAPF6_PC_CORRECTION_ROW + _NAPF6_PC_SHEET_ORIGIN,
                                      _NAPF6_PC_SHEET_CAVEATS),
}
