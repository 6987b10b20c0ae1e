"""benchmarks/partial_transport.py copies exactly the frames an unfinished production's last checkpoint covers."""

from __future__ import annotations

import json

import mdtraj
import numpy as np
import pytest

from benchmarks import partial_transport


def _unfinished_production(root, frames_in_dcd: int, frames_written: int):
    system_dir = root / "campaign" / "LE"
    (system_dir / "build").mkdir(parents=True)
    (system_dir / "production.work").mkdir()
    topology = mdtraj.Topology()
    chain = topology.add_chain()
    for name, element in (("NA", mdtraj.element.sodium), ("PF6", mdtraj.element.phosphorus)):
        topology.add_atom("X", element, topology.add_residue(name, chain))
    xyz = np.arange(frames_in_dcd * 6, dtype=np.float32).reshape(frames_in_dcd, 2, 3) * 1e-3
    trajectory = mdtraj.Trajectory(xyz, topology, unitcell_lengths=np.full((frames_in_dcd, 3), 2.0),
                                   unitcell_angles=np.full((frames_in_dcd, 3), 90.0))
    trajectory[0].save_pdb(str(system_dir / "build" / "system.pdb"))
    trajectory.save_dcd(str(system_dir / "production.work" / "trajectory.dcd"))
    (system_dir / "production.work" / "progress.json").write_text(
        json.dumps({"frames_written": frames_written, "frame_steps": 500}))
    (system_dir.parent / "simulation_settings.json").write_text(json.dumps({"protocol": {"timestep_ps": 0.004}}))
    return system_dir


def test_only_the_checkpointed_frames_are_copied(tmp_path):
    system_dir = _unfinished_production(tmp_path, frames_in_dcd=23, frames_written=20)
    copy, frames, interval_ps = partial_transport.copy_finished_frames(system_dir, tmp_path / "out")
    assert frames == 20 and interval_ps == pytest.approx(2.0)
    topology = str(system_dir / "build" / "system.pdb")
    copied = mdtraj.load_dcd(str(copy), top=topology)
    original = mdtraj.load_dcd(str(system_dir / "production.work" / "trajectory.dcd"), top=topology)
    assert copied.n_frames == 20
    np.testing.assert_allclose(copied.xyz, original.xyz[:20], atol=1e-6)


def test_too_few_frames_and_a_missing_progress_file_are_refused(tmp_path):
    system_dir = _unfinished_production(tmp_path, frames_in_dcd=5, frames_written=5)
    with pytest.raises(SystemExit, match="only 5 frames"):
        partial_transport.copy_finished_frames(system_dir, tmp_path / "out")
    (system_dir / "production.work" / "progress.json").write_text(json.dumps({"frames_written": 30, "frame_steps": 500}))
    with pytest.raises(SystemExit, match="progress.json records 30 frames but the DCD holds 5"):
        partial_transport.copy_finished_frames(system_dir, tmp_path / "out")
    (system_dir / "production.work" / "progress.json").unlink()
    with pytest.raises(SystemExit, match="no unfinished production"):
        partial_transport.copy_finished_frames(system_dir, tmp_path / "out")
