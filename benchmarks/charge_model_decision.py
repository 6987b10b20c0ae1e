"""Issue 14's choice of the default charge model, from the best evidence each validation campaign holds.

No single CPU campaign measures every property at a length that settles it, so each property is taken from the
campaign built for it, for every model the campaigns share (system ``PC_<model>`` / ``LE_<model>``):

- density of neat PC: ``results/validation_density/PC_<model>/density.json`` (one 1 ns NPT block; the 100 ps
  blocks of the other campaigns scatter by ~1.3 % between independent boxes of 80 molecules);
- η of neat PC: ``results/validation_viscosity/PC_<model>/viscosity/viscosity.json`` (0.15 and 0.075 nm/ps²,
  400 ps each; the 0.3 nm/ps² of the 80 ps runs thins the liquid);
- ΔHvap, ε and D(PC) (Yeh–Hummer with that η): the 4 ns production of ``results/validation_diffusive/PC_<model>``;
- the LE's density and σ (formal charges, both routes): ``results/validation_diffusive_le/LE_<model>`` — its
  ``validation.json`` when the 10 ns production finished, else the checkpointed frames analysed by
  ``benchmarks/partial_transport.py`` (the stage's own ``analysis.transport``; the run length is recorded).

Every number is recomputed by the validation stage's own code (``analysis.validation``) and ranked by its rule
(:func:`analysis.validation.rank_models`). A model missing a campaign's output is reported as missing, never
filled in. Writes ``<out>/decision.json`` and ``<out>/summary.md``:

    python benchmarks/charge_model_decision.py [--results results] [--out results/validation_decision] \\
        [--models resp_hf631gs scaled090 scaled090_oplsO scaled085_oplsO]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.validation import compare, model_name, summary_markdown, transport_entries, validate_system  # noqa: E402
from analysis.reference_data import DENSITY_G_PER_CM3  # noqa: E402

MODELS = ("resp_hf631gs", "scaled090", "scaled090_oplsO", "scaled085_oplsO")
LE_REFERENCE = "NaPF6_PC_1M"


def _missing(paths: dict[str, Path]) -> list[str]:
    return [f"{what}: {path}" for what, path in paths.items() if not path.is_file()]


def pc_report(results: Path, model: str) -> tuple[dict | None, list[str]]:
    """Neat PC's validation report of ``model`` assembled from the three campaigns (None and what is missing)."""
    run = results / "validation_diffusive" / f"PC_{model}"
    inputs = {"4 ns production": run / "production" / "production.json",
              "1 ns NPT density": results / "validation_density" / f"PC_{model}" / "density.json",
              "400 ps viscosity": results / "validation_viscosity" / f"PC_{model}" / "viscosity" / "viscosity.json"}
    missing = _missing(inputs)
    if missing:
        return None, missing
    gas_phase = run / "gas_phase" / "gas_phase.json"
    report = validate_system(f"PC_{model}", forcefield=run / "parameterise" / "forcefield.json",
                             density=inputs["1 ns NPT density"], production=inputs["4 ns production"], transport=None,
                             viscosity=inputs["400 ps viscosity"], topology=run / "build" / "system.pdb",
                             temperature_K=298.15, reference_key="PC",
                             gas_phase=gas_phase if gas_phase.is_file() else None)
    report["evidence"] = {k: str(v) for k, v in inputs.items()}
    return report, []


def le_report(results: Path, model: str, scratch: Path) -> tuple[dict | None, list[str]]:
    """The LE's report of ``model``: its finished validation.json, else its checkpointed frames analysed."""
    run = results / "validation_diffusive_le" / f"LE_{model}"
    finished = run / "validation.json"
    if finished.is_file():
        report = json.loads(finished.read_text())
        report["evidence"] = {"finished production": str(finished)}
        return report, []
    inputs = {"equilibration density": run / "density.json", "force field": run / "parameterise" / "forcefield.json",
              "unfinished production": run / "production.work" / "progress.json"}
    missing = _missing(inputs)
    if missing:
        return None, missing
    out = scratch / f"LE_{model}"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "partial_transport.py"), str(run), str(out),
                           "--blocks", "3"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return None, [f"partial transport of {run} failed: {done.stderr.strip().splitlines()[-1:]}"]
    transport = json.loads((out / "transport.json").read_text())
    forcefield = json.loads(inputs["force field"].read_text())
    density = json.loads(inputs["equilibration density"].read_text())
    progress = json.loads(inputs["unfinished production"].read_text())
    timestep_ps = json.loads((run.parent / "simulation_settings.json").read_text())["protocol"]["timestep_ps"]
    report = {"system": f"LE_{model}", "charge_model": forcefield.get("charge_model", "resp_hf631gs"),
              "lj_overrides": forcefield.get("lj_overrides") or [], "model": model_name(forcefield),
              "reference_key": LE_REFERENCE,
              "run_lengths_ps": {"production_NVT": transport.get("run_length_ps"),
                                 "production_planned": progress["total_steps"] * float(timestep_ps)},
              "properties": {"density_g_per_cm3": compare(density["density_g_per_cm3"],
                                                          DENSITY_G_PER_CM3.get(LE_REFERENCE)),
                             **transport_entries(transport, LE_REFERENCE)},
              "evidence": {"checkpointed frames of the unfinished production": str(run / "production.work")}}
    return report, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "validation_decision")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    reports, notes = [], []
    for model in args.models:
        for kind, build in (("PC", lambda m: pc_report(args.results, m)),
                            ("LE", lambda m: le_report(args.results, m, args.out / "partial"))):
            report, missing = build(model)
            if report is None:
                notes.append(f"{kind}_{model}: not in the table, missing {'; '.join(missing)}")
            else:
                reports.append(report)
                length = report["run_lengths_ps"]["production_NVT"]
                if kind == "LE" and "production_planned" in report["run_lengths_ps"]:
                    notes.append(f"LE_{model}: {length:.0f} ps of its {report['run_lengths_ps']['production_planned']:.0f}"
                                 " ps production analysed (unfinished; the checkpointed frames)")
    notes.append("Neat PC: density from one 1 ns NPT block (config/validation_density.yaml, seed 2027), η from 0.15 "
                 "and 0.075 nm/ps² × 400 ps (config/validation_viscosity.yaml), ΔHvap, ε and D(PC) from the 4 ns NVT "
                 "production of config/validation_diffusive.yaml (Yeh–Hummer with that η).")
    (args.out / "decision.json").write_text(json.dumps({"reports": reports, "notes": notes}, indent=1))
    (args.out / "summary.md").write_text(summary_markdown(reports, notes))
    print((args.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
