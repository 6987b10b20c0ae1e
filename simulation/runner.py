"""A Simulation on the chosen platform, minimised and stepped with loud failures.

OpenMM signals a blown-up system in several ways: NaN coordinates detected by the platform
(``OpenMMException: Particle coordinate is NaN``), a constraint solver that cannot converge, or a
``ValueError`` from a trajectory writer. :func:`run_steps` turns all of them into a
:class:`common.errors.SimulationError` that names the stage and the step reached, like the
:class:`simulation.reporters.BlowUpGuard` does for what it detects itself; :func:`minimise_in_place` does the
same for L-BFGS. The stages of :mod:`simulation.protocol` and the network builder's relaxations
(``systems.network.relax``) all run through these functions.
"""

from __future__ import annotations

import time

import openmm
from openmm import app, unit

from common.errors import SimulationError
from simulation.platform import PlatformChoice
from simulation.state_io import apply_state


def make_simulation(topology: app.Topology | None, system: openmm.System, integrator: openmm.Integrator,
                    platform: PlatformChoice, state: openmm.State | None = None) -> app.Simulation:
    """An ``app.Simulation`` on ``platform`` (with its properties); ``state`` (if given) is loaded with
    :func:`simulation.state_io.apply_state` (parameters the System lacks, e.g. a removed barostat's, are
    skipped). ``topology`` may be None when no reporter needs one (only trajectory writers do)."""
    try:
        simulation = app.Simulation(topology, system, integrator, platform.platform, platform.properties)
    except Exception as exc:
        raise SimulationError(f"cannot create an OpenMM Context on platform {platform.name} with properties "
                              f"{platform.properties}: {str(exc).strip()}") from exc
    if state is not None:
        apply_state(simulation.context, state)
    return simulation


def run_steps(simulation: app.Simulation, n_steps: int, stage: str) -> float:
    """Integrate ``n_steps`` steps; return the wall-clock seconds taken. Failures -> SimulationError."""
    start = time.perf_counter()
    if n_steps <= 0:
        return 0.0
    try:
        simulation.step(int(n_steps))
    except SimulationError:
        raise
    except (openmm.OpenMMException, ValueError) as exc:
        raise SimulationError(f"simulation failed in stage '{stage}' at step {simulation.currentStep}: "
                              f"{str(exc).strip()}") from exc
    return time.perf_counter() - start


def minimise_in_place(simulation: app.Simulation, tolerance_kJ_per_mol_per_nm: float, max_iterations: int,
                      stage: str) -> None:
    """L-BFGS (OpenMM's ``LocalEnergyMinimizer``) on the Simulation's own Context, until the RMS force is below
    ``tolerance_kJ_per_mol_per_nm`` or after ``max_iterations`` (0: no limit). An OpenMM failure (e.g. a
    constraint that cannot be satisfied) becomes a SimulationError naming ``stage``."""
    try:
        simulation.minimizeEnergy(tolerance=tolerance_kJ_per_mol_per_nm * unit.kilojoule_per_mole / unit.nanometer,
                                  maxIterations=int(max_iterations))
    except openmm.OpenMMException as exc:
        raise SimulationError(f"energy minimisation failed in {stage}: {str(exc).strip()}") from exc


def ns_per_day(n_steps: int, timestep_ps: float, wall_s: float) -> float:
    """Simulated nanoseconds per wall-clock day."""
    return (n_steps * timestep_ps / 1000.0) / (wall_s / 86400.0) if wall_s > 0 else float("nan")
