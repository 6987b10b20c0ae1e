"""FFT MSD, per-atom unwrapping, drift removal and the molecular centre-of-mass stream."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.msd import MoleculeCentres, SpeciesMSD, msd_direct, msd_fft, resolve_backend
from analysis.topology import build_molecular_system
from analysis.trajectory import (ArrayTrajectory, Unwrapper, box_vectors_from_lengths_angles, minimum_image,
                                 perpendicular_widths, remove_com_drift)
from common.errors import AnalysisError


def _walk(seed=0, frames=300, particles=7, step=0.1):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, step, (frames, particles, 3)), axis=0) + rng.uniform(-5, 5, (1, particles, 3))


def test_fft_msd_equals_direct_msd():
    x = _walk()
    direct = msd_direct(x)
    fft = msd_fft(x)
    assert fft[0] == 0.0
    np.testing.assert_allclose(fft[1:], direct[1:], rtol=1e-10, atol=0)


def test_fft_msd_per_particle_and_sum_are_consistent():
    x = _walk(seed=1, frames=128, particles=5)
    per = msd_fft(x, per_particle=True)
    assert per.shape == (128, 5)
    for i in range(5):
        np.testing.assert_allclose(per[1:, i], msd_direct(x[:, i])[1:], rtol=1e-10)
    np.testing.assert_allclose(msd_fft(x, reduce="sum")[1:], per[1:].sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(msd_fft(x, particles=[1, 3])[1:], per[1:, [1, 3]].mean(axis=1), rtol=1e-10)


def test_constant_velocity_gives_v2_t2():
    v = np.array([0.3, -0.2, 0.1])                 # nm/ps
    t = np.arange(400) * 0.5                       # ps
    x = t[:, None, None] * v[None, None, :] + np.array([[[1.0, 2.0, 3.0]]])
    msd = msd_fft(x)
    np.testing.assert_allclose(msd[1:], (v @ v) * t[1:] ** 2, rtol=1e-9)


def test_bad_inputs_are_refused():
    with pytest.raises(AnalysisError, match="at least 2 frames"):
        msd_fft(np.zeros((1, 3, 3)))
    with pytest.raises(AnalysisError, match="backend"):
        resolve_backend("torch")
    with pytest.raises(AnalysisError, match="reduce"):
        msd_fft(np.zeros((5, 3, 3)), reduce="median")


def test_minimum_image_triclinic_matches_brute_force():
    rng = np.random.default_rng(2)
    box = box_vectors_from_lengths_angles([[3.0, 3.2, 2.9]], [[80.0, 95.0, 70.0]])[0]
    d = rng.uniform(-4, 4, (1, 200, 3))
    got = minimum_image(d, box[None])
    shifts = np.array([[i, j, k] for i in range(-3, 4) for j in range(-3, 4) for k in range(-3, 4)]) @ box
    brute = d[0][:, None, :] - shifts[None]
    best = brute[np.arange(200), np.argmin(np.linalg.norm(brute, axis=-1), axis=1)]
    short = np.linalg.norm(best, axis=1) < 0.5 * perpendicular_widths(box).min()   # the image is unique there
    assert short.sum() > 20
    np.testing.assert_allclose(got[0][short], best[short], atol=1e-12)


@pytest.mark.parametrize("angles", [(90.0, 90.0, 90.0), (75.0, 100.0, 65.0)])
def test_wrapping_into_the_box_does_not_change_the_msd(angles):
    x = _walk(seed=3, frames=500, particles=20, step=0.15)
    boxes = box_vectors_from_lengths_angles([[2.5, 2.7, 2.6]] * 500, [angles] * 500)
    frac = np.einsum("tnk,tkj->tnj", x, np.linalg.inv(boxes))
    wrapped = np.einsum("tnk,tkj->tnj", frac - np.floor(frac), boxes)
    assert np.abs(wrapped - x).max() > 1.0          # really wrapped
    unwrapped = np.concatenate([c.positions for c in ArrayTrajectory(wrapped, boxes, 1.0, chunk_frames=37)])
    # the unwrapped path differs from the original by one constant lattice vector per atom
    shift = unwrapped - x
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:1], shift.shape), atol=1e-9)
    np.testing.assert_allclose(msd_fft(unwrapped)[1:], msd_fft(x)[1:], rtol=1e-9)


def test_unwrapper_state_carries_across_chunks():
    x = _walk(seed=4, frames=200, particles=4, step=0.3)
    box = np.diag([2.0, 2.0, 2.0])
    wrapped = x - 2.0 * np.floor(x / 2.0)
    boxes = np.broadcast_to(box, (200, 3, 3))
    whole = Unwrapper()(wrapped, boxes)
    u = Unwrapper()
    pieces = np.concatenate([u(wrapped[a:a + 13], boxes[a:a + 13]) for a in range(0, 200, 13)])
    np.testing.assert_allclose(pieces, whole, atol=1e-12)


def test_remove_com_drift_zeroes_the_centre_of_mass():
    x = _walk(seed=5, frames=50, particles=6)
    m = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = remove_com_drift(x, m)
    np.testing.assert_allclose(np.einsum("tnk,n->tk", y, m), 0.0, atol=1e-9)


def _toy_system(n_mol=6, atoms_per_mol=2):
    from openmm import app

    top = app.Topology()
    chain = top.addChain()
    for m in range(n_mol):
        r = top.addResidue("A" if m % 2 == 0 else "B", chain)
        for k in range(atoms_per_mol):
            top.addAtom(f"C{k}", app.Element.getBySymbol("C"), r)
    n = n_mol * atoms_per_mol
    masses = np.arange(1, n + 1, dtype=float)
    return build_molecular_system(top, np.zeros(n), masses)


@pytest.mark.parametrize("max_memory_bytes", [2**30, 0])
def test_molecule_centres_are_drift_free_mass_weighted_centres(max_memory_bytes, tmp_path):
    system = _toy_system()
    x = _walk(seed=6, frames=120, particles=12, step=0.05)
    x += np.linspace(0, 3, 120)[:, None, None]                # a uniform drift of everything
    traj = ArrayTrajectory(x, np.diag([50.0] * 3), 2.0, chunk_frames=32)
    with MoleculeCentres(traj, system, max_memory_bytes=max_memory_bytes, scratch_dir=tmp_path) as mc:
        mc.run()
        series = np.array(mc.results["series"])
        assert (mc.results["storage"] == "memory") == (max_memory_bytes > 0)
    m = system.masses_amu
    expect = np.stack([(x[:, idx] * m[idx, None]).sum(1) / m[idx].sum() for idx in system.molecule_atoms], axis=1)
    expect -= (x * m[None, :, None]).sum(1)[:, None, :] / m.sum()
    np.testing.assert_allclose(series, expect, atol=1e-9)
    assert not list(tmp_path.iterdir())                        # scratch file removed on close
    res = SpeciesMSD(series, {n: sp.molecule_indices for n, sp in system.species.items()}, 2.0, n_blocks=3,
                     backend="numpy").run().results
    assert res["block_msd_nm2"]["A"].shape == (3, 40)
    np.testing.assert_allclose(res["msd_nm2"]["A"][1:], msd_direct(series[:, ::2])[1:], rtol=1e-10)


def test_molecule_centres_refuse_mismatched_atom_counts():
    system = _toy_system()
    traj = ArrayTrajectory(np.zeros((10, 11, 3)), np.diag([5.0] * 3), 1.0)
    with pytest.raises(AnalysisError, match="12 atoms but the trajectory 11"):
        MoleculeCentres(traj, system)


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_cupy_backend_matches_numpy():
    x = _walk(seed=7, frames=3000, particles=300)
    ref = msd_fft(x, "numpy")
    gpu = msd_fft(x, "cupy")
    np.testing.assert_allclose(gpu[1:], ref[1:], rtol=1e-6)
    per_ref = msd_fft(x[:, :50], "numpy", per_particle=True)
    per_gpu = msd_fft(x[:, :50], "cupy", per_particle=True)
    np.testing.assert_allclose(per_gpu[1:], per_ref[1:], rtol=1e-6)
    assert resolve_backend("auto").name == "cupy"
