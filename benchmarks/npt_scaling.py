"""Barostat scaling modes compared: is atom-wise NPT without constraints unbiased?

    python benchmarks/npt_scaling.py [--system n2|water|both] [--equil-ps 20] [--sample-ps 40] [--seeds 2]

For each system the same start (minimised) runs NPT three ways, on the CPU platform (2 threads):

* ``molecular``: the constrained System, molecular centres scaled (molecules rigid) — the reference;
* ``atomwise-flexible``: what :func:`simulation.protocol.equilibrate_npt` does for a percolating System,
  atom-wise scaling on :func:`simulation.system_prep.flexible_copy` (constraints replaced by their harmonic
  bond terms) at the shorter flexible time step;
* ``molecular-flexible``: molecular scaling of the flexible copy at the flexible time step — the same
  Hamiltonian as ``atomwise-flexible`` with an unbiased move, the exact control (flexible water is a
  different model from O-H-constrained water and has its own density);
* ``atomwise-constrained``: atom-wise scaling of the constrained System (the biased move that
  ``add_barostat`` now warns about), for comparison.

Systems: ``n2`` — 216 two-centre LJ N2 molecules, 77 K, 1 bar (N-N constrained + harmonic term,
k = 1e5 kJ/mol/nm^2; protocol step 4 fs); ``water`` — 200 TIP3P-FB waters, O-H constrained with their
harmonic terms kept (``flexibleConstraints``), flexible angle, PME, 300 K, 1 bar (protocol step 2 fs).

Printed: per mode and seed the mean density over the sampling window (after ``--equil-ps``), its standard
error from block averages (blocks of ``--block-ps``), and per mode the mean over seeds with its standard
error. The flexible and molecular densities should agree within the errors (the flexible model's density
differs from the constrained one only through the bond-length fluctuations, which are tiny).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/testsystems.py

import openmm  # noqa: E402
from openmm import unit  # noqa: E402

import testsystems as ts  # noqa: E402
from simulation.platform import choose_platform  # noqa: E402
from simulation.protocol import equilibrate_npt, flexible_npt_timestep_ps, minimise  # noqa: E402
from simulation.system_prep import add_barostat, density_g_per_cm3, flexible_copy, total_mass_amu  # noqa: E402

CPU = choose_platform(platform="CPU", cpu_threads=2)
SYSTEMS = {
    "n2": dict(build=lambda: ts.diatomic_liquid(6, cutoff_nm=0.8), temperature_K=77.0, timestep_ps=0.004),
    "water": dict(build=lambda: ts.water_box(200, cutoff_nm=0.6, rigid_water=False, flexible_constraints=True),
                  temperature_K=300.0, timestep_ps=0.002),
}
REPORT_PS = 0.1
BAROSTAT_INTERVAL = 25


def window_stats(times, densities, start_ps: float, block_ps: float) -> tuple[float, float, int]:
    t = np.asarray(times)
    d = np.asarray(densities)[t >= t[0] + start_ps - 1e-9]
    per_block = max(1, int(round(block_ps / REPORT_PS)))
    n_blocks = len(d) // per_block
    blocks = d[:n_blocks * per_block].reshape(n_blocks, per_block).mean(axis=1)
    return float(d.mean()), float(blocks.std(ddof=1) / np.sqrt(n_blocks)), len(d)


def run_gelmd(system, topology, state, mode, spec, seed, total_ps):
    _, result = equilibrate_npt(system, topology, state, CPU, temperature_K=spec["temperature_K"], pressure_bar=1.0,
                                barostat_interval=BAROSTAT_INTERVAL, timestep_ps=spec["timestep_ps"],
                                friction_per_ps=1.0, block_ps=total_ps, max_blocks=1, density_tolerance=10.0,
                                integrator_seed=seed, barostat_seed=seed + 100, report_interval_ps=REPORT_PS,
                                velocity_seed=seed + 200, barostat_scaling=mode.split("-")[0])
    series = result["series"]
    return series["time_ps"], series["density_g_per_cm3"], result["timestep_ps"]


def run_constrained_atomwise(system, state, spec, seed, total_ps):
    npt = openmm.XmlSerializer.clone(system)
    add_barostat(npt, 1.0, spec["temperature_K"], BAROSTAT_INTERVAL, seed + 100, scale_molecules_as_rigid=False,
                 allow_constraints_with_atomwise_scaling=True)
    integrator = openmm.LangevinMiddleIntegrator(spec["temperature_K"], 1.0, spec["timestep_ps"])
    integrator.setRandomNumberSeed(seed)
    context = openmm.Context(npt, integrator, CPU.platform, CPU.properties)
    context.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    context.setPositions(state.getPositions())
    context.setVelocitiesToTemperature(spec["temperature_K"] * unit.kelvin, seed + 200)
    mass = total_mass_amu(system)
    every = int(round(REPORT_PS / spec["timestep_ps"]))
    times, dens = [], []
    for k in range(int(round(total_ps / REPORT_PS))):
        integrator.step(every)
        times.append((k + 1) * REPORT_PS)
        dens.append(density_g_per_cm3(mass, context.getState().getPeriodicBoxVolume().value_in_unit(unit.nanometer ** 3)))
    return times, dens, spec["timestep_ps"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=["n2", "water", "both"], default="both")
    parser.add_argument("--equil-ps", type=float, default=20.0)
    parser.add_argument("--sample-ps", type=float, default=40.0)
    parser.add_argument("--block-ps", type=float, default=5.0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--modes", default="molecular,atomwise-flexible,molecular-flexible,atomwise-constrained")
    args = parser.parse_args(argv)
    total = args.equil_ps + args.sample_ps
    names = ["n2", "water"] if args.system == "both" else [args.system]
    print(f"openmm {openmm.__version__}, CPU platform 2 threads; equilibration {args.equil_ps:g} ps, sampling "
          f"{args.sample_ps:g} ps, block averages over {args.block_ps:g} ps")
    for name in names:
        spec = SYSTEMS[name]
        system, topology, positions = spec["build"]()
        state = ts.initial_state(system, positions)
        state, _ = minimise(system, topology, state, CPU, max_iterations=500)
        start_density = density_g_per_cm3(total_mass_amu(system),
                                          state.getPeriodicBoxVolume().value_in_unit(unit.nanometer ** 3))
        print(f"\n== {name}: {system.getNumParticles()} particles, {system.getNumConstraints()} constraints, "
              f"{spec['temperature_K']:g} K, 1 bar, start density {start_density:.4f} g/cm^3")
        for mode in args.modes.split(","):
            means = []
            for seed in range(1, args.seeds + 1):
                wall = time.perf_counter()
                if mode == "atomwise-constrained":
                    times, dens, dt = run_constrained_atomwise(system, state, spec, seed, total)
                elif mode == "molecular-flexible":
                    flexible, summary = flexible_copy(system, topology)
                    dt = flexible_npt_timestep_ps(spec["timestep_ps"], summary["lightest_constrained_atom_mass_amu"])
                    times, dens, dt = run_gelmd(flexible, topology, state, "molecular", dict(spec, timestep_ps=dt),
                                                seed, total)
                else:
                    times, dens, dt = run_gelmd(system, topology, state, mode, spec, seed, total)
                mean, se, n = window_stats(times, dens, args.equil_ps, args.block_ps)
                means.append(mean)
                print(f"{name:6s} {mode:21s} seed {seed}: dt {dt * 1000:g} fs, density {mean:.4f} +- {se:.4f} g/cm^3 "
                      f"({n} samples; last {dens[-1]:.4f}) [{time.perf_counter() - wall:.0f} s]", flush=True)
            spread = np.std(means, ddof=1) / np.sqrt(len(means)) if len(means) > 1 else float("nan")
            print(f"{name:6s} {mode:21s} mean over seeds: {np.mean(means):.4f} +- {spread:.4f} g/cm^3", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
