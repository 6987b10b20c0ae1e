"""The retention stage's three command-line tools end to end on a small argon liquid, and the result contract.

Lengths are a few picoseconds: the numbers mean nothing; the test checks that the tools run, hand over their
files, and that retention.json holds the keys the issue's contract names, with ``converged: false`` said beside
numbers that cannot be converged, and that the summary reads it.
"""

from __future__ import annotations

import json

import numpy as np
import openmm
import openmm.app
import pytest

import testsystems
from analysis import retention as retention_cli
from analysis.evaporation import dividing_surfaces, evaporated
from analysis.summary import retention_fields
from simulation import evaporation, solvation_free_energy


def test_retention_tools_end_to_end(tmp_path):
    system, topology, positions = testsystems.lj_fluid(n_per_side=4, reduced_density=0.8)
    paths = testsystems.write_inputs(tmp_path, system, topology, positions)
    settings = tmp_path / "settings.json"
    testsystems.quick_settings(settings, temperature_K=100.0, timestep_ps=0.005)
    common = ["--system", str(paths["system"]), "--state", str(paths["state"]), "--topology", str(paths["topology"]),
              "--settings", str(settings)]
    status = solvation_free_energy.main(common + [
        "--residues", "AR", "--molecules", "2", "--solvent-residues", "AR", "--lambda-electrostatics", "1", "0",
        "--lambda-sterics", "1", "0.5", "0", "--window-equilibration", "0.1 ps", "--window-duration", "0.5 ps",
        "--sample-interval", "0.05 ps", "--collision-rate", "1 /ps", "--out", str(tmp_path / "solv.npz"),
        "--report", str(tmp_path / "solv.json"), "--log", str(tmp_path / "solv.log")])
    assert status == 0, (tmp_path / "solv.log").read_text()
    run = json.loads((tmp_path / "solv.json").read_text())
    assert len(run["residues"]["AR"]["molecules"]) == 2 and run["states"][0] == [1.0, 1.0]
    with np.load(tmp_path / "solv.npz") as data:
        assert data["AR/0/box_u"].shape == (4, 10, 4) and data["AR/0/vacuum_u"].shape == (2, 10, 2)
        assert np.all(data["AR/1/interaction/solvent"] < 0)       # a liquid atom is bound to its neighbours
    status = evaporation.main(common + [
        "--solvent-residues", "AR", "--temperature", "110 K", "--duration", "1 ps", "--sample-interval", "0.25 ps",
        "--vacuum-gap", "3 nm", "--wall-force-constant", "1000", "--collision-rate", "1 /ps", "--replicas", "2",
        "--out", str(tmp_path / "evap.npz"), "--report", str(tmp_path / "evap.json"), "--log", str(tmp_path / "evap.log")])
    assert status == 0, (tmp_path / "evap.log").read_text()
    out = tmp_path / "retention.json"
    forcefield = tmp_path / "forcefield.json"
    forcefield.write_text(json.dumps({"charge_model": "scaled_0.85", "charges": "argon: none", "ion_charge_scale": 1.0,
                                      "lj_overrides": [{"residue": "AR", "source": "test"}]}))
    status = retention_cli.main([
        "--system-name", "AR", "--temperature", "100 K", "--forcefield", str(forcefield),
        "--solvation",
        str(tmp_path / "solv.npz"), "--solvation-run", str(tmp_path / "solv.json"), "--reference-name", "AR_ref",
        "--reference-solvation", str(tmp_path / "solv.npz"), "--reference-solvation-run", str(tmp_path / "solv.json"),
        "--evaporation", str(tmp_path / "evap.npz"), "--evaporation-run", str(tmp_path / "evap.json"),
        "--evaporation-distance", "1 nm", "--polymer-weight-fraction", "0.1", "--out", str(out),
        "--csv", str(tmp_path / "retained.csv"), "--plot", str(tmp_path / "retention.png")])
    assert status == 0
    result = json.loads(out.read_text())
    dg = result["solvation_free_energy_kJ_per_mol"]["AR"]
    assert {"value", "stderr", "converged", "not_converged_because"} <= set(dg) and dg["n_molecules"] == 2
    assert dg["converged"] is False and dg["not_converged_because"]          # 10 samples per window
    ratio = result["vapour_pressure_ratio"]["AR"]
    assert ratio["value"] == 1.0 and ratio["delta_mu_ex_kJ_per_mol"]["value"] == 0.0   # against itself
    assert result["reference"] == "AR_ref" and result["temperature_K"] == 100.0
    assert result["forcefield"]["charge_model"] == "scaled_0.85"                  # the charges that produced it
    assert result["forcefield"]["lj_overrides"] == [{"residue": "AR", "source": "test"}]
    rate = result["evaporation"]["rate_per_ns_per_nm2"]["AR"]
    assert {"value", "stderr"} <= set(rate) and result["evaporation"]["temperature_K"] == 110.0
    assert result["evaporation"]["replicas"] == 2 and result["evaporation"]["film_normal_original_axis"] == "z"
    assert result["flory_huggins_estimate"]["activity_ratio"] < 1.0
    assert result["converged"] is False
    assert (tmp_path / "retained.csv").read_text().startswith("time_ps,residue,retained_fraction")
    assert (tmp_path / "retention.png").stat().st_size > 0
    fields = retention_fields(result)
    assert fields["retention_dG_solv_kJ_per_mol"]["AR"]["value"] == dg["value"]


def test_evaporation_removes_exactly_the_molecules_the_analysis_counts(tmp_path):
    """--evaporated remove: every molecule removed is one the analysis counts as evaporated, in the same frame,
    and no other is counted (both take the first passage beyond 1 nm from the frame's Gibbs surfaces). The box
    is an argon liquid slab (64 atoms, 1.47 nm) under 3 nm of vapour holding one atom, 1.5 nm above the
    liquid: it is removed at once; the 90 K liquid may lose more as it runs."""
    system, topology, positions = testsystems.lj_fluid(n_per_side=4, reduced_density=0.8)
    edge = system.getDefaultPeriodicBoxVectors()[0][0].value_in_unit(openmm.unit.nanometer)
    vectors = [openmm.Vec3(edge, 0, 0), openmm.Vec3(0, edge, 0), openmm.Vec3(0, 0, edge + 3.0)]
    system.setDefaultPeriodicBoxVectors(*vectors)
    topology.setPeriodicBoxVectors(vectors)
    system.addParticle(system.getParticleMass(0))
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    nonbonded.addParticle(*nonbonded.getParticleParameters(0))
    topology.addAtom("AR", openmm.app.element.argon, topology.addResidue("AR", next(topology.chains())))
    positions = np.vstack([positions, [0.5 * edge, 0.5 * edge, edge + 1.5]])
    paths = testsystems.write_inputs(tmp_path, system, topology, positions)
    settings = tmp_path / "settings.json"
    testsystems.quick_settings(settings, temperature_K=90.0, timestep_ps=0.005)
    common = ["--system", str(paths["system"]), "--state", str(paths["state"]), "--topology", str(paths["topology"]),
              "--settings", str(settings), "--solvent-residues", "AR", "--temperature", "90 K", "--duration", "1 ps",
              "--sample-interval", "0.25 ps", "--vacuum-gap", "4 nm", "--wall-force-constant", "1000",
              "--collision-rate", "1 /ps", "--replicas", "2", "--evaporated", "remove",
              "--out", str(tmp_path / "evap.npz"), "--report", str(tmp_path / "evap.json"),
              "--log", str(tmp_path / "evap.log")]
    assert evaporation.main(common) != 0  # no removal distance given: refused by name
    assert "--removal-distance" in (tmp_path / "evap.log").read_text()
    assert evaporation.main(common + ["--removal-distance", "1 nm"]) == 0, (tmp_path / "evap.log").read_text()
    report = json.loads((tmp_path / "evap.json").read_text())
    assert report["settings"]["evaporated"] == "remove" and report["settings"]["removal_distance_nm"] == 1.0
    assert "removed" in report["evaporated_molecules"]
    with np.load(tmp_path / "evap.npz") as data:
        arrays = {k: data[k] for k in data.files}
    zc, h = dividing_surfaces(arrays["profile_amu"][0], arrays["profile_edges_nm"], report["area_nm2"])
    gone = evaporated(arrays["centre_z_nm"][0].astype(float), zc, h, 1.0)
    first = np.where(gone.any(axis=0), gone.argmax(axis=0), -1)
    removed = arrays["removed_at_frame"][0]
    assert removed[64] == 0  # the vapour atom, at the first frame
    # the second replica starts from the full System too: removal in one replica does not carry into the next
    assert arrays["removed_at_frame"][1][64] == 0
    assert arrays["profile_amu"][1][0].sum() == pytest.approx(65 * 39.948, rel=1e-5)
    np.testing.assert_array_equal(first, removed)
    # the recorded mass profile holds the removed atom in its frame of removal, and no longer after it
    assert arrays["profile_amu"][0][0].sum() == pytest.approx(65 * 39.948, rel=1e-5)
    assert arrays["profile_amu"][0][-1].sum() == pytest.approx((65 - (removed >= 0).sum()) * 39.948, rel=1e-5)
