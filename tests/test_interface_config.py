"""The interface config block: parsed once into internal units, bad values refused by name."""

import pytest

import configs
from common.config import stage_inputs
from common.errors import ConfigError
from workflow.config_vocabulary import load_workflow_config


def test_demo_interface_block_in_internal_units():
    config = load_workflow_config(configs.demo_raw())
    block = config.interface
    assert block.bias_V == 1.0 and block.timestep_ps == pytest.approx(0.004)
    assert block.lattice_constant_nm == pytest.approx(0.42906) and block.orientation == "110"
    assert block.electrolyte_thickness_nm is None
    assert block.metal_lj_epsilon_kJ_per_mol == pytest.approx(0.1255)
    assert stage_inputs(config, "interface")["interface"]["bias_V"] == 1.0
    assert "temperature_K" in stage_inputs(config, "interface")  # an MD stage: T reruns it


@pytest.mark.parametrize("key, value, message", [
    ("interface.bias", "1 mV", "<number> V"),
    ("interface.bias", "0 V", "non-zero bias"),
    ("interface.production", "1 ps", "interface.blocks"),
    ("interface.frame_interval", "0.3 fs", "whole number"),
    ("interface.orientation", "211", "allowed values"),
    ("interface.gap", "0.25", "interface.gap"),
    ("interface.electrolyte_thickness", "3 nm", None),
])
def test_interface_values_are_checked(key, value, message):
    raw = configs.with_change(configs.demo_raw(), key, value)
    if message is None:
        assert load_workflow_config(raw).interface.electrolyte_thickness_nm == pytest.approx(3.0)
        return
    with pytest.raises(ConfigError, match=message):
        load_workflow_config(raw)
