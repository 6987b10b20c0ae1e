"""Chunked production: frame counts, production.json last, exact kill-and-resume, blow-up handling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import testsystems as ts
from common import dcd
from common.errors import SimulationError
from simulation import production
from simulation.platform import choose_platform
from simulation.produce import main as produce_main
from simulation.protocol import minimise

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = choose_platform(platform="Reference")


def _inputs(folder: Path, n_per_side=5, **protocol):
    """Minimised LJ fluid inputs + Reference-platform settings with a short production."""
    system, topology, positions = ts.lj_fluid(n_per_side)
    state, _ = minimise(system, topology, ts.initial_state(system, positions), REFERENCE, max_iterations=100)
    paths = ts.write_inputs(folder, system, topology, positions)
    from simulation.state_io import write_state
    write_state(state, paths["state"])
    values = dict(timestep_ps=0.004, production_duration_ps=2.0, production_chunk_ps=0.4,
                  trajectory_interval_ps=0.04, energy_interval_ps=0.08)
    values.update(protocol)
    ts.quick_settings(folder / "settings.json", platform="Reference", temperature_K=120.0, **values)
    paths["settings"] = folder / "settings.json"
    return paths


def _argv(paths, out: Path, work: Path | None = None, log: Path | None = None):
    argv = ["--system", str(paths["system"]), "--state", str(paths["state"]), "--topology", str(paths["topology"]),
            "--settings", str(paths["settings"]), "--out-dir", str(out)]
    if work is not None:
        argv += ["--work-dir", str(work)]
    if log is not None:
        argv += ["--log", str(log)]
    return argv


def _check_trajectory(path: Path, n_frames: int, frame_ps: float):
    positions, cells, header = dcd.read_positions(path)
    assert header.n_frames_header == n_frames == header.n_complete_frames == len(positions)
    assert header.file_bytes == header.header_bytes + n_frames * header.frame_bytes
    times = np.array([header.frame_time_ps(k) for k in range(n_frames)])
    assert np.allclose(np.diff(times), frame_ps, rtol=1e-5)  # strictly increasing, no gaps or duplicates
    assert times[0] == pytest.approx(frame_ps, rel=1e-5)
    # no duplicated frame content either (a duplicated chunk would repeat positions)
    flat = positions.reshape(n_frames, -1)
    assert len({row.tobytes() for row in flat}) == n_frames
    return positions, cells, header


def test_chunked_production_outputs(tmp_path):
    paths = _inputs(tmp_path / "in")
    out = tmp_path / "prod"
    log = tmp_path / "produce.log"
    assert produce_main(_argv(paths, out, log=log)) == 0
    summary = json.loads((out / "production.json").read_text())
    assert summary["trajectory"]["frames"] == 50 and summary["chunks"] == 5
    assert summary["ensemble"] == "NVT" and summary["thermostat"]["friction_per_ps"] == pytest.approx(0.1)
    _check_trajectory(out / "trajectory.dcd", 50, 0.04)
    rows = [line for line in (out / "energies.csv").read_text().splitlines()[1:]]
    assert len(rows) == 25 == summary["energies"]["rows"]
    assert [int(r.split(",")[1]) for r in rows] == list(range(20, 501, 20))
    for name in ("final_state.xml", "system.xml", "energies.csv"):  # names the produce rule declares
        assert (out / name).is_file()
    assert not (tmp_path / "prod.work").exists(), "the work folder is removed after a finished run"
    # production.json is written after every other product
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert mtimes["production.json"] >= max(mtimes.values())
    text = log.read_text()
    assert "time remaining" in text and "chunk 5/5 done" in text


def test_work_folder_inside_the_output_folder_also_works(tmp_path):
    paths = _inputs(tmp_path / "in", production_duration_ps=0.8)
    out = tmp_path / "production"
    assert produce_main(_argv(paths, out, work=out / "work")) == 0
    assert (out / "production.json").is_file()
    _check_trajectory(out / "trajectory.dcd", 20, 0.04)


def _wait_for_chunk(work: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"production finished (rc {process.returncode}) before the first checkpoint was seen")
        try:
            progress = json.loads((work / "progress.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            progress = None
        if progress and progress["chunks_done"] >= 1:
            return progress
        time.sleep(0.01)
    pytest.fail("no checkpoint within the time limit")


def test_kill_and_resume_gives_the_uninterrupted_trajectory_exactly(tmp_path):
    # Reference platform: checkpoints hold positions, velocities and the random-number state, so a resumed
    # run must reproduce an uninterrupted one bit for bit.
    paths = _inputs(tmp_path / "in", n_per_side=6, production_duration_ps=6.0, production_chunk_ps=0.6,
                    trajectory_interval_ps=0.06, energy_interval_ps=0.12)
    expected_frames = 100
    reference_out = tmp_path / "uninterrupted"
    assert produce_main(_argv(paths, reference_out)) == 0

    out, work = tmp_path / "prod", tmp_path / "work"
    command = [sys.executable, "-m", "simulation.produce", *_argv(paths, out, work=work, log=tmp_path / "p.log")]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress = _wait_for_chunk(work, first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert progress["chunks_done"] < 10, "killed too late to test a resume"
    assert not (out / "production.json").exists()
    assert not (out / "trajectory.dcd").exists(), "nothing that looks complete before the end"

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads((out / "production.json").read_text())
    assert len(summary["resumes"]) == 1 and summary["resumes"][0]["restored_from"].startswith("checkpoint")
    resumed, _, _ = _check_trajectory(out / "trajectory.dcd", expected_frames, 0.06)
    uninterrupted, _, _ = _check_trajectory(reference_out / "trajectory.dcd", expected_frames, 0.06)
    assert np.array_equal(resumed, uninterrupted)
    assert (out / "energies.csv").read_text().splitlines()[1:] != []
    steps = [int(r.split(",")[1]) for r in (out / "energies.csv").read_text().splitlines()[1:]]
    assert steps == list(range(30, 1501, 30))
    assert "resuming after chunk" in (tmp_path / "p.log").read_text()


def kill_in_third_chunk(monkeypatch, argv) -> None:
    """Run production with ``argv`` and kill it half-way through its third chunk (after two checkpoints): the
    frames past the checkpoint reach the trajectory, as when a job is killed."""
    real_run_steps = production.run_steps
    calls = {"n": 0}

    def crash_in_third_chunk(simulation, n_steps, stage):
        calls["n"] += 1
        if calls["n"] == 3:
            real_run_steps(simulation, n_steps // 2, stage)
            raise KeyboardInterrupt("simulated kill")
        return real_run_steps(simulation, n_steps, stage)

    monkeypatch.setattr(production, "run_steps", crash_in_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        produce_main(argv)
    monkeypatch.setattr(production, "run_steps", real_run_steps)


def test_resume_discards_frames_and_rows_written_after_the_checkpoint(tmp_path, monkeypatch):
    """A crash mid-chunk leaves extra frames, half a frame and half a CSV row: all cut on resume."""
    paths = _inputs(tmp_path / "in")
    reference_out = tmp_path / "uninterrupted"
    assert produce_main(_argv(paths, reference_out)) == 0

    out, work = tmp_path / "prod", tmp_path / "work"
    kill_in_third_chunk(monkeypatch, _argv(paths, out, work=work))
    progress = json.loads((work / "progress.json").read_text())
    assert progress["chunks_done"] == 2 and progress["frames_written"] == 20
    assert dcd.read_header(work / "trajectory.dcd").n_complete_frames == 25
    with open(work / "trajectory.dcd", "ab") as handle:
        handle.write(b"\0" * 100)  # half a frame
    with open(work / "energies.csv", "a") as handle:
        handle.write("production,999,1.0,")  # half a row
    assert produce_main(_argv(paths, out, work=work)) == 0
    resumed, _, _ = _check_trajectory(out / "trajectory.dcd", 50, 0.04)
    uninterrupted, _, _ = _check_trajectory(reference_out / "trajectory.dcd", 50, 0.04)
    assert np.array_equal(resumed, uninterrupted)
    physics = lambda path: [r.split(",")[:8] for r in path.read_text().splitlines()[1:]]  # drop speed/ETA columns
    assert physics(out / "energies.csv") == physics(reference_out / "energies.csv")
    steps = [int(r.split(",")[1]) for r in (out / "energies.csv").read_text().splitlines()[1:]]
    assert steps == list(range(20, 501, 20))


def test_interrupted_hand_over_is_finished_on_rerun(tmp_path, monkeypatch):
    paths = _inputs(tmp_path / "in", production_duration_ps=0.8)
    out, work = tmp_path / "prod", tmp_path / "work"

    def fail(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing production.json")

    monkeypatch.setattr(production, "write_json_atomic", fail)
    with pytest.raises(KeyboardInterrupt):
        produce_main(_argv(paths, out, work=work))
    assert not (out / "production.json").exists()
    assert json.loads((work / "progress.json").read_text())["finalising"] is True
    monkeypatch.undo()
    assert produce_main(_argv(paths, out, work=work)) == 0
    assert json.loads((out / "production.json").read_text())["trajectory"]["frames"] == 20
    _check_trajectory(out / "trajectory.dcd", 20, 0.04)


def test_changed_inputs_start_over(tmp_path, monkeypatch):
    paths = _inputs(tmp_path / "in", production_duration_ps=0.8)
    out, work = tmp_path / "prod", tmp_path / "work"
    calls = {"n": 0}
    real = production.run_steps

    def crash(simulation, n, stage):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(simulation, n, stage)

    monkeypatch.setattr(production, "run_steps", crash)
    with pytest.raises(KeyboardInterrupt):
        produce_main(_argv(paths, out, work=work))
    monkeypatch.undo()
    ts.quick_settings(paths["settings"], platform="Reference", temperature_K=130.0, timestep_ps=0.004,
                      production_duration_ps=0.8, production_chunk_ps=0.4, trajectory_interval_ps=0.04,
                      energy_interval_ps=0.08)
    log = tmp_path / "log"
    assert produce_main(_argv(paths, out, work=work, log=log)) == 0
    assert "belongs to other inputs; starting over" in log.read_text()
    assert json.loads((out / "production.json").read_text())["resumes"] == []


def test_blow_up_in_production_names_the_step_and_leaves_nothing_complete(tmp_path, capsys):
    paths = _inputs(tmp_path / "in", timestep_ps=0.1, production_duration_ps=40.0, production_chunk_ps=4.0,
                    trajectory_interval_ps=0.4, energy_interval_ps=0.4)
    out = tmp_path / "prod"
    out.mkdir()
    (out / "production.json").write_text("{}")  # a stale summary of an earlier run must go
    assert produce_main(_argv(paths, out, log=tmp_path / "log")) == 1
    err = capsys.readouterr().err
    assert "stage 'production'" in err and "step" in err
    assert not (out / "production.json").exists()
    assert not (out / "trajectory.dcd").exists()
    assert "ERROR" in (tmp_path / "log").read_text()


def test_truncate_refuses_to_invent_frames(tmp_path):
    paths = _inputs(tmp_path / "in", production_duration_ps=0.8)
    assert produce_main(_argv(paths, tmp_path / "prod")) == 0
    with pytest.raises(SimulationError, match="cannot be resumed"):
        dcd.truncate(tmp_path / "prod" / "trajectory.dcd", 21)
    header = dcd.truncate(tmp_path / "prod" / "trajectory.dcd", 7)
    assert header.n_frames_header == header.n_complete_frames == 7


def test_replicas_are_independent_runs_from_the_same_state(tmp_path):
    paths = _inputs(tmp_path / "in", production_duration_ps=0.8)
    runs = {}
    for replica in (1, 2, 2):
        out = tmp_path / f"r{replica}-{len(runs)}"
        assert produce_main(_argv(paths, out) + ["--replica", str(replica)]) == 0
        summary = json.loads((out / "production.json").read_text())
        assert summary["replica"] == replica
        positions, _, _ = _check_trajectory(out / "trajectory.dcd", 20, 0.04)
        runs[out.name] = (positions, summary)
    (p1, s1), (p2, s2), (p2b, s2b) = runs.values()
    assert s2["velocity_seed"] is not None and s1["velocity_seed"] != s2["velocity_seed"]
    assert s1["thermostat"]["seed"] != s2["thermostat"]["seed"]
    assert not np.allclose(p1[-1], p2[-1])  # different velocities and noise: a different trajectory
    assert np.array_equal(p2, p2b)          # the same replica number reproduces itself (Reference platform)
    assert produce_main(_argv(paths, tmp_path / "bad") + ["--replica", "0"]) == 1
