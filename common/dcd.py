"""The one DCD parser of gelmd: header, writer recognition, frame reading and truncation.

DCD (CHARMM flavour, 32-bit Fortran record markers, either byte order) is what OpenMM's ``DCDReporter``
and ``DCDFile`` write. Simulation uses this module to cut a trajectory back to its last checkpoint on
resume; analysis uses it to stream frames. Both live above ``common/`` in the import rules, so the parser
lives here.

Layout (byte offsets)
    A record of 84 bytes: ``CORD``, then 20 int32 "ICNTRL" words with one float32 among them —
    frame count (offset 8), first step ``ISTART`` (12), step interval ``NSAVC`` (16), last step (20),
    fixed atoms (40), time step ``DELTA`` in AKMA time units (44, float32; 1 AKMA = 0.04888821 ps),
    unit-cell flag (48), 4-D flag (52), CHARMM version (84). A title record (its byte length at 92):
    an int32 line count and 80-byte lines. An atom-count record (12 bytes). Each frame is an optional
    unit-cell record (4 + 48 + 4 bytes: float64 ``[A, γ, B, β, α, C]``, lengths in Å, angles as cosines
    or degrees) followed by three records (4 + 4N + 4 bytes) of float32 x, y, z in Å.

Which header time to trust
    Only OpenMM writes the real time step and save interval: its title's first line is
    ``"Created by OpenMM"`` (``openmm/app/dcdfile.py``). Other writers put placeholders there — mdtraj
    (VMD's DCD plugin, title ``"Created by DCD plugin"``) writes ``DELTA = 1`` AKMA and ``NSAVC = 1``,
    which reads as 0.0489 ps between frames whatever the real interval was. :attr:`DcdHeader.trusted_frame_interval_ps`
    is therefore ``None`` for every file OpenMM did not write; :attr:`DcdHeader.frame_interval_ps` is what
    the header claims, for messages.

Why truncation exists
    A production run killed mid-way has written frames past its last checkpoint (maybe half a frame;
    OpenMM bumps the header's frame count *before* writing a frame's data). On resume the DCD is cut back
    to exactly the frames the checkpoint has seen and its header (frame count, last step) rewritten, so
    the resumed run appends without lost or duplicated frames.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from common.errors import InputFileError, SimulationError

AKMA_TIME_PS = 0.04888821
"""One AKMA time unit in ps (DCD stores its time step ``DELTA`` in these units)."""
OPENMM_TITLE = "Created by OpenMM"
"""First title line of every DCD that OpenMM's ``DCDFile`` writes: the mark of a header whose time is real."""
_ICNTRL_BYTES = 84          # "CORD" + 20 four-byte words
_TITLE_LINE_BYTES = 80
_CELL_RECORD_BYTES = 4 + 48 + 4
_ANGSTROM_PER_NM = 10.0


@dataclass(frozen=True)
class DcdHeader:
    """What the header of one DCD file says, and the byte layout that follows from it.

    ``timestep_ps`` is ``DELTA`` × 0.04888821 ps as stored (a placeholder unless OpenMM wrote the file);
    ``title`` the title lines; ``endian`` ``"<"`` or ``">"``.
    """

    path: Path
    n_frames_header: int
    first_step: int
    step_interval: int
    timestep_ps: float
    has_unit_cell: bool
    n_atoms: int
    header_bytes: int
    frame_bytes: int
    file_bytes: int
    endian: str
    title: tuple[str, ...]

    @property
    def n_complete_frames(self) -> int:
        """Frames whose bytes are all in the file (may differ from the header's count after a crash)."""
        return max(0, (self.file_bytes - self.header_bytes) // self.frame_bytes)

    @property
    def trailing_bytes(self) -> int:
        """Bytes of a partial last frame (a run killed while writing), 0 for a clean file."""
        return max(0, self.file_bytes - self.header_bytes) % self.frame_bytes

    @property
    def written_by_openmm(self) -> bool:
        """True when the title says OpenMM wrote the file (see the module docstring)."""
        return bool(self.title) and self.title[0].startswith(OPENMM_TITLE)

    @property
    def writer(self) -> str:
        """The title's first line (who wrote the file, as far as the file says), for messages."""
        return self.title[0] if self.title and self.title[0] else "no title"

    @property
    def frame_interval_ps(self) -> float | None:
        """``NSAVC × DELTA`` in ps as the header claims it (6 significant digits: DELTA is float32); None if ≤ 0."""
        interval = self.step_interval * self.timestep_ps
        if not (np.isfinite(interval) and interval > 0):
            return None
        return float(f"{interval:.6g}")

    @property
    def trusted_frame_interval_ps(self) -> float | None:
        """The header's frame interval when OpenMM wrote the file, else None (the header cannot be trusted)."""
        return self.frame_interval_ps if self.written_by_openmm else None

    def frame_time_ps(self, index: int) -> float:
        """Simulation time the header gives frame ``index`` (0-based): (ISTART + index × NSAVC) × DELTA."""
        return (self.first_step + index * self.step_interval) * self.timestep_ps


def _fail(path: Path, what: str) -> InputFileError:
    return InputFileError(f"DCD file {str(path)!r} cannot be read: {what}")


def _read_title(handle, path: Path, endian: str) -> tuple[int, tuple[str, ...]]:
    """The title record at byte 92: its byte length and its lines (decoded, NUL padding stripped)."""
    marker = handle.read(4)
    if len(marker) < 4:
        raise _fail(path, "the header is truncated before its title record")
    (title_bytes,) = struct.unpack(endian + "i", marker)
    block = handle.read(title_bytes)
    if title_bytes < 4 or len(block) < title_bytes:
        raise _fail(path, f"title record of {title_bytes} bytes is invalid or truncated")
    (n_lines,) = struct.unpack(endian + "i", block[:4])
    lines = []
    for k in range(max(0, min(n_lines, (title_bytes - 4) // _TITLE_LINE_BYTES))):
        raw = block[4 + k * _TITLE_LINE_BYTES: 4 + (k + 1) * _TITLE_LINE_BYTES]
        lines.append(raw.split(b"\0", 1)[0].decode("ascii", "replace").strip())
    return title_bytes, tuple(lines)


def read_header(path: str | Path) -> DcdHeader:
    """Read the header of a DCD file; :class:`InputFileError` naming the file if it is not one we can read."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"DCD file {str(path)!r} does not exist")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4 + _ICNTRL_BYTES + 4)
        if len(head) < 92:
            raise _fail(path, f"{size} bytes are too few for a DCD header")
        endian = "<" if struct.unpack("<i", head[:4])[0] == _ICNTRL_BYTES else ">"
        if struct.unpack(endian + "i", head[:4])[0] != _ICNTRL_BYTES or head[4:8] != b"CORD":
            raise _fail(path, "no 'CORD' header with 32-bit record markers")
        icntrl = struct.unpack(endian + "9if10i", head[8:88])
        n_frames, first_step, interval = icntrl[0], icntrl[1], icntrl[2]
        fixed, delta, has_cell, four_dims = icntrl[8], icntrl[9], icntrl[10], icntrl[11]
        if fixed:
            raise _fail(path, f"it has {fixed} fixed atoms (not supported)")
        if four_dims:
            raise _fail(path, "it stores 4-dimensional coordinates (not supported)")
        title_bytes, title = _read_title(handle, path, endian)
        handle.seek(92 + 4 + title_bytes + 4)
        atoms = handle.read(12)
    if len(atoms) < 12:
        raise _fail(path, "the header is truncated before its atom-count record")
    marker, n_atoms, _ = struct.unpack(endian + "3i", atoms)
    if marker != 4 or n_atoms <= 0:
        raise _fail(path, f"unreadable atom-count record (marker {marker}, {n_atoms} atoms)")
    frame_bytes = (_CELL_RECORD_BYTES if has_cell else 0) + 3 * (8 + 4 * n_atoms)
    return DcdHeader(path=path, n_frames_header=n_frames, first_step=first_step, step_interval=interval,
                     timestep_ps=float(delta) * AKMA_TIME_PS, has_unit_cell=bool(has_cell), n_atoms=n_atoms,
                     header_bytes=92 + 4 + title_bytes + 4 + 12, frame_bytes=frame_bytes, file_bytes=size,
                     endian=endian, title=title)


def frame_dtype(header: DcdHeader) -> np.dtype:
    """NumPy record type of one frame (markers included), for ``np.memmap``/``np.fromfile``."""
    e, n = header.endian, header.n_atoms
    fields = []
    if header.has_unit_cell:
        fields += [("cell_start", e + "i4"), ("cell", e + "f8", (6,)), ("cell_end", e + "i4")]
    for axis in "xyz":
        fields += [(f"{axis}_start", e + "i4"), (axis, e + "f4", (n,)), (f"{axis}_end", e + "i4")]
    return np.dtype(fields)


def _frames(header: DcdHeader) -> np.ndarray:
    """Memory map of the complete frames, checked against the header's atom count and unit-cell flag."""
    n = header.n_complete_frames
    frames = np.memmap(header.path, dtype=frame_dtype(header), mode="r", offset=header.header_bytes, shape=(n,)) \
        if n else np.zeros(0, dtype=frame_dtype(header))
    if n:
        first = frames[0]
        if first["x_start"] != 4 * header.n_atoms or (header.has_unit_cell and first["cell_start"] != 48):
            raise _fail(header.path, f"frame records do not match the header ({header.n_atoms} atoms"
                                     f"{', unit cell' if header.has_unit_cell else ''})")
    return frames


def iter_frames(header: DcdHeader, chunk_frames: int, start: int = 0
                ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield chunks of complete frames from ``start``: positions (c, N, 3) float64 in nm and the raw
    unit-cell records (c, 6) float64 ``[A, γ, B, β, α, C]`` (Å; cosines or degrees), or None without a cell."""
    frames = _frames(header)
    for a in range(start, frames.shape[0], chunk_frames):
        block = frames[a:a + chunk_frames]
        positions = np.stack([block["x"], block["y"], block["z"]], axis=-1).astype(np.float64) / _ANGSTROM_PER_NM
        cells = np.asarray(block["cell"], dtype=np.float64) if header.has_unit_cell else None
        yield positions, cells


def first_frame_bytes(header: DcdHeader) -> bytes:
    """The coordinate bytes of the first complete frame (b"" when there is none): a fingerprint of a file."""
    frames = _frames(header)
    if not frames.shape[0]:
        return b""
    first = frames[0]
    return b"".join(np.asarray(first[axis]).tobytes() for axis in "xyz")


def cell_lengths_angles(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-cell records (c, 6) → edge lengths (c, 3) in nm and angles α, β, γ (c, 3) in degrees.

    OpenMM stores the cosines of the angles (sin(π/2 − angle)); CHARMM writes degrees: all values within
    [−1, 1] are read as cosines.
    """
    cells = np.asarray(cells, float)
    lengths = cells[:, [0, 2, 5]] / _ANGSTROM_PER_NM
    angles = cells[:, [4, 3, 1]]
    if np.all(np.abs(angles) <= 1.0):
        angles = np.degrees(np.arccos(angles))
    return lengths, angles


def read_positions(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, DcdHeader]:
    """All complete frames: positions (n_frames, n_atoms, 3) in nm, box edge lengths (n_frames, 3) in nm or None."""
    header = read_header(path)
    chunks = list(iter_frames(header, max(1, header.n_complete_frames)))
    if not chunks:
        return np.zeros((0, header.n_atoms, 3)), (np.zeros((0, 3)) if header.has_unit_cell else None), header
    positions = chunks[0][0]
    lengths = cell_lengths_angles(chunks[0][1])[0] if header.has_unit_cell else None
    return positions, lengths, header


def truncate(path: str | Path, n_frames: int) -> DcdHeader:
    """Cut a DCD back to its first ``n_frames`` frames and make the header say so (frame count, last step).

    Raises :class:`SimulationError` if the file holds fewer than ``n_frames`` complete frames (the
    trajectory lost data a checkpoint relied on). The file is fsync'ed before returning.
    """
    header = read_header(path)
    if header.n_complete_frames < n_frames:
        raise SimulationError(
            f"trajectory {str(path)!r} holds {header.n_complete_frames} complete frames but the checkpoint "
            f"expects {n_frames}; the trajectory cannot be resumed (delete the work folder to start over)")
    with open(path, "r+b") as handle:
        handle.truncate(header.header_bytes + n_frames * header.frame_bytes)
        handle.seek(8)
        handle.write(struct.pack(header.endian + "i", n_frames))
        handle.seek(20)
        handle.write(struct.pack(header.endian + "i",
                                 header.first_step + max(n_frames - 1, 0) * header.step_interval))
        handle.flush()
        os.fsync(handle.fileno())
    return read_header(path)
