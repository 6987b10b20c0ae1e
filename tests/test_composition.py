"""Composition -> counts: volume fractions and molarity turned into molecules, rounding reported."""

import pytest

from common.config import SaltSpec, SystemSpec
from common.errors import ConfigError
from common.constants import AVOGADRO_PER_MOL as AVOGADRO
from analysis.reference_data import DENSITY_G_PER_CM3
from systems.composition import (apparent_molar_volume, ion_pairs_for_molarity, molarity_mol_per_L, molecule_counts,
                                 solution_volume_nm3)
from systems.species import BUILTIN_SPECIES, Species


def spec(fractions, concentration, n_solvent=200):
    return SystemSpec(name="X", kind="electrolyte", solvent_volume_fractions=fractions,
                      salt=SaltSpec(cation="Na+", anion="PF6-", concentration_mol_per_L=concentration),
                      n_solvent=n_solvent, reference_density="", reference_conductivity="", viscosity_Pa_s=None)


def test_apparent_molar_volume_of_napf6_from_the_measured_densities():
    # By hand: 1 L of 1 M NaPF6/PC weighs 1291 g, 167.952 g of it salt; the 1123.048 g of PC fill
    # 1123.048 / 1.199 = 936.654 cm3, so the mole of salt takes 1000 - 936.654 = 63.35 cm3.
    assert DENSITY_G_PER_CM3["NaPF6_PC_1M"].value == 1.291  # the same measurement as the composition table
    phi, source = apparent_molar_volume(BUILTIN_SPECIES["Na+"], BUILTIN_SPECIES["PF6-"])
    assert phi == pytest.approx(63.35, abs=0.01)
    assert source.startswith("measured") and "arXiv:2603.20183" in source
    assert 1.0 / (1.0 + phi / 1000.0) == pytest.approx(0.940, abs=0.001)  # "1 M" per litre of solvent


def test_ion_pairs_from_the_solution_volume_by_hand():
    # 100 nm3 of solvent, 1 mol/L, 50 cm3/mol: n = 1 * 6.02214e23 * 1e-22 / (1 - 0.05) = 63.391
    assert ion_pairs_for_molarity(1.0, 100.0, 50.0) == pytest.approx(60.2214076 / 0.95, rel=1e-9)
    # 63 pairs in 100 + 63 * 50e21 / N_A nm3 = 105.2308 nm3 -> 63 / (N_A * 105.2308e-24 L) = 0.99414 mol/L
    assert molarity_mol_per_L(63, solution_volume_nm3(100.0, 63, 50.0)) == pytest.approx(0.99414, abs=1e-5)
    with pytest.raises(ConfigError, match=r"no room for solvent.*allowed: c < 20 mol/L"):
        ion_pairs_for_molarity(25.0, 100.0, 50.0)


def test_pc_fec_95_5_by_volume_with_1M_salt_by_hand():
    composition = molecule_counts(spec({"PC": 0.95, "FEC": 0.05}, 1.0, n_solvent=1000), BUILTIN_SPECIES)
    # By hand: PC 0.95*1.2047/102.09 = 0.011210 mol/cm3, FEC 0.05*1.454/106.05 = 0.000686 mol/cm3
    # -> x_FEC = 0.0577 -> 58 FEC, 942 PC; V_solv = (942*102.09/1.2047 + 58*106.05/1.454)/N_A cm3 = 139.58 nm3
    # -> per litre of solution: 1 * 139.58e-24 L * N_A / (1 - 1 * 0.06335) = 84.06 / 0.93665 = 89.7 -> 90 pairs
    # (84 per litre of solvent, the old convention).
    assert composition.counts == {"PC": 942, "FEC": 58, "Na+": 90, "PF6-": 90}
    assert composition.realised_volume_fractions["FEC"] == pytest.approx(0.05, abs=0.002)
    assert composition.solvent_volume_nm3 == pytest.approx(139.58, abs=0.01)
    phi = composition.apparent_molar_volume_cm3_per_mol
    assert composition.solution_volume_nm3 == pytest.approx(composition.solvent_volume_nm3 + 90 * phi / AVOGADRO * 1e21)
    volume_L = composition.solution_volume_nm3 * 1e-24
    assert 90 / (volume_L * AVOGADRO) == pytest.approx(composition.realised_salt_molarity_mol_per_L)
    assert composition.realised_salt_molarity_mol_per_L == pytest.approx(1.0027, abs=1e-4)
    assert composition.as_dict()["molarity_convention"].startswith("mol of salt per litre of solution")


def test_demo_liquid_electrolyte_counts():
    composition = molecule_counts(spec({"PC": 0.95, "FEC": 0.05}, 1.0, n_solvent=110), BUILTIN_SPECIES)
    # V_solv = 15.36 nm3: 9.25 pairs per litre of solvent (9 before), 9.25 / (1 - 0.06335) = 9.88 -> 10
    assert composition.counts == {"PC": 104, "FEC": 6, "Na+": 10, "PF6-": 10}
    assert composition.realised_salt_molarity_mol_per_L == pytest.approx(1.012, abs=0.001)


def test_unknown_salt_falls_back_to_the_crystal_volume():
    species = dict(BUILTIN_SPECIES, **{"TFA-": Species("TFA-", "O=C([O-])C(F)(F)F", "TFA", "anion")})
    s = SystemSpec(name="X", kind="electrolyte", solvent_volume_fractions={"PC": 1.0},
                   salt=SaltSpec(cation="Na+", anion="TFA-", concentration_mol_per_L=1.0), n_solvent=200,
                   reference_density="", reference_conductivity="", viscosity_Pa_s=None)
    composition = molecule_counts(s, species)
    molar_mass = species["Na+"].molar_mass_g_per_mol + species["TFA-"].molar_mass_g_per_mol
    assert composition.apparent_molar_volume_cm3_per_mol == pytest.approx(molar_mass / 2.37)
    assert composition.apparent_molar_volume_source.startswith("fallback")


def test_neat_solvent_has_no_ions():
    composition = molecule_counts(spec({"PC": 1.0}, 0.0, n_solvent=80), BUILTIN_SPECIES)
    assert composition.counts == {"PC": 80}
    assert composition.cation is None


def test_every_requested_solvent_keeps_at_least_one_molecule():
    composition = molecule_counts(spec({"PC": 0.99, "FEC": 0.01}, 0.0, n_solvent=20), BUILTIN_SPECIES)
    assert composition.counts["FEC"] == 1


def test_too_small_system_for_the_salt_is_an_error():
    with pytest.raises(ConfigError, match="rounds to 0 ion pairs"):
        molecule_counts(spec({"PC": 1.0}, 0.01, n_solvent=20), BUILTIN_SPECIES)


def test_impossible_concentration_is_refused():
    with pytest.raises(ConfigError, match=r"above the 4 mol/L.*allowed: 0 to 4 mol/L"):
        molecule_counts(spec({"PC": 1.0}, 12.0), BUILTIN_SPECIES)
