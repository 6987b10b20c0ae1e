"""``python -m simulation.interface``: NVT of a Na | electrolyte | Na cell at a set potential difference.

Usage::

    python -m simulation.interface --system cell/system.xml --state cell/state.xml --topology cell/cell.pdb \\
        --settings SETTINGS.json --bias "0 V" --equilibration "20 ps" --production "40 ps" \\
        --frame-interval "1 ps" --timestep "2 fs" --out-dir interface/bias_0V --log LOG

The cell's ConstantPotentialForce holds the bottom slab (electrode 0) at -bias/2 and the top slab
(electrode 1) at +bias/2: at a positive bias the bottom slab is the negative electrode, where Na+ plates.
Minimise, equilibrate (Langevin, settings' temperature and friction), then produce with DCD frames and the
electrode charges (ConstantPotentialForce.getCharges) at every frame. Outputs: ``trajectory.dcd``,
``charges.csv`` (time, charge of each electrode in e), ``mean_charges.csv`` (mean charge of every particle:
the electrodes' solved ones and the fixed ones), ``run.json`` (written last: bias, potentials, run lengths, time step, temperature, ensemble, platform,
wall time).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

import numpy as np
import openmm
from openmm import unit

from common.constants import ELECTRON_VOLT_KJ_PER_MOL
from common.errors import ConfigError, SimulationError
from common.io import write_json_atomic, write_text_atomic
from common.units import parse_quantity
from simulation.cli import add_input_arguments, load_inputs, run_cli
from simulation.platform import choose_platform
from simulation.reporters import RunLog, interval_steps

REPORT_SCHEMA = "gelmd.simulation.interface/1"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulation.interface", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--bias", required=True, help='potential difference top - bottom slab, e.g. "1 V"')
    parser.add_argument("--equilibration", required=True, help='NVT before sampling, e.g. "20 ps"')
    parser.add_argument("--production", required=True, help='sampled NVT, e.g. "40 ps"')
    parser.add_argument("--frame-interval", required=True, help='time between frames, e.g. "1 ps"')
    parser.add_argument("--timestep", required=True, help='time step, e.g. "2 fs"')
    parser.add_argument("--out-dir", required=True, help="output folder")
    return parser


def _volts(text: str) -> float:
    value = text.strip()
    try:
        if not value.endswith("V"):
            raise ValueError
        return float(value[:-1])
    except ValueError:
        raise ConfigError(f"--bias {text!r}: give a potential difference in volts, e.g. '0 V' or '1.0 V'") from None


def electrode_force(system: openmm.System) -> openmm.ConstantPotentialForce:
    for force in system.getForces():
        if isinstance(force, openmm.ConstantPotentialForce):
            return force
    raise SimulationError("the System holds no ConstantPotentialForce (build the cell with systems.na_interface)")


def set_potentials(system: openmm.System, potentials_V: list[float]) -> None:
    """Set the electrodes' potentials (V; OpenMM takes kJ/mol per proton charge) before a Context is made."""
    force = electrode_force(system)
    if force.getNumElectrodes() != len(potentials_V):
        raise SimulationError(f"the cell has {force.getNumElectrodes()} electrodes; {len(potentials_V)} potentials given")
    for k, volts in enumerate(potentials_V):
        atoms, _, width, thomas_fermi = force.getElectrodeParameters(k)
        force.setElectrodeParameters(k, atoms, volts * ELECTRON_VOLT_KJ_PER_MOL, width, thomas_fermi)


def electrode_charges(force: openmm.ConstantPotentialForce, context: openmm.Context) -> tuple[list[float], np.ndarray]:
    """Total charge (e) of each electrode and the charges of all particles."""
    charges = np.array([q.value_in_unit(unit.elementary_charge) for q in force.getCharges(context)])
    totals = [float(charges[list(force.getElectrodeParameters(k)[0])].sum()) for k in range(force.getNumElectrodes())]
    return totals, charges


def _step(integrator: openmm.Integrator, n_steps: int, what: str) -> None:
    """``integrator.step`` whose blow-up (NaN coordinates, a constraint that cannot be met) is a SimulationError
    naming the run, so that the rule's log says why the job failed."""
    try:
        integrator.step(n_steps)
    except openmm.OpenMMException as exc:
        raise SimulationError(f"the Na interface cell blew up during {what}: {str(exc).strip()} "
                              "(cell.json records the relaxation it started from)") from exc


def run(args: argparse.Namespace, log: RunLog) -> None:
    inputs = load_inputs(args, log)
    settings = inputs.settings
    bias = _volts(args.bias)
    potentials = [-bias / 2.0, bias / 2.0]
    set_potentials(inputs.system, potentials)
    timestep = parse_quantity(args.timestep, "time")
    steps = {k: int(round(parse_quantity(getattr(args, k), "time") / timestep)) for k in ("equilibration", "production")}
    every = interval_steps(parse_quantity(args.frame_interval, "time"), timestep)
    choice = choose_platform(settings.engine)
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K, settings.protocol.friction_per_ps, timestep)
    integrator.setRandomNumberSeed(settings.seed_for(f"interface-{bias:g}V"))
    context = openmm.Context(inputs.system, integrator, choice.platform, choice.properties)
    context.setPeriodicBoxVectors(*inputs.state.getPeriodicBoxVectors())
    context.setPositions(inputs.state.getPositions())
    context.applyConstraints(1e-6)
    started = time.time()
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 100)  # the builder minimised already
    context.setVelocitiesToTemperature(settings.temperature_K, settings.seed_for(f"interface-velocities-{bias:g}V"))
    log.message(f"bias {bias:g} V: electrode potentials {potentials} V; equilibration {steps['equilibration']} steps")
    _step(integrator, steps["equilibration"], f"the {bias:g} V equilibration")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    force = electrode_force(inputs.system)
    rows, metal_sum, frames = [], None, 0
    dcd_handle = open(out / "trajectory.dcd", "wb")
    dcd = openmm.app.DCDFile(dcd_handle, inputs.topology, timestep * unit.picosecond, 0, every)
    for frame in range(steps["production"] // every):
        _step(integrator, every, f"the {bias:g} V production (frame {frame + 1})")
        state = context.getState(getPositions=True, getEnergy=True)
        dcd.writeModel(state.getPositions(), periodicBoxVectors=state.getPeriodicBoxVectors())
        totals, charges = electrode_charges(force, context)
        rows.append([(frame + 1) * every * timestep, *totals,
                     state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)])
        metal_sum = charges if metal_sum is None else metal_sum + charges
        frames += 1
    dcd_handle.close()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["time_ps", "electrode0_charge_e", "electrode1_charge_e", "potential_energy_kJ_per_mol"])
    writer.writerows(rows)
    write_text_atomic(out / "charges.csv", buffer.getvalue())
    mean = metal_sum / max(frames, 1)
    write_text_atomic(out / "mean_charges.csv", "particle,mean_charge_e\n" +
                      "".join(f"{i},{q:.8f}\n" for i, q in enumerate(mean)))
    write_json_atomic(out / "run.json", {
        "schema": REPORT_SCHEMA, "bias_V": bias, "electrode_potentials_V": potentials,
        "electrode_roles": ["bottom slab (negative at positive bias: Na plating side)", "top slab"],
        "ensemble": "NVT (Langevin middle)", "temperature_K": settings.temperature_K,
        "friction_per_ps": settings.protocol.friction_per_ps, "timestep_ps": timestep,
        "equilibration_ps": steps["equilibration"] * timestep, "production_ps": steps["production"] * timestep,
        "frame_interval_ps": every * timestep, "frames": frames, "hydrogen_mass_repartitioning": inputs.hmr,
        "platform": choice.description, "wall_time_s": time.time() - started,
        "constant_potential_method": str(force.getConstantPotentialMethod()),
        "inputs": inputs.paths,
    })
    log.message(f"bias {bias:g} V: {frames} frames in {time.time() - started:.1f} s")


def main(argv=None) -> int:
    return run_cli("simulation.interface", run, build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
