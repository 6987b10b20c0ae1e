"""The retention config block: parsed once into internal units; bad values refused by key, value and what is allowed."""

from __future__ import annotations

import pytest

from common.config import stage_inputs
from common.errors import ConfigError
from configs import demo_raw, with_change
from workflow.config_vocabulary import load_workflow_config


def test_demo_retention_block_in_internal_units():
    config = load_workflow_config(demo_raw())
    r = config.retention
    assert r.enabled and r.reference_system == "LE" and r.solvents == ("PC",)
    assert r.window_duration_ps == pytest.approx(1.2) and r.evaporation_temperature_K == 450.0
    assert r.vacuum_gap_nm == 5.0 and r.lambda_sterics[0] == 1.0 and r.lambda_sterics[-1] == 0.0
    assert r.evaporated_molecules == "wall"  # the default: held by the soft wall
    assert load_workflow_config(with_change(demo_raw(), "retention.evaporated_molecules", "remove")
                                ).retention.evaporated_molecules == "remove"
    uses = stage_inputs(config, "retention", "LE")
    assert uses["retention"]["window_duration_ps"] == pytest.approx(1.2) and "timestep_ps" in uses["protocol"]


@pytest.mark.parametrize("key, value, message", [
    ("retention.lambda_sterics", [1.0, 0.5, 0.6, 0.0], "decrease strictly"),
    ("retention.lambda_electrostatics", [0.9, 0.0], "start at 1"),
    ("retention.reference_system", "GPE_PBMP", "not a liquid electrolyte"),
    ("retention.reference_system", "nope", "not a liquid electrolyte"),
    ("retention.solvents", ["PC", "Na+"], "not a known solvent"),
    ("retention.window_duration", "1.001 ps", "whole number of time steps"),
    ("retention.sample_interval", "4 ps", "longer than retention.window_duration"),
    ("retention.wall_force_constant", 0, "retention.wall_force_constant"),
    ("retention.evaporated_molecules", "delete", "wall"),
    ("retention.evaporation_distance", "1.6 nm", r"evaporation_distance <= 1\.5 nm"),  # demo gap 5 nm
    ("retention.vacuum_gap", "2.5 nm", "beyond what the film lets a molecule reach"),
])
def test_bad_retention_values_are_refused_by_key(key, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_workflow_config(with_change(demo_raw(), key, value))
    assert key.split(".")[1] in str(error.value)


def test_retention_is_off_by_default_and_a_reference_is_then_not_required():
    raw = demo_raw()
    del raw["retention"]
    config = load_workflow_config(with_change(raw, "systems", {"PC": raw["systems"]["PC"]}))
    assert config.retention.enabled is False and config.retention.reference_system == ""


def test_counting_distance_at_the_edge_of_the_vapour_is_allowed():
    """5 nm of vacuum: the wall stands 2.0 nm beyond the film surface; counting at 1.5 nm leaves 0.5 nm of vapour."""
    config = load_workflow_config(with_change(demo_raw(), "retention.evaporation_distance", "1.5 nm"))
    assert config.retention.evaporation_distance_nm == pytest.approx(1.5)
