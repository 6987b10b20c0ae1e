"""Density against experiment (correlation-corrected error bar) and the campaign summary tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.density import density_report, mean_and_stderr, statistical_inefficiency
from analysis.density import main as density_main
from analysis.summary import main as summary_main
from common.errors import AnalysisError


def ar1(n: int, phi: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return x


def test_statistical_inefficiency_of_white_noise_and_ar1():
    assert statistical_inefficiency(np.random.default_rng(1).normal(size=20000)) == pytest.approx(1.0, abs=0.1)
    # AR(1): g = (1 + phi) / (1 - phi) = 3 for phi = 0.5
    assert statistical_inefficiency(ar1(50000, 0.5)) == pytest.approx(3.0, rel=0.1)


def test_stderr_covers_the_true_mean_of_correlated_series():
    hits = 0
    for seed in range(200):
        stats = mean_and_stderr(1.2 + 0.01 * ar1(400, 0.8, seed))
        hits += abs(stats["mean"] - 1.2) < 1.96 * stats["stderr"]
    assert 0.88 < hits / 200 < 0.99  # ~95 % coverage; the naive error (g = 1) would cover ~55 %


def equilibration(densities, blocks=1, block_ps=20.0, volumes=None):
    n = len(densities)
    volumes = list(volumes) if volumes is not None else [20.0] * n
    return {"npt": {"converged": True, "blocks_used": blocks, "block_ps": block_ps, "temperature_K": 298.15,
                    "pressure_bar": 1.0, "timestep_ps": 0.002, "steps": int(blocks * block_ps / 0.002),
                    "checks": [{"n_samples": n // blocks - (n // blocks) // 2}],
                    "barostat": {"mode": "molecular"},
                    "series": {"time_ps": list(np.linspace(1, blocks * block_ps, n)),
                               "density_g_per_cm3": list(densities), "volume_nm3": volumes}}}


FORCEFIELD = {"charges": "RESP", "ion_charge_scale": 0.8, "force_field": "GAFF2"}


def test_density_uses_the_second_half_of_the_last_block_and_compares_with_pc():
    first_block = [1.0] * 20
    last_block = [1.5] * 10 + list(1.19 + 0.002 * np.sin(np.arange(10)))
    report = density_report(equilibration(first_block + last_block, blocks=2), FORCEFIELD, "PC", "PC")
    assert report["density_g_per_cm3"]["value"] == pytest.approx(1.19, abs=0.002)
    assert report["experiment"]["value_g_per_cm3"] == pytest.approx(1.200)
    assert report["experiment"]["deviation_percent"] == pytest.approx(
        100 * (report["density_g_per_cm3"]["value"] - 1.2) / 1.2)
    assert report["ion_charge_scale"] == 0.8 and report["temperature_K"] == 298.15
    assert "molecules scaled as rigid bodies" in report["ensemble"]


def test_density_without_reference_says_so_and_unknown_reference_is_an_error():
    report = density_report(equilibration(list(1.25 + 0.001 * np.cos(np.arange(20)))), FORCEFIELD, "LE", "")
    assert report["experiment"]["deviation_percent"] is None
    assert "no verified" in report["experiment"]["note"]
    with pytest.raises(AnalysisError, match="no experimental density reference named 'XYZ'.*PC"):
        density_report(equilibration([1.2] * 20), FORCEFIELD, "LE", "XYZ")


MANIFEST = {"composition": {"counts": {"PC": 104, "FEC": 6, "Na+": 10, "PF6-": 10}, "cation": "Na+",
                             "anion": "PF6-", "target_salt_molarity_mol_per_L": 1.0,
                             "realised_salt_molarity_mol_per_L": 1.0117},
            "realised_molarity_mol_per_L": {"value": 1.0117, "stderr": None}}


def test_realised_molarity_from_the_mean_equilibrated_volume(tmp_path):
    # First block at another volume (ignored); the converged window's volumes average 16.60539 nm3, where
    # N_A * 16.60539e-24 L = 10.000 L/mol, so 10 Na+ in that volume make 1.0000 mol/L.
    window = 16.60539 * (1 + 0.002 * ar1(10, 0.5, seed=4) / 3)
    volumes = [18.0] * 20 + [18.0] * 10 + list(window)
    densities = [1.0] * 20 + [1.5] * 10 + [1.26] * 10
    eq = equilibration(densities, blocks=2, volumes=volumes)
    c = density_report(eq, FORCEFIELD, "LE", "", MANIFEST)["realised_molarity_mol_per_L"]
    mean_volume = float(np.mean(window))
    assert c["value"] == pytest.approx(10 / (6.02214076e23 * mean_volume * 1e-24), rel=1e-12)
    assert c["value"] == pytest.approx(1.0, abs=0.003)
    assert c["stderr"] == pytest.approx(c["value"] * mean_and_stderr(window)["stderr"] / mean_volume, rel=1e-12)
    assert c["target"] == 1.0 and c["at_build"] == 1.0117 and c["n_ion_pairs"] == 10
    assert c["volume_nm3"]["value"] == pytest.approx(mean_volume)
    # the CLI writes it with --manifest, and leaves it null without
    paths = {}
    for key, data in {"equilibration": eq, "forcefield": FORCEFIELD, "manifest": MANIFEST}.items():
        paths[key] = tmp_path / f"{key}.json"
        paths[key].write_text(json.dumps(data))
    base = ["--equilibration", str(paths["equilibration"]), "--forcefield", str(paths["forcefield"]),
            "--system-name", "LE"]
    assert density_main(base + ["--manifest", str(paths["manifest"]), "--out", str(tmp_path / "d.json")]) == 0
    written = json.loads((tmp_path / "d.json").read_text())["realised_molarity_mol_per_L"]
    assert written["value"] == pytest.approx(c["value"]) and written["stderr"] == pytest.approx(c["stderr"])
    assert density_main(base + ["--out", str(tmp_path / "n.json")]) == 0
    assert json.loads((tmp_path / "n.json").read_text())["realised_molarity_mol_per_L"] is None


def test_realised_molarity_without_salt_is_zero_and_a_bad_manifest_is_named():
    eq = equilibration([1.2] * 20, volumes=[11.0] * 20)
    neat = {"composition": {"counts": {"PC": 80}, "cation": None, "target_salt_molarity_mol_per_L": 0.0}}
    assert density_report(eq, FORCEFIELD, "PC", "", neat)["realised_molarity_mol_per_L"]["value"] == 0.0
    with pytest.raises(AnalysisError, match="composition.counts"):
        density_report(eq, FORCEFIELD, "PC", "", {"system": "PC"})


def test_summary_writes_markdown_csv_json_with_experiment(tmp_path):
    files = {}
    reports = {
        "manifest": {"n_atoms": 1484, "kind": "gpe", "composition": {"counts": {"PC": 104, "Na+": 9}}},
        "forcefield": FORCEFIELD,
        "density": density_report(equilibration([1.21] * 10 + [1.22] * 10), FORCEFIELD, "GPE_PBMP", "PC"),
        "production": {"ensemble": "NVT", "thermostat": {"temperature_K": 298.15}, "duration_ps": 200.0,
                       "timestep_ps": 0.004, "hydrogen_mass_amu": 3.024, "ns_per_day": 55.0,
                       "platform": {"name": "CPU"}},
        "transport": {"species": {"NA": {"D_m2_per_s": {"value": 1.0e-10, "stderr": 0.2e-10}, "charge_formal_e": 1,
                                         "diffusive": True, "loglog_slope": 0.98}},
                      "conductivity": {"nernst_einstein": {"sigma_S_per_m": {"value": 0.3, "stderr": 0.05}},
                                       "einstein_helfand": {"sigma_S_per_m": {"value": 0.2, "stderr": 0.1},
                                                            "diffusive": True, "loglog_slope": 1.02}},
                      "haven_ratio": {"value": 1.5, "stderr": 0.8}, "transference_number_Na": {"value": 0.4,
                                                                                            "stderr": 0.1},
                      "fit_window_ps": [20, 100],
                      "solvation": {"coordination_numbers": {"PC:O_carbonyl": 4.2, "BMU:N": 0.1, "BMM:N": 0.25,
                                                             "BMM:O_ether": None}}},
        "network": {"conversion": 0.83, "target_conversion": 0.8, "cycles": 5, "gel_fraction": 0.97,
                    "crosslink_density_mol_per_m3": 412.0, "seed": 7,
                    "conversion_without_cyclisation": 0.71, "kinetic_chains": 3, "degree_of_polymerisation": 5.0,
                    "percolating_axes": ["x", "y", "z"], "percolation_rank": 3,
                    "elastically_effective_strands_mol_per_m3": 300.0,
                    "monomer": {"name": "BMP", "reaction_type": "ring_opening_aziridine",
                                "residues": {"arm": {"U": "BMU", "M": "BMM"}}},
                    "composition": {"realised_polymer_weight_fraction": 0.101}},
    }
    args = ["--campaign", "t", "--out-dir", str(tmp_path), "--system", "GPE_PBMP"]
    for key, data in reports.items():
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(data))
        files[key] = path
        args += [f"--{key}", str(path)]
    args += ["--reference-conductivity", "GPE_PBMP"]
    assert summary_main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    row = summary["systems"][0]
    assert row["conductivity_experiment_mS_per_cm"] == 1.8
    # measured on a gel in a glass-fibre membrane: kept beside the row, never turned into a deviation
    assert row["conductivity_deviation_percent"] is None and "membrane" in row["conductivity_experiment_measured_in"]
    table = (tmp_path / "summary.md").read_text()
    assert "| GPE_PBMP | 1484 |" in table and "2 ± 1" in table  # σ EH (scaled) in mS/cm
    assert "| 1.80 † |" in table and "vs experiment" not in table
    assert (tmp_path / "summary.csv").read_text().splitlines()[1].startswith("GPE_PBMP,1484,")
    assert row["network"]["conversion"] == 0.83 and row["network"]["monomer"] == "BMP"
    assert "conversion 0.83 (target 0.80; without cyclisation 0.71) after 5 cycles, 3 kinetic chain(s)" in table
    assert "gel fraction 0.97 (percolates along x, y, z; rank 3)" in table and "crosslink density 412 mol/m³" in table
    assert row["coordination_Na_by_monomer"]["BMP:N"] == pytest.approx(0.35)  # amine N of all BMP units
    assert "| PC:O_carbonyl 4.2, BMP:N 0.3 |" in table


def test_summary_missing_report_is_named(tmp_path):
    code = summary_main(["--campaign", "t", "--out-dir", str(tmp_path), "--system", "LE",
                         "--manifest", str(tmp_path / "nope.json")])
    assert code == 1 and not (tmp_path / "summary.md").exists()


def test_coordination_by_monomer_sums_residues_whatever_order_their_missing_values_come():
    """A unit residue with no resolvable first shell (None) adds nothing to the monomer's sum, before or after
    one that has a value (a demo PTPA gel had TPM:O_ether None before TPS:O_ether 0.14: the summary crashed)."""
    from analysis.summary import by_monomer

    units = ["TPM", "TPS", "TPE"]
    first_none = {"TPM:O_ether": None, "TPS:O_ether": 0.14, "TPE:O_ether": 0.06, "PC:O_carbonyl": 4.1}
    assert by_monomer(first_none, units, "TPA") == pytest.approx({"TPA:O_ether": 0.20, "PC:O_carbonyl": 4.1})
    last_none = {"TPS:O_ether": 0.14, "TPM:O_ether": None}
    assert by_monomer(last_none, units, "TPA") == pytest.approx({"TPA:O_ether": 0.14})
    assert by_monomer({"TPM:F": None, "TPS:F": None}, units, "TPA") == {"TPA:F": None}
