"""Compressive stress–strain: the stress estimator against OpenMM's own finite difference, analytic virials and
the ideal gas; the compression protocol on a spring lattice with an analytic Young's modulus and on an LJ
liquid (zero modulus); the analysis (block errors, fit, hold-time check, rubber elasticity); the refusal of
a network that does not percolate along z; the config block."""

from __future__ import annotations

import json

import numpy as np
import openmm
import pytest
from openmm import unit
from scipy import stats

from analysis import mechanics as am
from common.errors import AnalysisError, ConfigError, SimulationError
from simulation.compress import check_percolation, strain_grid
from simulation.deformation import (BAR_PER_KJ_PER_MOL_PER_NM3, CompressionSettings, StressProbe, axis_weights,
                                    compress, diagonal_pressures_bar, reachable_strains)
from simulation.platform import choose_platform

KT_PER_K = 0.00831446261815324  # kJ/mol/K

# ------------------------------------------------------------------------------------------ test systems

NN = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
FACE_DIAGONALS = ((1, 1, 0), (1, -1, 0), (1, 0, 1), (1, 0, -1), (0, 1, 1), (0, 1, -1))


def spring_lattice(n=5, a=0.5, k_nn=1e5, k_diag=1e5, mass=40.0, charges=False):
    """Simple cubic lattice, harmonic springs to the 6 nearest (k_nn, rest a) and 12 face-diagonal (k_diag,
    rest a sqrt 2) neighbours, periodic. Its elastic constants (central pair springs at rest, T -> 0):
    C11 = (k_nn + 2 k_diag) / a, C12 = C44 = k_diag / a, so under uniaxial stress with free lateral faces
    E = (C11 - C12)(C11 + 2 C12) / (C11 + C12) = (k_nn + k_diag)(k_nn + 4 k_diag) / ((k_nn + 3 k_diag) a) and
    Poisson's ratio k_diag / (k_nn + 3 k_diag). (Nearest-neighbour springs alone give E = k/a and no lateral
    strain, but such a lattice has no shear stiffness and buckles in compression.)"""
    system = openmm.System()
    length = n * a
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(length if i == j else 0 for j in range(3))) for i in range(3)))
    index = {}
    positions = []
    for i, j, k in np.ndindex(n, n, n):
        index[(i, j, k)] = system.addParticle(mass)
        positions.append([(i + 0.25) * a, (j + 0.25) * a, (k + 0.25) * a])
    bonds = openmm.HarmonicBondForce()
    bonds.setUsesPeriodicBoundaryConditions(True)
    springs = []
    for (i, j, k), p in index.items():
        for d in NN:
            springs.append((p, index[((i + d[0]) % n, (j + d[1]) % n, (k + d[2]) % n)], a, k_nn, d))
        for d in FACE_DIAGONALS if k_diag else ():
            springs.append((p, index[((i + d[0]) % n, (j + d[1]) % n, (k + d[2]) % n)], a * np.sqrt(2), k_diag, d))
    for p, q, r0, kb, _ in springs:
        bonds.addBond(p, q, r0, kb)
    system.addForce(bonds)
    if charges:  # a rock-salt charge pattern under PME: the reciprocal-space term must scale with the box too
        nb = openmm.NonbondedForce()
        nb.setNonbondedMethod(openmm.NonbondedForce.PME)
        nb.setCutoffDistance(0.9)
        for (i, j, k) in index:
            nb.addParticle(0.3 * (-1) ** (i + j + k), 0.1, 0.0)
        for p, q, *_ in springs:
            nb.addException(p, q, 0.0, 0.1, 0.0)
        system.addForce(nb)
    return system, np.array(positions), springs


def lj_fluid(n=6, density_g_per_cm3=1.4, mass=39.948, sigma=0.34, epsilon=0.996, cutoff=0.8, seed=1):
    """n^3 argon-like LJ atoms on a jittered grid at liquid density (90 K), cutoff with dispersion correction."""
    count = n ** 3
    length = (count * mass / 6.02214076e23 / density_g_per_cm3 * 1e21) ** (1 / 3)
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(length if i == j else 0 for j in range(3))) for i in range(3)))
    nb = openmm.NonbondedForce()
    nb.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nb.setCutoffDistance(cutoff)
    nb.setUseDispersionCorrection(True)
    for _ in range(count):
        system.addParticle(mass)
        nb.addParticle(0.0, sigma, epsilon)
    system.addForce(nb)
    grid = (np.indices((n, n, n)).reshape(3, -1).T + 0.5) * (length / n)
    return system, grid + np.random.default_rng(seed).normal(0, 0.01, grid.shape)


def _state(system, positions, platform, temperature_K=None, minimise=False, seed=5):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform.platform, platform.properties)
    context.setPositions(positions)
    if minimise:
        openmm.LocalEnergyMinimizer.minimize(context)
    if temperature_K:
        context.setVelocitiesToTemperature(temperature_K * unit.kelvin, seed)
    return context.getState(getPositions=True, getVelocities=True)


@pytest.fixture(scope="module")
def reference():
    return choose_platform(platform="Reference")


@pytest.fixture(scope="module")
def cpu():
    return choose_platform(platform="CPU")


# ------------------------------------------------------------------------------------------ the estimator


@pytest.mark.parametrize("make", ["lj", "charged_lattice"])
def test_pressure_from_energy_matches_openmm_finite_difference(make, reference):
    """The same definition as OpenMM's MonteCarloAnisotropicBarostat.computeCurrentPressure (atomic virial,
    central difference at 1e-3, instantaneous kinetic term), computed independently, to numerical precision."""
    if make == "lj":
        system, positions = lj_fluid(n=5)
        temperature = 90.0
    else:
        system, positions, _ = spring_lattice(n=4, charges=True)
        positions = positions + np.random.default_rng(3).normal(0, 0.01, positions.shape)
        temperature = 300.0
    barostat = openmm.MonteCarloAnisotropicBarostat(openmm.Vec3(1, 1, 1) * unit.bar, temperature * unit.kelvin,
                                                    True, True, True, 10 ** 6)
    barostat.setScaleMoleculesAsRigid(False)
    system.addForce(barostat)
    integrator = openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, 1 / unit.picosecond, 0.002 * unit.picosecond)
    context = openmm.Context(system, integrator, reference.platform)
    context.setPositions(positions)
    context.setVelocitiesToTemperature(temperature * unit.kelvin, 11)
    integrator.step(20)
    state = context.getState(getPositions=True, getVelocities=True)
    ours = diagonal_pressures_bar(StressProbe(system, reference, fd_strain=1e-3), state)
    theirs = barostat.computeCurrentPressure(context).value_in_unit(unit.bar)
    scale = max(abs(v) for v in theirs)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-8 * scale), (ours, theirs)


def _analytic_dU_dd(springs, box_nm, positions, weights):
    """dU/dd of r_k -> r_k (1 + a_k d): sum over springs of k (|R| - r0) sum_k a_k R_k^2 / |R| (minimum image)."""
    total = 0.0
    for p, q, r0, kb, _ in springs:
        vec = positions[q] - positions[p]
        vec -= box_nm * np.round(vec / box_nm)
        r = np.linalg.norm(vec)
        total += kb * (r - r0) * float(np.sum(np.asarray(weights) * vec * vec)) / r
    return total


@pytest.mark.parametrize("fd_strain, tolerance", [(1e-3, 1e-4), (1e-5, 1e-8)])
def test_stress_from_energy_is_the_analytic_virial_of_a_strained_lattice(fd_strain, tolerance, reference):
    """A lattice strained by 2 % along z with random displacements: the finite difference of the energy equals
    the analytic spring virial, for the uniaxial and the zz weights: to the O(d^2) truncation of the central
    difference (1.4e-5 relative at d = 1e-3, the default) and to double-precision rounding at d = 1e-5."""
    system, positions, springs = spring_lattice(n=4)
    box = np.array([2.0, 2.0, 2.0 * 0.98])
    positions = positions * np.array([1, 1, 0.98]) + np.random.default_rng(7).normal(0, 0.005, positions.shape)
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(box[i] if i == j else 0 for j in range(3))) for i in range(3)))
    state = _state(system, positions, reference)
    probe = StressProbe(system, reference, fd_strain=fd_strain)
    for weights in (axis_weights("z"), axis_weights("z", 0.0)):
        ours = probe.pressure_bar(state, weights, kinetic="none")
        analytic = -_analytic_dU_dd(springs, box, positions, weights) / np.prod(box) * BAR_PER_KJ_PER_MOL_PER_NM3
        assert ours == pytest.approx(analytic, rel=tolerance), (weights, ours, analytic)


def test_ideal_gas_kinetic_term_gives_NkT_over_V(reference):
    """Non-interacting particles: P_kk = sum m v_k^2 / V; with velocities scaled to sum m v_k^2 = N kT on each
    axis it is N kT / V exactly; the uniaxial estimator's kinetic part is then zero."""
    count, length, temperature = 200, 3.0, 300.0
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(length if i == j else 0 for j in range(3))) for i in range(3)))
    nb = openmm.NonbondedForce()
    nb.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nb.setCutoffDistance(1.0)
    rng = np.random.default_rng(1)
    masses = rng.uniform(1, 40, count)
    for m in masses:
        system.addParticle(m)
        nb.addParticle(0.0, 0.3, 0.0)
    system.addForce(nb)
    velocities = rng.normal(0, 1, (count, 3))
    kT = KT_PER_K * temperature
    velocities *= np.sqrt(count * kT / np.sum(masses[:, None] * velocities ** 2, axis=0))
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), reference.platform)
    context.setPositions(rng.uniform(0, length, (count, 3)))
    context.setVelocities(velocities)
    state = context.getState(getPositions=True, getVelocities=True)
    probe = StressProbe(system, reference)
    expected = count * kT / length ** 3 * BAR_PER_KJ_PER_MOL_PER_NM3
    assert diagonal_pressures_bar(probe, state) == pytest.approx((expected,) * 3, rel=1e-12)
    assert probe.pressure_bar(state, axis_weights("z")) == pytest.approx(0.0, abs=1e-9 * expected)
    with pytest.raises(SimulationError, match="sum to zero"):
        probe.pressure_bar(state, axis_weights("z", 0.0), kinetic="isotropic")


def test_probe_refuses_constraints(reference):
    system, positions = lj_fluid(n=3)
    system.addConstraint(0, 1, 0.3)
    with pytest.raises(SimulationError, match="flexible_copy"):
        StressProbe(system, reference)


# ------------------------------------------------------------------------------------------ the protocol


def _settings(**overrides):
    values = dict(strains=(0.0, 0.0025, 0.005, 0.0075, 0.01), hold_ps=4.0, reference_ps=4.0, ramp_ps=0.2,
                  sample_interval_ps=0.02, timestep_ps=0.002, temperature_K=300.0, pressure_bar=1.0,
                  friction_per_ps=5.0, barostat_interval=10)
    values.update(overrides)
    return CompressionSettings(**values)


def _analyse(run, blocks=6, discard=0.25, fit_max=1.0, network=None, name="test"):
    rows = [{k: r[k] for k in ("step_index", "strain", "time_in_hold_ps", "Lx_nm", "Ly_nm", "Lz_nm",
                               "uniaxial_stress_bar")} for r in run.samples]
    return am.mechanics_report(rows, run.report, network, name, 300.0, blocks, discard, fit_max)


def test_spring_lattice_reproduces_its_analytic_youngs_modulus_with_lateral_faces_free(cpu):
    """E = (k1 + k2)(k1 + 4 k2) / ((k1 + 3 k2) a) = 2.5 k / a for k1 = k2; with the lateral faces held it would
    be C11 = 3 k / a (20 % higher), and the lateral strain is Poisson's 1/4 of the axial one.

    The modulus error comes from 6 block means per strain, so the check uses Student's t with 5 degrees of
    freedom at a two-sided false-failure rate of 1e-3 (6.9 standard errors; 3 was exceeded ~1 % of the time, and
    this machine's seeds land at z = -2.1, E 1.3 % low with a 0.6 % error). The error must stay below 2 % so that
    the tolerance (< 14 %) still tells E from C11."""
    k, a = 1e5, 0.5
    system, positions, _ = spring_lattice(n=5, a=a, k_nn=k, k_diag=k)
    state = _state(system, positions, cpu, temperature_K=300.0)
    run = compress(system, state, _settings(), cpu)
    report, rows = _analyse(run)
    analytic = 2.5 * k / a * BAR_PER_KJ_PER_MOL_PER_NM3 * 1e5  # Pa
    modulus = report["youngs_modulus_Pa"]
    assert modulus["stderr"] < 0.02 * analytic, (modulus, analytic)
    assert abs(modulus["value"] - analytic) <= max(stats.t.ppf(0.9995, 5) * modulus["stderr"], 0.01 * analytic), \
        (modulus, analytic)
    lateral = 1 - np.mean([rows[-1]["Lx_nm"], rows[-1]["Ly_nm"]]) / np.mean(run.reference_box_nm[:2])
    assert -lateral / rows[-1]["strain"] == pytest.approx(0.25, abs=0.05)


@pytest.mark.integration
def test_lj_liquid_reads_zero_modulus(cpu):
    """A liquid flows: with the lateral faces free its uniaxial stress relaxes at every strain."""
    system, positions = lj_fluid(n=6)
    state = _state(system, positions, cpu, temperature_K=90.0, minimise=True)
    run = compress(system, state, _settings(strains=(0.0, 0.05, 0.1), hold_ps=24.0, reference_ps=4.0, ramp_ps=1.0,
                                            sample_interval_ps=0.04, timestep_ps=0.004, temperature_K=90.0,
                                            friction_per_ps=1.0), cpu)
    blocks = 6
    report, _ = _analyse(run, blocks=blocks, fit_max=0.1)
    modulus = report["youngs_modulus_Pa"]
    # the stderr comes from 6 block means, so |E|/stderr follows Student's t with 5 degrees of freedom, not a
    # normal law: 3 "sigma" is exceeded ~3 % of the time (seen in CI); the two-sided 99.9 % quantile is 6.9
    assert abs(modulus["value"]) <= stats.t.ppf(0.9995, blocks - 1) * modulus["stderr"], modulus
    # 216 atoms resolve ~0.1 GPa (a liquid's instantaneous stress noise is ~10^2 bar per sample); the lattice
    # test shows a solid's modulus is resolved by the same code
    assert modulus["stderr"] < 3e8
    assert report["rubber_elasticity"]["affine_G_Pa"] == 0.0


def test_strains_beyond_the_cutoff_are_left_out():
    kept, dropped = reachable_strains([0.0, 0.1, 0.2, 0.3], 2.6, 1.0)
    assert kept == [0.0, 0.1, 0.2] and dropped == [0.3]
    assert strain_grid(0.3, 0.05) == (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
    with pytest.raises(SimulationError, match="whole number"):
        strain_grid(0.3, 0.07)


def test_gel_that_does_not_percolate_along_z_is_refused_by_name(tmp_path):
    path = tmp_path / "network.json"
    path.write_text(json.dumps({"percolating_axes": ["x", "y"]}))
    with pytest.raises(SimulationError, match="GPE_X: the network does not percolate along z"):
        check_percolation(str(path), "GPE_X")
    with pytest.raises(AnalysisError, match="'GPE_X' does not percolate along z"):
        am.percolation({"percolating_axes": []}, "GPE_X")
    path.write_text(json.dumps({"percolating_axes": ["x", "y", "z"]}))
    assert check_percolation(str(path), "GPE_X") == ["x", "y", "z"]


# ------------------------------------------------------------------------------------------ the analysis


def _synthetic(modulus_bar=100.0, noise_bar=5.0, strains=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3), n=120,
               drift_bar=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for k, e in enumerate(strains):
        lz, lateral = 3.0 * (1 - e), 3.0 / np.sqrt(1 - e)
        for s in range(n):
            stress = modulus_bar * e + noise_bar * rng.normal() + drift_bar * (s / n)
            rows.append({"step_index": k, "strain": e, "time_in_hold_ps": 0.1 * (s + 1), "Lx_nm": lateral,
                         "Ly_nm": lateral, "Lz_nm": lz, "uniaxial_stress_bar": stress})
    run = {"reference_box_nm": [3.0, 3.0, 3.0], "settings": {"hold_ps": 12.0, "pressure_bar": 1.0},
           "steps": [{"ramp_rate_per_s": 1e10}] * (len(strains) - 1)}
    return rows, run


def test_analysis_of_a_known_linear_curve():
    """True stress = E e; nominal = true x A/A0 = E e / (1 - e) at constant volume; errors cover the truth."""
    rows, run = _synthetic(noise_bar=1.0)
    network = {"percolating_axes": ["x", "y", "z"], "elastically_effective_strands_mol_per_m3": 100.0,
               "cycle_rank_mol_per_m3": 40.0}
    report, table = am.mechanics_report(rows, run, network, "GPE", 300.0, 6, 0.3, 0.1)
    E = 100e5
    mod = report["youngs_modulus_Pa"]
    # the least-squares slope of the nominal E e / (1 - e) through e = 0, 0.05, 0.1 is 1.111 E
    slope = np.polyfit([0, 0.05, 0.1], [0, E * 0.05 / 0.95, E * 0.1 / 0.9], 1)[0]
    assert abs(mod["value"] - slope) < 4 * mod["stderr"] and mod["stderr"] < 0.1 * E
    at30 = report["stress_at_30pct_strain_Pa"]
    assert abs(at30["value"] - E * 0.3 / 0.7) < 4 * at30["stderr"] and not at30["interpolated"]
    assert report["hold_time_check"]["hold_time_independent"]
    rubber = report["rubber_elasticity"]
    assert rubber["affine_G_Pa"] == pytest.approx(100.0 * 8.314462618 * 300.0)
    assert rubber["phantom_E_Pa"] == pytest.approx(3 * 40.0 * 8.314462618 * 300.0)
    assert rubber["affine_stress_at_30pct_strain_Pa"] == pytest.approx(rubber["affine_G_Pa"] * (1 / 0.49 - 0.7))
    assert set(report) >= {"percolating_axes", "youngs_modulus_Pa", "stress_at_30pct_strain_Pa", "rubber_elasticity",
                           "method", "strain_rates_per_s", "temperature_K"}
    assert len(table) == 7 and table[0]["strain"] == 0.0


def test_hold_time_check_flags_a_stress_still_relaxing():
    rows, run = _synthetic(drift_bar=40.0)
    report, _ = am.mechanics_report(rows, run, None, "LE", 300.0, 6, 0.0, 0.1)
    assert not report["hold_time_check"]["hold_time_independent"]
    assert report["hold_time_check"]["max_abs_z"] > 3


def test_block_mean_and_weighted_line_exact_cases():
    mean, err = am.block_mean([1, 1, 3, 3], 2)
    assert mean == 2.0 and err == pytest.approx(1.0)
    fit = am.weighted_line([0, 1, 2], [1, 3, 5], [0.1, 0.1, 0.1])
    assert fit["slope"] == pytest.approx(2.0) and fit["intercept"] == pytest.approx(1.0)
    assert am.interpolate([0.0, 0.2, 0.4], [0.0, 2.0, 4.0], [0.1, 0.1, 0.1], 0.3)["value"] == pytest.approx(3.0)
    assert am.interpolate([0.0, 0.2], [0.0, 2.0], [0.1, 0.1], 0.3) is None


def test_analysis_cli_writes_the_contract(tmp_path):
    rows, run = _synthetic()
    samples = tmp_path / "compression.csv"
    samples.write_text("step_index,strain,phase,time_in_hold_ps,Lx_nm,Ly_nm,Lz_nm,uniaxial_stress_bar,"
                       "potential_energy_kJ_per_mol\n"
                       + "".join(f"{r['step_index']},{r['strain']},hold,{r['time_in_hold_ps']},{r['Lx_nm']},"
                                 f"{r['Ly_nm']},{r['Lz_nm']},{r['uniaxial_stress_bar']},0\n" for r in rows))
    (tmp_path / "compression.json").write_text(json.dumps(run))
    out = tmp_path / "mechanics.json"
    assert am.main(["--samples", str(samples), "--report", str(tmp_path / "compression.json"), "--system-name", "LE",
                    "--temperature", "298.15 K", "--out", str(out), "--csv", str(tmp_path / "ss.csv"),
                    "--plot", str(tmp_path / "ss.png")]) == 0
    report = json.loads(out.read_text())
    assert report["percolating_axes"] == [] and report["youngs_modulus_Pa"]["stderr"] > 0
    assert (tmp_path / "ss.png").stat().st_size > 1000
    assert (tmp_path / "ss.csv").read_text().startswith(",".join(am.CSV_COLUMNS))


# ------------------------------------------------------------------------------------------ config


def test_config_mechanics_block(tmp_path):
    from workflow.config_vocabulary import load_workflow_config_files

    demo = load_workflow_config_files(["config/demo.yaml"])
    assert demo.mechanics.max_strain >= 0.3 and demo.mechanics.axis == "z"
    bad = tmp_path / "bad.yaml"
    bad.write_text("systems: {PC: {solvents: {PC: 1.0}, n_solvent: 80}}\nmechanics: {max_strain: 0.32, strain_step: 0.05}\n")
    with pytest.raises(ConfigError, match="mechanics.max_strain"):
        load_workflow_config_files([str(bad)])


def test_summary_shows_modulus_and_stress_at_30pct_beside_the_paper():
    from analysis.summary import _mechanics_line, mechanics_fields

    rows, run = _synthetic(noise_bar=1.0)
    report, _ = am.mechanics_report(rows, run, {"percolating_axes": ["z"], "elastically_effective_strands_mol_per_m3": 100.0,
                                                "cycle_rank_mol_per_m3": 40.0}, "GPE", 300.0, 6, 0.3, 0.1)
    fields = mechanics_fields(report)
    assert fields["stress_at_30pct_strain_paper_Pa"] == 9e5
    line = _mechanics_line(fields)
    assert "Young's modulus" in line and "vs paper ≈ 0.9 MPa" in line and "affine" in line


def test_a_gel_that_does_not_span_z_is_refused_by_name_and_recorded(tmp_path):
    """No MD: the refusal (naming the system and the axes it spans) is the result, and the summary shows it."""
    import json

    from analysis.mechanics import main as mechanics_main
    from simulation.compress import main as compress_main

    network = tmp_path / "network.json"
    network.write_text(json.dumps({"percolating_axes": ["x", "y"]}))
    report, samples = tmp_path / "compression.json", tmp_path / "compression.csv"
    common = ["--system", "none.xml", "--state", "none.xml", "--topology", "none.pdb", "--settings", "none.json"]
    assert compress_main([*common, "--network", str(network), "--system-name", "GEL", "--max-strain", "0.3",
                          "--strain-step", "0.1", "--hold", "1 ps", "--reference", "1 ps", "--ramp", "0.5 ps",
                          "--sample-interval", "0.1 ps", "--friction", "1 /ps", "--barostat-interval", "25",
                          "--out-samples", str(samples), "--report", str(report)]) == 1  # an error without the flag
    assert compress_main([*common, "--network", str(network), "--system-name", "GEL", "--max-strain", "0.3",
                          "--strain-step", "0.1", "--hold", "1 ps", "--reference", "1 ps", "--ramp", "0.5 ps",
                          "--sample-interval", "0.1 ps", "--friction", "1 /ps", "--barostat-interval", "25",
                          "--record-refusal", "--out-samples", str(samples), "--report", str(report)]) == 0
    run = json.loads(report.read_text())
    assert "GEL" in run["refused"] and "does not percolate along z" in run["refused"]
    out = tmp_path / "mechanics.json"
    assert mechanics_main(["--samples", str(samples), "--report", str(report), "--network", str(network),
                           "--system-name", "GEL", "--temperature", "298.15 K", "--out", str(out),
                           "--csv", str(tmp_path / "m.csv"), "--plot", str(tmp_path / "m.png")]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "refused" and result["youngs_modulus_Pa"]["value"] is None
    assert result["percolating_axes"] == ["x", "y"]
