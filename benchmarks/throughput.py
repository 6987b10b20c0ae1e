"""Production throughput as a ratio: the workflow's production code against a bare OpenMM loop.

The same System and State, the same platform and the same number of steps, run in one process by

- ``bare``: an ``openmm.Context`` with the production integrator (``LangevinMiddleIntegrator``, same friction,
  time step and seed) stepped with ``integrator.step`` in blocks of one production chunk, no reporters;
- ``production``: :func:`simulation.production.run_production` with its trajectory, energy and blow-up
  reporters, fsync'ed outputs, a checkpoint and State XML after every chunk.

Measurements are interleaved (bare, production, production, bare, ...) and the median of each is taken, so a
load change on a shared machine hits both. Two figures for production: ``loop`` (the chunk loop: stepping,
reporters, flushes, checkpoints — what grows with the run length; the ratio that must be >= 0.95) and
``end_to_end`` (the whole call, including Context creation, the input fingerprint and the hand-over of the
outputs: fixed costs that a 50 ns run spreads over hours but a benchmark of seconds does not).

System: ``--system/--state`` XML files (e.g. a workflow's ``equilibrate/`` outputs), or by default a TIP3P-FB
water box (``--waters``, PME, rigid water, 2 fs) from ``tests/testsystems.py``. Reporting intervals default
to the paper campaign's (``config/config.yaml``: frames every 2 ps, energies every 10 ps, chunks of 5 ns
scaled down to ``--chunk-ps``); ``--frame-ps``/``--energy-ps`` test others.

    .venv/bin/python benchmarks/throughput.py --platform CPU --ps 20 --rounds 3
    .venv/bin/python benchmarks/throughput.py --platform CUDA --system sys.xml --state state.xml --ps 200
    .venv/bin/python benchmarks/throughput.py --profile      # cProfile of one production run, top 25
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import openmm  # noqa: E402
from openmm import app, unit  # noqa: E402

import simulation.production as production  # noqa: E402
from simulation.platform import choose_platform  # noqa: E402
from simulation.reporters import RunLog  # noqa: E402
from simulation.runner import ns_per_day  # noqa: E402
from simulation.state_io import apply_state, read_state, read_system  # noqa: E402
from simulation.system_prep import remove_barostats  # noqa: E402


def water_inputs(n_waters: int):
    """(System, Topology, State) of a TIP3P-FB box, equilibrated for 1 ps on the CPU platform."""
    import testsystems

    system, topology, positions = testsystems.water_box(n_waters=n_waters, cutoff_nm=0.9)
    integrator = openmm.LangevinMiddleIntegrator(298.15, 1.0, 0.002)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"))
    context.setPositions(positions)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 200)
    context.setVelocitiesToTemperature(298.15, 1)
    integrator.step(500)
    state = context.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)
    return system, topology, state


def file_inputs(system_path: str, state_path: str, topology_path: str | None):
    system = read_system(system_path)
    state = read_state(state_path)
    if topology_path:
        topology = app.PDBFile(topology_path).topology
    else:  # a topology of single-atom residues: DCD/XTC writers only need the atom count
        topology = app.Topology()
        chain = topology.addChain()
        for _ in range(system.getNumParticles()):
            topology.addAtom("X", None, topology.addResidue("X", chain))
    return system, topology, state


def relax(system, state, platform, steps: int = 2000):
    """Minimise, draw velocities at 298.15 K and run ``steps`` steps of 1 fs (a packed, unequilibrated input)."""
    integrator = openmm.LangevinMiddleIntegrator(298.15, 1.0, 0.001)
    copy = openmm.XmlSerializer.clone(system)
    remove_barostats(copy)
    context = openmm.Context(copy, integrator, platform.platform, platform.properties)
    apply_state(context, state)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 2000)
    context.setVelocitiesToTemperature(298.15, 7)
    integrator.step(steps)
    return context.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)


def settings_for(args, timestep_ps: float):
    import testsystems

    return testsystems.quick_settings(
        platform=args.platform, cpu_threads=args.threads, timestep_ps=timestep_ps,
        hydrogen_mass_amu=args.hydrogen_mass, production_duration_ps=args.ps, production_chunk_ps=args.chunk_ps,
        trajectory_interval_ps=args.frame_ps, energy_interval_ps=args.energy_ps,
        trajectory_format=args.trajectory_format) if _has_format() else testsystems.quick_settings(
        platform=args.platform, cpu_threads=args.threads, timestep_ps=timestep_ps,
        hydrogen_mass_amu=args.hydrogen_mass, production_duration_ps=args.ps, production_chunk_ps=args.chunk_ps,
        trajectory_interval_ps=args.frame_ps, energy_interval_ps=args.energy_ps)


def _has_format() -> bool:
    from common.config import Protocol

    return "trajectory_format" in getattr(Protocol, "model_fields", {})


def run_bare(system, state, settings, platform) -> float:
    """Seconds for the production's steps with integrator.step in chunk-sized blocks, no reporters."""
    system = openmm.XmlSerializer.clone(system)
    remove_barostats(system)
    p = settings.protocol
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K * unit.kelvin,
                                                 p.production_friction_per_ps / unit.picosecond,
                                                 p.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(settings.seed_for("production-integrator"))
    context = openmm.Context(system, integrator, platform.platform, platform.properties)
    apply_state(context, state)
    total = p.steps(p.production_duration_ps)
    chunk = max(1, p.steps(p.production_chunk_ps))
    context.getState(getEnergy=True)  # the first force evaluation (kernels, neighbour list) outside the clock
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(chunk, total - done)
        integrator.step(n)
        done += n
    context.getState(getPositions=True)  # wait for the device to finish
    return time.perf_counter() - start


def run_workflow_production(system, topology, state, settings, platform, folder: Path) -> tuple[float, float]:
    """(chunk-loop seconds, whole-call seconds) of simulation.production.run_production."""
    loop = {}
    original = production._run_chunks

    def timed(*a, **k):
        simulation = a[0]
        simulation.context.getState(getEnergy=True)  # first force evaluation outside the clock, as in bare
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            simulation.context.getState(getPositions=True)
            loop["s"] = time.perf_counter() - start

    production._run_chunks = timed
    try:
        start = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "production.log", "w") as handle:
            production.run_production(system, topology, state, settings, platform, folder / "out",
                                      folder / "work", log=RunLog(handle))
        whole = time.perf_counter() - start
    finally:
        production._run_chunks = original
    return loop["s"], whole


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--platform", default="CPU")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: OpenMM's default)")
    parser.add_argument("--system"), parser.add_argument("--state"), parser.add_argument("--topology")
    parser.add_argument("--waters", type=int, default=1000, help="water box size when no --system is given")
    parser.add_argument("--timestep-ps", type=float, default=None, help="default: 0.002 (0.004 with --hydrogen-mass)")
    parser.add_argument("--hydrogen-mass", type=float, default=1.008)
    parser.add_argument("--ps", type=float, default=20.0, help="simulated ps per measurement")
    parser.add_argument("--chunk-ps", type=float, default=None, help="production chunk (default: ps / 2)")
    parser.add_argument("--frame-ps", type=float, default=2.0)
    parser.add_argument("--energy-ps", type=float, default=10.0)
    parser.add_argument("--trajectory-format", default="dcd", choices=["dcd", "xtc"])
    parser.add_argument("--minimise", action="store_true",
                        help="minimise and run 2 ps at 1 fs first (a packed input such as parameterise/state.xml)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved bare/production pairs")
    parser.add_argument("--profile", action="store_true", help="cProfile one production run instead")
    parser.add_argument("--json", default=None, help="write the figures here too")
    args = parser.parse_args(argv)
    args.chunk_ps = args.chunk_ps or args.ps / 2
    timestep = args.timestep_ps or (0.004 if args.hydrogen_mass > 1.5 else 0.002)

    if args.system:
        system, topology, state = file_inputs(args.system, args.state, args.topology)
    else:
        system, topology, state = water_inputs(args.waters)
    settings = settings_for(args, timestep)
    platform = choose_platform(settings.engine)
    if args.minimise:
        state = relax(system, state, platform)
    steps = settings.protocol.steps(args.ps)
    print(f"throughput: {system.getNumParticles()} atoms, {steps} steps of {timestep * 1000:g} fs ({args.ps:g} ps), "
          f"chunks {args.chunk_ps:g} ps, frames every {args.frame_ps:g} ps ({args.trajectory_format}), energies "
          f"every {args.energy_ps:g} ps, platform {platform.name} {platform.properties}", flush=True)

    with tempfile.TemporaryDirectory(prefix="gelmd-throughput-") as tmp:
        tmp = Path(tmp)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run_workflow_production(system, topology, state, settings, platform, tmp / "profile")
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return 0
        bare, loop, whole = [], [], []
        for r in range(args.rounds):
            order = ("bare", "production") if r % 2 == 0 else ("production", "bare")
            for kind in order:
                if kind == "bare":
                    bare.append(run_bare(system, state, settings, platform))
                else:
                    lo, wh = run_workflow_production(system, topology, state, settings, platform, tmp / f"r{r}")
                    loop.append(lo)
                    whole.append(wh)
            print(f"  round {r + 1}: bare {ns_per_day(steps, timestep, bare[-1]):.1f} ns/day, production loop "
                  f"{ns_per_day(steps, timestep, loop[-1]):.1f}, end to end {ns_per_day(steps, timestep, whole[-1]):.1f}",
                  flush=True)
    result = {
        "atoms": system.getNumParticles(), "steps": steps, "timestep_ps": timestep, "platform": platform.name,
        "frame_interval_ps": args.frame_ps, "energy_interval_ps": args.energy_ps, "chunk_ps": args.chunk_ps,
        "trajectory_format": args.trajectory_format, "rounds": args.rounds,
        "bare_ns_per_day": ns_per_day(steps, timestep, statistics.median(bare)),
        "production_loop_ns_per_day": ns_per_day(steps, timestep, statistics.median(loop)),
        "production_end_to_end_ns_per_day": ns_per_day(steps, timestep, statistics.median(whole)),
    }
    result["ratio_loop"] = result["production_loop_ns_per_day"] / result["bare_ns_per_day"]
    result["ratio_end_to_end"] = result["production_end_to_end_ns_per_day"] / result["bare_ns_per_day"]
    print(f"throughput: bare {result['bare_ns_per_day']:.1f} ns/day | production loop "
          f"{result['production_loop_ns_per_day']:.1f} ns/day (ratio {result['ratio_loop']:.3f}) | end to end "
          f"{result['production_end_to_end_ns_per_day']:.1f} ns/day (ratio {result['ratio_end_to_end']:.3f}) "
          f"[medians of {args.rounds}]")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ratio_loop"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
