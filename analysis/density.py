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

Realised salt molarity (with ``--manifest``, the build's manifest.json): c = n / (N_A <V>) in mol per litre
of the simulated system (for a gel: of the swollen gel, polymer included), n the number of cations
(``composition.counts[composition.cation]``), <V> the mean box volume over the same converged window, its
standard error δ<V> from the same correlation-corrected estimator, δc = c δ<V> / <V> (first order). Written
as ``realised_molarity_mol_per_L`` beside the target and the build's ideal-mixing value: density.json is the
sibling of build/manifest.json that updates the molarity to the equilibrated volume. A system with an additive
salt (manifest ``additive_salt``, e.g. LE(TEA)) also gets ``additive_realised_molarity_mol_per_L``: its ion pairs
over the same volume.

Usage::

    python -m analysis.density --equilibration equilibration.json --forcefield forcefield.json \\
        --system-name LE [--reference PC] [--manifest manifest.json] --out density.json
"""

from __future__ import annotations

import argparse
from typing import Sequence

import numpy as np

from analysis.reference_data import DENSITY_G_PER_CM3, lookup
from common.cli import run_main
from common.constants import AVOGADRO_PER_MOL, NM3_PER_CM3
from common.errors import AnalysisError
from common.io import read_json, write_json_atomic
from common.statistics import statistical_inefficiency

__all__ = ["converged_window", "density_report", "mean_and_stderr", "realised_molarity", "statistical_inefficiency"]

SCHEMA = "gelmd.analysis.density/1"
MIN_SAMPLES = 4


def mean_and_stderr(samples: Sequence[float]) -> dict:
    """Mean, standard deviation, correlation-corrected standard error, n and g of a time series."""
    x = np.asarray(samples, dtype=float)
    if x.size < MIN_SAMPLES:
        raise AnalysisError(f"a density average needs at least {MIN_SAMPLES} samples, got {x.size}")
    g = statistical_inefficiency(x)
    std = float(np.std(x, ddof=1))
    return {"mean": float(x.mean()), "std": std, "stderr": std / np.sqrt(x.size / g),
            "n_samples": int(x.size), "statistical_inefficiency": g}


def _npt_section(equilibration: dict) -> dict:
    """The NPT part of an equilibration report; AnalysisError if it is missing or did not converge."""
    npt = equilibration.get("npt") if isinstance(equilibration, dict) else None
    if not isinstance(npt, dict):
        raise AnalysisError("equilibration report lacks its 'npt' section; it must come from simulation.equilibrate")
    if not npt.get("converged", False):
        raise AnalysisError("the NPT equilibration did not converge; no equilibrium density can be reported")
    return npt


def _window_series(equilibration: dict, key: str) -> np.ndarray:
    """The ``npt.series[key]`` samples of the converged window (``npt.checks[-1].n_samples`` from the end)."""
    npt = _npt_section(equilibration)
    try:
        values = np.asarray(npt["series"][key], dtype=float)
        n_window = int(npt["checks"][-1]["n_samples"])
    except (KeyError, TypeError, IndexError) as exc:
        raise AnalysisError(f"equilibration report lacks the NPT series 'npt.series.{key}' or its convergence "
                            f"checks ({exc}); it must come from simulation.equilibrate") from exc
    return values[-n_window:]


def converged_window(equilibration: dict) -> tuple[np.ndarray, np.ndarray]:
    """Times (ps) and densities (g/cm^3) of the averaging window: the samples behind the converged check,
    i.e. the second half of the last NPT block (``npt.checks[-1].n_samples`` from the end of the series)."""
    return _window_series(equilibration, "time_ps"), _window_series(equilibration, "density_g_per_cm3")


def realised_molarity(equilibration: dict, manifest: dict) -> dict:
    """Salt molarity (mol/L) at the mean volume of the converged window, with its standard error (module notes).

    ``manifest``: the build's manifest.json (``composition.counts``, ``composition.cation``, and the target
    ``composition.target_salt_molarity_mol_per_L``). A system without salt gives value 0.
    """
    composition = manifest.get("composition") if isinstance(manifest, dict) else None
    if not isinstance(composition, dict) or not isinstance(composition.get("counts"), dict):
        raise AnalysisError("build manifest lacks 'composition.counts'; it must come from systems.build_electrolyte "
                            "or systems.build_network")
    cation = composition.get("cation")
    n_ions = int(composition["counts"].get(cation, 0)) if cation else 0
    volume = mean_and_stderr(_window_series(equilibration, "volume_nm3"))
    litres = volume["mean"] / NM3_PER_CM3 / 1000.0
    value = n_ions / (AVOGADRO_PER_MOL * litres)
    build = manifest.get("realised_molarity_mol_per_L")
    return {
        "value": value,
        "stderr": value * volume["stderr"] / volume["mean"],
        "target": composition.get("target_salt_molarity_mol_per_L"),
        "at_build": build.get("value") if isinstance(build, dict) else composition.get(
            "realised_salt_molarity_mol_per_L"),
        "n_ion_pairs": n_ions,
        "counted_species": cation,
        "volume_nm3": {"value": volume["mean"], "stderr": volume["stderr"]},
        "convention": "mol of salt (counted as cations) per litre of the simulated system at the mean volume of "
                      "the converged NPT window (for a gel: per litre of swollen gel); target and at_build are the "
                      "config's molarity and the build's ideal-mixing value, both per litre of solution",
    }


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


def density_report(equilibration: dict, forcefield: dict, system_name: str, reference_key: str = "",
                   manifest: dict | None = None) -> dict:
    """The density.json content (module notes); ``manifest`` (the build's) adds ``realised_molarity_mol_per_L``."""
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
        "realised_molarity_mol_per_L": None if manifest is None else realised_molarity(equilibration, manifest),
        **({"additive_realised_molarity_mol_per_L": additive_realised_molarity(equilibration, manifest)}
           if isinstance(manifest, dict) and isinstance(manifest.get("additive_salt"), dict) else {}),
    }


def additive_realised_molarity(equilibration: dict, manifest: dict) -> dict:
    """The additive salt's molarity (mol/L) at the mean volume of the converged window, with its standard error:
    its ion pairs (manifest ``additive_salt.n_pairs``) over N_A <V>, as for the main salt."""
    additive = manifest["additive_salt"]
    volume = mean_and_stderr(_window_series(equilibration, "volume_nm3"))
    n_pairs = int(additive["n_pairs"])
    value = n_pairs / (AVOGADRO_PER_MOL * volume["mean"] / NM3_PER_CM3 / 1000.0)
    build = additive.get("realised_molarity_mol_per_L") or {}
    return {"value": value, "stderr": value * volume["stderr"] / volume["mean"], "target": build.get("target"),
            "at_build": build.get("value"), "n_ion_pairs": n_pairs, "counted_species": additive["cation"],
            "volume_nm3": {"value": volume["mean"], "stderr": volume["stderr"]},
            "convention": "mol of additive salt (counted as its cations) per litre of the simulated system at the "
                          "mean volume of the converged NPT window; target and at_build per litre of solution"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.density", description=__doc__.splitlines()[0])
    parser.add_argument("--equilibration", required=True, help="equilibration.json of simulation.equilibrate")
    parser.add_argument("--forcefield", required=True, help="forcefield.json of forcefields.parameterise")
    parser.add_argument("--system-name", required=True)
    parser.add_argument("--reference", default="", help=f"experimental reference key: {sorted(DENSITY_G_PER_CM3)}")
    parser.add_argument("--manifest", default=None,
                        help="build manifest.json: adds realised_molarity_mol_per_L at the equilibrated volume")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    return run_main("analysis.density", lambda: _write_density(args))


def _write_density(args: argparse.Namespace) -> None:
    """Read the reports, write the density JSON and print the values."""
    manifest = read_json(args.manifest, "build manifest") if args.manifest else None
    report = density_report(read_json(args.equilibration, "equilibration report"),
                            read_json(args.forcefield, "force-field report"), args.system_name, args.reference,
                            manifest)
    write_json_atomic(args.out, report)
    d = report["density_g_per_cm3"]
    print(f"{args.system_name}: density {d['value']:.4f} +- {d['stderr']:.4f} g/cm^3")
    c = report["realised_molarity_mol_per_L"]
    if c is not None:
        print(f"{args.system_name}: salt {c['value']:.4f} +- {c['stderr']:.4f} mol/L at the equilibrated volume "
              f"(target {c['target']} mol/L)")


if __name__ == "__main__":
    raise SystemExit(main())
