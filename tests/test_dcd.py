"""common.dcd, the one DCD parser: writer recognition, the header's frame interval, frames, truncation."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import transport_synthetic as ts
from common import dcd
from common.errors import InputFileError, SimulationError

COUNTS = {"NA": 2, "PF6": 2}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dcd")
    x = ts.walk(COUNTS, {"NA": 0.01, "PF6": 0.01}, 12, 0.5, seed=2)
    return x, {"openmm": ts.write_dcd(folder / "openmm.dcd", COUNTS, x, dt_ps=0.5, first_frame=3),
               "mdtraj": ts.write_mdtraj_dcd(folder / "mdtraj.dcd", COUNTS, x)}


def test_openmm_header_is_recognised_and_trusted(files):
    _, paths = files
    h = dcd.read_header(paths["openmm"])
    assert h.written_by_openmm and h.title[0] == "Created by OpenMM"
    assert h.step_interval == 250 and h.first_step == 750                    # 0.5 ps / 2 fs; frame 3 of the run
    assert h.frame_interval_ps == 0.5 and h.trusted_frame_interval_ps == 0.5
    assert h.frame_time_ps(0) == pytest.approx(1.5, rel=1e-6)
    assert h.n_atoms == 16 and h.has_unit_cell and h.n_complete_frames == h.n_frames_header == 12


def test_mdtraj_header_is_a_placeholder_and_not_trusted(files):
    """mdtraj writes NSAVC = 1, DELTA = 1 AKMA: 0.0489 ps per frame whatever the run's interval was."""
    _, paths = files
    h = dcd.read_header(paths["mdtraj"])
    assert not h.written_by_openmm and h.writer == "Created by DCD plugin"
    assert h.step_interval == 1 and h.frame_interval_ps == pytest.approx(dcd.AKMA_TIME_PS)
    assert h.trusted_frame_interval_ps is None


def test_both_writers_give_the_same_frames(files):
    x, paths = files
    wrapped = x - ts.BOX_NM * np.floor(x / ts.BOX_NM)
    for path in paths.values():
        positions, lengths, header = dcd.read_positions(path)
        assert positions.shape == (12, 16, 3)
        assert np.allclose(positions, wrapped, atol=1e-5)                   # float32 Å
        assert np.allclose(lengths, ts.BOX_NM)
        cells = next(dcd.iter_frames(header, 4))[1]
        lengths_nm, angles = dcd.cell_lengths_angles(cells)                  # OpenMM: cosines; mdtraj: degrees
        assert np.allclose(lengths_nm, ts.BOX_NM) and np.allclose(angles, 90.0)


def test_truncate_cuts_frames_and_rewrites_the_header(files, tmp_path):
    _, paths = files
    path = tmp_path / "cut.dcd"
    path.write_bytes(paths["openmm"].read_bytes() + b"\0" * 7)              # half a frame from a killed run
    assert dcd.read_header(path).trailing_bytes == 7
    h = dcd.truncate(path, 5)
    assert h.n_frames_header == h.n_complete_frames == 5 and h.trailing_bytes == 0
    (last_step,) = struct.unpack("<i", path.read_bytes()[20:24])
    assert last_step == h.first_step + 4 * h.step_interval
    with pytest.raises(SimulationError, match="cannot be resumed"):
        dcd.truncate(path, 6)


def test_a_file_that_is_not_a_dcd_is_refused_by_name(tmp_path):
    bad = tmp_path / "bad.dcd"
    bad.write_bytes(b"\0" * 200)
    with pytest.raises(InputFileError, match="bad.dcd.*CORD"):
        dcd.read_header(bad)
    with pytest.raises(InputFileError, match="does not exist"):
        dcd.read_header(tmp_path / "none.dcd")
