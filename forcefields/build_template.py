"""Build a cached residue template (GAFF2 types + RESP charges) for one molecule from its SMILES.

Usage::

    python -m forcefields.build_template --smiles 'CC1COC(=O)O1' --residue PC \\
        --out forcefields/data/templates/PC.xml [--charge 0] [--seed 42] [--geometry mmff|hf]

Steps: RDKit molecule with explicit hydrogens -> GAFF2 atom types (:func:`forcefields.gaff2_typer.
assign_gaff2_types`) -> one conformer (ETKDGv3 with ``--seed``, MMFF94; optionally HF/6-31G* optimised)
-> HF/6-31G* ESP on Merz–Kollman points -> two-stage RESP (:mod:`forcefields.resp`) -> residue template
(:mod:`forcefields.residue_templates`) with provenance -> self-check: OpenMM builds a System for one
molecule from gaff-2.11.xml + the new template, with every bond and angle parameterised and the total
charge equal to the molecular charge.

Atom names follow :func:`forcefields.molecules.atom_names` (element symbol plus a running index per element
in RDKit atom order: C1, C2, O1, H1, ...), unique within the residue. Charges are in e. The SMILES is read
by :func:`forcefields.molecules.molecule_from_smiles` (supported elements only, no radicals).
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from common.errors import GelmdError, ParameterError
from forcefields import resp as resp_mod
from forcefields.molecules import atom_names, molecule_from_smiles
from forcefields.residue_templates import (check_template_system, single_residue_topology,
                                           write_residue_template)

logger = logging.getLogger(__name__)


def software_versions(include_geometric: bool = False) -> dict[str, str]:
    """Versions of the programs that decide the charges and types, for provenance."""
    import numpy
    import openmm
    import pyscf
    import rdkit
    import scipy
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
           "rdkit": rdkit.__version__, "pyscf": pyscf.__version__, "openmm": openmm.__version__}
    for dist in ["openmmforcefields"] + (["geometric"] if include_geometric else []):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


@dataclass(frozen=True)
class TemplateBuild:
    """What :func:`build_template` produced."""

    path: Path
    residue: str
    smiles: str
    atom_names: tuple[str, ...]
    types: tuple[str, ...]
    charges: tuple[float, ...]
    resp: resp_mod.RespResult
    system_check: dict


def _resp2_provenance(gas: resp_mod.RespResult, water: resp_mod.RespResult, delta: float) -> dict[str, str]:
    """Provenance of a RESP2 template: both fits (method, ESP quality, charges) and the mixing."""
    prov = {**gas.provenance()}
    prov.update({
        "charge_method": f"RESP2 delta={delta:g}: (1-delta) q_gas + delta q_water of two two-stage RESP fits "
                         "(Schauperl et al. Commun. Chem. 3 (2020) 44; Bayly et al. J. Phys. Chem. 97 (1993) 10269)",
        "charge_model": f"resp2_d{delta:.2f}",
        "resp2_delta": f"{delta:g}",
        "qm_method": f"gas: {gas.qm_method}; water: {water.qm_method}",
        "qm_method_gas": gas.qm_method,
        "qm_method_water": water.qm_method,
        "scf_energy_hartree": f"gas {gas.scf_energy_hartree:.8f}, water {water.scf_energy_hartree:.8f}",
        "esp_rrms_resp": f"gas {gas.rrms:.5f}, water {water.rrms:.5f}",
        "esp_rrms_stage1": f"gas {gas.rrms_stage1:.5f}, water {water.rrms_stage1:.5f}",
        "esp_rms_resp_au": f"gas {gas.rms_au:.6f}, water {water.rms_au:.6f}",
        "esp_rrms_unrestrained": f"gas {gas.rrms_esp:.5f}, water {water.rrms_esp:.5f}",
        "charges_gas_e": " ".join(f"{q:+.6f}" for q in gas.charges),
        "charges_water_e": " ".join(f"{q:+.6f}" for q in water.charges),
        "references": gas.provenance()["references"] + "; " + resp_mod.RESP2_REFERENCE,
    })
    return prov


def build_template(smiles: str, residue: str, out: str | Path, *, charge: int | None = None,
                   seed: int = resp_mod.DEFAULT_CONFORMER_SEED, geometry: str = "mmff",
                   basis: str = resp_mod.DEFAULT_BASIS, density_fit: bool = True,
                   charge_model: str = "resp_hf631gs", resp2_delta: float = resp_mod.RESP2_DELTA) -> TemplateBuild:
    """Type, charge and write the residue template of ``smiles``; check it loads with gaff-2.11.xml.

    Args:
        smiles: the molecule (hydrogens are added).
        residue: residue name in the template (and in Topologies that use it).
        out: output ffxml path.
        charge: molecular charge in e (default: sum of the SMILES formal charges; must agree).
        seed: ETKDG conformer seed.
        geometry: "mmff" (ETKDG + MMFF94) or "hf" (+ HF optimisation, needs ``geometric``).
        basis: QM basis (RESP standard: 6-31G*).
        density_fit: RI-JK in the SCF.
        charge_model: "resp_hf631gs" (HF/6-31G* RESP) or "resp2" (RESP2 with ``resp2_delta``; ``basis`` is
            then only the geometry's, the ESPs are PW6B95/aug-cc-pVDZ gas and IEF-PCM water).
    """
    from forcefields.gaff2_typer import assign_gaff2_types

    mol = molecule_from_smiles(smiles, residue)
    elements = [a.GetSymbol() for a in mol.GetAtoms()]
    names = atom_names(elements)
    types = list(assign_gaff2_types(mol, parameterised=True))
    if len(types) != mol.GetNumAtoms():
        raise ParameterError(f"the GAFF2 typer returned {len(types)} types for {mol.GetNumAtoms()} atoms of "
                             f"{smiles}")
    if charge_model == "resp_hf631gs":
        result = resp_mod.resp_charges(mol, total_charge=charge, conformer_seed=seed, geometry=geometry,
                                       basis=basis, density_fit=density_fit)
        charges, model_prov = result.charges, {**result.provenance(), "charge_model": "resp_hf631gs"}
    elif charge_model == "resp2":
        result, water, charges = resp_mod.resp2_charges(mol, delta=resp2_delta, conformer_seed=seed,
                                                        geometry=geometry, density_fit=density_fit)
        model_prov = _resp2_provenance(result, water, resp2_delta)
    else:
        raise ParameterError(f"charge_model={charge_model!r} is not computed by build_template; allowed: "
                             "resp_hf631gs, resp2 (scaled templates are made by forcefields.residue_templates."
                             "scale_template_file from the resp_hf631gs ones)")
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    provenance = {
        "smiles": smiles,
        "residue": residue,
        **model_prov,
        "conformer_seed": str(seed),
        "geometry": geometry,
        "resp_restraint_a_stage1_au": f"{resp_mod.RESP_A_STAGE1:g}",
        "resp_restraint_a_stage2_au": f"{resp_mod.RESP_A_STAGE2:g}",
        "resp_restraint_b_e": f"{resp_mod.RESP_B:g}",
        "atom_typer": "forcefields.gaff2_typer.assign_gaff2_types (GAFF2 rules of antechamber ATOMTYPE_GFF2.DEF)",
        "wall_time_s": f"{result.wall_time_s:.1f}",
        "software": ", ".join(f"{k} {v}" for k, v in software_versions(geometry == "hf").items()),
        "command": f"python -m forcefields.build_template --smiles '{smiles}' --residue {residue} "
                   f"--out {out} --charge {result.total_charge} --seed {seed} --geometry {geometry}"
                   + (f" --charge-model resp2 --resp2-delta {resp2_delta:g}" if charge_model == "resp2" else "")
                   + (f" --basis '{basis}'" if basis != resp_mod.DEFAULT_BASIS else "")
                   + ("" if density_fit else " --no-density-fit"),
    }
    written = write_residue_template(out, residue, names, elements, types, charges, bonds,
                                     provenance=provenance, total_charge=result.total_charge)
    topology = single_residue_topology(residue, names, elements, bonds)
    check = check_template_system([out], topology)
    if abs(check["total_charge_e"] - result.total_charge) > 1e-6:
        raise ParameterError(f"{out}: the OpenMM System of one {residue} carries {check['total_charge_e']:.6f} e, "
                             f"expected {result.total_charge} e")
    return TemplateBuild(path=Path(out), residue=residue, smiles=smiles, atom_names=tuple(names),
                         types=tuple(types), charges=tuple(written), resp=result, system_check=check)


def _summary(build: TemplateBuild) -> str:
    r = build.resp
    lines = [f"{build.residue} ({build.smiles}) -> {build.path}",
             f"  {r.qm_method}",
             f"  {r.grid_method}",
             f"  ESP RRMS: unrestrained {r.rrms_esp:.4f}, RESP stage 1 {r.rrms_stage1:.4f}, "
             f"stage 2 {r.rrms:.4f} (RMS {r.rms_au:.5f} au); {r.wall_time_s:.1f} s",
             f"  OpenMM check: total charge {round(build.system_check['total_charge_e'], 6) + 0.0:+.6f} e, "
             f"{build.system_check['n_bonds']} bonds, {build.system_check['n_angles']} angles, "
             f"{build.system_check['n_torsions']} torsions",
             "  atom  type  charge/e"]
    lines += [f"  {n:<5} {t:<5} {q:+.6f}" for n, t, q in zip(build.atom_names, build.types, build.charges)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forcefields.build_template", description=__doc__.split("\n")[0])
    parser.add_argument("--smiles", required=True, help="molecule SMILES (hydrogens are added)")
    parser.add_argument("--residue", required=True, help="residue name of the template, e.g. PC")
    parser.add_argument("--out", required=True, type=Path, help="output ffxml path")
    parser.add_argument("--charge", type=int, default=None, help="molecular charge in e (default: formal)")
    parser.add_argument("--seed", type=int, default=resp_mod.DEFAULT_CONFORMER_SEED, help="ETKDG conformer seed")
    parser.add_argument("--geometry", choices=("mmff", "hf"), default="mmff",
                        help="conformer geometry: MMFF94 (default) or HF-optimised (needs geometric)")
    parser.add_argument("--basis", default=resp_mod.DEFAULT_BASIS, help="QM basis set (default 6-31G*)")
    parser.add_argument("--no-density-fit", action="store_true", help="exact integrals in the SCF")
    parser.add_argument("--charge-model", choices=("resp_hf631gs", "resp2"), default="resp_hf631gs",
                        help="HF/6-31G* RESP (default) or RESP2 (PW6B95/aug-cc-pVDZ gas + IEF-PCM water, mixed)")
    parser.add_argument("--resp2-delta", type=float, default=resp_mod.RESP2_DELTA,
                        help="RESP2 weight of the water-phase charges (Schauperl et al. 2020: 0.6)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        build = build_template(args.smiles, args.residue, args.out, charge=args.charge, seed=args.seed,
                               geometry=args.geometry, basis=args.basis, density_fit=not args.no_density_fit,
                               charge_model=args.charge_model, resp2_delta=args.resp2_delta)
    except GelmdError as exc:
        print(f"build_template: {exc}", file=sys.stderr)
        return 1
    print(_summary(build))
    return 0


if __name__ == "__main__":
    sys.exit(main())
