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
    in blocks of ``block_ps``. After each block the density
    convergence rule (:func:`density_convergence`) is applied to *that block's* density samples
    (one every ``report_interval_ps``):

    - the mean densities of the block's third and fourth quarters differ by less than ``tolerance``
      (relative to the mean of the second half), and
    - the drift over the second half — the slope of a least-squares line through the second half's
      densities times the second half's duration (``block_ps / 2``) — is below ``tolerance`` (relative).

    If both hold the block is converged; otherwise another block is run, up to ``max_blocks``, and then
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

import numpy as np
import openmm
from openmm import app, unit

from common.errors import ConfigError, SimulationError
from simulation.platform import PlatformChoice
from simulation.reporters import BlowUpGuard, ProgressReporter, RunLog, interval_steps
from simulation.runner import make_simulation, ns_per_day, run_steps
from simulation.state_io import state_from_context
from simulation.system_prep import (add_barostat, box_volume_nm3, degrees_of_freedom, percolating_molecules,
                                    total_mass_amu)

MIN_DENSITY_SAMPLES_PER_BLOCK = 8
CONSTRAINT_TOLERANCE = 1e-6
CONVERGENCE_RULE = (
    "a block is converged when |mean(Q4) - mean(Q3)| / mean(H2) < tol and |slope(H2)| * (block/2) / mean(H2) "
    "< tol, where Q3, Q4 are the block's third and fourth quarters of density samples, H2 its second half, "
    "slope the least-squares slope of density against time over H2; density and volume are then averaged "
    "over H2 of the converged block")


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
    try:
        simulation.minimizeEnergy(tolerance=tolerance_kJ_per_mol_per_nm * unit.kilojoule_per_mole / unit.nanometer,
                                  maxIterations=int(max_iterations))
    except openmm.OpenMMException as exc:
        raise SimulationError(f"energy minimisation failed (initial potential energy {initial:.6g} kJ/mol): "
                              f"{str(exc).strip()}") from exc
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
        "final_instantaneous_temperature_K": 2 * kinetic / (dof * 0.00831446261815324),
        "integrator_seed": int(integrator_seed),
        "velocity_seed": int(velocity_seed),
        "ns_per_day": ns_per_day(n_steps, timestep_ps, wall),
        "wall_time_s": wall,
    }
    _log(log, f"heat: done, instantaneous temperature {result['final_instantaneous_temperature_K']:.1f} K, "
              f"{result['ns_per_day']:.3g} ns/day")
    return state_from_context(context), result


def density_convergence(times_ps, densities, block_ps: float, tolerance: float) -> dict:
    """Apply the density convergence rule (module notes) to one block's samples.

    Returns ``converged`` and the numbers behind it: relative change between the last two quarters,
    relative drift over the second half, the slope (g/cm^3/ps), and mean/std/count of the second half.
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
    slope = float(np.polyfit(t_half, d_half, 1)[0]) if np.ptp(t_half) > 0 else 0.0
    drift = abs(slope) * (block_ps / 2.0) / reference
    return {
        "converged": bool(quarter_change < tolerance and drift < tolerance),
        "quarter_change_relative": quarter_change,
        "drift_relative": drift,
        "slope_g_per_cm3_per_ps": slope,
        "tolerance": tolerance,
        "mean_g_per_cm3": reference,
        "std_g_per_cm3": float(np.std(d_half, ddof=1)) if len(d_half) > 1 else 0.0,
        "n_samples": int(len(d_half)),
    }


def equilibrate_npt(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice, *,
                    temperature_K: float, pressure_bar: float, barostat_interval: int, timestep_ps: float,
                    friction_per_ps: float, block_ps: float, max_blocks: int, density_tolerance: float,
                    integrator_seed: int, barostat_seed: int, report_interval_ps: float,
                    velocity_seed: int | None = None, log: RunLog | None = None,
                    max_potential_rise_kJ_per_mol_per_atom: float = 100.0,
                    max_temperature_factor: float = 3.0) -> tuple[openmm.State, dict]:
    """NPT (Langevin + Monte Carlo barostat) in blocks until the density converges (module notes).

    ``velocity_seed``: if given, velocities are first drawn at ``temperature_K`` (use when no heating
    preceded). Returns the State at the end of the converged block (its own instantaneous box; see
    :func:`scale_to_volume` for the hand-over) and a result dict with the density series, the per-block
    checks, the converged mean/std density (g/cm^3) and mean volume (nm^3).
    """
    block_steps = int(round(block_ps / timestep_ps))
    interval = interval_steps(report_interval_ps, timestep_ps)
    if block_steps // interval < MIN_DENSITY_SAMPLES_PER_BLOCK:
        raise ConfigError(
            f"config keys 'protocol.equilibration_duration' ({block_ps:g} ps) and 'protocol.energy_interval' "
            f"({report_interval_ps:g} ps) give {block_steps // interval} density samples per block; the "
            f"convergence rule needs at least {MIN_DENSITY_SAMPLES_PER_BLOCK}")
    npt_system = openmm.XmlSerializer.clone(system)
    n_percolating = percolating_molecules(system, state.getPositions(asNumpy=True), state.getPeriodicBoxVectors())
    rigid = n_percolating == 0
    add_barostat(npt_system, pressure_bar, temperature_K, barostat_interval, barostat_seed,
                 scale_molecules_as_rigid=rigid)
    scaling_note = ("molecular centres scaled, molecules rigid (no molecule spans the box)" if rigid else
                    f"atom-wise scaling: {n_percolating} molecule(s) percolate through the box; with constraints this "
                    "move is biased towards low density (simulation.system_prep notes)")
    _log(log, f"npt: barostat {scaling_note}")
    integrator = openmm.LangevinMiddleIntegrator(temperature_K * unit.kelvin, friction_per_ps / unit.picosecond,
                                                 timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(int(integrator_seed))
    simulation = make_simulation(topology, npt_system, integrator, platform, state)
    context = simulation.context
    if velocity_seed is not None:
        context.setVelocitiesToTemperature(temperature_K * unit.kelvin, int(velocity_seed))
    mass = total_mass_amu(npt_system)
    dof = degrees_of_freedom(npt_system)
    guard = _guard("npt", npt_system, interval, dof, max_temperature_factor * temperature_K,
                   max_potential_rise_kJ_per_mol_per_atom)
    guard.set_reference(context)
    simulation.reporters.append(guard)
    _log(log, f"npt: {pressure_bar:g} bar, {temperature_K:g} K, blocks of {block_ps:g} ps (at most {max_blocks}), "
              f"barostat every {barostat_interval} steps, density tolerance {density_tolerance:g}")
    series_t: list[float] = []
    series_d: list[float] = []
    series_v: list[float] = []
    checks = []
    wall = 0.0
    steps_run = 0
    for block in range(1, int(max_blocks) + 1):
        stage = f"npt-block-{block}"
        guard.stage = stage
        progress = ProgressReporter(interval, stage, mass, dof, timestep_ps, simulation.currentStep, block_steps, log)
        simulation.reporters.insert(0, progress)
        progress.start_clock(simulation.currentStep)
        wall += run_steps(simulation, block_steps, stage)
        steps_run += block_steps
        simulation.reporters.remove(progress)
        times = [r["time_ps"] for r in progress.records]
        dens = [r["density_g_per_cm3"] for r in progress.records]
        vols = [r["volume_nm3"] for r in progress.records]
        series_t += times
        series_d += dens
        series_v += vols
        check = density_convergence(times, dens, block_ps, density_tolerance)
        check["block"] = block
        check["volume_mean_nm3"] = float(np.mean(vols[len(vols) // 2:]))
        checks.append(check)
        _log(log, f"{stage}: density {check['mean_g_per_cm3']:.4f} +- {check['std_g_per_cm3']:.4f} g/cm^3 "
                  f"(second half), quarter change {check['quarter_change_relative']:.2e}, drift "
                  f"{check['drift_relative']:.2e} (tolerance {density_tolerance:g}): "
                  f"{'converged' if check['converged'] else 'not converged'}")
        if check["converged"]:
            break
    else:
        seen = ", ".join(f"block {c['block']}: {c['mean_g_per_cm3']:.4f} g/cm^3 (quarter change "
                         f"{c['quarter_change_relative']:.2e}, drift {c['drift_relative']:.2e})" for c in checks)
        raise SimulationError(
            f"NPT density did not converge within protocol.equilibration_max_blocks = {max_blocks} blocks of "
            f"{block_ps:g} ps (tolerance {density_tolerance:g}); densities seen: {seen}; first/last sample "
            f"{series_d[0]:.4f}/{series_d[-1]:.4f} g/cm^3. Raise equilibration_max_blocks or "
            "equilibration_duration, or check the system")
    converged = checks[-1]
    result = {
        "converged": True,
        "blocks_used": len(checks),
        "block_ps": block_ps,
        "max_blocks": int(max_blocks),
        "convergence_rule": CONVERGENCE_RULE,
        "density_tolerance": density_tolerance,
        "checks": checks,
        "density_mean_g_per_cm3": converged["mean_g_per_cm3"],
        "density_std_g_per_cm3": converged["std_g_per_cm3"],
        "volume_mean_nm3": converged["volume_mean_nm3"],
        "averaging_window": "second half of the converged block",
        "series": {"time_ps": series_t, "density_g_per_cm3": series_d, "volume_nm3": series_v},
        "temperature_K": temperature_K,
        "pressure_bar": pressure_bar,
        "barostat": {"type": "MonteCarloBarostat", "interval_steps": int(barostat_interval),
                     "scale_molecules_as_rigid": rigid, "percolating_molecules": n_percolating,
                     "scaling": scaling_note, "seed": int(barostat_seed)},
        "friction_per_ps": friction_per_ps,
        "timestep_ps": timestep_ps,
        "integrator_seed": int(integrator_seed),
        "steps": steps_run,
        "ns_per_day": ns_per_day(steps_run, timestep_ps, wall),
        "wall_time_s": wall,
    }
    return state_from_context(context), result


def scale_to_volume(system: openmm.System, topology: app.Topology, state: openmm.State, platform: PlatformChoice,
                    volume_nm3: float) -> tuple[openmm.State, dict]:
    """Scale box and positions isotropically (atom-wise) to ``volume_nm3``; re-apply constraints.

    Velocities, time and step count are kept. Returns the new State and the scale factor applied.
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
    return state_from_context(context), {"volume_before_nm3": old_volume, "volume_after_nm3": volume_nm3,
                                         "length_scale_factor": factor, "potential_energy_kJ_per_mol": energy}


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
