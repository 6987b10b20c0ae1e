"""Diffusion coefficients: known random walks, the diffusive-window rule, block uncertainties, Yeh-Hummer."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.diffusion import choose_diffusive_window, diffusion_from_msd, is_cubic, yeh_hummer_correction
from analysis.msd import block_slices, msd_fft
from common.constants import MIN_TRANSPORT_FRAMES
from common.errors import AnalysisError


def _random_walk_D(seed, D=0.05, frames=400, particles=20, dt=1.0, n_blocks=5):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, np.sqrt(2 * D * dt), (frames, particles, 3)), axis=0)
    blocks = np.stack([msd_fft(x[s]) for s in block_slices(frames, n_blocks)])
    return diffusion_from_msd(msd_fft(x), dt, blocks)


def test_random_walk_D_is_recovered_within_three_stderr():
    res = _random_walk_D(seed=11, D=0.05, frames=2000, particles=100, dt=2.0)
    D_true = 0.05 * 1e-6                              # nm^2/ps -> m^2/s
    assert res.fit.window.diffusive
    assert res.stderr_m2_per_s < 0.05 * D_true       # the uncertainty is small enough to mean something
    assert abs(res.D_m2_per_s - D_true) < 3 * res.stderr_m2_per_s


def test_block_stderr_is_calibrated_over_independent_walks():
    # z = (D - D_true)/stderr follows Student's t with n_blocks - 1 = 4 degrees of freedom:
    # P(|z| < 1) = 0.63, P(|z| < 2) = 0.88. A stderr too small or too large by 2x fails this.
    z = np.array([(r.D_m2_per_s - 0.05e-6) / r.stderr_m2_per_s for r in (_random_walk_D(s) for s in range(60))])
    assert 0.45 <= np.mean(np.abs(z) < 1) <= 0.8
    assert 0.75 <= np.mean(np.abs(z) < 2) <= 0.97


def test_window_skips_the_ballistic_start():
    # Langevin (Ornstein-Uhlenbeck velocity) MSD: 6 D (t - tau (1 - exp(-t/tau))), ballistic for t << tau
    D, tau, dt = 0.01, 20.0, 1.0
    t = np.arange(2000) * dt
    msd = 6 * D * (t - tau * (1 - np.exp(-t / tau)))
    w = choose_diffusive_window(msd)
    assert w.diffusive
    assert w.lo * dt > 2 * tau                         # local slope within 1.15 only after several tau
    res = diffusion_from_msd(msd, dt)
    assert res.D_m2_per_s == pytest.approx(D * 1e-6, rel=0.05)


def test_subdiffusive_msd_is_flagged_not_diffusive():
    t = np.arange(500) * 1.0
    msd = 0.1 * t**0.5
    w = choose_diffusive_window(msd)
    assert not w.diffusive
    assert w.loglog_slope == pytest.approx(0.5, abs=0.01)
    assert "fallback" in w.rule


def test_too_few_frames_are_refused_with_the_minimum():
    with pytest.raises(AnalysisError, match=f"at least {MIN_TRANSPORT_FRAMES} frames"):
        diffusion_from_msd(np.arange(MIN_TRANSPORT_FRAMES - 1, dtype=float), 1.0)


def test_yeh_hummer_correction_value():
    # kB T xi / (6 pi eta L) at 298.15 K, 1 mPa s, 3 nm (hand-computed: 2.0654e-10 m^2/s)
    assert yeh_hummer_correction(298.15, 1e-3, 3.0) == pytest.approx(2.0654e-10, rel=1e-4)
    # proportional to T / (eta L)
    assert yeh_hummer_correction(596.3, 2e-3, 6.0) == pytest.approx(0.5 * 2.0654e-10, rel=1e-4)
    with pytest.raises(AnalysisError, match="viscosity > 0"):
        yeh_hummer_correction(298.15, 0.0, 3.0)


def test_is_cubic():
    assert is_cubic(np.diag([3.0, 3.0, 3.0]))
    assert not is_cubic(np.diag([3.0, 3.0, 3.3]))
    assert not is_cubic(np.array([[3.0, 0, 0], [1.0, 3.0, 0], [0, 0, 3.0]]))
