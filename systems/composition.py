"""Composition -> molecule counts, with the rounding reported.

Conventions (stated in every manifest)
--------------------------------------
Solvents: the volume fractions φ_i are those of the pure solvents before mixing (ideal mixing, the way a
95:5 by volume PC/FEC blend is made at the bench). The mole fraction of solvent i is x_i ∝ φ_i ρ_i / M_i;
n_i = round(N x_i) for a target total of N solvent molecules, keeping at least one molecule of every
solvent with φ_i > 0. V_solv = Σ n_i M_i / (ρ_i N_A) is the ideal volume of the rounded solvent counts.

Salt: the molarity c is moles of salt per litre of SOLUTION (the bench definition of "1 M": salt dissolved
and made up to the mark). The solution volume is the solvent volume plus the salt's apparent molar volume
Φ per mole of salt (cm^3/mol):

    V_sol = V_solv + n Φ / N_A,      c = n / (N_A V_sol)
    =>  n = c N_A V_solv / (1 − c Φ)          (exact; Φ in L/mol inside the bracket)

rounded to an integer number of ion pairs.

A second salt (``additive_salt``, e.g. the founding paper's LE(TEA): LE + 0.1 M of a quaternary-ammonium
nitrate) is counted per litre of the same solution, which now holds both salts:

    V_sol = V_solv + Σ_k n_k Φ_k / N_A,      c_k = n_k / (N_A V_sol)
    =>  n_k = c_k N_A V_solv / (1 − Σ_j c_j Φ_j)

(one salt: the formula above). Each n_k is rounded to an integer; the realised molarity of each salt is
n_k / (N_A V_sol) at the V_sol of the rounded counts. The realised molarity n / (N_A V_sol) of the rounded count at
this ideal-mixing volume is reported; the one at the equilibrated volume comes later from the density
analysis (``analysis.density``, ``density.json``: ``realised_molarity_mol_per_L``).

Apparent molar volume. Φ is what one mole of dissolved salt adds to the volume:

    Φ = [1000 − (1000 ρ_sol − c M_salt) / ρ_0] / c        (cm^3/mol; ρ in g/cm^3, c in mol/L)

from the density ρ_sol of a solution of molarity c and the density ρ_0 of the neat solvent (one litre of
solution weighs 1000 ρ_sol g, of which c M_salt g is salt; the rest is solvent of volume (1000 ρ_sol −
c M_salt)/ρ_0; the remainder of the litre is the salt's). :data:`SALT_VOLUME_DATA` holds measured
densities per salt; Φ is derived from them at run time with the salt's molar mass. For NaPF6 in PC
(1 M: 1.291 g/cm^3; neat PC 1.199 g/cm^3; both at 298.2 K, the same laboratory's measurements) Φ =
63.4 cm^3/mol: ± 0.6 from the three-decimal rounding of the densities, ± 6 if each density is uncertain
by 0.005 g/cm^3. Counted per litre of solvent instead, "1 M" would be 1 / (1 + 0.0634) = 0.94 M.
Φ depends somewhat on the solvent and on c (Masson's rule, Φ = Φ_0 + S √c); the value measured in PC at
1 M is used for PC-rich mixtures (the founding paper's PC/FEC 95:5) and all concentrations; 10 cm^3/mol
error in Φ moves the counts by 1 % at 1 M.

For an additive at 0.1 M an error of 50 cm^3/mol in its Φ moves every count by 0.5 % (c Φ = 0.005).

Unknown salts: Φ falls back to the crystal volume M_salt / ρ_crystal with ρ_crystal = 2.37 g/cm^3 (the
crystal density of NaPF6, used for any salt without data; for NaPF6 itself it gives 70.9 cm^3/mol against
the measured 63.4). The composition records which source it used (``apparent_molar_volume_source``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from rdkit import Chem

from common.config import MAX_SALT_MOLARITY_MOL_PER_L, SystemSpec
from common.constants import AVOGADRO_PER_MOL, NM3_PER_CM3
from common.errors import ConfigError
from systems.species import Species, get_species

MAX_SALT_MOLARITY = MAX_SALT_MOLARITY_MOL_PER_L  # mol/L, checked again here for specs built in code
CM3_PER_L = 1000.0
FALLBACK_CRYSTAL_DENSITY_G_PER_CM3 = 2.37
"""Crystal density of NaPF6 (g/cm^3), used as Φ = M_salt / ρ_crystal for a salt without solution data."""

KUMAR_2026 = (
    "Kumar, Lai, Mezerkor, Wang, Wiaderek, Bazak, Blau, Crumlin, 'Prediction and Experimental Verification of "
    "Electrolyte Solvation Structure from an OMol25-Trained Interatomic Potential', arXiv:2603.20183 (2026), "
    "Table S1 (experimental densities at 298.2 K), as tabulated in the paper's dataset: GitHub "
    "KMNitesh05/sodium-ion-battery-electrolyte-dataset, data/na_ion_salt_concentrations_and_dens.csv "
    "(rows napf6_PC_1M 1.291, naotf_pc_1M 1.277, propylenecarbonate_pure 1.199 g/cm^3)")


@dataclass(frozen=True)
class SaltVolumeData:
    """A measured solution density from which a salt's apparent molar volume Φ is derived (module notes)."""

    solvent: str
    molarity_mol_per_L: float
    solution_density_g_per_cm3: float
    solvent_density_g_per_cm3: float
    temperature_K: float
    source: str

    def apparent_molar_volume_cm3_per_mol(self, salt_molar_mass_g_per_mol: float) -> float:
        """Φ = [1000 − (1000 ρ_sol − c M) / ρ_0] / c in cm^3/mol (module notes)."""
        c = self.molarity_mol_per_L
        solvent_cm3 = (CM3_PER_L * self.solution_density_g_per_cm3 - c * salt_molar_mass_g_per_mol) \
            / self.solvent_density_g_per_cm3
        return (CM3_PER_L - solvent_cm3) / c


SALT_VOLUME_DATA: dict[tuple[str, str], SaltVolumeData] = {
    # keyed by the canonical SMILES of (cation, anion), so that any species name for the same ions finds them
    (Chem.CanonSmiles("[Na+]"), Chem.CanonSmiles("F[P-](F)(F)(F)(F)F")):
        SaltVolumeData("PC", 1.0, 1.291, 1.199, 298.2, f"NaPF6 in PC, {KUMAR_2026}"),
    (Chem.CanonSmiles("[Na+]"), Chem.CanonSmiles("[O-]S(=O)(=O)C(F)(F)F")):
        SaltVolumeData("PC", 1.0, 1.277, 1.199, 298.2, f"NaOTf (sodium triflate) in PC, {KUMAR_2026}"),
}


@dataclass(frozen=True)
class Composition:
    """Molecule counts of one system and how far rounding moved them from the request.

    Volumes in nm^3; molarities in mol per litre of solution at the ideal-mixing volume
    ``solution_volume_nm3`` = ``solvent_volume_nm3`` + n_salt Φ / N_A (module notes).
    """

    MOLARITY_CONVENTION: ClassVar[str] = (
        "mol of salt per litre of solution (per litre of solution, not of solvent); ideal-mixing solution volume = "
        "pure-solvent volumes + n_salt x apparent molar volume of the salt")

    counts: dict[str, int]
    target_volume_fractions: dict[str, float]
    realised_volume_fractions: dict[str, float]
    target_salt_molarity_mol_per_L: float
    realised_salt_molarity_mol_per_L: float
    solvent_volume_nm3: float
    solution_volume_nm3: float
    apparent_molar_volume_cm3_per_mol: float | None
    apparent_molar_volume_source: str
    cation: str | None
    anion: str | None
    additive: dict | None = None
    """The second salt, when there is one: cation, anion, n_pairs, target and realised molarity (mol/L of solution),
    apparent molar volume (cm^3/mol) and its source."""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["molarity_convention"] = self.MOLARITY_CONVENTION
        return data


def apparent_molar_volume(cation: Species, anion: Species) -> tuple[float, str]:
    """Φ (cm^3/mol) of the 1:1 salt of ``cation`` and ``anion`` and where it comes from (module notes)."""
    molar_mass = cation.molar_mass_g_per_mol + anion.molar_mass_g_per_mol
    key = (Chem.CanonSmiles(cation.smiles), Chem.CanonSmiles(anion.smiles))
    data = SALT_VOLUME_DATA.get(key)
    if data is not None:
        return data.apparent_molar_volume_cm3_per_mol(molar_mass), (
            f"measured: from the density of {data.molarity_mol_per_L:g} M salt in {data.solvent} "
            f"({data.solution_density_g_per_cm3:g} g/cm^3) and of neat {data.solvent} "
            f"({data.solvent_density_g_per_cm3:g} g/cm^3) at {data.temperature_K:g} K; {data.source}")
    return molar_mass / FALLBACK_CRYSTAL_DENSITY_G_PER_CM3, (
        f"fallback: no solution density known for {cation.name}/{anion.name}; crystal volume M_salt / "
        f"{FALLBACK_CRYSTAL_DENSITY_G_PER_CM3:g} g/cm^3 (NaPF6's crystal density), a rough estimate")


def ion_pairs_for_molarity(concentration_mol_per_L: float, solvent_volume_nm3: float,
                           apparent_molar_volume_cm3_per_mol: float) -> float:
    """Exact (unrounded) ion-pair count n = c N_A V_solv / (1 − c Φ) giving molarity c per litre of solution."""
    return ion_pairs_for_molarities([concentration_mol_per_L], solvent_volume_nm3,
                                    [apparent_molar_volume_cm3_per_mol])[0]


def ion_pairs_for_molarities(concentrations_mol_per_L: list[float], solvent_volume_nm3: float,
                             apparent_molar_volumes_cm3_per_mol: list[float]) -> list[float]:
    """Exact (unrounded) ion-pair counts n_k = c_k N_A V_solv / (1 − Σ_j c_j Φ_j) of several salts, each at
    molarity c_k (mol/L) per litre of the one solution that holds them all (module notes)."""
    occupied = sum(c * phi / CM3_PER_L for c, phi in zip(concentrations_mol_per_L, apparent_molar_volumes_cm3_per_mol))
    if occupied >= 1.0:
        given = ", ".join(f"{c:g} mol/L x {phi:.4g} cm^3/mol"
                          for c, phi in zip(concentrations_mol_per_L, apparent_molar_volumes_cm3_per_mol))
        if len(concentrations_mol_per_L) == 1:
            allowed = f"c < {CM3_PER_L / apparent_molar_volumes_cm3_per_mol[0]:.3g} mol/L for this salt"
        else:
            allowed = "sum of c x volume < 1"
        raise ConfigError(f"salt concentration and apparent molar volume ({given}) would leave no room for "
                          f"solvent (sum of c x volume = {occupied:.3g} >= 1); allowed: {allowed}")
    litres = solvent_volume_nm3 / NM3_PER_CM3 / CM3_PER_L
    return [c * AVOGADRO_PER_MOL * litres / (1.0 - occupied) for c in concentrations_mol_per_L]


def solution_volume_nm3(solvent_volume_nm3: float, n_pairs: int, apparent_molar_volume_cm3_per_mol: float) -> float:
    """Ideal-mixing solution volume V_solv + n Φ / N_A in nm^3."""
    return solvent_volume_nm3 + n_pairs * apparent_molar_volume_cm3_per_mol / AVOGADRO_PER_MOL * NM3_PER_CM3


def molarity_mol_per_L(n_pairs: int, volume_nm3: float) -> float:
    """Salt molarity n / (N_A V) in mol/L for ``n_pairs`` ion pairs in ``volume_nm3``."""
    return n_pairs / (AVOGADRO_PER_MOL * volume_nm3 / NM3_PER_CM3 / CM3_PER_L)


def _solvent_counts(spec: SystemSpec, solvents: dict[str, Species]) -> tuple[dict[str, int], dict[str, float]]:
    """Solvent counts from the pure-solvent volume fractions (module notes) and their ideal volumes (nm^3)."""
    molar_concentration = {  # mol of molecules per cm^3 of mixture contributed by each solvent
        name: spec.solvent_volume_fractions[name] * s.density_g_per_cm3 / s.molar_mass_g_per_mol
        for name, s in solvents.items()
    }
    total = sum(molar_concentration.values())
    counts = {name: max(1, round(spec.n_solvent * c / total)) for name, c in molar_concentration.items()}
    volumes_nm3 = {name: counts[name] * s.molar_mass_g_per_mol / (s.density_g_per_cm3 * AVOGADRO_PER_MOL) * NM3_PER_CM3
                   for name, s in solvents.items()}
    return counts, volumes_nm3


def _salt_ions(spec: SystemSpec, species: dict[str, Species], key: str = "salt") -> tuple[Species, Species]:
    """The cation and anion of a 1:1 salt; ConfigError naming the key if they are not neutral together."""
    salt = getattr(spec, key)
    cation = get_species(salt.cation, species)
    anion = get_species(salt.anion, species)
    if cation.formal_charge + anion.formal_charge != 0:
        raise ConfigError(f"config key 'systems.{spec.name}.{key}': {cation.name} ({cation.formal_charge:+d}) and "
                          f"{anion.name} ({anion.formal_charge:+d}) do not form a neutral 1:1 salt; "
                          "only 1:1 salts are supported")
    return cation, anion


def _check_concentration(spec: SystemSpec, key: str = "salt") -> float:
    concentration = getattr(spec, key).concentration_mol_per_L
    if concentration > MAX_SALT_MOLARITY:
        raise ConfigError(f"config key 'systems.{spec.name}.{key}.concentration': {concentration:g} mol/L is "
                          f"above the {MAX_SALT_MOLARITY:g} mol/L this tool accepts (beyond solubility of Na "
                          "salts in carbonates); allowed: 0 to 4 mol/L")
    return concentration


def molecule_counts(spec: SystemSpec, species: dict[str, Species]) -> Composition:
    """Turn a system's volume fractions, salt molarity (per litre of solution) and size into molecule counts."""
    concentration = _check_concentration(spec)
    solvents = {name: get_species(name, species) for name in spec.solvent_volume_fractions}
    counts, volumes_nm3 = _solvent_counts(spec, solvents)
    solvent_volume = sum(volumes_nm3.values())
    realised_fractions = {name: v / solvent_volume for name, v in volumes_nm3.items()}

    # The salts present, main first: (config key, concentration, cation, anion, Φ, Φ source).
    salts = []
    for key in ("salt", "additive_salt"):
        if getattr(spec, key) is None or getattr(spec, key).concentration_mol_per_L <= 0:
            continue
        cation_species, anion_species = _salt_ions(spec, species, key)
        salts.append((key, _check_concentration(spec, key), cation_species, anion_species,
                      *apparent_molar_volume(cation_species, anion_species)))
    exact = ion_pairs_for_molarities([s[1] for s in salts], solvent_volume, [s[4] for s in salts])
    n_pairs = {}
    for (key, c, cation_species, anion_species, _, _), n in zip(salts, exact):
        n_pairs[key] = round(n)
        if n_pairs[key] < 1:
            raise ConfigError(f"config key 'systems.{spec.name}.n_solvent': {key} {c:g} mol/L in "
                              f"{spec.n_solvent} solvent molecules ({solvent_volume:.1f} nm^3) rounds to 0 ion "
                              f"pairs; allowed: a larger n_solvent, or systems.{spec.name}.{key}.concentration "
                              "'0 mol/L'")
        for ion in (cation_species, anion_species):
            if ion.name in counts:
                raise ConfigError(f"config key 'systems.{spec.name}.{key}': {ion.name} is already in the system; "
                                  "each species may come from one salt or solvent only")
            counts[ion.name] = n_pairs[key]
    solution_volume = solvent_volume
    for key, _, _, _, salt_phi, _ in salts:
        solution_volume = solution_volume_nm3(solution_volume, n_pairs[key], salt_phi)

    cation = anion = None
    realised_molarity = 0.0
    phi, phi_source = None, "no salt"
    additive = None
    for key, c, cation_species, anion_species, salt_phi, salt_phi_source in salts:
        realised = molarity_mol_per_L(n_pairs[key], solution_volume)
        if key == "salt":
            cation, anion = cation_species.name, anion_species.name
            realised_molarity, phi, phi_source = realised, salt_phi, salt_phi_source
        else:
            additive = {"cation": cation_species.name, "anion": anion_species.name, "n_pairs": n_pairs[key],
                        "target_molarity_mol_per_L": c, "realised_molarity_mol_per_L": realised,
                        "apparent_molar_volume_cm3_per_mol": salt_phi,
                        "apparent_molar_volume_source": salt_phi_source}
    return Composition(
        counts=counts,
        target_volume_fractions=dict(spec.solvent_volume_fractions),
        realised_volume_fractions=realised_fractions,
        target_salt_molarity_mol_per_L=concentration,
        realised_salt_molarity_mol_per_L=realised_molarity,
        solvent_volume_nm3=solvent_volume,
        solution_volume_nm3=solution_volume,
        apparent_molar_volume_cm3_per_mol=phi,
        apparent_molar_volume_source=phi_source,
        cation=cation,
        anion=anion,
        additive=additive,
    )
