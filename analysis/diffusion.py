"""Diffusion coefficients from MSDs: the diffusive-window rule, the fit, block uncertainties, Yeh–Hummer.

Fit
---
In the diffusive regime MSD(t) = 2 d D t + c (d = 3 dimensions; the intercept c absorbs the ballistic
and caging offset). D is the least-squares slope of MSD against lag time over the window of lags chosen
below, divided by 2d, from the MSD averaged over all time origins of the whole run. Units inside: nm²/ps;
1 nm²/ps = 1e-6 m²/s (``common.constants.M2_PER_S_PER_NM2_PER_PS``).

Diffusive-window rule (:func:`choose_diffusive_window`)
-------------------------------------------------------
1. Only lags up to ``max_lag_fraction`` (0.5) of a block (of the run when no blocks are used) are
   candidates: longer lags average over few time origins and are noisy, and every block must be able to
   fit the same window, so that the block uncertainty describes the estimator that gives the value.
2. The local log–log slope β(m) = d ln MSD / d ln t is evaluated at ~20 log-spaced lags per decade by
   a finite difference between m/f and m·f, f = 10^0.1 (0.2 decade wide).
3. Lags with |β − 1| ≤ ``tolerance`` (0.15) are diffusive. Contiguous runs of diffusive lags are the
   candidate windows; a ballistic (β ≈ 2) or caging (β < 1) start is therefore excluded automatically.
4. The candidate with the widest span in log time wins (ties: the later one), provided it spans at least a
   factor ``min_span`` (2) in time and holds ≥ 3 lags. Its mean slope is reported as ``loglog_slope``.
5. When no candidate qualifies (a run too short to reach diffusion, or a glassy/network species), the
   fallback window [0.2, 1] × the longest candidate lag (e.g. 0.1 … 0.5 of a block) is fitted and the result is
   flagged ``diffusive: false`` with its mean log–log slope, so a sub-diffusive "D" is never presented as
   a converged one.

Uncertainty (block averaging)
-----------------------------
The run is cut into ``n_blocks`` (5) contiguous, equal blocks; each block's own all-origin MSD is fitted
over the same window (which lies within half a block by rule 1). stderr = std(D_blocks, ddof=1) /
sqrt(n_blocks). The reported value is the whole-run fit over that window (all time origins, including
those spanning block boundaries), whose scatter is at most that of the block mean; the tests check that
|D − D_true| / stderr is distributed as expected over independent random walks.

Yeh–Hummer (J. Phys. Chem. B 108, 15873 (2004))
----------------------------------------------
D_∞ = D_pbc + k_B T ξ / (6 π η L) with ξ = 2.837297 for a cubic box of edge L, η the shear viscosity.
For a non-cubic box L = V^(1/3) is used and the correction is approximate. k_B T ξ / (6 π L) (in N, i.e.
J/m) is reported on its own too, so a user with a viscosity from elsewhere can divide it by η (Pa s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from common.constants import BOLTZMANN_J_PER_K, M2_PER_S_PER_NM2_PER_PS, MIN_TRANSPORT_FRAMES
from common.errors import AnalysisError

YEH_HUMMER_XI = 2.837297
"""ξ of a simple cubic lattice of point sources (Yeh & Hummer 2004), dimensionless."""
M_PER_NM = 1e-9
"""m in one nm (a unit factor the Yeh–Hummer term needs; not a physical constant)."""
MIN_WINDOW_LAGS = 3


@dataclass(frozen=True)
class DiffusiveWindow:
    """Lag window [lo, hi] in frames (inclusive) and how it was chosen."""

    lo: int
    hi: int
    diffusive: bool
    loglog_slope: float
    rule: str

    def lags(self) -> np.ndarray:
        return np.arange(self.lo, self.hi + 1)


def _slope_between(msd: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(msd[hi] / msd[lo]) / np.log(hi / lo)


def local_loglog_slopes(msd: np.ndarray, max_lag: int, points_per_decade: int = 20,
                        half_width_decades: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Lags m (log-spaced, 1 … ``max_lag``) and local slopes d ln MSD / d ln t at them (NaN where undefined)."""
    msd = np.asarray(msd, float)
    n = msd.size
    if max_lag < 2:
        return np.arange(1, max_lag + 1), np.full(max(max_lag, 0), np.nan)
    n_points = max(2, int(math.ceil(points_per_decade * math.log10(max_lag))) + 1)
    lags = np.unique(np.round(np.geomspace(1, max_lag, n_points)).astype(np.int64))
    f = 10.0 ** half_width_decades
    lo = np.maximum(1, np.floor(lags / f).astype(np.int64))
    hi = np.minimum(n - 1, np.ceil(lags * f).astype(np.int64))
    same = hi <= lo
    hi = np.where(same, np.minimum(lo + 1, n - 1), hi)
    slopes = _slope_between(msd, lo, hi)
    slopes[(hi <= lo) | ~np.isfinite(slopes)] = np.nan
    return lags, slopes


def choose_diffusive_window(msd: np.ndarray, max_lag_fraction: float = 0.5, tolerance: float = 0.15,
                            min_span: float = 2.0, block_frames: int | None = None) -> DiffusiveWindow:
    """Choose the lag window (frames) of the diffusive regime of ``msd`` (lags 0 … T−1) by the module rule.

    ``block_frames``: length of the blocks used for the uncertainty; candidate lags stop at
    ``max_lag_fraction`` of it (else of the whole run).
    """
    msd = np.asarray(msd, float)
    n = msd.size
    max_lag = int(max_lag_fraction * ((block_frames or n) - 1))
    if max_lag < MIN_WINDOW_LAGS:
        raise AnalysisError(f"an MSD of {n} frames has only {max_lag} lags below {max_lag_fraction} of the run; a "
                            f"diffusion fit needs at least {MIN_TRANSPORT_FRAMES} frames")
    lags, slopes = local_loglog_slopes(msd, max_lag)
    ok = np.abs(slopes - 1.0) <= tolerance
    best: tuple[float, int, int, int] | None = None       # (span, end, lo, hi)
    k = 0
    while k < lags.size:
        if not ok[k]:
            k += 1
            continue
        j = k
        while j + 1 < lags.size and ok[j + 1]:
            j += 1
        lo, hi = int(lags[k]), int(lags[j])
        span = math.log(hi / lo) if hi > lo else 0.0
        if hi - lo + 1 >= MIN_WINDOW_LAGS and span >= math.log(min_span) - 1e-12:
            if best is None or (span, hi) > (best[0], best[1]):
                best = (span, hi, lo, hi)
        k = j + 1
    if best is not None:
        lo, hi = best[2], best[3]
        slope = float(_slope_between(msd, np.array([lo]), np.array([hi]))[0])
        return DiffusiveWindow(lo, hi, True, slope,
                               f"widest run of lags with |dlnMSD/dlnt - 1| <= {tolerance} up to "
                               f"{max_lag_fraction} of a {'block' if block_frames else 'run'}")
    lo, hi = max(1, int(round(0.2 * max_lag))), max_lag
    if hi - lo + 1 < MIN_WINDOW_LAGS:
        lo = max(1, hi - MIN_WINDOW_LAGS + 1)
    slope = float(_slope_between(msd, np.array([lo]), np.array([hi]))[0]) if msd[lo] > 0 else float("nan")
    return DiffusiveWindow(lo, hi, False, slope,
                           f"fallback: no diffusive regime found (|dlnMSD/dlnt - 1| <= {tolerance} over a factor "
                           f"{min_span} in time); fitted 0.2-1 x the longest candidate lag")


def fit_line(time_ps: np.ndarray, y: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    """Least-squares slope and intercept of y(t) over indices lo … hi (inclusive)."""
    t = np.asarray(time_ps[lo:hi + 1], float)
    v = np.asarray(y[lo:hi + 1], float)
    if t.size < 2:
        raise AnalysisError(f"a line fit needs at least 2 points; the window {lo}…{hi} has {t.size}")
    slope, intercept = np.polyfit(t, v, 1)
    return float(slope), float(intercept)


def block_window(window: DiffusiveWindow, block_frames: int) -> tuple[int, int] | None:
    """The window used for blocks of ``block_frames`` frames (see module docstring), or None if impossible."""
    hi = min(window.hi, (block_frames - 1) // 2)
    lo = window.lo
    if hi - lo + 1 < MIN_WINDOW_LAGS:
        lo = max(1, min(lo, hi // 4))
    if hi - lo + 1 < MIN_WINDOW_LAGS:
        return None
    return lo, hi


@dataclass
class SlopeFit:
    """Slope of an all-origin MSD-like curve over the diffusive window, with its block uncertainty.

    ``slope`` and ``stderr`` are in the curve's units per ps (e.g. nm²/ps); ``block_slopes`` are the
    per-block fits; ``block_window`` the window (frames) used for blocks; ``n_blocks`` how many.
    """

    slope: float
    intercept: float
    stderr: float | None
    window: DiffusiveWindow
    frame_interval_ps: float
    block_slopes: list[float] = field(default_factory=list)
    block_window: tuple[int, int] | None = None

    @property
    def window_ps(self) -> list[float]:
        return [self.window.lo * self.frame_interval_ps, self.window.hi * self.frame_interval_ps]

    @property
    def block_window_ps(self) -> list[float] | None:
        if self.block_window is None:
            return None
        return [self.block_window[0] * self.frame_interval_ps, self.block_window[1] * self.frame_interval_ps]


def fit_msd_slope(msd: np.ndarray, frame_interval_ps: float, block_msds: np.ndarray | None = None,
                  window: DiffusiveWindow | None = None, **window_options) -> SlopeFit:
    """Fit the slope of ``msd`` (lags 0 … T−1) over the diffusive window; stderr from ``block_msds`` (n_b, T_b)."""
    msd = np.asarray(msd, float)
    if msd.size < MIN_TRANSPORT_FRAMES:
        raise AnalysisError(f"a diffusion fit needs at least {MIN_TRANSPORT_FRAMES} frames; the trajectory has "
                            f"{msd.size}")
    time = np.arange(msd.size) * frame_interval_ps
    if window is None:
        block_frames = np.shape(block_msds)[1] if block_msds is not None and len(block_msds) > 1 else None
        window = choose_diffusive_window(msd, block_frames=block_frames, **window_options)
    slope, intercept = fit_line(time, msd, window.lo, window.hi)
    stderr, block_slopes, bw = None, [], None
    if block_msds is not None and len(block_msds) > 1:
        block_msds = np.asarray(block_msds, float)
        bw = block_window(window, block_msds.shape[1])
        if bw is not None:
            block_time = np.arange(block_msds.shape[1]) * frame_interval_ps
            block_slopes = [fit_line(block_time, b, bw[0], bw[1])[0] for b in block_msds]
            stderr = float(np.std(block_slopes, ddof=1) / math.sqrt(len(block_slopes)))
    return SlopeFit(slope, intercept, stderr, window, frame_interval_ps, block_slopes, bw)


@dataclass
class DiffusionResult:
    """Self-diffusion coefficient of one species (m²/s) with its fit details."""

    D_m2_per_s: float
    stderr_m2_per_s: float | None
    fit: SlopeFit
    dimensions: int = 3


def diffusion_from_msd(msd_nm2: np.ndarray, frame_interval_ps: float, block_msds_nm2: np.ndarray | None = None,
                       dimensions: int = 3, **window_options) -> DiffusionResult:
    """D = slope / (2 d) of the MSD (nm²) over the diffusive window, converted to m²/s, with block stderr."""
    fit = fit_msd_slope(msd_nm2, frame_interval_ps, block_msds_nm2, **window_options)
    factor = M2_PER_S_PER_NM2_PER_PS / (2 * dimensions)
    return DiffusionResult(fit.slope * factor, None if fit.stderr is None else fit.stderr * factor, fit, dimensions)


def yeh_hummer_numerator_N(temperature_K: float, box_length_nm: float) -> float:
    """k_B T ξ / (6 π L) in N (= J/m = Pa s · m²/s): the Yeh–Hummer correction times the viscosity η."""
    if not (temperature_K > 0 and box_length_nm > 0):
        raise AnalysisError(f"Yeh-Hummer needs T > 0 and L > 0; got T={temperature_K} K, L={box_length_nm} nm")
    return BOLTZMANN_J_PER_K * temperature_K * YEH_HUMMER_XI / (6 * math.pi * box_length_nm * M_PER_NM)


def yeh_hummer_correction(temperature_K: float, viscosity_Pa_s: float, box_length_nm: float) -> float:
    """Finite-size correction k_B T ξ / (6 π η L) in m²/s to add to a periodic-box D (cubic box, edge L)."""
    if not viscosity_Pa_s > 0:
        raise AnalysisError(f"Yeh-Hummer needs a viscosity > 0 (--viscosity); got {viscosity_Pa_s!r} Pa s")
    return yeh_hummer_numerator_N(temperature_K, box_length_nm) / viscosity_Pa_s


def is_cubic(box_nm: np.ndarray, rtol: float = 1e-3) -> bool:
    """True when the (mean) box is cubic: equal edges and right angles to ``rtol``."""
    box = np.asarray(box_nm, float)
    lengths = np.linalg.norm(box, axis=1)
    off = box[[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]
    return bool(np.all(np.abs(lengths - lengths.mean()) <= rtol * lengths.mean())
                and np.all(np.abs(off) <= rtol * lengths.mean()))
