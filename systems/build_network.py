"""Build a crosslinked gel polymer electrolyte (GPE) network from a config system of kind ``gpe``.

Usage::

    python -m systems.build_network --config config/demo.yaml --system GPE_PBMP --out-dir results/demo/GPE_PBMP/build

Reads a config YAML or the resolved config JSON the workflow writes (``results/<name>/config.resolved.json``):
either is validated and default-filled by the workflow's schema (:func:`systems.species.load_config`), so
both give the same build. Top-level ``seed``, ``temperature``, ``pressure``, ``forcefield``, ``engine``,
``species`` and ``systems.<name>`` are read; the keys of a gpe system, with defaults (the salt default is
the schema's, 0 mol/L, as for an electrolyte)::

    systems:
      GPE_PBMP:
        kind: gpe
        solvents: {PC: 0.95, FEC: 0.05}
        salt: {cation: Na+, anion: PF6-, concentration: "1 mol/L"}   # schema default "0 mol/L"
        n_solvent: 110
        monomer: BMP                       # a built-in (BMP, TPA) or a name declared under species:
        monomer_smiles: ""                 # optional: overrides the species SMILES (e.g. another diol core)
        reaction: ring_opening_aziridine   # ring_opening_aziridine | radical_acrylate
        polymer_weight_fraction: 0.10
        target_conversion: 0.85
        max_cycles: 40
        bond_cutoff: "0.5 nm"
        max_bond_cutoff: "1.2 nm"
        cutoff_step: "0.1 nm"
        min_ring_size: 6
        max_bond_length: "0.2 nm"
        relax_md: "1 ps"                   # NPT MD after each cycle (2 fs steps, H bonds constrained)
        pre_md: "2 ps"                     # NPT MD before the first cycle
        network_seed: null                 # default: the config seed

Outputs in ``--out-dir``: system.pdb / system.cif (topology with every bond), system.xml (System with
periodic bonded forces, no barostat), state.xml, network.json, and last manifest.json (``system``,
``kind: gpe``, ``n_atoms``, ``composition.counts`` per species incl. the monomer, ``network``, ``files``;
the same shape as the electrolyte builder's), written only after every check passed. Exit 1 with the
conversion reached when the target conversion cannot be reached (a network.partial.json is left for
diagnosis), and on bad input (monomer SMILES, reaction type) with a message naming the key.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from common.config import MONOMER_REACTIONS, GelmdConfig, read_yaml
from common.errors import ConfigError, GelmdError
from common.io import write_json_atomic
from common.units import parse_quantity
from systems.network.builder import (DEFAULT_POLYMER_WEIGHT_FRACTION, CrosslinkSettings, ElectrolyteSpec,
                                     MonomerSpec, NetworkBuildSpec, build_network)
from systems.network.relax import RELAX_TIMESTEP_PS, RelaxSettings
from systems.species import BUILTIN_SPECIES, Species, load_config

def spec_from_raw_config(raw: dict, system: str) -> NetworkBuildSpec:
    """NetworkBuildSpec of ``system`` from a config mapping: a raw YAML config or the resolved JSON.

    The mapping is validated and default-filled with the workflow's schema and checks
    (:func:`systems.species.load_config`), so a YAML config and the ``config.resolved.json`` the workflow
    writes from it give the same spec. Keys only the network builder reads (``target_conversion``, ...)
    default to the builder's values (module notes).
    """
    config = load_config(raw)
    return spec_from_config(config, system)


def spec_from_config(config: GelmdConfig, system: str) -> NetworkBuildSpec:
    """NetworkBuildSpec of the gpe ``system`` of a validated config."""
    if system not in config.systems:
        raise ConfigError(f"system {system!r} is not in the config; systems: {sorted(config.systems)}")
    sys_spec = config.systems[system]
    prefix = f"systems.{system}."
    if sys_spec.kind != "gpe":
        raise ConfigError(f"config key '{prefix}kind': {sys_spec.kind!r}; this builder needs 'gpe' "
                          "(electrolytes are built by systems.build_electrolyte)")
    s = config.raw["systems"][system]
    name = sys_spec.monomer or "BMP"
    declared = config.species.get(name)
    smiles = s.get("monomer_smiles") or (declared.smiles if declared else None) or \
        (BUILTIN_SPECIES[name].smiles if name in BUILTIN_SPECIES else None)
    if not smiles:
        raise ConfigError(f"config key '{prefix}monomer': {name!r} is neither a built-in monomer "
                          f"({[k for k, v in BUILTIN_SPECIES.items() if v.role == 'monomer']}) nor declared under "
                          "species:, and no monomer_smiles is given")
    reaction = s.get("reaction", MONOMER_REACTIONS.get(name))
    if reaction is None:
        raise ConfigError(f"config key '{prefix}reaction' is required for monomer {name!r}")
    relax_md_ps = parse_quantity(s.get("relax_md", "1 ps"), "time", prefix + "relax_md")
    pre_md_ps = parse_quantity(s.get("pre_md", "2 ps"), "time", prefix + "pre_md")
    relax = RelaxSettings(temperature_K=config.temperature_K, pressure_bar=config.pressure_bar,
                          md_steps=int(round(relax_md_ps / RELAX_TIMESTEP_PS)))
    length = lambda key, default: parse_quantity(s.get(key, default), "length", prefix + key)  # noqa: E731
    defaults = CrosslinkSettings()
    crosslink = CrosslinkSettings(
        target_conversion=float(s.get("target_conversion", defaults.target_conversion)),
        max_cycles=int(s.get("max_cycles", defaults.max_cycles)),
        bond_cutoff_nm=length("bond_cutoff", f"{defaults.bond_cutoff_nm} nm"),
        max_bond_cutoff_nm=length("max_bond_cutoff", f"{defaults.max_bond_cutoff_nm} nm"),
        cutoff_step_nm=length("cutoff_step", f"{defaults.cutoff_step_nm} nm"),
        min_ring_size=int(s.get("min_ring_size", defaults.min_ring_size)),
        max_bond_length_nm=length("max_bond_length", f"{defaults.max_bond_length_nm} nm"))
    electrolyte = ElectrolyteSpec(
        solvent_volume_fractions=dict(sys_spec.solvent_volume_fractions),
        cation=sys_spec.salt.cation, anion=sys_spec.salt.anion,
        salt_molarity_mol_per_L=sys_spec.salt.concentration_mol_per_L, n_solvent=sys_spec.n_solvent)
    platform = config.engine.platform
    residue = s.get("monomer_residue") or (declared.residue if declared else None) or name
    extra = tuple(Species(k, d.smiles, d.residue, d.role, d.density_g_per_cm3)
                  for k, d in sorted(config.species.items()) if d.role != "monomer")
    return NetworkBuildSpec(
        system=system, electrolyte=electrolyte, monomer=MonomerSpec(name, smiles, reaction, residue),
        polymer_weight_fraction=float(s.get("polymer_weight_fraction", DEFAULT_POLYMER_WEIGHT_FRACTION)),
        crosslink=crosslink, relax=relax,
        seed=int(s["network_seed"]) if s.get("network_seed") is not None else int(config.seed),
        ion_charge_scale=config.forcefield.ion_charge_scale, nonbonded_cutoff_nm=config.forcefield.nonbonded_cutoff_nm,
        pre_md_steps=int(round(pre_md_ps / RELAX_TIMESTEP_PS)),
        platform="CPU" if platform == "auto" else platform, cpu_threads=config.engine.cpu_threads,
        extra_species=extra, config_name=config.name)


def manifest_of(record: dict, spec: NetworkBuildSpec) -> dict:
    """manifest.json of a built network (same shape as the electrolyte builder's; details in network.json)."""
    composition = record["composition"]
    electrolyte = composition["electrolyte"]
    return {
        "config": spec.config_name,
        "system": spec.system,
        "kind": "gpe",
        "seed": spec.seed,
        "n_atoms": record["n_atoms"],
        "n_residues": record["n_residues"],
        "composition": {
            **{k: v for k, v in electrolyte.items() if k != "counts"},
            "counts": dict(composition["counts"]),
            "electrolyte_counts": dict(electrolyte["counts"]),
            "monomer": spec.monomer.name,
            "n_monomers": composition["n_monomers"],
            "target_polymer_weight_fraction": composition["target_polymer_weight_fraction"],
            "realised_polymer_weight_fraction": composition["realised_polymer_weight_fraction"],
        },
        "species": record["species"],
        "network": "network.json",
        "conversion": record["conversion"],
        "target_conversion": record["target_conversion"],
        "gel_fraction": record["gel_fraction"],
        "crosslink_density_mol_per_m3": record["crosslink_density_mol_per_m3"],
        "box_edge_nm": record["box_nm"],
        "density_g_per_cm3": record["density_g_per_cm3"],
        "residue_templates": record["templates"],
        "software": record["software"],
        "wall_time_s": record["wall_time_s"],
        "files": {**record["files"], "manifest": "manifest.json"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m systems.build_network", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True,
                        help="config YAML, or the resolved config JSON the workflow writes")
    parser.add_argument("--system", required=True, help="gpe system name in the config")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--template-dir", type=Path, default=None,
                        help="residue-template cache (default forcefields/data/templates)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        spec = spec_from_raw_config(read_yaml(args.config), args.system)
        kwargs = {"template_dir": args.template_dir} if args.template_dir else {}
        (args.out_dir / "manifest.json").unlink(missing_ok=True)  # a stale one must not look like success
        result = build_network(spec, args.out_dir, **kwargs)
    except GelmdError as exc:
        print(f"build_network: {exc}", file=sys.stderr)
        return 1
    r = result.record
    # written last: its presence means the build finished and passed every check
    write_json_atomic(args.out_dir / "manifest.json", manifest_of(r, spec))
    print(json.dumps({k: r[k] for k in ("system", "n_atoms", "conversion", "cycles", "gel_fraction",
                                        "crosslink_density_mol_per_m3", "wall_time_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
