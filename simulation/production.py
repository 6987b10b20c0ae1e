"""Chunked, checkpointed, resumable NVT production.

Physics
    NVT at the equilibrated volume with a low-friction ``LangevinMiddleIntegrator``
    (``protocol.production_friction_per_ps``, 0.1/ps by default): weak coupling keeps the dynamics close
    to Newtonian, so diffusion coefficients and conductivities are not damped measurably, while the
    temperature stays controlled over long runs. Any barostat in the System is removed. Time and step
    count restart at 0 at the beginning of production.

Outputs (in ``out_dir``, all appear only at the very end)
    ``trajectory.dcd`` or, with ``protocol.trajectory_format: xtc``, ``trajectory.xtc`` (frames every ``trajectory_interval_ps``, frame k at t = (k + 1) x interval, positions
    *not* wrapped into the box, so per-atom coordinates are continuous for MSDs), ``energies.csv``
    (progress/energy rows every ``energy_interval_ps``), ``final_state.xml`` (portable State),
    ``system.xml`` (the System that ran), and ``production.json`` (summary) written last: a folder without
    ``production.json`` is not a finished run. ``production.json`` of a previous run is deleted when a run
    starts.

Resumability (design choice: one growing DCD in a work folder, cut back on resume)
    All in-progress files live in a work folder (default: ``<out_dir>.work`` beside ``out_dir``, as the
    workflow also uses it, so a workflow manager that deletes the declared outputs of a failed job does
    not delete it; a work folder inside ``out_dir`` also works). The work
    folder must not be ``out_dir`` itself (the products would collide with their in-progress versions). The run is cut
    into chunks of ``production_chunk_ps`` (a whole number of frame intervals, checked by the config).
    After each chunk: the DCD and CSV are flushed and fsync'ed, then a checkpoint
    (``Simulation``-style ``Context.createCheckpoint``: exact continuation including the random-number
    state) and a portable State XML are written atomically, then ``progress.json`` (chunks, steps, frames
    and CSV rows done, the checkpoint's name) is written atomically; the previous checkpoint is deleted
    only after that. A run killed at any moment therefore has a ``progress.json`` pointing at a complete
    checkpoint, and a DCD/CSV holding *at least* the frames/rows it records. On resume the DCD is truncated
    to exactly that frame count and its header (frame count, last step) rewritten
    (:func:`common.dcd.truncate`; an XTC, which has no header count, is cut after its last complete
    recorded frame by walking the frame headers, :func:`common.xtc.truncate`), CSV rows after the checkpoint step are dropped, and the run goes on
    from the checkpoint: no frame is lost or duplicated. If the checkpoint cannot be loaded (other
    platform, GPU or OpenMM version) the State XML of the same chunk is used instead (same frames, new
    random numbers), and the log says so. ``progress.json`` carries a fingerprint of the inputs (System,
    State, settings); a work folder from different inputs is discarded and the run starts over.

    One file per chunk joined at the end was the alternative; it was not chosen because the join copies
    the whole trajectory once more at the end of every run, while truncation touches only the header and
    the tail, and the final move into ``out_dir`` is an atomic rename.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from common.errors import SimulationError
from common.io import atomic_path, write_json_atomic
from common import dcd, xtc
from simulation.platform import PlatformChoice
from simulation.reporters import (PROGRESS_COLUMNS, BlowUpGuard, ProgressReporter, RunLog, interval_steps,
                                  trajectory_reporter)
from simulation.runner import make_simulation, ns_per_day, run_steps
from simulation.state_io import apply_state, read_state, state_from_context, write_state, write_system
from simulation.system_prep import (box_volume_nm3, degrees_of_freedom, density_g_per_cm3, remove_barostats,
                                    total_mass_amu)

TRAJECTORY = "trajectory.dcd"  # protocol.trajectory_format dcd (default); trajectory.xtc for xtc
TRAJECTORIES = {"dcd": "trajectory.dcd", "xtc": "trajectory.xtc"}
ENERGIES = "energies.csv"
FINAL_STATE = "final_state.xml"  # the names the workflow's produce rule declares
SYSTEM = "system.xml"
SUMMARY = "production.json"
PROGRESS = "progress.json"
PRODUCTS = (TRAJECTORY, ENERGIES, FINAL_STATE, SYSTEM)  # of a DCD run; see products()
ALL_PRODUCTS = (*TRAJECTORIES.values(), ENERGIES, FINAL_STATE, SYSTEM)
PROGRESS_SCHEMA = "gelmd.simulation.production-progress/1"
SUMMARY_SCHEMA = "gelmd.simulation.production/1"
_WORK_FILE = re.compile(r"^(checkpoint_\d+\.chk|state_\d+\.xml|progress\.json|trajectory\.(dcd|xtc)|energies\.csv|"
                        r"final_state\.xml|system\.xml|\..*\.part)$")


def trajectory_name(settings) -> str:
    """``trajectory.dcd`` or ``trajectory.xtc`` (``protocol.trajectory_format``)."""
    return TRAJECTORIES[getattr(settings.protocol, "trajectory_format", "dcd")]


def products(trajectory: str) -> tuple[str, ...]:
    """The files a finished run hands over, trajectory first."""
    return (trajectory, ENERGIES, FINAL_STATE, SYSTEM)


def trajectory_frames(path: Path) -> tuple[int, int]:
    """(frames the header says, complete frames) of a DCD; (complete, complete) of an XTC (no header count)."""
    if path.suffix == ".xtc":
        n = xtc.count_frames(path)
        return n, n
    header = dcd.read_header(path)
    return header.n_frames_header, header.n_complete_frames


def cut_trajectory(path: Path, n_frames: int) -> None:
    """Cut a DCD or XTC back to exactly ``n_frames`` frames (resume)."""
    (xtc.truncate if path.suffix == ".xtc" else dcd.truncate)(path, n_frames)


def default_work_dir(out_dir: str | Path) -> Path:
    """``<out_dir>.work``: beside the output folder, never inside it."""
    out_dir = Path(out_dir)
    return out_dir.with_name(out_dir.name + ".work")


def input_fingerprint(system: openmm.System, state: openmm.State, settings) -> str:
    """SHA-256 over the System XML, State XML and settings JSON: which inputs a work folder belongs to."""
    digest = hashlib.sha256()
    for text in (openmm.XmlSerializer.serialize(system), openmm.XmlSerializer.serialize(state), settings.to_json()):
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _fsync_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _write_progress(work: Path, progress: dict) -> None:
    with atomic_path(work / PROGRESS) as tmp:
        with open(tmp, "w") as handle:
            handle.write(json.dumps(progress, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read_progress(work: Path) -> dict | None:
    path = work / PROGRESS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return data if data.get("schema") == PROGRESS_SCHEMA else None


def _clear_work(work: Path, keep: set[str] = frozenset()) -> None:
    """Delete the files this module writes in the work folder (nothing else)."""
    if not work.is_dir():
        return
    for entry in work.iterdir():
        if entry.is_file() and entry.name not in keep and _WORK_FILE.match(entry.name):
            entry.unlink()


def truncate_csv_rows(path: Path, max_step: int) -> int:
    """Keep the header and the complete rows with ``step <= max_step``; returns the rows kept."""
    if not path.exists():
        return 0
    kept: list[str] = []
    n_columns = len(PROGRESS_COLUMNS)
    step_column = PROGRESS_COLUMNS.index("step")
    with open(path, newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    header = ",".join(PROGRESS_COLUMNS) + "\n"
    for line in lines:
        if not line.endswith("\n") or line == header:
            continue
        fields = next(csv.reader([line]))
        if len(fields) != n_columns:
            continue
        try:
            step = int(fields[step_column])
        except ValueError:
            continue
        if step <= max_step:
            kept.append(line)
    with atomic_path(path) as tmp:
        tmp.write_text(header + "".join(kept))
    return len(kept)


def _format_duration(seconds: float) -> str:
    """``1h02m03s`` / ``2m03s`` / ``4.1s`` for log messages."""
    seconds = max(float(seconds), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _move_into(source: Path, destination: Path) -> None:
    """Rename ``source`` onto ``destination`` (atomic on one filesystem; copy + rename across them)."""
    try:
        os.replace(source, destination)
    except OSError:
        with atomic_path(destination) as tmp:
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 24):
                    dst.write(chunk)
        source.unlink()


class _Plan:
    """Step arithmetic of one production run."""

    def __init__(self, protocol):
        self.timestep_ps = protocol.timestep_ps
        self.total_steps = protocol.steps(protocol.production_duration_ps)
        self.chunk_steps = max(1, protocol.steps(protocol.production_chunk_ps))
        self.frame_steps = interval_steps(protocol.trajectory_interval_ps, protocol.timestep_ps)
        self.energy_steps = interval_steps(protocol.energy_interval_ps, protocol.timestep_ps)
        self.n_chunks = -(-self.total_steps // self.chunk_steps)
        self.trajectory_format = getattr(protocol, "trajectory_format", "dcd")
        self.trajectory = TRAJECTORIES[self.trajectory_format]

    def steps_after(self, chunks: int) -> int:
        return min(chunks * self.chunk_steps, self.total_steps)

    def frames_at(self, step: int) -> int:
        return step // self.frame_steps

    def rows_at(self, step: int) -> int:
        return step // self.energy_steps


@dataclass(frozen=True)
class _Run:
    """What stays fixed during one production run: settings, step plan, platform, folders, log, identity."""

    settings: object  # simulation.settings.SimulationSettings
    plan: _Plan
    platform: PlatformChoice
    out: Path
    work: Path
    log: RunLog
    replica: int
    fingerprint: str
    integrator_seed: int
    mass_amu: float  # of the System, summed once per run (a per-particle Python loop)
    dof: int


def run_production(system: openmm.System, topology: app.Topology, state: openmm.State, settings,
                   platform: PlatformChoice, out_dir: str | Path, work_dir: str | Path | None = None,
                   log: RunLog | None = None, inputs: dict | None = None, replica: int = 1) -> dict:
    """Run (or resume) production; returns the summary also written to ``out_dir/production.json``.

    ``replica`` k > 1 is an independent run from the same State: velocities redrawn and thermostat noise
    from seeds of their own (``production-velocities-replica-k``, ``production-integrator-replica-k``).

    ``system`` should already carry the hydrogen masses wanted (see :mod:`simulation.system_prep`); a copy
    without barostats is simulated. ``inputs`` (e.g. input file paths) is recorded in the summary.

    Steps (module notes): prepare the folders; find the work folder's progress (discarded when it belongs
    to other inputs); finish an interrupted hand-over, or start afresh / resume from the last chunk; run the
    remaining chunks, each closed by fsync'ed outputs, a checkpoint and then ``progress.json``; write the
    final State, System and summary into the work folder; hand the products over to ``out_dir`` and write
    ``production.json`` last.
    """
    out, work = _prepare_folders(out_dir, work_dir)
    log = log or RunLog(None)
    plan = _Plan(settings.protocol)
    if plan.total_steps <= 0:
        raise SimulationError(f"protocol.production_duration {settings.protocol.production_duration_ps:g} ps "
                              "gives no steps")
    system = _nvt_copy(system, log)
    if replica < 1:
        raise SimulationError(f"production replica number {replica} is not allowed; replicas count from 1")
    fingerprint = input_fingerprint(system, state, settings) + _replica_suffix(replica)
    progress = _progress_to_continue(out, work, fingerprint, log)
    if progress is not None and progress.get("finalising"):
        log.message("production: all chunks were done; finishing the interrupted hand-over of the outputs")
        return _finalise(out, work, progress, log)

    run = _Run(settings, plan, platform, out, work, log, replica, fingerprint,
               integrator_seed=settings.seed_for("production-integrator" + _replica_suffix(replica)),
               mass_amu=total_mass_amu(system), dof=degrees_of_freedom(system))
    integrator = _production_integrator(settings, run.integrator_seed)
    if progress is None:
        simulation = make_simulation(topology, system, integrator, platform, state)
        progress = _start_fresh(simulation, run)
        append_trajectory = False
    else:
        simulation = make_simulation(topology, system, integrator, platform, None)
        _resume(simulation, run, progress)
        append_trajectory = progress["frames_written"] > 0
    _run_chunks(simulation, system, topology, run, progress, append_trajectory)

    volume = _write_final_state_and_system(simulation, system, work)
    progress["finalising"] = True
    progress["summary"] = _summary(run, system, volume, progress, inputs)
    _write_progress(work, progress)
    return _finalise(out, work, progress, log)


def _prepare_folders(out_dir: str | Path, work_dir: str | Path | None) -> tuple[Path, Path]:
    """Create the output and work folders (never the same one); delete a previous run's production.json."""
    out = Path(out_dir)
    work = Path(work_dir) if work_dir is not None else default_work_dir(out)
    if work.resolve() == out.resolve():
        raise SimulationError(f"the production work folder {str(work)!r} must not be the output folder itself")
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY).unlink(missing_ok=True)
    return out, work


def _nvt_copy(system: openmm.System, log: RunLog) -> openmm.System:
    """A copy of ``system`` without barostats: production is NVT at the equilibrated volume."""
    system = openmm.XmlSerializer.clone(system)
    n_removed = remove_barostats(system)
    if n_removed:
        log.message(f"production: removed {n_removed} barostat(s) from the System: production is NVT")
    return system


def _replica_suffix(replica: int) -> str:
    """``""`` for replica 1 (the historical seeds and fingerprint), ``"-replica-k"`` for replica k > 1."""
    return "" if replica == 1 else f"-replica-{replica}"


def _progress_to_continue(out: Path, work: Path, fingerprint: str, log: RunLog) -> dict | None:
    """The work folder's progress record if it belongs to these inputs, else None after clearing old products.

    Starting over deletes the products in ``out`` and every file of ours in the work folder; continuing
    keeps only the files the progress record points at (and the products being handed over).
    """
    progress = _read_progress(work)
    if progress is not None and progress.get("fingerprint") != fingerprint:
        log.message(f"production: work folder {str(work)!r} belongs to other inputs; starting over")
        progress = None
    if progress is None:
        for name in ALL_PRODUCTS:
            (out / name).unlink(missing_ok=True)
        _clear_work(work)
    else:
        _clear_work(work, keep={PROGRESS, progress["checkpoint"], progress["state"], *ALL_PRODUCTS})
    return progress


def _production_integrator(settings, seed: int) -> openmm.LangevinMiddleIntegrator:
    """Low-friction Langevin (``production_friction_per_ps``, 1/ps) at ``temperature_K``: weak coupling."""
    p = settings.protocol
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K * unit.kelvin,
                                                 p.production_friction_per_ps / unit.picosecond,
                                                 p.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(seed)
    return integrator


def _start_fresh(simulation: app.Simulation, run: _Run) -> dict:
    """Step and time to 0, velocities drawn where needed; returns the new progress record (nothing done)."""
    context = simulation.context
    context.setStepCount(0)
    context.setTime(0.0)
    velocity_seed = _draw_velocities_if_needed(context, run)
    plan, p, settings = run.plan, run.settings.protocol, run.settings
    run.log.message(f"production: NVT {plan.total_steps * p.timestep_ps:g} ps ({plan.total_steps} steps) in "
                    f"{plan.n_chunks} chunks, Langevin friction {p.production_friction_per_ps:g}/ps at "
                    f"{settings.temperature_K:g} K, frames every {plan.frame_steps} steps, platform "
                    f"{run.platform.name}; work folder {str(run.work)!r}")
    return {
        "schema": PROGRESS_SCHEMA, "fingerprint": run.fingerprint, "chunks_done": 0, "steps_done": 0,
        "frames_written": 0, "energy_rows_written": 0, "checkpoint": "", "state": "",
        "total_steps": plan.total_steps, "chunk_steps": plan.chunk_steps, "frame_steps": plan.frame_steps,
        "energy_steps": plan.energy_steps, "n_chunks": plan.n_chunks, "resumes": [], "finalising": False,
        "stepping_wall_s": 0.0, "platform": run.platform.description, "velocity_seed": velocity_seed,
        "integrator_seed": run.integrator_seed,
    }


def _draw_velocities_if_needed(context: openmm.Context, run: _Run) -> int | None:
    """Maxwell-Boltzmann velocities at ``temperature_K`` for replica k > 1 or a State without velocities.

    Returns the seed used, or None when the State's velocities were kept (replica 1 continues the
    equilibration's dynamics).
    """
    velocities = state_from_context(context).getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond)
    if run.replica == 1 and np.any(velocities):
        return None
    temperature_K = run.settings.temperature_K
    velocity_seed = run.settings.seed_for("production-velocities" + _replica_suffix(run.replica))
    context.setVelocitiesToTemperature(temperature_K * unit.kelvin, velocity_seed)
    why = f"replica {run.replica}" if run.replica > 1 else "the input State has no velocities"
    run.log.message(f"production: {why}; velocities drawn at {temperature_K:g} K")
    return velocity_seed


def _resume(simulation: app.Simulation, run: _Run, progress: dict) -> None:
    """Restore the last chunk and cut the DCD and CSV back to exactly what that chunk recorded."""
    work = run.work
    how = _restore(simulation, work, progress, run.log)
    if simulation.currentStep != progress["steps_done"]:
        raise SimulationError(f"production resume: the restored step {simulation.currentStep} is not the "
                              f"{progress['steps_done']} steps recorded in {str(work / PROGRESS)!r}")
    trajectory = work / run.plan.trajectory
    if progress["frames_written"]:
        cut_trajectory(trajectory, progress["frames_written"])
    else:
        trajectory.unlink(missing_ok=True)
    rows = truncate_csv_rows(work / ENERGIES, progress["steps_done"])
    if rows != progress["energy_rows_written"]:
        raise SimulationError(f"production resume: {str(work / ENERGIES)!r} holds {rows} complete rows up to "
                              f"step {progress['steps_done']}, expected {progress['energy_rows_written']}")
    progress["resumes"].append({"step": progress["steps_done"], "chunks_done": progress["chunks_done"],
                                "restored_from": how, "platform": run.platform.name})
    run.log.message(f"production: resuming after chunk {progress['chunks_done']}/{run.plan.n_chunks} (step "
                    f"{progress['steps_done']}, {progress['frames_written']} frames) from the {how}")


def _run_chunks(simulation: app.Simulation, system: openmm.System, topology: app.Topology, run: _Run,
                progress: dict, append_trajectory: bool) -> None:
    """Run the chunks not yet done, with trajectory, energy and blow-up reporters attached."""
    trajectory, energies = _attach_reporters(simulation, system, topology, run, append_trajectory)
    try:
        energies.start_clock(simulation.currentStep)
        for chunk in range(progress["chunks_done"], run.plan.n_chunks):
            _run_chunk(simulation, run, progress, chunk, trajectory, energies)
    finally:
        trajectory.close()
        energies.close()


def _attach_reporters(simulation: app.Simulation, system: openmm.System, topology: app.Topology, run: _Run,
                      append_trajectory: bool) -> tuple[object, ProgressReporter]:
    """DCD/XTC frames and energy rows into the work folder, and the blow-up guard (reference: the energy now)."""
    settings, plan, p = run.settings, run.plan, run.settings.protocol
    dof = run.dof
    trajectory = trajectory_reporter(plan.trajectory_format, run.work / plan.trajectory, plan.frame_steps, topology,
                                     p.timestep_ps, append=append_trajectory)
    energies = ProgressReporter(plan.energy_steps, "production", run.mass_amu, dof, p.timestep_ps, 0,
                                plan.total_steps, run.log, csv_path=run.work / ENERGIES)
    guard = BlowUpGuard(plan.energy_steps, "production", system.getNumParticles(), dof,
                        settings.blowup_max_potential_rise_kJ_per_mol_per_atom,
                        settings.blowup_max_temperature_factor * settings.temperature_K)
    guard.set_reference(simulation.context)
    simulation.reporters.extend([trajectory, energies, guard])
    return trajectory, energies


def _run_chunk(simulation: app.Simulation, run: _Run, progress: dict, chunk: int,
               trajectory, energies: ProgressReporter) -> None:
    """Step to the end of chunk ``chunk`` (0-based); fsync DCD and CSV, then checkpoint (:func:`_save_chunk`)."""
    plan = run.plan
    target = plan.steps_after(chunk + 1)
    wall = run_steps(simulation, target - simulation.currentStep, "production")
    trajectory.flush()
    energies.flush()
    expected_frames = plan.frames_at(target)
    if trajectory.frames_written != expected_frames:
        raise SimulationError(f"production: {trajectory.frames_written} frames written after step {target}, "
                              f"expected {expected_frames}")
    _save_chunk(simulation, run.work, progress, chunk + 1, target, expected_frames, plan.rows_at(target), wall)
    chunk_steps = target - plan.steps_after(chunk)
    remaining_s = wall / max(chunk_steps, 1) * (plan.total_steps - target)
    run.log.message(f"production: chunk {chunk + 1}/{plan.n_chunks} done (step {target}/{plan.total_steps}, "
                    f"{expected_frames} frames, {ns_per_day(chunk_steps, plan.timestep_ps, wall):.3g} "
                    f"ns/day, time remaining {_format_duration(remaining_s)})")


def _write_final_state_and_system(simulation: app.Simulation, system: openmm.System, work: Path) -> float:
    """Write the final State and the System that ran into the work folder; returns the box volume (nm^3)."""
    final_state = state_from_context(simulation.context)
    write_state(final_state, work / FINAL_STATE)
    write_system(system, work / SYSTEM)
    return box_volume_nm3(final_state.getPeriodicBoxVectors())


def _summary(run: _Run, system: openmm.System, volume_nm3: float, progress: dict, inputs: dict | None) -> dict:
    """production.json: ensemble, thermostat, steps, trajectory and energy files, density, speed, provenance."""
    settings, plan, p = run.settings, run.plan, run.settings.protocol
    mass = run.mass_amu
    n_frames = plan.frames_at(plan.total_steps)
    frame_interval_ps = plan.frame_steps * p.timestep_ps
    return {
        "schema": SUMMARY_SCHEMA,
        "ensemble": "NVT",
        "replica": run.replica,
        "thermostat": {"type": "LangevinMiddleIntegrator", "temperature_K": settings.temperature_K,
                       "friction_per_ps": p.production_friction_per_ps, "seed": run.integrator_seed,
                       "note": "low-friction Langevin (weak coupling) for transport properties"},
        "timestep_ps": p.timestep_ps,
        "hydrogen_mass_amu": settings.hydrogen_mass_amu,
        "duration_ps": plan.total_steps * p.timestep_ps,
        "steps": plan.total_steps,
        "chunks": plan.n_chunks,
        "chunk_ps": plan.chunk_steps * p.timestep_ps,
        "trajectory": {"file": plan.trajectory, "format": plan.trajectory_format.upper(), "frames": n_frames,
                       "frame_interval_ps": frame_interval_ps,
                       "first_frame_time_ps": frame_interval_ps,
                       "last_frame_time_ps": n_frames * plan.frame_steps * p.timestep_ps,
                       "wrapped_into_box": False},
        "energies": {"file": ENERGIES, "interval_ps": plan.energy_steps * p.timestep_ps,
                     "rows": plan.rows_at(plan.total_steps)},
        "final_state": FINAL_STATE,
        "system": SYSTEM,
        "n_particles": system.getNumParticles(),
        "total_mass_amu": mass,
        "degrees_of_freedom": run.dof,
        "volume_nm3": volume_nm3,
        "density_g_per_cm3": density_g_per_cm3(mass, volume_nm3),
        "platform": run.platform.description,
        "ns_per_day": ns_per_day(plan.total_steps, p.timestep_ps, progress["stepping_wall_s"]),
        "stepping_wall_time_s": progress["stepping_wall_s"],
        "resumes": progress["resumes"],
        "seed": settings.seed,
        "velocity_seed": progress.get("velocity_seed"),
        "settings": json.loads(settings.to_json()),
        "inputs": inputs or {},
        "input_fingerprint": run.fingerprint,
    }


def _restore(simulation: app.Simulation, work: Path, progress: dict, log: RunLog) -> str:
    """Load the chunk's checkpoint, or its State XML if the checkpoint does not fit this platform."""
    checkpoint = work / progress["checkpoint"]
    try:
        with open(checkpoint, "rb") as handle:
            simulation.context.loadCheckpoint(handle.read())
        return f"checkpoint {checkpoint.name}"
    except Exception as exc:  # missing file, or a checkpoint from another platform/GPU/OpenMM version
        state_path = work / progress["state"]
        if not state_path.is_file():
            raise SimulationError(f"production resume: neither checkpoint {str(checkpoint)!r} ({exc}) nor State "
                                  f"{str(state_path)!r} can be loaded; delete {str(work)!r} to start over") from exc
        log.message(f"production: checkpoint {checkpoint.name} cannot be loaded here ({str(exc).strip()}); "
                    f"using the portable State {state_path.name} (same frames, new random numbers)")
        apply_state(simulation.context, read_state(state_path))
        return f"state {state_path.name}"


def _save_chunk(simulation: app.Simulation, work: Path, progress: dict, chunks_done: int, steps_done: int,
                frames: int, rows: int, wall: float) -> None:
    """Checkpoint + State XML, then progress.json (atomic, fsync'ed), then delete the previous chunk's files."""
    context = simulation.context
    checkpoint = f"checkpoint_{chunks_done:05d}.chk"
    state_name = f"state_{chunks_done:05d}.xml"
    _fsync_write_bytes(work / checkpoint, context.createCheckpoint())
    write_state(state_from_context(context), work / state_name)
    previous = (progress["checkpoint"], progress["state"])
    progress.update(chunks_done=chunks_done, steps_done=steps_done, frames_written=frames, energy_rows_written=rows,
                    checkpoint=checkpoint, state=state_name,
                    stepping_wall_s=progress["stepping_wall_s"] + wall)
    _write_progress(work, progress)
    for name in previous:
        if name and name not in (checkpoint, state_name):
            (work / name).unlink(missing_ok=True)


def _finalise(out: Path, work: Path, progress: dict, log: RunLog) -> dict:
    """Move the products into ``out`` (idempotent), write production.json last, clean the work folder."""
    trajectory = progress["summary"]["trajectory"]["file"]
    for name in products(trajectory):
        source, destination = work / name, out / name
        if source.exists():
            _move_into(source, destination)
        elif not destination.exists():
            raise SimulationError(f"production: {name} is neither in the work folder {str(work)!r} nor in "
                                  f"{str(out)!r}; delete the work folder to start over")
    summary = progress["summary"]
    in_header, complete = trajectory_frames(out / trajectory)
    if in_header != summary["trajectory"]["frames"] or complete != summary["trajectory"]["frames"]:
        raise SimulationError(f"production: {str(out / trajectory)!r} holds {complete} frames "
                              f"(header {in_header}), expected {summary['trajectory']['frames']}")
    write_json_atomic(out / SUMMARY, summary)
    _clear_work(work)
    try:
        work.rmdir()
    except OSError:
        pass
    log.message(f"production: finished; {summary['trajectory']['frames']} frames, "
                f"{summary['ns_per_day']:.3g} ns/day; outputs in {str(out)!r}")
    return summary
