"""A finished validation system's properties recomputed with another viscosity report.

In a 2.25 nm box of neat PC the Yeh–Hummer term is about half of D(PC), so D follows whichever η is used. The
campaigns' own 80 ps viscosity runs carry 20-25 % errors at the small amplitude and the large one thins the
liquid; ``config/validation_viscosity.yaml`` measures η at 0.15 and 0.075 nm/ps² for 400 ps each. This runs the
validation stage's ``analysis.validation.validate_system`` on a finished system of one campaign (its density,
production, gas phase) with the ``viscosity.json`` of another and writes the report (neat liquids: D is
computed from the production as the stage does for a liquid without ions; an LE needs its transport stage):

    python benchmarks/revalidate_with_viscosity.py results/validation_diffusive/PC_scaled090_oplsO \\
        results/validation_viscosity/PC_scaled090_oplsO/viscosity/viscosity.json out.json [--reference PC]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.validation import validate_system  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system_dir", type=Path, help="results/<campaign>/<system> with a finished production")
    parser.add_argument("viscosity", type=Path, help="viscosity.json of analysis.viscosity")
    parser.add_argument("out", type=Path)
    parser.add_argument("--reference", default="PC", help="reference key of the liquid (analysis/reference_data.py)")
    parser.add_argument("--temperature-K", type=float, default=298.15)
    parser.add_argument("--dielectric-blocks", type=int, default=5)
    args = parser.parse_args(argv)
    folder = args.system_dir
    for needed in (folder / "production/production.json", args.viscosity):
        if not needed.is_file():
            raise SystemExit(f"revalidate_with_viscosity: {needed} does not exist")
    gas_phase = folder / "gas_phase/gas_phase.json"
    report = validate_system(folder.name, forcefield=folder / "parameterise/forcefield.json",
                             density=folder / "density.json", production=folder / "production/production.json",
                             transport=None, viscosity=args.viscosity, topology=folder / "build/system.pdb",
                             temperature_K=args.temperature_K, reference_key=args.reference,
                             gas_phase=gas_phase if gas_phase.is_file() else None,
                             dielectric_blocks=args.dielectric_blocks)
    args.out.write_text(json.dumps(report, indent=1))
    for name, value in report["properties"].items():
        ratio = (value.get("unverified_literature") or {}).get("ratio_model_to_claim")
        print(name, f"{value['value']:.4g} +- {value['stderr']:.2g}", f"deviation {value.get('deviation_percent')}",
              f"ratio to unverified literature {ratio}" if ratio else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
