"""XTC frame walk and truncation: what a resumed production run needs to cut an XTC back exactly.

An XTC file is a sequence of XDR (big-endian) frames of variable length: ``magic`` (1995), ``natoms``,
``step``, ``time`` (float, ps), the box (9 floats, nm), ``natoms`` again, then either ``3 natoms`` plain
floats (``natoms <= 9``) or the compressed block: precision, ``minint[3]``, ``maxint[3]``, ``smallidx``, a
byte count ``n`` and ``n`` bytes padded to a multiple of 4 (GROMACS ``xdrfile.c``, ``xdrfile_decompress_coord_float``
and ``xtc_header``; OpenMM's ``XTCFile`` writes the same format). :func:`frames` walks the headers
without decompressing; a frame cut short by a killed writer is not counted. :func:`truncate` cuts the file
after a given number of complete frames (the resume of :mod:`simulation.production`, like
:func:`common.dcd.truncate` for DCD).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from common.errors import GelmdError

MAGIC = 1995
_HEADER = struct.Struct(">iiif9fi")  # magic, natoms, step, time, box[9], natoms again: 56 bytes
_COMPRESSED = struct.Struct(">f3i3iii")  # precision, minint, maxint, smallidx, byte count: 36 bytes


class XtcError(GelmdError, ValueError):
    """A file that is not an XTC trajectory, or one with other atoms."""


@dataclass(frozen=True)
class XtcFrame:
    offset: int  # byte offset of the frame in the file
    size: int  # bytes
    step: int
    time_ps: float
    natoms: int


def frames(path: str | Path) -> list[XtcFrame]:
    """The complete frames of ``path`` in order (a trailing partial frame is left out)."""
    path = Path(path)
    size = path.stat().st_size
    found: list[XtcFrame] = []
    with open(path, "rb") as handle:
        offset = 0
        while offset + _HEADER.size <= size:
            handle.seek(offset)
            header = handle.read(_HEADER.size)
            magic, natoms, step, time_ps, *rest = _HEADER.unpack(header)
            if magic != MAGIC:
                raise XtcError(f"{str(path)!r}: no XTC frame at byte {offset} (magic {magic}, expected {MAGIC})")
            if natoms <= 9:
                length = _HEADER.size + 12 * natoms
            else:
                block = handle.read(_COMPRESSED.size)
                if len(block) < _COMPRESSED.size:
                    break
                n_bytes = _COMPRESSED.unpack(block)[-1]
                length = _HEADER.size + _COMPRESSED.size + (n_bytes + 3) // 4 * 4
            if offset + length > size:
                break
            found.append(XtcFrame(offset, length, step, time_ps, natoms))
            offset += length
    return found


def count_frames(path: str | Path) -> int:
    path = Path(path)
    return len(frames(path)) if path.exists() and path.stat().st_size else 0


def truncate(path: str | Path, n_frames: int) -> None:
    """Keep the first ``n_frames`` complete frames of ``path`` (fsync'ed); XtcError if it holds fewer."""
    path = Path(path)
    found = frames(path)
    if len(found) < n_frames:
        raise XtcError(f"{str(path)!r} holds {len(found)} complete frames, fewer than the {n_frames} to keep")
    end = found[n_frames - 1].offset + found[n_frames - 1].size if n_frames else 0
    with open(path, "r+b") as handle:
        handle.truncate(end)
        handle.flush()
        os.fsync(handle.fileno())
