"""Parameterise a packed topology: PDB + residue templates -> System XML, initial State XML, report JSON.

    python -m forcefields.parameterise --topology system.pdb --templates forcefields/data/templates/PC.xml \
        --ion-residues NA PF6 --ion-charge-scale 0.8 --cutoff "1.0 nm" --out-dir results/demo/LE/parameterise

Templates are given as files (``--templates``) and/or found in ``--template-dir`` by the residue names of
the topology (``NAME.xml``; ions come from ions.xml). ``--periodic-bonds`` is for crosslinked networks,
which are bonded through the periodic boundaries.

Writes ``system.xml`` (OpenMM System, portable), ``state.xml`` (positions and box, no velocities) and
``forcefield.json`` (which parameters, charges and settings produced the System).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from common.errors import GelmdError, InputFileError
from common.io import write_json_atomic, write_text_atomic
from common.units import parse_quantity
from forcefields.gaff2 import GAFF2_VERSION
from forcefields.system_factory import NonbondedSettings, create_system, template_files_for

CHARGE_MODEL = "RESP (HF/6-31G*, two-stage restrained fit, pyscf) for molecules; Joung-Cheatham Na+, CL&P PF6-"


def parameterise(topology_pdb: Path, templates: list[Path], ion_residues: set[str], ion_charge_scale: float,
                 settings: NonbondedSettings, out_dir: Path, template_dir: Path | None = None) -> dict:
    if not topology_pdb.is_file():
        raise InputFileError(f"topology {topology_pdb} does not exist")
    for template in templates:
        if not template.is_file():
            raise InputFileError(f"residue template {template} does not exist")
    pdb = app.PDBFile(str(topology_pdb))
    if template_dir is not None:
        residues = {r.name for r in pdb.topology.residues()} - set(ion_residues)
        given = {t.stem for t in templates}
        templates = list(templates) + [t for t in template_files_for(residues - given, template_dir)]
    positions_nm = np.array(pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    system, report = create_system(pdb.topology, positions_nm, templates, ion_residues, ion_charge_scale, settings)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPeriodicBoxVectors(*pdb.topology.getPeriodicBoxVectors())
    context.setPositions(pdb.getPositions())
    state = context.getState(getPositions=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "system.xml", openmm.XmlSerializer.serialize(system))
    write_text_atomic(out_dir / "state.xml", openmm.XmlSerializer.serialize(state))
    summary = {
        "force_field": f"GAFF2 {GAFF2_VERSION} (openmmforcefields gaff-2.11.xml)",
        "charges": CHARGE_MODEL,
        "templates": [str(t) for t in templates],
        **asdict(report),
        "openmm_version": openmm.__version__,
    }
    write_json_atomic(out_dir / "forcefield.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", required=True, type=Path, help="packed PDB with CONECT bonds")
    parser.add_argument("--templates", nargs="*", default=[], type=Path, help="RESP residue-template ffxml files")
    parser.add_argument("--template-dir", type=Path, default=None,
                        help="folder of NAME.xml templates, picked by the topology's residue names")
    parser.add_argument("--periodic-bonds", action="store_true",
                        help="bonded forces use periodic boundaries (crosslinked networks)")
    parser.add_argument("--ion-residues", nargs="*", default=["NA", "PF6"])
    parser.add_argument("--ion-charge-scale", type=float, default=0.8)
    parser.add_argument("--cutoff", default="1.0 nm")
    parser.add_argument("--ewald-error-tolerance", type=float, default=5e-4)
    parser.add_argument("--hydrogen-mass", default="1.008 amu")
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    settings = NonbondedSettings(
        cutoff_nm=parse_quantity(args.cutoff, "length", "--cutoff"),
        ewald_error_tolerance=args.ewald_error_tolerance,
        hydrogen_mass_amu=parse_quantity(args.hydrogen_mass, "mass", "--hydrogen-mass"),
        periodic_bonds=args.periodic_bonds,
    )
    try:
        summary = parameterise(args.topology, args.templates, set(args.ion_residues), args.ion_charge_scale,
                               settings, args.out_dir, args.template_dir)
    except GelmdError as exc:
        print(f"forcefields.parameterise: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: summary[k] for k in ("n_atoms", "ion_charge_scale", "total_charge_e")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
