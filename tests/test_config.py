"""Config errors: each bad input gives one clear error naming the key and what is allowed."""

import copy

import pytest

import configs
from common.config import read_yaml
from common.errors import ConfigError, UnitError
from common.units import parse_quantity
from workflow.config_vocabulary import load_workflow_config as load_config

DEMO = read_yaml("config/demo.yaml")
DEMO_PATH = "config/demo.yaml"


def with_change(path: str, value):
    """The demo config with the dotted key ``path`` set to ``value``."""
    return configs.with_change(DEMO, path, value)


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
    with pytest.raises(ConfigError, match="species.DMC.*cannot parse SMILES"):
        load_config(raw)


def test_declared_species_with_unsupported_element():
    raw = with_change("species.DMS", {"smiles": "CS(C)=O", "residue": "DMS", "role": "solvent",
                                      "density": "1.1 g/cm^3"})
    with pytest.raises(ConfigError, match=r"species.DMS.*element\(s\) \['S'\].*supported"):
        load_config(raw)


def test_residue_names_longer_than_the_pdb_keeps_are_refused():
    raw = with_change("species.DMS", {"smiles": "CC(C)=O", "residue": "ACET", "role": "solvent",
                                      "density": "0.78 g/cm^3"})
    with pytest.raises(ConfigError, match=r"species.DMS.residue.*'ACET'.*\{1,3\}"):
        load_config(raw)


def test_a_production_too_short_for_the_diffusion_fit_is_refused_before_any_run():
    with pytest.raises(ConfigError, match=r"give 40 frames; the diffusion fit needs at least 50"):
        load_config(with_change("protocol.production_duration", "20 ps"))
    with pytest.raises(ConfigError, match=r"\(after transport_discard 16 ps\) give 48 frames"):
        load_config(with_change("protocol.transport_discard", "16 ps"))
    assert load_config(with_change("protocol.transport_discard", "15 ps")).protocol.transport_discard_ps == 15.0


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


# ---- issue 7: everything the config can know is checked before any job, by key -------------------------

from common.config import GelmdConfig, read_resolved_config, stage_inputs  # noqa: E402
from tests.configs import write_resolved  # noqa: E402
from workflow.config_vocabulary import load_workflow_config_files  # noqa: E402


@pytest.mark.parametrize("key, value, pattern", [
    ("systems.LE.reference_density", "NaPF6_PC_2M", r"systems.LE.reference_density.*'NaPF6_PC_2M'.*allowed.*'PC'"),
    ("systems.LE.reference_conductivity", "LE_typo",
     r"systems.LE.reference_conductivity.*'LE_typo'.*allowed.*GPE_PBMP"),
    ("systems.LE.viscosity", "0 mPa s", r"systems.LE.viscosity.*'0 mPa s'.*> 0"),
    ("systems.LE.viscosity", "-2 mPa s", r"systems.LE.viscosity.*'-2 mPa s'.*> 0"),
    ("protocol.trajectory_interval", "10 fs", r"protocol.trajectory_interval.*'10 fs'.*not a whole number of time "
                                              r"steps.*4 fs"),
    ("protocol.energy_interval", "2.002 ps", r"protocol.energy_interval.*whole number"),
    ("protocol.heating_duration", "10.001 ps", r"protocol.heating_duration.*whole number"),
    ("systems.LE.salt.cation", "PF6-", r"systems.LE.salt.cation.*'PF6-' is not a known cation.*'Na\+'"),
])
def test_values_the_config_can_know_are_checked_by_key(key, value, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(with_change(key, value))


def test_ion_without_force_field_parameters_is_refused():
    raw = with_change("species.TBA+", {"smiles": "CCCC[N+](CCCC)(CCCC)CCCC", "residue": "TBA", "role": "cation"})
    raw["systems"]["LE"]["salt"]["cation"] = "TBA+"
    with pytest.raises(ConfigError, match=r"systems.LE.salt.cation.*'TBA\+'.*no ion force-field parameters.*'Na\+'"):
        load_config(raw)


def test_declared_solvent_density_must_be_positive():
    for density in ("0 g/cm^3", "-1.1 g/cm^3"):
        raw = with_change("species.DMC", {"smiles": "COC(=O)OC", "residue": "DMC", "role": "solvent",
                                          "density": density})
        with pytest.raises(ConfigError, match=r"species.DMC.density.*> 0"):
            load_config(raw)


def test_bad_monomer_smiles_is_named_before_any_job():
    raw = gpe(monomer="TPA", monomer_smiles="C=CC(=O)OC(C")
    with pytest.raises(ConfigError, match=r"systems.GPE.monomer_smiles.*cannot parse SMILES"):
        load_config(raw)


@pytest.mark.parametrize("name", ["LE/1", "LE 1", "LE(1)", "LE;id>pwned", "../LE", "-LE", "LE$(id)", "LE`id`",
                                  "LE'x", "", "L" * 65])
def test_system_names_must_be_safe_as_a_path_and_a_shell_word(name):
    raw = copy.deepcopy(DEMO)
    raw["systems"] = {name: raw["systems"]["LE"]}
    with pytest.raises(ConfigError, match=r"not allowed as a system name.*a letter, then"):
        load_config(raw)


@pytest.mark.parametrize("where, value", [
    ("species name", "DMC;id"), ("species name", "DMC x"), ("species name", "D/C"),
    ("residue", "D;C"), ("smiles", "COC(=O)OC';id;'"), ("smiles", "COC(=O)OC $(id)"),
    ("monomer", "TPA;id"), ("monomer_residue", "T;A"), ("monomer_smiles", "C=CC(=O)OC';id"),
    ("campaign name", "demo;id"), ("campaign name", "../x"),
])
def test_injection_through_every_name_a_config_can_set_is_refused(where, value):
    raw = copy.deepcopy(DEMO)
    species = {"smiles": "COC(=O)OC", "residue": "DMC", "role": "solvent", "density": "1.07 g/cm^3"}
    if where == "species name":
        raw["species"] = {value: species}
    elif where in ("residue", "smiles"):
        raw["species"] = {"DMC": {**species, where: value}}
    elif where == "campaign name":
        raw["name"] = value
    else:
        raw["systems"]["GPE_PTPA"][where] = value
    with pytest.raises(ConfigError):
        load_config(raw)


def test_duplicate_yaml_key_is_named_with_file_and_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nseed: 1\nsystems:\n  LE: {solvents: {PC: 1.0}}\nseed: 2\n")
    with pytest.raises(ConfigError, match=r"dup.yaml.*line 5.*'seed' is given twice.*first on line 2"):
        read_yaml(path)
    nested = tmp_path / "nested.yaml"
    nested.write_text("systems:\n  LE:\n    n_solvent: 10\n    n_solvent: 20\n")
    with pytest.raises(ConfigError, match=r"line 4.*'n_solvent' is given twice"):
        read_yaml(nested)


def test_yaml_syntax_error_and_missing_file_are_named(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: a\nsystems:\n  LE: {solvents: {PC: 1.0}\n  bad\n")
    with pytest.raises(ConfigError, match=r"broken.yaml.*line 4.*YAML syntax error"):
        read_yaml(path)
    with pytest.raises(ConfigError, match=r"nope.yaml.*does not exist"):
        load_workflow_config_files([tmp_path / "nope.yaml"])


def test_config_files_merge_in_order_like_snakemake(tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("protocol:\n  production_duration: \"400 ps\"\n")
    config = load_workflow_config_files([DEMO_PATH, override])
    assert config.protocol.production_duration_ps == pytest.approx(400.0)
    assert config.protocol.timestep_ps == pytest.approx(0.004)  # the rest of the demo's protocol is kept


def test_network_keys_are_typed_with_schema_defaults():
    net = load_config(gpe(monomer="TPA")).systems["GPE"].network
    assert net.reaction == "radical_acrylate" and net.monomer_residue == "TPA"
    assert net.target_conversion == 0.85 and net.max_cycles == 40 and net.min_ring_size == 6
    assert net.bond_cutoff_nm == pytest.approx(0.5) and net.max_bond_cutoff_nm == pytest.approx(0.7)
    assert net.relax_md_ps == pytest.approx(10.0) and net.pre_md_ps == pytest.approx(2.0)
    assert net.network_seed is None and net.initiator == "AIBN" and net.initiator_weight_fraction == 0.01
    assert net.min_loop_units == 2 and net.propagation_rounds == 3 and net.partner_choice == "nearest"
    assert load_config(gpe(partner_choice="random")).systems["GPE"].network.partner_choice == "random"
    with pytest.raises(ConfigError, match=r"partner_choice.*'closest'.*nearest.*random"):
        load_config(gpe(partner_choice="closest"))
    assert load_config(gpe(monomer="BMP")).systems["GPE"].network.initiator == "PF5"
    with pytest.raises(ConfigError, match=r"systems.GPE.bond_cutoff.*longer than max_bond_cutoff"):
        load_config(gpe(bond_cutoff="0.75 nm"))
    with pytest.raises(ConfigError, match=r"systems.GPE.max_bond_cutoff.*'1.0 nm'.*above 0.8 nm"):
        load_config(gpe(max_bond_cutoff="1.0 nm"))


def test_resolved_config_round_trips_the_model(tmp_path):
    config = write_resolved(copy.deepcopy(DEMO), tmp_path / "config.resolved.json")
    assert read_resolved_config(tmp_path / "config.resolved.json") == config


def _every_field(model_class, prefix=""):
    for name, model_field in model_class.model_fields.items():
        yield prefix + name, model_field
        annotation = model_field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, GelmdConfig.__mro__[1]):
                yield from _every_field(candidate, prefix + name + ".")


def test_every_model_field_declares_the_stages_that_read_it():
    missing = [key for key, f in _every_field(GelmdConfig)
               if "stages" not in (f.json_schema_extra or {}) and not key.startswith("resources")]
    assert not missing


def test_stage_inputs_follow_the_field_declarations():
    base = load_config(copy.deepcopy(DEMO))
    longer = load_config(with_change("protocol.production_duration", "400 ps"))
    assert stage_inputs(base, "produce", "LE") != stage_inputs(longer, "produce", "LE")
    for stage in ("build", "parameterise", "equilibrate", "density"):
        assert stage_inputs(base, stage, "LE") == stage_inputs(longer, stage, "LE"), stage
    reference = load_config(with_change("systems.LE.reference_density", "PC"))
    assert stage_inputs(base, "density", "LE") != stage_inputs(reference, "density", "LE")
    assert stage_inputs(base, "produce", "LE") == stage_inputs(reference, "produce", "LE")
    # an electrolyte's build does not depend on the engine; a gel's network build does
    cpu = load_config(with_change("engine.platform", "CPU"))
    assert stage_inputs(base, "build", "LE") == stage_inputs(cpu, "build", "LE")
    assert stage_inputs(base, "network_build", "GPE_PBMP") != stage_inputs(cpu, "network_build", "GPE_PBMP")
    # one system's change does not touch another's stages
    other = load_config(with_change("systems.PC.n_solvent", 81))
    assert stage_inputs(base, "build", "LE") == stage_inputs(other, "build", "LE")
    assert stage_inputs(base, "build", "PC") != stage_inputs(other, "build", "PC")


def test_each_builder_refuses_a_system_of_the_other_kind(tmp_path):
    from systems.build_electrolyte import build_electrolyte
    from systems.build_network import spec_from_config

    config = load_config(copy.deepcopy(DEMO))
    with pytest.raises(ConfigError, match=r"systems.GPE_PBMP.kind.*'gpe'.*builds kind 'electrolyte'"):
        build_electrolyte(config, "GPE_PBMP", tmp_path / "out")
    with pytest.raises(ConfigError, match=r"systems.LE.kind.*'electrolyte'.*needs 'gpe'"):
        spec_from_config(config, "LE")
    with pytest.raises(ConfigError, match=r"system 'XX' is not in the config; systems: \['GPE_PBMP'"):
        spec_from_config(config, "XX")
    assert not (tmp_path / "out").exists()


def test_transport_discard_is_a_transport_setting_shorter_than_production():
    base = load_config(copy.deepcopy(DEMO))
    assert base.protocol.transport_discard_ps == 0.0
    discard = load_config(with_change("protocol.transport_discard", "10 ps"))
    assert discard.protocol.transport_discard_ps == pytest.approx(10.0)
    assert stage_inputs(base, "transport", "LE") != stage_inputs(discard, "transport", "LE")
    assert stage_inputs(base, "produce", "LE") == stage_inputs(discard, "produce", "LE")
    with pytest.raises(ConfigError, match=r"protocol.transport_discard.*leaves nothing"):
        load_config(with_change("protocol.transport_discard", "200 ps"))


def test_deterministic_network_builds_are_an_explicit_setting():
    from systems.build_network import spec_from_config

    assert spec_from_config(load_config(copy.deepcopy(DEMO)), "GPE_PBMP").deterministic is False
    chosen = load_config(with_change("engine.deterministic", True))
    assert spec_from_config(chosen, "GPE_PBMP").deterministic is True
    assert stage_inputs(chosen, "network_build", "GPE_PBMP") != stage_inputs(load_config(copy.deepcopy(DEMO)),
                                                                            "network_build", "GPE_PBMP")


def test_a_validation_campaign_with_the_comparison_notebook_is_refused():
    """Both would write summary.md (the validation table and the campaign summary the notebook reads)."""
    validation = read_yaml("config/validation.yaml")
    assert load_config(validation).report.enabled is False
    with pytest.raises(ConfigError, match=r"'validation.enabled' and 'report.enabled' are both true.*report: \{enabled: false\}"):
        load_config(configs.with_change(validation, "report.enabled", True))


def test_more_production_replicas_rerun_transport_and_summary_not_the_productions():
    """Raising protocol.production_replicas adds replica jobs; the productions already run are kept."""
    base = load_config(DEMO)
    more = load_config(with_change("protocol.production_replicas", base.protocol.production_replicas + 2))
    for stage in ("equilibrate", "produce"):
        assert stage_inputs(base, stage, "LE") == stage_inputs(more, stage, "LE"), stage
    for stage in ("transport", "summary"):
        assert stage_inputs(base, stage, "LE") != stage_inputs(more, stage, "LE"), stage
