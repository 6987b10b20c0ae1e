"""Parameterise a topology: PDB + residue templates -> System XML, initial State XML, report JSON.

This module is the one place that builds an OpenMM System, for liquids and gels alike:
:func:`system_from_templates` (topology + template files/folders -> System) is what this CLI calls and what
the network builder calls between its crosslinking cycles (:mod:`systems.network.forcefield`).

    python -m forcefields.parameterise --topology system.pdb --template-dir forcefields/data/templates \
        --ion-residues NA PF6 --ion-charge-scale 0.8 --cutoff "1.0 nm" --out-dir results/demo/LE/parameterise

    python -m forcefields.parameterise --topology results/demo/GPE_PBMP/build/system.pdb \
        --template-dir results/demo/GPE_PBMP/build/templates forcefields/data/templates --periodic-bonds \
        --ion-residues NA PF6 --ion-charge-scale 0.8 --out-dir results/demo/GPE_PBMP/parameterise

Templates are given as files (``--templates``) and/or found by the residue names of the topology
(``NAME.xml``) in the ``--template-dir`` folders, searched in the order given (a gel's build output holds
the templates of its network units and molecules; ions come from ions.xml). ``--ion-residues`` names the
residues whose charges ``--ion-charge-scale`` scales (the workflow passes the config's cation and anion
residues). ``--periodic-bonds`` is for crosslinked networks, which are bonded through the periodic
boundaries.

Writes ``system.xml`` (OpenMM System, portable), ``state.xml`` (positions and box, no velocities) and
``forcefield.json`` (which parameters, charges, template files and their provenance produced the System).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
import openmm
from openmm import app, unit

from common.cli import run_main
from common.errors import InputFileError, ParameterError
from common.io import write_json_atomic, write_text_atomic
from common.units import parse_quantity
from forcefields import charge_models
from forcefields.gaff2 import GAFF2_VERSION
from common.config import LJOverride
from forcefields.lj_overrides import apply_lj_overrides, parse_overrides
from forcefields.residue_templates import read_residue_templates
from forcefields.ion_parameters import IONS_FFXML
from forcefields.system_factory import NonbondedSettings, SystemReport, create_system, template_files_for

PROVENANCE_KEYS = ("command", "smiles", "monomer", "monomer_smiles", "residue_kind", "state",
                   "network_template_key", "qm_method")


def charges_description(charge_model: str) -> str:
    """The charges a System carries, in words: the solvent model ``charge_model``, the network units, the ions."""
    return (f"solvent molecules: {charge_model} = {charge_models.describe(charge_model)}; network units: RESP "
            "(HF/6-31G*, two-stage restrained fit, pyscf); Joung-Cheatham Na+, CL&P PF6-")


def system_from_templates(topology: app.Topology, positions_nm: np.ndarray, *, ion_residues: set[str],
                          ion_charge_scale: float, settings: NonbondedSettings,
                          template_files: Sequence[Path] = (), template_dirs: Sequence[Path] = ()
                          ) -> tuple[openmm.System, SystemReport, list[Path]]:
    """System of ``topology`` from GAFF2, ions.xml and residue templates; returns (System, report, files).

    Residues not covered by ``template_files`` (by file name ``NAME.xml``) are looked up in
    ``template_dirs``, first folder first. ``ion_residues``: residues whose charges are scaled by
    ``ion_charge_scale``.
    """
    files = [Path(t) for t in template_files]
    for template in files:
        if not template.is_file():
            raise InputFileError(f"residue template {template} does not exist")
    if template_dirs:
        residues = {r.name for r in topology.residues()} - {t.stem for t in files}
        files += template_files_for(residues, list(template_dirs))
    system, report = create_system(topology, np.asarray(positions_nm), files, set(ion_residues), ion_charge_scale,
                                   settings)
    return system, report, files


def template_provenance(files: Sequence[Path]) -> dict[str, dict]:
    """For each template file: its path, SHA-256 and the provenance entries that say how it was made."""
    out = {}
    for path in files:
        try:
            templates = read_residue_templates(path)
        except ParameterError:
            templates = {}
        info = {"file": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
        for name, template in templates.items():
            info[name] = {k: template.provenance[k] for k in PROVENANCE_KEYS if k in template.provenance}
        out[Path(path).stem] = info
    return out


def template_charge_model(path: Path) -> str:
    """The charge-model tag a template records (``charge_model`` provenance; none recorded: resp_hf631gs)."""
    templates = read_residue_templates(path)
    tags = {t.provenance.get("charge_model", "resp_hf631gs") for t in templates.values()}
    return tags.pop() if len(tags) == 1 else ",".join(sorted(tags))


def check_charge_model(templates: Sequence[Path], charge_model: str) -> None:
    """Refuse a solvent template (given by file) whose recorded charge model is not ``charge_model``."""
    wrong = {str(t): template_charge_model(Path(t)) for t in templates}
    wrong = {k: v for k, v in wrong.items() if v != charge_model}
    if wrong:
        raise ParameterError(f"--charge-model {charge_model}: the templates {wrong} record another charge model "
                             "(provenance key charge_model); give the templates of that model")


def parameterise(topology_pdb: Path, templates: list[Path], ion_residues: set[str], ion_charge_scale: float,
                 settings: NonbondedSettings, out_dir: Path, template_dirs: Sequence[Path] | Path | None = None,
                 charge_model: str | None = None, lj_overrides: Sequence[LJOverride] = ()) -> dict:
    """Write system.xml, state.xml and forcefield.json of ``topology_pdb`` into ``out_dir``; returns the report.

    ``charge_model``: the solvent charge-model tag (forcefields.charge_models); the ``templates`` given by file
    must record it; it is written into forcefield.json. ``lj_overrides``: GAFF2 LJ parameters replaced for one
    atom type of a residue (forcefields.lj_overrides; residue templates or ions.xml), recorded with their source.
    """
    if charge_model is not None:
        check_charge_model(templates, charge_model)
    if not topology_pdb.is_file():
        raise InputFileError(f"topology {topology_pdb} does not exist")
    if isinstance(template_dirs, (str, Path)):
        template_dirs = [template_dirs]
    for folder in template_dirs or ():
        if not Path(folder).is_dir():
            raise InputFileError(f"template folder {folder} does not exist")
    pdb = app.PDBFile(str(topology_pdb))
    positions_nm = np.array(pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    system, report, files = system_from_templates(
        pdb.topology, positions_nm, ion_residues=ion_residues, ion_charge_scale=ion_charge_scale, settings=settings,
        template_files=templates, template_dirs=[Path(d) for d in template_dirs or ()])
    overridden = apply_lj_overrides(system, pdb.topology, [IONS_FFXML, *files], lj_overrides)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPeriodicBoxVectors(*pdb.topology.getPeriodicBoxVectors())
    context.setPositions(pdb.getPositions())
    state = context.getState(getPositions=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "system.xml", openmm.XmlSerializer.serialize(system))
    write_text_atomic(out_dir / "state.xml", openmm.XmlSerializer.serialize(state))
    summary = {
        "force_field": f"GAFF2 {GAFF2_VERSION} (openmmforcefields gaff-2.11.xml)",
        "charges": charges_description(charge_model or charge_models.BASE_TAG),
        "charge_model": charge_model or charge_models.BASE_TAG,
        "lj_overrides": overridden,
        "solvent_templates": {Path(t).stem: {"file": str(t), "charge_model": template_charge_model(Path(t))}
                              for t in templates},
        "templates": [str(t) for t in files],
        "template_dirs": [str(d) for d in template_dirs or ()],
        "template_provenance": template_provenance(files),
        **asdict(report),
        "openmm_version": openmm.__version__,
    }
    write_json_atomic(out_dir / "forcefield.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forcefields.parameterise", description=__doc__.splitlines()[0])
    parser.add_argument("--topology", required=True, type=Path, help="packed PDB with CONECT bonds")
    parser.add_argument("--templates", nargs="*", default=[], type=Path, help="RESP residue-template ffxml files")
    parser.add_argument("--template-dir", nargs="+", action="extend", type=Path, default=[],
                        help="folder(s) of NAME.xml templates, picked by the topology's residue names, searched "
                             "in order (e.g. a gel's build/templates, then forcefields/data/templates)")
    parser.add_argument("--periodic-bonds", action="store_true",
                        help="bonded forces use periodic boundaries (crosslinked networks)")
    parser.add_argument("--ion-residues", nargs="*", required=True,
                        help="residue names of the ions whose charges are scaled (from the config's cation and "
                             "anion species; may be empty)")
    parser.add_argument("--ion-charge-scale", type=float, default=0.8)
    parser.add_argument("--charge-model", default=None,
                        help="solvent charge-model tag (resp_hf631gs, resp2_d0.60, scaled_0.80): the --templates "
                             "must record it; written into forcefield.json")
    parser.add_argument("--lj-overrides", default="[]",
                        help="JSON list of {residue, atom_type, sigma_nm, epsilon_kJ_per_mol, source}: GAFF2 LJ "
                             "parameters replaced for one atom type of a residue (forcefields.lj_overrides)")
    parser.add_argument("--cutoff", default="1.0 nm")
    parser.add_argument("--ewald-error-tolerance", type=float, default=5e-4)
    parser.add_argument("--hydrogen-mass", default="1.008 amu")
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    def body() -> int:
        settings = NonbondedSettings(
            cutoff_nm=parse_quantity(args.cutoff, "length", "--cutoff"),
            ewald_error_tolerance=args.ewald_error_tolerance,
            hydrogen_mass_amu=parse_quantity(args.hydrogen_mass, "mass", "--hydrogen-mass"),
            periodic_bonds=args.periodic_bonds,
        )
        try:
            entries = json.loads(args.lj_overrides)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"--lj-overrides {args.lj_overrides!r} is not JSON: {exc}") from exc
        if not isinstance(entries, list):
            raise ParameterError(f"--lj-overrides {args.lj_overrides!r}: a JSON list is required")
        summary = parameterise(args.topology, args.templates, set(args.ion_residues), args.ion_charge_scale,
                               settings, args.out_dir, args.template_dir, charge_model=args.charge_model,
                               lj_overrides=parse_overrides(entries))
        print(json.dumps({k: summary[k] for k in ("n_atoms", "ion_charge_scale", "total_charge_e")}))
        return 0

    return run_main("forcefields.parameterise", body)

if __name__ == "__main__":
    raise SystemExit(main())
