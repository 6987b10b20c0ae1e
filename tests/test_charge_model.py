"""Solvent charge models (issue 14): config selection, per-model templates with provenance, rerun triggers,
RESP2 mixing and the polarisation of a PCM-solvated ESP."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from common.config import stage_inputs
from common.errors import ChargeError, ConfigError, ParameterError
from configs import demo_raw, with_change
from forcefields import resp
from forcefields.charge_models import BASE_TAG, describe, model_template_dir, shipped_template
from forcefields.parameterise import charges_description, check_charge_model, template_charge_model
from forcefields.residue_templates import (check_template_system, read_residue_template, scale_template_file,
                                           single_residue_topology)
from workflow.config_vocabulary import load_workflow_config

PC_TEMPLATE = model_template_dir(BASE_TAG) / "PC.xml"


def schema_default_raw() -> dict:
    """The demo config with the charge-model keys removed, so the schema's default (HF/6-31G* RESP) applies."""
    raw = demo_raw()
    for key in ("charge_model", "solvent_charge_scale", "lj_overrides"):
        raw["forcefield"].pop(key, None)
    return raw


def test_the_demo_runs_the_validated_variant_and_the_schema_default_is_resp():
    demo = load_workflow_config(demo_raw())
    assert demo.forcefield.charge_model.model == "scaled"
    assert {s.charge_model.tag for s in demo.systems.values()} == {"scaled_0.85"}
    assert load_workflow_config(schema_default_raw()).forcefield.charge_model.tag == "resp_hf631gs"


def test_default_and_selected_charge_models_with_their_tags():
    base = load_workflow_config(schema_default_raw())
    assert base.forcefield.charge_model.model == "resp_hf631gs"
    assert base.systems["LE"].charge_model.tag == "resp_hf631gs"
    resp2 = load_workflow_config(with_change(schema_default_raw(), "forcefield.charge_model", "resp2"))
    assert {s.charge_model.tag for s in resp2.systems.values()} == {"resp2_d0.60"}
    raw = with_change(with_change(schema_default_raw(), "systems.PC.charge_model", "scaled"),
                      "systems.PC.solvent_charge_scale", 0.8)
    mixed = load_workflow_config(raw)
    assert mixed.systems["PC"].charge_model.tag == "scaled_0.80"
    assert mixed.systems["LE"].charge_model.tag == "resp_hf631gs"


@pytest.mark.parametrize("changes, pattern", [
    ({"forcefield.charge_model": "scaled"}, r"forcefield.solvent_charge_scale.*'scaled' needs 0 < solvent_charge_scale < 1"),
    ({"forcefield.solvent_charge_scale": 0.8}, r"forcefield.solvent_charge_scale.*only allowed with charge_model 'scaled'"),
    ({"forcefield.charge_model": "resp3"}, r"forcefield.charge_model.*'resp3' is not allowed.*resp2"),
    ({"systems.PC.charge_model": "scaled"}, r"systems.PC.solvent_charge_scale"),
])
def test_bad_charge_model_settings_are_refused_by_key(changes, pattern):
    raw = schema_default_raw()
    for key, value in changes.items():
        raw = with_change(raw, key, value)
    with pytest.raises(ConfigError, match=pattern):
        load_workflow_config(raw)


def test_a_charge_model_change_reruns_parameterise_and_not_the_build():
    base = load_workflow_config(schema_default_raw())
    changed = load_workflow_config(with_change(schema_default_raw(), "forcefield.charge_model", "resp2"))
    for system in ("LE", "PC", "GPE_PBMP"):
        assert stage_inputs(base, "parameterise", system) != stage_inputs(changed, "parameterise", system)
        assert stage_inputs(base, "validation", system) != stage_inputs(changed, "validation", system)
        for stage in ("build", "network_build", "equilibrate", "produce"):
            # later stages rerun because their input (the parameterised System) changes, not by a setting
            assert stage_inputs(base, stage, system) == stage_inputs(changed, stage, system), (system, stage)
    one = load_workflow_config(with_change(with_change(schema_default_raw(), "systems.PC.charge_model", "scaled"),
                                           "systems.PC.solvent_charge_scale", 0.8))
    assert stage_inputs(base, "parameterise", "PC") != stage_inputs(one, "parameterise", "PC")
    assert stage_inputs(base, "parameterise", "LE") == stage_inputs(one, "parameterise", "LE")


def test_resp2_mixing_is_linear_and_keeps_the_total_charge():
    gas = np.array([-0.6, 0.3, 0.3])
    water = np.array([-0.9, 0.45, 0.45])
    assert np.allclose(resp.mix_charges(gas, water, 0.0), gas)
    assert np.allclose(resp.mix_charges(gas, water, 1.0), water)
    mixed = resp.mix_charges(gas, water, 0.6)
    assert np.allclose(mixed, [-0.78, 0.39, 0.39])
    assert abs(mixed.sum()) < 1e-12
    with pytest.raises(ChargeError, match="delta=1.2"):
        resp.mix_charges(gas, water, 1.2)
    with pytest.raises(ChargeError, match="3 gas-phase charges but 2"):
        resp.mix_charges(gas, water[:2], 0.5)


def test_resp2_water_phase_charges_are_more_polar_than_gas_phase():
    # small basis and functional for speed: the physics checked is the continuum's polarisation of the ESP
    params = Chem.SmilesParserParams()
    params.removeHs = False
    mol = Chem.AddHs(Chem.MolFromSmiles("O"))
    xyz = np.array([[0.0, 0.0, 0.117], [0.0, 0.757, -0.469], [0.0, -0.757, -0.469]])
    gas, water, mixed = resp.resp2_charges(mol, coordinates_angstrom=xyz, xc="HF", basis="sto-3g", delta=0.6)
    assert "IEF-PCM eps=78.3553" in water.qm_method and "gas phase" in gas.qm_method
    assert water.charges[0] < gas.charges[0] < 0  # the oxygen gains charge in the dielectric
    assert np.allclose(mixed, 0.4 * gas.charges + 0.6 * water.charges)
    assert abs(mixed.sum()) < 1e-8


def test_scaled_template_scales_every_charge_and_records_provenance(tmp_path):
    out = tmp_path / "scaled_0.80" / "PC.xml"
    scaled = scale_template_file(PC_TEMPLATE, out, 0.8)
    base = read_residue_template(PC_TEMPLATE)
    assert np.allclose(scaled.charges, 0.8 * np.array(base.charges), atol=2e-6)
    assert scaled.total_charge == 0.0
    assert scaled.types == base.types and scaled.bonds == base.bonds
    assert scaled.provenance["charge_model"] == "scaled_0.80"
    assert scaled.provenance["base_template"] == str(PC_TEMPLATE)
    assert template_charge_model(out) == "scaled_0.80" and template_charge_model(PC_TEMPLATE) == BASE_TAG
    with pytest.raises(ParameterError, match="scale 1.5 is not allowed"):
        scale_template_file(PC_TEMPLATE, tmp_path / "x.xml", 1.5)


def test_parameterise_refuses_templates_of_another_charge_model(tmp_path):
    out = tmp_path / "PC.xml"
    scale_template_file(PC_TEMPLATE, out, 0.8)
    check_charge_model([out], "scaled_0.80")
    check_charge_model([PC_TEMPLATE], BASE_TAG)
    with pytest.raises(ParameterError, match="record another charge model"):
        check_charge_model([out], "resp2_d0.60")


@pytest.mark.parametrize("tag, words", [(BASE_TAG, "HF/6-31G*"), ("resp2_d0.60", "delta 0.60"),
                                        ("scaled_0.90", "times 0.90")])
def test_results_name_the_charge_model_they_ran(tag, words):
    assert words in describe(tag)
    assert charges_description(tag).startswith(f"solvent molecules: {tag} = ")
    with pytest.raises(ParameterError, match="not known"):
        describe("am1bcc")


@pytest.mark.parametrize("residue", ["PC", "FEC"])
def test_shipped_resp2_templates_carry_their_model_and_load_with_gaff2(residue):
    path = shipped_template("resp2_d0.60", residue)
    assert path is not None, f"forcefields/data/templates/resp2_d0.60/{residue}.xml is not shipped"
    template = read_residue_template(path)
    prov = template.provenance
    assert prov["charge_model"] == "resp2_d0.60" and prov["resp2_delta"] == "0.6"
    assert "PW6B95" in prov["qm_method_gas"] and "IEF-PCM" in prov["qm_method_water"]
    q_gas = np.array([float(x) for x in prov["charges_gas_e"].split()])
    q_water = np.array([float(x) for x in prov["charges_water_e"].split()])
    assert np.allclose(template.charges, 0.4 * q_gas + 0.6 * q_water, atol=2e-6)
    base = read_residue_template(model_template_dir(BASE_TAG) / f"{residue}.xml")
    assert template.types == base.types and template.atom_names == base.atom_names
    names = list(template.atom_names)
    bonds = [(names.index(a), names.index(b)) for a, b in template.bonds]
    check = check_template_system([path], single_residue_topology(residue, names, template.elements, bonds))
    assert abs(check["total_charge_e"]) < 1e-6
