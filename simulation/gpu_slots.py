"""One GPU per job on a workstation with several: a slot allocator on file locks.

Snakemake's local executor counts the ``gpu`` resource (the profile's ``resources: gpu=N`` lets at most N GPU
jobs run at once) but does not say *which* GPU a job should use: without help every job lands on device 0.
:func:`acquire` gives the calling process a device of its own:

- Devices: the entries of ``CUDA_VISIBLE_DEVICES`` if set, else ``GELMD_GPU_SLOTS`` (a count), else the GPUs
  ``nvidia-smi -L`` lists, else one. The OpenMM ``DeviceIndex`` of entry k is k (OpenMM numbers the visible
  devices).
- A slot is an exclusive ``fcntl.flock`` on ``<lock dir>/gpu<device>.lock`` (lock dir: ``GELMD_GPU_LOCK_DIR``,
  default ``/tmp/gelmd-gpu-slots-<uid>``), held by an open file for the life of the process. The kernel
  drops the lock when the holder exits for any reason, ``kill -9`` included, so a killed job's device is
  free again at once: nothing to clean up, no stale pid files to judge.
- The first free device in order is taken; if none is free (more GPU jobs than devices) it waits, polling,
  up to ``timeout_s``, then raises :class:`common.errors.SimulationError`.
- Under a batch scheduler (``SLURM_JOB_ID`` set) the scheduler has already chosen: no lock, device index 0 of
  the devices it made visible.

The chosen slot (device index, visible device, lock file, how it was chosen) goes into the platform
description, and with it into ``production.json`` and ``equilibration.json``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from common.errors import SimulationError

_HELD: dict[str, "GpuSlot"] = {}  # device -> slot held by this process (one lock per device and process)


@dataclass
class GpuSlot:
    """A device held by this process: pass ``device_index`` as OpenMM's ``DeviceIndex``."""

    device_index: int
    device: str  # the CUDA_VISIBLE_DEVICES entry (or the index) this slot stands for
    n_devices: int
    lock_path: str | None
    how: str
    _handle: IO | None = None

    def describe(self) -> dict:
        return {"device_index": self.device_index, "device": self.device, "n_devices": self.n_devices,
                "lock": self.lock_path, "assigned_by": self.how}

    def release(self) -> None:
        if self._handle is not None and not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
        _HELD.pop(self.device, None)


def lock_dir() -> Path:
    return Path(os.environ.get("GELMD_GPU_LOCK_DIR") or f"/tmp/gelmd-gpu-slots-{os.getuid()}")


def visible_devices() -> list[str]:
    """The devices a job may use, in OpenMM's DeviceIndex order (see the module notes)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() not in ("", "NoDevFiles"):
        return [d.strip() for d in visible.split(",") if d.strip()]
    count = os.environ.get("GELMD_GPU_SLOTS")
    if count:
        try:
            n = int(count)
        except ValueError:
            raise SimulationError(f"environment variable GELMD_GPU_SLOTS={count!r} is not a whole number of GPUs")
        if n < 1:
            raise SimulationError(f"environment variable GELMD_GPU_SLOTS={count!r} must be >= 1")
        return [str(i) for i in range(n)]
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
            n = sum(1 for line in out.splitlines() if line.startswith("GPU "))
            if n:
                return [str(i) for i in range(n)]
        except (OSError, subprocess.SubprocessError):
            pass
    return ["0"]


def _try_lock(path: Path) -> IO | None:
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def acquire(timeout_s: float = 3600.0, poll_s: float = 1.0) -> GpuSlot:
    """A free device for this process (the same one if it already holds one); see the module notes."""
    if _HELD:
        return next(iter(_HELD.values()))
    devices = visible_devices()
    if os.environ.get("SLURM_JOB_ID"):
        return GpuSlot(0, devices[0], len(devices), None, "Slurm (the scheduler's CUDA_VISIBLE_DEVICES)")
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        for index, device in enumerate(devices):
            path = folder / f"gpu{device}.lock"
            handle = _try_lock(path)
            if handle is not None:
                slot = GpuSlot(index, device, len(devices), str(path), "gelmd file-lock allocator", handle)
                _HELD[device] = slot
                return slot
        if time.monotonic() >= deadline:
            raise SimulationError(f"no free GPU among {len(devices)} device(s) {devices} after {timeout_s:g} s "
                                  f"(locks in {str(folder)!r}); lower the profile's resources gpu=N to the GPU count")
        time.sleep(poll_s)


def release_all() -> None:
    for slot in list(_HELD.values()):
        slot.release()
