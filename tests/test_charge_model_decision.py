"""benchmarks/charge_model_decision.py reports what each model lacks instead of filling it in, and ranks the
models it can by the validation stage's rule."""

from __future__ import annotations

import json

from benchmarks import charge_model_decision as decision


def test_missing_campaign_outputs_are_named_and_nothing_is_ranked(tmp_path):
    out = tmp_path / "decision"
    assert decision.main(["--results", str(tmp_path / "results"), "--out", str(out), "--models", "scaled085_oplsO"]) == 0
    summary = (out / "summary.md").read_text()
    assert "No model is eligible" in summary
    notes = json.loads((out / "decision.json").read_text())["notes"]
    pc_note = next(n for n in notes if n.startswith("PC_scaled085_oplsO"))
    for needed in ("validation_diffusive/PC_scaled085_oplsO/production/production.json",
                   "validation_density/PC_scaled085_oplsO/density.json",
                   "validation_viscosity/PC_scaled085_oplsO/viscosity/viscosity.json"):
        assert needed in pc_note
    assert any(n.startswith("LE_scaled085_oplsO: not in the table") for n in notes)


def test_a_finished_le_report_is_ranked_as_written(tmp_path):
    results = tmp_path / "results"
    le = results / "validation_diffusive_le" / "LE_x"
    le.mkdir(parents=True)
    sigma = {"value": 0.8, "stderr": 0.1, "unverified_literature": {"value": 0.798}}
    report = {"system": "LE_x", "charge_model": "scaled_0.85", "model": "scaled_0.85", "reference_key": "NaPF6_PC_1M",
              "run_lengths_ps": {"production_NVT": 10000.0},
              "properties": {"density_g_per_cm3": {"value": 1.28, "stderr": 0.002, "deviation_percent": -0.9},
                             "sigma_formal_S_per_m": {"nernst_einstein": sigma, "einstein_helfand": sigma}}}
    (le / "validation.json").write_text(json.dumps(report))
    out = tmp_path / "decision"
    decision.main(["--results", str(results), "--out", str(out), "--models", "x"])
    ranked = json.loads((out / "decision.json").read_text())["reports"]
    assert [r["system"] for r in ranked] == ["LE_x"]
    assert "sigma_EH_LE ×1.00" in (out / "summary.md").read_text()
