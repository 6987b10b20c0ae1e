"""Config errors: each bad input gives one clear error naming the key and what is allowed."""

import copy

import pytest

from common.config import read_yaml
from common.errors import ConfigError, UnitError
from common.units import parse_quantity
from systems.species import load_config

DEMO = read_yaml("config/demo.yaml")


def with_change(path: str, value):
    raw = copy.deepcopy(DEMO)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return raw


def test_demo_and_paper_configs_validate_with_defaults_filled():
    demo = load_config(DEMO)
    assert demo.temperature_K == pytest.approx(298.15)
    assert demo.protocol.timestep_ps == pytest.approx(0.004)  # with HMR
    assert demo.forcefield.hydrogen_mass_amu == pytest.approx(3.024)
    assert demo.systems["LE"].viscosity_Pa_s is None
    assert demo.forcefield.ion_charge_scale == 0.8  # schema default
    assert demo.systems["LE"].salt.concentration_mol_per_L == 1.0
    paper = load_config(read_yaml("config/config.yaml"))
    assert paper.protocol.timestep_ps == pytest.approx(0.004)


@pytest.mark.parametrize("text, dimension, expected", [
    ("300 K", "temperature", 300.0), ("2 fs", "time", 0.002), ("1 ns", "time", 1000.0),
    ("10 Å", "length", 1.0), ("1 atm", "pressure", 1.01325), ("500 mM", "concentration", 0.5),
    ("2.5 mPa s", "viscosity", 0.0025), ("2.5 cP", "viscosity", 0.0025),
])
def test_quantities_convert_to_internal_units(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected)


def test_wrong_key_is_named_with_allowed_keys():
    with pytest.raises(ConfigError, match=r"protocol.*unknown key.*'timestpe'.*allowed keys.*'timestep'"):
        load_config(with_change("protocol.timestpe", "2 fs"))


def test_bad_unit_names_key_and_allowed_units():
    with pytest.raises(UnitError, match=r"protocol.timestep.*'2 kg'.*allowed.*fs"):
        load_config(with_change("protocol.timestep", "2 kg"))


def test_bare_number_is_refused():
    with pytest.raises(UnitError, match="temperature.*needs a unit"):
        load_config(with_change("temperature", "300"))


def test_negative_concentration():
    with pytest.raises(ConfigError, match=r"systems.LE.salt.concentration.*negative"):
        load_config(with_change("systems.LE.salt.concentration", "-1 mol/L"))


def test_volume_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match=r"systems.LE.solvents.*sum to 0.9.*must sum to 1"):
        load_config(with_change("systems.LE.solvents", {"PC": 0.85, "FEC": 0.05}))


def test_unknown_species_lists_known_ones():
    with pytest.raises(ConfigError, match=r"systems.LE.solvents.DMC.*unknown species.*known species.*'PC'"):
        load_config(with_change("systems.LE.solvents", {"PC": 0.5, "DMC": 0.5}))


def test_ion_as_solvent_is_refused():
    with pytest.raises(ConfigError, match="is a cation, not a solvent"):
        load_config(with_change("systems.LE.solvents", {"PC": 0.5, "Na+": 0.5}))


def test_timestep_above_2_fs_needs_hmr():
    without_hmr = with_change("forcefield", {})
    without_hmr["protocol"]["timestep"] = "4 fs"
    with pytest.raises(ConfigError, match="too long.*hydrogen_mass"):
        load_config(without_hmr)
    raw = with_change("protocol.timestep", "4 fs")
    raw["forcefield"] = {"hydrogen_mass": "3.024 amu"}
    assert load_config(raw).protocol.timestep_ps == pytest.approx(0.004)


def test_enum_values_are_listed():
    with pytest.raises(ConfigError, match=r"engine.platform.*'Metal'.*allowed values.*CUDA"):
        load_config(with_change("engine.platform", "Metal"))


def test_declared_species_with_bad_smiles_fails_before_any_job():
    raw = with_change("species.DMC", {"smiles": "C(=O", "residue": "DMC", "role": "solvent",
                                      "density": "1.07 g/cm^3"})
    with pytest.raises(ValueError, match="cannot parse SMILES"):
        load_config(raw)


def test_declared_species_with_unsupported_element():
    raw = with_change("species.DMS", {"smiles": "CS(C)=O", "residue": "DMS", "role": "solvent",
                                      "density": "1.1 g/cm^3"})
    with pytest.raises(ValueError, match=r"element\(s\) \['S'\].*supported"):
        load_config(raw)


def test_residue_names_longer_than_the_pdb_keeps_are_refused():
    raw = with_change("species.DMS", {"smiles": "CC(C)=O", "residue": "ACET", "role": "solvent",
                                      "density": "0.78 g/cm^3"})
    with pytest.raises(ConfigError, match=r"species.DMS.residue.*'ACET'.*\{1,3\}"):
        load_config(raw)


def test_production_chunk_must_hold_whole_frames():
    with pytest.raises(ConfigError, match="whole number of trajectory_interval"):
        load_config(with_change("protocol.trajectory_interval", "3 ps"))


def test_viscosity_is_read_with_its_unit():
    cfg = load_config(with_change("systems.LE.viscosity", "2.53 mPa s"))
    assert cfg.systems["LE"].viscosity_Pa_s == pytest.approx(2.53e-3)
    with pytest.raises(UnitError, match=r"systems.LE.viscosity.*allowed.*mPa s"):
        load_config(with_change("systems.LE.viscosity", "2.53 bar"))


def test_impossible_concentration_is_refused_before_any_job():
    with pytest.raises(ConfigError, match=r"systems.LE.salt.concentration.*above 4 mol/L"):
        load_config(with_change("systems.LE.salt.concentration", "12 mol/L"))


def gpe(**keys):
    raw = copy.deepcopy(DEMO)
    raw["systems"]["GPE"] = {"kind": "gpe", "solvents": {"PC": 0.95, "FEC": 0.05},
                             "salt": {"cation": "Na+", "anion": "PF6-", "concentration": "1 mol/L"}, **keys}
    return raw


def test_gpe_system_keys_are_checked():
    cfg = load_config(gpe(monomer="TPA", polymer_weight_fraction=0.05))
    assert cfg.systems["GPE"].kind == "gpe" and cfg.systems["GPE"].monomer == "TPA"
    assert cfg.systems["LE"].monomer is None
    with pytest.raises(ConfigError, match=r"systems.GPE.monomer.*'PC' is not a known monomer.*BMP.*TPA"):
        load_config(gpe(monomer="PC"))
    with pytest.raises(ConfigError, match=r"polymer_weight_fraction"):
        load_config(gpe(polymer_weight_fraction=1.5))
    with pytest.raises(ConfigError, match=r"reaction.*allowed values.*radical_acrylate"):
        load_config(gpe(reaction="polycondensation"))
    with pytest.raises(UnitError, match=r"systems.GPE.bond_cutoff"):
        load_config(gpe(bond_cutoff="5 kg"))


def test_network_keys_on_an_electrolyte_are_refused():
    with pytest.raises(ConfigError, match=r"systems.LE.target_conversion.*only allowed for kind 'gpe'"):
        load_config(with_change("systems.LE.target_conversion", 0.8))
