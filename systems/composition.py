"""Composition -> molecule counts, with the rounding reported.

Convention (stated in every manifest): the solvent volume fractions are those of the pure solvents before
mixing (ideal mixing, the way a 95:5 by volume PC/FEC blend is made at the bench), and the salt molarity is
moles of salt per litre of that solvent mixture. The salt's own volume is neglected, which makes the true
molarity of the solution a few percent lower than the nominal one; the equilibrated density reported later
gives the actual solution volume.

Counts: the mole fraction of solvent i in the mixture is x_i ∝ φ_i ρ_i / M_i; n_i = round(N x_i) for a
target total of N solvent molecules, keeping at least one molecule of every solvent with φ_i > 0. The
salt count is round(c V N_A) with V = Σ n_i M_i / (ρ_i N_A) the ideal solvent volume of the rounded counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from common.config import MAX_SALT_MOLARITY_MOL_PER_L, SystemSpec
from common.constants import AVOGADRO_PER_MOL, NM3_PER_CM3
from common.errors import ConfigError
from systems.species import Species, get_species

MAX_SALT_MOLARITY = MAX_SALT_MOLARITY_MOL_PER_L  # mol/L, checked again here for specs built in code


@dataclass(frozen=True)
class Composition:
    """Molecule counts of one system and how far rounding moved them from the request."""

    counts: dict[str, int]
    target_volume_fractions: dict[str, float]
    realised_volume_fractions: dict[str, float]
    target_salt_molarity_mol_per_L: float
    realised_salt_molarity_mol_per_L: float
    solvent_volume_nm3: float
    cation: str | None
    anion: str | None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["molarity_convention"] = "mol of salt per litre of ideally mixed solvent (salt volume neglected)"
        return data


def molecule_counts(spec: SystemSpec, species: dict[str, Species]) -> Composition:
    """Turn a system's volume fractions, salt molarity and target size into molecule counts."""
    solvents = {name: get_species(name, species) for name in spec.solvent_volume_fractions}
    concentration = spec.salt.concentration_mol_per_L
    if concentration > MAX_SALT_MOLARITY:
        raise ConfigError(f"config key 'systems.{spec.name}.salt.concentration': {concentration:g} mol/L is "
                          f"above the {MAX_SALT_MOLARITY:g} mol/L this tool accepts (beyond solubility of Na "
                          "salts in carbonates); allowed: 0 to 4 mol/L")
    molar_concentration = {  # mol of molecules per cm^3 of mixture contributed by each solvent
        name: spec.solvent_volume_fractions[name] * s.density_g_per_cm3 / s.molar_mass_g_per_mol
        for name, s in solvents.items()
    }
    total = sum(molar_concentration.values())
    counts = {name: max(1, round(spec.n_solvent * c / total)) for name, c in molar_concentration.items()}
    volumes_nm3 = {name: counts[name] * s.molar_mass_g_per_mol / (s.density_g_per_cm3 * AVOGADRO_PER_MOL) * NM3_PER_CM3
                   for name, s in solvents.items()}
    solvent_volume_nm3 = sum(volumes_nm3.values())
    realised_fractions = {name: v / solvent_volume_nm3 for name, v in volumes_nm3.items()}

    cation = anion = None
    realised_molarity = 0.0
    if concentration > 0:
        cation_species = get_species(spec.salt.cation, species)
        anion_species = get_species(spec.salt.anion, species)
        if cation_species.formal_charge + anion_species.formal_charge != 0:
            raise ConfigError(f"config key 'systems.{spec.name}.salt': {cation_species.name} "
                              f"({cation_species.formal_charge:+d}) and {anion_species.name} "
                              f"({anion_species.formal_charge:+d}) do not form a neutral 1:1 salt; "
                              "only 1:1 salts are supported")
        litres = solvent_volume_nm3 / NM3_PER_CM3 / 1000.0
        n_pairs = round(concentration * litres * AVOGADRO_PER_MOL)
        if n_pairs < 1:
            raise ConfigError(f"systems.{spec.name}: {concentration:g} mol/L in {spec.n_solvent} solvent "
                              f"molecules ({solvent_volume_nm3:.1f} nm^3) rounds to 0 ion pairs; raise "
                              "n_solvent or set the concentration to '0 mol/L'")
        counts[cation_species.name] = n_pairs
        counts[anion_species.name] = n_pairs
        cation, anion = cation_species.name, anion_species.name
        realised_molarity = n_pairs / (litres * AVOGADRO_PER_MOL)
    return Composition(
        counts=counts,
        target_volume_fractions=dict(spec.solvent_volume_fractions),
        realised_volume_fractions=realised_fractions,
        target_salt_molarity_mol_per_L=concentration,
        realised_salt_molarity_mol_per_L=realised_molarity,
        solvent_volume_nm3=solvent_volume_nm3,
        cation=cation,
        anion=anion,
    )
