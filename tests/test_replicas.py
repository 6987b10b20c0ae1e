"""Combining the transport reports of production replicas."""

from __future__ import annotations

import json
import math

import pytest

from analysis.replicas import combine_reports, main
from common.errors import AnalysisError


def report(d_na: float, se: float, sigma: float | None = 0.2) -> dict:
    return {"temperature_K": 298.15, "run_length_ps": 200.0, "fit_window_ps": {"NA": [4.0, 19.0]},
            "species": {"NA": {"D_m2_per_s": {"value": d_na, "stderr": se}, "n_molecules": 9}},
            "conductivity": {"einstein_helfand": {"sigma_S_per_m": {"value": sigma, "stderr": 0.05}}},
            "haven_ratio": {"value": 1.2, "stderr": 0.3}}


def test_one_replica_is_passed_through():
    combined = combine_reports([report(1e-10, 2e-11)], ["r1.json"])
    assert combined["species"]["NA"]["D_m2_per_s"] == {"value": 1e-10, "stderr": 2e-11}
    assert combined["replicas"]["n"] == 1 and combined["replicas"]["files"] == ["r1.json"]


def test_mean_and_the_larger_of_within_and_between_errors():
    combined = combine_reports([report(1e-10, 1e-12), report(3e-10, 1e-12)])
    d = combined["species"]["NA"]["D_m2_per_s"]
    assert d["value"] == pytest.approx(2e-10)
    assert d["stderr_within"] == pytest.approx(math.sqrt(2) * 1e-12 / 2)
    assert d["stderr_between"] == pytest.approx(1e-10)          # std 1.414e-10 / sqrt(2)
    assert d["stderr"] == d["stderr_between"] and d["n_replicas"] == 2
    # replicas that agree: the propagated block errors win
    close = combine_reports([report(2.0e-10, 3e-11), report(2.0e-10, 3e-11), report(2.0e-10, 3e-11)])
    d = close["species"]["NA"]["D_m2_per_s"]
    assert d["stderr"] == pytest.approx(math.sqrt(3) * 3e-11 / 3) and d["stderr_between"] == 0.0
    assert close["replicas"]["per_replica"]["species.NA.D_m2_per_s"] == [2.0e-10] * 3
    assert close["fit_window_ps"] == {"NA": [4.0, 19.0]} and close["species"]["NA"]["n_molecules"] == 9


def test_missing_estimate_and_different_systems():
    combined = combine_reports([report(1e-10, 1e-11, sigma=None), report(1e-10, 1e-11)])
    assert combined["conductivity"]["einstein_helfand"]["sigma_S_per_m"]["value"] is None
    other = report(1e-10, 1e-11)
    other["species"]["PF6"] = other["species"]["NA"]
    with pytest.raises(AnalysisError, match="different species"):
        combine_reports([report(1e-10, 1e-11), other])


def test_cli_writes_the_combined_report(tmp_path):
    files = []
    for k, d in enumerate((1e-10, 2e-10), start=1):
        path = tmp_path / f"replica{k}.json"
        path.write_text(json.dumps(report(d, 1e-11)))
        files.append(str(path))
    assert main(["--out", str(tmp_path / "transport.json"), *files]) == 0
    combined = json.loads((tmp_path / "transport.json").read_text())
    assert combined["species"]["NA"]["D_m2_per_s"]["value"] == pytest.approx(1.5e-10)
    assert main(["--out", str(tmp_path / "x.json"), str(tmp_path / "missing.json")]) == 1
