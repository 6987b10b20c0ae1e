"""Free energies of decoupling with MBAR (pymbar 4.0.3), their uncertainty, overlap and convergence verdict.

Input per leg: u[k, n, l], the reduced potential (energy / kT) of sample n of window k evaluated at state l
(written by :mod:`simulation.decoupling`). Each window's samples are first thinned to uncorrelated ones: the
statistical inefficiency g_k (pymbar.timeseries) of the window's energy differences to its neighbouring states
(u_{k+1} − u_{k−1}, the quantity MBAR's estimate hinges on), then every ⌈g_k⌉-th sample is kept. MBAR
(Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008)) gives the dimensionless free energies f_k and their
asymptotic standard errors; the overlap matrix O (pymbar ``compute_overlap``) gives the overlap between
neighbouring states, O[k, k+1]; below ~0.03 the estimate between them is unreliable whatever its error bar says.

Solvation free energy of a molecule (Ben-Naim's ΔG*, fixed position, ideal gas at the same number density):

    ΔG_solv = −ΔF_box + ΔF_vacuum + U_tail

ΔF_box = f_decoupled − f_coupled in the box, ΔF_vacuum = the same annihilation of the charges in vacuum (the exact-PME
treatment also removes the molecule's own electrostatics; the gas leg cancels it), U_tail the analytic long-range
LJ of the coupled molecule (left out of the sampled Hamiltonian). ΔG_solv equals the excess chemical potential μ_ex.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

MIN_NEIGHBOUR_OVERLAP = 0.03
"""Neighbour overlap below which the estimate between two states is not trusted (Klimovich, Shirts & Mobley,
J. Comput.-Aided Mol. Des. 29, 397 (2015), who recommend O[k, k+1] well above 0.03)."""
MIN_UNCORRELATED_SAMPLES = 20
"""Uncorrelated samples per window below which MBAR's asymptotic error is itself not reliable."""


def _pymbar():
    """pymbar, imported quietly (it prints a banner about the optional JAX to standard output)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)           # the banner is a logging warning of pymbar.mbar_solvers
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            import pymbar
            from pymbar import timeseries
    finally:
        logging.disable(previous)
    for name in ("pymbar", "pymbar.timeseries", "pymbar.mbar_solvers", "pymbar.mbar"):
        logging.getLogger(name).setLevel(logging.ERROR)   # the run-time caveats are in our own verdicts
    return pymbar, timeseries


def uncorrelated_indices(u_window: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Indices of uncorrelated samples of window ``k`` (u_window[n, l]) and its statistical inefficiency g."""
    _, timeseries = _pymbar()
    n_states = u_window.shape[1]
    signal = u_window[:, min(k + 1, n_states - 1)] - u_window[:, max(k - 1, 0)]
    if u_window.shape[0] < 3 or np.ptp(signal) == 0.0:
        return np.arange(u_window.shape[0]), 1.0
    g = float(timeseries.statistical_inefficiency(signal))
    stride = max(1, int(math.ceil(g)))
    return np.arange(0, u_window.shape[0], stride), g


@dataclass
class LegResult:
    """Free energy of one leg, last state minus first, in kT; its standard error; overlap diagnostics."""

    delta_f_kT: float
    stderr_kT: float
    neighbour_overlap: list[float]
    overlap_scalar: float
    statistical_inefficiency: list[float]
    uncorrelated_samples: list[int]
    samples: list[int]

    def to_json(self) -> dict:
        return {"delta_f_kT": self.delta_f_kT, "stderr_kT": self.stderr_kT,
                "neighbour_overlap": self.neighbour_overlap, "min_neighbour_overlap": min(self.neighbour_overlap),
                "overlap_scalar": self.overlap_scalar, "statistical_inefficiency": self.statistical_inefficiency,
                "uncorrelated_samples_per_window": self.uncorrelated_samples, "samples_per_window": self.samples}


def mbar_leg(u: np.ndarray) -> LegResult:
    """MBAR over the windows of one leg (u[k, n, l], see the module notes)."""
    pymbar, _ = _pymbar()
    n_states = u.shape[0]
    if u.ndim != 3 or u.shape[2] != n_states:
        raise ValueError(f"reduced potentials must have shape (K, N, K); got {u.shape}")
    blocks, counts, inefficiency = [], [], []
    for k in range(n_states):
        keep, g = uncorrelated_indices(u[k], k)
        blocks.append(u[k, keep, :])
        counts.append(len(keep))
        inefficiency.append(g)
    u_kn = np.concatenate(blocks, axis=0).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mbar = pymbar.MBAR(u_kn, np.array(counts), solver_protocol="robust", initialize="BAR")
        result = mbar.compute_free_energy_differences()
        overlap = mbar.compute_overlap()
    delta, error = result["Delta_f"], result["dDelta_f"]
    matrix = overlap["matrix"]
    return LegResult(delta_f_kT=float(delta[0, -1]), stderr_kT=float(error[0, -1]),
                     neighbour_overlap=[float(matrix[k, k + 1]) for k in range(n_states - 1)],
                     overlap_scalar=float(overlap["scalar"]), statistical_inefficiency=inefficiency,
                     uncorrelated_samples=counts, samples=[int(u.shape[1])] * n_states)


def solvation_free_energy(box_u: np.ndarray, vacuum_u: np.ndarray, tail_kJ_per_mol: float, kT_kJ_per_mol: float) -> dict:
    """ΔG_solv (kJ/mol) of one molecule with its MBAR standard error and both legs' diagnostics (module notes)."""
    box, gas = mbar_leg(box_u), mbar_leg(vacuum_u)
    value = kT_kJ_per_mol * (-box.delta_f_kT + gas.delta_f_kT) + tail_kJ_per_mol
    stderr = kT_kJ_per_mol * math.hypot(box.stderr_kT, gas.stderr_kT)
    reasons = convergence_problems(box, "box") + convergence_problems(gas, "vacuum")
    return {"value": value, "stderr": stderr, "tail_kJ_per_mol": tail_kJ_per_mol,
            "box_leg": box.to_json(), "vacuum_leg": gas.to_json(), "converged": not reasons,
            "not_converged_because": reasons}


def convergence_problems(leg: LegResult, name: str) -> list[str]:
    """Why a leg's estimate cannot be trusted yet (empty when nothing is known to be wrong)."""
    problems = []
    worst = min(leg.neighbour_overlap)
    if worst < MIN_NEIGHBOUR_OVERLAP:
        problems.append(f"{name} leg: neighbour overlap down to {worst:.3f} (< {MIN_NEIGHBOUR_OVERLAP}); add λ windows "
                        "or sample longer")
    fewest = min(leg.uncorrelated_samples)
    if fewest < MIN_UNCORRELATED_SAMPLES:
        problems.append(f"{name} leg: {fewest} uncorrelated samples in a window (< {MIN_UNCORRELATED_SAMPLES}); the "
                        "MBAR error bar itself is unreliable: sample longer")
    return problems


def combine_molecules(values: list[float], stderrs: list[float]) -> dict:
    """Mean ΔG over independent molecules; stderr = the larger of the spread-based error s/√n (n ≥ 2) and the
    propagated MBAR errors √(Σσ²)/n (a spread of 2-3 molecules underestimates as often as it overestimates)."""
    n = len(values)
    propagated = math.sqrt(sum(s * s for s in stderrs)) / n
    spread = float(np.std(values, ddof=1) / math.sqrt(n)) if n >= 2 else 0.0
    return {"value": float(np.mean(values)), "stderr": max(propagated, spread), "n_molecules": n,
            "stderr_from_spread": spread if n >= 2 else None, "stderr_from_mbar": propagated}
