"""``python -m simulation.equilibrate``: minimise, heat (NVT) and equilibrate (NPT) a System until its density converges.

Usage::

    python -m simulation.equilibrate --system SYSTEM.xml --state STATE.xml --topology TOP.pdb \\
        --settings SETTINGS.json --out-state OUT_STATE.xml --out-system OUT_SYSTEM.xml \\
        --report OUT.json --log LOG [--platform auto|CUDA|OpenCL|CPU|Reference]

Steps (see :mod:`simulation.protocol`): any barostat in the input System is removed and hydrogen masses
set to ``hydrogen_mass_amu`` (:mod:`simulation.system_prep`); L-BFGS minimisation; NVT heating from
``heating_start_temperature_K`` to ``temperature_K``; NPT blocks until the density rule is met; the box is
then set to the mean volume of the converged window.

Outputs (written atomically; earlier versions are deleted when the run starts, the report is written last):

- ``--out-system``: the System that ran, with the repartitioned hydrogen masses and *no* barostat, ready
  for NVT production;
- ``--out-state``: positions (unwrapped), velocities and box (at the mean equilibrated volume);
- ``--report``: JSON with every stage's results, the density series, the converged density
  (``density_g_per_cm3``, ``density_std_g_per_cm3``), ``density_convergence`` (the rule, the tolerance, and
  the converged block's check: quarter change, drift, slope with its correlation-corrected standard error),
  ``barostat`` (scaling mode, whether the NPT blocks ran
  without constraints, their time step and the rationale), HMR summary, platform and settings;
- ``--log``: ``#`` messages and the progress CSV rows of every stage.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Sequence

import numpy as np
from openmm import unit

from common.io import write_json_atomic
from simulation.cli import add_input_arguments, load_inputs, remove_outputs, run_cli
from simulation.platform import choose_platform
from simulation.protocol import run_equilibration
from simulation.reporters import RunLog
from simulation.state_io import write_state, write_system
from simulation.system_prep import box_volume_nm3, degrees_of_freedom, total_mass_amu

REPORT_SCHEMA = "gelmd.simulation.equilibration/1"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.equilibrate", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--out-state", required=True, help="equilibrated State XML")
    parser.add_argument("--out-system", required=True, help="System XML that ran (HMR applied, no barostat)")
    parser.add_argument("--report", required=True, help="equilibration report JSON")
    return parser


def _run(args: argparse.Namespace, log: RunLog) -> None:
    start = time.perf_counter()
    remove_outputs([args.report, args.out_state, args.out_system])
    inputs = load_inputs(args, log)
    settings = inputs.settings
    platform = choose_platform(settings.engine)
    log.message(f"platform: {json.dumps(platform.description)}")
    state, stages = run_equilibration(inputs.system, inputs.topology, inputs.state, settings, platform, log)
    box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer)
    npt = stages["npt"]
    report = {
        "schema": REPORT_SCHEMA,
        "density_g_per_cm3": npt["density_mean_g_per_cm3"],
        "density_std_g_per_cm3": npt["density_std_g_per_cm3"],
        "volume_nm3": box_volume_nm3(box),
        "box_vectors_nm": np.asarray(box).tolist(),
        "blocks_used": npt["blocks_used"],
        "density_convergence": {"rule": npt["convergence_rule"], "tolerance": npt["density_tolerance"],
                                "slope_significance": npt["slope_significance"],
                                "converged_block": npt["checks"][-1]},
        "n_particles": inputs.system.getNumParticles(),
        "total_mass_amu": total_mass_amu(inputs.system),
        "degrees_of_freedom": degrees_of_freedom(inputs.system),
        "hydrogen_mass_repartitioning": inputs.hmr,
        "barostats_removed_from_input": inputs.barostats_removed,
        "barostat": {"mode": npt["barostat"]["mode"],
                     "constraints_dropped_for_npt": npt["constraints_dropped_for_npt"],
                     "constraints_dropped": npt["barostat"]["constraints_dropped"],
                     "npt_timestep_ps": npt["timestep_ps"],
                     "protocol_timestep_ps": npt["protocol_timestep_ps"],
                     "timestep_rule": npt["timestep_rule"],
                     "rationale": npt["barostat"]["rationale"]},
        "hand_over": "box set to the mean volume of the second half of the converged NPT block; positions scaled "
                     "atom-wise, constraints and velocity constraints re-applied on the System that ran (also when "
                     "NPT ran without constraints), velocities otherwise kept",
        **stages,
        "platform": platform.description,
        "settings": json.loads(settings.to_json()),
        "inputs": inputs.paths,
        "outputs": {"state": str(args.out_state), "system": str(args.out_system)},
        "wall_time_s": time.perf_counter() - start,
    }
    write_system(inputs.system, args.out_system)
    write_state(state, args.out_state)
    write_json_atomic(args.report, report)
    log.message(f"equilibrate: done in {report['wall_time_s']:.1f} s; density {report['density_g_per_cm3']:.4f} "
                f"+- {report['density_std_g_per_cm3']:.4f} g/cm^3")


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.equilibrate", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
