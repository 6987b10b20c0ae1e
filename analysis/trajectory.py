"""Chunked streaming of trajectories, per-atom unwrapping and centre-of-mass drift removal.

Reading
-------
:class:`TrajectoryReader` streams one or more consecutive trajectory files (segments of one run, in
order) in chunks of frames, so that per-atom arrays never hold the whole trajectory: positions in nm
(float64) and the periodic box of every frame as three row vectors in nm. DCD files (what OpenMM's
``DCDReporter`` writes) are read directly with NumPy: the header gives the atom count, whether a unit
cell is stored, and the frame interval ``NSAVC × DELTA`` (DELTA in AKMA time units of 0.04888821 ps). A
truncated last frame (a killed run) is ignored. Other formats (XTC, TRR, NetCDF, HDF5) are read with
``mdtraj.iterload``; their frame interval comes from the frame times.

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
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from common.errors import AnalysisError, InputFileError

log = logging.getLogger("gelmd.analysis")

AKMA_TIME_PS = 0.04888821
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


# ----------------------------------------------------------------------------------------------- DCD files

@dataclass(frozen=True)
class _DCDLayout:
    path: Path
    n_atoms: int
    n_frames: int
    header_bytes: int
    has_box: bool
    endian: str
    frame_interval_ps: float | None


def _read_dcd_layout(path: Path) -> _DCDLayout:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(92)
        if len(head) < 92:
            raise AnalysisError(f"DCD file {str(path)!r} is too short ({size} bytes) to hold a DCD header")
        endian = "<" if struct.unpack("<i", head[:4])[0] == 84 else ">"
        if struct.unpack(endian + "i", head[:4])[0] != 84 or head[4:8] != b"CORD":
            raise AnalysisError(f"{str(path)!r} is not a DCD file with 32-bit record markers (no 'CORD' header)")
        icntrl = struct.unpack(endian + "9if10i", head[8:88])
        nsavc, delta, fixed, has_box, four_dims = icntrl[2], icntrl[9], icntrl[8], icntrl[10], icntrl[11]
        if fixed:
            raise AnalysisError(f"DCD file {str(path)!r} has {fixed} fixed atoms; such files are not supported")
        if four_dims:
            raise AnalysisError(f"DCD file {str(path)!r} stores 4-dimensional coordinates; not supported")
        title_bytes = struct.unpack(endian + "i", fh.read(4))[0]
        fh.seek(92 + 4 + title_bytes + 4)
        marker, n_atoms, _ = struct.unpack(endian + "3i", fh.read(12))
        if marker != 4 or n_atoms <= 0:
            raise AnalysisError(f"DCD file {str(path)!r}: unreadable atom-count record")
    header_bytes = 92 + 4 + title_bytes + 4 + 12
    frame_bytes = (56 if has_box else 0) + 3 * (8 + 4 * n_atoms)
    n_frames, leftover = divmod(size - header_bytes, frame_bytes)
    if leftover:
        log.warning("DCD file %s ends with a partial frame (%d bytes); it is ignored", path, leftover)
    interval = nsavc * delta * AKMA_TIME_PS if nsavc > 0 and math.isfinite(delta) and delta > 0 else None
    if interval is not None:
        interval = float(f"{interval:.6g}")  # DELTA is float32: keep 6 significant digits
    return _DCDLayout(path, n_atoms, n_frames, header_bytes, bool(has_box), endian, interval)


def _dcd_frame_dtype(layout: _DCDLayout) -> np.dtype:
    e, n = layout.endian, layout.n_atoms
    fields = []
    if layout.has_box:
        fields += [("box_start", e + "i4"), ("cell", e + "f8", (6,)), ("box_end", e + "i4")]
    for axis in "xyz":
        fields += [(f"{axis}_start", e + "i4"), (axis, e + "f4", (n,)), (f"{axis}_end", e + "i4")]
    return np.dtype(fields)


def _dcd_cell_to_boxes(cell: np.ndarray) -> np.ndarray:
    """CHARMM/OpenMM unit-cell record [A, γ, B, β, α, C] (Å; angles as cosines or degrees) → box (nm)."""
    lengths = cell[:, [0, 2, 5]] / 10.0
    angles = cell[:, [4, 3, 1]]
    if np.all(np.abs(angles) <= 1.0):
        angles = np.degrees(np.arccos(angles))
    return box_vectors_from_lengths_angles(lengths, angles)


def _iter_dcd(layout: _DCDLayout, chunk_frames: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    frames = np.memmap(layout.path, dtype=_dcd_frame_dtype(layout), mode="r", offset=layout.header_bytes,
                       shape=(layout.n_frames,))
    if layout.n_frames:
        first = frames[0]
        if first["x_start"] != 4 * layout.n_atoms or (layout.has_box and first["box_start"] != 48):
            raise AnalysisError(f"DCD file {str(layout.path)!r}: frame records do not match the header "
                                f"({layout.n_atoms} atoms{', unit cell' if layout.has_box else ''})")
    for a in range(start, layout.n_frames, chunk_frames):
        block = frames[a:a + chunk_frames]
        positions = np.stack([block["x"], block["y"], block["z"]], axis=-1).astype(np.float64) / 10.0
        if not layout.has_box:
            raise AnalysisError(f"trajectory {str(layout.path)!r} stores no periodic box (unit cell); unwrapping "
                                "and volumes need it: write the trajectory from a periodic System/topology")
        yield positions, _dcd_cell_to_boxes(np.asarray(block["cell"], dtype=np.float64))


# ------------------------------------------------------------------------------------------- other formats

def _mdtraj_info(path: Path, topology_path: Path | None) -> tuple[int, int, float | None]:
    """Atom count, frame count and frame interval (from frame times) of a file mdtraj can read."""
    import mdtraj

    if topology_path is None:
        raise AnalysisError(f"reading {str(path)!r} needs the topology file (formats other than DCD)")
    try:
        head = next(iter(mdtraj.iterload(str(path), top=str(topology_path), chunk=2)))
    except StopIteration:
        return 0, 0, None
    except ValueError as exc:  # mdtraj reports an atom-count mismatch as ValueError
        raise AnalysisError(f"trajectory {str(path)!r} does not match topology {str(topology_path)!r}: {exc}") from exc
    try:
        with mdtraj.open(str(path)) as fh:
            n_frames = len(fh)
    except (TypeError, NotImplementedError, AttributeError):
        n_frames = sum(t.n_frames for t in mdtraj.iterload(str(path), top=str(topology_path), chunk=1000))
    interval = float(head.time[1] - head.time[0]) if head.n_frames > 1 else None
    return head.n_atoms, n_frames, (interval if interval and interval > 0 else None)


# ---------------------------------------------------------------------------------------------- the reader

class TrajectoryReader:
    """Stream consecutive trajectory files (segments of one run) in chunks of frames.

    Parameters
    ----------
    paths
        Trajectory files in time order; frames are concatenated.
    n_atoms
        Atom count of the topology; every file must have it.
    topology_path
        Needed for non-DCD formats (read through mdtraj).
    frame_interval_ps
        Time between frames; overrides what the files say. Required when the files do not say it.
    chunk_frames
        Frames per chunk; default keeps a chunk of float64 positions near 64 MiB.
    discard_frames
        Frames dropped at the start (equilibration).

    Attributes after construction: ``n_frames`` (after discarding), ``frame_interval_ps``,
    ``frame_interval_source`` ("file header", "frame times" or "given"), ``frames_per_file``.
    """

    def __init__(self, paths: Sequence[str | Path], n_atoms: int, topology_path: str | Path | None = None,
                 frame_interval_ps: float | None = None, chunk_frames: int | None = None, discard_frames: int = 0):
        if not paths:
            raise AnalysisError("no trajectory file was given")
        self.paths = [Path(p) for p in paths]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise InputFileError(f"trajectory file(s) {missing} do not exist")
        self.n_atoms = int(n_atoms)
        self.topology_path = Path(topology_path) if topology_path is not None else None
        self._layouts: list[_DCDLayout | None] = []
        counts, intervals = [], []
        for path in self.paths:
            suffix = path.suffix.lower()
            if suffix in _DCD_SUFFIXES:
                layout = _read_dcd_layout(path)
                n_atoms_file, n_frames, interval = layout.n_atoms, layout.n_frames, layout.frame_interval_ps
            elif suffix in _MDTRAJ_SUFFIXES:
                layout = None
                n_atoms_file, n_frames, interval = _mdtraj_info(path, self.topology_path)
            else:
                raise AnalysisError(f"trajectory {str(path)!r}: unknown format {suffix!r}; allowed: "
                                    f"{sorted(_DCD_SUFFIXES | _MDTRAJ_SUFFIXES)}")
            if layout is not None and not layout.has_box and n_frames:
                raise AnalysisError(f"trajectory {str(path)!r} stores no periodic box (unit cell); unwrapping and "
                                    "volumes need it: write it from a periodic topology (OpenMM DCDReporter does so "
                                    "when the Topology has periodic box vectors)")
            if n_atoms_file != self.n_atoms:
                raise AnalysisError(f"trajectory {str(path)!r} has {n_atoms_file} atoms but the topology has "
                                    f"{self.n_atoms}; they must describe the same atoms")
            self._layouts.append(layout)
            counts.append(n_frames)
            intervals.append(interval)
        self.frames_per_file = counts
        if frame_interval_ps is not None:
            if not frame_interval_ps > 0:
                raise AnalysisError(f"frame interval {frame_interval_ps!r} ps must be > 0")
            self.frame_interval_ps = float(frame_interval_ps)
            self.frame_interval_source = "given"
        else:
            known = [(p, i) for p, i in zip(self.paths, intervals) if i is not None]
            if not known:
                raise AnalysisError(f"the trajectory file(s) {[str(p) for p in self.paths]} do not state the time "
                                    "between frames; give it (CLI: --frame-interval '10 ps')")
            values = np.array([i for _, i in known])
            if np.any(np.abs(values - values[0]) > 1e-4 * values[0]):
                detail = ", ".join(f"{p.name}: {i:g} ps" for p, i in known)
                raise AnalysisError(f"the trajectory files have different frame intervals ({detail}); they must "
                                    "be segments of one run written at one interval")
            self.frame_interval_ps = float(values[0])
            self.frame_interval_source = "file header" if self._layouts[0] is not None else "frame times"
        self.discard_frames = int(discard_frames)
        total = sum(counts)
        if self.discard_frames < 0 or self.discard_frames >= max(total, 1):
            raise AnalysisError(f"cannot discard {self.discard_frames} frames of a {total}-frame trajectory")
        self.n_frames = total - self.discard_frames
        per_frame = self.n_atoms * 3 * 8
        self.chunk_frames = int(chunk_frames) if chunk_frames else max(1, DEFAULT_CHUNK_BYTES // per_frame)

    @property
    def run_length_ps(self) -> float:
        """Time spanned by the frames analysed, (n_frames − 1) × frame interval."""
        return (self.n_frames - 1) * self.frame_interval_ps

    def _iter_file(self, index: int, skip: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        layout = self._layouts[index]
        if layout is not None:
            yield from _iter_dcd(layout, self.chunk_frames, start=skip)
            return
        import mdtraj

        path = self.paths[index]
        for traj in mdtraj.iterload(str(path), top=str(self.topology_path), chunk=self.chunk_frames, skip=skip):
            if traj.unitcell_vectors is None:
                raise AnalysisError(f"trajectory {str(path)!r} stores no periodic box (unit cell); unwrapping "
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
