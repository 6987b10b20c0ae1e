"""Composition -> counts: volume fractions and molarity turned into molecules, rounding reported."""

import pytest

from common.config import SaltSpec, SystemSpec
from common.errors import ConfigError
from common.constants import AVOGADRO_PER_MOL as AVOGADRO
from systems.composition import molecule_counts
from systems.species import BUILTIN_SPECIES


def spec(fractions, concentration, n_solvent=200):
    return SystemSpec(name="X", kind="electrolyte", solvent_volume_fractions=fractions,
                      salt=SaltSpec(cation="Na+", anion="PF6-", concentration_mol_per_L=concentration),
                      n_solvent=n_solvent, reference_density="", reference_conductivity="", viscosity_Pa_s=None)


def test_pc_fec_95_5_by_volume_with_1M_salt_by_hand():
    composition = molecule_counts(spec({"PC": 0.95, "FEC": 0.05}, 1.0, n_solvent=1000), BUILTIN_SPECIES)
    # By hand: PC 0.95*1.2047/102.09 = 0.011210 mol/cm3, FEC 0.05*1.454/106.05 = 0.000686 mol/cm3
    # -> x_FEC = 0.0577 -> 58 FEC, 942 PC; V = (942*102.09/1.2047 + 58*106.05/1.454)/N_A cm3 = 139.6 nm3
    # -> 1 mol/L * 139.6e-24 L * N_A = 84.1 -> 84 ion pairs.
    assert composition.counts == {"PC": 942, "FEC": 58, "Na+": 84, "PF6-": 84}
    assert composition.realised_volume_fractions["FEC"] == pytest.approx(0.05, abs=0.002)
    assert composition.realised_salt_molarity_mol_per_L == pytest.approx(1.0, abs=0.01)
    volume_L = composition.solvent_volume_nm3 * 1e-24
    assert 84 / (volume_L * AVOGADRO) == pytest.approx(composition.realised_salt_molarity_mol_per_L)


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
