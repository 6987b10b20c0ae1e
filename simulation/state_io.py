"""Portable files passed between workflow rules: System XML, State XML and the topology (PDB/PDBx).

System and State are written with ``openmm.XmlSerializer`` (platform- and version-portable, unlike
checkpoints), always through :func:`common.io.atomic_path`, so an interrupted job leaves either no file or
a whole one. A State written by :func:`state_from_context` holds positions and velocities (nm, nm/ps;
positions *not* wrapped into the box, so per-atom coordinates stay continuous), the periodic box (nm),
the time (ps), the step count and the context parameters (e.g. the barostat's pressure).

The topology only gives atom count, elements (hydrogen mass repartitioning) and the box for trajectory
headers; the engine never re-derives forces from it.
"""

from __future__ import annotations

from pathlib import Path

import openmm
from openmm import app

from common.errors import InputFileError, SimulationError
from common.io import atomic_path


def _read_text(path: str | Path, what: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} file {str(path)!r} does not exist")
    return path.read_text()


def _deserialize(path: str | Path, what: str, expected: type):
    text = _read_text(path, what)
    try:
        obj = openmm.XmlSerializer.deserialize(text)
    except Exception as exc:
        raise InputFileError(f"{what} file {str(path)!r} is not a readable OpenMM {expected.__name__} XML: "
                             f"{str(exc).strip()}") from exc
    if not isinstance(obj, expected):
        raise InputFileError(f"{what} file {str(path)!r} holds an OpenMM {type(obj).__name__}, "
                             f"expected a {expected.__name__}")
    return obj


def write_xml(obj, path: str | Path) -> None:
    """Serialize an OpenMM System, State or Integrator to ``path`` atomically."""
    text = openmm.XmlSerializer.serialize(obj)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_system(system: openmm.System, path: str | Path) -> None:
    """Write a System XML atomically."""
    write_xml(system, path)


def write_state(state: openmm.State, path: str | Path) -> None:
    """Write a State XML atomically."""
    write_xml(state, path)


def read_system(path: str | Path) -> openmm.System:
    """Read a System XML (InputFileError if missing or not a System)."""
    return _deserialize(path, "System", openmm.System)


def read_state(path: str | Path) -> openmm.State:
    """Read a State XML (InputFileError if missing or not a State)."""
    state = _deserialize(path, "State", openmm.State)
    try:
        state.getPositions()
    except Exception as exc:
        raise InputFileError(f"State file {str(path)!r} holds no positions; the engine needs them") from exc
    return state


def read_topology(path: str | Path) -> tuple[app.Topology, list]:
    """Read a topology (``.pdb`` or ``.cif``/``.pdbx``); returns (Topology, positions in nm)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"topology file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() in (".cif", ".pdbx", ".mmcif"):
            structure = app.PDBxFile(str(path))
        else:
            structure = app.PDBFile(str(path))
    except Exception as exc:
        raise InputFileError(f"topology file {str(path)!r} cannot be read: {exc}") from exc
    return structure.topology, structure.getPositions()


def write_topology(topology: app.Topology, positions, path: str | Path) -> None:
    """Write a PDB (or PDBx for ``.cif``) atomically, keeping residue ids and CONECT records."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            if path.suffix.lower() in (".cif", ".pdbx", ".mmcif"):
                app.PDBxFile.writeFile(topology, positions, handle, keepIds=True)
            else:
                app.PDBFile.writeFile(topology, positions, handle, keepIds=True)


def state_from_context(context: openmm.Context) -> openmm.State:
    """The portable State of a Context: positions (unwrapped), velocities, box, time, step, parameters."""
    return context.getState(getPositions=True, getVelocities=True, getParameters=True,
                            getIntegratorParameters=True, enforcePeriodicBox=False)


def apply_state(context: openmm.Context, state: openmm.State) -> list[str]:
    """Load a portable State into ``context``: box, positions, velocities (if the State has them), time,
    step count, and those context parameters the Context knows.

    ``Context.setState`` is not used because it fails on a parameter the new Context lacks, and the
    stages hand States across Systems that differ in exactly that way (the NPT stage's State carries the
    barostat's ``MonteCarloPressure``/``MonteCarloTemperature``; the NVT production System has no
    barostat). Integrator parameters are not loaded: each stage builds its own integrator. Returns the
    names of the State's parameters that were ignored.
    """
    context.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    context.setPositions(state.getPositions(asNumpy=True))
    if state.getDataTypes() & openmm.State.Velocities:
        context.setVelocities(state.getVelocities(asNumpy=True))
    context.setTime(state.getTime())
    context.setStepCount(state.getStepCount())
    ignored = []
    if state.getDataTypes() & openmm.State.Parameters:
        known = set(context.getParameters().keys())
        for name, value in state.getParameters().items():
            if name in known:
                context.setParameter(name, value)
            else:
                ignored.append(name)
    return ignored


def check_consistent(system: openmm.System, state: openmm.State, topology: app.Topology | None = None,
                     names: tuple[str, str, str] = ("System", "State", "topology")) -> None:
    """Raise SimulationError unless System, State and topology describe the same number of particles."""
    n_system = system.getNumParticles()
    n_state = len(state.getPositions(asNumpy=True))
    counts = {names[0]: n_system, names[1]: n_state}
    if topology is not None:
        counts[names[2]] = topology.getNumAtoms()
    if len(set(counts.values())) != 1:
        raise SimulationError(f"inputs disagree on the number of particles: {counts}; they must come from "
                              "the same build step")
    if system.usesPeriodicBoundaryConditions():
        box = state.getPeriodicBoxVectors(asNumpy=True)
        if box is None:
            raise SimulationError(f"the System is periodic but the {names[1]} has no periodic box vectors")
