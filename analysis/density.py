"""Equilibrium density from the NPT equilibration, with its uncertainty and the comparison with experiment.

Physics
-------
The density is the mean of the instantaneous densities ρ(t) = M / V(t) (g/cm^3) sampled during the
converged NPT window of ``simulation.equilibrate`` (the second half of its last block; Monte Carlo
barostat, Langevin thermostat). Successive samples are correlated, so the standard error is

    stderr = s / sqrt(n / g),     g = 1 + 2 Σ_{k≥1} (1 − k/n) C(k)

with s the sample standard deviation, n the number of samples and g the statistical inefficiency from
the normalised autocorrelation C(k) of ρ, summed until C first drops to or below zero (the initial
positive sequence; Flyvbjerg & Petersen, J. Chem. Phys. 91 (1989) 461; Chodera et al., J. Chem. Theory
Comput. 3 (2007) 26). With few samples g is itself uncertain: the report gives n and g so a reader can
judge; a demo-length window (tens of ps) yields an indicative, not a converged, error bar.

The deviation from experiment is 100 (ρ_sim − ρ_exp) / ρ_exp in percent; where no verified
experimental value exists (see :mod:`analysis.reference_data`) the report says so and gives no deviation.

Usage::

    python -m analysis.density --equilibration equilibration.json --forcefield forcefield.json \\
        --system-name LE [--reference PC] --out density.json
"""

from __future__ import annotations

import argparse
from typing import Sequence

import numpy as np

from analysis.reference_data import DENSITY_G_PER_CM3, lookup
from common.cli import run_main
from common.errors import AnalysisError
from common.io import read_json, write_json_atomic

SCHEMA = "gelmd.analysis.density/1"
MIN_SAMPLES = 4


def statistical_inefficiency(samples: Sequence[float]) -> float:
    """g = 1 + 2 Σ (1 − k/n) C(k) over the initial positive part of the autocorrelation (module notes); g ≥ 1."""
    x = np.asarray(samples, dtype=float)
    n = x.size
    dx = x - x.mean()
    variance = float(np.dot(dx, dx)) / n
    if n < 2 or variance == 0.0:
        return 1.0
    g = 1.0
    for k in range(1, n - 1):
        c = float(np.dot(dx[:-k], dx[k:])) / ((n - k) * variance)
        if c <= 0.0:
            break
        g += 2.0 * c * (1.0 - k / n)
    return max(1.0, g)


def mean_and_stderr(samples: Sequence[float]) -> dict:
    """Mean, standard deviation, correlation-corrected standard error, n and g of a time series."""
    x = np.asarray(samples, dtype=float)
    if x.size < MIN_SAMPLES:
        raise AnalysisError(f"a density average needs at least {MIN_SAMPLES} samples, got {x.size}")
    g = statistical_inefficiency(x)
    std = float(np.std(x, ddof=1))
    return {"mean": float(x.mean()), "std": std, "stderr": std / np.sqrt(x.size / g),
            "n_samples": int(x.size), "statistical_inefficiency": g}


def converged_window(equilibration: dict) -> tuple[np.ndarray, np.ndarray]:
    """Times (ps) and densities (g/cm^3) of the averaging window: the samples behind the converged check,
    i.e. the second half of the last NPT block (``npt.checks[-1].n_samples`` from the end of the series)."""
    try:
        npt = equilibration["npt"]
        times = np.asarray(npt["series"]["time_ps"], dtype=float)
        densities = np.asarray(npt["series"]["density_g_per_cm3"], dtype=float)
        n_window = int(npt["checks"][-1]["n_samples"])
    except (KeyError, TypeError, IndexError) as exc:
        raise AnalysisError(f"equilibration report lacks the NPT density series or its convergence checks ({exc}); "
                            "it must come from simulation.equilibrate") from exc
    if not npt.get("converged", False):
        raise AnalysisError("the NPT equilibration did not converge; no equilibrium density can be reported")
    return times[-n_window:], densities[-n_window:]


def _ensemble(npt: dict) -> str:
    """The NPT ensemble as it ran: barostat scaling mode and whether constraints were dropped."""
    barostat = npt.get("barostat") or {}
    mode = barostat.get("mode", "molecular")
    text = (f"NPT (MonteCarloBarostat, {'molecules scaled as rigid bodies' if mode == 'molecular' else 'atom-wise scaling'}"
            f"; Langevin thermostat)")
    if npt.get("constraints_dropped_for_npt"):
        text += (f"; constraints replaced by their X-H bond terms during NPT, time step "
                 f"{npt.get('timestep_ps', 0) * 1000:g} fs")
    return text


def density_report(equilibration: dict, forcefield: dict, system_name: str, reference_key: str = "") -> dict:
    """The density.json content (module notes)."""
    times, densities = converged_window(equilibration)
    stats = mean_and_stderr(densities)
    npt = equilibration["npt"]
    reference = lookup(DENSITY_G_PER_CM3, reference_key)
    if reference_key and reference is None:
        raise AnalysisError(f"no experimental density reference named {reference_key!r}; known: "
                            f"{sorted(DENSITY_G_PER_CM3)} (or leave reference_density empty)")
    experiment: dict
    if reference is None:
        experiment = {"value_g_per_cm3": None, "deviation_percent": None,
                      "note": "no verified experimental density for this system (see analysis/reference_data.py)"}
    else:
        deviation = 100.0 * (stats["mean"] - reference.value) / reference.value
        experiment = {"value_g_per_cm3": reference.value, "uncertainty_g_per_cm3": reference.uncertainty,
                      "temperature_K": reference.temperature_K, "source": reference.source, "note": reference.note,
                      "deviation_percent": deviation,
                      "deviation_stderr_percent": 100.0 * np.hypot(stats["stderr"], reference.uncertainty)
                      / reference.value}
    return {
        "schema": SCHEMA,
        "system": system_name,
        "density_g_per_cm3": {"value": stats["mean"], "stderr": stats["stderr"], "std": stats["std"]},
        "n_samples": stats["n_samples"],
        "statistical_inefficiency": stats["statistical_inefficiency"],
        "window_ps": [float(times[0]), float(times[-1])],
        "method": "mean of NPT density samples over the second half of the converged equilibration block; "
                  "stderr corrected for autocorrelation (statistical inefficiency)",
        "ensemble": _ensemble(npt),
        "temperature_K": npt["temperature_K"],
        "pressure_bar": npt["pressure_bar"],
        "timestep_ps": npt["timestep_ps"],
        "npt_length_ps": npt["steps"] * npt["timestep_ps"],
        "charges": forcefield.get("charges"),
        "ion_charge_scale": forcefield.get("ion_charge_scale"),
        "forcefield": forcefield.get("force_field"),
        "experiment": experiment,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.density", description=__doc__.splitlines()[0])
    parser.add_argument("--equilibration", required=True, help="equilibration.json of simulation.equilibrate")
    parser.add_argument("--forcefield", required=True, help="forcefield.json of forcefields.parameterise")
    parser.add_argument("--system-name", required=True)
    parser.add_argument("--reference", default="", help=f"experimental reference key: {sorted(DENSITY_G_PER_CM3)}")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    return run_main("analysis.density", lambda: _write_density(args))


def _write_density(args: argparse.Namespace) -> None:
    """Read the two reports, write the density JSON and print the value."""
    report = density_report(read_json(args.equilibration, "equilibration report"),
                            read_json(args.forcefield, "force-field report"), args.system_name, args.reference)
    write_json_atomic(args.out, report)
    d = report["density_g_per_cm3"]
    print(f"{args.system_name}: density {d['value']:.4f} +- {d['stderr']:.4f} g/cm^3")


if __name__ == "__main__":
    raise SystemExit(main())
