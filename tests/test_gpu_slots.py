"""The GPU slot allocator (simulation.gpu_slots) without a GPU: concurrent processes get different devices,
a killed holder's device is free again, Slurm's choice is respected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import SimulationError
from simulation import gpu_slots

REPO = Path(__file__).resolve().parents[1]
HOLDER = """
import sys, time
from common.errors import SimulationError
from simulation import gpu_slots
slot = gpu_slots.acquire(timeout_s=float(sys.argv[1]), poll_s=0.05)
print(slot.device_index, slot.device, flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def slots_env(tmp_path, monkeypatch):
    env = dict(os.environ, PYTHONPATH=str(REPO), GELMD_GPU_LOCK_DIR=str(tmp_path / "locks"), GELMD_GPU_SLOTS="2")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.pop("SLURM_JOB_ID", None)
    for key in ("GELMD_GPU_LOCK_DIR", "GELMD_GPU_SLOTS"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    yield env
    gpu_slots.release_all()


def _holder(env, timeout_s=10.0, hold_s=30.0):
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(timeout_s), str(hold_s)], env=env,
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().split()


def test_two_concurrent_processes_get_different_devices_and_a_killed_holders_is_reclaimed(slots_env):
    first, (index_a, _) = _holder(slots_env)
    second, (index_b, _) = _holder(slots_env)
    try:
        assert {index_a, index_b} == {"0", "1"}
        # both devices are taken: a third process waits, then is refused with the count named
        third = subprocess.run([sys.executable, "-c", HOLDER, "0.3", "0"], env=slots_env, capture_output=True,
                               text=True)
        assert third.returncode != 0 and "no free GPU among 2 device(s)" in third.stderr
        first.send_signal(signal.SIGKILL)  # no clean-up runs: the kernel drops the lock
        first.wait()
        reclaimed = gpu_slots.acquire(timeout_s=5, poll_s=0.05)
        assert str(reclaimed.device_index) == index_a
        assert reclaimed.describe()["assigned_by"] == "gelmd file-lock allocator"
        assert gpu_slots.acquire() is reclaimed  # one slot per process
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_visible_devices_order_and_slurm_assignment(slots_env, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert gpu_slots.visible_devices() == ["2", "3"]
    slot = gpu_slots.acquire(timeout_s=1)
    assert (slot.device_index, slot.device) == (0, "2")  # DeviceIndex counts the visible devices
    slot.release()
    monkeypatch.setenv("SLURM_JOB_ID", "17")
    slurm = gpu_slots.acquire(timeout_s=1)
    assert slurm.lock_path is None and slurm.device_index == 0 and "Slurm" in slurm.how


def test_a_bad_slot_count_is_named(slots_env, monkeypatch):
    monkeypatch.setenv("GELMD_GPU_SLOTS", "four")
    with pytest.raises(SimulationError, match="GELMD_GPU_SLOTS=.four."):
        gpu_slots.visible_devices()
