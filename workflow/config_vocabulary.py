"""The names a gelmd config may use, gathered from the packages that own them.

common/ imports none of our other packages, so :func:`common.config.load_config` is given this vocabulary:
the built-in species (systems/species.py), the ion residues with parameters (forcefields/data/ions.xml), the
shipped residue templates (forcefields/data/templates: the molecular ions an additive salt may use)
and the experimental reference keys (analysis/reference_data.py). The workflow (``common.smk``) and the
tests load configs through :func:`load_workflow_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from analysis.reference_data import CONDUCTIVITY_MS_PER_CM, DENSITY_G_PER_CM3
from common.config import ConfigVocabulary, GelmdConfig, load_config, load_config_files
from forcefields.ion_parameters import IONS_FFXML, ion_residues_with_parameters
from systems.species import BUILTIN_SPECIES, check_declared_species


def vocabulary() -> ConfigVocabulary:
    return ConfigVocabulary(
        species_roles={name: s.role for name, s in BUILTIN_SPECIES.items()},
        species_residues={name: s.residue for name, s in BUILTIN_SPECIES.items()},
        ion_residues_with_parameters=ion_residues_with_parameters(),
        ion_residues_with_templates=frozenset(p.stem for p in (IONS_FFXML.parent / "templates").glob("*.xml")),
        density_references=frozenset(DENSITY_G_PER_CM3),
        conductivity_references=frozenset(CONDUCTIVITY_MS_PER_CM),
    )


def load_workflow_config(raw: dict) -> GelmdConfig:
    """Validate a config mapping (schema, model, declared species' SMILES) into the typed model."""
    return load_config(raw, vocabulary(), check_declared_species)


def load_workflow_config_files(paths: Iterable[str | Path]) -> GelmdConfig:
    """Read YAML config files strictly (duplicate keys, syntax errors by file and line) and validate them."""
    return load_config_files(paths, vocabulary(), check_declared_species)


def main(argv: list[str] | None = None) -> int:
    """``python -m workflow.config_vocabulary FILE...``: check config files as the workflow will, before
    Snakemake reads them (its own YAML reader names neither the line of a syntax error nor a duplicate key)."""
    import argparse

    from common.cli import run_main

    parser = argparse.ArgumentParser(prog="python -m workflow.config_vocabulary",
                                     description="Validate gelmd config files (merged in order, as Snakemake does).")
    parser.add_argument("configs", nargs="+", help="config YAML files")
    args = parser.parse_args(argv)

    def body() -> None:
        config = load_workflow_config_files(args.configs)
        print(f"config {config.name!r}: valid ({len(config.systems)} systems: {', '.join(sorted(config.systems))})")

    return run_main("gelmd config check", body)


if __name__ == "__main__":
    raise SystemExit(main())
