"""Build a crosslinked gel polymer electrolyte (GPE) network from a config system of kind ``gpe``.

Usage::

    python -m systems.build_network --config config/demo.yaml --system GPE_PBMP --out-dir results/demo/GPE_PBMP/build

Reads the raw YAML (top-level ``seed``, ``temperature``, ``pressure``, ``forcefield``, ``engine`` and
``systems.<name>``); the keys of a gpe system, with defaults::

    systems:
      GPE_PBMP:
        kind: gpe
        solvents: {PC: 0.95, FEC: 0.05}
        salt: {cation: Na+, anion: PF6-, concentration: "1 mol/L"}
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
periodic bonded forces, no barostat), state.xml, network.json. Exit 1 with the conversion reached when the
target conversion cannot be reached (a network.partial.json is left for diagnosis).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from common.config import read_yaml
from common.errors import ConfigError, GelmdError
from common.units import parse_quantity
from systems.network.builder import (CrosslinkSettings, ElectrolyteSpec, MonomerSpec, NetworkBuildSpec,
                                     build_network)
from systems.network.relax import RelaxSettings
from systems.species import BUILTIN_SPECIES

GPE_KEYS = {"kind", "solvents", "salt", "n_solvent", "monomer", "monomer_smiles", "reaction", "polymer_weight_fraction",
            "target_conversion", "max_cycles", "bond_cutoff", "max_bond_cutoff", "cutoff_step", "min_ring_size",
            "max_bond_length", "relax_md", "pre_md", "network_seed", "reference_density", "reference_conductivity",
            "viscosity", "monomer_residue"}


def spec_from_raw_config(raw: dict, system: str) -> NetworkBuildSpec:
    """NetworkBuildSpec from a raw config mapping (keys in the module notes)."""
    systems = raw.get("systems") or {}
    if system not in systems:
        raise ConfigError(f"system {system!r} is not in the config; systems: {sorted(systems)}")
    s = systems[system]
    prefix = f"systems.{system}."
    unknown = sorted(set(s) - GPE_KEYS)
    if unknown:
        raise ConfigError(f"config keys {[prefix + k for k in unknown]} are unknown; allowed: {sorted(GPE_KEYS)}")
    if s.get("kind") != "gpe":
        raise ConfigError(f"config key '{prefix}kind': {s.get('kind')!r}; this builder needs 'gpe'")
    name = s.get("monomer", "BMP")
    declared = (raw.get("species") or {}).get(name)
    smiles = s.get("monomer_smiles") or (declared or {}).get("smiles") or \
        (BUILTIN_SPECIES[name].smiles if name in BUILTIN_SPECIES else None)
    if not smiles:
        raise ConfigError(f"config key '{prefix}monomer': {name!r} is neither a built-in monomer "
                          f"({[k for k, v in BUILTIN_SPECIES.items() if v.role == 'monomer']}) nor declared under "
                          "species:, and no monomer_smiles is given")
    default_reaction = {"BMP": "ring_opening_aziridine", "TPA": "radical_acrylate"}.get(name)
    reaction = s.get("reaction", default_reaction)
    if reaction is None:
        raise ConfigError(f"config key '{prefix}reaction' is required for monomer {name!r}")
    salt = s.get("salt") or {}
    ff = raw.get("forcefield") or {}
    engine = raw.get("engine") or {}
    temperature = parse_quantity(raw.get("temperature", "298.15 K"), "temperature", "temperature")
    pressure = parse_quantity(raw.get("pressure", "1 bar"), "pressure", "pressure")
    relax_md_ps = parse_quantity(s.get("relax_md", "1 ps"), "time", prefix + "relax_md")
    pre_md_ps = parse_quantity(s.get("pre_md", "2 ps"), "time", prefix + "pre_md")
    relax = RelaxSettings(temperature_K=temperature, pressure_bar=pressure, md_steps=int(round(relax_md_ps / 0.002)))
    length = lambda key, default: parse_quantity(s.get(key, default), "length", prefix + key)  # noqa: E731
    crosslink = CrosslinkSettings(
        target_conversion=float(s.get("target_conversion", 0.85)), max_cycles=int(s.get("max_cycles", 40)),
        bond_cutoff_nm=length("bond_cutoff", "0.5 nm"), max_bond_cutoff_nm=length("max_bond_cutoff", "1.2 nm"),
        cutoff_step_nm=length("cutoff_step", "0.1 nm"), min_ring_size=int(s.get("min_ring_size", 6)),
        max_bond_length_nm=length("max_bond_length", "0.2 nm"))
    electrolyte = ElectrolyteSpec(
        solvent_volume_fractions=dict(s.get("solvents", {"PC": 0.95, "FEC": 0.05})),
        cation=salt.get("cation", "Na+"), anion=salt.get("anion", "PF6-"),
        salt_molarity_mol_per_L=parse_quantity(salt.get("concentration", "1 mol/L"), "concentration",
                                               prefix + "salt.concentration"),
        n_solvent=int(s.get("n_solvent", 110)))
    platform = engine.get("platform", "auto")
    return NetworkBuildSpec(
        system=system, electrolyte=electrolyte,
        monomer=MonomerSpec(name, smiles, reaction, s.get("monomer_residue") or (declared or {}).get("residue") or name),
        polymer_weight_fraction=float(s.get("polymer_weight_fraction", 0.10)), crosslink=crosslink, relax=relax,
        seed=int(s["network_seed"]) if s.get("network_seed") is not None else int(raw.get("seed", 2026)),
        ion_charge_scale=float(ff.get("ion_charge_scale", 0.8)),
        nonbonded_cutoff_nm=parse_quantity(ff.get("nonbonded_cutoff", "1.0 nm"), "length", "forcefield.nonbonded_cutoff"),
        pre_md_steps=int(round(pre_md_ps / 0.002)),
        platform="CPU" if platform == "auto" else platform, cpu_threads=int(engine.get("cpu_threads", 0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m systems.build_network", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="config YAML")
    parser.add_argument("--system", required=True, help="gpe system name in the config")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--template-dir", type=Path, default=None,
                        help="residue-template cache (default forcefields/data/templates)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        spec = spec_from_raw_config(read_yaml(args.config), args.system)
        kwargs = {"template_dir": args.template_dir} if args.template_dir else {}
        result = build_network(spec, args.out_dir, **kwargs)
    except GelmdError as exc:
        print(f"build_network: {exc}", file=sys.stderr)
        return 1
    r = result.record
    print(json.dumps({k: r[k] for k in ("system", "n_atoms", "conversion", "cycles", "gel_fraction",
                                        "crosslink_density_mol_per_m3", "wall_time_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
