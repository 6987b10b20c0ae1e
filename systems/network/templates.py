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

Where templates live: the shipped, reviewed templates in ``forcefields/data/templates`` (BMP: BMU, BMS, BME,
BMM; TPA: TPU, TPS, TPE, TPM, TPX) are a read-only cache. :func:`ensure_templates` copies the template of
every residue state a build needs into the build's own folder (``<out_dir>/templates/<RESIDUE>.xml``),
taken from the first cache folder that holds it with the right key, and generates (RESP) only those no
cache holds, into that same folder; it never writes into a cache folder. Provenance
``network_template_key`` is a hash of everything that decides the template (monomer SMILES, reaction type,
residue kind, state, cap scheme, RESP settings, scheme version). A cached file with the same residue name
but another key is an error (two monomers would fight over one residue name), unless ``regenerate=True``.

Regenerating the shipped cache is a maintainer's explicit act, with the command recorded in each file::

    python -m systems.network.templates --monomer BMP --smiles 'CC1CN1CCC(=O)OCCOC(=O)CCN1CC1C' \
        --reaction ring_opening_aziridine --residue BMP --out-dir forcefields/data/templates --regenerate
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

from rdkit import Chem

from common.cli import run_main
from common.errors import ParameterError
from common.io import atomic_path
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
        "command": regenerate_command(model, path.parent),
    }
    write_residue_template(path, residue, names, elements, types, charges, bonds, externals,
                           provenance=provenance, total_charge=0)
    summary = {"residue": residue, "state": state, "n_atoms": len(names), "fragment_atoms": frag.GetNumAtoms(),
               "rrms": result.rrms, "wall_time_s": time.perf_counter() - t0}
    logger.info("template %s (%s %s): %d atoms, fragment %d atoms, RESP RRMS %.4f, %.1f s", residue,
                model.name, state or "core", len(names), frag.GetNumAtoms(), result.rrms, summary["wall_time_s"])
    return summary


def regenerate_command(model: MonomerModel, out_dir: Path) -> str:
    """The command that (re)writes every template of ``model`` into ``out_dir``."""
    return (f"python -m systems.network.templates --monomer {model.name} --smiles '{model.smiles}' "
            f"--reaction {model.reaction.name} --residue {model.residue} --out-dir {out_dir} --regenerate")


def _cached(path: Path, residue: str, want: str, model: MonomerModel) -> bool:
    """True if ``path`` holds the template with key ``want``; ParameterError if it holds another one."""
    if not path.is_file():
        return False
    have = _existing_key(path, residue)
    if have != want:
        raise ParameterError(
            f"residue template {path} exists but was made for another monomer or scheme (key {have}, "
            f"this monomer {model.name!r} needs {want}); give the monomer another residue name or "
            "rebuild with regenerate=True")
    return True


def ensure_templates(model: MonomerModel, out_dir: Path, cache_dirs: Sequence[Path] = (TEMPLATE_DIR,), *,
                     regenerate: bool = False, states: dict[str, tuple[str, ...]] | None = None
                     ) -> dict[str, dict]:
    """Put the template of every residue state of ``model`` into ``out_dir``; residue -> what was done.

    Each template is kept if ``out_dir`` already holds it with the right key (a resumed build), else copied
    from the first of ``cache_dirs`` holding it (read-only), else generated into ``out_dir``.
    ``regenerate=True`` generates every one anew (the caches are not read). The value per residue:
    ``{"path": Path, "source": "<cache file>" | "generated" | "kept", "network_template_key": key}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    caches = [Path(d) for d in cache_dirs if Path(d).resolve() != out_dir.resolve()]
    done: dict[str, dict] = {}
    for key, ptype in model.piece_types.items():
        for state in (states or {}).get(key, ptype.states):
            residue = ptype.residue_names[state]
            target = out_dir / f"{residue}.xml"
            want = template_key(model, ptype, state)
            if not regenerate and target.is_file() and _existing_key(target, residue) == want:
                source = "kept"
            elif not regenerate and (cache := next((c / f"{residue}.xml" for c in caches
                                                    if _cached(c / f"{residue}.xml", residue, want, model)), None)):
                with atomic_path(target) as tmp:
                    shutil.copyfile(cache, tmp)
                source = str(cache)
            else:
                generate_template(model, ptype, state, target)
                source = "generated"
            done[residue] = {"path": target, "source": source, "network_template_key": want}
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """(Re)generate every residue template of one monomer into a folder (see the module notes)."""
    from systems.network.monomer import build_monomer_model

    parser = argparse.ArgumentParser(prog="python -m systems.network.templates",
                                     description="RESP residue templates of every unit state of a monomer")
    parser.add_argument("--monomer", required=True, help="monomer name, e.g. BMP")
    parser.add_argument("--smiles", required=True, help="monomer SMILES")
    parser.add_argument("--reaction", required=True, help="reaction type, e.g. ring_opening_aziridine")
    parser.add_argument("--residue", default=None, help="residue-name stem (default: the monomer name)")
    parser.add_argument("--out-dir", required=True, type=Path, help="folder the templates are written to")
    parser.add_argument("--cache-dir", nargs="*", type=Path, default=[],
                        help="read-only folders to copy templates with the right key from (default: none)")
    parser.add_argument("--regenerate", action="store_true", help="run RESP for every state, even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    def body() -> int:
        model = build_monomer_model(args.monomer, args.smiles, args.reaction, args.residue or args.monomer)
        done = ensure_templates(model, args.out_dir, args.cache_dir, regenerate=args.regenerate)
        for residue, info in done.items():
            print(f"{residue}: {info['path']} ({info['source']})")
        return 0

    return run_main("systems.network.templates", body)


if __name__ == "__main__":
    sys.exit(main())
