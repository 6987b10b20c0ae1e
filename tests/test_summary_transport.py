"""The summary's transport rules: non-diffusive fits are not results, both charge conventions are shown,
the founding paper's membrane conductivities are compared only as a ratio (issue 8, section 3)."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from analysis.summary import main as summary_main

FORCEFIELD = {"charges": "RESP", "ion_charge_scale": 0.8}
PRODUCTION = {"ensemble": "NVT", "thermostat": {"temperature_K": 298.15}, "duration_ps": 200.0, "timestep_ps": 0.004,
              "hydrogen_mass_amu": 3.024, "ns_per_day": 50.0, "platform": {"name": "CPU"}}
DENSITY = {"density_g_per_cm3": {"value": 1.25, "stderr": 0.003},
           "experiment": {"value_g_per_cm3": None, "deviation_percent": None, "note": "none"}}


def transport(eh_scaled, eh_formal, diffusive=(True, True), eh_diffusive=True, slopes=(0.98, 1.03),
              eh_slope=1.01) -> dict:
    """A transport.json with NA and PF6 (formal ±1), σ_EH (S/m) {value, stderr} of both conventions."""
    species = {name: {"n_molecules": 9, "charge_formal_e": q, "D_m2_per_s": {"value": 1e-10, "stderr": 1e-11},
                      "diffusive": ok, "loglog_slope": slope}
               for name, q, ok, slope in (("NA", 1, diffusive[0], slopes[0]), ("PF6", -1, diffusive[1], slopes[1]))}

    def block(eh, convention):
        return {"charge_convention": convention, "charges_e": {"NA": 1, "PF6": -1},
                "nernst_einstein": {"sigma_S_per_m": {"value": 0.5, "stderr": 0.05}},
                "einstein_helfand": {"sigma_S_per_m": eh, "diffusive": eh_diffusive, "loglog_slope": eh_slope},
                "haven_ratio": {"value": 1.2, "stderr": 0.3}}

    return {"species": species, "conductivity": block(eh_scaled, "scaled"),
            "conductivity_formal_charges": block(eh_formal, "formal"), "haven_ratio": {"value": 1.2, "stderr": 0.3},
            "transference_number_Na": {"value": 0.45, "stderr": 0.05, "cation_species": ["NA"]},
            "fit_window_ps": {"NA": [10, 40]}}


def run_summary(tmp_path, systems: dict, forcefield: dict = FORCEFIELD) -> tuple[dict, str, list[dict]]:
    """Write each system's reports, run the CLI, return (summary.json, summary.md, summary.csv rows)."""
    args = ["--campaign", "t", "--out-dir", str(tmp_path)]
    for name, (kind, reference, transport_report) in systems.items():
        reports = {"manifest": {"n_atoms": 1500, "kind": kind, "composition": {"counts": {}}},
                   "forcefield": forcefield, "density": DENSITY, "production": PRODUCTION}
        if transport_report is not None:
            reports["transport"] = transport_report
        args += ["--system", name, "--reference-conductivity", reference]
        for key, data in reports.items():
            path = tmp_path / f"{name}_{key}.json"
            path.write_text(json.dumps(data))
            args += [f"--{key}", str(path)]
    assert summary_main(args) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    return json.loads((tmp_path / "summary.json").read_text()), (tmp_path / "summary.md").read_text(), rows


def table_line(table: str, system: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {system} |"))


def test_non_diffusive_fits_show_no_value_and_no_deviation(tmp_path):
    slow = transport({"value": 0.2, "stderr": 0.1}, {"value": 0.3125, "stderr": 0.15625}, diffusive=(False, True),
                     eh_diffusive=False, slopes=(0.31, 0.95), eh_slope=0.46)
    fast = transport({"value": 0.08, "stderr": 0.01}, {"value": 0.125, "stderr": 0.02})
    summary, table, rows = run_summary(tmp_path, {"GPE_PBMP": ("gpe", "GPE_PBMP", slow),
                                                  "GPE_PTPA": ("gpe", "GPE_PTPA", fast)})
    line = table_line(table, "GPE_PBMP")
    assert "not diffusive (slope 0.31)" in line          # D(Na+)
    assert "not diffusive (slope 0.46)" in line          # σ EH (M(t) fit)
    cells = [c.strip() for c in line.split("|")]
    # D, σ NE scaled/formal, σ EH scaled/formal, Haven, t+: no number, only the flag
    assert all(c.startswith("not diffusive") for c in cells[6:11] + cells[12:14])
    # the fast system's numbers are shown
    assert "1.25 ± 0.2" in table_line(table, "GPE_PTPA")
    row = summary["systems"][0]
    assert row["D_Na_m2_per_s"]["diffusive"] is False and row["D_Na_m2_per_s"]["value"] == 1e-10  # kept in JSON
    assert row["sigma_EH_formal_S_per_m"]["diffusive"] is False and row["conductivity_deviation_percent"] is None
    ratio = summary["conductivity_ratios"][0]
    assert ratio["simulation"]["value"] is None and ratio["deviation_percent"] is None
    assert "not diffusive: σ_EH of GPE_PBMP" in ratio["note"]
    assert "| σ(GPE_PBMP) / σ(GPE_PTPA) | not diffusive: σ_EH of GPE_PBMP | 2.90 | — |" in table
    assert "not diffusive (no value shown for D_Na_m2_per_s" in table and "NA slope 0.31" in table
    assert rows[0]["D_Na_m2_per_s"] == "" and rows[0]["D_Na_diffusive"] == "False"
    assert rows[0]["sigma_EH_formal_S_per_m"] == "" and rows[1]["sigma_EH_formal_S_per_m"] == "0.125"


def test_a_report_without_diffusive_flags_is_not_taken_on_trust(tmp_path):
    report = transport({"value": 0.2, "stderr": 0.1}, {"value": 0.3125, "stderr": 0.15625})
    for species in report["species"].values():
        del species["diffusive"]
    summary, table, _ = run_summary(tmp_path, {"LE": ("electrolyte", "", report)})
    row = summary["systems"][0]
    assert row["D_Na_m2_per_s"]["diffusive"] is False and row["sigma_EH_formal_S_per_m"]["diffusive"] is True
    assert "not diffusive (slope 0.98)" in table_line(table, "LE")
    assert "NA no diffusive flag in the report; PF6 no diffusive flag in the report" in table


def test_both_charge_columns_and_the_compared_one_named(tmp_path):
    report = transport({"value": 0.2, "stderr": 0.1}, {"value": 0.3125, "stderr": 0.15625})
    summary, table, rows = run_summary(tmp_path, {"LE": ("electrolyte", "", report)})
    assert "| σ EH scaled (mS/cm) | σ EH formal (mS/cm), compared |" in table
    cells = [c.strip() for c in table_line(table, "LE").split("|")]
    assert cells[9:11] == ["2 ± 1", "3.12 ± 1.56"]           # scaled, formal (0.2 and 0.3125 S/m)
    assert cells[7:9] == ["5 ± 0.5", "5 ± 0.5"]              # σ NE scaled, formal
    assert summary["comparison_charge_convention"] == "formal"
    assert summary["systems"][0]["sigma_EH_scaled_S_per_m"]["value"] == 0.2
    assert rows[0]["sigma_EH_formal_S_per_m"] == "0.3125" and rows[0]["comparison_charge_convention"] == "formal"


def test_membrane_values_compared_as_a_ratio_with_propagated_error(tmp_path):
    systems = {
        "LE": ("electrolyte", "", transport({"value": 0.32, "stderr": 0.032}, {"value": 0.5, "stderr": 0.05})),
        "GPE_PBMP": ("gpe", "GPE_PBMP", transport({"value": 0.192, "stderr": 0.0192}, {"value": 0.30, "stderr": 0.03})),
        "GPE_PTPA": ("gpe", "GPE_PTPA",
                     transport({"value": 0.0768, "stderr": 0.0128}, {"value": 0.12, "stderr": 0.02})),
        "PC": ("electrolyte", "", None),                       # no salt, no transport: not an LE
    }
    summary, table, _ = run_summary(tmp_path, systems)
    ratios = {(r["numerator"], r["denominator"]): r for r in summary["conductivity_ratios"]}
    assert set(ratios) == {("GPE_PBMP", "GPE_PTPA"), ("GPE_PBMP", "LE"), ("GPE_PTPA", "LE")}
    # by hand: 0.30/0.12 = 2.5; relative errors 0.03/0.30 = 0.1 and 0.02/0.12 = 1/6
    paper = ratios[("GPE_PBMP", "GPE_PTPA")]
    assert paper["simulation"]["value"] == pytest.approx(2.5)
    assert paper["simulation"]["stderr"] == pytest.approx(2.5 * math.sqrt(0.1 ** 2 + (1 / 6) ** 2))  # 0.486
    assert paper["experiment"]["value"] == pytest.approx(1.8 / 0.62)                              # 2.903
    assert paper["experiment"]["stderr"] is None              # the paper gives no uncertainty
    assert paper["deviation_percent"] == pytest.approx(100 * (2.5 - 1.8 / 0.62) / (1.8 / 0.62))  # -13.9 %
    assert "| σ(GPE_PBMP) / σ(GPE_PTPA) | 2.50 ± 0.49 | 2.90 | -14 |" in table
    # our own gel/LE ratios: 0.30/0.50 = 0.6 ± 0.6 sqrt(0.1² + 0.1²); 0.12/0.50 = 0.24 ± 0.24 sqrt(1/36 + 0.01)
    assert ratios[("GPE_PBMP", "LE")]["simulation"]["value"] == pytest.approx(0.6)
    assert ratios[("GPE_PBMP", "LE")]["simulation"]["stderr"] == pytest.approx(0.6 * math.sqrt(0.02))
    assert ratios[("GPE_PTPA", "LE")]["simulation"]["stderr"] == pytest.approx(0.24 * math.sqrt(1 / 36 + 0.01))
    assert "experiment" not in ratios[("GPE_PTPA", "LE")]
    assert "| σ(GPE_PTPA) / σ(LE) | 0.24 ± 0.05 | — (not measured) | — |" in table
    # no per-system deviation against the membrane values
    assert all(r["conductivity_deviation_percent"] is None for r in summary["systems"])
    assert "vs experiment" not in table and "| 1.80 † |" in table and "| 0.62 † |" in table


def test_unknown_reference_conductivity_is_named(tmp_path, capsys):
    report = transport({"value": 0.2, "stderr": 0.1}, {"value": 0.3125, "stderr": 0.15625})
    with pytest.raises(AssertionError):
        run_summary(tmp_path, {"LE": ("electrolyte", "GPE_XYZ", report)})
    assert "--reference-conductivity 'GPE_XYZ'" in capsys.readouterr().err
    assert not (tmp_path / "summary.md").exists()


def test_every_row_names_its_charge_model(tmp_path):
    """Issue 14: every result records the charge model; the summary carries the force-field report's tag."""
    summary, table, rows = run_summary(tmp_path, {"LE": ("electrolyte", "", None)},
                                       forcefield=dict(FORCEFIELD, charge_model="resp2"))
    assert summary["systems"][0]["charge_model"] == "resp2" and rows[0]["charge_model"] == "resp2"
    assert "- charge model: resp2; charges: RESP; ion charge scale 0.8" in table
    assert "LJ override" not in table


def test_an_lj_override_is_named_with_its_source(tmp_path):
    override = {"residue": "PC", "atom_type": "o", "sigma_nm": 0.296, "epsilon_kJ_per_mol": 0.879, "source": "OPLS-AA",
                "replaced_sigma_nm": 0.3048, "replaced_epsilon_kJ_per_mol": 0.6121}
    summary, table, _ = run_summary(tmp_path, {"LE": ("electrolyte", "", None)},
                                    forcefield=dict(FORCEFIELD, lj_overrides=[override]))
    assert summary["systems"][0]["lj_overrides"] == [override]
    assert ("- LJ override: PC/o σ 0.296 nm, ε 0.879 kJ/mol (GAFF2 0.3048 nm, 0.6121 kJ/mol), source: OPLS-AA"
            in table)
