"""Synthetic electrolyte trajectories written the way OpenMM writes them (PDB + System XML + DCD).

Molecules translate rigidly as independent 3D random walks with a known diffusion coefficient per
species; atoms are then wrapped into the box one by one (molecules are split across the boundary), so
the analysis must unwrap per atom to recover the walk. Used by the transport CLI tests and benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

BOX_NM = 3.0
# residue -> (elements, local coordinates nm, charges e (scaled), bonds)
_PF6 = np.array([[0, 0, 0], [0.16, 0, 0], [-0.16, 0, 0], [0, 0.16, 0], [0, -0.16, 0], [0, 0, 0.16], [0, 0, -0.16]])
TEMPLATES = {
    "NA": (["Na"], np.zeros((1, 3)), [0.8], []),
    "PF6": (["P"] + ["F"] * 6, _PF6, [0.4] + [-0.2] * 6, [(0, k) for k in range(1, 7)]),
    # a propylene-carbonate-like 5-ring: C1(=O1), O2, O3 ring oxygens, C2, C3
    "PC": (["C", "O", "O", "O", "C", "C"],
           np.array([[0, 0, 0], [0, 0.12, 0], [0.11, -0.07, 0], [-0.11, -0.07, 0], [0.07, -0.2, 0], [-0.07, -0.2, 0]]),
           [0.6, -0.5, -0.3, -0.3, 0.25, 0.25], [(0, 1), (0, 2), (0, 3), (2, 4), (3, 5), (4, 5)]),
}
MASSES = {"Na": 22.99, "P": 30.97, "F": 19.0, "C": 12.01, "O": 16.0}


def build(counts: dict[str, int], periodic: bool = True):
    """Topology, per-atom molecule index, local offsets and System for ``counts`` (residue -> number)."""
    top = app.Topology()
    chain = top.addChain()
    molecule, offsets, system = [], [], openmm.System()
    nb = openmm.NonbondedForce()
    m = 0
    for res, n in counts.items():
        elements, coords, charges, bonds = TEMPLATES[res]
        for _ in range(n):
            r = top.addResidue(res, chain)
            atoms = [top.addAtom(f"{el}{k}", app.Element.getBySymbol(el), r) for k, el in enumerate(elements)]
            for i, j in bonds:
                top.addBond(atoms[i], atoms[j])
            for el, xyz, q in zip(elements, coords, charges):
                system.addParticle(MASSES[el])
                nb.addParticle(q, 0.3, 0.5)
                molecule.append(m)
                offsets.append(xyz)
            m += 1
    system.addForce(nb)
    if periodic:
        vecs = [openmm.Vec3(BOX_NM, 0, 0), openmm.Vec3(0, BOX_NM, 0), openmm.Vec3(0, 0, BOX_NM)] * unit.nanometer
        top.setPeriodicBoxVectors(vecs)
        system.setDefaultPeriodicBoxVectors(*vecs)
    return top, np.array(molecule), np.array(offsets), system


def walk(counts: dict[str, int], D_nm2_per_ps: dict[str, float], n_frames: int, dt_ps: float,
         seed: int = 0) -> np.ndarray:
    """Unwrapped atom positions (T, N, 3) nm: molecules as rigid random walks with the given D."""
    rng = np.random.default_rng(seed)
    _, molecule, offsets, _ = build(counts)
    n_mol = molecule.max() + 1
    D = np.concatenate([[D_nm2_per_ps[res]] * n for res, n in counts.items()])
    steps = rng.normal(size=(n_frames, n_mol, 3)) * np.sqrt(2 * D * dt_ps)[None, :, None]
    steps[0] = rng.uniform(0, BOX_NM, size=(n_mol, 3))
    centres = np.cumsum(steps, axis=0)
    return centres[:, molecule] + offsets[None]


def write_inputs(folder: Path, counts: dict[str, int], positions: np.ndarray, dt_ps: float = 1.0,
                 wrap: bool = True, periodic_dcd: bool = True, topology_counts: dict[str, int] | None = None):
    """Write ``top.pdb``, ``system.xml`` and ``traj.dcd`` (frames every ``dt_ps``, 2 fs x interval)."""
    folder.mkdir(parents=True, exist_ok=True)
    top, _, _, system = build(topology_counts or counts)
    pdb, xml, dcd = folder / "top.pdb", folder / "system.xml", folder / "traj.dcd"
    first = positions[0][: top.getNumAtoms()] if positions.shape[1] >= top.getNumAtoms() else None
    if first is None:
        first = np.zeros((top.getNumAtoms(), 3))
    with open(pdb, "w") as fh:
        app.PDBFile.writeFile(top, first * unit.nanometer, fh)
    xml.write_text(openmm.XmlSerializer.serialize(system))
    write_dcd(dcd, counts, positions, dt_ps, wrap=wrap, periodic=periodic_dcd)
    return pdb, dcd, xml


def _wrapped(frame: np.ndarray, wrap: bool) -> np.ndarray:
    return frame - BOX_NM * np.floor(frame / BOX_NM) if wrap else frame


def write_dcd(path: Path, counts: dict[str, int], positions: np.ndarray, dt_ps: float = 1.0, first_frame: int = 0,
              wrap: bool = True, periodic: bool = True) -> Path:
    """An OpenMM ``DCDFile`` of ``positions`` (T, N, 3) nm: 2 fs steps, a frame every ``dt_ps``, the first
    frame being frame number ``first_frame`` of the run (ISTART = first_frame x NSAVC, as a run resumed
    from a checkpoint writes it)."""
    dcd_top, _, _, _ = build(counts, periodic=periodic)
    interval = int(round(dt_ps / 0.002))
    with open(path, "wb") as fh:
        writer = app.DCDFile(fh, dcd_top, 0.002 * unit.picosecond, firstStep=first_frame * interval,
                             interval=interval)
        for frame in positions:
            writer.writeModel(_wrapped(frame, wrap) * unit.nanometer)
    return path


def write_mdtraj_dcd(path: Path, counts: dict[str, int], positions: np.ndarray, wrap: bool = True) -> Path:
    """The same frames written by mdtraj (VMD's DCD plugin): its header says NSAVC = 1, DELTA = 1 AKMA
    (0.0489 ps between frames) whatever the real interval was."""
    import mdtraj

    top, _, _, _ = build(counts)
    frames = np.stack([_wrapped(frame, wrap) for frame in positions])
    n = frames.shape[0]
    traj = mdtraj.Trajectory(frames, mdtraj.Topology.from_openmm(top),
                             unitcell_lengths=np.full((n, 3), BOX_NM), unitcell_angles=np.full((n, 3), 90.0))
    traj.save_dcd(str(path))
    return path
