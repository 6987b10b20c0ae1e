"""Compressive stress–strain of a gel (or of the liquid control) from a strain-controlled compression run.

Input: the samples table ``compression.csv`` and report ``compression.json`` of ``python -m
simulation.compress`` (any run that writes those columns), optionally the gel's ``network.json``.

Stress and strain
    Engineering (nominal) compressive strain e = 1 - Lz / L0z, with L0z the reference (barostat-relaxed,
    unloaded) box length. The run samples the uniaxial stress s = P_zz - (P_xx + P_yy) / 2 (true, Cauchy,
    compressive positive; :mod:`simulation.deformation`). The nominal stress — force over the unloaded area,
    what a testing machine reports — is s A / A0 per sample, A = Lx Ly. Both are tabulated; the modulus and
    the stress at 30 % are nominal.

Errors: block averages
    Of each hold the first ``discard_fraction`` is dropped (the solvent's viscous stress decays after the
    ramp, the lateral box relaxes); the rest is cut into ``blocks`` equal blocks and the stress is the mean of
    the block means with stderr = std(block means) / sqrt(blocks). A block must be longer than the stress
    correlation time for that error to hold (the report gives the statistical inefficiency g of the samples:
    a block should span many g samples).

Hold-time check
    The sampled part of each hold is split in halves; the difference of their means (second - first), its
    stderr (block errors of each half, ``blocks // 2`` blocks each, at least 2) and z = difference / stderr
    are reported per strain, with chi^2 = sum z^2 over the strains and its p-value. A network still relaxing
    (or a solvent still flowing) shows as a stress that drifts with hold time: ``hold_time_independent`` is
    true when no |z| exceeds 3 and p > 0.01.

Young's modulus
    Weighted least squares s_nom = s0 + E e over the strains 0 <= e <= ``fit_max_strain`` (intercept free: a
    residual stress of the reference box shifts the curve, not its slope); stderr from the weights, inflated
    by sqrt(chi^2_red) when that exceeds 1. ``zero_within_2_stderr`` says whether |E| <= 2 stderr (what the
    liquid control must show: it flows).

Stress at 30 % strain: linear interpolation between the neighbouring strains (the point itself when 0.30 is
on the grid), errors propagated; compared with the founding paper's ≈ 900 kPa ("the mechanical strength
increases to ≈ 900 kPa when the volume compression is 30 % of the original state", both gels; universal
testing machine, read as nominal stress at 30 % engineering strain).

Rubber elasticity (from network.json)
    Affine network G = nu R T with nu the elastically effective strands per volume
    (``elastically_effective_strands_mol_per_m3``); phantom network G = xi R T with xi the cycle rank per
    volume (``cycle_rank_mol_per_m3``). For an incompressible rubber E = 3 G, and in uniaxial compression to
    stretch l = 1 - e the neo-Hookean nominal stress is G (1/l^2 - l) (1.341 G at 30 %). The densities are per
    volume of the swollen gel (the build's box), as the modulus of a swollen gel needs.

Usage::

    python -m analysis.mechanics --samples compression.csv --report compression.json \\
        [--network network.json] --system-name GPE_PBMP --temperature "298.15 K" --blocks 5 \\
        --discard-fraction 0.3 --fit-max-strain 0.1 --out mechanics.json --csv stress_strain.csv \\
        --plot stress_strain.png
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from common.cli import run_main
from common.constants import MOLAR_GAS_CONSTANT_KJ_PER_MOL_K, PA_PER_BAR
from common.errors import AnalysisError, InputFileError
from common.io import atomic_path, read_json, write_json_atomic, write_text_atomic
from common.statistics import statistical_inefficiency
from common.units import parse_quantity

SCHEMA = "gelmd.analysis.mechanics/1"
AXIS = "z"
TARGET_STRAIN = 0.30
PAPER_STRESS_AT_30PCT_PA = 9.0e5
PAPER_SOURCE = ("founding paper (../shared/seed/pbmp-gel-electrolyte-paper.txt): 'The mechanical strength increases "
                "to ≈ 900 kPa, when the volume compression is 30% of the original state, and the value of GPE(PBMP) "
                "is close to that of GPE(PTPA)' (universal testing machine; both gels)")
HOLD_Z_LIMIT = 3.0
HOLD_P_LIMIT = 0.01
MIN_BLOCKS = 4
R_J_PER_MOL_K = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * 1000.0
CSV_COLUMNS = ("strain", "nominal_stress_Pa", "nominal_stress_stderr_Pa", "true_stress_Pa", "true_stress_stderr_Pa",
               "Lx_nm", "Ly_nm", "Lz_nm", "lateral_area_ratio", "samples_used", "statistical_inefficiency",
               "hold_drift_Pa", "hold_drift_stderr_Pa", "hold_drift_z")


# ------------------------------------------------------------------------------------------ reading


def read_samples(path: str | Path) -> list[dict]:
    """Rows of the compression samples table (numbers as floats, ``step_index`` as int)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"mechanics: samples table {str(path)!r} does not exist")
    rows = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            try:
                rows.append({"step_index": int(row["step_index"]), "strain": float(row["strain"]),
                             "time_in_hold_ps": float(row["time_in_hold_ps"]), "Lx_nm": float(row["Lx_nm"]),
                             "Ly_nm": float(row["Ly_nm"]), "Lz_nm": float(row["Lz_nm"]),
                             "uniaxial_stress_bar": float(row["uniaxial_stress_bar"])})
            except (KeyError, ValueError) as exc:
                raise AnalysisError(f"mechanics: {str(path)!r} row {len(rows) + 2}: {exc!r}; expected the columns of "
                                    "simulation.deformation.SAMPLE_COLUMNS") from exc
    if not rows:
        raise AnalysisError(f"mechanics: {str(path)!r} has no samples")
    return rows


# ------------------------------------------------------------------------------------------ statistics


def block_mean(values: Sequence[float], blocks: int) -> tuple[float, float]:
    """Mean of ``blocks`` equal consecutive blocks (the remainder dropped from the start) and its stderr."""
    x = np.asarray(values, dtype=float)
    if blocks < 2 or x.size < blocks:
        raise AnalysisError(f"mechanics: {x.size} samples cannot make {blocks} blocks (at least 2 blocks of one sample)")
    size = x.size // blocks
    means = x[x.size - size * blocks:].reshape(blocks, size).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(blocks))


def hold_drift(values: Sequence[float], blocks: int) -> dict:
    """Second-half minus first-half mean of a hold with its block error and z (module notes)."""
    x = np.asarray(values, dtype=float)
    half = x.size // 2
    per_half = max(2, blocks // 2)
    m1, e1 = block_mean(x[:half], per_half)
    m2, e2 = block_mean(x[half:], per_half)
    err = math.hypot(e1, e2)
    return {"first_half": m1, "second_half": m2, "drift": m2 - m1, "stderr": err,
            "z": (m2 - m1) / err if err > 0 else 0.0}


def weighted_line(x: Sequence[float], y: Sequence[float], err: Sequence[float]) -> dict:
    """Weighted least squares y = a + b x; b, a with stderrs (inflated by sqrt(chi2_red) when > 1)."""
    x, y, err = (np.asarray(v, dtype=float) for v in (x, y, err))
    if x.size < 2:
        raise AnalysisError("mechanics: a modulus fit needs at least 2 strains in the fit window")
    if np.any(err <= 0):
        err = np.where(err > 0, err, max(float(err.max()), 1e-30))
    w = 1.0 / err ** 2
    design = np.vstack([np.ones_like(x), x]).T
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    a, b = cov @ (design.T @ (w * y))
    chi2 = float(np.sum(w * (y - a - b * x) ** 2))
    dof = x.size - 2
    inflation = math.sqrt(chi2 / dof) if dof > 0 and chi2 > dof else 1.0
    return {"slope": float(b), "slope_stderr": float(math.sqrt(cov[1, 1]) * inflation),
            "intercept": float(a), "intercept_stderr": float(math.sqrt(cov[0, 0]) * inflation),
            "chi2": chi2, "dof": dof, "error_inflation": inflation}


def interpolate(strains: Sequence[float], values: Sequence[float], errors: Sequence[float],
                target: float) -> dict | None:
    """Linear interpolation at ``target`` with propagated (independent) errors; None outside the range."""
    s = np.asarray(strains, dtype=float)
    for k in range(len(s)):
        if abs(s[k] - target) < 1e-9:
            return {"value": float(values[k]), "stderr": float(errors[k]), "interpolated": False}
    for k in range(len(s) - 1):
        if s[k] < target < s[k + 1]:
            w = (target - s[k]) / (s[k + 1] - s[k])
            return {"value": float((1 - w) * values[k] + w * values[k + 1]),
                    "stderr": float(math.hypot((1 - w) * errors[k], w * errors[k + 1])), "interpolated": True}
    return None


def _chi2_p_value(chi2: float, dof: int) -> float:
    """Upper tail probability of the chi^2 distribution with ``dof`` degrees of freedom."""
    from scipy.stats import chi2 as chi2_distribution

    return float(chi2_distribution.sf(chi2, dof))


# ------------------------------------------------------------------------------------------ the analysis


def stress_strain(samples: list[dict], reference_box_nm: Sequence[float], blocks: int,
                  discard_fraction: float) -> list[dict]:
    """One row per strain (:data:`CSV_COLUMNS`), block-averaged after the discarded start of each hold."""
    if blocks < MIN_BLOCKS:
        raise AnalysisError(f"mechanics: blocks = {blocks}; at least {MIN_BLOCKS} are needed for an error")
    if not 0 <= discard_fraction < 1:
        raise AnalysisError(f"mechanics: discard fraction {discard_fraction}; allowed 0 <= f < 1")
    l0x, l0y, l0z = (float(v) for v in reference_box_nm)
    rows = []
    for index in sorted({s["step_index"] for s in samples}):
        hold = sorted((s for s in samples if s["step_index"] == index), key=lambda s: s["time_in_hold_ps"])
        used = hold[int(math.floor(discard_fraction * len(hold))):]
        if len(used) < 2 * max(2, blocks // 2):
            raise AnalysisError(f"mechanics: strain {hold[0]['strain']:g} keeps {len(used)} samples after the discard; "
                                f"{2 * max(2, blocks // 2)} at least are needed (longer hold or shorter sample interval)")
        true_pa = np.array([s["uniaxial_stress_bar"] for s in used]) * PA_PER_BAR
        area = np.array([s["Lx_nm"] * s["Ly_nm"] for s in used]) / (l0x * l0y)
        nominal_pa = true_pa * area
        lz = float(np.mean([s["Lz_nm"] for s in used]))
        nom, nom_err = block_mean(nominal_pa, blocks)
        tru, tru_err = block_mean(true_pa, blocks)
        drift = hold_drift(nominal_pa, blocks)
        rows.append({"strain": 1.0 - lz / l0z, "strain_target": hold[0]["strain"],
                     "nominal_stress_Pa": nom, "nominal_stress_stderr_Pa": nom_err,
                     "true_stress_Pa": tru, "true_stress_stderr_Pa": tru_err,
                     "Lx_nm": float(np.mean([s["Lx_nm"] for s in used])),
                     "Ly_nm": float(np.mean([s["Ly_nm"] for s in used])), "Lz_nm": lz,
                     "lateral_area_ratio": float(area.mean()), "samples_used": len(used),
                     "statistical_inefficiency": statistical_inefficiency(nominal_pa),
                     "hold_drift_Pa": drift["drift"], "hold_drift_stderr_Pa": drift["stderr"],
                     "hold_drift_z": drift["z"]})
    return rows


def hold_time_check(rows: list[dict]) -> dict:
    """chi^2 of the per-strain hold drifts (module notes)."""
    z = np.array([r["hold_drift_z"] for r in rows])
    chi2 = float(np.sum(z ** 2))
    p = _chi2_p_value(chi2, len(z))
    return {"rule": f"second minus first half of each hold's sampled part, z = drift / stderr; independent of the hold "
                    f"time when every |z| <= {HOLD_Z_LIMIT:g} and the chi^2 p-value > {HOLD_P_LIMIT:g}",
            "max_abs_z": float(np.max(np.abs(z))), "chi2": chi2, "dof": int(len(z)), "p_value": p,
            "mean_abs_drift_Pa": float(np.mean(np.abs([r["hold_drift_Pa"] for r in rows]))),
            "resolution_Pa": float(HOLD_Z_LIMIT * np.median([r["hold_drift_stderr_Pa"] for r in rows])),
            "note": "a drift smaller than resolution_Pa goes unseen: with short holds a stress still relaxing "
                    "(a viscous liquid's or a network's) can pass this check",
            "hold_time_independent": bool(np.max(np.abs(z)) <= HOLD_Z_LIMIT and p > HOLD_P_LIMIT)}


def youngs_modulus(rows: list[dict], fit_max_strain: float) -> dict:
    """Small-strain modulus (module notes) over 0 <= e <= ``fit_max_strain``."""
    window = [r for r in rows if r["strain_target"] <= fit_max_strain + 1e-9]
    fit = weighted_line([r["strain"] for r in window], [r["nominal_stress_Pa"] for r in window],
                        [r["nominal_stress_stderr_Pa"] for r in window])
    return {"value": fit["slope"], "stderr": fit["slope_stderr"],
            "fit_window_strain": [0.0, float(fit_max_strain)], "n_points": len(window),
            "intercept_Pa": fit["intercept"], "intercept_stderr_Pa": fit["intercept_stderr"],
            "chi2": fit["chi2"], "dof": fit["dof"], "error_inflation": fit["error_inflation"],
            "zero_within_2_stderr": bool(abs(fit["slope"]) <= 2.0 * fit["slope_stderr"]),
            "fit": "weighted least squares of nominal stress on engineering strain, intercept free"}


def rubber_elasticity(network: dict | None, temperature_K: float) -> dict:
    """Affine and phantom G (Pa), E = 3 G and the neo-Hookean nominal stress at 30 % (module notes)."""
    stretch = 1.0 - TARGET_STRAIN
    factor = 1.0 / stretch ** 2 - stretch
    if network is None:
        return {"affine_G_Pa": 0.0, "phantom_G_Pa": 0.0, "note": "no network (a liquid): no elastically effective "
                "strands, G = 0"}
    try:
        nu = float(network["elastically_effective_strands_mol_per_m3"])
        xi = float(network["cycle_rank_mol_per_m3"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnalysisError(f"mechanics: network.json lacks {exc}; it must give elastically_effective_strands_mol_per_m3 "
                            "and cycle_rank_mol_per_m3") from exc
    affine, phantom = nu * R_J_PER_MOL_K * temperature_K, xi * R_J_PER_MOL_K * temperature_K
    return {"affine_G_Pa": affine, "phantom_G_Pa": phantom,
            "affine_E_Pa": 3 * affine, "phantom_E_Pa": 3 * phantom,
            "affine_stress_at_30pct_strain_Pa": affine * factor, "phantom_stress_at_30pct_strain_Pa": phantom * factor,
            "elastically_effective_strands_mol_per_m3": nu, "cycle_rank_mol_per_m3": xi,
            "forms": "affine G = nu R T, phantom G = xi R T (James & Guth); E = 3 G for an incompressible rubber "
                     "(Poisson ratio 1/2); neo-Hookean nominal compressive stress G (1/l^2 - l), l = 1 - strain"}


def percolation(network: dict | None, system_name: str) -> list[str]:
    """The network's percolating axes; AnalysisError naming the system when it does not span the compression axis."""
    if network is None:
        return []
    axes = network.get("percolating_axes")
    if not isinstance(axes, list):
        raise AnalysisError(f"mechanics: network.json of {system_name!r} has no 'percolating_axes' list")
    if AXIS not in axes:
        raise AnalysisError(f"mechanics: gel {system_name!r} does not percolate along {AXIS} (percolating_axes {axes}); "
                            "its network carries no stress along the compression axis, so a modulus would measure "
                            "the solvent. Build a larger or more converted network (network.json)")
    return axes


def mechanics_report(samples: list[dict], run: dict, network: dict | None, system_name: str, temperature_K: float,
                     blocks: int, discard_fraction: float, fit_max_strain: float) -> tuple[dict, list[dict]]:
    """mechanics.json (the result contract) and the stress–strain rows."""
    axes = percolation(network, system_name)
    rows = stress_strain(samples, run["reference_box_nm"], blocks, discard_fraction)
    modulus = youngs_modulus(rows, fit_max_strain)
    at30 = interpolate([r["strain_target"] for r in rows], [r["nominal_stress_Pa"] for r in rows],
                       [r["nominal_stress_stderr_Pa"] for r in rows], TARGET_STRAIN)
    settings = run.get("settings", {})
    steps = run.get("steps", [])
    report = {
        "schema": SCHEMA,
        "system": system_name,
        "method": f"{run.get('method', 'strain-controlled uniaxial compression')} along {AXIS}, lateral faces at "
                  f"{settings.get('pressure_bar', 'the')} bar (anisotropic Monte Carlo barostat, atom-wise scaling, "
                  "System without constraints); stress from a finite difference of the energy under affine "
                  "deformation (simulation.deformation)",
        "axis": AXIS,
        "percolating_axes": axes,
        "temperature_K": temperature_K,
        "youngs_modulus_Pa": modulus,
        "stress_at_30pct_strain_Pa": (at30 if at30 is not None else
                                      {"value": None, "stderr": None, "note": "the run did not reach 30 % strain"}),
        "stress_at_zero_strain_Pa": {"value": rows[0]["nominal_stress_Pa"], "stderr": rows[0]["nominal_stress_stderr_Pa"]},
        "paper": {"stress_at_30pct_strain_Pa": PAPER_STRESS_AT_30PCT_PA, "source": PAPER_SOURCE},
        "rubber_elasticity": rubber_elasticity(network, temperature_K),
        "strain_rates_per_s": [s["ramp_rate_per_s"] for s in steps if s.get("ramp_rate_per_s") is not None],
        "strain_rate_note": "step-and-hold: each strain step is applied at the ramp rate listed, then held; the "
                            "stress is read during the hold (after the discarded start), so it is a relaxed stress, "
                            "checked for hold-time dependence below",
        "hold_ps": settings.get("hold_ps"),
        "discard_fraction": discard_fraction,
        "blocks": blocks,
        "hold_time_check": hold_time_check(rows),
        "reference_box_nm": list(run["reference_box_nm"]),
        "stress_strain": rows,
        "run": {k: run.get(k) for k in ("ns_per_day", "wall_time_s", "n_particles", "stress_estimator", "settings")},
    }
    return report, rows


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([f"{r[c]:.8g}" if isinstance(r[c], float) else r[c] for c in CSV_COLUMNS])
    return out.getvalue()


def plot(path: str | Path, report: dict) -> Path:
    """Nominal stress (kPa) against strain with block errors, the modulus fit, the paper's point and the
    rubber-elasticity curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["stress_strain"]
    e = np.array([r["strain"] for r in rows])
    s = np.array([r["nominal_stress_Pa"] for r in rows]) / 1e3
    err = np.array([r["nominal_stress_stderr_Pa"] for r in rows]) / 1e3
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.errorbar(e * 100, s, yerr=err, fmt="o", capsize=3, label=f"MD ({report['system']}), block stderr")
    mod = report["youngs_modulus_Pa"]
    window = np.linspace(0, mod["fit_window_strain"][1], 20)
    ax.plot(window * 100, (mod["intercept_Pa"] + mod["value"] * window) / 1e3, "-",
            label=f"E = {mod['value'] / 1e6:.3g} ± {mod['stderr'] / 1e6:.2g} MPa (fit 0-{mod['fit_window_strain'][1]:.0%})")
    rubber = report["rubber_elasticity"]
    curve = np.linspace(0, max(e.max(), TARGET_STRAIN), 60)
    stretch = 1 - curve
    for key, style in (("affine_G_Pa", "--"), ("phantom_G_Pa", ":")):
        if rubber.get(key):
            ax.plot(curve * 100, rubber[key] * (1 / stretch ** 2 - stretch) / 1e3, style,
                    label=f"neo-Hookean, {key.split('_')[0]} G = {rubber[key] / 1e3:.3g} kPa")
    ax.plot([TARGET_STRAIN * 100], [PAPER_STRESS_AT_30PCT_PA / 1e3], "k*", markersize=12, label="paper ≈ 900 kPa")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("engineering compressive strain along z (%)")
    ax.set_ylabel("nominal compressive stress (kPa)")
    ax.set_title(f"{report['system']}: uniaxial compression, lateral faces free")
    ax.legend(fontsize=7)
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.mechanics", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", required=True, help="compression.csv of python -m simulation.compress")
    parser.add_argument("--report", required=True, help="compression.json of the same run")
    parser.add_argument("--network", default=None, help="the gel's network.json (omit for a liquid)")
    parser.add_argument("--system-name", required=True)
    parser.add_argument("--temperature", required=True, help='e.g. "298.15 K"')
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--discard-fraction", type=float, default=0.3)
    parser.add_argument("--fit-max-strain", type=float, default=0.1)
    parser.add_argument("--out", required=True, help="mechanics.json")
    parser.add_argument("--csv", required=True, help="stress_strain.csv")
    parser.add_argument("--plot", default=None, help="stress_strain.png")
    return parser


def refused_report(run: dict, system_name: str, temperature_K: float) -> dict:
    """mechanics.json of a gel the compression refused (it does not span the compression axis): the reason by
    name and no modulus."""
    nothing = {"value": None, "stderr": None}
    return {"schema": "gelmd.mechanics/1", "system": system_name, "status": "refused", "refusal": run["refused"],
            "percolating_axes": run.get("percolating_axes"), "axis": run.get("axis"), "temperature_K": temperature_K,
            "method": "not run: the network does not percolate along the compression axis",
            "youngs_modulus_Pa": nothing, "stress_at_30pct_strain_Pa": nothing,
            "rubber_elasticity": {"affine_G_Pa": None, "phantom_G_Pa": None}, "strain_rates_per_s": []}


def _run(args: argparse.Namespace) -> None:
    temperature = parse_quantity(args.temperature, "temperature", "--temperature")
    run = read_json(args.report, "compression report", invalid=AnalysisError)
    if run.get("refused"):
        report = refused_report(run, args.system_name, temperature)
        report["inputs"] = {"samples": args.samples, "report": args.report, "network": args.network}
        write_text_atomic(args.csv, csv_text([]))
        if args.plot:
            _refusal_plot(args.plot, report)
        write_json_atomic(args.out, report)
        print(f"analysis.mechanics: {args.system_name}: refused: {run['refused']}")
        return
    network = read_json(args.network, "network report", invalid=AnalysisError) if args.network else None
    report, rows = mechanics_report(read_samples(args.samples), run, network, args.system_name, temperature,
                                    args.blocks, args.discard_fraction, args.fit_max_strain)
    report["inputs"] = {"samples": args.samples, "report": args.report, "network": args.network}
    write_text_atomic(args.csv, csv_text(rows))
    if args.plot:
        plot(args.plot, report)
    write_json_atomic(args.out, report)
    mod, s30 = report["youngs_modulus_Pa"], report["stress_at_30pct_strain_Pa"]
    print(f"analysis.mechanics: {args.system_name}: E = {mod['value']:.4g} +- {mod['stderr']:.2g} Pa, stress at 30 % "
          f"{s30['value']} +- {s30['stderr']} Pa; hold-time independent: "
          f"{report['hold_time_check']['hold_time_independent']}")


def _refusal_plot(path: str, report: dict) -> None:
    """A figure that says why there is no stress-strain curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{report['system']}: compression refused\nthe network percolates along "
            f"{', '.join(report['percolating_axes'] or []) or 'no axis'}, not along {report['axis']}",
            ha="center", va="center", wrap=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main("analysis.mechanics", lambda: _run(args))


if __name__ == "__main__":
    raise SystemExit(main())
