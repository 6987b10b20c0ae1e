"""DCD files as OpenMM writes them (CHARMM flavour, little-endian): header reading, truncation, reading.

Why this module exists: a production run killed mid-way has written trajectory frames past its last
checkpoint (and maybe half a frame; OpenMM also bumps the header's frame count *before* writing a frame's
data). On resume the DCD is cut back to exactly the frames the checkpoint has seen and its header (frame
count, last step) rewritten, so the resumed run appends without lost or duplicated frames.

Layout (byte offsets): a Fortran record of 84 bytes holding ``CORD``, the frame count (offset 8), the
first step ``istart`` (12), the step interval ``nsavc`` (16), the last step (20), the time step in AKMA
units (44, float32) and the unit-cell flag (48); a title record (its length at offset 92); an atom-count
record (12 bytes). Each frame is an optional unit-cell record (4 + 48 + 4 bytes, lengths in Å) followed by
three records (4 + 4N + 4 bytes) of float32 x, y, z in Å.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import SimulationError

AKMA_TIME_PS = 0.04888821  # one AKMA time unit in ps (DCD stores the time step in these units)


@dataclass(frozen=True)
class DcdHeader:
    """What the header of a DCD file says, and the byte layout that follows from it."""

    n_frames_header: int
    first_step: int
    step_interval: int
    timestep_ps: float
    has_unit_cell: bool
    n_atoms: int
    header_bytes: int
    frame_bytes: int
    file_bytes: int

    @property
    def n_complete_frames(self) -> int:
        """Frames whose bytes are all in the file (may differ from the header after a crash)."""
        return max(0, (self.file_bytes - self.header_bytes) // self.frame_bytes)

    def frame_time_ps(self, index: int) -> float:
        """Simulation time of frame ``index`` (0-based): (istart + index x nsavc) x dt."""
        return (self.first_step + index * self.step_interval) * self.timestep_ps


def read_header(path: str | Path) -> DcdHeader:
    """Read the header of a DCD file; SimulationError if it is not one."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(100)
        if len(head) < 100 or struct.unpack("<i", head[:4])[0] != 84 or head[4:8] != b"CORD":
            raise SimulationError(f"{str(path)!r} is not a DCD file written by OpenMM (bad header)")
        n_frames, first_step, interval, _last = struct.unpack("<4i", head[8:24])
        (dt_akma,) = struct.unpack("<f", head[44:48])
        (cell_flag,) = struct.unpack("<i", head[48:52])
        (title_bytes,) = struct.unpack("<i", head[92:96])
        handle.seek(96 + title_bytes + 4)
        natoms_record = handle.read(12)
    if len(natoms_record) < 12:
        raise SimulationError(f"{str(path)!r}: DCD header is truncated")
    _, n_atoms, _ = struct.unpack("<3i", natoms_record)
    header_bytes = 96 + title_bytes + 4 + 12
    frame_bytes = (56 if cell_flag else 0) + 3 * (8 + 4 * n_atoms)
    return DcdHeader(n_frames_header=n_frames, first_step=first_step, step_interval=interval,
                     timestep_ps=float(dt_akma) * AKMA_TIME_PS, has_unit_cell=bool(cell_flag),
                     n_atoms=n_atoms, header_bytes=header_bytes, frame_bytes=frame_bytes, file_bytes=size)


def truncate(path: str | Path, n_frames: int) -> DcdHeader:
    """Cut a DCD back to its first ``n_frames`` frames and make the header say so.

    Raises SimulationError if the file holds fewer than ``n_frames`` complete frames (the trajectory
    lost data a checkpoint relied on). The file is fsync'ed before returning.
    """
    header = read_header(path)
    if header.n_complete_frames < n_frames:
        raise SimulationError(
            f"trajectory {str(path)!r} holds {header.n_complete_frames} complete frames but the checkpoint "
            f"expects {n_frames}; the trajectory cannot be resumed (delete the work folder to start over)")
    with open(path, "r+b") as handle:
        handle.truncate(header.header_bytes + n_frames * header.frame_bytes)
        handle.seek(8)
        handle.write(struct.pack("<i", n_frames))
        handle.seek(20)
        handle.write(struct.pack("<i", header.first_step + max(n_frames - 1, 0) * header.step_interval))
        handle.flush()
        os.fsync(handle.fileno())
    return read_header(path)


def read_positions(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, DcdHeader]:
    """All complete frames: positions (n_frames, n_atoms, 3) in nm, box lengths (n_frames, 3) in nm or None."""
    header = read_header(path)
    n = header.n_complete_frames
    raw = np.fromfile(path, dtype=np.uint8, offset=header.header_bytes,
                      count=n * header.frame_bytes).reshape(n, header.frame_bytes)
    positions = np.empty((n, header.n_atoms, 3), dtype=np.float32)
    offset = 0
    cells = None
    if header.has_unit_cell:
        cell = raw[:, 4:52].copy().view("<f8").reshape(n, 6)
        cells = cell[:, [0, 2, 5]] / 10.0
        offset = 56
    record = 8 + 4 * header.n_atoms
    for axis in range(3):
        start = offset + axis * record + 4
        positions[:, :, axis] = raw[:, start:start + 4 * header.n_atoms].copy().view("<f4").reshape(n, header.n_atoms)
    return positions / 10.0, cells, header
