"""Reporters with OpenMM's ``describeNextReport``/``report`` protocol, and the run log they write to.

- :class:`RunLog`: the rule's log file. Messages are ``# ``-prefixed lines, progress rows are CSV with a
  single header, so ``pandas.read_csv(log, comment="#")`` reads every stage of a run as one table.
- :class:`ProgressReporter`: one row per report: stage, step, time_ps, potential/kinetic energy (kJ/mol),
  instantaneous temperature (K, from the kinetic energy and the System's degrees of freedom), box volume
  (nm^3), mass density (g/cm^3), progress, speed (ns/day, wall clock since the previous row) and the
  estimated time remaining of the stage (s). Rows go to the log and, optionally, to a separate CSV file.
  It keeps the rows in memory (``records``) for the density convergence test.
- :class:`BlowUpGuard`: stops a run that has blown up, with a :class:`common.errors.SimulationError`
  naming the stage and the step: non-finite positions or energies, a potential energy that rose by more
  than ``max_potential_rise_kJ_per_mol_per_atom`` per atom above its value at the start of the stage,
  or an instantaneous temperature above ``max_temperature_K``.
- :class:`DcdTrajectoryReporter`: DCD frames through ``openmm.app.DCDFile`` on a file this class owns
  (so it can be flushed and fsync'ed before a checkpoint), positions *not* wrapped into the box
  (``enforcePeriodicBox=False``: per-atom coordinates stay continuous for MSDs), frames on the global
  step grid (step % interval == 0) so resumed runs stay on it.
- :class:`XtcTrajectoryReporter`: the same for XTC (OpenMM's ``XTCFile``, compressed to 0.001 nm, about a
  third of a DCD), cut back on resume with :func:`common.xtc.truncate`.

Intervals are given in ps and converted to steps with :func:`interval_steps`. Every report makes the
platform copy a State from the device, which on a GPU stalls the integration: keep energy and trajectory
intervals >= 1 ps on GPUs (the reporting cost is then negligible); short intervals are fine on CPU and in
tests.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Sequence

import numpy as np
import openmm
from openmm import app, unit

from common import xtc
from common.dcd import read_header
from common.errors import SimulationError
from simulation.system_prep import box_volume_nm3, density_g_per_cm3, instantaneous_temperature_K

PROGRESS_COLUMNS = (
    "stage", "step", "time_ps", "potential_energy_kJ_per_mol", "kinetic_energy_kJ_per_mol", "temperature_K",
    "volume_nm3", "density_g_per_cm3", "progress_percent", "speed_ns_per_day", "time_remaining_s",
)


def interval_steps(interval_ps: float, timestep_ps: float) -> int:
    """Steps in a reporting interval: ``round(interval_ps / timestep_ps)``, at least 1."""
    if interval_ps <= 0 or timestep_ps <= 0:
        raise SimulationError(f"reporting interval {interval_ps} ps and time step {timestep_ps} ps must be > 0")
    return max(1, int(round(interval_ps / timestep_ps)))


class RunLog:
    """The log of one command: ``# [timestamp] message`` lines and CSV progress rows (one header)."""

    def __init__(self, target: str | Path | IO[str] | None = None, echo: IO[str] | None = None):
        self._owned = False
        if target is None:
            self._stream: IO[str] = sys.stdout
        elif isinstance(target, (str, Path)):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(target, "a", buffering=1)
            self._owned = True
        else:
            self._stream = target
        self._echo = echo
        self._header_written = self._owned and self._has_header(Path(target))

    @staticmethod
    def _has_header(path: Path) -> bool:
        if not path.is_file():
            return False
        with open(path) as handle:
            return any(line.startswith(PROGRESS_COLUMNS[0] + ",") for line in handle)

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
        if self._echo is not None:
            self._echo.write(text)
            self._echo.flush()

    def message(self, text: str) -> None:
        """Write ``# [time] text`` (each line of a multi-line text prefixed)."""
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self._write("".join(f"# [{stamp}] {line}\n" for line in str(text).splitlines() or [""]))

    def row(self, values: dict) -> None:
        """Write one progress row (header first, once per log)."""
        if not self._header_written:
            self._write(",".join(PROGRESS_COLUMNS) + "\n")
            self._header_written = True
        self._write(format_csv_row(values))

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def format_csv_row(values: dict, columns: Sequence[str] = PROGRESS_COLUMNS) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_fmt(values.get(c, "")) for c in columns])
    return buffer.getvalue()


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}" if abs(value) < 1e-3 or abs(value) >= 1e7 else f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


class ProgressReporter:
    """Energy/temperature/volume/density/speed rows every ``interval`` steps of a stage.

    ``stage_start_step`` and ``stage_total_steps`` (global step numbers) let it compute progress and the
    time remaining of the stage; ``total_mass_amu`` and ``dof`` come from :mod:`simulation.system_prep`.
    ``csv_path``: optional extra CSV file (header written if the file is new or empty).
    """

    def __init__(self, interval: int, stage: str, total_mass_amu: float, dof: int, timestep_ps: float,
                 stage_start_step: int, stage_total_steps: int, log: RunLog | None = None,
                 csv_path: str | Path | None = None):
        self._interval = int(interval)
        self.stage = stage
        self._mass = total_mass_amu
        self._dof = dof
        self._dt = timestep_ps
        self._start_step = stage_start_step
        self._total = max(stage_total_steps, 1)
        self._log = log
        self._csv = None
        if csv_path is not None:
            csv_path = Path(csv_path)
            new = not csv_path.exists() or csv_path.stat().st_size == 0
            self._csv = open(csv_path, "a", buffering=1)
            if new:
                self._csv.write(",".join(PROGRESS_COLUMNS) + "\n")
        self.records: list[dict] = []
        self._last_wall: float | None = None
        self._last_step: int | None = None
        self._clock_wall_start: float | None = None
        self._clock_step_start: int | None = None

    def start_clock(self, step: int) -> None:
        """Mark the wall-clock start (call right before stepping, so setup time is not counted)."""
        self._last_wall = self._clock_wall_start = time.perf_counter()
        self._last_step = self._clock_step_start = step

    def describeNextReport(self, simulation: app.Simulation) -> dict:
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": None, "include": ["energy"]}

    def report(self, simulation: app.Simulation, state: openmm.State) -> None:
        step = simulation.currentStep
        now = time.perf_counter()
        if self._last_wall is None:
            self.start_clock(step - self._interval)
        potential = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        kinetic = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        temperature = instantaneous_temperature_K(kinetic, self._dof)
        volume = box_volume_nm3(state.getPeriodicBoxVectors())
        elapsed = now - self._last_wall
        speed = ((step - self._last_step) * self._dt / 1000.0) / (elapsed / 86400.0) if elapsed > 0 else float("nan")
        done = step - self._start_step
        clock_steps = step - self._clock_step_start
        clock_elapsed = now - self._clock_wall_start
        remaining = ((self._total - done) * clock_elapsed / clock_steps) if clock_steps > 0 else float("nan")
        record = {
            "stage": self.stage, "step": step, "time_ps": state.getTime().value_in_unit(unit.picosecond),
            "potential_energy_kJ_per_mol": potential, "kinetic_energy_kJ_per_mol": kinetic,
            "temperature_K": temperature, "volume_nm3": volume,
            "density_g_per_cm3": density_g_per_cm3(self._mass, volume),
            "progress_percent": 100.0 * done / self._total, "speed_ns_per_day": speed,
            "time_remaining_s": max(remaining, 0.0) if not math.isnan(remaining) else remaining,
        }
        self.records.append(record)
        self._last_wall, self._last_step = now, step
        if self._log is not None:
            self._log.row(record)
        if self._csv is not None:
            self._csv.write(format_csv_row(record))

    def flush(self) -> None:
        """Flush and fsync the CSV file (before a checkpoint records how far it got)."""
        if self._csv is not None:
            self._csv.flush()
            os.fsync(self._csv.fileno())

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None


class BlowUpGuard:
    """Raise SimulationError (stage + step) when a run blows up; see the module notes for the tests.

    ``reference_potential_kJ_per_mol``: the potential energy at the start of the stage (set it with
    :meth:`set_reference`; if never set, the first report's energy is used).
    """

    def __init__(self, interval: int, stage: str, n_atoms: int, dof: int,
                 max_potential_rise_kJ_per_mol_per_atom: float = 100.0, max_temperature_K: float = 5000.0,
                 reference_potential_kJ_per_mol: float | None = None):
        self._interval = int(interval)
        self.stage = stage
        self._n_atoms = max(int(n_atoms), 1)
        self._dof = dof
        self.max_rise = float(max_potential_rise_kJ_per_mol_per_atom)
        self.max_temperature_K = float(max_temperature_K)
        self.reference = reference_potential_kJ_per_mol

    def set_reference(self, context: openmm.Context) -> None:
        """Use the Context's current potential energy as the reference of the rise test."""
        energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        self.check(context.getStepCount(), energy, 0.0, None)
        self.reference = energy

    def describeNextReport(self, simulation: app.Simulation) -> dict:
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": False, "include": ["positions", "energy"]}

    def report(self, simulation: app.Simulation, state: openmm.State) -> None:
        self.check(simulation.currentStep,
                   state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
                   state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole),
                   state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))

    def check(self, step: int, potential_kJ_per_mol: float, kinetic_kJ_per_mol: float,
              positions_nm: np.ndarray | None) -> None:
        """The blow-up tests on plain numbers; raises SimulationError naming the stage and step."""
        where = f"stage '{self.stage}' at step {step}"
        if not (math.isfinite(potential_kJ_per_mol) and math.isfinite(kinetic_kJ_per_mol)):
            raise SimulationError(f"simulation blew up in {where}: energy is not finite (potential "
                                  f"{potential_kJ_per_mol} kJ/mol, kinetic {kinetic_kJ_per_mol} kJ/mol)")
        if positions_nm is not None and not np.all(np.isfinite(positions_nm)):
            bad = int(np.count_nonzero(~np.isfinite(positions_nm).all(axis=1)))
            raise SimulationError(f"simulation blew up in {where}: {bad} particle positions are NaN/infinite")
        if self.reference is None:
            self.reference = potential_kJ_per_mol
        rise = (potential_kJ_per_mol - self.reference) / self._n_atoms
        if rise > self.max_rise:
            raise SimulationError(
                f"simulation blew up in {where}: potential energy rose by {rise:.3g} kJ/mol per atom "
                f"(from {self.reference:.6g} to {potential_kJ_per_mol:.6g} kJ/mol; limit {self.max_rise:g} "
                "kJ/mol per atom). Check the time step, constraints/HMR and the starting structure.")
        temperature = instantaneous_temperature_K(kinetic_kJ_per_mol, self._dof)
        if temperature > self.max_temperature_K:
            raise SimulationError(
                f"simulation blew up in {where}: instantaneous temperature {temperature:.4g} K exceeds "
                f"{self.max_temperature_K:.4g} K. Check the time step, constraints/HMR and the starting structure.")


class DcdTrajectoryReporter:
    """DCD frames every ``interval`` steps (on the global step grid), unwrapped, on a file we own.

    ``append=True`` continues an existing file (which must already hold exactly the frames wanted, see
    :func:`common.dcd.truncate`); the header keeps ``istart = interval`` and ``nsavc = interval``,
    so frame k (0-based) is at step (k + 1) x interval.
    """

    def __init__(self, path: str | Path, interval: int, topology: app.Topology, timestep_ps: float,
                 append: bool = False, first_step: int | None = None):
        self.path = Path(path)
        self._interval = int(interval)
        self._append = append and self.path.exists() and self.path.stat().st_size > 0
        self._frames = read_header(self.path).n_frames_header if self._append else 0
        self._file = open(self.path, "r+b" if self._append else "wb")
        self._dcd = app.DCDFile(self._file, topology, timestep_ps * unit.picosecond,
                                firstStep=self._interval if first_step is None else int(first_step),
                                interval=self._interval, append=self._append)
        self._file.seek(0, os.SEEK_END)

    def describeNextReport(self, simulation: app.Simulation) -> dict:
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: openmm.State) -> None:
        self._dcd.writeModel(state.getPositions(asNumpy=True), periodicBoxVectors=state.getPeriodicBoxVectors())
        self._frames += 1

    @property
    def frames_written(self) -> int:
        """Frames in the file (those there before an append included)."""
        return self._frames

    def flush(self) -> None:
        """Flush and fsync (call before a checkpoint records the frame count)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class XtcTrajectoryReporter:
    """XTC frames every ``interval`` steps (global step grid), unwrapped, through OpenMM's ``XTCFile``.

    ``XTCFile`` opens the file for every frame; :meth:`flush` fsyncs it. ``append=True`` continues a file
    that already holds exactly the frames wanted (see :func:`common.xtc.truncate`). Frame k (0-based) carries
    step (k + 1) x interval and time step x ``timestep_ps``.
    """

    def __init__(self, path: str | Path, interval: int, topology: app.Topology, timestep_ps: float,
                 append: bool = False, first_step: int | None = None):
        self.path = Path(path)
        self._interval = int(interval)
        append = append and self.path.exists() and self.path.stat().st_size > 0
        if not append:
            self.path.unlink(missing_ok=True)
        self._frames = xtc.count_frames(self.path) if append else 0
        self._xtc = app.XTCFile(str(self.path), topology, timestep_ps * unit.picosecond,
                                firstStep=self._interval if first_step is None else int(first_step),
                                interval=self._interval, append=append)
        # XTCFile numbers frames from its own count: continue the global step grid after an append
        self._xtc._modelCount = self._frames

    def describeNextReport(self, simulation: app.Simulation) -> dict:
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: openmm.State) -> None:
        self._xtc.writeModel(state.getPositions(asNumpy=True), periodicBoxVectors=state.getPeriodicBoxVectors())
        self._frames += 1

    @property
    def frames_written(self) -> int:
        return self._frames

    def flush(self) -> None:
        if self.path.exists():
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        pass


def trajectory_reporter(fmt: str, path: str | Path, interval: int, topology: app.Topology, timestep_ps: float,
                        append: bool = False):
    """A DCD or XTC trajectory reporter (``fmt``: ``dcd`` | ``xtc``)."""
    classes = {"dcd": DcdTrajectoryReporter, "xtc": XtcTrajectoryReporter}
    if fmt not in classes:
        raise SimulationError(f"trajectory format {fmt!r} is not supported; allowed: {sorted(classes)}")
    return classes[fmt](path, interval, topology, timestep_ps, append=append)
