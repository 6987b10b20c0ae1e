"""A Simulation on the chosen platform, stepped with loud failures.

OpenMM signals a blown-up system in several ways: NaN coordinates detected by the platform
(``OpenMMException: Particle coordinate is NaN``), a constraint solver that cannot converge, or a
``ValueError`` from a trajectory writer. :func:`run_steps` turns all of them into a
:class:`common.errors.SimulationError` that names the stage and the step reached, like the
:class:`simulation.reporters.BlowUpGuard` does for what it detects itself.
"""

from __future__ import annotations

import time

import openmm
from openmm import app

from common.errors import SimulationError
from simulation.platform import PlatformChoice
from simulation.state_io import apply_state


def make_simulation(topology: app.Topology, system: openmm.System, integrator: openmm.Integrator,
                    platform: PlatformChoice, state: openmm.State | None = None) -> app.Simulation:
    """An ``app.Simulation`` on ``platform``; ``state`` (if given) is loaded with
    :func:`simulation.state_io.apply_state` (parameters the System lacks, e.g. a removed barostat's, are
    skipped)."""
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


def ns_per_day(n_steps: int, timestep_ps: float, wall_s: float) -> float:
    """Simulated nanoseconds per wall-clock day."""
    return (n_steps * timestep_ps / 1000.0) / (wall_s / 86400.0) if wall_s > 0 else float("nan")
