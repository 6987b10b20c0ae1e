"""Nernst-Einstein and Einstein-Helfand conductivity, Haven ratio and transference number."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import conductivity as cond
from analysis.diffusion import diffusion_from_msd
from analysis.msd import block_slices, msd_fft
from common.errors import AnalysisError

KB, E = 1.380649e-23, 1.602176634e-19


def _D(x, dt):
    blocks = np.stack([msd_fft(x[s]) for s in block_slices(x.shape[0], 5)])
    r = diffusion_from_msd(msd_fft(x), dt, blocks)
    return r.D_m2_per_s, r.stderr_m2_per_s


def _ions(seed, n=200, frames=2000, D_plus=0.02, D_minus=0.04, paired=False):
    rng = np.random.default_rng(seed)
    plus = np.cumsum(rng.normal(0, np.sqrt(2 * D_plus), (frames, n, 3)), axis=0)
    minus = plus.copy() if paired else np.cumsum(rng.normal(0, np.sqrt(2 * D_minus), (frames, n, 3)), axis=0)
    return plus, minus


def test_nernst_einstein_formula():
    # 100 ions of each sign, charges +-1, D 1e-9 and 2e-9 m^2/s, V = 27 nm^3, T = 300 K
    s = cond.nernst_einstein({"NA": 100.0, "PF6": 100.0}, {"NA": 1e-9, "PF6": 2e-9}, {"NA": 1e-10, "PF6": 2e-10},
                             27.0, 300.0)
    expect = E**2 / (27e-27 * KB * 300.0) * 100 * 3e-9
    assert s.value == pytest.approx(expect, rel=1e-12)
    assert s.stderr == pytest.approx(E**2 / (27e-27 * KB * 300.0) * 100 * np.hypot(1e-10, 2e-10), rel=1e-12)
    with pytest.raises(AnalysisError, match="at least one ion"):
        cond.nernst_einstein({}, {}, {}, 27.0, 300.0)


def test_uncorrelated_ions_give_einstein_helfand_equal_to_nernst_einstein():
    plus, minus = _ions(seed=21)
    series = np.concatenate([plus, minus], axis=1)
    q = np.r_[np.full(200, 0.8), np.full(200, -0.8)]
    V, T = 40.0, 298.15
    Dp, ep = _D(plus, 1.0)
    Dm, em = _D(minus, 1.0)
    ne = cond.nernst_einstein({"NA": 200 * 0.64, "PF6": 200 * 0.64}, {"NA": Dp, "PF6": Dm}, {"NA": ep, "PF6": em}, V, T)
    eh = cond.einstein_helfand(series, q, 1.0, V, T, n_blocks=5).sigma_S_per_m
    assert eh.stderr < 0.35 * eh.value                     # informative enough for the comparison to bite
    assert abs(eh.value - ne.value) < 3 * np.hypot(eh.stderr, ne.stderr)
    h = cond.ratio(ne, eh)
    assert abs(h.value - 1.0) < 3 * h.stderr


def test_ion_pairs_moving_together_carry_no_current():
    plus, minus = _ions(seed=22, n=50, frames=500, paired=True)
    series = np.concatenate([plus, minus], axis=1)
    q = np.r_[np.ones(50), -np.ones(50)]
    eh = cond.einstein_helfand(series, q, 1.0, 20.0, 300.0).sigma_S_per_m
    assert abs(eh.value) < 1e-12                           # M(t) = 0 exactly
    Dp, _ = _D(plus, 1.0)
    ne = cond.nernst_einstein({"NA": 50.0, "PF6": 50.0}, {"NA": Dp, "PF6": Dp}, {"NA": 0.0, "PF6": 0.0}, 20.0, 300.0)
    assert ne.value > 1.0                                  # self-diffusion alone would predict a conductivity


def test_einstein_helfand_refuses_neutral_systems():
    with pytest.raises(AnalysisError, match="neutral"):
        cond.einstein_helfand(np.zeros((60, 4, 3)), np.zeros(4), 1.0, 10.0, 300.0)


def test_transference_number_of_a_one_to_one_salt():
    t = cond.transference_number(["NA"], {"NA": 10.0, "PF6": 10.0}, {"NA": 1e-10, "PF6": 3e-10},
                                 {"NA": 1e-11, "PF6": 0.0})
    assert t.value == pytest.approx(0.25)
    # dt/dD+ = D-/(D+ + D-)^2 = 3e-10 / 16e-20 -> stderr = 1.875e9 * 1e-11
    assert t.stderr == pytest.approx(0.01875)


def test_ratio_propagates_relative_errors():
    r = cond.ratio(cond.Estimate(2.0, 0.2), cond.Estimate(4.0, 0.4))
    assert r.value == 0.5
    assert r.stderr == pytest.approx(0.5 * np.sqrt(0.02))
