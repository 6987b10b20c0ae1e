"""Platform choice: auto order CUDA -> OpenCL (only if allowed) -> CPU, overrides, GPU precision, errors."""

from __future__ import annotations

import openmm
import pytest

from common.config import EngineSettings
from common.errors import SimulationError
from simulation import platform as plat


class _FakePlatform:
    def __init__(self, name):
        self._name = name

    def getName(self):
        return self._name


@pytest.fixture(autouse=True)
def _one_free_gpu_slot(monkeypatch, tmp_path):
    """GPU choices take a device slot (simulation.gpu_slots): one fake device, locks in a private folder."""
    from simulation import gpu_slots

    monkeypatch.setenv("GELMD_GPU_LOCK_DIR", str(tmp_path / "gpu-locks"))
    monkeypatch.setenv("GELMD_GPU_SLOTS", "1")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    yield
    gpu_slots.release_all()


def _fake_machine(monkeypatch, available, broken=()):
    """Pretend ``available`` platforms loaded; GPU probes fail for the names in ``broken``."""
    monkeypatch.setattr(plat, "available_platforms", lambda: list(available))
    monkeypatch.setattr(plat, "platform_by_name", lambda name: _FakePlatform(name))
    monkeypatch.setattr(plat, "probe_platform",
                        lambda name, props: "no CUDA-capable device" if name in broken else None)
    monkeypatch.setattr(plat, "plugin_load_failures", lambda: ["Error loading library libOpenMMCUDA.so: libcuda.so.1"])


def test_auto_candidates_order_and_opencl_only_when_allowed():
    everything = ["Reference", "CPU", "OpenCL", "CUDA"]
    assert plat.auto_candidates(everything, allow_opencl=False) == ["CUDA", "CPU"]
    assert plat.auto_candidates(everything, allow_opencl=True) == ["CUDA", "OpenCL", "CPU"]
    assert plat.auto_candidates(["Reference", "CPU"], allow_opencl=True) == ["CPU"]
    assert "Reference" not in plat.auto_candidates(["Reference"], allow_opencl=True)


def test_auto_prefers_cuda_with_mixed_precision(monkeypatch):
    _fake_machine(monkeypatch, ["Reference", "CPU", "OpenCL", "CUDA"])
    choice = plat.choose_platform(EngineSettings(platform="auto", precision="auto", allow_opencl=True, cpu_threads=0, deterministic=False))
    assert choice.name == "CUDA"
    assert choice.properties == {"Precision": "mixed", "DeviceIndex": "0"}
    assert choice.description["precision"] == "mixed"


def test_auto_never_picks_opencl_unless_allowed(monkeypatch):
    # pocl installed, no CUDA: OpenMM itself would prefer OpenCL; we must fall back to CPU.
    _fake_machine(monkeypatch, ["Reference", "CPU", "OpenCL"])
    assert plat.choose_platform(platform="auto", allow_opencl=False).name == "CPU"
    chosen = plat.choose_platform(platform="auto", allow_opencl=True)
    assert chosen.name == "OpenCL" and chosen.properties == {"Precision": "mixed", "DeviceIndex": "0"}


def test_auto_skips_a_cuda_plugin_without_a_usable_gpu(monkeypatch):
    _fake_machine(monkeypatch, ["Reference", "CPU", "CUDA"], broken={"CUDA"})
    choice = plat.choose_platform(platform="auto", cpu_threads=2)
    assert choice.name == "CPU"
    assert choice.properties == {"Threads": "2"}
    assert "CUDA" in choice.description["skipped"]


def test_explicit_gpu_that_cannot_make_a_context_is_an_error(monkeypatch):
    _fake_machine(monkeypatch, ["Reference", "CPU", "CUDA"], broken={"CUDA"})
    with pytest.raises(SimulationError, match="no CUDA-capable device"):
        plat.choose_platform(platform="CUDA")


def test_precision_override_on_gpu(monkeypatch):
    _fake_machine(monkeypatch, ["CPU", "CUDA"])
    assert plat.choose_platform(platform="CUDA", precision="double").properties == {"Precision": "double", "DeviceIndex": "0"}
    assert plat.choose_platform(platform="CUDA", precision="single").properties == {"Precision": "single", "DeviceIndex": "0"}


def test_unavailable_request_names_the_platform_and_those_available():
    # Real OpenMM on this machine: the PyPI wheel has no CUDA plugin without openmm-cuda-12.
    available = plat.available_platforms()
    if "CUDA" in available:
        pytest.skip("this machine has a CUDA platform")
    with pytest.raises(SimulationError) as info:
        plat.choose_platform(platform="CUDA")
    message = str(info.value)
    assert "'CUDA' is not available" in message
    for name in available:
        assert name in message
    assert "allowed values" in message


def test_unknown_platform_name_is_rejected():
    with pytest.raises(SimulationError, match="not a platform name"):
        plat.choose_platform(platform="Metal")


def test_real_cpu_choice_sets_threads_and_records_fixed_precision():
    choice = plat.choose_platform(EngineSettings(platform="CPU", precision="double", allow_opencl=False, cpu_threads=2, deterministic=False))
    assert choice.name == "CPU"
    assert "ignored" in choice.description["note"]
    system = openmm.System()
    system.addParticle(1.0)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), choice.platform, choice.properties)
    assert context.getPlatform().getPropertyValue(context, "Threads") == "2"


def test_real_auto_on_a_cpu_machine_is_cpu_not_reference():
    available = plat.available_platforms()
    if "CUDA" in available:
        pytest.skip("this machine has a CUDA platform")
    assert plat.choose_platform(platform="auto", allow_opencl=False).name == "CPU"


def test_reference_on_request():
    choice = plat.choose_platform(platform="Reference")
    assert choice.name == "Reference" and choice.properties == {}
