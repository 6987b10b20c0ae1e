"""Exact cases for every unit conversion and formula of the transport analysis.

The stochastic random-walk tests (test_diffusion.py, test_transport_cli.py) accept a few standard errors
and cannot tell a right number from one 5 % off. These cases have a known answer to round-off: each
expected value is computed here by hand from the SI constants written out below, never by calling the
function under test or the constants module it uses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import conductivity as cond
from analysis.diffusion import diffusion_from_msd, yeh_hummer_correction, yeh_hummer_numerator_N
from analysis.transport import yeh_hummer_block
from common.errors import AnalysisError

# CODATA 2018 / SI 2019 exact values, written out here on purpose (independent of common.constants)
K_B = 1.380649e-23           # J/K
E = 1.602176634e-19          # C
XI = 2.837297                # Yeh & Hummer (2004), cubic lattice
REL = 1e-12


@pytest.mark.parametrize("D_nm2_per_ps, dt_ps, intercept", [(0.0123, 0.5, 0.0), (2.5e-4, 2.0, 0.0),
                                                            (0.7, 0.01, 0.0)])
def test_linear_msd_gives_D_exactly(D_nm2_per_ps, dt_ps, intercept):
    """MSD(t) = 6 D t: D (m²/s) = slope / 6 × 1e-18 m²/nm² / 1e-12 s/ps, to 1e-12."""
    t = np.arange(400) * dt_ps
    msd = 6.0 * D_nm2_per_ps * t + intercept
    blocks = np.stack([6.0 * D_nm2_per_ps * t[:80]] * 5)
    result = diffusion_from_msd(msd, dt_ps, blocks)
    expected_m2_per_s = D_nm2_per_ps * 1e-18 / 1e-12
    assert result.D_m2_per_s == pytest.approx(expected_m2_per_s, rel=REL)
    assert result.stderr_m2_per_s == pytest.approx(0.0, abs=1e-12 * expected_m2_per_s)
    assert result.fit.window.diffusive


def test_linear_msd_in_two_dimensions():
    """A 2-D MSD 4 D t gives D with d = 2 (the 2d in slope / 2d is not hard-wired to 6)."""
    t = np.arange(200) * 1.0
    result = diffusion_from_msd(4.0 * 0.01 * t, 1.0, dimensions=2)
    assert result.D_m2_per_s == pytest.approx(0.01e-6, rel=REL)


def test_nernst_einstein_by_hand():
    """σ = e² / (V k_B T) Σ_s (Σ_i q_i²) D_s, and its stderr propagated from the D stderrs."""
    V_nm3, T = 27.0, 298.15
    sum_q2 = {"NA": 30 * 0.8**2, "PF6": 30 * 0.8**2, "LI": 4 * 1.0}
    D = {"NA": 1.1e-10, "PF6": 2.3e-10, "LI": 0.7e-10}
    D_err = {"NA": 0.1e-10, "PF6": 0.2e-10, "LI": 0.05e-10}
    prefactor = E**2 / (V_nm3 * 1e-27 * K_B * T)                      # S s / m³
    sigma = prefactor * (19.2 * 1.1e-10 + 19.2 * 2.3e-10 + 4.0 * 0.7e-10)   # S/m
    stderr = prefactor * math.sqrt((19.2 * 0.1e-10) ** 2 + (19.2 * 0.2e-10) ** 2 + (4.0 * 0.05e-10) ** 2)
    got = cond.nernst_einstein(sum_q2, D, D_err, V_nm3, T)
    assert got.value == pytest.approx(sigma, rel=REL)
    assert got.stderr == pytest.approx(stderr, rel=REL)
    assert sigma == pytest.approx(1.572, rel=1e-3)     # a number a reader can check on paper: 15.7 mS/cm


def test_yeh_hummer_term_by_hand():
    """k_B T ξ / (6 π η L) for η = 0.89 mPa s, T = 300 K, L = 3 nm: 2.34e-10 m²/s (as large as D(Na+) itself)."""
    eta, T, L = 0.89e-3, 300.0, 3.0
    expected = K_B * T * XI / (6 * math.pi * eta * L * 1e-9)
    assert yeh_hummer_correction(T, eta, L) == pytest.approx(expected, rel=REL)
    assert yeh_hummer_numerator_N(T, L) == pytest.approx(K_B * T * XI / (6 * math.pi * L * 1e-9), rel=REL)
    assert expected == pytest.approx(2.335e-10, rel=1e-3)   # on paper: 1.1751e-20 J / 5.033e-11 Pa s m
    block = yeh_hummer_block(T, eta, L, cubic=True)
    assert block["correction_m2_per_s"] == pytest.approx(expected, rel=REL)
    assert block["kBT_xi_over_6piL_N"] / eta == pytest.approx(expected, rel=REL)
    assert yeh_hummer_block(T, None, L, cubic=True)["correction_m2_per_s"] is None


@pytest.mark.parametrize("eta", [0.0, -1e-3, float("nan")])
def test_yeh_hummer_refuses_a_viscosity_that_is_not_positive(eta):
    with pytest.raises(AnalysisError, match="--viscosity"):
        yeh_hummer_correction(300.0, eta, 3.0)


def _collective_msd_by_hand(M: np.ndarray) -> np.ndarray:
    """⟨|M(k+m) − M(k)|²⟩ over all time origins k, directly (O(T²))."""
    T = M.shape[0]
    return np.array([np.mean(np.sum((M[m:] - M[:T - m]) ** 2, axis=1)) for m in range(T)])


def test_einstein_helfand_for_a_hand_made_collective_displacement():
    """Two cations (+1), two anions (−1) and a neutral molecule: M(t) = r0 + r1 − r2 − r3; the collective
    MSD, its slope and σ = slope e² 1e-18/1e-12 / (6 V k_B T) all by hand."""
    rng = np.random.default_rng(12)
    T, dt, V_nm3, temperature = 240, 0.5, 64.0, 350.0
    series = np.cumsum(rng.normal(scale=0.05, size=(T, 5, 3)), axis=0)
    charges = np.array([1.0, 1.0, -1.0, -1.0, 0.0])
    result = cond.einstein_helfand(series, charges, dt, V_nm3, temperature, n_blocks=4, backend="numpy")

    M = series[:, 0] + series[:, 1] - series[:, 2] - series[:, 3]
    msd = _collective_msd_by_hand(M)
    assert np.allclose(result.msd_e2nm2, msd, rtol=1e-9, atol=1e-12)
    lo, hi = result.fit.window.lo, result.fit.window.hi
    slope = np.polyfit(np.arange(lo, hi + 1) * dt, msd[lo:hi + 1], 1)[0]          # e² nm² / ps
    assert result.fit.slope == pytest.approx(slope, rel=1e-9)
    sigma = result.fit.slope * E**2 * 1e-18 / 1e-12 / (6 * V_nm3 * 1e-27 * K_B * temperature)   # S/m
    assert result.sigma_S_per_m.value == pytest.approx(sigma, rel=REL)
    assert result.sigma_S_per_m.stderr == pytest.approx(
        np.std(result.fit.block_slopes, ddof=1) / 2 * E**2 * 1e-6 / (6 * V_nm3 * 1e-27 * K_B * temperature), rel=REL)


def test_conductivity_in_mS_per_cm():
    """1 S/m = 1000 mS / 100 cm = 10 mS/cm."""
    assert cond.S_PER_M_TO_MS_PER_CM == 10.0
