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
temperature, solvation, ...) is taken from the first replica; ``replicas.per_replica`` keeps each
replica's value of every estimate.

Usage::

    python -m analysis.replicas --out transport.json [--csv transport.csv] REPLICA1.json [REPLICA2.json ...]
"""

from __future__ import annotations

import argparse
import copy
import math
from typing import Sequence

from analysis.transport import _write_csv, csv_rows
from common.cli import run_main
from common.errors import AnalysisError
from common.io import read_json, write_json_atomic

COMBINATION_RULE = ("value = mean over replicas; stderr = max(sqrt(sum of squared replica stderrs)/n, "
                    "std over replicas (ddof=1)/sqrt(n))")


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
            merged[key] = _merge(others, f"{path}.{key}" if path else key, per_replica) \
                if all(o is not None for o in others) else copy.deepcopy(value)
        return merged
    return copy.deepcopy(first)


def combine_reports(reports: Sequence[dict], files: Sequence[str] | None = None) -> dict:
    """The combined transport report of ``reports`` (one per replica, same system and analysis settings)."""
    if not reports:
        raise AnalysisError("no replica reports to combine")
    species = [sorted(r.get("species", {})) for r in reports]
    if any(s != species[0] for s in species):
        raise AnalysisError(f"replica reports hold different species: {species}; they must come from the same system")
    per_replica: dict = {}
    combined = _merge(reports, "", per_replica)
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
