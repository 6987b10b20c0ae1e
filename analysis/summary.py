"""The campaign summary: one row per system, side by side, with experiment where a verified value exists.

Reads, per system, the JSON reports the workflow wrote (build manifest, force-field report, density,
production and, when present, transport) and writes ``summary.json`` (everything, with units in the
keys), ``summary.csv`` (one row per system) and ``summary.md`` (the readable table plus the provenance:
charges, temperature, ensemble, run length). Nothing is recomputed here.

Usage::

    python -m analysis.summary --campaign demo --out-dir results/demo \\
        --system LE --manifest .../manifest.json --forcefield .../forcefield.json --density .../density.json \\
        --production .../production.json [--transport .../transport.json] [--reference-conductivity KEY] \\
        [--system PC ...]

``--system`` starts a new system; the options after it belong to it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Sequence

from analysis.conductivity import S_PER_M_TO_MS_PER_CM
from analysis.reference_data import CONDUCTIVITY_MS_PER_CM, lookup
from common.cli import run_main
from common.errors import AnalysisError, InputFileError
from common.io import read_json, write_json_atomic, write_text_atomic

SCHEMA = "gelmd.analysis.summary/1"
FILE_KEYS = ("manifest", "forcefield", "density", "production", "transport", "network")


def _read(path: str | None, what: str, required: bool = True) -> dict | None:
    if path is None:
        if required:
            raise InputFileError(f"summary: the {what} report is required")
        return None
    return read_json(path, f"summary: {what} report")


def _value(block: dict | None, *keys: str):
    """Nested lookup that returns None when any level is missing."""
    for key in keys:
        if not isinstance(block, dict) or key not in block:
            return None
        block = block[key]
    return block


def system_row(name: str, files: dict[str, str | None], reference_conductivity: str = "") -> dict:
    """Everything the summary says about one system, read from its reports."""
    manifest = _read(files.get("manifest"), "build manifest")
    forcefield = _read(files.get("forcefield"), "force-field")
    density = _read(files.get("density"), "density")
    production = _read(files.get("production"), "production")
    transport = _read(files.get("transport"), "transport", required=False)
    network = _read(files.get("network"), "network", required=False)
    row: dict = {
        "system": name,
        "n_atoms": _value(manifest, "n_atoms"),
        "composition": _value(manifest, "composition", "counts"),
        "density_g_per_cm3": density["density_g_per_cm3"],
        "density_experiment_g_per_cm3": density["experiment"].get("value_g_per_cm3"),
        "density_deviation_percent": density["experiment"].get("deviation_percent"),
        "density_experiment_source": density["experiment"].get("source") or density["experiment"].get("note"),
        "charges": forcefield.get("charges"),
        "ion_charge_scale": forcefield.get("ion_charge_scale"),
        "temperature_K": production["thermostat"]["temperature_K"],
        "production_ensemble": production["ensemble"],
        "production_ps": production["duration_ps"],
        "timestep_fs": production["timestep_ps"] * 1000.0,
        "hydrogen_mass_amu": production["hydrogen_mass_amu"],
        "ns_per_day": production["ns_per_day"],
        "platform": _value(production, "platform", "name"),
        "files": {k: v for k, v in files.items() if v},
    }
    if network is not None:
        row["network"] = {key: network.get(key) for key in (
            "conversion", "target_conversion", "cycles", "crosslink_density_mol_per_m3", "gel_fraction",
            "seed")}
        row["network"]["polymer_weight_fraction"] = _value(network, "composition", "realised_polymer_weight_fraction")
        row["network"]["monomer"] = _value(network, "monomer", "name")
        row["network"]["residues"] = sorted({name for states in (_value(network, "monomer", "residues") or {}).values()
                                             for name in states.values()})
        row["network"]["reaction"] = _value(network, "monomer", "reaction_type")
    reference = lookup(CONDUCTIVITY_MS_PER_CM, reference_conductivity)
    if reference_conductivity and reference is None:
        raise AnalysisError(f"no experimental conductivity reference named {reference_conductivity!r}; known: "
                            f"{sorted(CONDUCTIVITY_MS_PER_CM)}")
    row["conductivity_experiment_mS_per_cm"] = reference.value if reference else None
    row["conductivity_experiment_source"] = reference.source if reference else (
        "no verified experimental value" if not reference_conductivity else None)
    if transport is not None:
        cations = _value(transport, "transference_number_Na", "cation_species") or ["NA"]
        row["D_Na_m2_per_s"] = _value(transport, "species", cations[0], "D_m2_per_s")
        row["sigma_NE_S_per_m"] = _value(transport, "conductivity", "nernst_einstein", "sigma_S_per_m")
        row["sigma_EH_S_per_m"] = _value(transport, "conductivity", "einstein_helfand", "sigma_S_per_m")
        row["haven_ratio"] = _value(transport, "haven_ratio")
        row["transference_number_Na"] = _value(transport, "transference_number_Na")
        row["fit_window_ps"] = _value(transport, "fit_window_ps")
        row["transport_replicas"] = _value(transport, "replicas", "n") or 1
        row["coordination_Na"] = _value(transport, "solvation", "coordination_numbers")
        eh = row["sigma_EH_S_per_m"]
        if reference is not None and isinstance(eh, dict) and eh.get("value") is not None:
            ours = eh["value"] * S_PER_M_TO_MS_PER_CM
            row["conductivity_deviation_percent"] = 100.0 * (ours - reference.value) / reference.value
    if row.get("coordination_Na") and row.get("network"):
        row["coordination_Na_by_monomer"] = by_monomer(row["coordination_Na"], row["network"]["residues"],
                                                       row["network"]["monomer"])
    return row


def by_monomer(numbers: dict, residues: list[str], monomer: str) -> dict:
    """Coordination numbers with the residues of one monomer's units summed into '<monomer>:<site kind>'.

    The coordination numbers of different residues count different sites around the same Na⁺, so the
    number of, e.g., amine N of any BMP unit within the first shell is their sum.
    """
    merged: dict = {}
    for site, value in numbers.items():
        residue, kind = site.split(":", 1)
        key = f"{monomer}:{kind}" if residue in residues else site
        if value is not None:
            merged[key] = merged.get(key, 0.0) + value
        else:
            merged.setdefault(key, None)
    return merged


def _pm(block, scale: float = 1.0, fmt: str = ".3g") -> str:
    """'value ± stderr' of a {value, stderr} block (or a bare number), scaled; '—' when absent."""
    if block is None:
        return "—"
    if isinstance(block, dict):
        value, err = block.get("value"), block.get("stderr")
        if value is None:
            return "—"
        if err is None:
            return f"{value * scale:{fmt}}"
        return f"{value * scale:{fmt}} ± {err * scale:{fmt}}"
    return f"{block * scale:{fmt}}"


def _coordination(numbers: dict | None, smallest: float = 0.05) -> str:
    """'PC:O_carbonyl 4.6, PF6:F 1.5': the Na⁺ coordination numbers of the site groups that coordinate."""
    if not numbers:
        return "—"
    shown = [f"{site} {value:.1f}" for site, value in numbers.items()
             if value is not None and value >= smallest and not site.endswith(":COM") and "ether" not in site]
    return ", ".join(shown) or "—"


def _num(value, fmt: str) -> str:
    return "—" if value is None else f"{value:{fmt}}"


def markdown(campaign: str, rows: list[dict]) -> str:
    """summary.md: the side-by-side table, then per-system provenance."""
    lines = [f"# gelmd summary: campaign `{campaign}`", "",
             "| system | atoms | ρ sim (g/cm³) | ρ exp (g/cm³) | Δρ (%) | D(Na⁺) (10⁻¹⁰ m²/s) | σ NE (mS/cm) | "
             "σ EH (mS/cm) | σ exp (mS/cm) | Haven | t(Na⁺) | Na⁺ coordination |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['system']} | {_num(r['n_atoms'], 'd')} | {_pm(r['density_g_per_cm3'], fmt='.4f')} | "
            f"{_num(r['density_experiment_g_per_cm3'], '.3f')} | {_num(r['density_deviation_percent'], '+.1f')} | "
            f"{_pm(r.get('D_Na_m2_per_s'), 1e10)} | {_pm(r.get('sigma_NE_S_per_m'), S_PER_M_TO_MS_PER_CM)} | "
            f"{_pm(r.get('sigma_EH_S_per_m'), S_PER_M_TO_MS_PER_CM)} | "
            f"{_num(r['conductivity_experiment_mS_per_cm'], '.2f')} | {_pm(r.get('haven_ratio'))} | "
            f"{_pm(r.get('transference_number_Na'))} | "
            f"{_coordination(r.get('coordination_Na_by_monomer') or r.get('coordination_Na'))} |")
    lines += ["", "Uncertainties are standard errors. ρ from the converged NPT window; transport from NVT production. "
              "σ NE: Nernst–Einstein from self-diffusion; σ EH: Einstein–Helfand (collective charge displacement), "
              "both with the simulation's (scaled) ion charges. Na⁺ coordination: first-shell coordination numbers by "
              "site (residue:atom kind; ether O and anion centres in the per-system lists below). — means not "
              "computed or no verified experiment.", ""]
    for r in rows:
        lines += [f"## {r['system']}", "",
                  f"- composition: {json.dumps(r['composition'])}",
                  f"- charges: {r['charges']}; ion charge scale {r['ion_charge_scale']}",
                  f"- production: {r['production_ensemble']}, {r['temperature_K']:g} K, {r['production_ps']:g} ps, "
                  f"time step {r['timestep_fs']:g} fs, hydrogen mass {r['hydrogen_mass_amu']:g} amu, "
                  f"{r['ns_per_day']:.3g} ns/day on {r['platform']}",
                  f"- density experiment: {r['density_experiment_source']}",
                  f"- conductivity experiment: {r['conductivity_experiment_source']}"]
        if r.get("conductivity_deviation_percent") is not None:
            lines.append(f"- σ EH vs experiment: {_pm(r['sigma_EH_S_per_m'], S_PER_M_TO_MS_PER_CM)} vs "
                         f"{r['conductivity_experiment_mS_per_cm']:g} mS/cm, "
                         f"{r['conductivity_deviation_percent']:+.0f} %")
        if r.get("fit_window_ps") is not None:
            lines.append(f"- diffusion fit window: {r['fit_window_ps']} ps; transport from "
                         f"{r['transport_replicas']} production replica(s)")
        if r.get("network"):
            n = r["network"]
            lines.append(f"- network: {n['monomer']} ({n['reaction']}), conversion {_num(n['conversion'], '.2f')} "
                         f"(target {_num(n['target_conversion'], '.2f')}) after {n['cycles']} cycles, crosslink "
                         f"density {_num(n['crosslink_density_mol_per_m3'], '.4g')} mol/m³, gel fraction "
                         f"{_num(n['gel_fraction'], '.2f')}, polymer weight fraction {_num(n['polymer_weight_fraction'], '.3f')}, "
                         f"builder seed {n['seed']}")
        if r.get("coordination_Na"):
            lines.append(f"- Na⁺ coordination numbers: {json.dumps(r['coordination_Na'])}")
        lines.append("")
    return "\n".join(lines)


CSV_COLUMNS = ("system", "n_atoms", "density_g_per_cm3", "density_stderr_g_per_cm3", "density_experiment_g_per_cm3",
               "density_deviation_percent", "D_Na_m2_per_s", "D_Na_stderr_m2_per_s", "sigma_NE_S_per_m",
               "sigma_NE_stderr_S_per_m", "sigma_EH_S_per_m", "sigma_EH_stderr_S_per_m",
               "conductivity_experiment_mS_per_cm", "haven_ratio", "transference_number_Na", "temperature_K",
               "production_ps", "ion_charge_scale", "ns_per_day")


def csv_text(rows: list[dict]) -> str:
    """summary.csv: one row per system, values and standard errors in separate columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)

    def split(block):
        if isinstance(block, dict):
            return block.get("value"), block.get("stderr")
        return block, None

    for r in rows:
        rho, rho_err = split(r["density_g_per_cm3"])
        d, d_err = split(r.get("D_Na_m2_per_s"))
        ne, ne_err = split(r.get("sigma_NE_S_per_m"))
        eh, eh_err = split(r.get("sigma_EH_S_per_m"))
        haven, _ = split(r.get("haven_ratio"))
        tplus, _ = split(r.get("transference_number_Na"))
        writer.writerow([r["system"], r["n_atoms"], rho, rho_err, r["density_experiment_g_per_cm3"],
                         r["density_deviation_percent"], d, d_err, ne, ne_err, eh, eh_err,
                         r["conductivity_experiment_mS_per_cm"], haven, tplus, r["temperature_K"],
                         r["production_ps"], r["ion_charge_scale"], r["ns_per_day"]])
    return buffer.getvalue()


def parse_system_groups(argv: Sequence[str]) -> tuple[argparse.Namespace, list[dict]]:
    """Split the command line at each ``--system`` into per-system option groups."""
    head, groups, current = [], [], None
    for token in argv:
        if token == "--system":
            current = []
            groups.append(current)
        elif current is None:
            head.append(token)
        else:
            current.append(token)
    top = argparse.ArgumentParser(prog="python -m analysis.summary", description=__doc__.splitlines()[0])
    top.add_argument("--campaign", required=True)
    top.add_argument("--out-dir", required=True)
    args = top.parse_args(head)
    if not groups:
        top.error("give at least one --system NAME with its reports")
    per_system = argparse.ArgumentParser(prog="--system")
    per_system.add_argument("name")
    for key in FILE_KEYS:
        per_system.add_argument(f"--{key}", default=None)
    per_system.add_argument("--reference-conductivity", default="")
    return args, [vars(per_system.parse_args(g)) for g in groups]


def main(argv: Sequence[str] | None = None) -> int:
    args, systems = parse_system_groups(sys.argv[1:] if argv is None else list(argv))
    return run_main("analysis.summary", lambda: _summarise(args, systems))


def _summarise(args: argparse.Namespace, systems: list[dict]) -> None:
    """Read every system's reports and write summary.json, summary.csv and (last) summary.md."""
    rows = [system_row(s["name"], {k: s[k] for k in FILE_KEYS}, s["reference_conductivity"]) for s in systems]
    out = Path(args.out_dir)
    write_json_atomic(out / "summary.json", {"schema": SCHEMA, "campaign": args.campaign, "systems": rows})
    write_text_atomic(out / "summary.csv", csv_text(rows))
    # The Markdown is the workflow's final target: written last, so its presence means the rest is there.
    write_text_atomic(out / "summary.md", markdown(args.campaign, rows))
    print(markdown(args.campaign, rows))


if __name__ == "__main__":
    raise SystemExit(main())
