"""Minimisation, NVT heating and NPT equilibration with a density convergence rule.

Each stage takes (System, topology, State, platform) and returns the new portable State and a result dict
(JSON-ready, units in key names); each builds its own Context, so the stages compose freely (the network
builder of ``systems/`` relaxes between crosslinking cycles with the same functions). The System passed in
is never modified: the NPT stage adds its barostat to a copy.

Stages
    :func:`minimise`: L-BFGS (``LocalEnergyMinimizer``) to an RMS force below the tolerance (kJ/mol/nm).

    :func:`heat`: NVT, ``LangevinMiddleIntegrator`` (friction in 1/ps), velocities drawn at the start
    temperature, the thermostat temperature raised in ``n_stages`` equal steps to the target temperature,
    each held for an equal share of the heating time.

    :func:`equilibrate_npt`: NPT with a ``MonteCarloBarostat`` (molecular scaling, or atom-wise
    scaling when a molecule percolates through the box; see :mod:`simulation.system_prep` for why), run
    in blocks of ``block_ps``. Atom-wise scaling is unbiased only without constraints, so a System with
    constraints runs its atom-wise NPT blocks on :func:`simulation.system_prep.flexible_copy` (constraints
    replaced by the harmonic bond terms kept beside them) with a shorter time step
    (:func:`flexible_npt_timestep_ps`: at most 2 fs when the lightest constrained atom has >= 2 amu, i.e.
    with hydrogen mass repartitioning, at most 1 fs otherwise; the barostat interval is rescaled to keep
    its length in ps, blocks keep their length in ps). The converged State is handed back to the
    constrained System (:func:`restore_constraints`: constraints and velocity constraints applied), so the
    State returned always satisfies the constraints of the System passed in. After each block the density
    convergence rule (:func:`density_convergence`) is applied to *that block's* density samples
    (one every ``report_interval_ps``):

    - the mean densities of the block's third and fourth quarters do not differ by significantly more than
      ``tolerance`` (relative to the mean of the second half): change − 2σ < tolerance, σ the standard error
      of the difference of the two quarter means (each from the second half's standard deviation and
      statistical inefficiency),
    - the drift over the second half — the slope b of a least-squares line through the second half's
      densities times the second half's duration (``block_ps / 2``) — is not significantly above
      ``tolerance`` (relative): drift − 2 se(b) block_ps/2 < tolerance, and
    - the slope is zero within its standard error: |b| <= ``SLOPE_SIGNIFICANCE`` (2) x se(b), with se(b) the
      least-squares error inflated by the square root of the statistical inefficiency of the fit's
      residuals, which accounts for the correlation of successive samples
      (:func:`common.statistics.linear_trend`) — unless the drift is negligible, below
      ``NEGLIGIBLE_DRIFT_FRACTION`` (1/10) of the tolerance: a long run of a large box resolves drifts far
      too small to matter, and a tolerance of 1 or more (tests and benchmarks that run fixed blocks) asks
      for no convergence. A flat series fails this test by chance ~5-15 % of the time (one more block); a
      steady drift that the tolerance alone would let through (a small box's density fluctuates by ~1 %,
      so the fitted drift of a short window is mostly noise) is caught once the window has enough
      independent samples to resolve it.

    Why "significantly": a 1,500-atom box's density fluctuates by ~1 % sample to sample, so over a 50 ps block
    the noise of a quarter-mean difference and of the fitted drift is ~0.5-1 % — as large as the tolerance.
    Compared as bare numbers, a box already at its density failed block after block by chance (the demo LE:
    six 50 ps blocks at 1.275-1.297 g/cm^3, each refused on a noise-sized drift); compared with their errors
    they refuse only what the block resolves, and a real compression or expansion is still caught by the
    slope test. ``quarter_change_resolution_relative`` and ``drift_resolution_relative`` (2σ) record what
    each block could resolve.

    If all three hold the block is converged; otherwise another block is run, up to ``max_blocks``, and then
    a :class:`common.errors.SimulationError` lists the densities seen. The reported density (mean and
    standard deviation, g/cm^3) and volume are those of the second half of the converged block.

    Hand-over to production (:func:`scale_to_volume`): the box is set to the *mean* volume of that
    window, positions scaled atom-wise about the origin (the same move the barostat makes) and
    constraints re-applied, velocities kept. NVT production then runs at the average equilibrium density
    instead of at whatever instantaneous volume the last barostat move left (which is off by the volume
    fluctuation, ~0.5 % for a few thousand atoms); the required scaling is that small, so the structure is
    not disturbed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import openmm
from openmm import app, unit

from common.errors import ConfigError, SimulationError
from common.statistics import linear_trend, statistical_inefficiency
from simulation.platform import PlatformChoice
from simulation.reporters import BlowUpGuard, ProgressReporter, RunLog, interval_steps
from simulation.runner import make_simulation, minimise_in_place, ns_per_day, run_steps
from simulation.state_io import state_from_context
from simulation.system_prep import (add_barostat, box_volume_nm3, degrees_of_freedom, flexible_copy,
                                    instantaneous_temperature_K, percolating_molecules, total_mass_amu)

MIN_DENSITY_SAMPLES_PER_BLOCK = 8
SLOPE_SIGNIFICANCE = 2.0
"""The density slope counts as zero when |slope| <= SLOPE_SIGNIFICANCE x its standard error (~95 %)."""
NEGLIGIBLE_DRIFT_FRACTION = 0.1
"""A drift below this fraction of the tolerance passes the slope test even when it is resolved (module notes)."""
CONSTRAINT_TOLERANCE = 1e-6
HMR_MIN_LIGHTEST_MASS_AMU = 2.0
FLEXIBLE_MAX_TIMESTEP_HMR_PS = 0.002
FLEXIBLE_MAX_TIMESTEP_PS = 0.001
BAROSTAT_SCALINGS = ("auto", "molecular", "atomwise")
FLEXIBLE_TIMESTEP_RULE = (
    "NPT without constraints uses min(protocol time step, 2 fs) when the lightest atom of any removed constraint "
    "has >= 2 amu (hydrogen mass repartitioning) and min(protocol time step, 1 fs) otherwise")
RATIONALE_MOLECULAR = (
    "no molecule is bonded to its own periodic image, so molecular centres are scaled with molecules kept rigid; "
    "the acceptance test then counts molecules, which is exact with constraints; the System ran unchanged")
RATIONALE_ATOMWISE_UNCONSTRAINED = (
    "atom-wise scaling (a molecule spans the box, or it was asked for) of a System without constraints: every atom "
    "moves independently, so the N kT ln(V'/V) acceptance term counting atoms is exact")
RATIONALE_ATOMWISE_FLEXIBLE = (
    "a molecule spans the box (or atom-wise scaling was asked for), so the barostat must scale atoms; its "
    "N kT ln(V'/V) acceptance term counts atoms and is biased towards low density when constrained atoms cannot "
    "move independently (measured: 200 rigid TIP3P-FB waters 0.81 -> 0.60 g/cm^3, never converging). The NPT "
    "blocks therefore ran on a copy of the System without constraints, each constraint represented by the "
    "harmonic bond term the force field keeps beside it (flexibleConstraints), at a shorter time step; the "
    "converged State was handed back to the constrained System with constraints and velocity constraints "
    "re-applied")
CONVERGENCE_RULE = (
    "a block is converged when (|mean(Q4) - mean(Q3)| - 2 se(Q4 - Q3)) / mean(H2) < tol, "
    "(|slope(H2)| - 2 stderr(slope)) * (block/2) / mean(H2) < tol (neither change significantly above the "
    "tolerance) and (|slope(H2)| <= 2 stderr(slope) or the drift < tol / 10), where Q3, Q4 are the block's third "
    "and fourth quarters of density samples, H2 its second half, slope the least-squares slope of density "
    "against time over H2 and stderr its standard error times sqrt(g), g the statistical inefficiency of the "
    "fit residuals (correlated samples); density and volume are then averaged over H2 of the converged block")


def _log(log: RunLog | None, text: str) -> None:
    if log is not None:
        log.message(text)


def _potential(context: openmm.Context) -> float:
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def minimise(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice, *,
             max_iterations: int = 0, tolerance_kJ_per_mol_per_nm: float = 10.0,
             log: RunLog | None = None) -> tuple[openmm.State, dict]:
    """Energy-minimise; ``max_iterations`` 0 means until the RMS force is below the tolerance.

    Returns the minimised State (velocities zero) and initial/final potential energy (kJ/mol) and the
    largest final force (kJ/mol/nm). Raises SimulationError if the final energy or forces are not finite.
    """
    simulation = make_simulation(topology, system, openmm.VerletIntegrator(0.001), platform, state)
    context = simulation.context
    context.applyConstraints(CONSTRAINT_TOLERANCE)
    initial = _potential(context)
    _log(log, f"minimise: initial potential energy {initial:.6g} kJ/mol ({system.getNumParticles()} particles)")
    start = time.perf_counter()
    minimise_in_place(simulation, tolerance_kJ_per_mol_per_nm, max_iterations,
                      f"stage 'minimise' (initial potential energy {initial:.6g} kJ/mol)")
    result_state = context.getState(getEnergy=True, getForces=True)
    final = result_state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    forces = result_state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
    max_force = float(np.max(np.linalg.norm(forces, axis=1))) if len(forces) else 0.0
    if not (np.isfinite(final) and np.isfinite(max_force)):
        raise SimulationError(f"energy minimisation ended with a non-finite energy ({final}) or force "
                              f"({max_force}); the starting structure has overlapping atoms or a broken force field")
    context.setVelocities(np.zeros((system.getNumParticles(), 3)))
    result = {
        "initial_potential_energy_kJ_per_mol": initial,
        "final_potential_energy_kJ_per_mol": final,
        "max_force_kJ_per_mol_per_nm": max_force,
        "tolerance_kJ_per_mol_per_nm": tolerance_kJ_per_mol_per_nm,
        "max_iterations": int(max_iterations),
        "wall_time_s": time.perf_counter() - start,
    }
    _log(log, f"minimise: final potential energy {final:.6g} kJ/mol, largest force {max_force:.4g} kJ/mol/nm")
    return state_from_context(context), result


def _guard(stage: str, system: openmm.System, interval: int, dof: int, max_temperature_K: float,
           max_rise: float) -> BlowUpGuard:
    return BlowUpGuard(interval, stage, system.getNumParticles(), dof,
                       max_potential_rise_kJ_per_mol_per_atom=max_rise, max_temperature_K=max_temperature_K)


def heat(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice, *,
         start_temperature_K: float, temperature_K: float, duration_ps: float, timestep_ps: float,
         friction_per_ps: float, n_stages: int, integrator_seed: int, velocity_seed: int,
         report_interval_ps: float, log: RunLog | None = None,
         max_potential_rise_kJ_per_mol_per_atom: float = 100.0,
         max_temperature_factor: float = 3.0) -> tuple[openmm.State, dict]:
    """NVT heating from ``start_temperature_K`` to ``temperature_K`` in ``n_stages`` thermostat steps.

    Velocities are drawn from the Maxwell–Boltzmann distribution at the start temperature
    (``velocity_seed``); the Langevin integrator (``friction_per_ps``, ``timestep_ps``) uses
    ``integrator_seed``. Returns the heated State and a result dict (stage temperatures and steps, final
    instantaneous temperature, ns/day).
    """
    n_steps = int(round(duration_ps / timestep_ps))
    integrator = openmm.LangevinMiddleIntegrator(start_temperature_K * unit.kelvin, friction_per_ps / unit.picosecond,
                                                 timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(int(integrator_seed))
    simulation = make_simulation(topology, system, integrator, platform, state)
    context = simulation.context
    context.setVelocitiesToTemperature(start_temperature_K * unit.kelvin, int(velocity_seed))
    dof = degrees_of_freedom(system)
    interval = interval_steps(report_interval_ps, timestep_ps)
    first_step = simulation.currentStep
    progress = ProgressReporter(interval, "heat", total_mass_amu(system), dof, timestep_ps, first_step, n_steps, log)
    guard = _guard("heat", system, interval, dof, max_temperature_factor * max(temperature_K, start_temperature_K),
                   max_potential_rise_kJ_per_mol_per_atom)
    guard.set_reference(context)
    simulation.reporters.extend([progress, guard])
    n_stages = max(1, min(int(n_stages), max(n_steps, 1)))
    stages = []
    wall = 0.0
    _log(log, f"heat: NVT {duration_ps:g} ps, {start_temperature_K:g} K -> {temperature_K:g} K in {n_stages} "
              f"stages, Langevin friction {friction_per_ps:g}/ps, time step {timestep_ps * 1000:g} fs")
    progress.start_clock(first_step)
    for k in range(n_stages):
        target = start_temperature_K + (temperature_K - start_temperature_K) * (k + 1) / n_stages
        steps = n_steps * (k + 1) // n_stages - n_steps * k // n_stages
        integrator.setTemperature(target * unit.kelvin)
        wall += run_steps(simulation, steps, "heat")
        stages.append({"temperature_K": target, "steps": steps})
    final = context.getState(getEnergy=True)
    kinetic = final.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
    result = {
        "duration_ps": n_steps * timestep_ps,
        "steps": n_steps,
        "start_temperature_K": start_temperature_K,
        "temperature_K": temperature_K,
        "friction_per_ps": friction_per_ps,
        "timestep_ps": timestep_ps,
        "stages": stages,
        "final_instantaneous_temperature_K": instantaneous_temperature_K(kinetic, dof),
        "integrator_seed": int(integrator_seed),
        "velocity_seed": int(velocity_seed),
        "ns_per_day": ns_per_day(n_steps, timestep_ps, wall),
        "wall_time_s": wall,
    }
    _log(log, f"heat: done, instantaneous temperature {result['final_instantaneous_temperature_K']:.1f} K, "
              f"{result['ns_per_day']:.3g} ns/day")
    return state_from_context(context), result


def _ratio_for_json(value: float, error: float) -> float | None:
    """value / error; 0 for 0 / 0 and None (JSON null) for a non-zero value with a zero error."""
    if error > 0:
        return value / error
    return 0.0 if value == 0 else None


def density_convergence(times_ps, densities, block_ps: float, tolerance: float) -> dict:
    """Apply the density convergence rule (module notes) to one block's samples.

    Returns ``converged`` and the numbers behind it: relative change between the last two quarters,
    relative drift over the second half, the slope (g/cm^3/ps) with its correlation-corrected standard
    error, whether the slope is zero within ``SLOPE_SIGNIFICANCE`` standard errors, which criteria passed,
    and mean/std/count of the second half.
    """
    t = np.asarray(times_ps, dtype=float)
    d = np.asarray(densities, dtype=float)
    n = len(d)
    if n < MIN_DENSITY_SAMPLES_PER_BLOCK:
        raise SimulationError(f"density convergence needs at least {MIN_DENSITY_SAMPLES_PER_BLOCK} samples per "
                              f"block, got {n}")
    half_start = n // 2
    t_half, d_half = t[half_start:], d[half_start:]
    q_split = len(d_half) // 2
    q3, q4 = d_half[:q_split], d_half[q_split:]
    reference = float(np.mean(d_half))
    quarter_change = abs(float(np.mean(q4)) - float(np.mean(q3))) / reference
    quarter_resolution = SLOPE_SIGNIFICANCE * _quarter_difference_stderr(d_half, len(q3), len(q4)) / reference
    trend = linear_trend(t_half, d_half)
    slope, slope_stderr = trend["slope"], trend["slope_stderr"]
    drift = abs(slope) * (block_ps / 2.0) / reference
    drift_resolution = SLOPE_SIGNIFICANCE * slope_stderr * (block_ps / 2.0) / reference
    # <= so that an exactly flat series (slope 0, stderr 0) passes and an exact line (stderr 0) does not
    zero_within_stderr = bool(abs(slope) <= SLOPE_SIGNIFICANCE * slope_stderr)
    negligible = bool(drift < NEGLIGIBLE_DRIFT_FRACTION * tolerance)
    criteria = {"quarter_change_not_significantly_above_tolerance": bool(quarter_change - quarter_resolution < tolerance),
                "drift_not_significantly_above_tolerance": bool(drift - drift_resolution < tolerance),
                "slope_zero_within_stderr_or_drift_negligible": zero_within_stderr or negligible}
    return {
        "converged": all(criteria.values()),
        "criteria": criteria,
        "quarter_change_relative": quarter_change,
        "quarter_change_resolution_relative": quarter_resolution,
        "drift_relative": drift,
        "drift_resolution_relative": drift_resolution,
        "slope_g_per_cm3_per_ps": slope,
        "slope_stderr_g_per_cm3_per_ps": slope_stderr,
        "slope_over_stderr": _ratio_for_json(abs(slope), slope_stderr),
        "slope_zero_within_stderr": zero_within_stderr,
        "drift_negligible": negligible,
        "slope_significance": SLOPE_SIGNIFICANCE,
        "slope_statistical_inefficiency": trend["statistical_inefficiency"],
        "tolerance": tolerance,
        "mean_g_per_cm3": reference,
        "std_g_per_cm3": float(np.std(d_half, ddof=1)) if len(d_half) > 1 else 0.0,
        "n_samples": int(len(d_half)),
    }


def _quarter_difference_stderr(half: np.ndarray, n3: int, n4: int) -> float:
    """Standard error (g/cm^3) of mean(Q4) − mean(Q3): the second half's standard deviation over the effective
    sample counts n / g of each quarter (g: statistical inefficiency of the half's fluctuations)."""
    if len(half) < 2:
        return 0.0
    g = max(1.0, statistical_inefficiency(half - np.mean(half)))
    std = float(np.std(half, ddof=1))
    return std * float(np.sqrt(g / n3 + g / n4))


def flexible_npt_timestep_ps(timestep_ps: float, lightest_constrained_mass_amu: float | None) -> float:
    """Time step (ps) for NPT of a System whose constraints were removed (:data:`FLEXIBLE_TIMESTEP_RULE`).

    ``lightest_constrained_mass_amu``: the lightest atom in any removed constraint (None: none removed,
    the protocol time step is kept).
    """
    if lightest_constrained_mass_amu is None:
        return timestep_ps
    cap = (FLEXIBLE_MAX_TIMESTEP_HMR_PS if lightest_constrained_mass_amu >= HMR_MIN_LIGHTEST_MASS_AMU
           else FLEXIBLE_MAX_TIMESTEP_PS)
    return min(timestep_ps, cap)


def _constraint_deviation(system: openmm.System, positions_nm: np.ndarray) -> float:
    """Largest |r_ij - d| / d over the System's constraints (raw coordinates, as OpenMM's constraints use)."""
    worst = 0.0
    for k in range(system.getNumConstraints()):
        i, j, d = system.getConstraintParameters(k)
        d = d.value_in_unit(unit.nanometer)
        worst = max(worst, abs(float(np.linalg.norm(positions_nm[j] - positions_nm[i])) - d) / d)
    return worst


def _kinetic_energy(system: openmm.System, state: openmm.State) -> float:
    """Kinetic energy (kJ/mol) of the State's velocities, sum of m v^2 / 2 (no integrator half-step averaging)."""
    if not state.getDataTypes() & openmm.State.Velocities:
        return 0.0
    v = state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond)
    m = np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])
    return float(0.5 * np.sum(m[:, None] * v * v))


def restore_constraints(system: openmm.System, topology: app.Topology, state: openmm.State,
                        platform: PlatformChoice) -> tuple[openmm.State, dict]:
    """Hand a State from a run without constraints back to ``system``: apply its constraints and velocity constraints.

    Box, time and step count are kept. Returns the new State and what the projection changed: the largest
    relative constraint deviation before and after, the kinetic energy before and after (the velocity
    components along constrained bonds are removed) and the potential energy after.
    """
    simulation = make_simulation(topology, system, openmm.VerletIntegrator(0.001), platform, state)
    context = simulation.context
    positions = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    before = _constraint_deviation(system, positions)
    kinetic_before = _kinetic_energy(system, state)
    context.applyConstraints(CONSTRAINT_TOLERANCE)
    context.applyVelocityConstraints(CONSTRAINT_TOLERANCE)
    new_state = state_from_context(context)
    after = _constraint_deviation(system, new_state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    potential = _potential(context)
    if not np.isfinite(potential):
        raise SimulationError("re-applying the constraints after the flexible NPT run gave a non-finite energy")
    return new_state, {
        "max_relative_constraint_deviation_before": before,
        "max_relative_constraint_deviation_after": after,
        "kinetic_energy_before_kJ_per_mol": kinetic_before,
        "kinetic_energy_after_kJ_per_mol": _kinetic_energy(system, new_state),
        "potential_energy_after_kJ_per_mol": potential,
    }


@dataclass
class _NptSetup:
    """How the NPT blocks run: on which System, with which barostat scaling and time step, and why.

    ``system``: a copy of the System passed in, or its flexible copy (constraints replaced by their harmonic
    bond terms) when atom-wise scaling meets constraints; ``timestep_ps`` and ``barostat_interval`` (steps)
    are those of the NPT blocks (the interval rescaled to keep its length in ps when the time step shrinks).
    """

    system: openmm.System
    rigid: bool
    n_percolating: int
    drop_constraints: bool
    flexible: dict | None
    timestep_ps: float
    barostat_interval: int
    scaling_note: str = ""
    rationale: str = ""


@dataclass
class _NptBlocks:
    """What the NPT blocks produced: the density/volume series, one convergence check per block, cost."""

    times_ps: list[float] = field(default_factory=list)
    densities_g_per_cm3: list[float] = field(default_factory=list)
    volumes_nm3: list[float] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    steps: int = 0


def equilibrate_npt(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice, *,
                    temperature_K: float, pressure_bar: float, barostat_interval: int, timestep_ps: float,
                    friction_per_ps: float, block_ps: float, max_blocks: int, density_tolerance: float,
                    integrator_seed: int, barostat_seed: int, report_interval_ps: float,
                    velocity_seed: int | None = None, log: RunLog | None = None,
                    max_potential_rise_kJ_per_mol_per_atom: float = 100.0,
                    max_temperature_factor: float = 3.0,
                    barostat_scaling: str = "auto") -> tuple[openmm.State, dict]:
    """NPT (Langevin + Monte Carlo barostat) in blocks until the density converges (module notes).

    ``velocity_seed``: if given, velocities are first drawn at ``temperature_K`` (use when no heating
    preceded). ``barostat_scaling``: ``"auto"`` (molecular unless a molecule percolates), ``"molecular"``
    (refused for a percolating System) or ``"atomwise"``; atom-wise NPT of a System with constraints runs
    on its flexible copy (module notes). Returns the State at the end of the converged block (its own
    instantaneous box, satisfying the constraints of ``system``; see :func:`scale_to_volume` for the
    hand-over) and a result dict with the density series, the per-block checks, the converged mean/std
    density (g/cm^3), mean volume (nm^3), the barostat mode, whether constraints were dropped, the NPT
    time step and the rationale.

    Steps: choose the barostat scaling and the System it runs on (:func:`_npt_setup`); check the block
    gives enough density samples; add the barostat; run blocks until one passes the density rule
    (:func:`_run_blocks_until_converged`); hand the final State back to the constrained ``system``.
    """
    setup = _npt_setup(system, topology, state, barostat_scaling, timestep_ps, barostat_interval)
    block_steps = int(round(block_ps / setup.timestep_ps))
    interval = interval_steps(report_interval_ps, setup.timestep_ps)
    _check_samples_per_block(block_steps, interval, block_ps, report_interval_ps)
    add_barostat(setup.system, pressure_bar, temperature_K, setup.barostat_interval, barostat_seed,
                 scale_molecules_as_rigid=setup.rigid)
    _describe_scaling(setup, timestep_ps)
    _log(log, f"npt: barostat {setup.scaling_note}")
    integrator = openmm.LangevinMiddleIntegrator(temperature_K * unit.kelvin, friction_per_ps / unit.picosecond,
                                                 setup.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(int(integrator_seed))
    simulation = make_simulation(topology, setup.system, integrator, platform, state)
    if velocity_seed is not None:
        simulation.context.setVelocitiesToTemperature(temperature_K * unit.kelvin, int(velocity_seed))
    guard = _guard("npt", setup.system, interval, degrees_of_freedom(setup.system),
                   max_temperature_factor * temperature_K, max_potential_rise_kJ_per_mol_per_atom)
    guard.set_reference(simulation.context)
    simulation.reporters.append(guard)
    _log(log, f"npt: {pressure_bar:g} bar, {temperature_K:g} K, blocks of {block_ps:g} ps (at most {max_blocks}), "
              f"barostat every {setup.barostat_interval} steps, density tolerance {density_tolerance:g}")
    blocks = _run_blocks_until_converged(simulation, guard, setup, block_steps, interval, block_ps, max_blocks,
                                         density_tolerance, log)
    result = _npt_result(setup, blocks, block_ps=block_ps, max_blocks=max_blocks,
                         density_tolerance=density_tolerance, temperature_K=temperature_K,
                         pressure_bar=pressure_bar, barostat_scaling=barostat_scaling, barostat_seed=barostat_seed,
                         friction_per_ps=friction_per_ps, timestep_ps=timestep_ps, integrator_seed=integrator_seed)
    final_state = state_from_context(simulation.context)
    result["constraint_hand_over"] = None
    if setup.drop_constraints:
        final_state, result["constraint_hand_over"] = restore_constraints(system, topology, final_state, platform)
        _log(log, "npt: constraints re-applied for the constrained System (largest relative deviation "
                  f"{result['constraint_hand_over']['max_relative_constraint_deviation_before']:.2e} -> "
                  f"{result['constraint_hand_over']['max_relative_constraint_deviation_after']:.2e})")
    return final_state, result


def _npt_setup(system: openmm.System, topology: app.Topology, state: openmm.State, barostat_scaling: str,
               timestep_ps: float, barostat_interval: int) -> _NptSetup:
    """Molecular scaling unless a molecule percolates (or atom-wise is asked for); atom-wise scaling of a
    System with constraints runs on its flexible copy at :func:`flexible_npt_timestep_ps`."""
    if barostat_scaling not in BAROSTAT_SCALINGS:
        raise ConfigError(f"barostat_scaling {barostat_scaling!r} is not allowed; allowed: {list(BAROSTAT_SCALINGS)}")
    n_percolating = percolating_molecules(system, state.getPositions(asNumpy=True), state.getPeriodicBoxVectors())
    if barostat_scaling == "molecular" and n_percolating:
        raise SimulationError(f"barostat_scaling 'molecular' asked for, but {n_percolating} molecule(s) percolate "
                              "through the box: rigid-molecule volume moves would all be rejected")
    rigid = barostat_scaling == "molecular" or (barostat_scaling == "auto" and n_percolating == 0)
    drop_constraints = not rigid and system.getNumConstraints() > 0
    if not drop_constraints:
        return _NptSetup(openmm.XmlSerializer.clone(system), rigid, n_percolating, False, None, timestep_ps,
                         int(barostat_interval))
    npt_system, flexible = flexible_copy(system, topology)
    npt_timestep_ps = flexible_npt_timestep_ps(timestep_ps, flexible["lightest_constrained_atom_mass_amu"])
    npt_barostat_interval = max(1, int(round(barostat_interval * timestep_ps / npt_timestep_ps)))
    return _NptSetup(npt_system, rigid, n_percolating, True, flexible, npt_timestep_ps, npt_barostat_interval)


def _check_samples_per_block(block_steps: int, interval: int, block_ps: float, report_interval_ps: float) -> None:
    """The convergence rule needs MIN_DENSITY_SAMPLES_PER_BLOCK density samples in a block; ConfigError if fewer."""
    if block_steps // interval < MIN_DENSITY_SAMPLES_PER_BLOCK:
        raise ConfigError(
            f"config keys 'protocol.equilibration_duration' ({block_ps:g} ps) and 'protocol.energy_interval' "
            f"({report_interval_ps:g} ps) give {block_steps // interval} density samples per block; the "
            f"convergence rule needs at least {MIN_DENSITY_SAMPLES_PER_BLOCK}")


def _describe_scaling(setup: _NptSetup, protocol_timestep_ps: float) -> None:
    """Fill in the scaling note for the log and the rationale recorded in the report."""
    if setup.rigid:
        setup.scaling_note = "molecular centres scaled, molecules rigid (no molecule spans the box)"
        setup.rationale = RATIONALE_MOLECULAR
        return
    setup.scaling_note = (f"atom-wise scaling ({setup.n_percolating} molecule(s) percolate through the box)"
                          if setup.n_percolating else "atom-wise scaling (asked for)")
    if setup.drop_constraints:
        setup.scaling_note += (f"; {setup.flexible['constraints_removed']} constraints replaced by their harmonic "
                               f"bond terms for NPT, time step {setup.timestep_ps * 1000:g} fs (protocol "
                               f"{protocol_timestep_ps * 1000:g} fs), barostat every {setup.barostat_interval} steps")
        setup.rationale = RATIONALE_ATOMWISE_FLEXIBLE
    else:
        setup.rationale = RATIONALE_ATOMWISE_UNCONSTRAINED


def _run_blocks_until_converged(simulation: app.Simulation, guard: BlowUpGuard, setup: _NptSetup, block_steps: int,
                                interval: int, block_ps: float, max_blocks: int, density_tolerance: float,
                                log: RunLog | None) -> _NptBlocks:
    """Run NPT blocks until one passes :func:`density_convergence`; SimulationError with the densities seen if
    none of ``max_blocks`` does."""
    blocks = _NptBlocks()
    mass = total_mass_amu(setup.system)
    dof = degrees_of_freedom(setup.system)
    for block in range(1, int(max_blocks) + 1):
        check = _run_block(simulation, guard, blocks, block, block_steps, interval, mass, dof, setup.timestep_ps,
                           block_ps, density_tolerance, log)
        if check["converged"]:
            return blocks
    seen = ", ".join(f"block {c['block']}: {c['mean_g_per_cm3']:.4f} g/cm^3 (quarter change "
                     f"{c['quarter_change_relative']:.2e}, drift {c['drift_relative']:.2e}, slope zero within its "
                     f"stderr: {c['slope_zero_within_stderr']})" for c in blocks.checks)
    raise SimulationError(
        f"NPT density did not converge within protocol.equilibration_max_blocks = {max_blocks} blocks of "
        f"{block_ps:g} ps (tolerance {density_tolerance:g}); densities seen: {seen}; first/last sample "
        f"{blocks.densities_g_per_cm3[0]:.4f}/{blocks.densities_g_per_cm3[-1]:.4f} g/cm^3. Raise "
        "equilibration_max_blocks or equilibration_duration, or check the system")


def _run_block(simulation: app.Simulation, guard: BlowUpGuard, blocks: _NptBlocks, block: int, block_steps: int,
               interval: int, mass_amu: float, dof: int, timestep_ps: float, block_ps: float,
               density_tolerance: float, log: RunLog | None) -> dict:
    """Run one NPT block with a density reporter; append its samples and convergence check to ``blocks``."""
    stage = f"npt-block-{block}"
    guard.stage = stage
    progress = ProgressReporter(interval, stage, mass_amu, dof, timestep_ps, simulation.currentStep, block_steps, log)
    simulation.reporters.insert(0, progress)
    progress.start_clock(simulation.currentStep)
    blocks.wall_s += run_steps(simulation, block_steps, stage)
    blocks.steps += block_steps
    simulation.reporters.remove(progress)
    times = [r["time_ps"] for r in progress.records]
    dens = [r["density_g_per_cm3"] for r in progress.records]
    vols = [r["volume_nm3"] for r in progress.records]
    blocks.times_ps += times
    blocks.densities_g_per_cm3 += dens
    blocks.volumes_nm3 += vols
    check = density_convergence(times, dens, block_ps, density_tolerance)
    check["block"] = block
    check["volume_mean_nm3"] = float(np.mean(vols[len(vols) // 2:]))
    blocks.checks.append(check)
    _log(log, f"{stage}: density {check['mean_g_per_cm3']:.4f} +- {check['std_g_per_cm3']:.4f} g/cm^3 "
              f"(second half), quarter change {check['quarter_change_relative']:.2e}, drift "
              f"{check['drift_relative']:.2e} (tolerance {density_tolerance:g}), slope "
              f"{check['slope_g_per_cm3_per_ps']:.2e} +- {check['slope_stderr_g_per_cm3_per_ps']:.2e} g/cm^3/ps "
              f"(zero within {SLOPE_SIGNIFICANCE:g} stderr: {check['slope_zero_within_stderr']}): "
              f"{'converged' if check['converged'] else 'not converged'}")
    return check


def _npt_result(setup: _NptSetup, blocks: _NptBlocks, *, block_ps: float, max_blocks: int, density_tolerance: float,
                temperature_K: float, pressure_bar: float, barostat_scaling: str, barostat_seed: int,
                friction_per_ps: float, timestep_ps: float, integrator_seed: int) -> dict:
    """The JSON-ready NPT result: converged density and volume (second half of the last block), series, barostat."""
    converged = blocks.checks[-1]
    return {
        "converged": True,
        "blocks_used": len(blocks.checks),
        "block_ps": block_ps,
        "max_blocks": int(max_blocks),
        "convergence_rule": CONVERGENCE_RULE,
        "density_tolerance": density_tolerance,
        "slope_significance": SLOPE_SIGNIFICANCE,
        "negligible_drift_fraction": NEGLIGIBLE_DRIFT_FRACTION,
        "checks": blocks.checks,
        "density_mean_g_per_cm3": converged["mean_g_per_cm3"],
        "density_std_g_per_cm3": converged["std_g_per_cm3"],
        "volume_mean_nm3": converged["volume_mean_nm3"],
        "averaging_window": "second half of the converged block",
        "series": {"time_ps": blocks.times_ps, "density_g_per_cm3": blocks.densities_g_per_cm3,
                   "volume_nm3": blocks.volumes_nm3},
        "temperature_K": temperature_K,
        "pressure_bar": pressure_bar,
        "barostat": {"type": "MonteCarloBarostat", "mode": "molecular" if setup.rigid else "atomwise",
                     "requested_scaling": barostat_scaling,
                     "interval_steps": int(setup.barostat_interval),
                     "interval_ps": setup.barostat_interval * setup.timestep_ps,
                     "scale_molecules_as_rigid": setup.rigid, "percolating_molecules": setup.n_percolating,
                     "constraints_dropped_for_npt": setup.drop_constraints,
                     "constraints_dropped": setup.flexible["constraints_removed"] if setup.flexible else 0,
                     "scaling": setup.scaling_note, "rationale": setup.rationale, "seed": int(barostat_seed)},
        "constraints_dropped_for_npt": setup.drop_constraints,
        "flexible_copy": setup.flexible,
        "friction_per_ps": friction_per_ps,
        "timestep_ps": setup.timestep_ps,
        "protocol_timestep_ps": timestep_ps,
        "timestep_rule": FLEXIBLE_TIMESTEP_RULE if setup.drop_constraints else "protocol time step",
        "integrator_seed": int(integrator_seed),
        "steps": blocks.steps,
        "ns_per_day": ns_per_day(blocks.steps, setup.timestep_ps, blocks.wall_s),
        "wall_time_s": blocks.wall_s,
    }


def scale_to_volume(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice,
                    volume_nm3: float) -> tuple[openmm.State, dict]:
    """Scale box and positions isotropically (atom-wise) to ``volume_nm3``; re-apply constraints.

    Positions are constrained with ``applyConstraints`` and velocities with ``applyVelocityConstraints``
    (the State may come from a flexible NPT run, see :func:`equilibrate_npt`). Velocities, time and step
    count are kept. Returns the new State, the scale factor applied and the largest relative constraint
    deviation left.
    """
    simulation = make_simulation(topology, system, openmm.VerletIntegrator(0.001), platform, state)
    context = simulation.context
    box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer)
    old_volume = box_volume_nm3(box)
    factor = (volume_nm3 / old_volume) ** (1.0 / 3.0)
    positions = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer) * factor
    new_box = box * factor
    context.setPeriodicBoxVectors(*(openmm.Vec3(*row) for row in new_box))
    context.setPositions(positions)
    context.applyConstraints(CONSTRAINT_TOLERANCE)
    context.applyVelocityConstraints(CONSTRAINT_TOLERANCE)
    energy = _potential(context)
    if not np.isfinite(energy):
        raise SimulationError(f"scaling the box to the mean volume {volume_nm3:.6g} nm^3 gave a non-finite energy")
    new_state = state_from_context(context)
    deviation = _constraint_deviation(system, new_state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    return new_state, {"volume_before_nm3": old_volume, "volume_after_nm3": volume_nm3,
                       "length_scale_factor": factor, "potential_energy_kJ_per_mol": energy,
                       "max_relative_constraint_deviation": deviation}


def run_equilibration(system: openmm.System, topology: app.Topology, state: openmm.State, settings,
                      platform: PlatformChoice, log: RunLog | None = None) -> tuple[openmm.State, dict]:
    """Minimise -> heat -> NPT until converged -> box to the mean volume, from a SimulationSettings.

    ``system`` must carry no barostat (the CLI removes any). Returns the production-ready State and a
    result dict with one entry per stage.
    """
    p = settings.protocol
    guard_kwargs = dict(max_potential_rise_kJ_per_mol_per_atom=settings.blowup_max_potential_rise_kJ_per_mol_per_atom,
                        max_temperature_factor=settings.blowup_max_temperature_factor)
    state, minimisation = minimise(system, topology, state, platform, max_iterations=p.minimise_max_iterations,
                                   tolerance_kJ_per_mol_per_nm=settings.minimise_tolerance_kJ_per_mol_per_nm, log=log)
    heating = None
    if p.steps(p.heating_duration_ps) > 0:
        state, heating = heat(system, topology, state, platform,
                              start_temperature_K=p.heating_start_temperature_K, temperature_K=settings.temperature_K,
                              duration_ps=p.heating_duration_ps, timestep_ps=p.timestep_ps,
                              friction_per_ps=p.friction_per_ps, n_stages=settings.heating_stages,
                              integrator_seed=settings.seed_for("heat-integrator"),
                              velocity_seed=settings.seed_for("heat-velocities"),
                              report_interval_ps=p.energy_interval_ps, log=log, **guard_kwargs)
    state, npt = equilibrate_npt(system, topology, state, platform, temperature_K=settings.temperature_K,
                                 pressure_bar=settings.pressure_bar, barostat_interval=p.barostat_interval,
                                 timestep_ps=p.timestep_ps, friction_per_ps=p.friction_per_ps,
                                 block_ps=p.equilibration_duration_ps, max_blocks=p.equilibration_max_blocks,
                                 density_tolerance=p.density_tolerance,
                                 integrator_seed=settings.seed_for("npt-integrator"),
                                 barostat_seed=settings.seed_for("npt-barostat"),
                                 velocity_seed=None if heating else settings.seed_for("npt-velocities"),
                                 report_interval_ps=p.energy_interval_ps, log=log, **guard_kwargs)
    state, scaling = scale_to_volume(system, topology, state, platform, npt["volume_mean_nm3"])
    _log(log, f"npt: converged after {npt['blocks_used']} block(s): density {npt['density_mean_g_per_cm3']:.4f} +- "
              f"{npt['density_std_g_per_cm3']:.4f} g/cm^3; box set to the mean volume {npt['volume_mean_nm3']:.5g} nm^3 "
              f"(length x {scaling['length_scale_factor']:.5f})")
    return state, {"minimisation": minimisation, "heating": heating, "npt": npt, "volume_scaling": scaling}
