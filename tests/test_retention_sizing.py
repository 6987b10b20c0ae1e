"""The Δμ error projection of benchmarks/retention_sizing.py: 1/√T in the window length, 1/√n in molecules,
√2 for a difference, f in the correlation times; and it reads a retention.json the way the stage writes it."""

from __future__ import annotations

import math

import pytest

from benchmarks import retention_sizing as sizing


def retention_record(box_stderr_kT=0.5, vacuum_stderr_kT=0.0, window_ps=16.0):
    leg = {"stderr_kT": box_stderr_kT, "uncorrelated_samples_per_window": [8, 40]}
    return {"temperature_K": 298.15, "window": {"duration_ps": window_ps},
            "solvation_free_energy_kJ_per_mol": {"PC": {"value": -50.0, "stderr": 1.2, "molecules": [
                {"box_leg": leg, "vacuum_leg": {"stderr_kT": vacuum_stderr_kT}}]}}}


def test_projection_scales_as_the_statistics_say():
    base = sizing.measured(retention_record(), "PC")
    kT = 0.00831446261815324 * 298.15
    assert base["min_uncorrelated_samples"] == 8 and base["window_ps"] == 16.0
    # same length, one molecule: √2 x the measured per-molecule error
    assert sizing.delta_mu_error(base, 1, 16.0, 1.0) == pytest.approx(math.sqrt(2) * 0.5 * kT)
    one = sizing.delta_mu_error(base, 1, 1000.0, 1.0)
    assert sizing.delta_mu_error(base, 1, 4000.0, 1.0) == pytest.approx(one / 2)     # 4x longer windows
    assert sizing.delta_mu_error(base, 4, 1000.0, 1.0) == pytest.approx(one / 2)     # 4x more molecules
    assert sizing.delta_mu_error(base, 1, 1000.0, 4.0) == pytest.approx(one * 2)     # 4x longer correlations
    both = sizing.measured(retention_record(box_stderr_kT=0.3, vacuum_stderr_kT=0.4), "PC")
    assert sizing.delta_mu_error(both, 1, 16.0, 1.0) == pytest.approx(math.sqrt(2) * 0.5 * kT)  # legs add in variance
