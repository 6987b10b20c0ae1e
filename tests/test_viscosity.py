"""Viscosity by periodic perturbation (simulation/viscosity.py, analysis/viscosity.py) and the Yeh–Hummer
correction it feeds (analysis/transport.py): analytic cases first, then a Lennard-Jones fluid of known viscosity."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import openmm
import pytest
from openmm import unit
from scipy import stats

from analysis import viscosity as av
from analysis.diffusion import YEH_HUMMER_XI
from analysis.transport import Viscosity, read_viscosity_report, yeh_hummer_block
from common.errors import AnalysisError, ConfigError, UnitError
from simulation.platform import choose_platform
from simulation.system_prep import instantaneous_temperature_K
from simulation.viscosity import (PerturbationSettings, add_profile_force, cosine_acceleration_integrator,
                                  initialise_profile, run_amplitude)

KB = 1.380649e-23


# ------------------------------------------------------------------------------------------ analysis


def write_inputs(folder, runs: dict[float, np.ndarray], density=1.2, k=2.5, duration=100.0):
    report = {"schema": av.RUN_REPORT_SCHEMA, "method": "test", "estimator": "test",
              "amplitudes": [{"amplitude_nm_per_ps2": a, "density_g_per_cm3": density, "wavenumber_per_nm": k,
                              "duration_ps": duration, "temperature_K": 298.15, "thermostat": "peculiar"}
                             for a in runs]}
    (folder / "run.json").write_text(json.dumps(report))
    with open(folder / "series.csv", "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["amplitude_nm_per_ps2", "time_ps", "V_nm_per_ps", "temperature_K"])
        for a, v in runs.items():
            for i, x in enumerate(v):
                w.writerow([repr(a), 0.2 * (i + 1), repr(float(x)), 298.15])
    return folder / "run.json", folder / "series.csv"


def test_eta_formula_is_exact_for_a_known_flow_amplitude(tmp_path):
    # eta = A rho / (V k^2): A = 0.1 nm/ps^2 = 1e14 m/s^2, rho = 1200 kg/m^3, V = 0.01 nm/ps = 10 m/s, k = 2.5e9 /m
    expected = 1e14 * 1200.0 / (10.0 * 2.5e9 ** 2)
    assert av.viscosity_from_amplitude(0.1, 1.2, 0.01, 2.5) == pytest.approx(expected, rel=1e-12)
    run, series = write_inputs(tmp_path, {0.1: np.full(100, 0.01)})
    result = av.analyse(run, series, n_blocks=10)
    assert result["viscosity_Pa_s"]["value"] == pytest.approx(expected, rel=1e-12)
    assert result["viscosity_Pa_s"]["stderr"] == pytest.approx(0.0, abs=1e-15)


def test_block_error_of_a_noisy_series_matches_its_spread(tmp_path):
    rng = np.random.default_rng(5)
    etas = []
    for _ in range(200):
        v = 0.01 + 0.002 * rng.standard_normal(200)
        mean, se = av.block_mean(v, 10)
        etas.append((mean - 0.01) / se)
    z = np.asarray(etas)
    assert abs(z.mean()) < 0.25 and 0.8 < z.std() < 1.35     # t-distributed with 9 dof: std 1.13


def test_two_consistent_amplitudes_are_combined_and_inconsistent_ones_flagged(tmp_path):
    rng = np.random.default_rng(1)
    eta = av.viscosity_from_amplitude(0.1, 1.2, 0.01, 2.5)
    run, series = write_inputs(tmp_path, {0.1: 0.01 + 1e-4 * rng.standard_normal(100),
                                          0.05: 0.005 + 1e-4 * rng.standard_normal(100)})
    r = av.analyse(run, series)
    assert r["linear_response"]["consistent"] and r["linear_response"]["checked"]
    assert r["viscosity_Pa_s"]["value"] == pytest.approx(eta, rel=0.02)
    errs = [a["viscosity_Pa_s"]["stderr"] for a in r["amplitudes"]]
    assert r["viscosity_Pa_s"]["stderr"] < min(errs)
    # shear thinning: the large amplitude gives a lower eta (a larger V than linear)
    run, series = write_inputs(tmp_path, {0.1: 0.015 + 1e-5 * rng.standard_normal(100),
                                          0.05: 0.005 + 1e-5 * rng.standard_normal(100)})
    r = av.analyse(run, series)
    assert not r["linear_response"]["consistent"]
    assert r["viscosity_Pa_s"]["value"] == pytest.approx(eta, rel=0.01)   # the smallest amplitude's


def test_a_noisy_small_amplitude_cannot_certify_a_thinned_large_one(tmp_path):
    """The large amplitude reads eta 1.5x low (shear thinning) and the small one carries a 25 % error: the z test
    alone passes (z < 2) and an inverse-variance mean would report ~the thinned value; the relative-difference
    bound reports the smallest amplitude's eta instead."""
    eta_linear = av.viscosity_from_amplitude(0.05, 1.2, 0.005, 2.5)
    blocks_small = 0.005 * (1 + 0.25 * np.sqrt(10) * np.array([1, -1] * 5))       # block se = 25 % of V exactly
    blocks_large = 0.015 * (1 + 0.02 * np.sqrt(10) * np.array([1, -1] * 5))        # V 1.5x linear: eta / 1.5
    run, series = write_inputs(tmp_path, {0.1: np.repeat(blocks_large, 10), 0.05: np.repeat(blocks_small, 10)})
    r = av.analyse(run, series)
    check = r["linear_response"]
    assert check["z"] < av.LINEAR_RESPONSE_Z
    assert check["relative_difference"] == pytest.approx(1 - 1 / 1.5, rel=1e-9)
    assert not check["consistent"]
    assert r["viscosity_Pa_s"]["value"] == pytest.approx(eta_linear, rel=1e-9)


def test_cli_writes_json_csv_and_plot_and_compares_with_the_pc_reference(tmp_path):
    run, series = write_inputs(tmp_path, {0.1: np.full(50, 0.01), 0.05: np.full(50, 0.005)})
    out = tmp_path / "viscosity.json"
    assert av.main(["--run", str(run), "--series", str(series), "--out", str(out), "--csv", str(tmp_path / "v.csv"),
                    "--plot", str(tmp_path / "v.png"), "--reference", "PC", "--blocks", "5"]) == 0
    r = json.loads(out.read_text())
    assert r["schema"] == "gelmd.viscosity/1" and r["reference"]["key"] == "PC"
    assert r["deviation_percent"] == pytest.approx(100 * (r["viscosity_Pa_s"]["value"] / r["reference"]["value_Pa_s"] - 1))
    assert (tmp_path / "v.png").stat().st_size > 1000 and (tmp_path / "v.csv").read_text().count("\n") == 4


def test_a_flow_that_is_not_positive_is_refused_by_name(tmp_path):
    run, series = write_inputs(tmp_path, {0.1: np.full(50, -0.001)})
    with pytest.raises(AnalysisError, match="not > 0"):
        av.analyse(run, series, n_blocks=5)


# ----------------------------------------------------------------------------------------- integrator


def free_particles(n=64, box=2.0, seed=3):
    """Non-interacting particles (no forces), velocities along x only so that z, hence cos(kz), is fixed."""
    rng = np.random.default_rng(seed)
    system = openmm.System()
    for _ in range(n):
        system.addParticle(12.0)
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0), openmm.Vec3(0, 0, box))
    pos = rng.uniform(0, box, (n, 3))
    return system, pos, rng


def make_context(system, integrator, pos, vel, k):
    add_profile_force(system, k)
    platform = choose_platform(platform="Reference")
    context = openmm.Context(system, integrator, platform.platform)
    context.setPositions(pos)
    context.setVelocities(vel)
    initialise_profile(integrator, context, k)
    return context


def mode(context, k):
    s = context.getState(getPositions=True, getVelocities=True)
    x = s.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    v = s.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond)
    c = np.cos(k * x[:, 2])
    return float(np.sum(v[:, 0] * c) / np.sum(c * c)), v, c


def test_the_acceleration_builds_a_cos_kz_velocity_exactly():
    system, pos, _ = free_particles()
    k = 2 * math.pi / 2.0
    integ = cosine_acceleration_integrator(0.002, 1e-9, 1e-9, 0.5, 64 * 12.0, constrained=False)
    context = make_context(system, integ, pos, np.zeros_like(pos), k)
    integ.step(100)
    _, v, c = mode(context, k)
    np.testing.assert_allclose(v[:, 0], 0.5 * c * 100 * 0.002, rtol=1e-5, atol=1e-9)
    assert np.abs(v[:, 1:]).max() < 1e-7     # no spurious y/z force from the auxiliary profile force


@pytest.mark.parametrize("thermostat", ["peculiar", "langevin"])
def test_the_peculiar_thermostat_does_not_damp_the_flow_and_langevin_does(thermostat):
    system, pos, rng = free_particles()
    k, gamma, dt, steps = 2 * math.pi / 2.0, 5.0, 0.002, 50
    c = np.cos(k * pos[:, 2])
    vel = np.zeros_like(pos)
    vel[:, 0] = 0.3 * c + 0.2 * rng.standard_normal(len(pos))     # a flow plus peculiar motion
    integ = cosine_acceleration_integrator(dt, 1e-12, gamma, 1e-12, 64 * 12.0, thermostat, constrained=False)
    context = make_context(system, integ, pos, vel, k)
    before, v0, _ = mode(context, k)
    integ.step(steps)
    after, v1, _ = mode(context, k)
    decay = math.exp(-gamma * dt * steps)
    if thermostat == "peculiar":
        assert after == pytest.approx(before, rel=1e-6)          # the cosine mode is untouched by the friction
        residual0, residual1 = v0[:, 0] - before * c, v1[:, 0] - after * c
        np.testing.assert_allclose(residual1, residual0 * decay, rtol=1e-4, atol=1e-9)
    else:
        assert after == pytest.approx(before * decay, rel=1e-4)  # Langevin damps the flow at rate gamma


# ---------------------------------------------------------------------------------------------- config


def test_viscosity_config_is_typed_and_its_errors_are_named():
    from tests.test_config import DEMO, load_config, with_change

    cfg = load_config(with_change("viscosity.amplitude", "0.2 nm/ps^2"))
    assert cfg.viscosity.amplitude_nm_per_ps2 == pytest.approx(0.2) and cfg.viscosity.enabled
    with pytest.raises(UnitError, match=r"viscosity.amplitude.*allowed.*nm/ps\^2"):
        load_config(with_change("viscosity.amplitude", "0.2 nm/ps"))
    with pytest.raises(ConfigError, match=r"viscosity.duration.*'-100 ps'.*> 0"):
        load_config(with_change("viscosity.duration", "-100 ps"))
    with pytest.raises(ConfigError, match=r"viscosity.second_amplitude.*two different amplitudes"):
        load_config(with_change("viscosity.second_amplitude", DEMO["viscosity"]["amplitude"]))


# --------------------------------------------------------------------------------------- Yeh-Hummer


def test_yeh_hummer_correction_and_its_error_from_the_simulated_viscosity(tmp_path):
    T, L, eta, se = 298.15, 2.5, 2.5e-3, 0.25e-3
    block = yeh_hummer_block(T, Viscosity(eta, se, "simulated"), L, cubic=True)
    exact = KB * T * YEH_HUMMER_XI / (6 * math.pi * eta * L * 1e-9)
    assert block["applied"] and block["correction_m2_per_s"] == pytest.approx(exact, rel=1e-12)
    assert block["correction_stderr_m2_per_s"] == pytest.approx(exact * 0.1, rel=1e-12)
    assert block["xi"] == 2.837297 and block["box_length_nm"] == L
    gel = yeh_hummer_block(T, Viscosity(eta, se, "simulated"), L, cubic=True, gel=True)
    assert not gel["applied"] and gel["correction_m2_per_s"] is None and "mesh screens" in gel["note"]
    path = tmp_path / "viscosity.json"
    path.write_text(json.dumps({"schema": "gelmd.viscosity/1", "viscosity_Pa_s": {"value": eta, "stderr": se}}))
    v = read_viscosity_report(path)
    assert (v.value_Pa_s, v.stderr_Pa_s) == (eta, se)
    path.write_text(json.dumps({"schema": "gelmd.viscosity/1", "viscosity_Pa_s": {"value": 0.0, "stderr": se}}))
    with pytest.raises(AnalysisError, match="must be > 0"):
        read_viscosity_report(path)


def test_corrected_d_feeds_nernst_einstein_exactly(tmp_path):
    from analysis.transport import diffusion_block
    from tests import transport_synthetic  # noqa: F401  (the CLI test covers the full path)

    class Sp:
        n_molecules, mass_amu, charge_scaled_e, charge_formal_e = 10, 23.0, 0.8, 1

    class Sys:
        species = {"NA": Sp()}
        formal_charge_source = {"NA": "test"}

    t = np.arange(200.0)
    msd = {"msd_nm2": {"NA": 6 * 1e-3 * t}, "block_msd_nm2": {"NA": np.tile(6 * 1e-3 * t[:40], (5, 1))}}
    block = diffusion_block(Sys(), msd, 1.0, 2e-10, 3e-11)
    raw = block.species["NA"]["D_m2_per_s"]["value"]
    assert raw == pytest.approx(1e-9, rel=1e-9)
    corrected = block.species["NA"]["D_m2_per_s_yeh_hummer"]
    assert corrected["value"] == pytest.approx(1e-9 + 2e-10, rel=1e-12)
    assert block.D["NA"] == corrected["value"]                    # what Nernst-Einstein and t(Na+) receive
    assert corrected["stderr"] == pytest.approx(math.hypot(block.species["NA"]["D_m2_per_s"]["stderr"], 3e-11))


# --------------------------------------------------------------------------------- Lennard-Jones fluid

SIGMA_NM, EPS_KJ, MASS_AMU = 0.3405, 0.996, 39.948           # argon-like
TAU_PS = SIGMA_NM * math.sqrt(MASS_AMU / EPS_KJ)
R_KJ = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)
ETA_UNIT_PA_S = math.sqrt(MASS_AMU * 1.66053906660e-27 * EPS_KJ * 1e3 / 6.02214076e23) / (SIGMA_NM * 1e-9) ** 2


def lj_fluid(n_cell=5, rho=0.8442, t_star=0.722, seed=1):
    """500 LJ atoms (cutoff 2.5 sigma, long-range correction), melted from fcc at 2.5 T* and brought to T*."""
    n = 4 * n_cell ** 3
    length = (n / rho) ** (1 / 3) * SIGMA_NM
    system = openmm.System()
    nb = openmm.NonbondedForce()
    nb.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    nb.setCutoffDistance(2.5 * SIGMA_NM)
    nb.setUseDispersionCorrection(True)
    for _ in range(n):
        system.addParticle(MASS_AMU)
        nb.addParticle(0.0, SIGMA_NM, EPS_KJ)
    system.addForce(nb)
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(length, 0, 0), openmm.Vec3(0, length, 0), openmm.Vec3(0, 0, length))
    a = length / n_cell
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    pos = np.array([(np.array([i, j, k]) + b) * a for i in range(n_cell) for j in range(n_cell)
                    for k in range(n_cell) for b in base])
    temperature = t_star * EPS_KJ / R_KJ
    platform = choose_platform(platform="CPU")
    integ = openmm.LangevinMiddleIntegrator(2.5 * temperature, 5 / TAU_PS, 0.005 * TAU_PS)
    integ.setRandomNumberSeed(seed)
    context = openmm.Context(system, integ, platform.platform, platform.properties)
    context.setPositions(pos)
    context.setVelocitiesToTemperature(2.5 * temperature, seed)
    integ.step(2000)
    integ.setTemperature(temperature)
    integ.step(2000)
    return system, context.getState(getPositions=True, getVelocities=True), temperature, platform


def lj_eta_star(system, state, temperature, platform, thermostat, gamma_star, a_star=0.1, tau_run=80.0, seed=7):
    settings = PerturbationSettings(a_star * SIGMA_NM / TAU_PS ** 2, tau_run * TAU_PS, 10 * TAU_PS, 0.2 * TAU_PS,
                                    gamma_star / TAU_PS, 0.005 * TAU_PS, temperature, thermostat)
    run = run_amplitude(system, state, settings, platform, seed)
    mean, se = av.block_mean(run.V_nm_per_ps, 10)
    eta = av.viscosity_from_amplitude(settings.amplitude_nm_per_ps2, run.report["density_g_per_cm3"], mean,
                                      run.report["wavenumber_per_nm"])
    return eta / ETA_UNIT_PA_S, eta / ETA_UNIT_PA_S * se / mean, run


@pytest.mark.integration
def test_lj_fluid_viscosity_and_the_langevin_bias():
    """LJ at T* = 0.722, rho* = 0.8442: eta* = 3.2 (Meier, Laesecke & Kabelac, J. Chem. Phys. 121, 3671 (2004)).
    80 tau per run. The standard errors come from 10 block means of the flow amplitude V, so the checks use
    Student's t with 9 degrees of freedom at a two-sided false-failure rate of 5e-4 (5.3 standard errors; 4
    normal-law "sigma" would fail ~0.3 % of runs), and the reference is checked on V, which the blocks average
    linearly (eta ~ 1/V is skewed when V's relative error is ~0.2): V must lie within t standard errors (plus 3 %,
    the reference's 0.1 in eta*) of the V that eta* = 3.2 would give. With gamma* = 2 a Langevin thermostat on the
    full velocity adds rho* gamma* / k*^2 (~3.0) to eta*; the gap between the two thermostats must agree with
    that prediction within the same t quantile of their combined standard errors. (80 tau resolves the bias
    itself only at ~2 sigma, measured 9.3 +- 2.4 vs 4.0 +- 0.9: asserting its sign would fail at random on CPU,
    whose runs are not bit-reproducible; that the peculiar thermostat leaves the flow undamped is tested exactly above.)"""
    system, state, temperature, platform = lj_fluid()
    eta_p, se_p, run = lj_eta_star(system, state, temperature, platform, "peculiar", 2.0)
    assert abs(run.report["mean_temperature_K"] / temperature - 1) < 0.03
    assert run.report["flow_kinetic_energy_fraction"] < 1e-3
    t_quantile = stats.t.ppf(1 - 2.5e-4, 9)
    relative_se_V = se_p / eta_p                     # the relative error of the block-averaged V
    V_over_V_reference = 3.2 / eta_p                 # eta ~ 1/V: the measured V over the V that eta* = 3.2 gives
    assert abs(V_over_V_reference - 1) < t_quantile * relative_se_V * V_over_V_reference + 0.03, (eta_p, se_p)
    eta_l, se_l, run = lj_eta_star(system, state, temperature, platform, "langevin", 2.0)
    k_star = run.report["wavenumber_per_nm"] * SIGMA_NM
    bias = 0.8442 * 2.0 / k_star ** 2
    assert abs((eta_l - eta_p) - bias) < t_quantile * math.hypot(se_p, se_l) + 0.5


def test_temperature_is_read_after_the_o_step_where_a_large_time_step_does_not_bias_it():
    """Harmonic wells with ω dt = 1: BAOAB's full-step velocities read T (1 − (ω dt)²/4) = 0.75 T (Leimkuhler &
    Matthews 2013), its mid-step (after O) velocities T exactly. The integrator's ``kesum`` must give T, the
    full-step kinetic energy 0.75 T; both within 3 % (500 particles, 4,000 sampled steps). The O step acts on the
    full velocity here (``thermostat="langevin"``): the peculiar thermostat leaves the cosine mode undamped, which
    a liquid's viscosity damps but these independent wells would not."""
    n, mass, dt, temperature = 500, 12.0, 0.002, 300.0
    system, pos, _ = free_particles(n=n, box=4.0, seed=5)
    spring = mass / dt ** 2                          # ω = sqrt(k/m) = 1/dt
    well = openmm.CustomExternalForce("0.5*kwell*((x-x0)^2 + (y-y0)^2 + (z-z0)^2)")
    well.addGlobalParameter("kwell", spring)
    for name in ("x0", "y0", "z0"):
        well.addPerParticleParameter(name)
    for i in range(n):
        well.addParticle(i, pos[i].tolist())
    system.addForce(well)
    k = 2 * math.pi / 4.0
    integ = cosine_acceleration_integrator(dt, temperature, 5.0, 1e-9, n * mass, "langevin", constrained=False)
    context = make_context(system, integ, pos, np.zeros_like(pos), k)
    integ.step(1000)                                 # friction 5/ps: ~10 relaxation times
    for name in ("kesum", "nsum"):
        integ.setGlobalVariableByName(name, 0.0)
    full_step = []
    for _ in range(40):
        integ.step(100)
        full_step.append(context.getState(getEnergy=True).getKineticEnergy().value_in_unit(unit.kilojoule_per_mole))
    dof = 3 * n
    mid = instantaneous_temperature_K(integ.getGlobalVariableByName("kesum") / integ.getGlobalVariableByName("nsum"), dof)
    end = instantaneous_temperature_K(float(np.mean(full_step)), dof)
    assert mid == pytest.approx(temperature, rel=0.03)
    assert end == pytest.approx(0.75 * temperature, rel=0.03)
