"""Which OpenMM platform runs a simulation, with which properties.

Rules (``engine`` settings, :class:`common.config.EngineSettings`):

- ``platform: auto`` tries CUDA first (only if its plugin loaded *and* a tiny test Context can be created
  on it, so a CUDA plugin without a usable GPU is skipped), then OpenCL **only if** ``allow_opencl`` is
  true, then CPU. OpenCL is never chosen by accident: with pocl (a CPU OpenCL driver) installed OpenMM
  itself prefers OpenCL over CPU and was seen to segfault, so the fallback must not depend on what
  happens to be installed. Reference is never chosen automatically (it is a slow, double-precision
  checking platform).
- ``platform: CUDA|OpenCL|CPU|Reference`` asks for exactly that platform; if it is not available a
  :class:`common.errors.SimulationError` names the platform asked, those available and why the missing
  plugins failed to load.
- Precision: ``auto`` means ``mixed`` on CUDA and OpenCL (single-precision forces, double-precision
  integration: the standard choice for MD on GPUs); ``single``/``mixed``/``double`` are passed as the
  ``Precision`` property. CPU (single-precision forces with some double accumulation) and Reference
  (double) have a fixed precision; the setting is recorded as ignored there.
- ``cpu_threads`` > 0 sets the CPU platform's ``Threads`` property; 0 leaves OpenMM's default (every
  core, or the ``OPENMM_CPU_THREADS`` environment variable).
- Several GPUs: a GPU platform gets a device of its own for this process from
  :func:`simulation.gpu_slots.acquire` (a file-lock slot per device, held until the process exits; under
  Slurm the scheduler's choice), passed as OpenMM's ``DeviceIndex`` and recorded as ``gpu_slot`` in the
  description. ``gpu_slot=False`` skips it (the default device, as OpenMM chooses).

:func:`choose_platform` returns a :class:`PlatformChoice`: the platform, the property dict to pass to
``Context``/``Simulation``, and a JSON-ready description recorded in every result for provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import openmm

from common.config import EngineSettings
from common.errors import SimulationError
from simulation import gpu_slots

PLATFORM_NAMES = ("CUDA", "OpenCL", "CPU", "Reference")
GPU_PLATFORMS = ("CUDA", "OpenCL")
DEFAULT_GPU_PRECISION = "mixed"


@dataclass(frozen=True)
class PlatformChoice:
    """A chosen platform: pass ``platform`` and ``properties`` to ``openmm.Context``/``app.Simulation``."""

    platform: openmm.Platform
    properties: dict[str, str]
    description: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.description.get("name") or self.platform.getName()


def available_platforms() -> list[str]:
    """Names of the OpenMM platforms whose plugins loaded in this process."""
    return [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]


def plugin_load_failures() -> list[str]:
    """OpenMM's messages for plugins that did not load (e.g. CUDA without a driver)."""
    return list(openmm.Platform.getPluginLoadFailures())


def auto_candidates(available: Sequence[str], allow_opencl: bool) -> list[str]:
    """The platforms ``auto`` tries, in order: CUDA, OpenCL (only if allowed), CPU; those available only."""
    order = ["CUDA"] + (["OpenCL"] if allow_opencl else []) + ["CPU"]
    return [name for name in order if name in available]


def platform_properties(name: str, precision: str = "auto", cpu_threads: int = 0) -> dict[str, str]:
    """The OpenMM property dict for ``name`` under the precision/threads settings."""
    if name in GPU_PLATFORMS:
        return {"Precision": DEFAULT_GPU_PRECISION if precision == "auto" else precision}
    if name == "CPU" and cpu_threads > 0:
        return {"Threads": str(int(cpu_threads))}
    return {}


def _effective_precision(name: str, properties: dict[str, str]) -> str:
    if name in GPU_PLATFORMS:
        return properties["Precision"]
    return {"CPU": "single forces, mixed accumulation (fixed by the CPU platform)",
            "Reference": "double (fixed by the Reference platform)"}.get(name, "platform default")


def platform_by_name(name: str) -> openmm.Platform:
    """``openmm.Platform.getPlatformByName`` (one seam, so tests can fake GPU platforms)."""
    return openmm.Platform.getPlatformByName(name)


def probe_platform(name: str, properties: dict[str, str]) -> str | None:
    """Create a one-particle Context on ``name``; return None if that works, else the error text."""
    system = openmm.System()
    system.addParticle(1.0)
    integrator = openmm.VerletIntegrator(0.001)
    try:
        context = openmm.Context(system, integrator, platform_by_name(name), properties)
        del context
    except Exception as exc:  # OpenMM raises a bare Exception/OpenMMException with the driver's message
        return str(exc).strip() or type(exc).__name__
    return None


def _unavailable_error(asked: str, available: list[str], extra: str = "") -> SimulationError:
    failures = plugin_load_failures()
    detail = ""
    if failures:
        short = [f.splitlines()[0] for f in failures]
        detail = "; plugin load failures: " + " | ".join(short)
    return SimulationError(
        f"engine.platform {asked!r} is not available{extra}; available platforms: {available}; "
        f"allowed values: ['auto', 'CUDA', 'OpenCL', 'CPU', 'Reference']{detail}")


def choose_platform(engine: EngineSettings | None = None, *, platform: str | None = None,
                    precision: str | None = None, allow_opencl: bool | None = None,
                    cpu_threads: int | None = None, probe: bool = True, gpu_slot: bool = True) -> PlatformChoice:
    """Choose the platform from ``engine`` settings (keyword arguments override single fields).

    ``probe`` (default True) checks that a GPU platform can actually create a Context before choosing it;
    under ``auto`` a failing GPU is skipped (and recorded in ``description["skipped"]``), an explicitly
    requested one raises :class:`SimulationError`.
    """
    asked = platform if platform is not None else (engine.platform if engine else "auto")
    precision = precision if precision is not None else (engine.precision if engine else "auto")
    allow_opencl = allow_opencl if allow_opencl is not None else (engine.allow_opencl if engine else False)
    cpu_threads = cpu_threads if cpu_threads is not None else (engine.cpu_threads if engine else 0)
    if asked != "auto" and asked not in PLATFORM_NAMES:
        raise SimulationError(f"engine.platform {asked!r} is not a platform name; allowed values: "
                              f"['auto', 'CUDA', 'OpenCL', 'CPU', 'Reference']")
    available = available_platforms()
    skipped: dict[str, str] = {}
    if asked == "auto":
        candidates = auto_candidates(available, allow_opencl)
        if not candidates:
            raise _unavailable_error("auto", available, " (auto tries CUDA, OpenCL if allow_opencl, then CPU)")
    else:
        if asked not in available:
            raise _unavailable_error(asked, available)
        candidates = [asked]

    for name in candidates:
        properties = platform_properties(name, precision, cpu_threads)
        slot = None
        if gpu_slot and name in GPU_PLATFORMS:
            slot = gpu_slots.acquire()
            properties["DeviceIndex"] = str(slot.device_index)
        if probe and name in GPU_PLATFORMS:
            problem = probe_platform(name, properties)
            if problem is not None:
                if slot is not None:
                    slot.release()
                if asked != "auto":
                    raise _unavailable_error(asked, available, f" (creating a Context on it failed: {problem})")
                skipped[name] = problem
                continue
        chosen = platform_by_name(name)
        description = {
            "name": name,
            "requested": asked,
            "properties": dict(properties),
            "precision": _effective_precision(name, properties),
            "precision_setting": precision,
            "cpu_threads_setting": cpu_threads,
            "allow_opencl": allow_opencl,
            "available": available,
            "skipped": skipped,
            "openmm_version": openmm.__version__,
        }
        if slot is not None:
            description["gpu_slot"] = slot.describe()
        if name not in GPU_PLATFORMS and precision not in ("auto",):
            description["note"] = f"precision {precision!r} ignored: the {name} platform has a fixed precision"
        return PlatformChoice(platform=chosen, properties=properties, description=description)
    raise _unavailable_error("auto", available, f" (every candidate failed: {skipped})")
