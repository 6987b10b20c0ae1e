"""Combining the transport reports of production replicas."""

from __future__ import annotations

import copy
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


def conducting(d_na: float, d_pf6: float, ne: float, eh: float, eh_diffusive: bool = True) -> dict:
    """A replica with NE and EH conductivities (S/m, stderr 0.02) and two ion species of 9 molecules each."""
    species = {name: {"n_molecules": 9, "charge_formal_e": q, "D_m2_per_s": {"value": d, "stderr": 1e-11},
                      "diffusive": True, "loglog_slope": 1.0}
               for name, q, d in (("NA", 1, d_na), ("PF6", -1, d_pf6))}
    block = {"nernst_einstein": {"sigma_S_per_m": {"value": ne, "stderr": 0.02}},
             "einstein_helfand": {"sigma_S_per_m": {"value": eh, "stderr": 0.02}, "diffusive": eh_diffusive,
                                  "loglog_slope": 1.0 if eh_diffusive else 0.5},
             "haven_ratio": {"value": ne / eh, "stderr": 0.1}}
    t = d_na / (d_na + d_pf6)
    return {"run_length_ps": 1000.0, "species": species, "conductivity": block,
            "conductivity_formal_charges": copy.deepcopy(block), "haven_ratio": dict(block["haven_ratio"]),
            "transference_number_Na": {"value": t, "stderr": 0.01, "cation_species": ["NA"], "definition": "NE"}}


def test_haven_and_transference_from_the_combined_means_not_the_mean_of_ratios():
    combined = combine_reports([conducting(1e-10, 2e-10, ne=0.4, eh=0.1),
                                conducting(3e-10, 2e-10, ne=0.2, eh=0.3, eh_diffusive=False)])
    # per replica: Haven 4 and 2/3 (mean 2.33); combined means: NE 0.3, EH 0.2 -> 1.5
    haven = combined["haven_ratio"]
    assert haven["value"] == pytest.approx(0.3 / 0.2)
    assert combined["replicas"]["per_replica"]["haven_ratio"] == pytest.approx([4.0, 2 / 3])
    # errors of the means: max(within sqrt(2)*0.02/2, between std/sqrt(2) = 0.1) = 0.1 for both
    assert haven["stderr"] == pytest.approx(1.5 * math.sqrt((0.1 / 0.3) ** 2 + (0.1 / 0.2) ** 2))
    assert combined["conductivity_formal_charges"]["haven_ratio"]["value"] == pytest.approx(1.5)
    assert "n_replicas" not in haven and "combined means" in haven["rule"]
    # t(Na+): per replica 1/3 and 3/5 (mean 0.467); combined D(NA) = D(PF6) = 2e-10 -> 0.5
    t = combined["transference_number_Na"]
    assert t["value"] == pytest.approx(0.5) and t["cation_species"] == ["NA"] and t["definition"] == "NE"
    # dt/dD = (1 - t)/ΣD for Na, -t/ΣD for PF6; stderr of each combined D = max(1e-11/sqrt2, 1e-10 or 0)
    se_na, se_pf6 = 1e-10, math.sqrt(2) * 1e-11 / 2
    assert t["stderr"] == pytest.approx(math.hypot(0.5 / 4e-10 * se_na, 0.5 / 4e-10 * se_pf6))
    # a fit is diffusive only when every replica's is; its slope is the mean
    eh = combined["conductivity"]["einstein_helfand"]
    assert eh["diffusive"] is False and eh["loglog_slope"] == pytest.approx(0.75)
    assert combined["species"]["NA"]["diffusive"] is True
    assert combined["replicas"]["per_replica"]["conductivity.einstein_helfand.diffusive"] == [True, False]


def test_haven_without_both_conductivities_is_not_averaged():
    combined = combine_reports([report(1e-10, 1e-11), report(2e-10, 1e-11)])
    assert combined["haven_ratio"]["value"] is None and "not averaged" in combined["haven_ratio"]["note"]
