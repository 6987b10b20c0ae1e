"""Benchmark (issue 10): does holding evaporated molecules with the soft wall change the evaporation rate?

    python benchmarks/evaporation_mode.py [--edge 2.0] [--temperature 450] [--duration 30] [--replicas 8]
                                          [--distance 1.0] [--threads 1]

The retention stage holds evaporated molecules in the vapour with a soft wall (simulation.evaporation,
``--evaporated wall``); the alternative is to remove them (``--evaporated remove``: their interactions are
switched off at the first sample frame beyond the counting distance, simulation.ghosts). Both count a molecule
once, at its first passage beyond the counting distance from the Gibbs dividing surface (analysis.evaporation).
They could differ only through what the held vapour does to the film (molecules hitting it, re-condensing).

PC and FEC evaporate a few molecules per nanosecond from a demo film, too few to compare two rates, so the
comparison runs on a film that evaporates fast: TIP3P water (OpenMM's tip3p.xml, rigid) at 450 K, where the
saturation pressure of real water is ~9 bar and the Hertz-Knudsen flux p / sqrt(2 pi m kT) ~ 30 molecules per
ns per nm^2 of face. The film (an ``--edge`` nm cube of water, made a film by simulation.slab.make_film with a
6 nm vacuum gap, Yeh-Berkowitz correction, the stage's soft wall) runs through the stage's own
``simulation.evaporation.run_replica`` in both modes with the same seeds (``--replicas`` each); the rate per
ns per nm^2 of face comes from the stage's analysis (analysis.evaporation.analyse_film), with its standard
error over replicas. Printed: both rates, over the whole run and over its first half (before the held vapour
builds up), their differences in units of their standard errors, the events counted, the number density the
held vapour reaches, and the wall time. Saturated water vapour at 450 K holds ~0.15 molecules per nm^3
(p_sat ~9.3 bar). A held vapour denser than saturation condenses back onto the film, where a returned molecule
(already counted) takes a surface place from one not yet counted; the effect on the first-passage rate is at
most the share of the film's surface molecules that are returned ones, which grows with the run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.evaporation import analyse_film  # noqa: E402
from simulation.evaporation import PROFILE_BIN_NM, film_system, run_replica  # noqa: E402
from simulation.platform import choose_platform  # noqa: E402
from simulation.slab import make_film  # noqa: E402

VACUUM_GAP_NM = 6.0
WALL_FORCE_CONSTANT = 1000.0  # kJ mol^-1 nm^-2, the demo and paper configs' value
CUTOFF_NM = 0.9


class _Quiet:
    def message(self, text: str) -> None:
        print(f"  {text}", flush=True)


def water_box(edge_nm: float, seed: int, threads: int):
    """TIP3P water filling an ``edge_nm`` cube, minimised and run 5 ps NVT at 300 K (System, positions nm, box)."""
    forcefield = app.ForceField("tip3p.xml")
    modeller = app.Modeller(app.Topology(), [])
    modeller.addSolvent(forcefield, model="tip3p", boxSize=openmm.Vec3(edge_nm, edge_nm, edge_nm) * unit.nanometer)
    system = forcefield.createSystem(modeller.topology, nonbondedMethod=app.PME, nonbondedCutoff=CUTOFF_NM * unit.nanometer,
                                     constraints=app.HBonds, rigidWater=True)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.002 * unit.picoseconds)
    integrator.setRandomNumberSeed(seed)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"), {"Threads": str(threads)})
    context.setPositions(modeller.positions)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 500)
    context.setVelocitiesToTemperature(300 * unit.kelvin, seed)
    integrator.step(2500)
    state = context.getState(getPositions=True)
    box = np.array(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer))
    return system, state.getPositions(asNumpy=True).value_in_unit(unit.nanometer), box, modeller.topology


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=float, default=2.0, help="water cube edge before the film is cut, nm")
    parser.add_argument("--temperature", type=float, default=450.0, help="film temperature, K")
    parser.add_argument("--duration", type=float, default=30.0, help="ps per replica")
    parser.add_argument("--sample-interval", type=float, default=0.5, help="ps")
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--distance", type=float, default=1.0, help="counting (and removal) distance, nm")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    system, positions, box, topology = water_box(args.edge, args.seed, args.threads)
    film = make_film(system, positions, box, VACUUM_GAP_NM)
    molecules = [sorted(c) for c in film.clusters]
    masses = np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])
    area = float(film.box[0, 0] * film.box[1, 1])
    edges = np.arange(0.0, film.box[2, 2] + PROFILE_BIN_NM, PROFILE_BIN_NM)
    settings = {"temperature_K": args.temperature, "collision_rate_per_ps": 1.0, "timestep_ps": 0.002,
                "sample_interval_ps": args.sample_interval, "duration_ps": args.duration}
    platform = choose_platform(platform="CPU", cpu_threads=args.threads)
    print(f"water film: {len(molecules)} molecules, {film.thickness_nm:.2f} nm thick, face {area:.2f} nm^2, "
          f"{args.temperature} K, {args.replicas} x {args.duration} ps per mode", flush=True)
    results = {}
    film_sys = film_system(system, film, WALL_FORCE_CONSTANT)
    for mode in ("wall", "remove"):
        runs = []
        for r in range(args.replicas):
            runs.append(run_replica(film_sys, film, molecules, [], masses,
                                    settings, platform, args.seed + 1 + r, edges, _Quiet(), f"{mode} replica {r + 1}",
                                    args.distance if mode == "remove" else None))
        n = runs[0][0].shape[0]
        arrays = {"time_ps": np.arange(n) * args.sample_interval, "centre_z_nm": np.stack([x[0] for x in runs]),
                  "network_z_nm": np.zeros((len(runs), n, 0)), "profile_amu": np.stack([x[2] for x in runs]),
                  "profile_edges_nm": edges, "molecule_residue": np.array(["HOH"] * len(molecules))}
        film_result = analyse_film(arrays, area, args.distance)
        half = n // 2  # the first half: before the held vapour builds up
        early = analyse_film({**arrays, "time_ps": arrays["time_ps"][:half + 1],
                              "centre_z_nm": arrays["centre_z_nm"][:, :half + 1],
                              "profile_amu": arrays["profile_amu"][:, :half + 1]}, area, args.distance)
        results[mode] = {**film_result["rate_per_ns_per_nm2"]["HOH"], "evaporated": film_result["evaporated"]["HOH"],
                         "first_half": early["rate_per_ns_per_nm2"]["HOH"],
                         "removed": [int((x[4] >= 0).sum()) for x in runs]}
        print(f"{mode}: rate {results[mode]['value']:.2f} +- {results[mode]['stderr']:.2f} per ns per nm^2 of face "
              f"(evaporated per replica {results[mode]['evaporated']}); first half "
              f"{early['rate_per_ns_per_nm2']['HOH']['value']:.2f} +- {early['rate_per_ns_per_nm2']['HOH']['stderr']:.2f}",
              flush=True)
    wall, remove = results["wall"], results["remove"]
    difference = remove["value"] - wall["value"]
    error = math.hypot(wall["stderr"], remove["stderr"])
    early_difference = remove["first_half"]["value"] - wall["first_half"]["value"]
    early_error = math.hypot(wall["first_half"]["stderr"], remove["first_half"]["stderr"])
    vapour_volume = area * VACUUM_GAP_NM
    print(json.dumps({"rate_wall_per_ns_per_nm2": [round(wall["value"], 3), round(wall["stderr"], 3)],
                      "rate_remove_per_ns_per_nm2": [round(remove["value"], 3), round(remove["stderr"], 3)],
                      "first_half_wall": [round(wall["first_half"]["value"], 3), round(wall["first_half"]["stderr"], 3)],
                      "first_half_remove": [round(remove["first_half"]["value"], 3),
                                            round(remove["first_half"]["stderr"], 3)],
                      "first_half_difference_over_stderr": (round(early_difference / early_error, 2)
                                                            if early_error > 0 else None),
                      "total_events": {"wall": int(sum(wall["evaporated"])), "remove": int(sum(remove["evaporated"]))},
                      # molecules per nm^3 the wall mode's vapour reaches (evaporated per replica / vacuum volume)
                      "held_vapour_density_per_nm3": round(float(np.mean(wall["evaporated"])) / vapour_volume, 3),
                      "difference_over_stderr": round(difference / error, 2) if error > 0 else None,
                      "ratio_remove_to_wall": round(remove["value"] / wall["value"], 3) if wall["value"] else None,
                      "molecules": len(molecules), "area_nm2": round(area, 3), "temperature_K": args.temperature,
                      "duration_ps": args.duration, "replicas": args.replicas,
                      "wall_time_s": round(time.perf_counter() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
