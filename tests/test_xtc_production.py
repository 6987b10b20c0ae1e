"""XTC production (protocol.trajectory_format: xtc): frames on the step grid, and a crash mid-chunk resumed
without lost or duplicated frames — the resumed file is byte for byte the uninterrupted one."""

from __future__ import annotations

import json

import mdtraj
import numpy as np
import pytest

from common import xtc
from simulation.produce import main as produce_main
from test_simulation_production import _argv, _inputs, kill_in_third_chunk


def test_xtc_frame_walk_matches_mdtraj_and_truncate_refuses_to_invent_frames(tmp_path):
    paths = _inputs(tmp_path / "in", trajectory_format="xtc")
    out = tmp_path / "out"
    assert produce_main(_argv(paths, out)) == 0
    summary = json.loads((out / "production.json").read_text())
    assert summary["trajectory"]["file"] == "trajectory.xtc" and summary["trajectory"]["format"] == "XTC"
    assert not (out / "trajectory.dcd").exists()
    frames = xtc.frames(out / "trajectory.xtc")
    assert len(frames) == summary["trajectory"]["frames"] == 50
    assert [f.step for f in frames] == [10 * (k + 1) for k in range(50)]  # 0.04 ps frames of 4 fs steps
    assert np.allclose([f.time_ps for f in frames], 0.04 * np.arange(1, 51), atol=1e-5)
    with mdtraj.formats.XTCTrajectoryFile(str(out / "trajectory.xtc")) as handle:
        assert list(handle.offsets) == [f.offset for f in frames]
    with pytest.raises(xtc.XtcError, match="holds 50 complete frames, fewer than the 51"):
        xtc.truncate(out / "trajectory.xtc", 51)


def test_xtc_resume_after_a_crash_mid_chunk_is_exact(tmp_path, monkeypatch):
    paths = _inputs(tmp_path / "in", trajectory_format="xtc")
    reference_out = tmp_path / "uninterrupted"
    assert produce_main(_argv(paths, reference_out)) == 0

    out, work = tmp_path / "prod", tmp_path / "work"
    kill_in_third_chunk(monkeypatch, _argv(paths, out, work=work))
    progress = json.loads((work / "progress.json").read_text())
    assert progress["chunks_done"] == 2 and progress["frames_written"] == 20
    assert xtc.count_frames(work / "trajectory.xtc") == 25
    with open(work / "trajectory.xtc", "ab") as handle:  # half a frame from a writer killed mid-frame
        handle.write((work / "trajectory.xtc").read_bytes()[:150])
    assert xtc.count_frames(work / "trajectory.xtc") == 25

    assert produce_main(_argv(paths, out, work=work)) == 0
    assert (out / "trajectory.xtc").read_bytes() == (reference_out / "trajectory.xtc").read_bytes()
    summary = json.loads((out / "production.json").read_text())
    assert len(summary["resumes"]) == 1 and summary["trajectory"]["frames"] == 50


def test_the_transport_reader_reads_a_production_xtc_with_the_reports_frame_interval(tmp_path):
    from analysis.trajectory import TrajectoryReader
    from common import dcd

    paths = _inputs(tmp_path / "in", trajectory_format="xtc")
    assert produce_main(_argv(paths, tmp_path / "x")) == 0
    paths_dcd = _inputs(tmp_path / "in_dcd")
    assert produce_main(_argv(paths_dcd, tmp_path / "d")) == 0
    report = json.loads((tmp_path / "x" / "production.json").read_text())
    reader = TrajectoryReader([tmp_path / "x" / "trajectory.xtc"], report["n_particles"],
                              topology_path=paths["topology"],
                              report_interval_ps=report["trajectory"]["frame_interval_ps"])
    assert reader.n_frames == 50 and reader.frame_interval_ps == pytest.approx(0.04)
    positions = np.concatenate([chunk.positions for chunk in reader])
    reference, _, _ = dcd.read_positions(tmp_path / "d" / "trajectory.dcd")
    assert np.abs(positions - reference).max() <= 0.0006  # XTC keeps 0.001 nm
