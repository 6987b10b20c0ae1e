"""Chunked streaming of trajectories, per-atom unwrapping and centre-of-mass drift removal.

Reading
-------
:class:`TrajectoryReader` streams one or more consecutive trajectory files (segments of one run, in
order) in chunks of frames, so that per-atom arrays never hold the whole trajectory: positions in nm
(float64) and the periodic box of every frame as three row vectors in nm. DCD files (what OpenMM's
``DCDReporter`` writes) are read with the one DCD parser, :mod:`common.dcd`; a truncated last frame (a
killed run) is ignored. Other formats (XTC, TRR, NetCDF, HDF5) are read with ``mdtraj.iterload``.

The time between frames is never guessed. Only an OpenMM-written DCD header states it believably
(NSAVC × DELTA; other writers, mdtraj among them, write placeholders, and converters write placeholder
frame times into XTC files); otherwise it must be given (``--frame-interval`` or the production report's
``trajectory.frame_interval_ps``). Every source present must agree. A file given twice (or a copy of
one) is refused, and so are OpenMM DCD segments whose headers place them in the run (ISTART) at times that
overlap, go backwards or leave a gap.

Unwrapping
----------
Per atom, never per molecule, by the displacement ("toroidal") scheme of von Bülow, Bullerjahn and
Hummer, J. Chem. Phys. 153, 021101 (2020)::

    u(t+1) = u(t) + Δ,   Δ = w(t+1) − w(t) − B(t+1) · round(B(t+1)⁻¹ · (w(t+1) − w(t)))

with w the stored positions, u the unwrapped ones and B the box of the later frame (triclinic boxes
through fractional coordinates). The displacement between two frames is the minimum image of the stored
displacement, so neither re-imaging (by ``enforcePeriodicBox=True`` or by OpenMM's barostat, which moves
molecule or atom centres into the box) nor box fluctuations under NPT enter the unwrapped coordinates as
spurious jumps. For a continuous trajectory (``enforcePeriodicBox=False``, no re-imaging) the scheme is
the identity. It needs every atom to move less than half a box width between frames. The state (last
stored and last unwrapped positions) is carried across chunks and files.

Drift removal
-------------
:func:`remove_com_drift` subtracts the mass-weighted centre of mass of the whole system from every frame,
removing the random-walk drift of the total momentum under a Langevin thermostat.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from common.dcd import AKMA_TIME_PS, DcdHeader, cell_lengths_angles, first_frame_bytes
from common.dcd import iter_frames as iter_dcd_frames
from common.dcd import read_header as read_dcd_header
from common.errors import AnalysisError, InputFileError

log = logging.getLogger("gelmd.analysis")

DEFAULT_CHUNK_BYTES = 64 * 2**20
_DCD_SUFFIXES = {".dcd"}
_MDTRAJ_SUFFIXES = {".xtc", ".trr", ".nc", ".ncdf", ".netcdf", ".h5", ".lh5", ".binpos"}


@dataclass(frozen=True)
class FrameChunk:
    """Consecutive frames: ``positions`` (c, N, 3) nm, ``boxes`` (c, 3, 3) nm (rows = box vectors)."""

    start: int
    positions: np.ndarray
    boxes: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def stop(self) -> int:
        return self.start + self.n_frames

    @property
    def volumes_nm3(self) -> np.ndarray:
        return np.abs(np.linalg.det(self.boxes))


def box_vectors_from_lengths_angles(lengths: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Box row vectors (c, 3, 3) in OpenMM's reduced form from edge lengths (c, 3) and angles α, β, γ (c, 3, degrees)."""
    lengths = np.atleast_2d(np.asarray(lengths, float))
    angles = np.radians(np.atleast_2d(np.asarray(angles_deg, float)))
    right = np.isclose(angles, np.pi / 2, rtol=0.0, atol=1e-9)
    cosines = np.where(right, 0.0, np.cos(angles))  # exact zeros keep orthorhombic boxes exactly diagonal
    cos_a, cos_b, cos_g = cosines.T
    sin_g = np.where(right[:, 2], 1.0, np.sin(angles[:, 2]))
    a, b, c = lengths.T
    box = np.zeros((lengths.shape[0], 3, 3))
    box[:, 0, 0] = a
    box[:, 1, 0] = b * cos_g
    box[:, 1, 1] = b * sin_g
    box[:, 2, 0] = c * cos_b
    box[:, 2, 1] = c * (cos_a - cos_b * cos_g) / sin_g
    box[:, 2, 2] = np.sqrt(np.maximum(c**2 - box[:, 2, 0] ** 2 - box[:, 2, 1] ** 2, 0.0))
    return box


def minimum_image(displacements: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Shift displacement vectors (c, N, 3) by lattice vectors of ``boxes`` (c, 3, 3) into the centred cell.

    A vector shorter than half the smallest perpendicular box width is returned unchanged (its
    fractional coordinates are already inside (−½, ½)), so this is the minimum image for such vectors in
    any triclinic box.
    """
    boxes = np.asarray(boxes, float)
    if np.all(boxes[..., [0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]] == 0.0):
        lengths = np.diagonal(boxes, axis1=-2, axis2=-1)[:, None, :]
        return displacements - lengths * np.round(displacements / lengths)
    inverse = np.linalg.inv(boxes)
    fractional = np.einsum("cnj,cjk->cnk", displacements, inverse)
    return displacements - np.einsum("cnj,cjk->cnk", np.round(fractional), boxes)


def perpendicular_widths(boxes: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of each box (…, 3), nm."""
    boxes = np.asarray(boxes, float)
    volume = np.abs(np.linalg.det(boxes))
    a, b, c = boxes[..., 0, :], boxes[..., 1, :], boxes[..., 2, :]
    return np.stack([volume / np.linalg.norm(np.cross(b, c), axis=-1),
                     volume / np.linalg.norm(np.cross(c, a), axis=-1),
                     volume / np.linalg.norm(np.cross(a, b), axis=-1)], axis=-1)


# ------------------------------------------------------------------------------------------ trajectory files

@dataclass(frozen=True)
class TrajectoryFile:
    """One trajectory file as the reader sees it.

    ``dcd`` is its header (None for formats read through mdtraj); ``first_frame`` the bytes of its first
    frame's coordinates (a fingerprint that tells a copy of a file from the next segment of a run).
    """

    path: Path
    n_atoms: int
    n_frames: int
    dcd: DcdHeader | None
    first_frame: bytes

    @property
    def trusted_interval_ps(self) -> float | None:
        """The frame interval the file states and that can be believed: an OpenMM-written DCD header's only."""
        return None if self.dcd is None else self.dcd.trusted_frame_interval_ps

    def why_interval_unknown(self) -> str:
        """Why this file's own frame interval is not used (for the error that asks for ``--frame-interval``)."""
        if self.dcd is None:
            return (f"{self.path.name}: {self.path.suffix} frame times are not trusted (converters such as mdtraj "
                    "write placeholder times)")
        claim = self.dcd.frame_interval_ps
        return (f"{self.path.name}: DCD written by {self.dcd.writer!r}, not OpenMM; its header claims "
                f"{'no' if claim is None else f'{claim:g} ps'} between frames (NSAVC x DELTA), which other "
                f"writers fill with placeholders (mdtraj: NSAVC = 1, DELTA = 1 AKMA = {AKMA_TIME_PS} ps)")


def _cell_records_to_boxes(cells: np.ndarray) -> np.ndarray:
    """DCD unit-cell records (c, 6) → box row vectors (c, 3, 3) in nm."""
    return box_vectors_from_lengths_angles(*cell_lengths_angles(cells))


def _open_dcd(path: Path) -> TrajectoryFile:
    header = read_dcd_header(path)
    if header.trailing_bytes:
        log.warning("DCD file %s ends with a partial frame (%d bytes); it is ignored", path, header.trailing_bytes)
    return TrajectoryFile(path, header.n_atoms, header.n_complete_frames, header, first_frame_bytes(header))


def _open_mdtraj(path: Path, topology_path: Path | None) -> TrajectoryFile:
    """Atom count, frame count and first frame of a file mdtraj can read (XTC, TRR, NetCDF, HDF5, ...)."""
    import mdtraj

    if topology_path is None:
        raise AnalysisError(f"reading {str(path)!r} needs the topology file (formats other than DCD)")
    try:
        head = next(iter(mdtraj.iterload(str(path), top=str(topology_path), chunk=1)))
    except StopIteration:
        return TrajectoryFile(path, 0, 0, None, b"")
    except ValueError as exc:  # mdtraj reports an atom-count mismatch as ValueError
        raise AnalysisError(f"trajectory {str(path)!r} does not match topology {str(topology_path)!r}: {exc}") from exc
    try:
        with mdtraj.open(str(path)) as fh:
            n_frames = len(fh)
    except (TypeError, NotImplementedError, AttributeError):
        n_frames = sum(t.n_frames for t in mdtraj.iterload(str(path), top=str(topology_path), chunk=1000))
    return TrajectoryFile(path, head.n_atoms, n_frames, None, head.xyz[0].astype(np.float32).tobytes())


def open_trajectory_file(path: Path, n_atoms: int, topology_path: Path | None) -> TrajectoryFile:
    """Open one trajectory file by its suffix and check it has ``n_atoms`` atoms and a periodic box."""
    suffix = path.suffix.lower()
    if suffix in _DCD_SUFFIXES:
        file = _open_dcd(path)
        if not file.dcd.has_unit_cell and file.n_frames:
            raise AnalysisError(f"trajectory {str(path)!r} stores no periodic box (unit cell); unwrapping and "
                                "volumes need it: write it from a periodic topology (OpenMM DCDReporter does so "
                                "when the Topology has periodic box vectors)")
    elif suffix in _MDTRAJ_SUFFIXES:
        file = _open_mdtraj(path, topology_path)
    else:
        raise AnalysisError(f"--trajectory {str(path)!r}: unknown format {suffix!r}; allowed: "
                            f"{sorted(_DCD_SUFFIXES | _MDTRAJ_SUFFIXES)}")
    if (file.n_frames or file.dcd is not None) and file.n_atoms != n_atoms:
        raise AnalysisError(f"trajectory {str(path)!r} has {file.n_atoms} atoms but the topology has "
                            f"{n_atoms}; they must describe the same atoms")
    return file


def check_distinct(files: Sequence[TrajectoryFile]) -> None:
    """Refuse one trajectory given twice: the same file (by inode, whatever the path says) or a copy of
    one (an identical first frame; two segments of one run never start from the same coordinates)."""
    for j, b in enumerate(files):
        for a in files[:j]:
            same_file = os.path.samefile(a.path, b.path)
            if same_file or (a.first_frame and a.first_frame == b.first_frame):
                how = "is the same file as" if same_file else "starts with the same frame as (a copy of)"
                raise AnalysisError(f"--trajectory: {str(b.path)!r} {how} {str(a.path)!r}; the trajectory files must "
                                    "be different, consecutive segments of one run, each given once")


def _placed_in_run(header: DcdHeader) -> bool:
    """Whether an OpenMM DCD header says where in its run the file begins.

    OpenMM's ``DCDReporter`` writes ISTART = NSAVC into every file it starts, whatever the step count of
    the simulation, and ``DCDFile`` defaults to ISTART = 0; those two values therefore say nothing about
    where a later segment begins. Any other ISTART (``DCDFile(firstStep=simulation.currentStep)``, or
    gelmd's production reporter resumed from a checkpoint) places the file in the run.
    """
    return header.first_step not in (0, header.step_interval)


def check_time_order(files: Sequence[TrajectoryFile], interval_ps: float) -> None:
    """Refuse consecutive files whose frame times overlap, go backwards or leave a gap.

    Only OpenMM-written DCD headers give frame times that can be believed: frame k of a file is at
    (ISTART + k NSAVC) DELTA. When a file's header places it in its run (:func:`_placed_in_run`), its first
    frame must come exactly one frame interval after the last frame of the file before it. Files that
    the headers cannot place are taken in the order given (nothing in them can say otherwise; the log
    says so).
    """
    for a, b in zip(files, files[1:]):
        checkable = all(f.trusted_interval_ps is not None and f.n_frames for f in (a, b))
        if not (checkable and _placed_in_run(b.dcd)):
            log.info("the order of %s after %s cannot be checked from the files; taken as given", b.path, a.path)
            continue
        last_a, first_b = a.dcd.frame_time_ps(a.n_frames - 1), b.dcd.frame_time_ps(0)
        step = (first_b - last_a) / interval_ps
        if abs(step - 1.0) > 1e-3:
            what = "overlaps with or comes before" if step < 0.5 else "leaves a gap after"
            raise AnalysisError(
                f"--trajectory: {str(b.path)!r} (first frame at {first_b:g} ps) {what} {str(a.path)!r} (last frame "
                f"at {last_a:g} ps; the frame interval is {interval_ps:g} ps); give consecutive segments of one run, "
                "in time order, each once")


def resolve_frame_interval(files: Sequence[TrajectoryFile], stated: Mapping[str, float | None]
                           ) -> tuple[float, list[str]]:
    """The time between frames (ps) and the sources that state it.

    ``stated`` maps a source's name (the CLI flag: ``--frame-interval``, ``--production-report``) to
    the interval it gives, or None. The files' own interval counts only when every file is an
    OpenMM-written DCD (see :mod:`common.dcd`). Every source present must agree (relative 1e-4: DELTA is
    float32); with none, AnalysisError asks for ``--frame-interval``.
    """
    sources: dict[str, float] = {}
    for name, value in stated.items():
        if value is None:
            continue
        if not (math.isfinite(value) and value > 0):
            raise AnalysisError(f"{name}: frame interval {value!r} ps must be > 0")
        sources[name] = float(value)
    if files and all(f.trusted_interval_ps is not None for f in files):
        headers = {f.path.name: f.trusted_interval_ps for f in files}
        first = next(iter(headers.values()))
        if any(abs(v - first) > 1e-4 * first for v in headers.values()):
            detail = ", ".join(f"{n}: {v:g} ps" for n, v in headers.items())
            raise AnalysisError(f"--trajectory: the files have different frame intervals ({detail}); they must be "
                                "segments of one run written at one interval")
        sources["OpenMM DCD header"] = first
    if not sources:
        reasons = "; ".join(f.why_interval_unknown() for f in files if f.trusted_interval_ps is None)
        raise AnalysisError(f"the time between frames of {[str(f.path) for f in files]} is not known ({reasons}). "
                            "Give it with --frame-interval '<time>' (e.g. '1 ps') or --production-report "
                            "production.json (the report of the run that wrote the trajectory)")
    reference_name, reference = next(iter(sources.items()))
    for name, value in sources.items():
        if abs(value - reference) > 1e-4 * reference:
            raise AnalysisError(f"{reference_name} says {reference:g} ps between frames but {name} says {value:g} ps; "
                                "they must agree (check that they belong to this trajectory)")
    return reference, list(sources)


# ---------------------------------------------------------------------------------------------- the reader

class TrajectoryReader:
    """Stream consecutive trajectory files (segments of one run) in chunks of frames.

    Parameters
    ----------
    paths
        Trajectory files in time order; frames are concatenated. A file given twice (or a copy) is
        refused; so are OpenMM DCDs whose headers place them at times that overlap, go backwards or
        leave a gap (:func:`check_time_order`).
    n_atoms
        Atom count of the topology; every file must have it.
    topology_path
        Needed for non-DCD formats (read through mdtraj).
    frame_interval_ps
        Time between frames as the user gives it (CLI ``--frame-interval``).
    report_interval_ps
        Time between frames as the production report states it (CLI ``--production-report``).
        Without either, only an OpenMM-written DCD header gives the interval; every interval given must
        agree with the others and with such a header (:func:`resolve_frame_interval`).
    chunk_frames
        Frames per chunk; default keeps a chunk of float64 positions near 64 MiB.
    discard_frames
        Frames dropped at the start (equilibration); also settable later by :meth:`discard_start`.

    Attributes after construction: ``n_frames`` (after discarding), ``frame_interval_ps``,
    ``frame_interval_sources`` (the sources that agree on it), ``frames_per_file``, ``files``.
    """

    def __init__(self, paths: Sequence[str | Path], n_atoms: int, topology_path: str | Path | None = None,
                 frame_interval_ps: float | None = None, chunk_frames: int | None = None, discard_frames: int = 0,
                 report_interval_ps: float | None = None):
        if not paths:
            raise AnalysisError("no trajectory file was given (--trajectory)")
        self.paths = [Path(p) for p in paths]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise InputFileError(f"--trajectory: file(s) {missing} do not exist")
        self.n_atoms = int(n_atoms)
        self.topology_path = Path(topology_path) if topology_path is not None else None
        self.files = [open_trajectory_file(p, self.n_atoms, self.topology_path) for p in self.paths]
        check_distinct(self.files)
        self.frame_interval_ps, self.frame_interval_sources = resolve_frame_interval(
            self.files, {"--frame-interval": frame_interval_ps, "--production-report": report_interval_ps})
        check_time_order(self.files, self.frame_interval_ps)
        self.frames_per_file = [f.n_frames for f in self.files]
        self.discard_start(discard_frames)
        per_frame = self.n_atoms * 3 * 8
        self.chunk_frames = int(chunk_frames) if chunk_frames else max(1, DEFAULT_CHUNK_BYTES // per_frame)

    @property
    def total_frames(self) -> int:
        """Frames in all files, before discarding."""
        return sum(self.frames_per_file)

    def discard_start(self, n_frames: int) -> None:
        """Drop the first ``n_frames`` frames (equilibration) from what is streamed."""
        n_frames = int(n_frames)
        if n_frames < 0 or n_frames >= max(self.total_frames, 1):
            raise AnalysisError(f"--discard: cannot discard {n_frames} frames of a {self.total_frames}-frame "
                                "trajectory; allowed: 0 up to fewer than the frames there are")
        self.discard_frames = n_frames
        self.n_frames = self.total_frames - n_frames

    @property
    def run_length_ps(self) -> float:
        """Time spanned by the frames analysed, (n_frames − 1) × frame interval."""
        return (self.n_frames - 1) * self.frame_interval_ps

    def _iter_file(self, index: int, skip: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        file = self.files[index]
        if file.dcd is not None:
            for positions, cells in iter_dcd_frames(file.dcd, self.chunk_frames, start=skip):
                yield positions, _cell_records_to_boxes(cells)
            return
        import mdtraj

        for traj in mdtraj.iterload(str(file.path), top=str(self.topology_path), chunk=self.chunk_frames, skip=skip):
            if traj.unitcell_vectors is None:
                raise AnalysisError(f"trajectory {str(file.path)!r} stores no periodic box (unit cell); unwrapping "
                                    "and volumes need it")
            yield traj.xyz.astype(np.float64), traj.unitcell_vectors.astype(np.float64)

    def __iter__(self) -> Iterator[FrameChunk]:
        """Yield :class:`FrameChunk` objects with raw (as stored) positions, in time order."""
        frame = 0
        skip_left = self.discard_frames
        for index, count in enumerate(self.frames_per_file):
            skip = min(skip_left, count)
            skip_left -= skip
            for positions, boxes in self._iter_file(index, skip):
                if not np.all(np.isfinite(boxes)) or np.any(np.abs(np.linalg.det(boxes)) <= 0):
                    raise AnalysisError(f"trajectory {str(self.paths[index])!r} has frames without a valid periodic "
                                        "box (zero or missing unit cell)")
                yield FrameChunk(frame, positions, boxes)
                frame += positions.shape[0]


class Unwrapper:
    """Per-atom unwrapping with state carried across chunks (see the module docstring for the scheme)."""

    def __init__(self) -> None:
        self._last_stored: np.ndarray | None = None
        self._last_unwrapped: np.ndarray | None = None

    def __call__(self, positions: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Unwrap a chunk (c, N, 3) given the boxes (c, 3, 3) of its frames; returns a new float64 array."""
        positions = np.asarray(positions, dtype=np.float64)
        if self._last_stored is None:
            previous_stored = positions[:1]
            start = positions[0]
        else:
            previous_stored = self._last_stored[None]
            start = self._last_unwrapped
        steps = np.diff(np.concatenate([previous_stored, positions]), axis=0)
        steps = minimum_image(steps, boxes)
        unwrapped = start[None] + np.cumsum(steps, axis=0)
        self._last_stored = positions[-1].copy()
        self._last_unwrapped = unwrapped[-1].copy()
        return unwrapped


def centre_of_mass(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Mass-weighted centre (c, 3) of positions (c, N, 3)."""
    masses = np.asarray(masses, float)
    return np.einsum("cnk,n->ck", positions, masses) / masses.sum()


def remove_com_drift(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Subtract the system centre of mass of every frame from all positions (c, N, 3)."""
    return positions - centre_of_mass(positions, masses)[:, None, :]


class UnwrappedTrajectory:
    """A :class:`TrajectoryReader` whose chunks are unwrapped per atom (and optionally drift-free).

    Iterating yields :class:`FrameChunk` objects with unwrapped positions; each iteration starts afresh.
    """

    def __init__(self, reader: TrajectoryReader, masses_amu: np.ndarray | None = None):
        self.reader = reader
        self.masses_amu = None if masses_amu is None else np.asarray(masses_amu, float)
        if self.masses_amu is not None and self.masses_amu.shape != (reader.n_atoms,):
            raise AnalysisError(f"{self.masses_amu.size} masses for {reader.n_atoms} atoms")

    @property
    def n_frames(self) -> int:
        return self.reader.n_frames

    @property
    def n_atoms(self) -> int:
        return self.reader.n_atoms

    @property
    def frame_interval_ps(self) -> float:
        return self.reader.frame_interval_ps

    def __iter__(self) -> Iterator[FrameChunk]:
        unwrap = Unwrapper()
        for chunk in self.reader:
            positions = unwrap(chunk.positions, chunk.boxes)
            if self.masses_amu is not None:
                positions = remove_com_drift(positions, self.masses_amu)
            yield FrameChunk(chunk.start, positions, chunk.boxes)


class ArrayTrajectory(UnwrappedTrajectory):
    """Frames held in memory (T, N, 3) nm with boxes (T, 3, 3) or (3, 3) nm, streamed like a file trajectory.

    Positions are unwrapped per atom exactly as file trajectories are (a continuous trajectory is left
    unchanged). For tests, notebooks and trajectories already loaded by other tools.
    """

    def __init__(self, positions_nm: np.ndarray, boxes_nm: np.ndarray, frame_interval_ps: float,
                 chunk_frames: int = 256, masses_amu: np.ndarray | None = None):
        positions = np.asarray(positions_nm, float)
        if positions.ndim != 3 or positions.shape[2] != 3:
            raise AnalysisError(f"positions must be (frames, atoms, 3); got {positions.shape}")
        boxes = np.asarray(boxes_nm, float)
        if boxes.shape == (3, 3):
            boxes = np.broadcast_to(boxes, (positions.shape[0], 3, 3))
        if boxes.shape != (positions.shape[0], 3, 3):
            raise AnalysisError(f"boxes must be (3, 3) or (frames, 3, 3); got {boxes.shape}")
        if not frame_interval_ps > 0:
            raise AnalysisError(f"frame interval {frame_interval_ps!r} ps must be > 0")
        self._positions, self._boxes = positions, boxes
        self._interval = float(frame_interval_ps)
        self._chunk = int(chunk_frames)
        self.reader = self
        self.masses_amu = None if masses_amu is None else np.asarray(masses_amu, float)
        self.paths: list = []

    @property
    def n_frames(self) -> int:
        return self._positions.shape[0]

    @property
    def n_atoms(self) -> int:
        return self._positions.shape[1]

    @property
    def frame_interval_ps(self) -> float:
        return self._interval

    def __iter__(self) -> Iterator[FrameChunk]:
        unwrap = Unwrapper()
        for a in range(0, self.n_frames, self._chunk):
            boxes = np.array(self._boxes[a:a + self._chunk])
            positions = unwrap(self._positions[a:a + self._chunk], boxes)
            if self.masses_amu is not None:
                positions = remove_com_drift(positions, self.masses_amu)
            yield FrameChunk(a, positions, boxes)


class ChunkAnalysis:
    """MDAnalysis-AnalysisBase-like base: ``__init__`` validates, :meth:`run` fills ``self.results``.

    Subclasses implement ``_prepare``, ``_process(chunk)`` and ``_conclude``. Several analyses can share
    one pass over a trajectory with :func:`run_together`.
    """

    def __init__(self, trajectory: UnwrappedTrajectory):
        self.trajectory = trajectory
        self.results: dict = {}

    def _prepare(self) -> None:
        pass

    def _process(self, chunk: FrameChunk) -> None:
        raise NotImplementedError

    def _conclude(self) -> None:
        pass

    def run(self) -> "ChunkAnalysis":
        run_together([self])
        return self


def run_together(analyses: Sequence[ChunkAnalysis]) -> None:
    """Run analyses that share one trajectory in a single streaming pass over it."""
    if not analyses:
        return
    trajectory = analyses[0].trajectory
    if any(a.trajectory is not trajectory for a in analyses):
        raise AnalysisError("analyses run together must share one trajectory object")
    for a in analyses:
        a._prepare()
    done = 0
    for chunk in trajectory:
        for a in analyses:
            a._process(chunk)
        done = chunk.stop
        log.info("processed %d / %d frames", done, trajectory.n_frames)
    if done != trajectory.n_frames:
        raise AnalysisError(f"expected {trajectory.n_frames} frames but the trajectory gave {done}")
    for a in analyses:
        a._conclude()
