"""Stage ``descriptors``: the DFT descriptors of a campaign's species beside the founding paper's.

    python -m descriptors.stage --config results/<c>/config.resolved.json --out-dir results/<c>/descriptors
                                [--cache-dir forcefields/data/descriptors]

Reads the committed cache (seconds); with ``descriptors.recompute`` it recomputes every species, with
``descriptors.compute_missing`` only those whose cached record is absent or stale (see
:mod:`descriptors.cache`). Species that are neither cached nor computed are listed under ``missing`` with
the reason; no value is ever filled in for them.

Outputs: ``descriptors.json`` (contract: ``species.<name>.{na_binding_eV, charge_transfer_e, lumo_eV,
binding_site}``, ``method``, ``paper_comparison.{binding,lumo,charge_transfer}.kendall_tau``),
``descriptors.csv`` (one row per species and site) and ``descriptors.png`` (ours beside the paper's).
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from pathlib import Path

from common.config import read_resolved_config
from common.io import atomic_path, write_json_atomic
from descriptors import cache
from descriptors.compare import PAPER, paper_comparison
from descriptors.compute import APPROXIMATIONS, get_or_compute
from descriptors.levels import PRODUCTION
from descriptors.species import PAPER_NAME, SPECIES, species_for_campaign

logger = logging.getLogger(__name__)

NOT_APPLICABLE = {"Na+": "the Na itself (the descriptors bind a Na atom to each molecule)"}


def campaign_species(config) -> list[str]:
    """Species names the config's systems use: solvents, salt ions, gel monomers (stable order)."""
    names: list[str] = []
    for name in sorted(config.systems):
        spec = config.systems[name]
        ions = [ion for salt in spec.salts for ion in (salt.cation, salt.anion)]
        for n in list(spec.solvent_volume_fractions) + ions + ([spec.monomer] if spec.monomer else []):
            if n not in names:
                names.append(n)
    return names


def method_record(level=PRODUCTION) -> dict:
    return {
        "level_of_theory": level.name, "level": level.record(),
        "program": "pyscf (RKS/UKS, RI-JK) + geomeTRIC (molecule geometries) + pyscf-dispersion (D3(BJ))",
        "binding": "Na atom (doublet, UKS) at every plausible site (amine N, carbonyl O, ester O, F, nitrate O, "
                   "ammonium face); Na-site distance scanned on the frozen optimised molecule; Boys-Bernardi "
                   "counterpoise; D3(BJ) on real atoms; strongest site reported (descriptors/binding.py)",
        "charge_transfer": "meta-Löwdin charge of Na in the complex at the strongest site (e; paper: Bader)",
        "lumo": "KS LUMO of the isolated optimised molecule (eV)",
        "approximations": list(APPROXIMATIONS),
        "cache": "forcefields/data/descriptors/<species>.json, valid while SMILES, charge, level, start geometry "
                 "and protocol version match (descriptors/cache.py)",
    }


def run(config_path: str | Path, out_dir: str | Path, cache_dir: str | Path = cache.DEFAULT_CACHE_DIR) -> dict:
    config = read_resolved_config(config_path)
    settings = config.descriptors
    used = campaign_species(config)
    wanted, unknown = species_for_campaign([n for n in used if n not in NOT_APPLICABLE], settings.extra_species)
    bad_extra = [n for n in settings.extra_species if n not in SPECIES]
    if bad_extra:
        from common.errors import ConfigError
        raise ConfigError(f"descriptors.extra_species: {bad_extra} not defined; defined: {sorted(SPECIES)}")
    backend = settings.backend
    species, missing, status = {}, {}, {}
    for name in wanted:
        t = time.perf_counter()
        try:
            record, how = get_or_compute(name, cache_dir, PRODUCTION, recompute=settings.recompute,
                                         backend=backend, allow_compute=settings.compute_missing)
        except Exception as exc:  # noqa: BLE001 - a failed species is reported, the others still are
            if settings.recompute or settings.compute_missing:
                raise
            record, how = None, f"{type(exc).__name__}: {exc}"
        if record is None:
            missing[name] = how
            continue
        status[name] = {"source": how, "seconds": round(time.perf_counter() - t, 2)}
        species[name] = {k: record[k] for k in ("na_binding_eV", "charge_transfer_e", "lumo_eV", "binding_site")} | {
            "homo_eV": record["homo_eV"], "description": record["description"], "smiles": record["smiles"],
            "charge_e": record["charge_e"], "sites": record["sites"],
            "dft_wall_s": record["wall_s"], "threads": record["threads"], "host": record["host"],
            "code_versions": record["code_versions"], "computed": record["date"],
            "cache_key": record["cache_key"]}
    for n in unknown:
        missing[n] = "no descriptor definition in descriptors/species.py"
    result = {
        "config": config.name,
        "species": species,
        "missing": missing,
        "not_applicable": {n: r for n, r in NOT_APPLICABLE.items() if n in used},
        "method": method_record(),
        "paper_comparison": paper_comparison(species, PAPER_NAME),
        "status": status,
        "units": {"na_binding_eV": "eV (negative = bound)", "charge_transfer_e": "e (Na -> molecule)",
                  "lumo_eV": "eV"},
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "descriptors.csv", species)
    _plot(out / "descriptors.png", result)
    write_json_atomic(out / "descriptors.json", result)
    return result


def _write_csv(path: Path, species: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["species", "site", "site_atom_index", "na_binding_cp_eV", "na_binding_raw_eV", "bsse_eV",
                    "charge_transfer_meta_lowdin_e", "charge_transfer_mulliken_e", "na_site_distance_angstrom",
                    "lumo_eV", "strongest"])
        for name, rec in species.items():
            for s in rec["sites"]:
                w.writerow([name, s["site"], s["site_atom_index"], s["na_binding_cp_eV"], s["na_binding_raw_eV"],
                            s["bsse_eV"], s["charge_transfer_meta_lowdin_e"], s["charge_transfer_mulliken_e"],
                            s["na_site_distance_angstrom"], rec["lumo_eV"], s["site"] == rec["binding_site"]])


def _plot(path: Path, result: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, what, label in zip(axes, ("binding", "lumo", "charge_transfer"),
                               ("Na binding energy / eV", "LUMO / eV", "charge transfer Na→M / e")):
        comp = result["paper_comparison"][what]
        names = list(dict.fromkeys(list(PAPER[what]) + list(comp["ours"])))
        x = range(len(names))
        ours = [comp["ours"].get(n, float("nan")) for n in names]
        paper = [PAPER[what].get(n, float("nan")) for n in names]
        ax.bar([i - 0.2 for i in x], ours, 0.4, label="this work (B3LYP-D3(BJ)/def2-SVP)")
        ax.bar([i + 0.2 for i in x], paper, 0.4, label="paper")
        ax.set_xticks(list(x), names)
        tau = comp.get("kendall_tau")
        ax.set_title(f"{label}\nKendall τ = {tau if tau is not None else 'n/a'} (n = {comp['n']})", fontsize=10)
        ax.axhline(0, color="k", lw=0.5)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m descriptors.stage", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="config.resolved.json written by the workflow")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--cache-dir", default=str(cache.DEFAULT_CACHE_DIR))
    p.add_argument("--log", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, filename=args.log, format="%(asctime)s %(name)s %(message)s")
    result = run(args.config, args.out_dir, args.cache_dir)
    print(f"descriptors: {len(result['species'])} species, missing {sorted(result['missing'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
