"""PNG figures of the transport analysis that a person can read (matplotlib, Agg backend, no display).

``msd.png``                log–log MSD of every species (nm² against ps) with the fitted window marked and
                           the fitted line 6 D t + c drawn over it; a dashed slope-1 guide.
``einstein_helfand.png``   collective charge-displacement MSD (e² nm²) with its fit window, per convention.
``rdf.png``                Na⁺ g(r) of every site group (left axis) and running coordination number
                           (right axis), first minima marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from common.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    """Lay out, write the PNG atomically and close the figure; returns the path."""
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    _pyplot().close(fig)
    return path


def plot_msd(path: str | Path, time_ps: np.ndarray, msd_nm2: Mapping[str, np.ndarray],
             fits: Mapping[str, dict]) -> Path:
    """MSD per species; ``fits[name]`` has ``window_ps`` [lo, hi], ``slope`` (nm²/ps), ``intercept`` (nm²)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    half = max(2, time_ps.size // 2)
    for name, msd in msd_nm2.items():
        line, = ax.loglog(time_ps[1:half], msd[1:half], label=name)
        f = fits.get(name)
        if f:
            t = np.linspace(f["window_ps"][0], f["window_ps"][1], 50)
            ax.loglog(t, f["slope"] * t + f["intercept"], color=line.get_color(), lw=3, alpha=0.4)
    t = time_ps[1:half]
    if t.size:
        ref = np.nanmax([m[half - 1] for m in msd_nm2.values()])
        ax.loglog(t, ref * t / t[-1], "k--", lw=0.8, label="slope 1")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD of molecular centre of mass (nm²)")
    ax.set_title("Self-diffusion (thick: fitted window, 6Dt + c)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_einstein_helfand(path: str | Path, time_ps: np.ndarray, curves: Mapping[str, dict]) -> Path:
    """Collective MSD per charge convention; ``curves[conv]`` has ``msd``, ``window_ps``, ``slope``, ``intercept``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    half = max(2, time_ps.size // 2)
    for name, c in curves.items():
        line, = ax.plot(time_ps[1:half], c["msd"][1:half], label=f"{name} charges")
        t = np.linspace(c["window_ps"][0], c["window_ps"][1], 50)
        ax.plot(t, c["slope"] * t + c["intercept"], color=line.get_color(), lw=3, alpha=0.4)
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("⟨|ΔM|²⟩, M = Σ q r (e² nm²)")
    ax.set_title("Einstein–Helfand (thick: fitted window)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_rdf(path: str | Path, r_nm: np.ndarray, groups: Mapping[str, dict]) -> Path:
    """Na⁺ RDFs and running coordination numbers; ``groups[name]`` has ``g``, ``n``, ``first_minimum_nm``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    ax2 = ax.twinx()
    for name, g in groups.items():
        line, = ax.plot(r_nm, g["g"], label=name)
        ax2.plot(r_nm, g["n"], color=line.get_color(), ls=":", lw=1)
        if g.get("first_minimum_nm") is not None:
            ax.axvline(g["first_minimum_nm"], color=line.get_color(), lw=0.6, ls="--")
    ax.set_xlabel("r from Na⁺ (nm)")
    ax.set_ylabel("g(r) (solid)")
    ax2.set_ylabel("running coordination number (dotted)")
    ax.set_title("Na⁺ solvation (dashed: first minima)")
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)
