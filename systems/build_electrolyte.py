"""Build a liquid-electrolyte system: counts -> conformers -> packmol -> topology PDB + manifest JSON.

Counts come from :func:`systems.composition.molecule_counts` (salt molarity per litre of solution, the
salt's volume from its apparent molar volume); the packmol box holds the ideal-mixing solution volume at
``PACKING_DENSITY_FRACTION`` of the liquid density. ``manifest.json`` gives the composition and
``realised_molarity_mol_per_L`` at the ideal-mixing volume; the value at the equilibrated volume is
``realised_molarity_mol_per_L`` of the density analysis (``density.json``). A system with an ``additive_salt``
(the founding paper's LE(TEA)) also gets ``additive_salt`` in the manifest: its ions, which quaternary ammonium
the config chose for the paper's "TEA", its ion-pair count and its realised molarity (same solution volume).

Usage (the workflow's ``build_system`` rule; ``config.resolved.json`` is the validated config it writes)::

    python -m systems.build_electrolyte --config results/demo/config.resolved.json --system LE \
        --out-dir results/demo/LE/build
"""

from __future__ import annotations

import argparse
import json
import platform as _platform
from pathlib import Path

import numpy as np
import openmm
import packmol
from openmm import app, unit

from common.cli import run_main
from common.config import GelmdConfig, read_resolved_config
from common.errors import ConfigError
from common.io import atomic_path, write_json_atomic
from common.constants import AVOGADRO_PER_MOL, NM3_PER_CM3
from systems.composition import Composition, molecule_counts
from systems.packing import PackItem, pack_box
from systems.species import get_species, registry
from systems.structures import conformer_positions
from systems.topology import append_molecules

# Initial packing at this fraction of the ideal liquid density: packmol still packs the demo LE in seconds at
# its 2 Å tolerance, and NPT starts ~4 % below the liquid density instead of ~20 % (at 0.8 the demo LE needed
# three 50 ps NPT blocks; a barostat compresses a box by only a few per cent per 10 ps).
PACKING_DENSITY_FRACTION = 0.95


def build_electrolyte(config: GelmdConfig, system_name: str, out_dir: Path) -> dict:
    """Build ``system_name`` of ``config`` into ``out_dir`` (``system.pdb``, ``manifest.json``)."""
    spec = config.system(system_name)
    if spec.kind != "electrolyte":
        raise ConfigError(f"config key 'systems.{system_name}.kind': {spec.kind!r}; this builder builds kind "
                          "'electrolyte' (gels are built by systems.build_network)")
    species = registry(config)
    composition = molecule_counts(spec, species)
    seed = config.seed

    topology = app.Topology()
    items = []
    mass_g = 0.0
    for name, count in composition.counts.items():
        s = get_species(name, species)
        mol = s.mol
        append_molecules(topology, mol, s.residue, count)
        items.append(PackItem(name, count, conformer_positions(mol, seed, name), [a.GetSymbol() for a in mol.GetAtoms()]))
        mass_g += count * s.molar_mass_g_per_mol / AVOGADRO_PER_MOL
    box_edge_nm = (composition.solution_volume_nm3 / PACKING_DENSITY_FRACTION) ** (1.0 / 3.0)
    min_edge = 2 * config.forcefield.nonbonded_cutoff_nm + 0.1
    if box_edge_nm < min_edge:
        raise ConfigError(f"systems.{system_name}: the box ({box_edge_nm:.2f} nm) would be smaller than twice the "
                          f"cutoff ({config.forcefield.nonbonded_cutoff_nm:g} nm) at liquid density; raise n_solvent")
    positions = pack_box(items, box_edge_nm, seed, workdir=out_dir.parent if out_dir.parent.exists() else None)
    topology.setPeriodicBoxVectors(np.eye(3) * box_edge_nm * unit.nanometer)

    out_dir.mkdir(parents=True, exist_ok=True)
    pdb_path = out_dir / "system.pdb"
    with atomic_path(pdb_path) as tmp, open(tmp, "w") as handle:
        app.PDBFile.writeFile(topology, positions * unit.nanometer, handle, keepIds=False)

    manifest = {
        "config": config.name,
        "system": system_name,
        "kind": spec.kind,
        "seed": seed,
        "n_atoms": topology.getNumAtoms(),
        "n_molecules": topology.getNumResidues(),
        "composition": composition.as_dict(),
        "realised_molarity_mol_per_L": ideal_mixing_molarity(composition),
        **({"additive_salt": additive_record(composition)} if composition.additive else {}),
        "species": {name: {"smiles": get_species(name, species).smiles,
                           "residue": get_species(name, species).residue,
                           "count": count} for name, count in composition.counts.items()},
        "initial_box_edge_nm": box_edge_nm,
        "initial_density_g_per_cm3": mass_g / (box_edge_nm ** 3 / NM3_PER_CM3),
        "packing": {"tool": "packmol", "version": packmol.__version__, "pbc": True,
                    "tolerance_angstrom": 2.0, "density_fraction": PACKING_DENSITY_FRACTION},
        "software": {"openmm": openmm.__version__, "python": _platform.python_version()},
        "files": {"topology": pdb_path.name},
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def ideal_mixing_molarity(composition: Composition) -> dict:
    """The manifest's ``realised_molarity_mol_per_L``: the salt molarity of the rounded counts at the
    ideal-mixing solution volume (mol/L of solution), with no error bar; ``density.json`` repeats it at the mean
    equilibrated volume."""
    phi = composition.apparent_molar_volume_cm3_per_mol
    return {"value": composition.realised_salt_molarity_mol_per_L, "stderr": None,
            "target": composition.target_salt_molarity_mol_per_L, "volume_nm3": composition.solution_volume_nm3,
            "volume_source": "ideal mixing: pure-solvent volumes" + (
                "" if phi is None else f" + n_salt x apparent molar volume ({phi:.4g} cm^3/mol)") + (
                "" if composition.additive is None else " + the additive salt's (manifest additive_salt)"),
            "equilibrated": "realised_molarity_mol_per_L of density.json (mean volume of the converged NPT window)"}


PAPER_TEA_NOTE = (
    "The founding paper's reference electrolyte LE(TEA) is LE + 0.1 M of a nitrate salt it abbreviates 'TEA'; its "
    "text names tetramethylammonium nitrate (TMA+, the config default) while 'TEA' usually means tetraethylammonium "
    "(TEA+); the cation used here is the config's systems.<name>.additive_salt.cation")
"""Why the additive's cation is recorded: the paper's name and text disagree."""


def additive_record(composition: Composition) -> dict:
    """The manifest's ``additive_salt``: the second salt's ions (with the cation choice), its ion pairs and its
    molarity of the rounded counts at the ideal-mixing solution volume (mol/L of the solution of both salts)."""
    additive = composition.additive
    return {"cation": additive["cation"], "anion": additive["anion"], "n_pairs": additive["n_pairs"],
            "cation_choice": PAPER_TEA_NOTE,
            "realised_molarity_mol_per_L": {
                "value": additive["realised_molarity_mol_per_L"], "stderr": None,
                "target": additive["target_molarity_mol_per_L"], "volume_nm3": composition.solution_volume_nm3,
                "volume_source": "ideal mixing: pure-solvent volumes + n x apparent molar volume of each salt "
                                 f"(additive: {additive['apparent_molar_volume_cm3_per_mol']:.4g} cm^3/mol, "
                                 f"{additive['apparent_molar_volume_source']})"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m systems.build_electrolyte", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="config.resolved.json written by the workflow")
    parser.add_argument("--system", required=True, help="system name in the config")
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    def body() -> None:
        manifest = build_electrolyte(read_resolved_config(args.config), args.system, args.out_dir)
        print(json.dumps({k: manifest[k] for k in ("system", "n_atoms", "initial_box_edge_nm")}))

    return run_main("systems.build_electrolyte", body)


if __name__ == "__main__":
    raise SystemExit(main())
