"""How the cost grows: the network builder and the transport analysis timed at three sizes, power-law exponents.

    .venv/bin/python benchmarks/scaling.py [--part msd|transport|builder|both] [--builder-solvent 60 120 190]
        [--msd-frames 1000 10000 50000] [--msd-particles 200] [--transport-frames 1000 10000 50000]
        [--paper-atoms 24906]

- Transport stage: :func:`analysis.transport.analyse`, the whole analysis the ``transport`` rule runs (DCD
  reading, per-atom unwrapping, MSD of every species and the Einstein–Helfand dipole, block errors, fit
  windows, the Na⁺ RDF/coordination over 500 frames), on synthetic trajectories written the way OpenMM writes
  them (``tests/transport_synthetic.py``: 10 NaPF6 + 60 PC-like rings, 440 atoms, random walks with known D,
  atoms wrapped one by one) at each ``--transport-frames``; wall time of one call and the peak of memory
  allocated during it (``tracemalloc``). The DCD is written before the clock starts.
- Transport: :func:`analysis.msd.msd_fft` (the O(F log F) FFT MSD the transport stage runs for every species)
  on a seeded 3D random walk of ``--msd-particles`` particles at each frame count; wall time (best of 3) and
  the peak of memory allocated during the call (``tracemalloc``, which sees NumPy's buffers).
- Network builder: :func:`systems.network.builder.build_network` with the recipe of
  ``benchmarks/network_build.py`` (PC/FEC 95:5 + 1 M NaPF6, 10 wt% BMP; target ``--builder-target``, 50 % by
  default: the smallest boxes stall short of 80 %, so the time to a common conversion is what is fitted) at each
  ``--builder-solvent`` count; wall time and the process's peak resident memory (``ru_maxrss``, which only
  grows: the figure after the largest build is the one that counts). The builder is slow on a 2-core CPU,
  so the sizes default to what finishes here in minutes; the paper-scale gel (``--paper-atoms``, the GPE
  atoms ``benchmarks/disk.py`` computes from config/config.yaml) is *not* built: its time is extrapolated
  from the fitted exponent and printed as a lower bound: measured on the paper-scale PTPA, a 10 ps cycle takes
  7.7-10 min on 2 threads and ~90 cycles are needed to 85 % (the dilute monomers add ~1 unit per chain and
  cycle), ~12 h per gel, where the small-box fit says well under an hour.

Exponent b of t = a N^b: least squares of log t on log N over the three sizes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def power_law(sizes, times) -> tuple[float, float]:
    """(exponent b, prefactor a) of t = a N^b by least squares in log-log."""
    b, log_a = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(times, float)), 1)
    return float(b), float(np.exp(log_a))


def msd_scaling(frame_counts, particles: int) -> dict:
    from analysis.msd import msd_fft

    rows = []
    rng = np.random.default_rng(13)
    for frames in frame_counts:
        walk = np.cumsum(rng.normal(scale=0.01, size=(frames, particles, 3)), axis=0)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            msd_fft(walk, "numpy")
            best = min(best, time.perf_counter() - start)
        tracemalloc.start()
        msd_fft(walk, "numpy")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({"frames": frames, "particles": particles, "wall_s": best, "peak_alloc_MB": peak / 2**20,
                     "input_MB": walk.nbytes / 2**20})
        print(f"  msd_fft {frames:6d} frames x {particles} particles: {best:.3f} s, peak allocation "
              f"{peak / 2**20:.0f} MB (input {walk.nbytes / 2**20:.0f} MB)", flush=True)
        del walk
    b, _ = power_law([r["frames"] for r in rows], [r["wall_s"] for r in rows])
    print(f"transport MSD: wall time ~ frames^{b:.2f} (FFT: ~1 expected, N log N)")
    return {"rows": rows, "exponent": b}


def transport_scaling(frame_counts, workdir: Path) -> dict:
    """Wall time and peak allocation of the transport stage's analysis at each frame count (see module notes)."""
    sys.path.insert(0, str(REPO / "tests"))
    import transport_synthetic as ts
    from analysis.transport import analyse

    counts = {"NA": 10, "PF6": 10, "PC": 60}
    diffusion = {"NA": 1e-4, "PF6": 1.5e-4, "PC": 2e-4}  # nm^2/ps
    n_atoms = sum(len(ts.TEMPLATES[residue][0]) * n for residue, n in counts.items())
    rows = []
    for frames in frame_counts:
        folder = workdir / f"frames{frames}"
        pdb, dcd, xml = ts.write_inputs(folder, counts, ts.walk(counts, diffusion, frames, 1.0, seed=frames), 1.0)
        tracemalloc.start()
        start = time.perf_counter()
        results, _ = analyse(pdb, [dcd], xml, 298.15, frame_interval_ps=1.0, backend="numpy",
                             scratch_dir=folder / "scratch")
        wall = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        d_na = results["species"]["NA"]["D_m2_per_s"]["value"]
        rows.append({"frames": frames, "atoms": n_atoms, "wall_s": wall, "peak_alloc_MB": peak / 2**20,
                     "dcd_MB": dcd.stat().st_size / 2**20, "D_NA_m2_per_s": d_na})
        print(f"  transport analysis {frames:6d} frames x {rows[-1]['atoms']} atoms: {wall:.2f} s, peak allocation "
              f"{peak / 2**20:.0f} MB (DCD {rows[-1]['dcd_MB']:.0f} MB); D(Na) {d_na:.3g} m2/s (walk {diffusion['NA'] * 1e-6:.3g})",
              flush=True)
        shutil.rmtree(folder)  # the next size's DCD needs the disk
    b, _ = power_law([r["frames"] for r in rows], [r["wall_s"] for r in rows])
    print(f"transport analysis: wall time ~ frames^{b:.2f}")
    return {"rows": rows, "exponent": b, "counts": counts}


def builder_scaling(solvent_counts, threads: int, monomer: str = "BMP", target: float = 0.5) -> dict:
    from systems.network.builder import CrosslinkSettings, ElectrolyteSpec, MonomerSpec, NetworkBuildSpec, build_network
    from systems.network.relax import RelaxSettings
    from systems.species import BUILTIN_SPECIES

    reaction = {"BMP": "ring_opening_aziridine", "TPA": "radical_acrylate"}[monomer]
    rows = []
    for n_solvent in solvent_counts:
        spec = NetworkBuildSpec(
            system=f"GPE_{monomer}", electrolyte=ElectrolyteSpec({"PC": 0.95, "FEC": 0.05}, n_solvent=n_solvent),
            monomer=MonomerSpec(monomer, BUILTIN_SPECIES[monomer].smiles, reaction), polymer_weight_fraction=0.10,
            crosslink=CrosslinkSettings(target_conversion=target, max_cycles=60), relax=RelaxSettings(md_steps=500),
            seed=2026, nonbonded_cutoff_nm=1.0, pre_md_steps=1000, cpu_threads=threads, platform="CPU")
        with tempfile.TemporaryDirectory(prefix="gelmd-scaling-") as tmp:
            start = time.perf_counter()
            result = build_network(spec, Path(tmp) / monomer)
            wall = time.perf_counter() - start
        record = result.record
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append({"n_solvent": n_solvent, "atoms": record["n_atoms"], "wall_s": wall,
                     "conversion": record["conversion"], "cycles": record["cycles"], "peak_rss_MB": peak_mb})
        print(f"  builder {record['n_atoms']:6d} atoms (n_solvent {n_solvent}): {wall:.0f} s, conversion "
              f"{record['conversion']:.1%} in {record['cycles']} cycles, peak RSS so far {peak_mb:.0f} MB", flush=True)
    b, a = power_law([r["atoms"] for r in rows], [r["wall_s"] for r in rows])
    print(f"network builder: wall time ~ atoms^{b:.2f}")
    return {"rows": rows, "exponent": b, "prefactor_s": a}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", default="both", choices=["msd", "transport", "builder", "both"],
                        help="both: msd, transport and builder")
    parser.add_argument("--msd-frames", type=int, nargs=3, default=[1000, 10000, 50000])
    parser.add_argument("--msd-particles", type=int, default=200)
    parser.add_argument("--transport-frames", type=int, nargs=3, default=[1000, 10000, 50000])
    parser.add_argument("--builder-solvent", type=int, nargs=3, default=[60, 120, 190])
    parser.add_argument("--builder-target", type=float, default=0.5,
                        help="target conversion (small boxes of the kinetic-chain builder stall below 80 %%)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--paper-atoms", type=int, default=24906,
                        help="atoms of the paper-scale gel (benchmarks/disk.py, GPE_PBMP of config/config.yaml)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = {"cpu_count": os.cpu_count()}
    if args.part in ("msd", "both"):
        result["msd"] = msd_scaling(args.msd_frames, args.msd_particles)
    if args.part in ("transport", "both"):
        with tempfile.TemporaryDirectory(prefix="gelmd-scaling-transport-") as tmp:
            result["transport"] = transport_scaling(args.transport_frames, Path(tmp))
    if args.part in ("builder", "both"):
        builder = builder_scaling(args.builder_solvent, args.threads, target=args.builder_target)
        estimate = builder["prefactor_s"] * args.paper_atoms ** builder["exponent"]
        builder["paper_atoms"] = args.paper_atoms
        builder["paper_estimate_s"] = estimate
        result["builder"] = builder
        print(f"paper-scale gel ({args.paper_atoms} atoms) on this CPU: > ~{estimate / 3600:.1f} h by the small-box "
              f"fit, a lower bound (measured there: 7.7-10 min per cycle, ~90 cycles, ~12 h; README)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
