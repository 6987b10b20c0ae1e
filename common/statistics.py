"""Time-series statistics shared by the simulation protocol and the analyses (NumPy only).

Statistical inefficiency
    Successive MD samples are correlated. For a series of n samples with normalised autocorrelation C(k),

        g = 1 + 2 Σ_{k≥1} (1 − k/n) C(k),

    summed until C first drops to or below zero (the initial positive sequence; Flyvbjerg & Petersen,
    J. Chem. Phys. 91 (1989) 461; Chodera et al., J. Chem. Theory Comput. 3 (2007) 26). n / g is the
    effective number of independent samples: the variance of a mean is s^2 g / n.

Slope of a linear trend with correlated noise
    Least squares y = a + b t; the ordinary standard error of b is sqrt(s_res^2 / Σ (t − t̄)^2) with
    s_res^2 = Σ r^2 / (n − 2). When the noise is correlated (statistical inefficiency g of the residuals r),
    a slowly varying regressor such as t sees the noise through ~n/g independent samples, so the variance of
    b grows by g: se(b) = sqrt(g) x the ordinary error (exact for AR(1) noise with a smooth regressor in
    the limit of many correlation times; e.g. Bence, Can. J. Fish. Aquat. Sci. 52 (1995) 1290). With few
    samples g is itself uncertain; the result reports n and g so a reader can judge.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def statistical_inefficiency(samples: Sequence[float]) -> float:
    """g = 1 + 2 Σ (1 − k/n) C(k) over the initial positive part of the autocorrelation (module notes); g ≥ 1."""
    x = np.asarray(samples, dtype=float)
    n = x.size
    dx = x - x.mean()
    variance = float(np.dot(dx, dx)) / n if n else 0.0
    if n < 2 or variance == 0.0:
        return 1.0
    g = 1.0
    for k in range(1, n - 1):
        c = float(np.dot(dx[:-k], dx[k:])) / ((n - k) * variance)
        if c <= 0.0:
            break
        g += 2.0 * c * (1.0 - k / n)
    return max(1.0, g)


def linear_trend(times: Sequence[float], values: Sequence[float]) -> dict:
    """Least-squares slope of ``values`` against ``times`` with its correlation-corrected standard error.

    Returns ``slope``, ``intercept``, ``slope_stderr`` (sqrt(g) x the ordinary error, module notes),
    ``slope_stderr_uncorrelated`` (the ordinary error), ``statistical_inefficiency`` g of the residuals and
    ``n_samples``. Units: those of values per unit of times. Fewer than 3 samples or a zero time span give
    a zero slope with an infinite standard error (nothing can be said about the trend).
    """
    t = np.asarray(times, dtype=float)
    y = np.asarray(values, dtype=float)
    n = t.size
    if n < 3 or np.ptp(t) == 0.0:
        return {"slope": 0.0, "intercept": float(y.mean()) if n else 0.0, "slope_stderr": float("inf"),
                "slope_stderr_uncorrelated": float("inf"), "statistical_inefficiency": 1.0, "n_samples": int(n)}
    slope, intercept = np.polyfit(t, y, 1)
    residuals = y - (slope * t + intercept)
    sxx = float(np.sum((t - t.mean()) ** 2))
    ordinary = float(np.sqrt(np.sum(residuals ** 2) / (n - 2) / sxx))
    g = statistical_inefficiency(residuals)
    return {"slope": float(slope), "intercept": float(intercept), "slope_stderr": ordinary * float(np.sqrt(g)),
            "slope_stderr_uncorrelated": ordinary, "statistical_inefficiency": g, "n_samples": int(n)}
