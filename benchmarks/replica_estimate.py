"""How many production replicas the paper-scale LE needs for a ≤ 10 % standard error on σ_EH.

    python benchmarks/replica_estimate.py [--measured LENGTH_PS ATOMS VALUE STDERR ...]
        [--replica-length "50 ns"] [--discard "0 ps"] [--atoms 21585] [--target 0.10] [--min-replicas 3]

Inputs: measured σ_EH values with their block-average standard errors (any unit: only the relative error
stderr/value is used), each at a production length and a system size. Defaults, both of the demo LE
(1,484 atoms, 2.56 nm box, scaled ion charges 0.8):

* 200 ps: σ_EH 1.22 ± 0.74 mS/cm (scaled charges; issue 2/3 closing notes, "Demo LE at HEAD");
* 1 ns: σ_EH 1.7 ± 0.6 mS/cm (formal charges; issue 14). For ion-only M(t) with one charge scale the two
  conventions differ by the constant 1/0.8², so their relative errors are the same.

The paper-scale LE (config/config.yaml: n_solvent 1600 against the demo's 110) has 1484 × 1600/110 ≈
21,600 atoms (``--atoms``).

How the relative error δ of σ_EH scales (printed for each model; δ_n = δ_1 / sqrt(n) for n independent
replicas, which is what ``analysis.replicas`` combines):

1. ``time_x_volume``: δ ∝ 1/sqrt(T V). This is the scaling of a *self*-diffusion coefficient, averaged
   over N ∝ V molecules. It does not hold for σ_EH: M(t) = Σ q_i r_i is one collective vector per box,
   ⟨|ΔM(τ)|²⟩ = 6 V k_B T σ τ grows with V and so do its fluctuations (|ΔM|² over one window is a
   χ²-variable with 3 degrees of freedom whatever the box), so the relative error of ⟨|ΔM(τ)|²⟩ is
   ≈ sqrt(2τ / 3T), independent of V. Printed because it is the naive expectation, not used.
2. ``time``: δ ∝ 1/sqrt(T) at a fixed fit window τ (the collective estimate above).
3. ``measured``: δ ∝ T^-a with a fitted to the measured points (two or more lengths). The window rule of
   :mod:`analysis.diffusion` lets the fit window grow with the run (lags up to half a block, a tenth of
   the run), which by (2) keeps δ from falling as 1/sqrt(T); the measured exponent includes that. Its
   uncertainty comes from the uncertainty of each measured δ, itself a standard deviation of
   ``n_blocks`` = 5 block values: relative error 1/sqrt(2 (n_blocks − 1)) ≈ 0.35 in each δ.
4. ``measured_pessimistic``: the same with a one standard error smaller (floored at 0, i.e. δ independent of
   the run length when the window grows as fast as the run).

Replica length: ``--replica-length`` minus ``--discard`` (protocol.transport_discard). Printed: δ of
one replica and the replicas needed for ``--target`` under each model, and a recommendation: the
``measured`` (central) number, at least ``--min-replicas`` (3: with fewer the between-replica scatter
that ``analysis.replicas`` compares with the block errors has < 2 degrees of freedom).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.errors import AnalysisError  # noqa: E402
from common.units import parse_quantity  # noqa: E402

N_BLOCKS = 5
"""Blocks of the block-average standard error (analysis.transport --blocks default)."""
DEMO_ATOMS, DEMO_SOLVENT, PAPER_SOLVENT = 1484, 110, 1600
"""Demo LE atoms and solvent molecules (config/demo.yaml), paper-scale LE solvent molecules (config/config.yaml)."""


@dataclass(frozen=True)
class Measurement:
    """One measured σ_EH: production length (ps), atoms, value and standard error (same unit)."""

    length_ps: float
    atoms: int
    value: float
    stderr: float

    @property
    def relative_error(self) -> float:
        return self.stderr / self.value


DEFAULT_MEASUREMENTS = (Measurement(200.0, DEMO_ATOMS, 1.22, 0.74), Measurement(1000.0, DEMO_ATOMS, 1.7, 0.6))


def parse_measurement(words: list[str]) -> Measurement:
    """``LENGTH_PS ATOMS VALUE STDERR`` → Measurement; AnalysisError naming --measured when not usable."""
    try:
        length, atoms, value, stderr = float(words[0]), int(words[1]), float(words[2]), float(words[3])
    except ValueError as exc:
        raise AnalysisError(f"--measured {' '.join(words)!r}: expected LENGTH_PS ATOMS VALUE STDERR as numbers "
                            f"(e.g. 200 1484 1.22 0.74): {exc}") from None
    if not (length > 0 and atoms > 0 and value > 0 and stderr > 0):
        raise AnalysisError(f"--measured {' '.join(words)!r}: length, atoms, value and stderr must all be > 0")
    return Measurement(length, atoms, value, stderr)


def fit_exponent(points: list[Measurement]) -> tuple[float, float]:
    """a and its standard error in δ = c T^-a, least squares of ln δ on ln T, each ln δ with variance
    1/(2 (N_BLOCKS − 1)) (the relative error of a standard deviation of N_BLOCKS values)."""
    x = [math.log(p.length_ps) for p in points]
    y = [math.log(p.relative_error) for p in points]
    mx = sum(x) / len(x)
    sxx = sum((xi - mx) ** 2 for xi in x)
    if sxx == 0:
        raise AnalysisError("--measured: the 'measured' model needs points at two or more production lengths")
    slope = sum((xi - mx) * (yi - sum(y) / len(y)) for xi, yi in zip(x, y)) / sxx
    var_ln_delta = 1.0 / (2 * (N_BLOCKS - 1))
    return -slope, math.sqrt(var_ln_delta / sxx)


def extrapolate(points: list[Measurement], length_ps: float, atoms: int, exponent: float,
                volume_exponent: float = 0.0) -> float:
    """δ of one replica of ``length_ps`` and ``atoms``: each point scaled by (T/T_i)^-a (V/V_i)^-b, V ∝
    atoms, then the points combined by the geometric mean (their ln δ carry equal variance)."""
    logs = [math.log(p.relative_error) - exponent * math.log(length_ps / p.length_ps)
            - volume_exponent * math.log(atoms / p.atoms) for p in points]
    return math.exp(sum(logs) / len(logs))


def replicas_needed(delta_one: float, target: float) -> int:
    """Smallest n with δ_1 / sqrt(n) ≤ target."""
    return max(1, math.ceil((delta_one / target) ** 2 - 1e-9))


def estimates(points: list[Measurement], length_ps: float, atoms: int) -> dict[str, tuple[float, str]]:
    """δ of one replica under each model (module docstring), with how it was obtained."""
    out = {"time_x_volume": (extrapolate(points, length_ps, atoms, 0.5, 0.5), "δ ∝ (T V)^-1/2; not valid for σ_EH"),
           "time": (extrapolate(points, length_ps, atoms, 0.5), "δ ∝ T^-1/2, fixed fit window, V-independent")}
    if len({p.length_ps for p in points}) > 1:
        a, a_err = fit_exponent(points)
        out["measured"] = (extrapolate(points, length_ps, atoms, a), f"δ ∝ T^-a, a = {a:.2f} ± {a_err:.2f} fitted")
        low = max(0.0, a - a_err)
        out["measured_pessimistic"] = (extrapolate(points, length_ps, atoms, low), f"δ ∝ T^-{low:.2f} (a - 1 SE)")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--measured", nargs=4, action="append", metavar=("LENGTH_PS", "ATOMS", "VALUE", "STDERR"),
                   help="a measured sigma_EH (repeatable); default: the demo LE at 200 ps and 1 ns")
    p.add_argument("--replica-length", default="50 ns", help="production length of one replica (default 50 ns)")
    p.add_argument("--discard", default="0 ps", help="protocol.transport_discard (default 0 ps)")
    p.add_argument("--atoms", type=int, default=round(DEMO_ATOMS * PAPER_SOLVENT / DEMO_SOLVENT),
                   help="atoms of the paper-scale LE (default 1484 x 1600/110)")
    p.add_argument("--target", type=float, default=0.10, help="target relative standard error (default 0.10)")
    p.add_argument("--min-replicas", type=int, default=3, help="smallest recommended replica count (default 3)")
    args = p.parse_args(argv)
    try:
        points = [parse_measurement(m) for m in args.measured] if args.measured else list(DEFAULT_MEASUREMENTS)
        length = (parse_quantity(args.replica_length, "time", "--replica-length")
                  - parse_quantity(args.discard, "time", "--discard"))
        if not length > 0 or not 0 < args.target < 1 or args.atoms < 1:
            raise AnalysisError(f"--replica-length minus --discard ({length:g} ps) must be > 0, --target "
                                f"({args.target}) in (0, 1), --atoms ({args.atoms}) >= 1")
    except (AnalysisError, ValueError) as exc:
        print(f"replica_estimate: error: {exc}", file=sys.stderr)
        return 1
    print("measured: " + "; ".join(f"{m.length_ps:g} ps, {m.atoms} atoms: {m.value:g} ± {m.stderr:g} "
                                   f"(δ = {m.relative_error:.3f})" for m in points))
    print(f"replica: {length / 1000:g} ns analysed, {args.atoms} atoms; target δ ≤ {args.target:.0%}")
    models = estimates(points, length, args.atoms)
    for name, (delta, how) in models.items():
        print(f"  {name:22s} δ(1 replica) = {delta:6.3f}  replicas needed: {replicas_needed(delta, args.target):3d}"
              f"   [{how}]")
    central = models.get("measured", models["time"])[0]
    n = max(args.min_replicas, replicas_needed(central, args.target))
    print(f"recommended production_replicas: {n} (expected δ = {central / math.sqrt(n):.3f}; "
          f"at least {args.min_replicas} for a between-replica check)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
