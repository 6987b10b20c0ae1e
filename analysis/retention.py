"""``python -m analysis.retention``: how strongly a system holds its solvents, by two routes, beside the LE.

Thermodynamic route (:mod:`analysis.free_energy` on the decoupling runs of ``simulation.solvation_free_energy``)
    ΔG_solv = μ_ex of each solvent (PC, FEC) per system, MBAR error and overlap, several molecules combined.
    The partial vapour pressure over a solution is p_i = ρ_i k T exp(μ_ex,i / kT) (ideal vapour; ρ_i the number
    density of i in the liquid), so against the reference liquid electrolyte (LE) of the same config

        p(gel)/p(LE) = [ρ_i(gel)/ρ_i(LE)] × exp[(μ_ex,gel − μ_ex,LE)/kT],

    reported with both factors; the error is that of Δμ propagated (the densities are those of the equilibrated
    boxes). Beside it the Flory-Huggins activity of a solvent swelling a network, ln a = ln(1−φ) + φ + χφ²
    (infinite chains; φ the polymer volume fraction, taken as its weight fraction: polymer and electrolyte
    densities agree within ~10 %). For a neat solvent with a measured vapour pressure and density
    (:mod:`analysis.retention_reference`) ΔG_solv is compared with −RT ln(ρ_liq RT / (p_vap M)).

Kinetic route (:mod:`analysis.evaporation` on ``simulation.evaporation``)
    retained fraction of each solvent vs time (CSV), evaporation rate per ns per nm² with its error over
    replicas, and for a gel whether its network stayed in the film.

Every number carries ``converged`` and, when false, the reasons (demo-length runs are far from converged).
Output: ``retention.json`` (schema ``gelmd.analysis.retention/1``, written last), ``retained_fraction.csv``,
``retention.png``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from analysis.evaporation import analyse_film
from analysis.free_energy import combine_molecules, solvation_free_energy
from analysis.retention_reference import NEAT_SOLVENT_REFERENCE, solvation_free_energy_from_vapour_pressure
from common.cli import run_main
from common.constants import MOLAR_GAS_CONSTANT_KJ_PER_MOL_K
from common.errors import AnalysisError
from common.io import atomic_path, read_json, write_json_atomic, write_text_atomic
from common.units import parse_quantity

SCHEMA = "gelmd.analysis.retention/1"
SOLVATION_RUN_SCHEMA = "gelmd.simulation.solvation/1"
EVAPORATION_RUN_SCHEMA = "gelmd.simulation.evaporation/1"
TARGET_DELTA_MU_STDERR_KJ_PER_MOL = 0.2
"""The issue's aim for Δμ (gel − LE): below this a retention difference of a few per cent can be told."""
MIN_EVAPORATION_EVENTS = 10


def _load(run_path: str | Path, npz_path: str | Path, schema: str) -> tuple[dict, dict]:
    run = read_json(run_path, "run report", invalid=AnalysisError)
    if run.get("schema") != schema:
        raise AnalysisError(f"{run_path}: schema {run.get('schema')!r}, expected {schema!r}")
    with np.load(npz_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return run, arrays


def solvation(run: dict, arrays: dict) -> dict:
    """Per residue: ΔG_solv of each molecule, combined; number density; interaction energies by partner."""
    kT = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * run["temperature_K"]
    out = {}
    for residue, info in run["residues"].items():
        per_molecule, interactions = [], {}
        for m, entry in enumerate(info["molecules"]):
            key = f"{residue}/{m}"
            result = solvation_free_energy(arrays[f"{key}/box_u"], arrays[f"{key}/vacuum_u"], entry["tail_kJ_per_mol"], kT)
            per_molecule.append({"residue_index": entry["residue_index"], **result})
            for name in ("solvent", "ions", "network"):
                interactions.setdefault(name, []).extend(arrays[f"{key}/interaction/{name}"].tolist())
        combined = combine_molecules([r["value"] for r in per_molecule], [r["stderr"] for r in per_molecule])
        reasons = [f"molecule {r['residue_index']}: {why}" for r in per_molecule for why in r["not_converged_because"]]
        volume = info["molecules"][0]["volume_nm3"]
        out[residue] = {
            **combined, "converged": not reasons, "not_converged_because": reasons, "molecules": per_molecule,
            "number_density_per_nm3": info["n_in_box"] / volume,
            "interaction_energy_kJ_per_mol": {k: _mean_error(v) for k, v in interactions.items()}}
    return out


def _mean_error(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"value": float(a.mean()), "stderr": float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else None,
            "n_samples": int(a.size), "note": "correlated samples: the stderr is a lower bound"}


def vapour_pressure_ratio(mine: dict, reference: dict, kT: float) -> dict:
    """p(this)/p(reference) of one solvent (module notes) with its propagated error."""
    delta = mine["value"] - reference["value"]
    delta_err = math.hypot(mine["stderr"], reference["stderr"])
    excess = math.exp(delta / kT)
    density = mine["number_density_per_nm3"] / reference["number_density_per_nm3"]
    value = density * excess
    reasons = [] if delta_err <= TARGET_DELTA_MU_STDERR_KJ_PER_MOL else [
        f"stderr of the chemical-potential difference {delta_err:.2f} kJ/mol > target {TARGET_DELTA_MU_STDERR_KJ_PER_MOL}"]
    reasons += [] if mine["converged"] and reference["converged"] else ["a solvation free energy is not converged"]
    return {"value": value, "stderr": value * delta_err / kT, "excess_chemical_potential_factor": excess,
            "number_density_factor": density,
            "delta_mu_ex_kJ_per_mol": {"value": delta, "stderr": delta_err},
            "formula": "p/p_ref = (rho/rho_ref) exp[(mu_ex - mu_ex,ref)/kT]", "converged": not reasons,
            "not_converged_because": reasons}


def flory_huggins(polymer_fraction: float, chi: float) -> dict:
    """Solvent activity in a swollen network (infinite chains): ln a = ln(1−φ) + φ + χφ²."""
    ln_a = math.log(1.0 - polymer_fraction) + polymer_fraction + chi * polymer_fraction ** 2
    return {"chi": chi, "polymer_volume_fraction": polymer_fraction, "activity_ratio": math.exp(ln_a),
            "note": "ln a = ln(1-phi) + phi + chi phi^2; phi taken as the polymer weight fraction; salt not included"}


def evaporation_block(run: dict, arrays: dict, distance_nm: float) -> tuple[dict, dict | None]:
    base = {"temperature_K": run["settings"]["temperature_K"], "counting_distance_nm": distance_nm,
            "method": run["evaporated_molecules"], "slab_correction": run["slab_correction"],
            "ensemble": run["ensemble"]}
    if run.get("status") != "ok":
        return {**base, "status": run.get("status"), "refusal": run.get("refusal"), "rate_per_ns_per_nm2": {}}, None
    film = analyse_film(arrays, run["area_nm2"], distance_nm)
    rates = film["rate_per_ns_per_nm2"]
    for residue, r in rates.items():
        reasons = []
        if r["events"] < MIN_EVAPORATION_EVENTS:
            reasons.append(f"{r['events']} molecules evaporated (< {MIN_EVAPORATION_EVENTS}): run longer or hotter")
        r["converged"], r["not_converged_because"] = not reasons, reasons
    block = {**base, "status": "ok", "duration_ps": film["duration_ps"], "replicas": run["settings"]["replicas"],
             "area_nm2": run["area_nm2"], "film_thickness_nm": run["film_thickness_nm"],
             "film_normal_original_axis": run["film_normal_original_axis"], "evaporated": film["evaporated"],
             "molecules_per_residue": run["molecules_per_residue"], "rate_per_ns_per_nm2": rates,
             "network_intact": film["network_intact"],
             "network_atoms_beyond_distance": film["network_atoms_beyond_distance"],
             "retained_fraction_final": {k: float(v[-1]) for k, v in film["retained_fraction"].items()}}
    return block, film


def forcefield_record(forcefield: dict) -> dict:
    """The charges and Lennard-Jones parameters that produced the free energies, from the system's
    ``forcefield.json`` (forcefields.parameterise): solvent charge model, charge provenance, LJ overrides with
    their sources, ion charge scale and force-field name."""
    return {"charge_model": forcefield.get("charge_model"), "charges": forcefield.get("charges"),
            "lj_overrides": forcefield.get("lj_overrides") or [], "ion_charge_scale": forcefield.get("ion_charge_scale"),
            "force_field": forcefield.get("force_field")}


def analyse(args: argparse.Namespace) -> tuple[dict, dict | None]:
    temperature = parse_quantity(args.temperature, "temperature", "--temperature")
    kT = MOLAR_GAS_CONSTANT_KJ_PER_MOL_K * temperature
    run, arrays = _load(args.solvation_run, args.solvation, SOLVATION_RUN_SCHEMA)
    mine = solvation(run, arrays)
    result = {"schema": SCHEMA, "system": args.system_name, "temperature_K": temperature,
              "reference": args.reference_name or args.system_name,
              "solvation_method": run["method"], "lambda_electrostatics": run["lambda_electrostatics"],
              "lambda_sterics": run["lambda_sterics"], "window": run["windows"],
              "solvation_ensemble": run["ensemble"],
              "solvation_free_energy_kJ_per_mol": mine, "vapour_pressure_ratio": {},
              "forcefield": forcefield_record(read_json(args.forcefield, "force-field report", invalid=AnalysisError))}
    if args.reference_solvation:
        ref_run, ref_arrays = _load(args.reference_solvation_run, args.reference_solvation, SOLVATION_RUN_SCHEMA)
        reference = solvation(ref_run, ref_arrays)
        for residue in mine:
            if residue in reference:
                result["vapour_pressure_ratio"][residue] = vapour_pressure_ratio(mine[residue], reference[residue], kT)
    else:
        for residue in mine:
            result["vapour_pressure_ratio"][residue] = {"value": 1.0, "stderr": 0.0, "is_reference": True,
                                                        "converged": True, "not_converged_because": []}
    if args.polymer_weight_fraction is not None:
        result["flory_huggins_estimate"] = flory_huggins(args.polymer_weight_fraction, args.chi)
    if args.neat_solvent:
        result["experiment"] = neat_comparison(args.neat_solvent, mine, temperature)
    ev_run, ev_arrays = _load(args.evaporation_run, args.evaporation, EVAPORATION_RUN_SCHEMA)
    distance = parse_quantity(args.evaporation_distance, "length", "--evaporation-distance")
    result["evaporation"], film = evaporation_block(ev_run, ev_arrays, distance)
    result["converged"] = result["evaporation"]["status"] == "ok" and all(v["converged"] for v in mine.values()) and all(
        v["converged"] for v in result["vapour_pressure_ratio"].values()) and all(
        v.get("converged", False) for v in result["evaporation"]["rate_per_ns_per_nm2"].values())
    result["provenance"] = {"solvation": str(args.solvation), "solvation_run": str(args.solvation_run),
                            "evaporation": str(args.evaporation), "evaporation_run": str(args.evaporation_run),
                            "reference_solvation": str(args.reference_solvation or "")}
    return result, film


def neat_comparison(residue: str, mine: dict, temperature: float) -> dict:
    if residue not in NEAT_SOLVENT_REFERENCE:
        raise AnalysisError(f"--neat-solvent {residue!r}: no measured vapour pressure; known: {sorted(NEAT_SOLVENT_REFERENCE)}")
    if residue not in mine:
        raise AnalysisError(f"--neat-solvent {residue!r}: not among the decoupled residues {sorted(mine)}")
    experiment = solvation_free_energy_from_vapour_pressure(residue, temperature)
    simulated = mine[residue]
    return {**experiment, "simulated_kJ_per_mol": {"value": simulated["value"], "stderr": simulated["stderr"]},
            "deviation_kJ_per_mol": simulated["value"] - experiment["value_kJ_per_mol"]}


def csv_text(film: dict | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_ps", "residue", "retained_fraction"])
    if film:
        for residue, values in film["retained_fraction"].items():
            for t, v in zip(film["time_ps"], values):
                writer.writerow([f"{t:.3f}", residue, f"{v:.6f}"])
    return buffer.getvalue()


def plot(path: str | Path, result: dict, film: dict | None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    solv = result["solvation_free_energy_kJ_per_mol"]
    names = sorted(solv)
    left.errorbar(range(len(names)), [solv[n]["value"] for n in names], yerr=[solv[n]["stderr"] for n in names],
                  fmt="o", capsize=4, label=f"{result['system']} (MBAR)")
    if "experiment" in result:
        i = names.index(result["experiment"]["residue"])
        left.plot([i], [result["experiment"]["value_kJ_per_mol"]], "r*", markersize=12, label="from experiment")
    left.set_xticks(range(len(names)), names)
    left.set_ylabel("ΔG_solv (kJ/mol)")
    left.set_title("solvation free energy" + ("" if result["converged"] else " (not converged)"))
    left.legend()
    if film:
        for residue, values in film["retained_fraction"].items():
            right.plot(film["time_ps"], values, label=residue)
        right.legend()
    else:
        right.text(0.5, 0.5, f"evaporation: {result['evaporation'].get('status')}", ha="center", transform=right.transAxes)
    right.set_xlabel("time (ps)")
    right.set_ylabel("retained fraction")
    right.set_title(f"film at {result['evaporation']['temperature_K']:g} K")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.retention", description=__doc__.splitlines()[0])
    parser.add_argument("--system-name", required=True)
    parser.add_argument("--temperature", required=True, help="of the decoupling runs, e.g. '298.15 K'")
    parser.add_argument("--forcefield", required=True, help="forcefield.json of forcefields.parameterise (recorded)")
    parser.add_argument("--solvation", required=True, help="NPZ of simulation.solvation_free_energy")
    parser.add_argument("--solvation-run", required=True, help="its JSON run report")
    parser.add_argument("--reference-name", default="", help="the reference liquid electrolyte (empty: this is it)")
    parser.add_argument("--reference-solvation", default="", help="the reference's solvation NPZ")
    parser.add_argument("--reference-solvation-run", default="", help="the reference's solvation run report")
    parser.add_argument("--evaporation", required=True, help="NPZ of simulation.evaporation")
    parser.add_argument("--evaporation-run", required=True, help="its JSON run report")
    parser.add_argument("--evaporation-distance", required=True, help="counting distance from the Gibbs surface")
    parser.add_argument("--polymer-weight-fraction", type=float, default=None, help="gels: for Flory-Huggins")
    parser.add_argument("--chi", type=float, default=0.5, help="Flory-Huggins chi (default 0.5)")
    parser.add_argument("--neat-solvent", default="", help="residue of a neat solvent to compare with experiment")
    parser.add_argument("--out", required=True)
    parser.add_argument("--csv", required=True)
    parser.add_argument("--plot", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> None:
        if bool(args.reference_solvation) != bool(args.reference_solvation_run):
            raise AnalysisError("--reference-solvation and --reference-solvation-run go together")
        result, film = analyse(args)
        write_text_atomic(args.csv, csv_text(film))
        plot(args.plot, result, film)
        write_json_atomic(args.out, result)
        for residue, r in result["solvation_free_energy_kJ_per_mol"].items():
            print(f"{args.system_name} {residue}: dG_solv {r['value']:.2f} +- {r['stderr']:.2f} kJ/mol "
                  f"(converged: {r['converged']})")

    return run_main("analysis.retention", body)


if __name__ == "__main__":
    raise SystemExit(main())
