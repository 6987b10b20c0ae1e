"""Disk a campaign's production trajectories need, from its settings: atoms x frames x replicas x systems.

Atoms per system: the electrolyte's molecule counts from the config (``systems.composition.molecule_counts``,
the build's own rule) times the atoms of each species (RDKit, hydrogens included); a gel adds its polymer at
``polymer_weight_fraction`` of the mass (atoms at the mean atomic mass of its monomer). Frames: production
duration / trajectory interval per replica. DCD bytes are exact (OpenMM's DCD frame: 3 x (4 N + 8) bytes of
coordinates + 56 bytes of unit cell); XTC bytes per atom are measured here on a real molecular liquid
(``--sample``: a trajectory.dcd of this project, e.g. the demo's or the Slurm check's LE, converted frame by
frame with OpenMM's XTCFile; default: an OpenMM TIP3P-FB water box run for a few ps).

    .venv/bin/python benchmarks/disk.py --config config/config.yaml [--sample results/demo/LE/production/trajectory.dcd]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import numpy as np  # noqa: E402


def dcd_frame_bytes(n_atoms: int) -> int:
    return 3 * (4 * n_atoms + 8) + 56


def system_atoms(config) -> dict[str, int]:
    from systems.composition import molecule_counts
    from systems.species import registry

    species = registry(config)
    atoms = {}
    for name, spec in config.systems.items():
        composition = molecule_counts(spec, species)
        n = 0
        mass = 0.0
        for sp_name, count in composition.counts.items():
            sp = species[sp_name]
            n += count * sp.mol.GetNumAtoms()
            mass += count * sp.molar_mass_g_per_mol
        network = getattr(spec, "network", None)
        fraction = getattr(network, "polymer_weight_fraction", 0.0) if network else 0.0
        monomer = getattr(network, "monomer", None) if network else None
        if fraction and monomer:
            mol = species[monomer].mol
            mean_atom_mass = species[monomer].molar_mass_g_per_mol / mol.GetNumAtoms()
            polymer_mass = mass * fraction / (1.0 - fraction)
            n += int(round(polymer_mass / mean_atom_mass))
        atoms[name] = n
    return atoms


def xtc_bytes_per_atom_frame(sample: str | None) -> tuple[float, str]:
    """Measured XTC bytes per atom and frame (without the 92-byte frame header), and what it was measured on."""
    import openmm
    from openmm import app, unit

    from common import dcd

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sample.xtc"
        if sample:
            positions, cells, header = dcd.read_positions(sample)
            frames = list(positions[-50:])
            n_atoms = positions.shape[1]
            what = f"{sample} ({n_atoms} atoms, {len(frames)} frames)"
            box = 4.0
        else:
            import testsystems

            system, topology, xyz = testsystems.water_box(n_waters=1000)
            integrator = openmm.LangevinMiddleIntegrator(298.15, 1.0, 0.002)
            context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"))
            context.setPositions(xyz)
            openmm.LocalEnergyMinimizer.minimize(context, 10.0, 100)
            frames = []
            for _ in range(20):
                integrator.step(100)
                frames.append(context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer))
            n_atoms = system.getNumParticles()
            what = f"TIP3P-FB water ({n_atoms} atoms, 20 frames)"
            box = 3.0
        topology = app.Topology()
        chain = topology.addChain()
        for _ in range(n_atoms):
            topology.addAtom("X", None, topology.addResidue("X", chain))
        topology.setPeriodicBoxVectors([openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0), openmm.Vec3(0, 0, box)])
        writer = app.XTCFile(str(out), topology, 0.002, firstStep=1000, interval=1000)
        for frame in frames:
            writer.writeModel(np.asarray(frame, dtype=float))
        per_frame = out.stat().st_size / len(frames)
    return (per_frame - 92) / n_atoms, what


def main(argv=None) -> int:
    from workflow.config_vocabulary import load_workflow_config_files

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    parser.add_argument("--sample", default=None, help="a trajectory.dcd to measure XTC compression on")
    args = parser.parse_args(argv)
    config = load_workflow_config_files([args.config])
    p = config.protocol
    frames = int(round(p.production_duration_ps / p.trajectory_interval_ps))
    replicas = p.production_replicas
    xtc_per_atom, what = xtc_bytes_per_atom_frame(args.sample)
    atoms = system_atoms(config)
    print(f"campaign {config.name}: {p.production_duration_ps / 1000:g} ns per replica, frames every "
          f"{p.trajectory_interval_ps:g} ps ({frames} frames), {replicas} replicas, {len(atoms)} systems; "
          f"configured format {getattr(p, 'trajectory_format', 'dcd')}")
    print(f"XTC measured on {what}: {xtc_per_atom:.2f} bytes per atom and frame (DCD: 12)")
    print(f"{'system':10s} {'atoms':>7s} {'DCD/replica':>12s} {'XTC/replica':>12s} {'DCD total':>10s} {'XTC total':>10s}")
    total_dcd = total_xtc = 0.0
    for name, n in atoms.items():
        dcd_gb = frames * dcd_frame_bytes(n) / 1e9
        xtc_gb = frames * (92 + xtc_per_atom * n) / 1e9
        total_dcd += dcd_gb * replicas
        total_xtc += xtc_gb * replicas
        print(f"{name:10s} {n:7d} {dcd_gb:10.2f} GB {xtc_gb:10.2f} GB {dcd_gb * replicas:7.1f} GB "
              f"{xtc_gb * replicas:7.1f} GB")
    print(f"{'campaign':10s} {'':7s} {'':12s} {'':12s} {total_dcd:7.1f} GB {total_xtc:7.1f} GB "
          f"(XTC/DCD = {total_xtc / total_dcd:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
