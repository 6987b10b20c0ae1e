"""The Snakemake workflow: dry runs of both campaigns, config errors before any job, and a tiny LE end to end.

The end-to-end test runs the real DAG (build -> RESP templates from the cache -> parameterise -> minimise,
heat, NPT to a converged density -> chunked NVT production -> density -> summary) on OpenMM's CPU platform
for a ~500-atom liquid electrolyte in its own working directory (``snakemake --directory``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_snakemake(*args: str, cwd: Path = REPO, timeout: float = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def jobs_of_dry_run(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run into {rule: count}."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job ") and "count" in line)
    counts = {}
    for line in lines[start + 2:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.mark.parametrize("config, systems, salted", [("config/demo.yaml", 4, 3), ("config/config.yaml", 5, 4)])
def test_dry_run_plans_every_stage_for_every_system(config, systems, salted, tmp_path):
    result = run_snakemake("-n", "--cores", "2", "--configfile", str(REPO / config), "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout
    jobs = jobs_of_dry_run(result.stdout)
    for rule in ("parameterise", "equilibrate", "produce", "density"):
        assert jobs[rule] == systems, (rule, jobs)
    assert jobs["build_electrolyte"] + jobs["build_network"] == systems
    assert jobs["transport"] == salted  # the salt-free PC system has no ions to analyse
    assert jobs["summary"] == 1 and jobs["all"] == 1
    assert "resp_template" not in jobs  # the cached templates are used


@pytest.mark.parametrize("config", ["config/validation.yaml", "config/validation_diffusive.yaml",
                                    "config/validation_diffusive_le.yaml", "config/validation_viscosity.yaml",
                                    "config/validation_gpu.yaml"])
def test_validation_campaigns_plan_their_own_summary(config, tmp_path):
    """The default target of a validation campaign is its table across charge models (validation_summary),
    without the campaign summary or the notebook that would write summary.md as well."""
    result = run_snakemake("-n", "--cores", "2", "--configfile", str(REPO / config), "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout
    jobs = jobs_of_dry_run(result.stdout)
    assert jobs["validation_summary"] == 1 and jobs["all"] == 1
    assert "summary" not in jobs and "report_notebook" not in jobs
    assert jobs["validation"] == jobs["produce"]


def test_profiles_dry_run_with_gpu_and_slurm_resources(tmp_path):
    for profile in ("gpu-workstation", "slurm"):
        result = run_snakemake("-n", "--profile", str(REPO / "workflow/profiles" / profile),
                               "--configfile", str(REPO / "config/config.yaml"), "--directory", str(tmp_path))
        assert result.returncode == 0, profile + result.stderr + result.stdout


def test_bad_config_fails_before_any_job_with_the_key_named(tmp_path):
    raw = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    raw["systems"]["LE"]["salt"]["concentration"] = "-1 mol/L"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    result = run_snakemake("--cores", "1", "--configfile", str(bad), "--directory", str(tmp_path))
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "systems.LE.salt.concentration" in text and "negative" in text
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("field", ["system", "species", "monomer_residue"])
def test_a_config_cannot_run_commands_through_names(field, tmp_path):
    """A shared config is data: a name carrying a shell command is refused before any job, and runs nothing."""
    raw = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    marker = tmp_path / "pwned"
    payload = f"X;touch {marker}"
    if field == "system":
        raw["systems"] = {payload: raw["systems"]["LE"]}
    elif field == "species":
        raw["species"] = {payload: {"smiles": "COC(=O)OC", "residue": "DMC", "role": "solvent",
                                    "density": "1.07 g/cm^3"}}
    else:
        raw["systems"]["GPE_PBMP"]["monomer_residue"] = payload
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    result = run_snakemake("--cores", "1", "--configfile", str(bad), "--directory", str(tmp_path))
    assert result.returncode != 0
    assert "not allowed" in result.stdout + result.stderr or "does not match" in result.stdout + result.stderr
    assert not marker.exists() and not (tmp_path / "results").exists()


def test_duplicate_key_in_the_config_file_stops_the_workflow(tmp_path):
    text = (REPO / "config/demo.yaml").read_text() + "seed: 99\n"
    bad = tmp_path / "dup.yaml"
    bad.write_text(text)
    result = run_snakemake("-n", "--cores", "1", "--configfile", str(bad), "--directory", str(tmp_path))
    assert result.returncode != 0
    assert "'seed' is given twice" in result.stdout + result.stderr


TINY = {
    "name": "tiny",
    "seed": 7,
    "temperature": "298.15 K",
    "engine": {"platform": "CPU"},
    "forcefield": {"nonbonded_cutoff": "0.8 nm"},
    "systems": {"LE": {"solvents": {"PC": 0.95, "FEC": 0.05},
                       "salt": {"cation": "Na+", "anion": "PF6-", "concentration": "1 mol/L"},
                       "n_solvent": 40}},
    "protocol": {"timestep": "2 fs", "heating_duration": "2 ps", "equilibration_duration": "10 ps",
                 "equilibration_max_blocks": 6, "density_tolerance": 0.03, "production_duration": "10 ps",
                 "production_chunk": "5 ps", "trajectory_interval": "0.1 ps", "energy_interval": "0.5 ps",
                 "production_replicas": 2},
    # the property stages at a few picoseconds: they run end to end, their numbers mean nothing here
    "mechanics": {"strain_step": 0.1, "reference": "2 ps", "ramp": "0.5 ps", "hold": "2 ps",
                  "sample_interval": "0.1 ps", "blocks": 4},
    "viscosity": {"duration": "6 ps", "spin_up": "1 ps", "sample_interval": "0.2 ps", "blocks": 3,
                  "amplitude": "1.5 nm/ps^2", "second_amplitude": "0.75 nm/ps^2"},  # a flow well above the noise of 6 ps (nonlinear: a pipeline check)
    "interface": {"planes_per_slab": 2, "equilibration": "0.2 ps", "production": "0.8 ps", "frame_interval": "0.1 ps",
                  "blocks": 4},
}


@pytest.mark.integration
def test_tiny_liquid_electrolyte_end_to_end_on_cpu(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    result = run_snakemake("--cores", "2", "--configfile", str(config), "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr[-4000:]
    results = tmp_path / "results" / "tiny"
    manifest = json.loads((results / "LE/build/manifest.json").read_text())
    assert manifest["composition"]["counts"]["Na+"] == manifest["composition"]["counts"]["PF6-"] >= 1

    forcefield = json.loads((results / "LE/parameterise/forcefield.json").read_text())
    assert forcefield["ion_charge_scale"] == 0.8 and abs(forcefield["total_charge_e"]) < 1e-6

    production = json.loads((results / "LE/production/production.json").read_text())
    assert production["ensemble"] == "NVT"
    assert production["trajectory"]["frames"] == 100
    assert production["platform"]["name"] == "CPU"
    assert (results / "LE/production/trajectory.dcd").stat().st_size > 0
    assert not (results / "LE/production.work").exists()  # cleaned after a finished run

    density = json.loads((results / "LE/density.json").read_text())
    rho = density["density_g_per_cm3"]
    # A 500-atom carbonate electrolyte after ~tens of ps of NPT: liquid-like, not a gas or a crushed box.
    assert 1.0 < rho["value"] < 1.6 and 0 < rho["stderr"] < 0.05
    assert density["experiment"]["deviation_percent"] is None  # no verified experiment for this mixture

    transport = json.loads((results / "LE/transport.json").read_text())
    for species in ("NA", "PF6", "PC"):
        d = transport["species"][species]["D_m2_per_s"]
        assert d["value"] > 0 and d["stderr"] >= 0
    for route in ("nernst_einstein", "einstein_helfand"):
        assert "stderr" in transport["conductivity"][route]["sigma_S_per_m"]
    assert transport["temperature_K"] == pytest.approx(298.15)
    assert (results / "LE/transport/replica1_plots/msd.png").stat().st_size > 0
    # two production replicas from the same equilibrated state, combined
    replica2 = json.loads((results / "LE/production_replica2/production.json").read_text())
    assert replica2["replica"] == 2 and replica2["velocity_seed"] != production["velocity_seed"]
    assert transport["replicas"]["n"] == 2
    assert transport["species"]["NA"]["D_m2_per_s"]["n_replicas"] == 2

    # the property stages ran and wrote their contracts (values meaningless at these lengths)
    viscosity = json.loads((results / "LE/viscosity/viscosity.json").read_text())
    assert viscosity["viscosity_Pa_s"]["value"] > 0 and len(viscosity["amplitudes"]) == 2
    assert "peculiar velocity" in viscosity["method"]
    corrected = transport["species"]["NA"]["D_m2_per_s_yeh_hummer"]
    assert corrected["value"] > transport["species"]["NA"]["D_m2_per_s"]["value"]  # Yeh-Hummer adds to D
    mechanics = json.loads((results / "LE/mechanics/mechanics.json").read_text())
    assert {"youngs_modulus_Pa", "stress_at_30pct_strain_Pa", "rubber_elasticity", "method"} <= set(mechanics)
    assert (results / "LE/mechanics/stress_strain.csv").is_file()

    summary = json.loads((results / "summary.json").read_text())
    assert [row["system"] for row in summary["systems"]] == ["LE"]
    assert summary["systems"][0]["D_Na_m2_per_s"]["value"] > 0
    table = (results / "summary.md").read_text()
    assert "| LE |" in table and "charges" in table
    assert "LE" in (results / "summary.csv").read_text()

    # descriptors read from the committed cache; the comparison notebook executed on these results
    import pandas as pd
    descriptors = json.loads((results / "descriptors/descriptors.json").read_text())
    assert {"species", "missing", "method", "paper_comparison"} <= set(descriptors)
    assert set(descriptors["species"]) | set(descriptors["missing"]) >= {"PC", "FEC", "TMA+", "NO3-"}
    html = (results / "report/compare_networks.html").read_text()
    for stage in ("retention", "interface"):  # shown when the stage ran, else skipped with a note
        ran = (results / f"LE/{stage}/{stage}.json").is_file()
        rows = len(pd.read_csv(results / f"report/tables/{stage}.csv")) if ran else 0
        assert (ran and rows >= 1) or (not ran and f"{stage}/{stage}.json" in html)
    transport_table = pd.read_csv(results / "report/tables/transport.csv")
    sigma = summary["systems"][0]["sigma_EH_formal_S_per_m"]["value"]
    assert transport_table.loc[0, "sigma_EH_formal_mS_per_cm"] == pytest.approx(sigma * 10, rel=1e-9)

    # Nothing to do on a second run: every output is complete and up to date.
    again = run_snakemake("-n", "--cores", "2", "--configfile", str(config), "--directory", str(tmp_path))
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    # The Snakemake HTML report collects the notebook, its tables and figures with their captions.
    report = tmp_path / "report.html"
    made = run_snakemake("--cores", "1", "--configfile", str(config), "--directory", str(tmp_path),
                         "--report", str(report))
    assert made.returncode == 0, made.stderr[-4000:]
    page = report.read_text(errors="replace")
    for caption in ("comparison table written by the notebook", "executed comparison notebook"):
        assert caption in page, caption
    assert "transport.csv" in page and "transport.png" in page

    # A protocol change is seen in one run: the NPT stage and what follows it are planned at once (they were
    # planned only on the third run while the resolved config and settings were jobs), the build is not.
    changed = dict(TINY, protocol=dict(TINY["protocol"], density_tolerance=0.04))
    config.write_text(yaml.safe_dump(changed))
    replanned = run_snakemake("-n", "--cores", "2", "--configfile", str(config), "--directory", str(tmp_path))
    assert replanned.returncode == 0, replanned.stderr[-4000:]
    jobs = jobs_of_dry_run(replanned.stdout)
    assert jobs["equilibrate"] == jobs["produce"] == jobs["produce_replica"] == jobs["transport"] == 1, jobs
    assert "build_electrolyte" not in jobs and "parameterise" not in jobs, jobs
