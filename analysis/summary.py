"""The campaign summary: one row per system, side by side, with experiment where a verified value exists.

Reads, per system, the JSON reports the workflow wrote (build manifest, force-field report, density,
production and, when present, transport) and writes ``summary.json`` (everything, with units in the
keys), ``summary.csv`` (one row per system) and ``summary.md`` (the readable table plus the provenance:
charges, temperature, ensemble, run length). Nothing is recomputed here but ratios of reported values.

What is shown as a transport result (rules)
-------------------------------------------
* A fit the transport analysis flagged ``diffusive: false`` (no window of lags with a log-log MSD slope
  within 0.15 of 1, :mod:`analysis.diffusion`) is not a transport coefficient. The table prints "not
  diffusive (slope β)" instead of its value, and no deviation or ratio is formed from it. What depends on
  which fit: D(Na⁺) on the Na⁺ fit; σ_NE and t(Na⁺) on the fits of every ion species; σ_EH on the fit of
  the collective charge displacement M(t) (the same rule, recorded in transport.json as
  ``einstein_helfand.diffusive``); the Haven ratio on both. summary.json keeps the numbers with their
  flags; summary.csv leaves the value columns of a non-diffusive fit empty.
* Conductivity in both charge conventions: "scaled" (the charges of the dynamics) and "formal" (integer
  ion charges for the charge carried). The formal one is compared with experiment
  (:data:`analysis.conductivity.COMPARISON_CHARGE_CONVENTION`, reasons in :mod:`analysis.conductivity`).
* Experiment is compared per system only for a reference measured on bulk material
  (``Reference.comparable_with_bulk``). The founding paper's gel conductivities (1.8 and 0.62 mS/cm) were
  measured on gels held in a glass-fibre membrane, so only their ratio σ(GPE_PBMP)/σ(GPE_PTPA) ≈ 2.9,
  in which the membrane cancels, is compared, with first-order error propagation
  (:func:`analysis.conductivity.ratio`). Which systems those are: the ones whose
  ``--reference-conductivity`` names the two references.
* σ(GPE)/σ(LE) of our own systems is reported for every gel (manifest ``kind: gpe``) against every
  liquid electrolyte, i.e. every system of manifest ``kind: electrolyte`` with a transport report (the
  workflow gives one exactly to the systems with salt).

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

from analysis.conductivity import COMPARISON_CHARGE_CONVENTION, S_PER_M_TO_MS_PER_CM, Estimate, ratio
from analysis.reference_data import CONDUCTIVITY_MS_PER_CM, Reference, lookup, same_sample_pairs
from common.cli import run_main
from common.errors import AnalysisError, InputFileError
from common.io import read_json, write_json_atomic, write_text_atomic

SCHEMA = "gelmd.analysis.summary/2"
FILE_KEYS = ("manifest", "forcefield", "density", "production", "transport", "network", "mechanics",
             "viscosity")
FILE_KEYS = FILE_KEYS + ("retention",)
FILE_KEYS = FILE_KEYS + ("interface",)
CONDUCTIVITY_BLOCKS = {"scaled": "conductivity", "formal": "conductivity_formal_charges"}
"""transport.json key of the conductivity block of each charge convention."""
COMPARED_SIGMA = f"sigma_EH_{COMPARISON_CHARGE_CONVENTION}_S_per_m"
"""The row key of the conductivity compared with experiment and used in ratios: Einstein–Helfand (it
includes ion correlations, which Nernst–Einstein leaves out), formal charges."""
NOT_DIFFUSIVE = "not diffusive"


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
    mechanics = _read(files.get("mechanics"), "mechanics", required=False)
    viscosity = _read(files.get("viscosity"), "viscosity", required=False)
    retention = _read(files.get("retention"), "retention", required=False)
    interface = _read(files.get("interface"), "interface", required=False)
    row: dict = {
        "system": name,
        "n_atoms": _value(manifest, "n_atoms"),
        "composition": _value(manifest, "composition", "counts"),
        "density_g_per_cm3": density["density_g_per_cm3"],
        "density_experiment_g_per_cm3": density["experiment"].get("value_g_per_cm3"),
        "density_deviation_percent": density["experiment"].get("deviation_percent"),
        "density_experiment_source": density["experiment"].get("source") or density["experiment"].get("note"),
        "charge_model": forcefield.get("charge_model"),
        "lj_overrides": forcefield.get("lj_overrides") or [],
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
            "seed", "percolating_axes", "percolation_rank", "elastically_effective_strands_mol_per_m3",
            "kinetic_chains", "degree_of_polymerisation", "undone_bonds", "conversion_without_cyclisation")}
        row["network"]["polymer_weight_fraction"] = _value(network, "composition", "realised_polymer_weight_fraction")
        row["network"]["monomer"] = _value(network, "monomer", "name")
        row["network"]["residues"] = sorted({name for states in (_value(network, "monomer", "residues") or {}).values()
                                             for name in states.values()})
        row["network"]["reaction"] = _value(network, "monomer", "reaction_type")
    if mechanics is not None:
        row.update(mechanics_fields(mechanics))
    if viscosity is not None:
        row.update(viscosity_fields(viscosity))
    if retention is not None:
        row.update(retention_fields(retention))
    if interface is not None:
        row.update(interface_fields(interface))
    row["kind"] = _value(manifest, "kind")
    row["reference_conductivity"] = reference_conductivity or None
    row.update(experiment_fields(reference_conductivity))
    row["conductivity_deviation_percent"] = None
    if transport is not None:
        row.update(transport_fields(transport))
        row["fit_window_ps"] = _value(transport, "fit_window_ps")
        row["transport_replicas"] = _value(transport, "replicas", "n") or 1
        row["coordination_Na"] = _value(transport, "solvation", "coordination_numbers")
        row["conductivity_deviation_percent"] = bulk_deviation_percent(row.get(COMPARED_SIGMA),
                                                                       lookup(CONDUCTIVITY_MS_PER_CM,
                                                                              reference_conductivity))
    if row.get("coordination_Na") and row.get("network"):
        row["coordination_Na_by_monomer"] = by_monomer(row["coordination_Na"], row["network"]["residues"],
                                                       row["network"]["monomer"])
    return row


def mechanics_fields(mechanics: dict) -> dict:
    """Young's modulus and stress at 30 % strain (Pa, value and stderr) beside the paper's and the network theory's."""
    rubber = mechanics.get("rubber_elasticity") or {}
    return {"youngs_modulus_Pa": _value(mechanics, "youngs_modulus_Pa"),
            "stress_at_30pct_strain_Pa": _value(mechanics, "stress_at_30pct_strain_Pa"),
            "stress_at_30pct_strain_paper_Pa": _value(mechanics, "paper", "stress_at_30pct_strain_Pa"),
            "rubber_elasticity_E_Pa": {"affine": 3 * rubber["affine_G_Pa"], "phantom": 3 * rubber["phantom_G_Pa"]}
            if rubber.get("affine_G_Pa") is not None and rubber.get("phantom_G_Pa") is not None else None,
            "mechanics_hold_time_independent": _value(mechanics, "hold_time_check", "hold_time_independent"),
            "mechanics_refusal": mechanics.get("refusal")}


def _mechanics_line(r: dict) -> str | None:
    """summary.md line of the compression result (MPa), with the paper's value and E = 3G of the network."""
    if r.get("mechanics_refusal"):
        return f"- compression: refused — {r['mechanics_refusal']}"
    modulus, at30 = r.get("youngs_modulus_Pa"), r.get("stress_at_30pct_strain_Pa")
    if not modulus:
        return None
    mpa = lambda block: (f"{block['value'] / 1e6:.3g} ± {block['stderr'] / 1e6:.2g} MPa"
                         if block and block.get("value") is not None else "n/a")
    rubber = r.get("rubber_elasticity_E_Pa") or {}
    return (f"- compression (z, lateral faces free): Young's modulus {mpa(modulus)}"
            f"{' (zero within 2 stderr)' if modulus.get('zero_within_2_stderr') else ''}; stress at 30 % strain "
            f"{mpa(at30)} vs paper ≈ {(r.get('stress_at_30pct_strain_paper_Pa') or 0) / 1e6:.2g} MPa; rubber "
            f"elasticity E = 3G: affine {(rubber.get('affine') or 0) / 1e6:.3g} MPa, phantom "
            f"{(rubber.get('phantom') or 0) / 1e6:.3g} MPa; stress independent of hold time: "
            f"{r.get('mechanics_hold_time_independent')}")


def viscosity_fields(viscosity: dict) -> dict:
    """Shear viscosity (Pa s, value and stderr) of the periodic-perturbation stage beside experiment."""
    reference = viscosity.get("reference") or {}
    return {"viscosity_Pa_s": _value(viscosity, "viscosity_Pa_s"),
            "viscosity_experiment_Pa_s": reference.get("value_Pa_s"),
            "viscosity_experiment_source": reference.get("source") or viscosity.get("reference_note"),
            "viscosity_deviation_percent": viscosity.get("deviation_percent"),
            "viscosity_linear_response": _value(viscosity, "linear_response", "consistent")}


def interface_fields(interface: dict) -> dict:
    """Na | system | Na cell (interface stage): first-layer composition and enrichment at 0 V, Na+ homogeneity
    index (value, stderr, random reference), electrode charge under the plating bias."""
    layer = interface.get("first_layer") or {}
    return {"interface_first_layer_composition": layer.get("composition"),
            "interface_first_layer_enrichment": layer.get("enrichment"),
            "interface_na_homogeneity_index": interface.get("na_homogeneity_index"),
            "interface_bias_V": interface.get("bias_V"),
            "interface_electrode_charge_e": interface.get("electrode_charge_e")}


def _interface_line(r: dict) -> str | None:
    """summary.md line of the interface stage."""
    if "interface_bias_V" not in r:
        return None
    composition = r.get("interface_first_layer_composition") or {}
    enrichment = r.get("interface_first_layer_enrichment") or {}
    top = sorted(composition.items(), key=lambda item: -item[1])[:4]
    layer = ", ".join(f"{name} {fraction:.2f} (x{enrichment.get(name) or 0:.2f})" for name, fraction in top)
    index = r.get("interface_na_homogeneity_index")
    homogeneity = ("no Na+ within the first layers" if not index else
                   f"{index['value']:.2f} ± {index['stderr']:.2f} (CV {index['cv']:.2f} vs random {index['random_cv']:.2f})")
    charge = (r.get("interface_electrode_charge_e") or {}).get("electrode0") or {}
    return (f"- Na metal interface: first layer {layer} (fraction, enrichment over bulk); Na⁺ homogeneity index "
            f"{homogeneity}; at {r['interface_bias_V']:g} V the negative electrode holds "
            f"{charge.get('value', float('nan')):.3f} ± {charge.get('stderr', float('nan')):.2g} e")


def retention_fields(retention: dict) -> dict:
    """Solvent retention (retention stage): ΔG_solv and p/p(reference) per solvent, evaporation rates, the neat
    solvent's check against experiment, and whether any of it is converged."""
    evaporation = retention.get("evaporation") or {}
    return {"retention_reference": retention.get("reference"),
            "retention_dG_solv_kJ_per_mol": {k: {"value": v["value"], "stderr": v["stderr"], "converged": v["converged"]}
                                             for k, v in (retention.get("solvation_free_energy_kJ_per_mol") or {}).items()},
            "retention_vapour_pressure_ratio": {k: {"value": v["value"], "stderr": v["stderr"]}
                                                for k, v in (retention.get("vapour_pressure_ratio") or {}).items()},
            "retention_evaporation_temperature_K": evaporation.get("temperature_K"),
            "retention_evaporation_status": evaporation.get("status"),
            "retention_evaporation_rate_per_ns_per_nm2": {
                k: {"value": v["value"], "stderr": v["stderr"], "events": v.get("events")}
                for k, v in (evaporation.get("rate_per_ns_per_nm2") or {}).items()},
            "retention_network_intact": evaporation.get("network_intact"),
            "retention_experiment": retention.get("experiment"),
            "retention_converged": retention.get("converged")}


def _retention_line(r: dict) -> str | None:
    """summary.md line of the retention stage."""
    if r.get("retention_dG_solv_kJ_per_mol") is None:
        return None
    dg = "; ".join(f"{k} {v['value']:.2f} ± {v['stderr']:.2f}" for k, v in r["retention_dG_solv_kJ_per_mol"].items())
    ratio = "; ".join(f"{k} {v['value']:.3g} ± {v['stderr']:.2g}" for k, v in r["retention_vapour_pressure_ratio"].items())
    rates = "; ".join(f"{k} {v['value']:.3g} ± {v['stderr']:.2g} ({v['events']} events)"
                      for k, v in r["retention_evaporation_rate_per_ns_per_nm2"].items()) or r.get("retention_evaporation_status")
    line = (f"- solvent retention: ΔG_solv {dg} kJ/mol; p/p({r['retention_reference']}) {ratio}; evaporation at "
            f"{_num(r.get('retention_evaporation_temperature_K'), '.0f')} K: {rates} /ns/nm²")
    if r.get("retention_network_intact") is not None:
        line += f"; network stayed in the film: {r['retention_network_intact']}"
    if r.get("retention_experiment"):
        e = r["retention_experiment"]
        line += (f"; {e['residue']} from experiment {e['value_kJ_per_mol']:.1f} ± {e['uncertainty_kJ_per_mol']:.1f} kJ/mol "
                 f"(deviation {e['deviation_kJ_per_mol']:+.1f})")
    return line + ("" if r.get("retention_converged") else " — NOT CONVERGED (run length; see retention.json)")


def _viscosity_line(r: dict) -> str | None:
    """summary.md line of the viscosity and of D(Na+) raw vs Yeh-Hummer-corrected."""
    eta = r.get("viscosity_Pa_s")
    if not eta or eta.get("value") is None:
        return None
    exp = r.get("viscosity_experiment_Pa_s")
    line = (f"- shear viscosity (periodic perturbation): {eta['value'] * 1e3:.3g} ± {eta['stderr'] * 1e3:.2g} mPa s"
            + (f" vs experiment {exp * 1e3:.3g} mPa s ({r['viscosity_deviation_percent']:+.0f} %)" if exp else
               " (no verified experiment)")
            + f"; two amplitudes consistent (linear response): {r.get('viscosity_linear_response')}")
    raw, corrected = r.get("D_Na_m2_per_s"), r.get("D_Na_m2_per_s_yeh_hummer")
    if is_shown(raw) and is_shown(corrected):
        line += (f"; D(Na⁺) raw {_pm(raw, 1e10)}, Yeh–Hummer-corrected {_pm(corrected, 1e10)} 1e-10 m²/s "
                 "(σ NE, Haven ratio and t(Na⁺) use the corrected D; σ EH is not corrected)")
    return line


def experiment_fields(key: str) -> dict:
    """The experimental conductivity named ``key`` (mS/cm), its source and the sample it was measured on."""
    reference = lookup(CONDUCTIVITY_MS_PER_CM, key)
    if key and reference is None:
        raise AnalysisError(f"--reference-conductivity {key!r}: no experimental conductivity reference of that "
                            f"name; known: {sorted(CONDUCTIVITY_MS_PER_CM)}, or '' for none")
    if reference is None:
        return {"conductivity_experiment_mS_per_cm": None, "conductivity_experiment_measured_in": None,
                "conductivity_experiment_source": "no verified experimental value"}
    return {"conductivity_experiment_mS_per_cm": reference.value,
            "conductivity_experiment_measured_in": reference.measured_in,
            "conductivity_experiment_source": reference.source}


def checked(block, diffusive, basis: str, loglog_slope=None) -> dict | None:
    """A transport estimate ``{value, stderr}`` with its diffusive check: ``diffusive`` (True only when the
    report says so; a report without the flag is not taken on trust), the log-log slope of the fit and the
    fits it rests on (``basis``). None when the report does not hold the estimate."""
    if not isinstance(block, dict):
        return None
    return {"value": block.get("value"), "stderr": block.get("stderr"), "diffusive": diffusive is True,
            "loglog_slope": loglog_slope, "diffusive_basis": basis}


def is_shown(block: dict | None) -> bool:
    """Whether an estimate may be shown (and compared) as a result: present, with a value, diffusive."""
    return isinstance(block, dict) and block.get("value") is not None and block.get("diffusive", True) is True


def _ion_species(transport: dict) -> list[str]:
    """Ion species of a transport report: those with a non-zero formal charge (else the conductivity's)."""
    species = transport.get("species") or {}
    ions = [n for n, sp in species.items() if sp.get("charge_formal_e")]
    return ions or sorted(_value(transport, "conductivity", "charges_e") or species)


def _ion_fits(species: dict, names: list[str]) -> dict:
    """{ion: {diffusive, loglog_slope}} of the self-diffusion fits (diffusive None when not reported)."""
    return {n: {"diffusive": _value(species, n, "diffusive"), "loglog_slope": _value(species, n, "loglog_slope")}
            for n in names}


def transport_fields(transport: dict) -> dict:
    """D(Na⁺), σ_NE and σ_EH in both charge conventions, Haven ratio and t(Na⁺), each with the diffusive
    check of the fits it rests on (module notes)."""
    species = transport.get("species") or {}
    cation = (_value(transport, "transference_number_Na", "cation_species") or ["NA"])[0]
    ions = _ion_species(transport)
    ions_diffusive = bool(ions) and all(_value(species, n, "diffusive") is True for n in ions)
    ion_basis = f"self-diffusion fits of {', '.join(ions)}"
    fields = {"D_Na_m2_per_s": checked(_value(species, cation, "D_m2_per_s"), _value(species, cation, "diffusive"),
                                       f"self-diffusion fit of {cation}", _value(species, cation, "loglog_slope")),
              "D_Na_m2_per_s_yeh_hummer": checked(_value(species, cation, "D_m2_per_s_yeh_hummer"),
                                                  _value(species, cation, "diffusive"),
                                                  f"self-diffusion fit of {cation}", _value(species, cation, "loglog_slope")),
              "sigma_NE_D_used": _value(transport, "conductivity", "nernst_einstein", "D_used"),
              "ion_fits": _ion_fits(species, ions)}
    for convention, key in CONDUCTIVITY_BLOCKS.items():
        block = transport.get(key) or {}
        eh = block.get("einstein_helfand") or {}
        fields[f"sigma_NE_{convention}_S_per_m"] = checked(_value(block, "nernst_einstein", "sigma_S_per_m"),
                                                           ions_diffusive, ion_basis)
        fields[f"sigma_EH_{convention}_S_per_m"] = checked(eh.get("sigma_S_per_m"), eh.get("diffusive"),
                                                           "collective charge-displacement (M(t)) fit",
                                                           eh.get("loglog_slope"))
    eh_scaled = fields["sigma_EH_scaled_S_per_m"]
    fields["haven_ratio"] = checked(transport.get("haven_ratio"), ions_diffusive and is_shown(eh_scaled),
                                    f"{ion_basis} and the M(t) fit")
    fields["transference_number_Na"] = checked(transport.get("transference_number_Na"), ions_diffusive, ion_basis)
    fields["comparison_charge_convention"] = COMPARISON_CHARGE_CONVENTION
    return fields


def bulk_deviation_percent(sigma_S_per_m: dict | None, reference: Reference | None) -> float | None:
    """100 (σ − σ_exp)/σ_exp for a diffusive σ (S/m) and a reference measured on bulk material, else None."""
    if reference is None or not reference.comparable_with_bulk or not is_shown(sigma_S_per_m):
        return None
    ours = sigma_S_per_m["value"] * S_PER_M_TO_MS_PER_CM
    return 100.0 * (ours - reference.value) / reference.value


def _estimate(block: dict | None) -> Estimate:
    return Estimate(block.get("value"), block.get("stderr")) if is_shown(block) else Estimate(None, None)


def _ratio_entry(numerator: dict, denominator: dict, what: str) -> dict:
    """The simulated ratio σ(a)/σ(b) of two rows' compared conductivities, with propagated error, or the
    reason it is not formed (a missing or non-diffusive σ)."""
    a, b = numerator.get(COMPARED_SIGMA), denominator.get(COMPARED_SIGMA)
    entry = {"numerator": numerator["system"], "denominator": denominator["system"], "what": what,
             "quantity": COMPARED_SIGMA}
    missing = [r["system"] for r, block in ((numerator, a), (denominator, b)) if not is_shown(block)]
    if missing:
        not_diffusive = [r["system"] for r, block in ((numerator, a), (denominator, b))
                         if isinstance(block, dict) and block.get("diffusive") is False]
        entry["simulation"] = {"value": None, "stderr": None}
        entry["note"] = (f"{NOT_DIFFUSIVE}: σ_EH of {', '.join(not_diffusive)}" if not_diffusive
                         else f"no σ_EH for {', '.join(missing)}")
    else:
        entry["simulation"] = ratio(_estimate(a), _estimate(b)).as_dict()
    return entry


def _reference_ratio(a: Reference, b: Reference) -> dict:
    """a/b of two references; its error propagated when both give one (an uncertainty 0 means none given)."""
    stderr = None
    if a.uncertainty > 0 and b.uncertainty > 0:
        stderr = ratio(Estimate(a.value, a.uncertainty), Estimate(b.value, b.uncertainty)).stderr
    return {"value": a.value / b.value, "stderr": stderr, "measured_in": a.measured_in,
            "source": f"{a.source} / {b.source}"}


def experiment_ratios(rows: list[dict]) -> list[dict]:
    """σ_a/σ_b of the systems whose references were measured on the same composite sample (the gels in
    their glass-fibre membrane), beside the experimental ratio, with the deviation when both are known."""
    by_key: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("reference_conductivity"):
            by_key.setdefault(r["reference_conductivity"], []).append(r)
    entries = []
    for key_a, key_b in same_sample_pairs(CONDUCTIVITY_MS_PER_CM, sorted(by_key)):
        exp = _reference_ratio(CONDUCTIVITY_MS_PER_CM[key_a], CONDUCTIVITY_MS_PER_CM[key_b])
        for row_a in by_key[key_a]:
            for row_b in by_key[key_b]:
                entry = _ratio_entry(row_a, row_b, f"experiment ratio {key_a}/{key_b} (the membrane cancels)")
                sim = entry["simulation"]["value"]
                entry["experiment"] = exp
                entry["deviation_percent"] = None if sim is None else 100.0 * (sim - exp["value"]) / exp["value"]
                entries.append(entry)
    return entries


def is_liquid_electrolyte(row: dict) -> bool:
    """A salted liquid electrolyte: manifest kind 'electrolyte' and a transport report (salted systems only)."""
    return row.get("kind") == "electrolyte" and "transport" in row["files"]


def gel_to_electrolyte_ratios(rows: list[dict]) -> list[dict]:
    """σ(GPE)/σ(LE) of every gel (kind 'gpe') against every salted liquid electrolyte of the campaign."""
    electrolytes = [r for r in rows if is_liquid_electrolyte(r)]
    return [_ratio_entry(gel, le, "gel / liquid electrolyte (simulation only)")
            for gel in rows if gel.get("kind") == "gpe" for le in electrolytes]


def conductivity_ratios(rows: list[dict]) -> list[dict]:
    """Every conductivity ratio the summary reports: against the experiment's ratio, then GPE/LE."""
    return experiment_ratios(rows) + gel_to_electrolyte_ratios(rows)


def by_monomer(numbers: dict, residues: list[str], monomer: str) -> dict:
    """Coordination numbers with the residues of one monomer's units summed into '<monomer>:<site kind>'.

    The coordination numbers of different residues count different sites around the same Na⁺, so the
    number of, e.g., amine N of any BMP unit within the first shell is their sum.
    A residue whose site has no value (None: no resolvable first shell, i.e. a structureless g(r) or too few
    pairs in it, analysis.solvation.first_minimum) adds nothing; the sum is None only when no residue of the
    monomer has a value, in whichever order the residues come (a demo PTPA gel gave TPM:O_ether None, then
    TPS:O_ether a number).
    """
    merged: dict = {}
    for site, value in numbers.items():
        residue, kind = site.split(":", 1)
        key = f"{monomer}:{kind}" if residue in residues else site
        if value is not None:
            merged[key] = (merged.get(key) or 0.0) + value
        else:
            merged.setdefault(key, None)
    return merged


def _pm(block, scale: float = 1.0, fmt: str = ".3g") -> str:
    """'value ± stderr' of a {value, stderr} block (or a bare number), scaled; '—' when absent; 'not
    diffusive (slope β)' for an estimate whose fit failed the diffusive check (module notes)."""
    if block is None:
        return "—"
    if isinstance(block, dict):
        if block.get("diffusive") is False:
            slope = block.get("loglog_slope")
            return NOT_DIFFUSIVE + ("" if slope is None else f" (slope {slope:.2f})")
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


MEMBRANE_MARK = "†"


def _experiment_sigma(row: dict) -> str:
    """The experimental σ (mS/cm), marked † when it was not measured on bulk material."""
    value = row.get("conductivity_experiment_mS_per_cm")
    if value is None:
        return "—"
    bulk = row.get("conductivity_experiment_measured_in") in (None, "bulk")
    return f"{value:.2f}" + ("" if bulk else f" {MEMBRANE_MARK}")


MS = S_PER_M_TO_MS_PER_CM
TABLE_HEAD = ("| system | atoms | ρ sim (g/cm³) | ρ exp (g/cm³) | Δρ (%) | D(Na⁺) (10⁻¹⁰ m²/s) | "
              "σ NE scaled (mS/cm) | σ NE formal (mS/cm) | σ EH scaled (mS/cm) | σ EH formal (mS/cm), compared | "
              "σ exp (mS/cm) | Haven | t(Na⁺) | Na⁺ coordination |")


def _table_line(r: dict) -> str:
    return (f"| {r['system']} | {_num(r['n_atoms'], 'd')} | {_pm(r['density_g_per_cm3'], fmt='.4f')} | "
            f"{_num(r['density_experiment_g_per_cm3'], '.3f')} | {_num(r['density_deviation_percent'], '+.1f')} | "
            f"{_pm(r.get('D_Na_m2_per_s'), 1e10)} | {_pm(r.get('sigma_NE_scaled_S_per_m'), MS)} | "
            f"{_pm(r.get('sigma_NE_formal_S_per_m'), MS)} | {_pm(r.get('sigma_EH_scaled_S_per_m'), MS)} | "
            f"{_pm(r.get('sigma_EH_formal_S_per_m'), MS)} | {_experiment_sigma(r)} | {_pm(r.get('haven_ratio'))} | "
            f"{_pm(r.get('transference_number_Na'))} | "
            f"{_coordination(r.get('coordination_Na_by_monomer') or r.get('coordination_Na'))} |")


TABLE_NOTE = (
    "Uncertainties are standard errors. ρ from the converged NPT window; transport from NVT production. "
    "σ NE: Nernst–Einstein from self-diffusion; σ EH: Einstein–Helfand (collective charge displacement). "
    "Both with the ions' scaled charges (those of the dynamics) and with their formal charges (the charge an ion "
    "carries); σ EH with formal charges is the one compared with experiment (the \"two surfaces\" argument, "
    "Blazquez et al., J. Chem. Theory Comput. 2023). \"not diffusive\": the fit found no diffusive regime "
    "(log-log MSD slope in brackets, 1 when diffusive), so no value is given and nothing is compared. "
    f"{MEMBRANE_MARK}: measured on a gel held in a glass-fibre membrane; compared only as a ratio (below). "
    "Na⁺ coordination: first-shell coordination numbers by site (residue:atom kind; ether O and anion centres "
    "in the per-system lists below). — means not computed or no verified experiment.")


def _ratio_line(entry: dict) -> str:
    sim = entry["simulation"]
    shown = _pm(sim, fmt=".2f") if sim.get("value") is not None else entry.get("note", "—")
    exp = entry.get("experiment")
    return (f"| σ({entry['numerator']}) / σ({entry['denominator']}) | {shown} | "
            f"{_pm(exp, fmt='.2f') if exp else '— (not measured)'} | "
            f"{_num(entry.get('deviation_percent'), '+.0f')} |")


def ratio_table(ratios: list[dict]) -> list[str]:
    """The conductivity-ratio section of summary.md (empty when there is no ratio to form)."""
    if not ratios:
        return []
    return ["## Conductivity ratios", "",
            "Ratios of σ EH with formal charges, errors propagated to first order. The experiment's gels were "
            "measured in a glass-fibre membrane whose geometric factor cancels in their ratio; σ(GPE)/σ(LE) is "
            "between our own systems.", "",
            "| ratio | simulation | experiment | deviation (%) |", "|---|---|---|---|",
            *[_ratio_line(e) for e in ratios], ""]


def _not_diffusive_line(r: dict) -> str | None:
    """'- not diffusive: NA slope 0.31, PF6 slope 0.40; M(t) (σ EH) slope 0.46', or None when all fits are."""
    parts = [f"{name} " + ("no diffusive flag in the report" if fit["diffusive"] is None
                           else f"slope {_num(fit['loglog_slope'], '.2f')}")
             for name, fit in (r.get("ion_fits") or {}).items() if fit["diffusive"] is not True]
    eh = r.get(COMPARED_SIGMA)
    if isinstance(eh, dict) and eh.get("diffusive") is False:
        parts.append(f"M(t) (σ EH) slope {_num(eh.get('loglog_slope'), '.2f')}")
    flagged = [k for k in ("D_Na_m2_per_s", "sigma_NE_formal_S_per_m", COMPARED_SIGMA, "haven_ratio",
                           "transference_number_Na") if isinstance(r.get(k), dict) and r[k]["diffusive"] is False]
    if not flagged:
        return None
    return f"- {NOT_DIFFUSIVE} (no value shown for {', '.join(flagged)}): " + "; ".join(parts)


def _system_section(r: dict) -> list[str]:
    """The per-system provenance lines of summary.md."""
    lines = [f"## {r['system']}", "",
             f"- composition: {json.dumps(r['composition'])}",
             f"- charge model: {r.get('charge_model') or 'not recorded'}; charges: {r['charges']}; ion charge scale "
             f"{r['ion_charge_scale']}",
             *[f"- LJ override: {o['residue']}/{o['atom_type']} σ {o['sigma_nm']:g} nm, ε {o['epsilon_kJ_per_mol']:g} "
               f"kJ/mol (GAFF2 {o['replaced_sigma_nm']:.4g} nm, {o['replaced_epsilon_kJ_per_mol']:.4g} kJ/mol), "
               f"source: {o['source']}" for o in r.get("lj_overrides") or []],
             f"- production: {r['production_ensemble']}, {r['temperature_K']:g} K, {r['production_ps']:g} ps, "
             f"time step {r['timestep_fs']:g} fs, hydrogen mass {r['hydrogen_mass_amu']:g} amu, "
             f"{r['ns_per_day']:.3g} ns/day on {r['platform']}",
             f"- density experiment: {r['density_experiment_source']}",
             f"- conductivity experiment: {r['conductivity_experiment_source']}"
             + (f" (measured on: {r['conductivity_experiment_measured_in']})"
                if r.get("conductivity_experiment_measured_in") else "")]
    if r.get("conductivity_deviation_percent") is not None:
        lines.append(f"- σ EH (formal charges) vs experiment: {_pm(r[COMPARED_SIGMA], MS)} vs "
                     f"{r['conductivity_experiment_mS_per_cm']:g} mS/cm, {r['conductivity_deviation_percent']:+.0f} %")
    not_diffusive = _not_diffusive_line(r)
    if not_diffusive:
        lines.append(not_diffusive)
    if r.get("fit_window_ps") is not None:
        lines.append(f"- diffusion fit window: {r['fit_window_ps']} ps; transport from "
                     f"{r['transport_replicas']} production replica(s)")
    if r.get("network"):
        n = r["network"]
        lines.append(f"- network: {n['monomer']} ({n['reaction']}), conversion {_num(n['conversion'], '.2f')} "
                     f"(target {_num(n['target_conversion'], '.2f')}; without cyclisation "
                     f"{_num(n.get('conversion_without_cyclisation'), '.2f')}) after {n['cycles']} cycles, "
                     f"{n.get('kinetic_chains')} kinetic chain(s) of mean DP {_num(n.get('degree_of_polymerisation'), '.1f')}, "
                     f"gel fraction {_num(n['gel_fraction'], '.2f')} (percolates along "
                     f"{', '.join(n.get('percolating_axes') or []) or 'no axis'}; rank {n.get('percolation_rank')}), "
                     f"effective strands {_num(n.get('elastically_effective_strands_mol_per_m3'), '.4g')} mol/m³, "
                     f"crosslink density {_num(n['crosslink_density_mol_per_m3'], '.4g')} mol/m³, polymer weight "
                     f"fraction {_num(n['polymer_weight_fraction'], '.3f')}, builder seed {n['seed']}")
    if r.get("coordination_Na"):
        lines.append(f"- Na⁺ coordination numbers: {json.dumps(r['coordination_Na'])}")
    if _mechanics_line(r):
        lines.append(_mechanics_line(r))
    if _viscosity_line(r):
        lines.append(_viscosity_line(r))
    if _retention_line(r):
        lines.append(_retention_line(r))
    if _interface_line(r):
        lines.append(_interface_line(r))
    return lines + [""]


def markdown(campaign: str, rows: list[dict], ratios: list[dict] | None = None) -> str:
    """summary.md: the side-by-side table, the conductivity ratios, then per-system provenance."""
    lines = [f"# gelmd summary: campaign `{campaign}`", "", TABLE_HEAD, "|---" * TABLE_HEAD.count("|", 1) + "|",
             *[_table_line(r) for r in rows], "", TABLE_NOTE, ""]
    lines += ratio_table(conductivity_ratios(rows) if ratios is None else ratios)
    for r in rows:
        lines += _system_section(r)
    return "\n".join(lines)


TRANSPORT_CSV = (("D_Na", "D_Na_m2_per_s", "m2_per_s"),
                 ("D_Na_yeh_hummer", "D_Na_m2_per_s_yeh_hummer", "m2_per_s"),
                 ("sigma_NE_scaled", "sigma_NE_scaled_S_per_m", "S_per_m"),
                 ("sigma_NE_formal", "sigma_NE_formal_S_per_m", "S_per_m"),
                 ("sigma_EH_scaled", "sigma_EH_scaled_S_per_m", "S_per_m"),
                 ("sigma_EH_formal", "sigma_EH_formal_S_per_m", "S_per_m"),
                 ("haven_ratio", "haven_ratio", ""),
                 ("transference_number_Na", "transference_number_Na", ""))
"""(CSV stem, row key, unit suffix) of each transport estimate: value, stderr and diffusive columns."""


def _transport_columns() -> tuple[str, ...]:
    columns = []
    for stem, _, unit in TRANSPORT_CSV:
        suffix = f"_{unit}" if unit else ""
        columns += [f"{stem}{suffix}", f"{stem}_stderr{suffix}", f"{stem}_diffusive"]
    return tuple(columns)


CSV_COLUMNS = ("system", "n_atoms", "kind", "density_g_per_cm3", "density_stderr_g_per_cm3",
               "density_experiment_g_per_cm3", "density_deviation_percent", *_transport_columns(),
               "comparison_charge_convention", "conductivity_experiment_mS_per_cm",
               "conductivity_experiment_measured_in", "conductivity_deviation_percent", "temperature_K",
               "production_ps", "charge_model", "ion_charge_scale", "ns_per_day", "viscosity_Pa_s", "viscosity_stderr_Pa_s",
               "viscosity_experiment_Pa_s", "viscosity_deviation_percent")


def _split(block) -> tuple:
    """(value, stderr) of an estimate block or a bare number."""
    if isinstance(block, dict):
        return block.get("value"), block.get("stderr")
    return block, None


def _transport_cells(r: dict) -> list:
    """value, stderr, diffusive of each transport estimate; value and stderr empty when not diffusive."""
    cells = []
    for _, key, _ in TRANSPORT_CSV:
        block = r.get(key)
        if block is None:
            cells += [None, None, None]
            continue
        value, err = _split(block) if is_shown(block) else (None, None)
        cells += [value, err, block.get("diffusive")]
    return cells


def csv_text(rows: list[dict]) -> str:
    """summary.csv: one row per system, values and standard errors in separate columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        rho, rho_err = _split(r["density_g_per_cm3"])
        writer.writerow([r["system"], r["n_atoms"], r.get("kind"), rho, rho_err, r["density_experiment_g_per_cm3"],
                         r["density_deviation_percent"], *_transport_cells(r), r.get("comparison_charge_convention"),
                         r["conductivity_experiment_mS_per_cm"], r.get("conductivity_experiment_measured_in"),
                         r.get("conductivity_deviation_percent"), r["temperature_K"], r["production_ps"],
                         r.get("charge_model"), r["ion_charge_scale"], r["ns_per_day"], *_split(r.get("viscosity_Pa_s")),
                         r.get("viscosity_experiment_Pa_s"), r.get("viscosity_deviation_percent")])
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
    ratios = conductivity_ratios(rows)
    out = Path(args.out_dir)
    write_json_atomic(out / "summary.json", {"schema": SCHEMA, "campaign": args.campaign,
                                             "comparison_charge_convention": COMPARISON_CHARGE_CONVENTION,
                                             "systems": rows, "conductivity_ratios": ratios})
    write_text_atomic(out / "summary.csv", csv_text(rows))
    # The Markdown is the workflow's final target: written last, so its presence means the rest is there.
    text = markdown(args.campaign, rows, ratios)
    write_text_atomic(out / "summary.md", text)
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())
