"""End to end: ``python -m analysis.transport`` on a synthetic OpenMM-written DCD, PDB and System XML."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import transport_synthetic as ts
from analysis.transport import main, parse_viscosity
from common.errors import AnalysisError, UnitError

COUNTS = {"NA": 30, "PF6": 30, "PC": 40}
D_NM2_PER_PS = {"NA": 0.002, "PF6": 0.003, "PC": 0.005}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transport")
    x = ts.walk(COUNTS, D_NM2_PER_PS, 300, 1.0, seed=3)
    pdb, dcd, xml = ts.write_inputs(folder, COUNTS, x, dt_ps=1.0)
    out = folder / "out.json"
    cmd = [sys.executable, "-m", "analysis.transport", "--topology", str(pdb), "--trajectory", str(dcd),
           "--system", str(xml), "--temperature", "298.15 K", "--out", str(out), "--csv", str(folder / "t.csv"),
           "--plots-dir", str(folder / "plots"), "--viscosity", "2.5 mPa s", "--backend", "numpy"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return folder, json.loads(out.read_text())


def test_diffusion_coefficients_are_recovered(run):
    _, r = run
    assert r["frame_interval_ps"] == pytest.approx(1.0)
    assert r["inputs"]["frame_interval_sources"] == ["OpenMM DCD header"]
    assert r["n_frames"] == 300 and r["run_length_ps"] == pytest.approx(299.0)
    assert r["box"]["mean_volume_nm3"] == pytest.approx(27.0, rel=1e-5) and r["box"]["cubic"]
    for name, D in D_NM2_PER_PS.items():
        sp = r["species"][name]
        est = sp["D_m2_per_s"]
        assert abs(est["value"] - D * 1e-6) < 3 * est["stderr"], name
        assert sp["diffusive"] and sp["fit_window_ps"][1] > sp["fit_window_ps"][0]
        yh = r["yeh_hummer"]["correction_m2_per_s"]
        assert sp["D_m2_per_s_yeh_hummer"]["value"] == pytest.approx(est["value"] + yh)
    assert r["yeh_hummer"]["viscosity_Pa_s"] == pytest.approx(2.5e-3)


def test_conductivities_haven_and_transference(run):
    _, r = run
    kT, V, e = 1.380649e-23 * 298.15, 27e-27, 1.602176634e-19
    for key, q in (("conductivity", 0.8), ("conductivity_formal_charges", 1.0)):
        c = r[key]
        assert c["charges_e"]["NA"] == pytest.approx(q) and c["charges_e"]["PF6"] == pytest.approx(-q)
        ne = c["nernst_einstein"]["sigma_S_per_m"]
        # Nernst-Einstein from the Yeh-Hummer-corrected D (a viscosity was given), and says so
        D = {n: r["species"][n]["D_m2_per_s_yeh_hummer"]["value"] for n in ("NA", "PF6")}
        assert ne["value"] == pytest.approx(e**2 / (V * kT) * 30 * q**2 * (D["NA"] + D["PF6"]), rel=1e-4)
        assert "Yeh-Hummer-corrected" in c["nernst_einstein"]["D_used"]
        assert "not corrected" in c["einstein_helfand"]["yeh_hummer"]
        # the synthetic walks have no hydrodynamics: EH agrees with NE from the raw D (independent ions)
        raw = {n: r["species"][n]["D_m2_per_s"]["value"] for n in ("NA", "PF6")}
        ne_raw = e**2 / (V * kT) * 30 * q**2 * (raw["NA"] + raw["PF6"])
        eh = c["einstein_helfand"]["sigma_S_per_m"]
        assert abs(eh["value"] - ne_raw) < 3 * np.hypot(eh["stderr"], ne["stderr"])
        assert c["nernst_einstein"]["sigma_mS_per_cm"]["value"] == pytest.approx(10 * ne["value"])
    assert r["conductivity"]["charge_convention"] == "scaled"
    assert r["haven_ratio"] == r["conductivity"]["haven_ratio"]
    t = r["transference_number_Na"]
    assert t["D_key"] == "D_m2_per_s_yeh_hummer"
    D = {n: r["species"][n]["D_m2_per_s_yeh_hummer"]["value"] for n in ("NA", "PF6")}
    assert t["value"] == pytest.approx(D["NA"] / (D["NA"] + D["PF6"]))
    assert set(r["fit_window_ps"]) == {"NA", "PF6", "PC", "einstein_helfand"}


def test_solvation_block_and_files(run):
    folder, r = run
    s = r["solvation"]
    assert s["n_sodium"] == 30
    assert {"PF6:F", "PF6:COM", "PC:O_carbonyl", "PC:O_ether"} == set(s["groups"])
    ip = s["ion_pairs"]
    # independent random walks: g(r) has no first shell, so no cutoff and no fractions are invented
    assert ip["cutoff_nm"] is None and ip["SSIP"] is None and "no Na-anion first shell" in ip["note"]
    assert s["groups"]["PC:O_carbonyl"]["coordination_number"] is None
    assert s["coordination_numbers"] == {k: g["coordination_number"] for k, g in s["groups"].items()}
    for name in ("msd.png", "einstein_helfand.png", "rdf.png", "msd.csv", "rdf.csv"):
        assert (folder / "plots" / name).stat().st_size > 1000, name
    rows = list(csv.DictReader((folder / "t.csv").open()))
    d_na = [row for row in rows if row["quantity"] == "D" and row["species"] == "NA"][0]
    assert float(d_na["value"]) == pytest.approx(r["species"]["NA"]["D_m2_per_s"]["value"], rel=1e-5)
    assert {row["charge_convention"] for row in rows if row["quantity"] == "sigma_einstein_helfand"} == {"scaled",
                                                                                                       "formal"}


def test_without_viscosity_the_correction_is_null_and_explained(tmp_path):
    counts = {"NA": 10, "PF6": 10}
    x = ts.walk(counts, {"NA": 0.002, "PF6": 0.003}, 60, 2.0, seed=1)
    pdb, dcd, xml = ts.write_inputs(tmp_path, counts, x, dt_ps=2.0, wrap=False)
    out = tmp_path / "o.json"
    assert main(["--topology", str(pdb), "--trajectory", str(dcd), "--system", str(xml), "--temperature", "300 K",
                 "--out", str(out), "--frame-interval", "2000 fs", "--formal-charges", "NA=1", "PF6=-1",
                 "--no-solvation"]) == 0
    r = json.loads(out.read_text())
    assert r["frame_interval_ps"] == 2.0
    assert r["inputs"]["frame_interval_sources"] == ["--frame-interval", "OpenMM DCD header"]  # they agree
    assert r["species"]["NA"]["D_m2_per_s_yeh_hummer"]["value"] is None
    assert r["yeh_hummer"]["correction_m2_per_s"] is None and "no viscosity" in r["yeh_hummer"]["note"]
    assert r["species"]["NA"]["formal_charge_source"] == "given"
    assert r["solvation"] is None and "skipped" in r["solvation_note"]


def _error(tmp_path, capsys, counts, frames=60, **write):
    x = ts.walk(counts, {k: 0.002 for k in counts}, frames, 1.0)
    pdb, dcd, xml = ts.write_inputs(tmp_path, counts, x, **write)
    rc = main(["--topology", str(pdb), "--trajectory", str(dcd), "--system", str(xml), "--temperature", "300 K",
               "--out", str(tmp_path / "o.json")])
    assert rc == 1 and not (tmp_path / "o.json").exists()
    return capsys.readouterr().err


def test_error_atom_count_mismatch(tmp_path, capsys):
    err = _error(tmp_path, capsys, {"NA": 5, "PF6": 5}, topology_counts={"NA": 6, "PF6": 5})
    assert "traj.dcd" in err and "40 atoms but the topology has 41" in err


def test_error_too_few_frames(tmp_path, capsys):
    err = _error(tmp_path, capsys, {"NA": 5, "PF6": 5}, frames=20)
    assert "20 frames" in err and "at least 50" in err


def test_error_no_ions(tmp_path, capsys):
    err = _error(tmp_path, capsys, {"PC": 5})
    assert "no ions" in err and "--formal-charges" in err


def test_error_no_box(tmp_path, capsys):
    err = _error(tmp_path, capsys, {"NA": 5, "PF6": 5}, periodic_dcd=False)
    assert "traj.dcd" in err and "no periodic box" in err


def test_error_missing_file_and_bad_units(tmp_path, capsys):
    assert main(["--topology", str(tmp_path / "none.pdb"), "--trajectory", "x.dcd", "--system", "s.xml",
                 "--temperature", "300 K", "--out", str(tmp_path / "o.json")]) == 1
    assert "none.pdb" in capsys.readouterr().err
    assert main(["--topology", "t.pdb", "--trajectory", "x.dcd", "--system", "s.xml",
                 "--temperature", "300", "--out", str(tmp_path / "o.json")]) == 1
    assert "--temperature" in capsys.readouterr().err
    with pytest.raises(UnitError, match="mPa s"):
        parse_viscosity("2.5 mPas")
    with pytest.raises(AnalysisError, match="--viscosity: '0 mPa s' must be > 0"):
        parse_viscosity("0 mPa s")
    assert parse_viscosity("2.5 cP") == pytest.approx(2.5e-3)
    assert parse_viscosity("2.5 mPa.s") == pytest.approx(2.5e-3)  # every spelling the config accepts


def test_dcd_written_by_openmm_dcdreporter_from_a_real_run(tmp_path):
    """A short Langevin run of 16 Na+ / 16 Cl- (OpenMM Reference platform), DCDReporter with re-imaging."""
    import openmm
    from openmm import app, unit

    top = app.Topology()
    chain = top.addChain()
    system = openmm.System()
    nb = openmm.NonbondedForce()
    nb.setNonbondedMethod(openmm.NonbondedForce.PME)
    nb.setCutoffDistance(0.9)
    rng = np.random.default_rng(4)
    grid = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(2)], float) * 0.6 + 0.3
    for n, (name, el, q, sigma, eps, mass) in enumerate([("NA", "Na", 1.0, 0.22, 1.47, 22.99),
                                                         ("CL", "Cl", -1.0, 0.48, 0.05, 35.45)] * 16):
        r = top.addResidue(name, chain)
        top.addAtom(el, app.Element.getBySymbol(el), r)
        system.addParticle(mass)
        nb.addParticle(q, sigma, eps)
    system.addForce(nb)
    L = 2.4
    vecs = [openmm.Vec3(L, 0, 0), openmm.Vec3(0, L, 0), openmm.Vec3(0, 0, L)] * unit.nanometer
    top.setPeriodicBoxVectors(vecs)
    system.setDefaultPeriodicBoxVectors(*vecs)
    positions = (grid + rng.normal(0, 0.02, grid.shape)) * unit.nanometer
    integrator = openmm.LangevinMiddleIntegrator(1500 * unit.kelvin, 1 / unit.picosecond, 0.004 * unit.picosecond)
    integrator.setRandomNumberSeed(11)  # reproducible thermostat noise
    sim = app.Simulation(top, system, integrator, openmm.Platform.getPlatformByName("Reference"))
    sim.context.setPositions(positions)
    sim.minimizeEnergy(maxIterations=200)
    dcd = tmp_path / "run.dcd"
    sim.reporters.append(app.DCDReporter(str(dcd), 25))          # frames every 0.1 ps, re-imaged into the box
    sim.step(25 * 80)
    del sim
    with open(tmp_path / "top.pdb", "w") as fh:
        app.PDBFile.writeFile(top, positions, fh)
    (tmp_path / "system.xml").write_text(openmm.XmlSerializer.serialize(system))
    out = tmp_path / "out.json"
    assert main(["--topology", str(tmp_path / "top.pdb"), "--trajectory", str(dcd), "--system",
                 str(tmp_path / "system.xml"), "--temperature", "1500 K", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["frame_interval_ps"] == pytest.approx(0.1) and r["n_frames"] == 80
    assert r["box"]["mean_volume_nm3"] == pytest.approx(L**3, rel=1e-5)
    for name in ("NA", "CL"):
        D = r["species"][name]["D_m2_per_s"]
        assert 1e-10 < D["value"] < 1e-6 and D["stderr"] > 0   # a hot molten-salt-like fluid, not frozen or jumping
    assert r["conductivity_formal_charges"]["charges_e"] == {"NA": 1, "CL": -1}
    assert r["solvation"]["groups"]["CL:COM"]["n_sites"] == 16
    # the reporter re-imaged atoms into the box (raw jumps of ~L); the unwrapped positions never jump
    from analysis.trajectory import TrajectoryReader, UnwrappedTrajectory

    reader = TrajectoryReader([dcd], 32)
    raw = np.concatenate([c.positions for c in reader])
    unwrapped = np.concatenate([c.positions for c in UnwrappedTrajectory(reader)])
    assert np.abs(np.diff(raw, axis=0)).max() > 0.5 * L
    assert np.abs(np.diff(unwrapped, axis=0)).max() < 0.5
    assert np.abs(unwrapped - unwrapped[:1]).max() > 0.5 * L   # and they do leave the box


# --------------------------------------------------------------------------------------------------------------
# The frame interval is never guessed; impossible inputs are refused by the flag's name (exit status 1).

SMALL = {"NA": 8, "PF6": 8}
SMALL_D = {"NA": 0.004, "PF6": 0.006}
SMALL_FRAMES = 80


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """top.pdb, system.xml, an OpenMM DCD (traj.dcd, 1 ps per frame), the same frames written by mdtraj
    (mdtraj.dcd), in OpenMM segments whose headers place them in the run (seg1.dcd: frames 0-39 with
    ISTART = 0, seg2.dcd: frames 40-79 with ISTART = 40 NSAVC; overlap.dcd from frame 35, gap.dcd from
    frame 45, early.dcd: frames 10-39) and in two segments as OpenMM's DCDReporter writes them (ISTART = NSAVC in each: rep1.dcd,
    rep2.dcd)."""
    folder = tmp_path_factory.mktemp("small")
    x = ts.walk(SMALL, SMALL_D, SMALL_FRAMES, 1.0, seed=5)
    pdb, dcd, xml = ts.write_inputs(folder, SMALL, x, dt_ps=1.0)
    half = SMALL_FRAMES // 2
    files = {"pdb": pdb, "xml": xml, "dcd": dcd,
             "mdtraj": ts.write_mdtraj_dcd(folder / "mdtraj.dcd", SMALL, x),
             "seg1": ts.write_dcd(folder / "seg1.dcd", SMALL, x[:half], first_frame=0),
             "seg2": ts.write_dcd(folder / "seg2.dcd", SMALL, x[half:], first_frame=half),
             "overlap": ts.write_dcd(folder / "overlap.dcd", SMALL, x[half - 5:], first_frame=half - 5),
             "gap": ts.write_dcd(folder / "gap.dcd", SMALL, x[half + 5:], first_frame=half + 5),
             "early": ts.write_dcd(folder / "early.dcd", SMALL, x[10:half], first_frame=10),
             "rep1": ts.write_dcd(folder / "rep1.dcd", SMALL, x[:half], first_frame=1),
             "rep2": ts.write_dcd(folder / "rep2.dcd", SMALL, x[half:], first_frame=1)}
    return folder, files


def _transport(files, trajectories, *extra, out=None):
    """Run the CLI in-process on the small system; (exit status, JSON or None)."""
    out = out or files["pdb"].parent / "out.json"
    if out.exists():
        out.unlink()
    argv = ["--topology", str(files["pdb"]), "--system", str(files["xml"]), "--temperature", "300 K",
            "--out", str(out), "--no-solvation", "--backend", "numpy", "--trajectory", *map(str, trajectories),
            *extra]
    rc = main(argv)
    return rc, (json.loads(out.read_text()) if rc == 0 else None)


def _refused(capsys, files, trajectories, *extra) -> str:
    rc, result = _transport(files, trajectories, *extra)
    err = capsys.readouterr().err
    assert rc == 1 and result is None, err
    assert "transport: error:" in err
    return err


def _D(result) -> dict:
    return {n: result["species"][n]["D_m2_per_s"]["value"] for n in SMALL}


def _report(folder, name, frames=SMALL_FRAMES, interval=1.0, schema="gelmd.simulation.production/1"):
    path = folder / name
    path.write_text(json.dumps({"schema": schema, "trajectory": {"file": "traj.dcd", "format": "DCD",
                                                                 "frames": frames, "frame_interval_ps": interval}}))
    return path


def test_mdtraj_dcd_is_refused_without_a_frame_interval(small, capsys):
    """mdtraj's header says 1 AKMA (0.0489 ps) per frame: trusting it gave D 20x too high with exit 0."""
    _, files = small
    err = _refused(capsys, files, [files["mdtraj"]])
    assert "--frame-interval" in err and "mdtraj.dcd" in err and "Created by DCD plugin" in err
    assert "not OpenMM" in err and "--production-report" in err


def test_mdtraj_dcd_with_frame_interval_gives_the_openmm_result(small):
    _, files = small
    rc, reference = _transport(files, [files["dcd"]])
    assert rc == 0 and reference["inputs"]["frame_interval_sources"] == ["OpenMM DCD header"]
    rc, r = _transport(files, [files["mdtraj"]], "--frame-interval", "1 ps")
    assert rc == 0 and r["frame_interval_ps"] == 1.0 and r["inputs"]["frame_interval_sources"] == ["--frame-interval"]
    for name, D in _D(r).items():
        assert D == pytest.approx(_D(reference)[name], rel=1e-9)         # the same frames, the same numbers
        est = r["species"][name]["D_m2_per_s"]
        assert abs(est["value"] - SMALL_D[name] * 1e-6) < 4 * est["stderr"]   # and the walk's D (not 20x)


def test_production_report_gives_the_frame_interval(small):
    folder, files = small
    report = _report(folder, "production.json")
    rc, r = _transport(files, [files["mdtraj"]], "--production-report", str(report))
    assert rc == 0 and r["frame_interval_ps"] == 1.0
    assert r["inputs"]["frame_interval_sources"] == ["--production-report"]
    assert r["inputs"]["production_report"] == str(report)
    rc, r = _transport(files, [files["dcd"]], "--production-report", str(report), "--frame-interval", "1 ps")
    assert rc == 0 and r["inputs"]["frame_interval_sources"] == ["--frame-interval", "--production-report",
                                                                 "OpenMM DCD header"]


def test_frame_interval_disagreeing_with_the_openmm_header_is_refused(small, capsys):
    _, files = small
    err = _refused(capsys, files, [files["dcd"]], "--frame-interval", "2 ps")
    assert "--frame-interval says 2 ps between frames but OpenMM DCD header says 1 ps" in err and "must agree" in err


def test_production_report_disagreeing_or_foreign_is_refused(small, capsys):
    folder, files = small
    err = _refused(capsys, files, [files["dcd"]], "--production-report", str(_report(folder, "p2.json", interval=2.0)))
    assert "--production-report says 2 ps between frames but OpenMM DCD header says 1 ps" in err
    err = _refused(capsys, files, [files["mdtraj"]], "--frame-interval", "1 ps",
                   "--production-report", str(_report(folder, "p3.json", interval=0.5)))
    assert "--frame-interval says 1 ps between frames but --production-report says 0.5 ps" in err
    err = _refused(capsys, files, [files["dcd"]], "--production-report", str(_report(folder, "p4.json", frames=50)))
    assert "--production-report" in err and "records 50 frames" in err and f"holds {SMALL_FRAMES}" in err
    err = _refused(capsys, files, [files["dcd"]], "--production-report",
                   str(_report(folder, "p5.json", schema="something/1")))
    assert "--production-report" in err and "'something/1'" in err
    err = _refused(capsys, files, [files["dcd"]], "--production-report", str(folder / "missing.json"))
    assert "--production-report" in err and "missing.json" in err and "does not exist" in err


def test_the_same_trajectory_twice_is_refused(small, capsys):
    folder, files = small
    err = _refused(capsys, files, [files["dcd"], files["dcd"]])
    assert "--trajectory" in err and "is the same file as" in err
    err = _refused(capsys, files, [files["dcd"]], "--trajectory", str(folder / "." / "traj.dcd"))  # flag repeated
    assert "--trajectory" in err and "is the same file as" in err
    copy = folder / "copy.dcd"
    copy.write_bytes(files["dcd"].read_bytes())
    err = _refused(capsys, files, [files["dcd"], copy])
    assert "--trajectory" in err and "copy" in err
    err = _refused(capsys, files, [files["mdtraj"], files["mdtraj"]], "--frame-interval", "1 ps")
    assert "is the same file as" in err


@pytest.mark.parametrize("first, second", [("seg1", "seg2"), ("rep1", "rep2")])
def test_consecutive_segments_are_joined(small, first, second):
    """Placed segments that follow each other, and DCDReporter files (whose headers cannot place them)."""
    _, files = small
    rc, whole = _transport(files, [files["dcd"]])
    rc, joined = _transport(files, [files[first]], "--trajectory", str(files[second]))   # --trajectory repeated
    assert rc == 0 and joined["n_frames"] == SMALL_FRAMES
    for name, D in _D(joined).items():
        assert D == pytest.approx(_D(whole)[name], rel=1e-9)


@pytest.mark.parametrize("order, what", [(("seg2", "early"), "overlaps with or comes before"),
                                         (("seg1", "overlap"), "overlaps with or comes before"),
                                         (("seg1", "gap"), "leaves a gap after")])
def test_out_of_order_overlapping_or_gapped_segments_are_refused(small, capsys, order, what):
    _, files = small
    err = _refused(capsys, files, [files[k] for k in order])
    assert "--trajectory" in err and what in err and f"{order[1]}.dcd" in err and f"{order[0]}.dcd" in err


@pytest.mark.parametrize("flag, value, allowed", [("--rdf-frames", "0", ">= 1"), ("--rdf-frames", "-3", ">= 1"),
                                                  ("--viscosity", "0 mPa s", "must be > 0"),
                                                  ("--viscosity", "-2.5 mPa s", "must be > 0"),
                                                  ("--viscosity", "", "needs a unit"),
                                                  ("--discard", "-1 ps", "must be >= 0"),
                                                  ("--frame-interval", "0 ps", "must be > 0"),
                                                  ("--frame-interval", "-1 ps", "must be > 0"),
                                                  ("--blocks", "1", "at least 2"),
                                                  ("--temperature", "0 K", "must be > 0")])
def test_impossible_option_values_are_refused_by_name(small, capsys, flag, value, allowed):
    _, files = small
    err = _refused(capsys, files, [files["dcd"]], flag, value)
    assert flag in err and allowed in err
