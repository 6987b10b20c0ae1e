"""Combine the transport reports of independent production replicas into one report.

Replicas are NVT production runs from the same equilibrated state with independent velocities and
thermostat noise (``protocol.production_replicas``). Each is analysed on its own by
``python -m analysis.transport``; this module merges their JSON reports.

Every estimate ``{"value", "stderr"}`` in the reports becomes, for n replicas with values x_i and
block-average standard errors s_i:

    value            = mean(x_i)
    stderr_within    = sqrt(Σ s_i²) / n               (the replicas' own errors, propagated)
    stderr_between   = std(x_i, ddof=1) / sqrt(n)      (the scatter between replicas)
    stderr           = max(stderr_within, stderr_between)

The larger of the two is kept because with few replicas either can underestimate: the scatter of 2-3
values is itself noisy, and block errors miss correlations longer than a block. With one replica the
report is that replica's, with ``replicas.n = 1``. Everything that is not an estimate (fit windows,
temperature, solvation, ...) is taken from the first replica, except the diffusive checks: a fit is
``diffusive`` only when it is in every replica, and its ``loglog_slope`` is the mean over replicas.
``replicas.per_replica`` keeps each replica's value of every estimate and flag.

Ratios are not averaged. The mean of per-replica ratios is a biased estimator of the ratio of the means
(E[a/b] ≠ E[a]/E[b], badly so when b is noisy), so every ratio is recomputed from the combined means
with first-order propagation of their (independent) standard errors:

    haven_ratio (each charge convention)  = σ_NE / σ_EH
    transference_number_Na               = Σ_{Na⁺ species} z² N D / Σ_ions z² N D   (formal charges z)

with the D that the single-replica report used (``transference_number_Na.D_key``: the Yeh–Hummer-corrected
``D_m2_per_s_yeh_hummer`` of a liquid with a viscosity, else the raw ``D_m2_per_s``). The corrected D and
σ_NE are estimates like any other and are combined by the rule above.

(:func:`analysis.conductivity.ratio` and :func:`analysis.conductivity.transference_number`, the formulas
the single-replica analysis uses). The per-replica ratios stay in ``replicas.per_replica`` for reference.

Usage::

    python -m analysis.replicas --out transport.json [--csv transport.csv] REPLICA1.json [REPLICA2.json ...]
"""

from __future__ import annotations

import argparse
import copy
import math
from typing import Sequence

from analysis import conductivity as cond
from analysis.transport import _write_csv, csv_rows
from common.cli import run_main
from common.errors import AnalysisError
from common.io import read_json, write_json_atomic

COMBINATION_RULE = ("value = mean over replicas; stderr = max(sqrt(sum of squared replica stderrs)/n, "
                    "std over replicas (ddof=1)/sqrt(n)); diffusive = diffusive in every replica; ratios (Haven, "
                    "t(Na+)) from the combined means with propagated errors, not averaged")
RATIO_RULE = "ratio of the combined means, first-order propagation of their standard errors"
FLAG_KEY, SLOPE_KEY = "diffusive", "loglog_slope"


def _is_estimate(node) -> bool:
    return isinstance(node, dict) and "value" in node and "stderr" in node


def combine_estimates(estimates: Sequence[dict]) -> dict:
    """One combined ``{value, stderr, stderr_within, stderr_between, n_replicas}`` (module notes)."""
    values = [e["value"] for e in estimates]
    if any(v is None for v in values):
        return {**estimates[0], "value": None, "stderr": None, "n_replicas": len(estimates),
                "note": "not computed in every replica"}
    n = len(values)
    mean = sum(values) / n
    errors = [e["stderr"] for e in estimates]
    within = math.sqrt(sum(s * s for s in errors)) / n if all(s is not None for s in errors) else None
    between = (math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) / math.sqrt(n)) if n > 1 else None
    candidates = [s for s in (within, between) if s is not None]
    combined = {**estimates[0], "value": mean, "stderr": max(candidates) if candidates else None}
    if n > 1:
        combined.update(stderr_within=within, stderr_between=between, n_replicas=n)
    return combined


def _merge(nodes: Sequence, path: str, per_replica: dict):
    first = nodes[0]
    if _is_estimate(first):
        if not all(_is_estimate(n) for n in nodes):
            raise AnalysisError(f"replica reports differ at '{path}': an estimate in one, not in another")
        per_replica[path] = [n["value"] for n in nodes]
        return combine_estimates(nodes)
    if isinstance(first, dict):
        merged = {}
        for key, value in first.items():
            others = [n.get(key) if isinstance(n, dict) else None for n in nodes]
            sub = f"{path}.{key}" if path else key
            if key in (FLAG_KEY, SLOPE_KEY):
                merged[key] = _merge_check(key, others, sub, per_replica)
            elif all(o is not None for o in others):
                merged[key] = _merge(others, sub, per_replica)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    return copy.deepcopy(first)


def _merge_check(key: str, values: list, path: str, per_replica: dict):
    """A fit's diffusive flag (True only if True in every replica) or its log-log slope (mean over the
    replicas that have one; None if none has)."""
    per_replica[path] = list(values)
    if key == FLAG_KEY:
        return all(v is True for v in values)
    slopes = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(slopes) / len(slopes) if slopes else None


def _estimate(block: dict | None) -> cond.Estimate:
    """A ``{value, stderr}`` block as an Estimate (None, None when absent)."""
    if not _is_estimate(block):
        return cond.Estimate(None, None)
    return cond.Estimate(block["value"], block["stderr"])


def _ratio_block(estimate: cond.Estimate, why_missing: str) -> dict:
    block = {**estimate.as_dict(), "rule": RATIO_RULE}
    if estimate.value is None:
        block["note"] = why_missing
    return block


def _recompute_haven(combined: dict) -> None:
    """Haven ratio σ_NE/σ_EH of each conductivity block (and the top-level one, scaled charges) from the
    combined means."""
    for key in ("conductivity", "conductivity_formal_charges"):
        block = combined.get(key)
        if not isinstance(block, dict) or "haven_ratio" not in block:
            continue
        ne = _estimate((block.get("nernst_einstein") or {}).get("sigma_S_per_m"))
        eh = _estimate((block.get("einstein_helfand") or {}).get("sigma_S_per_m"))
        block["haven_ratio"] = _ratio_block(cond.ratio(ne, eh), f"{key}: sigma_NE or sigma_EH missing in the "
                                                                  "combined report; the Haven ratio is not averaged")
    if "haven_ratio" in combined:
        scaled = (combined.get("conductivity") or {}).get("haven_ratio")
        combined["haven_ratio"] = copy.deepcopy(scaled) if scaled is not None else _ratio_block(
            cond.Estimate(None, None), "no conductivity block to take the ratio from; the Haven ratio is not averaged")


def _recompute_transference(combined: dict) -> None:
    """Nernst–Einstein t(Na⁺) from the combined D of every ion species (formal charges), as transport.py."""
    block = combined.get("transference_number_Na")
    if not isinstance(block, dict):
        return
    species = combined.get("species") or {}
    ions = {n: sp for n, sp in species.items() if sp.get("charge_formal_e")}
    cations = block.get("cation_species") or []
    d_key = block.get("D_key") or "D_m2_per_s"   # the Yeh-Hummer-corrected D when transport.py used it
    estimates = {n: _estimate(sp.get(d_key)) for n, sp in ions.items()}
    if not cations or any(e.value is None for e in estimates.values()) or any(c not in ions for c in cations):
        result = cond.Estimate(None, None)
    else:
        q2 = {n: sp["charge_formal_e"] ** 2 * sp["n_molecules"] for n, sp in ions.items()}
        result = cond.transference_number(cations, q2, {n: e.value for n, e in estimates.items()},
                                          {n: e.stderr for n, e in estimates.items()})
    for key in ("value", "stderr", "stderr_within", "stderr_between", "n_replicas", "note"):
        block.pop(key, None)
    block.update(_ratio_block(result, "the combined report lacks the ion species' D, formal charges or the "
                                      "cation species; t(Na+) is not averaged"))


def recompute_ratios(combined: dict) -> dict:
    """Replace the averaged ratios of a combined report with ratios of its combined means (module notes)."""
    _recompute_haven(combined)
    _recompute_transference(combined)
    return combined


def combine_reports(reports: Sequence[dict], files: Sequence[str] | None = None) -> dict:
    """The combined transport report of ``reports`` (one per replica, same system and analysis settings)."""
    if not reports:
        raise AnalysisError("no replica reports to combine")
    species = [sorted(r.get("species", {})) for r in reports]
    if any(s != species[0] for s in species):
        raise AnalysisError(f"replica reports hold different species: {species}; they must come from the same system")
    per_replica: dict = {}
    combined = _merge(reports, "", per_replica)
    if len(reports) > 1:
        recompute_ratios(combined)
    combined["replicas"] = {
        "n": len(reports),
        "files": list(files or []),
        "combination": COMBINATION_RULE if len(reports) > 1 else "one replica: its own block-average errors",
        "run_length_ps_each": [r.get("run_length_ps") for r in reports],
        "per_replica": per_replica if len(reports) > 1 else {},
    }
    return combined


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.replicas", description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="transport JSON of each replica")
    parser.add_argument("--out", required=True)
    parser.add_argument("--csv", default=None)
    args = parser.parse_args(argv)
    return run_main("analysis.replicas", lambda: _combine(args))


def _combine(args: argparse.Namespace) -> None:
    """Combine the replica reports; write the CSV (if asked) and the JSON."""
    combined = combine_reports([read_json(p, "replica report") for p in args.reports], args.reports)
    if args.csv:
        _write_csv(args.csv, csv_rows(combined))
    write_json_atomic(args.out, combined)


if __name__ == "__main__":
    raise SystemExit(main())
