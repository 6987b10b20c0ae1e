"""Species registry: every molecule gelmd can put in a box, from its SMILES.

Built-in species are the founding paper's (PC, FEC, Na+, PF6-), the two crosslinkers (BMP, TPA) and the ions
of its LE(TEA) reference electrolyte's additive salt (``additive_salt`` of a system): nitrate and the two
quaternary ammonium cations the paper's "TEA" may mean, tetramethylammonium (its text) and tetraethylammonium
(the usual meaning of the abbreviation). Their parameters are GAFF2 + RESP residue templates
(forcefields/data/templates/TMA.xml, TEA.xml, NO3.xml), not the ion force field of Na+ and PF6-.
A config may add more under ``species:``. Densities are those of the pure liquids at 298.15 K and are
used only to turn solvent volume fractions into molecule counts.

Citations for the densities (see also ``analysis/reference_data.py`` for the validation targets):
- PC: 1.2047 g/cm^3 at 298.15 K — the standard value for propylene carbonate (e.g. Moumouzias & Ritzoulis,
  J. Chem. Eng. Data 37 (1992) 482; tabulated within ±0.001 g/cm^3 by many J. Chem. Eng. Data studies).
- FEC: 1.454 g/cm^3 at 25 °C — supplier value (Sigma-Aldrich product 757349, 4-fluoro-1,3-dioxolan-2-one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rdkit import Chem
from rdkit.Chem import Descriptors

from common.config import GelmdConfig
from common.errors import ConfigError, SpeciesError
from forcefields.molecules import molecule_from_smiles  # the one SMILES reader

Role = Literal["solvent", "cation", "anion", "monomer"]


@dataclass(frozen=True)
class Species:
    """One molecular species: its SMILES, residue name, role and (solvents) pure-liquid density."""

    name: str
    smiles: str
    residue: str
    role: Role
    density_g_per_cm3: float | None = None
    description: str = ""

    @property
    def mol(self) -> Chem.Mol:
        """RDKit molecule with explicit hydrogens (a new object each call: callers may modify it)."""
        return molecule_from_smiles(self.smiles, self.name)

    @property
    def molar_mass_g_per_mol(self) -> float:
        return Descriptors.MolWt(self.mol)

    @property
    def formal_charge(self) -> int:
        return Chem.GetFormalCharge(self.mol)


BUILTIN_SPECIES: dict[str, Species] = {
    s.name: s
    for s in (
        Species("PC", "CC1COC(=O)O1", "PC", "solvent", 1.2047, "propylene carbonate"),
        Species("FEC", "O=C1OCC(F)O1", "FEC", "solvent", 1.454, "fluoroethylene carbonate"),
        Species("Na+", "[Na+]", "NA", "cation", None, "sodium cation"),
        Species("PF6-", "F[P-](F)(F)(F)(F)F", "PF6", "anion", None, "hexafluorophosphate anion"),
        # Bis-aziridine crosslinker: two 3-(2-methylaziridin-1-yl)propanoate arms on an ethylene-glycol core
        # (C14H24N2O4, 44 atoms). The diol core is our choice: the paper names only the arms.
        Species("BMP", "CC1CN1CCC(=O)OCCOC(=O)CCN1CC1C", "BMP", "monomer", None,
                "ethylene glycol bis(3-(2-methylaziridin-1-yl)propanoate)"),
        Species("TPA", "CCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C=C", "TPA", "monomer", None,
                "trimethylolpropane triacrylate"),
        # The LE(TEA) additive's ions (founding paper: LE + 0.1 M "TEA" nitrate).
        Species("TMA+", "C[N+](C)(C)C", "TMA", "cation", None, "tetramethylammonium cation"),
        Species("TEA+", "CC[N+](CC)(CC)CC", "TEA", "cation", None, "tetraethylammonium cation"),
        Species("NO3-", "[O-][N+](=O)[O-]", "NO3", "anion", None, "nitrate anion"),
    )
}


def registry(config: GelmdConfig | None = None) -> dict[str, Species]:
    """Built-in species plus those a config declares (residue names are unique by config validation)."""
    species = dict(BUILTIN_SPECIES)
    if config is not None:
        for name, decl in config.species.items():
            species[name] = Species(name, decl.smiles, decl.residue, decl.role, decl.density_g_per_cm3)
    return species


def check_declared_species(config: GelmdConfig) -> None:
    """Parse every SMILES a config gives (declared species, a gel's ``monomer_smiles``): RDKit must read it,
    its elements must be supported and it must be closed-shell; a ConfigError names the config key."""
    smiles_by_key = {f"species.{name}.smiles": (decl.smiles, name) for name, decl in config.species.items()}
    smiles_by_key |= {f"systems.{s.name}.monomer_smiles": (s.network.monomer_smiles, s.network.monomer)
                      for s in config.systems.values() if s.network is not None and s.network.monomer_smiles}
    for key, (smiles, name) in smiles_by_key.items():
        try:
            molecule_from_smiles(smiles, name)
        except SpeciesError as exc:
            raise ConfigError(f"config key '{key}': {exc}") from exc


def get_species(name: str, species: dict[str, Species]) -> Species:
    try:
        return species[name]
    except KeyError:
        raise SpeciesError(f"unknown species {name!r}; known species: {sorted(species)}") from None
