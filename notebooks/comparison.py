"""Tables that compare the systems of one results folder, read from the JSON the stages write.

Each function returns a pandas DataFrame (one row per system, or per system and species) with the units in
the column names, and reads only files: ``summary.json`` (analysis/summary.py, schema
``gelmd.analysis.summary/2``) and, when the stages have run, ``<system>/transport.json``,
``<system>/mechanics/mechanics.json``, ``<system>/retention/retention.json``,
``<system>/interface/interface.json`` and ``descriptors/descriptors.json``. A stage that has not run gives
an empty table, never an invented number. The notebook ``notebooks/compare_networks.py`` shows them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

PAPER_CONDUCTIVITY_MS_PER_CM = {"GPE_PBMP": 1.8, "GPE_PTPA": 0.62}
"""Founding paper, room temperature (also in analysis/reference_data.py under the config's
reference_conductivity keys; the summary rows carry the value actually looked up)."""
S_PER_M_TO_MS_PER_CM = 10.0


def plotted(values, diffusive_flags) -> list[float]:
    """The values a figure draws: a fit flagged non-diffusive (flag ``False``) is not a result (issue 8: never
    shown as one, as in summary.md) and becomes NaN, as does a missing value; the tables keep every value with
    its flag for inspection."""
    return [float("nan") if v is None or _flagged_false(flag) or (isinstance(v, float) and v != v) else float(v)
            for v, flag in zip(values, diffusive_flags)]


def not_diffusive(diffusive_flags) -> list[int]:
    """Positions whose fit was flagged non-diffusive (drawn as an 'n.d.' label instead of a value)."""
    return [i for i, flag in enumerate(diffusive_flags) if _flagged_false(flag)]


def _flagged_false(flag) -> bool:
    """A diffusive flag that says no: False or NumPy's False_; None and NaN (no flag) do not."""
    if flag is None or (isinstance(flag, float) and flag != flag):
        return False
    return not bool(flag)


def load_json(path: Path) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def load_summary(results_dir: str | Path) -> dict:
    path = Path(results_dir) / "summary.json"
    data = load_json(path)
    if data is None:
        raise FileNotFoundError(f"{path} does not exist: run the workflow's summary rule first")
    return data


def select(rows: list[dict], systems: list[str] | None) -> list[dict]:
    """The summary rows of ``systems`` (all when None), refusing names the summary does not hold."""
    if not systems:
        return rows
    known = {r["system"] for r in rows}
    unknown = [s for s in systems if s not in known]
    if unknown:
        raise KeyError(f"systems {unknown} are not in summary.json; it holds {sorted(known)}")
    return [r for r in rows if r["system"] in systems]


def _v(block, key="value"):
    return block.get(key) if isinstance(block, dict) else None


def network_table(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        n = r.get("network")
        if not n:
            continue
        out.append({"system": r["system"], "monomer": n.get("monomer"), "conversion": n.get("conversion"),
                    "conversion_without_cyclisation": n.get("conversion_without_cyclisation"),
                    "gel_fraction": n.get("gel_fraction"),
                    "percolating_axes": "".join(n.get("percolating_axes") or []) or "none",
                    "crosslink_density_mol_per_m3": n.get("crosslink_density_mol_per_m3"),
                    "effective_strands_mol_per_m3": n.get("elastically_effective_strands_mol_per_m3"),
                    "kinetic_chains": n.get("kinetic_chains"),
                    "degree_of_polymerisation": n.get("degree_of_polymerisation"),
                    "polymer_weight_fraction": n.get("polymer_weight_fraction")})
    return pd.DataFrame(out)


def transport_table(rows: list[dict]) -> pd.DataFrame:
    """σ by both routes (formal and scaled charges), D(Na⁺), Haven ratio, t(Na⁺); each with its stderr and
    the diffusive flag of the fit it rests on; the experiment beside."""
    out = []
    for r in rows:
        if "D_Na_m2_per_s" not in r:
            continue
        row = {"system": r["system"]}
        for key, label, scale in (("sigma_EH_formal_S_per_m", "sigma_EH_formal_mS_per_cm", S_PER_M_TO_MS_PER_CM),
                                  ("sigma_NE_formal_S_per_m", "sigma_NE_formal_mS_per_cm", S_PER_M_TO_MS_PER_CM),
                                  ("sigma_EH_scaled_S_per_m", "sigma_EH_scaled_mS_per_cm", S_PER_M_TO_MS_PER_CM),
                                  ("sigma_NE_scaled_S_per_m", "sigma_NE_scaled_mS_per_cm", S_PER_M_TO_MS_PER_CM),
                                  ("D_Na_m2_per_s", "D_Na_1e-10_m2_per_s", 1e10),
                                  ("D_Na_m2_per_s_yeh_hummer", "D_Na_YH_1e-10_m2_per_s", 1e10),
                                  ("haven_ratio", "haven_ratio", 1.0),
                                  ("transference_number_Na", "t_Na", 1.0)):
            block = r.get(key)
            value, err = _v(block), _v(block, "stderr")
            row[label] = None if value is None else value * scale
            row[f"{label}_stderr"] = None if err is None else err * scale
            row[f"{label}_diffusive"] = _v(block, "diffusive")
        row["sigma_experiment_mS_per_cm"] = r.get("conductivity_experiment_mS_per_cm")
        row["sigma_experiment_source"] = r.get("conductivity_experiment_source")
        out.append(row)
    return pd.DataFrame(out)


def diffusion_table(results_dir: str | Path, systems: list[str]) -> pd.DataFrame:
    """D of every species (raw and Yeh–Hummer-corrected, 1e-10 m²/s) from each system's transport.json."""
    out = []
    for s in systems:
        t = load_json(Path(results_dir) / s / "transport.json")
        if not t:
            continue
        for name, sp in (t.get("species") or {}).items():
            d, yh = sp.get("D_m2_per_s") or {}, sp.get("D_m2_per_s_yeh_hummer") or {}
            out.append({"system": s, "species": name,
                        "D_1e-10_m2_per_s": None if d.get("value") is None else d["value"] * 1e10,
                        "D_stderr_1e-10_m2_per_s": None if d.get("stderr") is None else d["stderr"] * 1e10,
                        "D_YH_1e-10_m2_per_s": None if yh.get("value") is None else yh["value"] * 1e10,
                        "diffusive": sp.get("diffusive")})
    return pd.DataFrame(out)


def viscosity_table(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        eta = r.get("viscosity_Pa_s")
        if not eta or eta.get("value") is None:
            continue
        exp = r.get("viscosity_experiment_Pa_s")
        out.append({"system": r["system"], "viscosity_mPa_s": eta["value"] * 1e3,
                    "viscosity_stderr_mPa_s": None if eta.get("stderr") is None else eta["stderr"] * 1e3,
                    "experiment_mPa_s": None if exp is None else exp * 1e3,
                    "deviation_percent": r.get("viscosity_deviation_percent"),
                    "linear_response": r.get("viscosity_linear_response")})
    return pd.DataFrame(out)


def mechanics_table(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        if "youngs_modulus_Pa" not in r and not r.get("mechanics_refusal"):
            continue
        e, s30 = r.get("youngs_modulus_Pa"), r.get("stress_at_30pct_strain_Pa")
        paper = r.get("stress_at_30pct_strain_paper_Pa")
        out.append({"system": r["system"],
                    "youngs_modulus_MPa": None if _v(e) is None else e["value"] / 1e6,
                    "youngs_modulus_stderr_MPa": None if _v(e, "stderr") is None else e["stderr"] / 1e6,
                    "stress_30pct_kPa": None if _v(s30) is None else s30["value"] / 1e3,
                    "stress_30pct_stderr_kPa": None if _v(s30, "stderr") is None else s30["stderr"] / 1e3,
                    "paper_stress_30pct_kPa": None if paper is None else paper / 1e3,
                    "hold_time_independent": r.get("mechanics_hold_time_independent"),
                    "refusal": r.get("mechanics_refusal")})
    return pd.DataFrame(out)


def stress_strain_curves(results_dir: str | Path, systems: list[str]) -> dict[str, pd.DataFrame]:
    curves = {}
    for s in systems:
        m = load_json(Path(results_dir) / s / "mechanics" / "mechanics.json")
        if m and m.get("stress_strain"):
            curves[s] = pd.DataFrame(m["stress_strain"])
    return curves


def retention_table(results_dir: str | Path, systems: list[str]) -> pd.DataFrame:
    """Issue-10 contract: solvation_free_energy_kJ_per_mol.<res>, vapour_pressure_ratio.<res>,
    evaporation.rate_per_ns_per_nm2.<res>, each {value, stderr}."""
    out = []
    for s in systems:
        r = load_json(Path(results_dir) / s / "retention" / "retention.json")
        if not r:
            continue
        residues = sorted(set(r.get("solvation_free_energy_kJ_per_mol") or {}) | set(r.get("vapour_pressure_ratio") or {})
                          | set(((r.get("evaporation") or {}).get("rate_per_ns_per_nm2")) or {}))
        for res in residues:
            g = (r.get("solvation_free_energy_kJ_per_mol") or {}).get(res) or {}
            p = (r.get("vapour_pressure_ratio") or {}).get(res) or {}
            k = ((r.get("evaporation") or {}).get("rate_per_ns_per_nm2") or {}).get(res) or {}
            out.append({"system": s, "solvent": res, "dG_solv_kJ_per_mol": g.get("value"),
                        "dG_solv_stderr_kJ_per_mol": g.get("stderr"), "p_over_p_reference": p.get("value"),
                        "p_over_p_reference_stderr": p.get("stderr"), "reference": r.get("reference"),
                        "evaporation_per_ns_per_nm2": k.get("value"), "evaporation_stderr": k.get("stderr")})
    return pd.DataFrame(out)


def interface_table(results_dir: str | Path, systems: list[str]) -> pd.DataFrame:
    """Issue-11 contract (analysis/interface.py): na_homogeneity_index {value, stderr, cv, random_cv, ...}
    (None when no Na⁺ reached the layer), bias_V, electrode_charge_e {electrode0, electrode1: {value,
    stderr}}, first_layer.composition (fraction per atom class)."""
    out = []
    for s in systems:
        r = load_json(Path(results_dir) / s / "interface" / "interface.json")
        if not r:
            continue
        h = r.get("na_homogeneity_index")
        h = h if isinstance(h, dict) else {"value": h}
        q = r.get("electrode_charge_e")
        q = q if isinstance(q, dict) else {}
        comp = (r.get("first_layer") or {}).get("composition") or {}
        out.append({"system": s, "na_homogeneity_index": h.get("value"), "na_homogeneity_stderr": h.get("stderr"),
                    "cv": h.get("cv"), "random_cv": h.get("random_cv"), "bias_V": r.get("bias_V"),
                    "electrode0_charge_e": _v(q.get("electrode0")), "electrode1_charge_e": _v(q.get("electrode1")),
                    **{f"first_layer_{k}": (v if not isinstance(v, (dict, list)) else json.dumps(v))
                       for k, v in comp.items()}})
    return pd.DataFrame(out)


def descriptors_table(results_dir: str | Path) -> tuple[pd.DataFrame, dict | None]:
    """Per species: our binding (eV), charge transfer (e), LUMO (eV), site; plus the paper comparison."""
    d = load_json(Path(results_dir) / "descriptors" / "descriptors.json")
    if not d:
        return pd.DataFrame(), None
    rows = [{"species": n, "na_binding_eV": s["na_binding_eV"], "charge_transfer_e": s["charge_transfer_e"],
             "lumo_eV": s["lumo_eV"], "binding_site": s["binding_site"]} for n, s in d["species"].items()]
    return pd.DataFrame(rows), d
