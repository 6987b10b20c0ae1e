"""The comparison notebook executes on a results folder and its tables equal the JSON it reads.

The results folder is synthetic but schema-correct: summary.json rows as analysis/summary.py writes them
(schema gelmd.analysis.summary/2), transport.json species blocks, mechanics.json stress_strain rows, the
retention contract of issue 10 (for the gel only), the interface contract of issue 11 (for the LE only) and the
descriptors contract of issue 12. The end-to-end workflow test runs the notebook where these stages are
absent (the skip path).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent


def est(value, stderr, diffusive=True):
    return {"value": value, "stderr": stderr, "diffusive": diffusive, "loglog_slope": 0.95,
            "diffusive_basis": "synthetic"}


def summary_row(name, kind, sigma_eh, sigma_ne, d_na, network=None, mechanics=None, viscosity=None):
    row = {"system": name, "kind": kind, "n_atoms": 1500, "density_g_per_cm3": {"value": 1.25, "stderr": 0.01},
           "D_Na_m2_per_s": est(d_na, d_na * 0.1), "D_Na_m2_per_s_yeh_hummer": est(d_na * 1.5, d_na * 0.15, diffusive=name != "LE"),
           "sigma_EH_formal_S_per_m": est(sigma_eh, sigma_eh * 0.3),
           "sigma_NE_formal_S_per_m": est(sigma_ne, sigma_ne * 0.1),
           "sigma_EH_scaled_S_per_m": est(sigma_eh * 0.64, sigma_eh * 0.2, diffusive=False),
           "sigma_NE_scaled_S_per_m": est(sigma_ne * 0.64, sigma_ne * 0.06),
           "haven_ratio": est(sigma_ne / sigma_eh, 0.2), "transference_number_Na": est(0.35, 0.05),
           "conductivity_experiment_mS_per_cm": 1.8 if name == "GPE_PBMP" else None,
           "conductivity_experiment_source": "founding paper" if name == "GPE_PBMP" else "no verified experimental value"}
    if network:
        row["network"] = network
    if mechanics:
        row.update(mechanics)
    if viscosity:
        row.update(viscosity)
    return row


def write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results") / "synthetic"
    net = {"monomer": "BMP", "conversion": 0.97, "conversion_without_cyclisation": 0.57, "gel_fraction": 1.0,
           "percolating_axes": ["y", "z"], "crosslink_density_mol_per_m3": 120.0,
           "elastically_effective_strands_mol_per_m3": 180.0, "kinetic_chains": 3, "degree_of_polymerisation": 9.7,
           "polymer_weight_fraction": 0.248}
    mech = {"youngs_modulus_Pa": {"value": 2.5e6, "stderr": 0.5e6},
            "stress_at_30pct_strain_Pa": {"value": 8.0e5, "stderr": 2.0e5},
            "stress_at_30pct_strain_paper_Pa": 9.0e5, "mechanics_hold_time_independent": True,
            "mechanics_refusal": None}
    visc = {"viscosity_Pa_s": {"value": 5.1e-3, "stderr": 0.4e-3}, "viscosity_experiment_Pa_s": 7.2e-3,
            "viscosity_deviation_percent": -29.0, "viscosity_linear_response": True}
    rows = [summary_row("LE", "electrolyte", 0.4, 0.5, 2.0e-11, mechanics=mech, viscosity=visc),
            summary_row("GPE_PBMP", "gpe", 0.2, 0.3, 1.2e-11, network=net, mechanics=mech)]
    write(root / "summary.json", {"schema": "gelmd.analysis.summary/2", "campaign": "synthetic",
                                  "comparison_charge_convention": "formal", "systems": rows, "conductivity_ratios": []})
    for s, scale in (("LE", 1.0), ("GPE_PBMP", 0.6)):
        write(root / s / "transport.json", {"species": {
            "NA": {"D_m2_per_s": {"value": 2e-11 * scale, "stderr": 2e-12}, "diffusive": True,
                   "D_m2_per_s_yeh_hummer": {"value": 3e-11 * scale, "stderr": 3e-12}, "charge_formal_e": 1},
            "PC": {"D_m2_per_s": {"value": 5e-11 * scale, "stderr": 4e-12}, "diffusive": s == "LE",
                   "D_m2_per_s_yeh_hummer": {"value": 6e-11 * scale, "stderr": 4e-12}, "charge_formal_e": 0}}})
        write(root / s / "mechanics" / "mechanics.json", {"stress_strain": [
            {"strain": e, "nominal_stress_Pa": 2.5e6 * e * scale, "nominal_stress_stderr_Pa": 1e5} for e in (0, 0.1, 0.2, 0.3)]})
    write(root / "GPE_PBMP" / "retention" / "retention.json", {
        "solvation_free_energy_kJ_per_mol": {"PC": {"value": -38.2, "stderr": 0.2}},
        "vapour_pressure_ratio": {"PC": {"value": 0.97, "stderr": 0.03}}, "reference": "LE",
        "evaporation": {"rate_per_ns_per_nm2": {"PC": {"value": 0.011, "stderr": 0.002}}, "temperature_K": 450.0}})
    write(root / "LE" / "interface" / "interface.json", {
        "na_homogeneity_index": {"value": 1.4, "stderr": 0.2, "cv": 0.7, "random_cv": 0.5}, "bias_V": 1.0,
        "electrode_charge_e": {"electrode0": {"value": -0.21, "stderr": 0.01}, "electrode1": {"value": 0.21, "stderr": 0.01}},
        "first_layer": {"composition": {"carbonyl_O": 0.6, "F": 0.4}}, "method": "synthetic"})
    write(root / "descriptors" / "descriptors.json", {
        "species": {"PC": {"na_binding_eV": -0.12, "charge_transfer_e": 0.08, "lumo_eV": 1.1, "binding_site": "carbonyl O"},
                    "FEC": {"na_binding_eV": -0.10, "charge_transfer_e": 0.07, "lumo_eV": 0.6, "binding_site": "carbonyl O"}},
        "missing": {"BMP": "no cached record BMP.json"},
        "method": {"level_of_theory": "B3LYP-D3(BJ)/def2-SVP"},
        "paper_comparison": {w: {"unit": "eV", "ours": {"PC": 1.0, "FEC": 0.5}, "paper": {"PC": 1.0, "FEC": 0.52},
                                 "order_ours": ["FEC", "PC"], "order_paper": ["FEC", "PC"], "n": 2,
                                 "kendall_tau": 1.0, "discordant_pairs": []}
                             for w in ("binding", "lumo", "charge_transfer")}})
    report = root / "report"
    proc = subprocess.run([sys.executable, "-m", "notebooks.execute", "--notebook", str(REPO / "notebooks" / "compare_networks.py"),
                           "--out-ipynb", str(report / "compare_networks.ipynb"),
                           "--out-html", str(report / "compare_networks.html"), "-p", f"results_dir={root}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, rows


def test_notebook_writes_executed_copy_and_html(results):
    root, _ = results
    nb = json.loads((root / "report" / "compare_networks.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code)
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in code for o in c.get("outputs", []))
    assert (root / "report" / "figures" / "transport.png").stat().st_size > 0


def test_transport_table_matches_summary_json(results):
    root, rows = results
    table = pd.read_csv(root / "report" / "tables" / "transport.csv").set_index("system")
    for r in rows:
        t = table.loc[r["system"]]
        assert math.isclose(t["sigma_EH_formal_mS_per_cm"], r["sigma_EH_formal_S_per_m"]["value"] * 10, rel_tol=1e-12)
        assert math.isclose(t["sigma_EH_formal_mS_per_cm_stderr"], r["sigma_EH_formal_S_per_m"]["stderr"] * 10, rel_tol=1e-12)
        assert math.isclose(t["D_Na_1e-10_m2_per_s"], r["D_Na_m2_per_s"]["value"] * 1e10, rel_tol=1e-12)
        assert math.isclose(t["haven_ratio"], r["haven_ratio"]["value"], rel_tol=1e-12)
        assert bool(t["sigma_EH_scaled_mS_per_cm_diffusive"]) is False
    assert table.loc["GPE_PBMP", "sigma_experiment_mS_per_cm"] == 1.8


def test_network_mechanics_viscosity_retention_descriptor_tables_match(results):
    root, rows = results
    tables = root / "report" / "tables"
    net = pd.read_csv(tables / "network.csv")
    assert list(net["system"]) == ["GPE_PBMP"]
    assert net.loc[0, "gel_fraction"] == 1.0 and net.loc[0, "percolating_axes"] == "yz"
    assert net.loc[0, "crosslink_density_mol_per_m3"] == 120.0
    mech = pd.read_csv(tables / "mechanics.csv").set_index("system")
    assert math.isclose(mech.loc["LE", "youngs_modulus_MPa"], 2.5) and mech.loc["LE", "paper_stress_30pct_kPa"] == 900.0
    visc = pd.read_csv(tables / "viscosity.csv")
    assert list(visc["system"]) == ["LE"] and math.isclose(visc.loc[0, "viscosity_mPa_s"], 5.1)
    ret = pd.read_csv(tables / "retention.csv")
    assert ret.loc[0, "solvent"] == "PC" and ret.loc[0, "p_over_p_reference"] == 0.97
    assert ret.loc[0, "dG_solv_stderr_kJ_per_mol"] == 0.2
    diff = pd.read_csv(tables / "diffusion.csv").set_index(["system", "species"])
    assert math.isclose(diff.loc[("GPE_PBMP", "PC"), "D_1e-10_m2_per_s"], 0.3)
    desc = pd.read_csv(tables / "descriptors.csv").set_index("species")
    assert desc.loc["PC", "na_binding_eV"] == -0.12 and desc.loc["FEC", "binding_site"] == "carbonyl O"
    itf = pd.read_csv(tables / "interface.csv")
    assert list(itf["system"]) == ["LE"] and itf.loc[0, "na_homogeneity_index"] == 1.4  # GPE_PBMP has none
    assert itf.loc[0, "first_layer_F"] == 0.4 and itf.loc[0, "electrode1_charge_e"] == 0.21


def test_a_notebook_that_raises_fails(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("# %%\nraise ValueError('deliberate failure in a notebook cell')\n")
    proc = subprocess.run([sys.executable, "-m", "notebooks.execute", "--notebook", str(bad),
                           "--out-ipynb", str(tmp_path / "bad.ipynb")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert "deliberate failure" in proc.stderr
    assert not (tmp_path / "bad.ipynb").exists() and (tmp_path / "bad.failed.ipynb").exists()


def test_figures_leave_out_non_diffusive_values():
    """Issue 8: a non-diffusive fit is never shown as a result — the figures draw NaN and label it n.d."""
    import numpy as np

    from notebooks.comparison import not_diffusive, plotted

    values = [1.0, 2.0, None, 4.0, 5.0]
    flags = [True, False, True, None, np.False_]
    drawn = plotted(values, flags)
    assert drawn[0] == 1.0 and drawn[3] == 4.0  # diffusive, and no flag (a quantity without a fit)
    assert all(math.isnan(drawn[i]) for i in (1, 2, 4))
    assert not_diffusive(flags) == [1, 4]
