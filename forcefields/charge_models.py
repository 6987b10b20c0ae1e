"""Solvent charge models: where each model's residue templates live and how a scaled template is made.

Three models, chosen by ``forcefield.charge_model`` (or per system) and recorded in every result:

- ``resp_hf631gs``: two-stage RESP on the HF/6-31G* ESP (Bayly et al., J. Phys. Chem. 97 (1993) 10269), the
  Amber/GAFF convention. HF/6-31G* over-polarises on purpose (a water-like implicit polarisation): our PC
  carries 6.2 D against 4.9-5.0 D measured in the gas phase. Templates: ``forcefields/data/templates/``.
- ``resp2``: RESP2 (Schauperl et al., Commun. Chem. 3 (2020) 44): q = (1 - delta) q_gas + delta q_water of
  two RESP fits to PW6B95/aug-cc-pV(D+d)Z ESPs in vacuum and in an IEF-PCM water continuum (eps 78.36),
  delta = 0.6 by default (:func:`forcefields.resp.resp2_charges`). Templates:
  ``forcefields/data/templates/resp2_d<delta>/``.
- ``scaled``: the resp_hf631gs charges times ``solvent_charge_scale`` (0 < s < 1), the electronic-continuum
  idea applied to the solvent (dipole x s). Templates: ``forcefields/data/templates/scaled_<s>/`` when
  shipped, else made in the campaign from the resp_hf631gs ones with no QM
  (:func:`forcefields.residue_templates.scale_template_file`).

The model applies to molecules (solvents, declared molecular species); the ions keep their parameter set
scaled by ``forcefield.ion_charge_scale``; network units of gels keep resp_hf631gs (their templates are made
by the network builder).

    python -m forcefields.charge_models scale --template forcefields/data/templates/PC.xml --scale 0.8 \\
        --out results/validation/templates/scaled_0.80/PC.xml
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from common.cli import run_main
from common.errors import ParameterError

SHIPPED_TEMPLATE_DIR = Path(__file__).resolve().parent / "data" / "templates"
BASE_TAG = "resp_hf631gs"


def model_template_dir(tag: str, root: str | Path = SHIPPED_TEMPLATE_DIR) -> Path:
    """The folder of charge model ``tag``'s templates under ``root`` (resp_hf631gs: ``root`` itself)."""
    if not tag or "/" in tag or tag.startswith("."):
        raise ParameterError(f"charge-model tag {tag!r} is not allowed: e.g. resp_hf631gs, resp2_d0.60, scaled_0.80")
    return Path(root) if tag == BASE_TAG else Path(root) / tag


def shipped_template(tag: str, residue: str) -> Path | None:
    """The committed template of ``residue`` for model ``tag``, or None when none is shipped."""
    path = model_template_dir(tag) / f"{residue}.xml"
    return path if path.is_file() else None


def describe(tag: str) -> str:
    """One line naming the solvent charges of model ``tag`` (resp_hf631gs, resp2_d0.60, scaled_0.80), for results."""
    if tag == BASE_TAG:
        return "RESP (HF/6-31G*, two-stage restrained fit, pyscf)"
    if tag.startswith("resp2_d"):
        return (f"RESP2 (delta {tag[len('resp2_d'):]}: PW6B95/aug-cc-pV(D+d)Z RESP in vacuum and in IEF-PCM water, "
                "mixed; pyscf)")
    if tag.startswith("scaled_"):
        return f"RESP (HF/6-31G*, pyscf) times {tag[len('scaled_'):]}"
    raise ParameterError(f"charge-model tag {tag!r} is not known: resp_hf631gs, resp2_d<delta>, scaled_<scale>")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forcefields.charge_models",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    scale = sub.add_parser("scale", help="write a neutral template with its charges scaled")
    scale.add_argument("--template", required=True, type=Path, help="resp_hf631gs template (ffxml)")
    scale.add_argument("--scale", required=True, type=float, help="0 < scale <= 1")
    scale.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    def body() -> int:
        from forcefields.residue_templates import scale_template_file

        template = scale_template_file(args.template, args.out, args.scale)
        print(f"{template.name}: charges x {args.scale:g} -> {args.out}")
        return 0

    return run_main("forcefields.charge_models", body)


if __name__ == "__main__":
    raise SystemExit(main())
