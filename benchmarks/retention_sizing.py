"""Benchmark (issue 10): how much decoupling MD the paper-scale Δμ needs for ±0.2 kJ/mol, projected from a run.

    python benchmarks/retention_sizing.py RETENTION_JSON [--residue PC] [--config config/config.yaml]
                                          [--target 0.2] [--slowdown 1 2]

Reads a measured ``retention.json`` (e.g. the neat-PC check of ``config/retention_check.yaml``) and projects the
MBAR standard error of Δμ_ex = μ_ex(system) − μ_ex(reference) for other sizes of the thermodynamic route:

- per molecule, the box leg's variance falls as 1/(uncorrelated samples per window), i.e. as 1/T for windows of
  length T at the same λ schedule (the correlation times are properties of the liquid, not of T); the vacuum
  leg (~0.03 kT) is scaled the same way;
- n molecules decoupled one at a time combine as σ/√n (analysis.retention: √Σσ²/n for equal errors);
- Δμ is a difference of two systems sized alike: √2 σ.

``--slowdown f`` multiplies the correlation times by f (the LE and the gels move more slowly than neat PC:
D(PC) in the LE is ~0.6 of neat PC's in the validation runs, and a network slows the solvent further), i.e.
divides the uncorrelated samples by f. Printed: the measured run, the projection for the config's own
``retention`` block, and the grid of (molecules, window length) with the projected Δμ error and the MD it costs
per solvent and system (states × (window equilibration + window)), the cheapest that meets ``--target`` marked.
Caveat printed with it: with fewer than ~20 uncorrelated samples per window MBAR's own error underestimates
the true one, so a projection from a short run is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.config import read_yaml  # noqa: E402
from common.units import parse_quantity  # noqa: E402

MOLECULES = (1, 2, 3, 4, 6, 8)
WINDOWS_PS = (250.0, 500.0, 1000.0, 2000.0)


def measured(retention: dict, residue: str) -> dict:
    """Per-molecule box and vacuum leg errors (kT) of the measured run, with its window settings."""
    entry = retention["solvation_free_energy_kJ_per_mol"][residue]
    molecules = entry["molecules"]
    box = [m["box_leg"]["stderr_kT"] for m in molecules]
    vacuum = [m["vacuum_leg"]["stderr_kT"] for m in molecules]
    unc = [min(m["box_leg"]["uncorrelated_samples_per_window"]) for m in molecules]
    kT = 0.00831446261815324 * retention["temperature_K"]
    return {"window_ps": retention["window"]["duration_ps"], "kT": kT,
            "box_var_kT2": sum(b * b for b in box) / len(box), "vacuum_var_kT2": sum(v * v for v in vacuum) / len(vacuum),
            "n_molecules": len(molecules), "value_kJ_per_mol": entry["value"], "stderr_kJ_per_mol": entry["stderr"],
            "min_uncorrelated_samples": min(unc)}


def delta_mu_error(base: dict, molecules: int, window_ps: float, slowdown: float) -> float:
    """Projected stderr of Δμ (kJ/mol) for ``molecules`` per system and windows of ``window_ps`` (module notes)."""
    scale = slowdown * base["window_ps"] / window_ps
    per_molecule = base["kT"] * math.sqrt((base["box_var_kT2"] + base["vacuum_var_kT2"]) * scale)
    return math.sqrt(2.0) * per_molecule / math.sqrt(molecules)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("retention", type=Path, help="a measured retention.json")
    parser.add_argument("--residue", default="PC")
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    parser.add_argument("--target", type=float, default=0.2, help="Δμ standard error to reach, kJ/mol")
    parser.add_argument("--slowdown", type=float, nargs="+", default=[1.0, 2.0])
    args = parser.parse_args(argv)
    base = measured(json.loads(args.retention.read_text()), args.residue)
    block = read_yaml(args.config)["retention"]
    states = len(block["lambda_electrostatics"]) + len(block["lambda_sterics"]) - 1
    equilibration = parse_quantity(block["window_equilibration"], "time", "window_equilibration")
    window = parse_quantity(block["window_duration"], "time", "window_duration")
    molecules = int(block["molecules_per_solvent"])
    print(f"measured: {args.retention} {args.residue}: ΔG_solv {base['value_kJ_per_mol']:.2f} ± "
          f"{base['stderr_kJ_per_mol']:.2f} kJ/mol, {base['n_molecules']} molecule(s), {base['window_ps']:g} ps "
          f"windows, at least {base['min_uncorrelated_samples']} uncorrelated samples in a window"
          + (" (< 20: MBAR's error is a lower bound, and so is every projection below)"
             if base["min_uncorrelated_samples"] < 20 else ""))
    for slowdown in args.slowdown:
        own = delta_mu_error(base, molecules, window, slowdown)
        print(f"\nslowdown {slowdown:g}: {args.config} ({molecules} molecules, {states} states x "
              f"({equilibration:g} + {window:g}) ps): Δμ ± {own:.3f} kJ/mol "
              f"({'meets' if own <= args.target else 'misses'} ±{args.target:g})")
        print("molecules  " + "  ".join(f"{w / 1000:>5.2f} ns" for w in WINDOWS_PS) + "   (Δμ stderr kJ/mol; "
              "MD per solvent and system in ns)")
        best = None
        for n in MOLECULES:
            cells = []
            for w in WINDOWS_PS:
                error = delta_mu_error(base, n, w, slowdown)
                cost = n * states * (equilibration + w) / 1000.0
                if error <= args.target and (best is None or cost < best[0]):
                    best = (cost, n, w, error)
                cells.append(f"{error:5.3f}/{cost:4.0f}")
            print(f"{n:>9}  " + "  ".join(f"{c:>8}" for c in cells))
        if best:
            print(f"cheapest meeting ±{args.target:g}: {best[1]} molecules x {best[2] / 1000:g} ns windows, "
                  f"Δμ ± {best[3]:.3f} kJ/mol, {best[0]:.0f} ns of MD per solvent and system")
    return 0


if __name__ == "__main__":
    sys.exit(main())
