"""Build a crosslinked gel polymer electrolyte (GPE) network from a config system of kind ``gpe``.

Usage (the workflow's ``build_system`` rule; ``config.resolved.json`` is the validated config it writes)::

    python -m systems.build_network --config results/demo/config.resolved.json --system GPE_PBMP \
        --out-dir results/demo/GPE_PBMP/build

The network settings are the typed :class:`common.config.NetworkSpec` of the system (keys, defaults and
descriptions in ``workflow/schemas/config.schema.yaml``: monomer, reaction, polymer_weight_fraction,
target_conversion, max_cycles, bond_cutoff, max_bond_cutoff, cutoff_step, min_ring_size, max_bond_length,
relax_md, pre_md, partner_choice, network_seed); the electrolyte it is swollen with is the system's solvents and salt.

Outputs in ``--out-dir``: system.pdb / system.cif (topology with every bond), system.xml (System with
periodic bonded forces, no barostat), state.xml, network.json, and last manifest.json (``system``,
``kind: gpe``, ``n_atoms``, ``composition.counts`` per species incl. the monomer, ``network``, ``files``;
the same shape as the electrolyte builder's), written only after every check passed. Exit 1 with the
conversion reached when the target conversion cannot be reached (a network.partial.json is left for
diagnosis), and on bad input (monomer SMILES, reaction type) with a message naming the key.

Resuming: a job killed mid-build (a scheduler time limit) is simply run again on the same folder. Each
attempt checkpoints after every crosslinking cycle (:mod:`systems.network.checkpoint`) and continues from
there; an attempt an earlier job finished is kept as it is (:func:`completed_attempt`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.cli import run_main
from common.config import HYDROGEN_MASS_AMU, GelmdConfig, read_resolved_config
from common.errors import ConfigError
from common.io import write_json_atomic
from common.seeds import derive_seed
from forcefields.system_factory import TEMPLATE_DIR
from systems.network.builder import (CrosslinkSettings, ElectrolyteSpec, MonomerSpec, NetworkBuildSpec,
                                     build_network)
from systems.network.checkpoint import CHECKPOINT_NAME, spec_key
from systems.network.errors import ConversionNotReachedError
from systems.network.growth import INITIATORS, InitiatorRecipe
from systems.network.relax import RELAX_TIMESTEP_PS, RelaxSettings

RELAX_TIMESTEP_HMR_PS = 0.004
"""Relaxation MD time step with hydrogen mass repartitioning (forcefield.hydrogen_mass above 1.008 amu)."""
from systems.composition import molarity_mol_per_L, solution_volume_nm3
from systems.species import Species, registry


def spec_from_config(config: GelmdConfig, system: str) -> NetworkBuildSpec:
    """NetworkBuildSpec of the gpe ``system`` of a validated config (every value from its typed model)."""
    sys_spec = config.system(system)
    if sys_spec.kind != "gpe" or sys_spec.network is None:
        raise ConfigError(f"config key 'systems.{system}.kind': {sys_spec.kind!r}; this builder needs 'gpe' "
                          "(electrolytes are built by systems.build_electrolyte)")
    net = sys_spec.network
    species = registry(config)
    hmr = config.forcefield.hydrogen_mass_amu > HYDROGEN_MASS_AMU + 1e-6
    timestep = RELAX_TIMESTEP_HMR_PS if hmr else RELAX_TIMESTEP_PS
    relax = RelaxSettings(temperature_K=config.temperature_K, pressure_bar=config.pressure_bar,
                          timestep_ps=timestep, md_steps=int(round(net.relax_md_ps / timestep)))
    crosslink = CrosslinkSettings(
        target_conversion=net.target_conversion, max_cycles=net.max_cycles, bond_cutoff_nm=net.bond_cutoff_nm,
        max_bond_cutoff_nm=net.max_bond_cutoff_nm, cutoff_step_nm=net.cutoff_step_nm,
        min_ring_size=net.min_ring_size, max_bond_length_nm=net.max_bond_length_nm,
        min_loop_units=net.min_loop_units, propagation_rounds=net.propagation_rounds,
        partner_choice=net.partner_choice)
    initiator = InitiatorRecipe(net.initiator, net.initiator_weight_fraction,
                                net.initiator_efficiency or INITIATORS[net.initiator][2])
    electrolyte = ElectrolyteSpec(
        solvent_volume_fractions=dict(sys_spec.solvent_volume_fractions),
        cation=sys_spec.salt.cation, anion=sys_spec.salt.anion,
        salt_molarity_mol_per_L=sys_spec.salt.concentration_mol_per_L, n_solvent=sys_spec.n_solvent)
    smiles = net.monomer_smiles or species[net.monomer].smiles
    extra = tuple(s for name, s in sorted(species.items()) if name in config.species and s.role != "monomer")
    return NetworkBuildSpec(
        system=system, electrolyte=electrolyte,
        monomer=MonomerSpec(net.monomer, smiles, net.reaction, net.monomer_residue),
        polymer_weight_fraction=net.polymer_weight_fraction, crosslink=crosslink, relax=relax,
        seed=net.network_seed if net.network_seed is not None else config.seed,
        ion_charge_scale=config.forcefield.ion_charge_scale,
        nonbonded_cutoff_nm=config.forcefield.nonbonded_cutoff_nm,
        pre_md_steps=int(round(net.pre_md_ps / timestep)), initiator=initiator,
        hydrogen_mass_amu=config.forcefield.hydrogen_mass_amu,
        platform=config.engine.platform, cpu_threads=config.engine.cpu_threads,
        deterministic=config.engine.deterministic,
        extra_species=extra, config_name=config.name)


def _realised_molarity(record: dict, spec: NetworkBuildSpec) -> dict:
    """Salt molarity after the build: per litre of the liquid (ideal mixing, the PF5 initiator's ion pairs
    gone) and per litre of the built gel box; density.json gives it at the equilibrated volume."""
    electrolyte = record["composition"]["electrolyte"]
    n_pairs = record["composition"]["counts"].get(spec.electrolyte.cation, 0)
    liquid = solution_volume_nm3(electrolyte["solvent_volume_nm3"], n_pairs,
                                 electrolyte["apparent_molar_volume_cm3_per_mol"] or 0.0)
    box = float(np.prod(record["box_nm"]))
    return {"value": molarity_mol_per_L(n_pairs, liquid), "stderr": None,
            "target": spec.electrolyte.salt_molarity_mol_per_L, "volume_nm3": liquid,
            "volume_source": "ideal mixing of the liquid: solvent volume + ion pairs x apparent molar volume",
            "per_litre_of_gel_at_build": molarity_mol_per_L(n_pairs, box),
            "ion_pairs": n_pairs,
            "ion_pairs_decomposed_by_initiator": record["composition"]["initiation"]["salt_ion_pairs_decomposed"]}


def attempt_seed(seed: int, attempt: int) -> int:
    """Seed of build attempt ``attempt`` (1-based): the configured seed first, then seeds derived from it."""
    return seed if attempt == 1 else derive_seed(seed, f"network build attempt {attempt}")


def requirement_met(record: dict, axes: Sequence[str]) -> bool:
    """Whether the network of a build record percolates along every axis of ``axes``."""
    return set(axes) <= set(record["percolating_axes"])


def completed_attempt(folder: Path, spec: NetworkBuildSpec) -> dict | None:
    """The record of an attempt that an interrupted job already finished in ``folder`` (its network.json,
    written last, is of this very spec and every file it lists is there), else None."""
    path = folder / "network.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("spec_key") != spec_key(spec):
        return None
    if not all((folder / name).exists() for name in record.get("files", {}).values()):
        return None
    logging.getLogger(__name__).info("attempt in %s was finished by an earlier job: kept", folder)
    return record


def _preference(required_axes: Sequence[str]):
    """Sort key of attempts none of which met the requirement: most required axes spanned, then the highest
    percolation rank, then spanning z (the axis the mechanics stage compresses), then the earliest."""
    def key(attempt: dict) -> tuple:
        axes = set(attempt["percolating_axes"])
        return (len(axes & set(required_axes)), attempt["percolation_rank"], "z" in axes, -attempt["attempt"])
    return key


def build_percolating(spec: NetworkBuildSpec, required_axes: Sequence[str], max_attempts: int, out_dir: Path,
                      template_dir: Sequence[Path]) -> dict:
    """Build until the network spans the box along ``required_axes`` (at most ``max_attempts`` builds).

    Why regrow: a macroscopic gel spans every direction, but a gel of 15 monomers in a 3 nm box samples its
    connectivity with finite-size scatter (the demo PBMP spans x, y and z in most builds and only two axes in
    some); such a network carries no stress along the missing axis and is not the material. Each attempt is
    built in its own sub-folder with its own seed (:func:`attempt_seed`); the first that meets the requirement
    is kept, else the best by :func:`_preference`. The kept build's files are
    moved into ``out_dir`` and its network.json gains ``build_attempts`` (seed, rank, axes, conversion, wall
    time of every attempt) and ``percolation_requirement`` (axes, met).
    """
    attempts, records, failures = [], {}, []
    for attempt in range(1, max_attempts + 1):
        folder = out_dir / f"attempt{attempt}"
        attempt_spec = dataclasses.replace(spec, seed=attempt_seed(spec.seed, attempt))
        started = time.perf_counter()
        try:
            record = completed_attempt(folder, attempt_spec)
            if record is None:
                if not (folder / CHECKPOINT_NAME).exists():  # a checkpoint is resumed by build_network
                    shutil.rmtree(folder, ignore_errors=True)
                record = build_network(attempt_spec, folder, template_dir=template_dir).record
        except ConversionNotReachedError as error:
            # growth that stalls below the target (living ends buried, no partner in reach) ends this attempt,
            # not the build: the next seed is tried, and the stalled attempt is recorded with its conversion
            failures.append({"attempt": attempt, "seed": attempt_spec.seed, "completed": False,
                             "conversion": error.conversion, "error": str(error)[:400],
                             "wall_time_s": round(time.perf_counter() - started, 1)})
            logging.getLogger(__name__).warning("attempt %d (seed %d) did not complete: %s", attempt,
                                                attempt_spec.seed, error)
            shutil.rmtree(folder, ignore_errors=True)
            continue
        records[attempt] = record
        met = requirement_met(record, required_axes)
        attempts.append({"attempt": attempt, "seed": attempt_spec.seed, "completed": True,
                         "percolation_rank": record["percolation_rank"],
                         "percolating_axes": record["percolating_axes"], "conversion": record["conversion"],
                         "requirement_met": met, "wall_time_s": record["wall_time_s"]})
        logging.getLogger(__name__).info("attempt %d (seed %d): percolating along %s%s", attempt, attempt_spec.seed,
                                         record["percolating_axes"] or "no axis",
                                         "" if met else f"; {list(required_axes)} required")
        if met:
            break
    if not attempts:
        raise ConversionNotReachedError(
            f"systems.{spec.system}: none of {max_attempts} build attempt(s) reached the target conversion "
            f"{spec.crosslink.target_conversion:.1%}: " + "; ".join(
                f"attempt {f['attempt']} (seed {f['seed']}) stopped at {f['conversion']:.1%}" for f in failures)
            + "; allowed: a lower target_conversion, more max_cycles or max_build_attempts",
            conversion=max(f["conversion"] for f in failures), cycles=0)
    kept = next((a for a in attempts if a["requirement_met"]), max(attempts, key=_preference(required_axes)))
    kept_folder = out_dir / f"attempt{kept['attempt']}"
    for entry in kept_folder.iterdir():
        target = out_dir / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        shutil.move(str(entry), str(target))
    for attempt in attempts:
        shutil.rmtree(out_dir / f"attempt{attempt['attempt']}", ignore_errors=True)
    record = records[kept["attempt"]]
    record["build_attempts"] = sorted(attempts + failures, key=lambda a: a["attempt"])
    record["wall_time_s_all_attempts"] = round(sum(a["wall_time_s"] for a in record["build_attempts"]), 1)
    record["percolation_requirement"] = {"axes": list(required_axes), "met": kept["requirement_met"],
                                         "kept_attempt": kept["attempt"]}
    write_json_atomic(out_dir / "network.json", record)
    return record


def manifest_of(record: dict, spec: NetworkBuildSpec) -> dict:
    """manifest.json of a built network (same shape as the electrolyte builder's; details in network.json)."""
    composition = record["composition"]
    electrolyte = composition["electrolyte"]
    return {
        "config": spec.config_name,
        "system": spec.system,
        "kind": "gpe",
        "seed": record.get("seed", spec.seed),
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
        "realised_molarity_mol_per_L": _realised_molarity(record, spec),
        "species": record["species"],
        "network": "network.json",
        "conversion": record["conversion"],
        "target_conversion": record["target_conversion"],
        "gel_fraction": record["gel_fraction"],
        "percolating_axes": record["percolating_axes"],
        "percolation_requirement": record.get("percolation_requirement"),
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
    parser.add_argument("--config", required=True, help="config.resolved.json written by the workflow")
    parser.add_argument("--system", required=True, help="gpe system name in the config")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--template-cache", nargs="+", type=Path, default=[TEMPLATE_DIR],
                        help="read-only residue-template folders, searched in order (default: the shipped "
                             "forcefields/data/templates); the templates used are copied into OUT_DIR/templates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    def body() -> None:
        config = read_resolved_config(args.config)
        spec = spec_from_config(config, args.system)
        network = config.system(args.system).network
        (args.out_dir / "manifest.json").unlink(missing_ok=True)  # a stale one must not look like success
        args.out_dir.mkdir(parents=True, exist_ok=True)
        record = build_percolating(spec, network.required_percolation_axes, network.max_build_attempts,
                                   args.out_dir, args.template_cache)
        # written last: its presence means the build finished and passed every check
        write_json_atomic(args.out_dir / "manifest.json", manifest_of(record, spec))
        print(json.dumps({k: record[k] for k in ("system", "n_atoms", "conversion", "cycles", "gel_fraction",
                                                 "percolating_axes", "percolation_requirement",
                                                 "crosslink_density_mol_per_m3", "wall_time_s")}))

    return run_main("systems.build_network", body)


if __name__ == "__main__":
    sys.exit(main())
