"""``python -m simulation.viscosity``: shear viscosity by periodic perturbation (cosine acceleration), the MD half.

Method (Hess, J. Chem. Phys. 116, 209 (2002))
---------------------------------------------
Every atom feels the acceleration a_x(z) = A cos(k z), k = 2π/L_z, along x. In the linear, steady regime
the liquid answers with the velocity profile u_x(z) = V cos(k z), where V = A ρ / (η k²). This module runs
that MD and writes the series of V, sampled as V = 2 Σ m_i v_x,i cos(k z_i) / Σ m_i (Hess's estimator),
averaged over each sample interval; :mod:`analysis.viscosity` turns it into η with an error bar.

How the acceleration is applied (not as a Force)
------------------------------------------------
The field (A cos kz, 0, 0) has a curl, so no potential energy gives it: a ``CustomExternalForce`` with the
energy -m A x cos(kz) adds a spurious z force, -m A k x sin(kz), that grows with the (unwrapped) x of the atom,
and its energy is not periodic in x. Here the acceleration is therefore added to the velocities inside the
integrator (a ``CustomIntegrator`` half-kick ``v += dt/2 (f/m + a(z))``); the System's forces and energies are
those of the unperturbed liquid, so nothing energy-based (a barostat, an energy check) sees the perturbation.
There is no barostat in this run: it is NVT at the equilibrated volume, and any barostat in the input System
is removed (the input is the equilibrate stage's System and State).

Thermostat (the choice, and why)
--------------------------------
A Langevin thermostat acting on the full velocity damps the imposed flow: the momentum balance of the mode
becomes ρ dV/dt = ρA − η k² V − ρ γ V, so the apparent viscosity is η + ρ γ / k² (with γ = 1/ps and a 2.3 nm box
that bias is ~1 mPa s, as large as PC's viscosity). OpenMM's ``NoseHooverIntegrator`` would not damp it, but it
integrates only the System's forces, so the acceleration would have to be a Force, which it cannot be (above).
The integrator here is velocity Verlet (BAOAB splitting, V R O R V, constraints after every position and
velocity update as openmmtools does) whose O step is a Langevin step on the *peculiar* velocity
v − u(z), where u(z) = V_fit cos(kz) x̂ is the cosine profile fitted to the instantaneous velocities by mass-weighted
least squares (V_fit = Σ m v_x cos(kz) / Σ m cos²(kz)): the friction leaves the cosine mode's momentum
Σ m v_x cos(kz) exactly unchanged, only the noise acts on it (zero mean). This is a profile-unbiased
thermostat: the temperature it holds is that of the peculiar motion, which is the thermodynamic temperature.
``thermostat="langevin"`` is the same integrator with u = 0 (the biased reference, kept for the bias test).

Temperature: measured after the O step (mid-step, peculiar velocities), not from the full-step velocities.
BAOAB samples positions accurately, and its mid-step velocities are exactly Maxwellian for a harmonic mode,
while its full-step velocities read low by a factor 1 − (ω dt)²/4 for a mode of frequency ω (Leimkuhler &
Matthews, Appl. Math. Res. Express 2013, 34): with HMR at 4 fs the LE's full-step kinetic temperature reads
~270 K in a run held at 298 K (measured: 270, 296 and 300 K at 4, 2 and 1 fs), a bias of the estimator, not of
the run. The report gives both (``mean_temperature_K``, mid-step; ``mean_full_step_temperature_K``).

Kinetic energy of the flow: (1/2) Σ m u² ≈ M V² / 4; the report gives it relative to the thermal kinetic
energy (1/2) N_dof k_B T (10⁻⁵-10⁻³ at the amplitudes used), which is why a total-kinetic-energy thermostat
would also have been acceptable had the force been expressible.

Usage::

    python -m simulation.viscosity --system SYSTEM.xml --state STATE.xml --topology TOP.pdb \\
        --settings SETTINGS.json --amplitude "0.05 nm/ps^2" "0.1 nm/ps^2" --duration "200 ps" \\
        --spin-up "20 ps" --sample-interval "0.2 ps" --collision-rate "1 /ps" [--thermostat peculiar|langevin] \\
        --out-series series.csv --out-report run.json [--log LOG] [--platform ...]

The temperature, seed, time step (``protocol.timestep_ps``), hydrogen masses and platform come from the
settings file (:mod:`simulation.settings`). Each amplitude is a separate run from the equilibrated State,
with its own velocities (seed ``viscosity-velocities-<i>``) and thermostat noise.

Outputs: ``--out-series`` (CSV, one row per sample interval: amplitude_nm_per_ps2, time_ps, V_nm_per_ps,
temperature_K) and ``--out-report`` (JSON, schema ``gelmd.simulation.viscosity/1``, written last: box, k,
mass, density, thermostat, parameters, flow kinetic energy fraction, speed, platform).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import openmm
from openmm import app, unit

from common.errors import SimulationError
from common.io import write_json_atomic, write_text_atomic
from common.units import parse_quantity
from simulation.cli import add_input_arguments, load_inputs, remove_outputs, run_cli
from simulation.platform import PlatformChoice, choose_platform
from simulation.reporters import RunLog, interval_steps
from simulation.runner import make_simulation, ns_per_day, run_steps
from simulation.system_prep import (box_matrix_nm, box_volume_nm3, degrees_of_freedom, density_g_per_cm3,
                                    instantaneous_temperature_K, remove_barostats, total_mass_amu)

REPORT_SCHEMA = "gelmd.simulation.viscosity/1"
SERIES_COLUMNS = ("amplitude_nm_per_ps2", "time_ps", "V_nm_per_ps", "temperature_K")
THERMOSTATS = ("peculiar", "langevin")
BOLTZMANN_KJ_PER_MOL_K = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)
MAX_TEMPERATURE_FACTOR = 3.0


@dataclass(frozen=True)
class PerturbationSettings:
    """One perturbation run's parameters, internal units (nm, ps, K)."""

    amplitude_nm_per_ps2: float
    duration_ps: float
    spin_up_ps: float
    sample_interval_ps: float
    collision_rate_per_ps: float
    timestep_ps: float
    temperature_K: float
    thermostat: str = "peculiar"

    def check(self) -> None:
        for key in ("amplitude_nm_per_ps2", "duration_ps", "sample_interval_ps", "collision_rate_per_ps",
                    "timestep_ps", "temperature_K"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise SimulationError(f"viscosity run: {key} = {value!r} must be > 0")
        if not self.spin_up_ps >= 0:
            raise SimulationError(f"viscosity run: spin_up_ps = {self.spin_up_ps!r} must be >= 0")
        if self.thermostat not in THERMOSTATS:
            raise SimulationError(f"viscosity run: thermostat {self.thermostat!r}; allowed: {list(THERMOSTATS)}")
        if self.sample_interval_ps > self.duration_ps:
            raise SimulationError(f"viscosity run: sample interval {self.sample_interval_ps} ps is longer than the "
                                  f"duration {self.duration_ps} ps")


PROFILE_GROUP = 1
"""Force group of the auxiliary profile force; every force of the liquid is put in group 0."""


def add_profile_force(system: openmm.System, wavenumber_per_nm: float) -> openmm.CustomExternalForce:
    """Put every force of ``system`` in group 0 and add, in group ``PROFILE_GROUP``, a CustomExternalForce
    whose gradient's x component is cos(k z): the integrator reads it as ``f1`` (masked to x) to get the cosine
    profile of every atom at the cost of a compiled force kernel (a per-DOF ``vector(cos(k*_z(x)), 0, 0)``
    expression ran 3-5x slower on the CPU platform).

    Its "energy" -x cos(kz) is not periodic in x and its z gradient is spurious: it is never integrated (the
    kicks use ``f0``), no barostat runs, and the reported energies are those of group 0 only.
    """
    for index in range(system.getNumForces()):
        force = system.getForce(index)
        force.setForceGroup(0)
        if isinstance(force, openmm.NonbondedForce):
            force.setReciprocalSpaceForceGroup(-1)
    profile = openmm.CustomExternalForce("-x*cos(kw*z)")
    profile.addGlobalParameter("kw", wavenumber_per_nm)
    for i in range(system.getNumParticles()):
        profile.addParticle(i, [])
    profile.setForceGroup(PROFILE_GROUP)
    profile.setName("cosine profile (auxiliary; energy meaningless, never integrated)")
    system.addForce(profile)
    return profile


def cosine_acceleration_integrator(timestep_ps: float, temperature_K: float, collision_rate_per_ps: float,
                                   amplitude_nm_per_ps2: float, total_mass_amu: float,
                                   thermostat: str = "peculiar", seed: int = 1,
                                   constrained: bool = True) -> openmm.CustomIntegrator:
    """Velocity Verlet (BAOAB) with the cosine acceleration in the kicks and a Langevin O step on the peculiar
    velocity (``thermostat="peculiar"``) or on the full velocity (``"langevin"``); see the module notes.

    Needs the System prepared by :func:`add_profile_force` and, once the Context exists,
    :func:`initialise_profile`. Global variables read by the caller: ``Vsum`` (sum of Hess's
    V = 2 Σ m v_x cos(kz) / Σ m after each step, nm/ps) and ``nsum`` (steps summed); reset both to 0 to start a
    new sample; ``kesum`` likewise sums the peculiar kinetic energy (kJ/mol) after the O step, the estimator of
    the temperature that a large time step does not bias (module notes). ``constrained=False`` (a System without
    constraints) leaves out the constraint steps.
    """
    if thermostat not in THERMOSTATS:
        raise SimulationError(f"thermostat {thermostat!r}; allowed: {list(THERMOSTATS)}")
    kT = BOLTZMANN_KJ_PER_MOL_K * temperature_K
    integrator = openmm.CustomIntegrator(timestep_ps)
    integrator.addGlobalVariable("a", math.exp(-collision_rate_per_ps * timestep_ps))
    integrator.addGlobalVariable("b", math.sqrt(1.0 - math.exp(-2.0 * collision_rate_per_ps * timestep_ps)))
    integrator.addGlobalVariable("kT", kT)
    integrator.addGlobalVariable("A", amplitude_nm_per_ps2)
    integrator.addGlobalVariable("mtot", total_mass_amu)
    integrator.addGlobalVariable("mvu", 0.0)
    integrator.addGlobalVariable("muu", 0.0)
    integrator.addGlobalVariable("Vfit", 0.0)
    integrator.addGlobalVariable("Vsum", 0.0)
    integrator.addGlobalVariable("nsum", 0.0)
    integrator.addGlobalVariable("kemid", 0.0)
    integrator.addGlobalVariable("kesum", 0.0)
    integrator.addPerDofVariable("x1", 0.0)
    integrator.addPerDofVariable("ex", 0.0)  # (1, 0, 0) per atom, set by initialise_profile
    integrator.addPerDofVariable("u", 0.0)   # the unit cosine profile (cos kz, 0, 0) at the current positions

    def profile() -> None:
        integrator.addComputePerDof("u", f"ex*f{PROFILE_GROUP}")

    def kick() -> None:   # V: half-kick with the liquid's forces (group 0) and the cosine acceleration
        integrator.addComputePerDof("v", "v + 0.5*dt*(f0/m + A*u)")
        if constrained:
            integrator.addConstrainVelocities()

    def drift() -> None:  # R: half-drift, constrained positions, velocity correction; then the new profile
        integrator.addComputePerDof("x", "x + 0.5*dt*v")
        if constrained:
            integrator.addComputePerDof("x1", "x")
            integrator.addConstrainPositions()
            integrator.addComputePerDof("v", "v + (x - x1)/(0.5*dt)")
            integrator.addConstrainVelocities()
        profile()

    integrator.addUpdateContextState()
    kick()                         # u: the profile at the end of the previous step (initialise_profile at first)
    drift()
    integrator.addComputeSum("mvu", "m*v*u")
    integrator.addComputeSum("muu", "m*u*u")
    integrator.addComputeGlobal("Vfit", "mvu/muu")
    if thermostat == "peculiar":   # O on v - Vfit u: the fitted cosine mode is not damped
        integrator.addComputePerDof("v", "Vfit*u + a*(v - Vfit*u) + b*sqrt(kT/m)*gaussian")
    else:                          # O on the full velocity: damps the flow (the known bias)
        integrator.addComputePerDof("v", "a*v + b*sqrt(kT/m)*gaussian")
    if constrained:
        integrator.addConstrainVelocities()
    integrator.addComputeSum("kemid", "0.5*m*(v - Vfit*u)*(v - Vfit*u)")   # mid-step peculiar kinetic energy
    integrator.addComputeGlobal("kesum", "kesum + kemid")
    drift()
    kick()
    integrator.addComputeSum("mvu", "m*v*u")   # Hess's V after the step, u at these positions
    integrator.addComputeGlobal("Vsum", "Vsum + 2*mvu/mtot")
    integrator.addComputeGlobal("nsum", "nsum + 1")
    integrator.setRandomNumberSeed(int(seed))
    return integrator


def initialise_profile(integrator: openmm.CustomIntegrator, context: openmm.Context, wavenumber_per_nm: float) -> None:
    """Set the x mask and the profile of the current positions (call after every setPositions)."""
    z = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)[:, 2]
    n = z.size
    integrator.setPerDofVariableByName("ex", [openmm.Vec3(1.0, 0.0, 0.0)] * n)
    integrator.setPerDofVariableByName("u", [openmm.Vec3(float(c), 0.0, 0.0) for c in np.cos(wavenumber_per_nm * z)])


def check_perturbable(system: openmm.System) -> None:
    """Refuse what this method cannot run: a barostat left in the System, massless particles (virtual sites:
    the thermostat divides by the mass), a non-rectangular box."""
    for index in range(system.getNumForces()):
        force = system.getForce(index)
        if isinstance(force, (openmm.MonteCarloBarostat, openmm.MonteCarloAnisotropicBarostat,
                              openmm.MonteCarloMembraneBarostat, openmm.MonteCarloFlexibleBarostat)):
            raise SimulationError(f"viscosity run: the System holds a {type(force).__name__}; the periodic-perturbation "
                                  "run is NVT (remove it with simulation.system_prep.remove_barostats)")
    massless = [i for i in range(system.getNumParticles()) if system.getParticleMass(i).value_in_unit(unit.dalton) <= 0]
    if massless:
        raise SimulationError(f"viscosity run: {len(massless)} massless particle(s) (e.g. index {massless[0]}); "
                              "virtual sites are not supported by the perturbation integrator")


def box_geometry(state: openmm.State) -> tuple[np.ndarray, float]:
    """The box (nm, 3x3) and L_z; refuses a triclinic box (the cosine along z needs the z edge along z)."""
    box = box_matrix_nm(state.getPeriodicBoxVectors())
    if np.any(np.abs(box - np.diag(np.diag(box))) > 1e-9 * np.max(np.diag(box))):
        raise SimulationError(f"viscosity run: the box {box.tolist()} nm is not rectangular")
    return box, float(box[2, 2])


@dataclass
class AmplitudeRun:
    """The series and the report of one amplitude."""

    time_ps: np.ndarray
    V_nm_per_ps: np.ndarray
    temperature_K: np.ndarray
    report: dict


def run_amplitude(system: openmm.System, state: openmm.State, settings: PerturbationSettings,
                  platform: PlatformChoice, seed: int, topology: app.Topology | None = None,
                  log: RunLog | None = None) -> AmplitudeRun:
    """Spin-up, then ``duration_ps`` of sampling; one V (mean over the interval) per sample interval."""
    settings.check()
    check_perturbable(system)
    box, lz = box_geometry(state)
    k = 2.0 * math.pi / lz
    mass = total_mass_amu(system)
    system = openmm.XmlSerializer.clone(system)   # the caller's System is not changed
    add_profile_force(system, k)
    integrator = cosine_acceleration_integrator(settings.timestep_ps, settings.temperature_K,
                                                settings.collision_rate_per_ps, settings.amplitude_nm_per_ps2,
                                                mass, settings.thermostat, seed,
                                                constrained=system.getNumConstraints() > 0)
    simulation = make_simulation(topology, system, integrator, platform)
    context = simulation.context
    context.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    context.setPositions(state.getPositions())
    context.applyConstraints(1e-6)
    context.setVelocitiesToTemperature(settings.temperature_K * unit.kelvin, int(seed))
    context.applyVelocityConstraints(1e-6)
    initialise_profile(integrator, context, k)
    dof = degrees_of_freedom(system)
    spin_steps = int(round(settings.spin_up_ps / settings.timestep_ps))
    sample_steps = interval_steps(settings.sample_interval_ps, settings.timestep_ps)
    n_samples = max(1, int(round(settings.duration_ps / (sample_steps * settings.timestep_ps))))
    stage = f"viscosity A={settings.amplitude_nm_per_ps2:g} nm/ps^2"
    if log:
        log.message(f"{stage}: k = {k:.5g} /nm (L_z {lz:.4f} nm), thermostat {settings.thermostat}, "
                    f"gamma {settings.collision_rate_per_ps:g} /ps, spin-up {spin_steps} steps, {n_samples} samples "
                    f"of {sample_steps} steps")
    run_steps(simulation, spin_steps, stage + " (spin-up)")
    times, values, temps = np.zeros(n_samples), np.zeros(n_samples), np.zeros(n_samples)
    full_step_temps = np.zeros(n_samples)
    wall = 0.0
    report_every = max(1, n_samples // 10)
    for i in range(n_samples):
        for name in ("Vsum", "nsum", "kesum"):
            integrator.setGlobalVariableByName(name, 0.0)
        wall += run_steps(simulation, sample_steps, stage)
        n = integrator.getGlobalVariableByName("nsum")
        values[i] = integrator.getGlobalVariableByName("Vsum") / n
        temps[i] = instantaneous_temperature_K(integrator.getGlobalVariableByName("kesum") / n, dof)
        kinetic = context.getState(getEnergy=True, groups={0}).getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        full_step_temps[i] = instantaneous_temperature_K(kinetic, dof)
        times[i] = (i + 1) * sample_steps * settings.timestep_ps
        if not math.isfinite(values[i]) or not temps[i] < MAX_TEMPERATURE_FACTOR * settings.temperature_K:
            raise SimulationError(f"{stage}: blew up at sample {i} (step {simulation.currentStep}): V = {values[i]!r} "
                                  f"nm/ps, T = {temps[i]:.1f} K; lower the amplitude or the time step")
        if log and (i + 1) % report_every == 0:
            log.message(f"{stage}: {times[i]:.1f} ps, running mean V = {values[:i + 1].mean():.5g} nm/ps, "
                        f"T = {temps[:i + 1].mean():.1f} K, {ns_per_day(sample_steps * (i + 1), settings.timestep_ps, wall):.1f} ns/day")
    volume = box_volume_nm3(box)
    mean_v = float(values.mean())
    thermal = 0.5 * dof * BOLTZMANN_KJ_PER_MOL_K * settings.temperature_K
    flow = 0.25 * mass * mean_v ** 2       # (1/2) Σ m V² cos²(kz) ≈ M V² / 4, kJ/mol (amu nm²/ps²)
    report = {
        **asdict(settings),
        "wavenumber_per_nm": k, "box_length_z_nm": lz, "box_nm": box.tolist(), "volume_nm3": volume,
        "total_mass_amu": mass, "density_g_per_cm3": density_g_per_cm3(mass, volume), "degrees_of_freedom": dof,
        "n_samples": n_samples, "sample_steps": sample_steps, "spin_up_steps": spin_steps, "seed": int(seed),
        "mean_V_nm_per_ps": mean_v, "mean_temperature_K": float(temps.mean()),
        "temperature_estimator": "peculiar kinetic energy after the O step, averaged over every step (exact for "
                                 "harmonic modes, whose full-step velocities read low by (omega dt)^2/4; "
                                 "module notes)",
        "mean_full_step_temperature_K": float(full_step_temps.mean()),
        "flow_kinetic_energy_fraction": flow / thermal,
        "max_shear_rate_per_ps": abs(mean_v) * k,
        "ns_per_day": ns_per_day(sample_steps * n_samples, settings.timestep_ps, wall),
        "wall_time_s": wall,
    }
    return AmplitudeRun(times, values, temps, report)


def series_csv(runs: Sequence[AmplitudeRun]) -> str:
    """The CSV text of the series of every amplitude (``SERIES_COLUMNS``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SERIES_COLUMNS)
    for run in runs:
        a = run.report["amplitude_nm_per_ps2"]
        for t, v, temp in zip(run.time_ps, run.V_nm_per_ps, run.temperature_K):
            writer.writerow([repr(float(a)), f"{t:.6f}", repr(float(v)), f"{temp:.4f}"])
    return buffer.getvalue()


def method_description(thermostat: str) -> str:
    return ("periodic perturbation (cosine acceleration along x, modulated along z; Hess, J. Chem. Phys. 116, 209 "
            "(2002)), NVT at the equilibrated volume, no barostat; velocity-Verlet CustomIntegrator (BAOAB) with the "
            "acceleration in the kicks (not a Force: the field has a curl) and a Langevin step on "
            + ("the peculiar velocity v - V_fit cos(kz) x (the cosine mode is not damped)" if thermostat == "peculiar"
               else "the full velocity (damps the flow: apparent eta = eta + rho gamma / k^2; a test reference)"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.viscosity", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--amplitude", required=True, nargs="+", help="acceleration amplitude(s), e.g. '0.05 nm/ps^2'")
    parser.add_argument("--duration", required=True, help="sampled time per amplitude, e.g. '200 ps'")
    parser.add_argument("--spin-up", required=True, help="time before sampling starts, e.g. '20 ps'")
    parser.add_argument("--sample-interval", default="0.2 ps", help="V is averaged over this interval (default 0.2 ps)")
    parser.add_argument("--collision-rate", required=True, help="thermostat collision rate, e.g. '1 /ps'")
    parser.add_argument("--thermostat", choices=THERMOSTATS, default="peculiar")
    parser.add_argument("--out-series", required=True, help="CSV of V per sample interval")
    parser.add_argument("--out-report", required=True, help="JSON run report (written last)")
    return parser


def _run(args: argparse.Namespace, log: RunLog) -> None:
    start = time.perf_counter()
    remove_outputs([args.out_report, args.out_series])
    inputs = load_inputs(args, log)
    remove_barostats(inputs.system)
    s = inputs.settings
    amplitudes = [parse_quantity(a, "acceleration", "--amplitude") for a in args.amplitude]
    common = dict(duration_ps=parse_quantity(args.duration, "time", "--duration"),
                  spin_up_ps=parse_quantity(args.spin_up, "time", "--spin-up"),
                  sample_interval_ps=parse_quantity(args.sample_interval, "time", "--sample-interval"),
                  collision_rate_per_ps=parse_quantity(args.collision_rate, "rate", "--collision-rate"),
                  timestep_ps=s.protocol.timestep_ps, temperature_K=s.temperature_K, thermostat=args.thermostat)
    platform = choose_platform(s.engine)
    log.message(f"platform: {json.dumps(platform.description)}")
    runs = []
    for i, amplitude in enumerate(amplitudes):
        settings = PerturbationSettings(amplitude_nm_per_ps2=amplitude, **common)
        runs.append(run_amplitude(inputs.system, inputs.state, settings, platform, s.seed_for(f"viscosity-{i}"),
                                  inputs.topology, log))
    write_text_atomic(args.out_series, series_csv(runs))
    report = {
        "schema": REPORT_SCHEMA,
        "method": method_description(args.thermostat),
        "estimator": "V = 2 sum_i m_i v_x,i cos(k z_i) / sum_i m_i, averaged over each sample interval; "
                     "eta = A rho / (V k^2) (analysis.viscosity)",
        "amplitudes": [r.report for r in runs],
        "hydrogen_mass_repartitioning": inputs.hmr,
        "barostats_removed": inputs.barostats_removed,
        "platform": platform.description,
        "inputs": inputs.paths,
        "outputs": {"series": str(args.out_series)},
        "wall_time_s": time.perf_counter() - start,
    }
    write_json_atomic(args.out_report, report)
    log.message(f"viscosity: done in {report['wall_time_s']:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.viscosity", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
