"""``python -m analysis.viscosity``: shear viscosity from a periodic-perturbation run (the analysis half).

Reads the series of the flow amplitude V (``simulation.viscosity`` writes it: one row per sample interval,
V = 2 Σ m v_x cos(k z) / Σ m averaged over the interval) and the run report (density, wavenumber, amplitude,
thermostat), and gives, per amplitude A (Hess, J. Chem. Phys. 116, 209 (2002)),

    η = A ρ / (⟨V⟩ k²)        (SI: A in m/s², ρ in kg/m³, V in m/s, k in 1/m → Pa s),

with the standard error from block averaging: the series is cut into ``n_blocks`` (10) contiguous blocks,
se(⟨V⟩) = std(block means, ddof=1) / sqrt(n_blocks), and se(η) = η se(⟨V⟩) / ⟨V⟩ (first order; when
se/⟨V⟩ > 0.3 the inverse is skewed and the report flags ``low_signal``).

Linear-response check: with two (or more) amplitudes the η values must agree; the smallest and the largest
are compared, z = |η₁ − η₂| / sqrt(se₁² + se₂²) and the relative difference |η₁ − η₂| / η₁. They are
consistent when z ≤ 2 *and* the relative difference is ≤ 15 %: a noisy small-amplitude run passes the z test
alone while the large amplitude thins the liquid (neat PC, 80 ps at 0.15 and 0.3 nm/ps²: η ratios 1.5-1.8 in
every model, yet z = 1.8 in one), and an inverse-variance mean would then carry the thinned value. Reported η:
the inverse-variance weighted mean of all amplitudes when consistent, else the smallest amplitude's η (the one
closest to linear response; shear thinning lowers η at large A) with ``linear_response.consistent: false``.

Usage::

    python -m analysis.viscosity --run run.json --series series.csv --out viscosity.json \\
        [--csv viscosity.csv] [--plot viscosity.png] [--blocks 10] [--reference KEY]

``--reference`` names an entry of :data:`analysis.reference_data.VISCOSITY_PA_S` (the workflow passes the
system's ``reference_density`` key: the same sample); the deviation from it is reported, or why none is.

Output ``viscosity.json`` (schema ``gelmd.viscosity/1``): ``viscosity_Pa_s{value,stderr}``,
``viscosity_mPa_s{value,stderr}``, ``method``, ``estimator``, ``amplitudes[]`` (per amplitude: A, ⟨V⟩ with
stderr, η with stderr, samples, block count, flow kinetic-energy fraction, max shear rate), ``linear_response``,
``parameters`` (k, L_z, box, ρ, T, thermostat, collision rate, time step, spin-up, duration, sample
interval), ``reference`` and ``deviation_percent``. Exit status 1 with ``viscosity: error: ...`` on bad input.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from analysis.reference_data import VISCOSITY_PA_S, lookup
from common.cli import run_main
from common.errors import AnalysisError
from common.io import atomic_path, read_json, write_json_atomic, write_text_atomic

SCHEMA = "gelmd.viscosity/1"
RUN_REPORT_SCHEMA = "gelmd.simulation.viscosity/1"
"""Schema of the run report that ``simulation.viscosity`` writes (analysis may not import simulation/)."""
SERIES_COLUMNS = ("amplitude_nm_per_ps2", "time_ps", "V_nm_per_ps")
M_PER_NM = 1e-9
M_PER_S_PER_NM_PER_PS = 1e3
M_PER_S2_PER_NM_PER_PS2 = 1e15
KG_PER_M3_PER_G_PER_CM3 = 1e3
LINEAR_RESPONSE_Z = 2.0
LINEAR_RESPONSE_MAX_RELATIVE_DIFFERENCE = 0.15
LOW_SIGNAL_RATIO = 0.3


def viscosity_from_amplitude(amplitude_nm_per_ps2: float, density_g_per_cm3: float, V_nm_per_ps: float,
                             wavenumber_per_nm: float) -> float:
    """η = A ρ / (V k²) in Pa s, from A (nm/ps²), ρ (g/cm³), V (nm/ps) and k (1/nm)."""
    if not V_nm_per_ps > 0:
        raise AnalysisError(f"the mean flow amplitude V = {V_nm_per_ps!r} nm/ps is not > 0: no viscosity can be read "
                            "(the run is too short or the acceleration too small for the noise)")
    return (amplitude_nm_per_ps2 * M_PER_S2_PER_NM_PER_PS2 * density_g_per_cm3 * KG_PER_M3_PER_G_PER_CM3
            / (V_nm_per_ps * M_PER_S_PER_NM_PER_PS * (wavenumber_per_nm / M_PER_NM) ** 2))


def block_mean(series: np.ndarray, n_blocks: int) -> tuple[float, float]:
    """Mean of ``series`` and its block-average standard error (``n_blocks`` contiguous blocks; the tail that
    does not fill a block is dropped from the error but kept in the mean)."""
    x = np.asarray(series, float)
    if n_blocks < 2:
        raise AnalysisError(f"--blocks {n_blocks}: block averaging needs at least 2 blocks")
    if x.size < n_blocks:
        raise AnalysisError(f"a series of {x.size} samples cannot be cut into {n_blocks} blocks")
    size = x.size // n_blocks
    means = x[:size * n_blocks].reshape(n_blocks, size).mean(axis=1)
    return float(x.mean()), float(means.std(ddof=1) / math.sqrt(n_blocks))


def read_run_report(path: str | Path) -> dict:
    report = read_json(path, "--run report", invalid=AnalysisError)
    schema = report.get("schema") if isinstance(report, dict) else None
    if schema != RUN_REPORT_SCHEMA:
        raise AnalysisError(f"--run {str(path)!r}: schema {schema!r} is not {RUN_REPORT_SCHEMA!r} (the run report "
                            "simulation.viscosity writes)")
    if not report.get("amplitudes"):
        raise AnalysisError(f"--run {str(path)!r}: no amplitudes recorded")
    return report


def read_series(path: str | Path) -> dict[float, np.ndarray]:
    """amplitude (nm/ps²) -> V series (nm/ps), in file order."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise AnalysisError(f"--series {str(path)!r}: cannot read ({exc.strerror})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or any(c not in rows[0] for c in SERIES_COLUMNS):
        raise AnalysisError(f"--series {str(path)!r}: needs the columns {list(SERIES_COLUMNS)}")
    out: dict[float, list[float]] = {}
    for row in rows:
        out.setdefault(float(row["amplitude_nm_per_ps2"]), []).append(float(row["V_nm_per_ps"]))
    return {a: np.asarray(v) for a, v in out.items()}


def _est(value, stderr) -> dict:
    return {"value": None if value is None else float(value), "stderr": None if stderr is None else float(stderr)}


def amplitude_result(run: dict, series: np.ndarray, n_blocks: int) -> dict:
    """η with stderr of one amplitude's run (``run``: its entry of the run report)."""
    mean, se = block_mean(series, n_blocks)
    a, rho, k = run["amplitude_nm_per_ps2"], run["density_g_per_cm3"], run["wavenumber_per_nm"]
    eta = viscosity_from_amplitude(a, rho, mean, k)
    return {
        "amplitude_nm_per_ps2": a,
        "V_nm_per_ps": _est(mean, se),
        "viscosity_Pa_s": _est(eta, eta * se / mean),
        "low_signal": bool(se / mean > LOW_SIGNAL_RATIO),
        "n_samples": int(series.size), "n_blocks": int(n_blocks),
        "sampled_ps": float(run["duration_ps"]),
        "flow_kinetic_energy_fraction": run.get("flow_kinetic_energy_fraction"),
        "max_shear_rate_per_ps": abs(mean) * k,
        "mean_temperature_K": run.get("mean_temperature_K"),
        "mean_full_step_temperature_K": run.get("mean_full_step_temperature_K"),
    }


def combine(results: list[dict]) -> tuple[dict, dict]:
    """The reported η and the linear-response check (module notes)."""
    ordered = sorted(results, key=lambda r: r["amplitude_nm_per_ps2"])
    if len(ordered) == 1:
        only = ordered[0]["viscosity_Pa_s"]
        return dict(only), {"checked": False, "note": "one amplitude only: linear response not checked"}
    lo, hi = ordered[0]["viscosity_Pa_s"], ordered[-1]["viscosity_Pa_s"]
    sigma = math.hypot(lo["stderr"], hi["stderr"])
    difference = lo["value"] - hi["value"]
    z = abs(difference) / sigma if sigma > 0 else math.inf
    relative = abs(difference) / abs(lo["value"]) if lo["value"] else math.inf
    consistent = bool(z <= LINEAR_RESPONSE_Z and relative <= LINEAR_RESPONSE_MAX_RELATIVE_DIFFERENCE)
    check = {"checked": True, "amplitudes_nm_per_ps2": [r["amplitude_nm_per_ps2"] for r in ordered],
             "eta_small_minus_large_Pa_s": difference, "combined_stderr_Pa_s": sigma, "z": z,
             "relative_difference": relative, "consistent": consistent,
             "rule": (f"|eta(A_min) - eta(A_max)| <= {LINEAR_RESPONSE_Z} x combined stderr and <= "
                      f"{LINEAR_RESPONSE_MAX_RELATIVE_DIFFERENCE:.0%} of eta(A_min)")}
    if consistent:
        w = np.array([1.0 / r["viscosity_Pa_s"]["stderr"] ** 2 for r in ordered])
        v = np.array([r["viscosity_Pa_s"]["value"] for r in ordered])
        check["reported"] = "inverse-variance weighted mean of all amplitudes"
        return {"value": float(np.sum(w * v) / np.sum(w)), "stderr": float(1.0 / math.sqrt(np.sum(w)))}, check
    check["reported"] = ("the smallest amplitude's eta (amplitudes disagree, or agree only within a noise that "
                         "cannot show linear response)")
    return dict(lo), check


def reference_block(key: str | None, eta: dict) -> tuple[dict | None, float | None, str]:
    ref = lookup(VISCOSITY_PA_S, key or "")
    if ref is None:
        note = ("no reference key given" if not key
                else f"no verified measured viscosity under {key!r} in analysis/reference_data.py VISCOSITY_PA_S")
        return None, None, note
    dev = 100.0 * (eta["value"] - ref.value) / ref.value
    return ({"key": key, "value_Pa_s": ref.value, "uncertainty_Pa_s": ref.uncertainty,
             "temperature_K": ref.temperature_K, "source": ref.source, "note": ref.note}, dev,
            "deviation = 100 (eta_MD - eta_exp) / eta_exp")


def analyse(run_report: str | Path, series_csv: str | Path, n_blocks: int = 10, reference: str | None = None) -> dict:
    """The whole analysis (layout in the module docstring)."""
    report = read_run_report(run_report)
    series = read_series(series_csv)
    results = []
    for run in report["amplitudes"]:
        a = run["amplitude_nm_per_ps2"]
        match = [s for amp, s in series.items() if math.isclose(amp, a, rel_tol=1e-9)]
        if not match:
            raise AnalysisError(f"--series {str(series_csv)!r} has no rows for amplitude {a!r} nm/ps^2 of the run "
                                f"report; it has {sorted(series)}")
        results.append(amplitude_result(run, match[0], n_blocks))
    eta, check = combine(results)
    ref, deviation, ref_note = reference_block(reference, eta)
    first = report["amplitudes"][0]
    keys = ("wavenumber_per_nm", "box_length_z_nm", "box_nm", "volume_nm3", "density_g_per_cm3", "temperature_K",
            "thermostat", "collision_rate_per_ps", "timestep_ps", "spin_up_ps", "duration_ps", "sample_interval_ps")
    return {
        "schema": SCHEMA,
        "inputs": {"run": str(run_report), "series": str(series_csv)},
        "viscosity_Pa_s": eta,
        "viscosity_mPa_s": _est(eta["value"] * 1e3, eta["stderr"] * 1e3),
        "method": report.get("method"),
        "estimator": report.get("estimator"),
        "error_estimate": f"block averaging, {n_blocks} contiguous blocks per amplitude; se(eta) = eta se(V)/V",
        "amplitudes": results,
        "linear_response": check,
        "parameters": {k: first.get(k) for k in keys},
        "reference": ref, "deviation_percent": deviation, "reference_note": ref_note,
    }


def csv_text(result: dict) -> str:
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(["amplitude_nm_per_ps2", "V_nm_per_ps", "V_stderr_nm_per_ps", "viscosity_Pa_s", "viscosity_stderr_Pa_s"])
    for r in result["amplitudes"]:
        w.writerow([r["amplitude_nm_per_ps2"], r["V_nm_per_ps"]["value"], r["V_nm_per_ps"]["stderr"],
                    r["viscosity_Pa_s"]["value"], r["viscosity_Pa_s"]["stderr"]])
    w.writerow(["reported", "", "", result["viscosity_Pa_s"]["value"], result["viscosity_Pa_s"]["stderr"]])
    return buffer.getvalue()


def plot(path: str | Path, result: dict, series_csv: str | Path) -> None:
    """V(t) per amplitude (sample values and running mean) and η per amplitude with its error bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(io.StringIO(Path(series_csv).read_text())))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for r in result["amplitudes"]:
        a = r["amplitude_nm_per_ps2"]
        t = np.array([float(x["time_ps"]) for x in rows if math.isclose(float(x["amplitude_nm_per_ps2"]), a)])
        v = np.array([float(x["V_nm_per_ps"]) for x in rows if math.isclose(float(x["amplitude_nm_per_ps2"]), a)])
        line, = ax1.plot(t, v, lw=0.5, alpha=0.5)
        ax1.plot(t, np.cumsum(v) / np.arange(1, v.size + 1), color=line.get_color(), lw=2, label=f"A = {a:g} nm/ps$^2$")
    ax1.axhline(0, color="k", lw=0.5)
    ax1.set_xlabel("time after spin-up (ps)")
    ax1.set_ylabel("V (nm/ps): samples and running mean")
    ax1.legend()
    amps = [r["amplitude_nm_per_ps2"] for r in result["amplitudes"]]
    etas = [r["viscosity_Pa_s"]["value"] * 1e3 for r in result["amplitudes"]]
    errs = [r["viscosity_Pa_s"]["stderr"] * 1e3 for r in result["amplitudes"]]
    ax2.errorbar(amps, etas, yerr=errs, fmt="o", capsize=4, label="MD, per amplitude")
    eta = result["viscosity_Pa_s"]
    ax2.axhspan((eta["value"] - eta["stderr"]) * 1e3, (eta["value"] + eta["stderr"]) * 1e3, alpha=0.2,
                label="reported")
    if result.get("reference"):
        ax2.axhline(result["reference"]["value_Pa_s"] * 1e3, color="k", ls="--", label="experiment")
    ax2.set_xlabel("acceleration amplitude A (nm/ps$^2$)")
    ax2.set_ylabel("viscosity (mPa s)")
    ax2.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis.viscosity", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="run report JSON of simulation.viscosity")
    p.add_argument("--series", required=True, help="series CSV of simulation.viscosity")
    p.add_argument("--out", required=True, help="viscosity.json")
    p.add_argument("--csv", help="per-amplitude table")
    p.add_argument("--plot", help="PNG: V(t) and eta per amplitude")
    p.add_argument("--blocks", type=int, default=10, help="blocks for the standard error (default 10)")
    p.add_argument("--reference", default="", help="key of analysis.reference_data.VISCOSITY_PA_S (empty: none)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> None:
        result = analyse(args.run, args.series, args.blocks, args.reference)
        if args.csv:
            write_text_atomic(args.csv, csv_text(result))
        if args.plot:
            plot(args.plot, result, args.series)
            result["plot"] = str(args.plot)
        write_json_atomic(args.out, result)
        print(f"viscosity: {result['viscosity_mPa_s']['value']:.4g} +- {result['viscosity_mPa_s']['stderr']:.2g} mPa s "
              f"-> {args.out}")

    return run_main("viscosity", body)


if __name__ == "__main__":
    sys.exit(main())
