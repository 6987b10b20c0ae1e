"""``python -m simulation.compress``: strain-controlled uniaxial compression (lateral faces free) of an equilibrated System.

Usage::

    python -m simulation.compress --system SYSTEM.xml --state STATE.xml --topology TOP.pdb \\
        --settings SETTINGS.json --system-name NAME [--network network.json] \\
        --max-strain 0.3 --strain-step 0.05 --hold "20 ps" --reference "10 ps" --ramp "1 ps" \\
        --sample-interval "0.05 ps" --friction "1 /ps" --barostat-interval 25 \\
        --out-samples compression.csv --report compression.json --log LOG

The protocol and the stress estimator are those of :mod:`simulation.deformation` (compression along z). The
run drops the System's constraints (:func:`simulation.system_prep.flexible_copy`) and uses the flexible time
step rule of :func:`simulation.protocol.flexible_npt_timestep_ps`; temperature, pressure, seeds, platform and
hydrogen masses come from SETTINGS.json.

``--network``: a gel's ``network.json``; a network that does not percolate along z (``percolating_axes``) is
refused, by name, before anything runs: it would carry no stress along the compression axis.

Outputs (the report last): ``--out-samples`` (CSV, :data:`simulation.deformation.SAMPLE_COLUMNS`, one row per
stress sample of every hold) and ``--report`` (JSON: reference box, settings, ramp rates, timings, seeds).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from typing import Sequence

from common.errors import SimulationError
from common.io import read_json, write_json_atomic, write_text_atomic
from common.units import parse_quantity
from simulation.cli import add_input_arguments, load_inputs, remove_outputs, run_cli
from simulation.deformation import SAMPLE_COLUMNS, CompressionSettings, compress
from simulation.platform import choose_platform
from simulation.protocol import FLEXIBLE_TIMESTEP_RULE, flexible_npt_timestep_ps
from simulation.reporters import RunLog
from simulation.system_prep import flexible_copy

REPORT_SCHEMA = "gelmd.simulation.compression/1"
AXIS = "z"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.compress", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--system-name", required=True, help="name of the system (for messages)")
    parser.add_argument("--network", default=None, help="network.json of a gel: must percolate along z")
    parser.add_argument("--record-refusal", action="store_true",
                        help="a gel that does not percolate along z is recorded as refused in the report (no MD, "
                             "exit 0) instead of an error")
    parser.add_argument("--max-strain", type=float, required=True, help="largest engineering strain (>= 0.3)")
    parser.add_argument("--strain-step", type=float, required=True, help="strain between holds")
    parser.add_argument("--hold", required=True, help='time at each strain, e.g. "20 ps"')
    parser.add_argument("--reference", required=True, help='all-axes NPT before the first hold, e.g. "10 ps"')
    parser.add_argument("--ramp", required=True, help='time over which each strain step is applied, e.g. "1 ps"')
    parser.add_argument("--sample-interval", required=True, help='time between stress samples, e.g. "0.05 ps"')
    parser.add_argument("--friction", required=True, help='Langevin friction, e.g. "1 /ps"')
    parser.add_argument("--barostat-interval", type=int, required=True, help="steps between lateral barostat moves")
    parser.add_argument("--out-samples", required=True, help="samples CSV")
    parser.add_argument("--report", required=True, help="run report JSON (written last)")
    return parser


def check_percolation(network_path: str | None, system_name: str) -> list[str] | None:
    """The network's ``percolating_axes``; SimulationError naming the system when z is not among them."""
    if network_path is None:
        return None
    network = read_json(network_path, "network report", invalid=SimulationError)
    axes = network.get("percolating_axes") if isinstance(network, dict) else None
    if not isinstance(axes, list):
        raise SimulationError(f"{system_name}: {network_path} has no 'percolating_axes' list")
    if AXIS not in axes:
        raise SimulationError(f"{system_name}: the network does not percolate along {AXIS} (percolating_axes {axes} in "
                              f"{network_path}); it carries no stress along the compression axis, so its compression "
                              "modulus would be the solvent's. Refused: build a network that spans the box")
    return axes


def strain_grid(max_strain: float, step: float) -> tuple[float, ...]:
    """0, step, 2 step, ..., max_strain; max_strain must be a whole number of steps."""
    n = round(max_strain / step) if step > 0 else 0
    if step <= 0 or n < 1 or abs(n * step - max_strain) > 1e-9:
        raise SimulationError(f"--max-strain {max_strain} must be a whole number (>= 1) of --strain-step {step}")
    return tuple(round(k * step, 12) for k in range(n + 1))


def samples_csv(samples: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SAMPLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in samples:
        writer.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def _refusal_report(args: argparse.Namespace, refusal: SimulationError) -> dict:
    """The report of a gel refused before any MD: it does not span the compression axis (named), no samples."""
    network = read_json(args.network, "network report", invalid=SimulationError)
    return {"schema": REPORT_SCHEMA, "system": args.system_name, "refused": str(refusal),
            "percolating_axes": network.get("percolating_axes"), "axis": AXIS,
            "inputs": {"system": args.system, "state": args.state, "topology": args.topology,
                       "settings": args.settings, "network": args.network}}


def _run(args: argparse.Namespace, log: RunLog) -> None:
    remove_outputs([args.report, args.out_samples])
    try:
        axes = check_percolation(args.network, args.system_name)
    except SimulationError as refusal:
        if not args.record_refusal or args.network is None:
            raise
        # recorded, not fatal: a gel that does not span z is a finding the summary shows by name
        log.message(f"compress: REFUSED, no MD run: {refusal}")
        write_text_atomic(args.out_samples, samples_csv([]))
        write_json_atomic(args.report, _refusal_report(args, refusal))
        return
    inputs = load_inputs(args, log)
    settings = inputs.settings
    _, flexible = flexible_copy(inputs.system, inputs.topology)
    timestep = flexible_npt_timestep_ps(settings.protocol.timestep_ps, flexible["lightest_constrained_atom_mass_amu"])
    compression = CompressionSettings(
        strains=strain_grid(args.max_strain, args.strain_step),
        hold_ps=parse_quantity(args.hold, "time", "--hold"),
        reference_ps=parse_quantity(args.reference, "time", "--reference"),
        ramp_ps=parse_quantity(args.ramp, "time", "--ramp"),
        sample_interval_ps=parse_quantity(args.sample_interval, "time", "--sample-interval"),
        timestep_ps=timestep, temperature_K=settings.temperature_K, pressure_bar=settings.pressure_bar,
        friction_per_ps=parse_quantity(args.friction, "rate", "--friction"),
        barostat_interval=args.barostat_interval, axis=AXIS,
        integrator_seed=settings.seed_for("compress-integrator"), barostat_seed=settings.seed_for("compress-barostat"))
    platform = choose_platform(settings.engine)
    log.message(f"platform: {json.dumps(platform.description)}")
    log.message(f"compress {args.system_name}: strains {list(compression.strains)} along {AXIS}, hold "
                f"{compression.hold_ps:g} ps, time step {timestep * 1000:g} fs (no constraints)")
    run = compress(inputs.system, inputs.state, compression, platform, log=log, topology=inputs.topology,
                   max_potential_rise_kJ_per_mol_per_atom=settings.blowup_max_potential_rise_kJ_per_mol_per_atom,
                   max_temperature_factor=settings.blowup_max_temperature_factor)
    report = {"schema": REPORT_SCHEMA, "system": args.system_name, **run.report,
              "percolating_axes": axes, "timestep_rule": FLEXIBLE_TIMESTEP_RULE,
              "protocol_timestep_ps": settings.protocol.timestep_ps,
              "hydrogen_mass_repartitioning": inputs.hmr, "platform": platform.description,
              "inputs": {**inputs.paths, "network": args.network}}
    write_text_atomic(args.out_samples, samples_csv(run.samples))
    write_json_atomic(args.report, report)
    log.message(f"compress: done in {report['wall_time_s']:.1f} s ({report['ns_per_day']:.3g} ns/day with the "
                "stress samples)")


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli("simulation.compress", _run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
