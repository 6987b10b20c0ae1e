"""Residue templates (GAFF2 types + RESP charges) for every state of every residue of a monomer, cached.

For each residue kind and state (:mod:`systems.network.monomer`):

1. build the capped fragment (:func:`systems.network.monomer.capped_fragment`): every external bond capped
   with its partner element saturated by H (CH3 for C, NH2 for N);
2. GAFF2 types of the residue atoms from :func:`forcefields.gaff2_typer.assign_gaff2_types` on the capped
   fragment (so they see their real neighbour element);
3. two-stage RESP, HF/6-31G* on one ETKDG+MMFF94 conformer (:func:`forcefields.resp.resp_charges`), with
   each cap constrained to 0 e (a Lagrange constraint in the ESP fit and both RESP stages); the residue
   atoms therefore sum to exactly the integer 0 e and the caps are dropped with no charge to spread;
4. written with :func:`forcefields.residue_templates.write_residue_template` (exact integer sum in units of
   1e-6 e) with ``<ExternalBond>`` entries (one per external bond) and full provenance.

Cache: ``<template_dir>/<RESIDUE>.xml``; provenance ``network_template_key`` is a hash of everything that
decides the template (monomer SMILES, reaction type, residue kind, state, cap scheme, RESP settings,
scheme version). A file with the right key is reused; a missing one is generated (lazily, only the
residues of the monomer being built); a file with the same name but another key is an error (two monomers
would fight over one residue name), unless ``regenerate=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

from rdkit import Chem

from common.errors import ParameterError
from forcefields import resp as resp_mod
from forcefields.residue_templates import read_residue_templates, write_residue_template
from forcefields.system_factory import TEMPLATE_DIR
from systems.network.monomer import MonomerModel, PieceType, capped_fragment

logger = logging.getLogger(__name__)

SCHEME_VERSION = "gelmd-network-templates-1"
CAP_SCHEME = ("external bonds capped with the partner element saturated by H (CH3, NH2, OH); each cap "
              "constrained to 0 e in the ESP fit and both RESP stages; caps dropped")
RESP_SEED = resp_mod.DEFAULT_CONFORMER_SEED

STATE_MEANING = {
    "U": "unreacted group",
    "S": "chain start: X bonded to the next unit, Y closed by its end atom",
    "E": "chain end: Y bonded to the previous unit, X closed by its end atom",
    "M": "chain interior: X and Y both bonded to other units",
    "": "core piece (no reactive group)",
}


def template_key(model: MonomerModel, ptype: PieceType, state: str) -> str:
    payload = {
        "scheme": SCHEME_VERSION,
        "monomer_smiles": Chem.MolToSmiles(Chem.MolFromSmiles(model.smiles)),
        "reaction": model.reaction.name,
        "piece": ptype.key,
        "state": state,
        "residue": ptype.residue_names[state],
        "names": ptype.names,
        "caps": CAP_SCHEME,
        "typing": "gaff2 2.11 rules, parmchk2-style equivalents (forcefields.gaff2_typer.PARAMETER_EQUIVALENTS)",
        "resp": {"basis": resp_mod.DEFAULT_BASIS, "geometry": "mmff", "seed": RESP_SEED},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _existing_key(path: Path, residue: str) -> str | None:
    try:
        template = read_residue_templates(path)[residue]
    except (ParameterError, KeyError, OSError):
        return None
    return template.provenance.get("network_template_key")


def generate_template(model: MonomerModel, ptype: PieceType, state: str, path: Path) -> dict:
    """Type, RESP-fit and write the template of one residue state; returns a summary."""
    from forcefields.gaff2_typer import assign_gaff2_types

    residue = ptype.residue_names[state]
    frag, residue_idx, caps = capped_fragment(ptype, state)
    types_all = assign_gaff2_types(frag, parameterised=True)
    present = ptype.present(state)
    t0 = time.perf_counter()
    result = resp_mod.resp_charges(frag, total_charge=0, conformer_seed=RESP_SEED, geometry="mmff",
                                   charge_groups=[(cap, 0.0) for cap in caps])
    charges = [float(result.charges[i]) for i in residue_idx]
    names = [ptype.names[a] for a in present]
    elements = [ptype.elements[a] for a in present]
    types = [types_all[i] for i in residue_idx]
    bonds = [(ptype.names[i], ptype.names[j]) for i, j, _ in ptype.state_bonds(state)]
    externals = [ptype.names[a] for a, _ in ptype.externals(state)]
    provenance = {
        "network_template_key": template_key(model, ptype, state),
        "monomer": model.name,
        "monomer_smiles": model.smiles,
        "reaction_type": model.reaction.name,
        "reaction": model.reaction.description,
        "residue_kind": ptype.key,
        "state": state or "core",
        "state_meaning": STATE_MEANING[state],
        "capped_fragment_smiles": Chem.MolToSmiles(Chem.RemoveHs(frag)),
        "caps": CAP_SCHEME,
        **result.provenance(),
        "command": "python -m systems.build_network --templates-only (systems.network.templates)",
    }
    write_residue_template(path, residue, names, elements, types, charges, bonds, externals,
                           provenance=provenance, total_charge=0)
    summary = {"residue": residue, "state": state, "n_atoms": len(names), "fragment_atoms": frag.GetNumAtoms(),
               "rrms": result.rrms, "wall_time_s": time.perf_counter() - t0}
    logger.info("template %s (%s %s): %d atoms, fragment %d atoms, RESP RRMS %.4f, %.1f s", residue,
                model.name, state or "core", len(names), frag.GetNumAtoms(), result.rrms, summary["wall_time_s"])
    return summary


def ensure_templates(model: MonomerModel, template_dir: Path = TEMPLATE_DIR, *, regenerate: bool = False,
                     states: dict[str, tuple[str, ...]] | None = None) -> dict[str, Path]:
    """Residue name -> template file for every residue state of ``model``, generating missing ones."""
    template_dir = Path(template_dir)
    out: dict[str, Path] = {}
    for key, ptype in model.piece_types.items():
        for state in (states or {}).get(key, ptype.states):
            residue = ptype.residue_names[state]
            path = template_dir / f"{residue}.xml"
            want = template_key(model, ptype, state)
            have = _existing_key(path, residue) if path.is_file() else None
            if path.is_file() and have != want and not regenerate:
                raise ParameterError(
                    f"residue template {path} exists but was made for another monomer or scheme (key {have}, "
                    f"this monomer {model.name!r} needs {want}); give the monomer another residue name or "
                    "rebuild with regenerate=True")
            if have != want or regenerate:
                generate_template(model, ptype, state, path)
            out[residue] = path
    return out
