"""Analysis of Na | electrolyte | Na cells: profiles along z, the first layer at the metal, Na+ lateral homogeneity.

All lengths in nm, densities in atoms per nm^3, charges in e, potentials in V. Pure functions (tested on
synthetic data with known answers in tests/test_interface_analysis.py) and :func:`main`, which reads the
files the interface run writes (topology PDB, DCD, electrode charges CSV, run JSON).

- **Number-density profiles** n(z) = <N in slab [z, z+dz)> / (A dz) per atom class and per residue
  (residue centre of geometry).
- **Gibbs dividing surface** of a metal face: the plane where a step profile of the bulk metal density
  rho_b holds as many atoms as the real profile, z_G = z_0 + (integral of n from z_0 outward) / rho_b, with
  z_0 a plane inside the bulk of the slab (the slab's centre).
- **First layer**: electrolyte heavy atoms from the Gibbs surface to the first minimum of their density
  after its first maximum; composition = fraction of each atom class among the heavy atoms there; enrichment
  = that fraction over the class's fraction in the central third of the electrolyte.
- **Na+ lateral homogeneity index**: Na+ positions (x, y) in the first layer of both faces, binned on an
  n x n grid and summed over a block of frames; CV = std/mean of the bin counts. The random reference is the
  CV of the same counts per frame placed uniformly at random. Index = CV / CV_random (1: as even as random;
  > 1: clustered, "hot spots"; < 1: more even than random, ordered). Errors: standard error over blocks.
- **Potential profile**: 1D Poisson equation of the laterally averaged charge density (fixed charges and the
  electrodes' mean charges), phi(z) = -(1/eps0) double integral of rho, the field's mean set to zero (the cell
  is periodic and neutral).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.constants import ELEMENTARY_CHARGE_C
from common.errors import AnalysisError

VACUUM_PERMITTIVITY_F_PER_M = 8.8541878128e-12
"""epsilon_0, F/m (CODATA 2018)."""


def density_profile(z_frames: Sequence[np.ndarray], area_nm2: float, edges_nm: np.ndarray) -> np.ndarray:
    """Mean number density (nm^-3) in each z bin over the frames; ``z_frames`` one array of heights per frame."""
    if len(z_frames) == 0:
        raise AnalysisError("density_profile: no frames")
    counts = np.zeros(len(edges_nm) - 1)
    for z in z_frames:
        counts += np.histogram(z, bins=edges_nm)[0]
    return counts / len(z_frames) / (area_nm2 * np.diff(edges_nm))


def gibbs_dividing_surface(centres_nm: np.ndarray, density: np.ndarray, bulk_density: float, z_inside_nm: float,
                           outward: int = +1) -> float:
    """Gibbs dividing surface of a slab face: from ``z_inside`` (inside the slab's bulk) going ``outward``
    (+1: towards larger z), the plane at which a step of ``bulk_density`` holds the profile's atoms."""
    if bulk_density <= 0:
        raise AnalysisError(f"gibbs_dividing_surface: bulk density {bulk_density!r} must be positive")
    width = np.gradient(centres_nm)
    side = (centres_nm - z_inside_nm) * outward > 0
    held = float(np.sum(density[side] * width[side]))
    return z_inside_nm + outward * held / bulk_density


def first_layer_end(distance_nm: np.ndarray, density: np.ndarray, smooth_bins: int = 3) -> float:
    """Distance of the first minimum after the first maximum of a (lightly smoothed) profile from a wall."""
    kernel = np.ones(smooth_bins) / smooth_bins
    smooth = np.convolve(density, kernel, mode="same") if smooth_bins > 1 else density
    peak = int(np.argmax(smooth > 0.5 * smooth.max()))
    while peak + 1 < len(smooth) and smooth[peak + 1] >= smooth[peak]:
        peak += 1
    low = peak
    while low + 1 < len(smooth) and smooth[low + 1] <= smooth[low]:
        low += 1
    if low == len(smooth) - 1:
        raise AnalysisError("first_layer_end: the profile has no minimum after its first maximum")
    return float(distance_nm[low])


MIN_BULK_ATOMS_PER_FRAME = 1.0
"""An enrichment needs at least this many atoms of the class in the bulk region per frame (on average); below it
the bulk fraction is a handful of visits and the ratio is noise (seen: 130 for PF6- F in a demo gel cell whose
bulk region held its PF6- in one frame of 15), so it is reported as None."""


def composition(layer_counts: dict[str, float], bulk_counts: dict[str, float]) -> tuple[dict, dict]:
    """Fractions of each class in the layer (counts are atoms per frame), and enrichment = layer fraction / bulk
    fraction; None when the class has fewer than ``MIN_BULK_ATOMS_PER_FRAME`` atoms per frame in the bulk."""
    n_layer = sum(layer_counts.values())
    n_bulk = sum(bulk_counts.values())
    if n_layer <= 0 or n_bulk <= 0:
        raise AnalysisError(f"composition: empty layer ({n_layer}) or bulk ({n_bulk}) counts")
    classes = sorted(set(layer_counts) | set(bulk_counts))
    fractions = {c: layer_counts.get(c, 0.0) / n_layer for c in classes}
    enrichment = {c: (fractions[c] / (bulk_counts[c] / n_bulk)
                      if bulk_counts.get(c, 0.0) >= MIN_BULK_ATOMS_PER_FRAME else None)
                  for c in classes}
    return fractions, enrichment


def _cv(counts: np.ndarray) -> float:
    mean = counts.mean()
    return float(counts.std() / mean) if mean > 0 else float("nan")


@dataclass(frozen=True)
class Homogeneity:
    value: float
    stderr: float
    cv: float
    cv_stderr: float
    random_cv: float
    random_cv_stderr: float
    n_blocks: int
    mean_ions_per_frame: float


def homogeneity_index(xy_frames: Sequence[np.ndarray], box_xy_nm: tuple[float, float], n_bins: int, n_blocks: int,
                      seed: int = 0, n_random: int = 20) -> Homogeneity:
    """CV of the binned 2D density of ``xy_frames`` (positions per frame) against a random arrangement."""
    frames = [np.asarray(xy, dtype=float).reshape(-1, 2) for xy in xy_frames]
    if len(frames) < n_blocks or n_blocks < 2:
        raise AnalysisError(f"homogeneity_index: {len(frames)} frames for {n_blocks} blocks (need >= 2 blocks and a "
                            "frame per block)")
    if sum(len(f) for f in frames) == 0:
        raise AnalysisError("homogeneity_index: no ions in the layer in any frame")
    edges = [np.linspace(0.0, box_xy_nm[k], n_bins + 1) for k in range(2)]
    rng = np.random.default_rng(seed)
    blocks = np.array_split(np.arange(len(frames)), n_blocks)
    cvs, randoms = [], []
    for block in blocks:
        counts = np.zeros((n_bins, n_bins))
        for i in block:
            wrapped = np.mod(frames[i], box_xy_nm)
            counts += np.histogram2d(wrapped[:, 0], wrapped[:, 1], bins=edges)[0]
        cvs.append(_cv(counts))
        block_random = []
        for _ in range(n_random):
            random_counts = np.zeros((n_bins, n_bins))
            for i in block:
                xy = rng.random((len(frames[i]), 2)) * box_xy_nm
                random_counts += np.histogram2d(xy[:, 0], xy[:, 1], bins=edges)[0]
            block_random.append(_cv(random_counts))
        randoms.append(float(np.mean(block_random)))
    cvs, randoms = np.array(cvs), np.array(randoms)
    ratios = cvs / randoms
    sem = lambda x: float(x.std(ddof=1) / np.sqrt(len(x)))  # noqa: E731
    return Homogeneity(value=float(ratios.mean()), stderr=sem(ratios), cv=float(cvs.mean()), cv_stderr=sem(cvs),
                       random_cv=float(randoms.mean()), random_cv_stderr=sem(randoms), n_blocks=n_blocks,
                       mean_ions_per_frame=float(np.mean([len(f) for f in frames])))


def potential_profile_V(edges_nm: np.ndarray, charge_per_bin_e: np.ndarray, area_nm2: float) -> np.ndarray:
    """Electric potential (V) at the bin centres from the laterally averaged charge (e per bin), periodic cell.

    d2phi/dz2 = -rho/eps0; E(z) = (1/eps0) * cumulative charge per area, shifted so that <E> = 0 (a periodic,
    neutral cell has no net field), phi = -integral E dz, phi(first bin) = 0.
    """
    width = np.diff(edges_nm)
    sigma = np.cumsum(charge_per_bin_e) * ELEMENTARY_CHARGE_C / (area_nm2 * 1e-18)  # C/m^2 below each bin's top
    field = sigma / VACUUM_PERMITTIVITY_F_PER_M  # V/m at the bin tops
    field = field - np.sum(field * width) / np.sum(width)
    phi_tops = -np.cumsum(field * width * 1e-9)
    centres = 0.5 * (edges_nm[1:] + edges_nm[:-1])
    tops = edges_nm[1:]
    phi = np.interp(centres, tops, phi_tops)
    return phi - phi[0]


# ------------------------------------------------------------------------------------ atoms and files

METAL_RESIDUE = "NAM"
CATION_RESIDUE = "NA"


def atom_class(element: str, residue: str, neighbours: Sequence[str]) -> str:
    """Named class of an atom from its element, residue and bonded neighbours' elements.

    Na+ (residue NA), PF6- P and F, carbonyl O (one bond, to C), ether/ester O (two bonds, to C), nitrate N and O,
    ammonium N (four bonds), amine N (three bonds, not to O), C-F fluorine; otherwise the element symbol.
    """
    n = sorted(neighbours)
    if residue == METAL_RESIDUE:
        return "metal"
    if residue == CATION_RESIDUE and element == "Na":
        return "Na+"
    if element == "P":
        return "PF6- P"
    if element == "F":
        return "PF6- F" if "P" in n else "C-F F"
    if element == "O":
        if "N" in n:
            return "nitrate O"
        if len(n) == 1:
            return "carbonyl O" if n == ["C"] else "O"
        return "ether/ester O" if n == ["C", "C"] else "O"
    if element == "N":
        if n.count("O") == 3:
            return "nitrate N"
        return "ammonium N" if len(n) == 4 else "amine N"
    return element


def read_cell_topology(pdb_path: str):
    """(classes per atom, residue names per atom, residue index per atom, element per atom) of a cell PDB."""
    from openmm import app

    topology = app.PDBFile(str(pdb_path)).topology
    atoms = list(topology.atoms())
    neighbours: dict[int, list[str]] = {a.index: [] for a in atoms}
    for a, b in topology.bonds():
        neighbours[a.index].append(b.element.symbol if b.element else b.name)
        neighbours[b.index].append(a.element.symbol if a.element else a.name)
    elements = [a.element.symbol if a.element else a.name for a in atoms]
    residues = [a.residue.name for a in atoms]
    classes = [atom_class(e, r, neighbours[a.index]) for e, r, a in zip(elements, residues, atoms)]
    residue_index = np.array([a.residue.index for a in atoms])
    return np.array(classes), np.array(residues), residue_index, np.array(elements)


@dataclass
class CellGeometry:
    """What the analysis needs from cell.json (nm)."""

    area_nm2: float
    box_nm: np.ndarray
    surface_planes_z_nm: tuple[float, float]
    planes_per_slab: int
    plane_spacing_nm: float
    atoms_per_slab: int
    electrodes: tuple[tuple[int, int], tuple[int, int]]

    @classmethod
    def from_json(cls, data: dict) -> "CellGeometry":
        return cls(area_nm2=float(data["area_nm2"]), box_nm=np.asarray(data["box_nm"], dtype=float),
                   surface_planes_z_nm=tuple(data["surface_planes_z_nm"]), planes_per_slab=int(data["planes_per_slab"]),
                   plane_spacing_nm=float(data["plane_spacing_nm"]), atoms_per_slab=int(data["atoms_per_slab"]),
                   electrodes=tuple(tuple(e) for e in data["electrodes"]))

    @property
    def metal_bulk_density(self) -> float:
        return self.atoms_per_slab / (self.area_nm2 * self.planes_per_slab * self.plane_spacing_nm)


def _block_mean(values: np.ndarray, blocks: int) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    parts = [p.mean() for p in np.array_split(values, min(blocks, len(values))) if len(p)]
    err = float(np.std(parts, ddof=1) / np.sqrt(len(parts))) if len(parts) > 1 else float("nan")
    return float(values.mean()), err


def _electrode_charges(run_dir, blocks: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Block mean and stderr (e) of the total charge of each electrode over a run (charges.csv)."""
    charges = np.genfromtxt(run_dir / "charges.csv", delimiter=",", names=True)
    return tuple(_block_mean(np.atleast_1d(charges[f"electrode{k}_charge_e"]), blocks) for k in (0, 1))


def _mean_charges(run_dir) -> np.ndarray:
    """Time-averaged charge (e) of every particle of a run (mean_charges.csv)."""
    import csv

    with open(run_dir / "mean_charges.csv") as handle:
        return np.array([float(row["mean_charge_e"]) for row in csv.DictReader(handle)])


def _charge_histogram(z: np.ndarray, metal: np.ndarray, mean_charges: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean charge (e) per z bin: the electrolyte's averaged over frames, the (frozen) metal's from frame 0."""
    charge_bins = np.zeros(len(edges) - 1)
    for frame in z:
        charge_bins += np.histogram(frame[~metal], bins=edges, weights=mean_charges[~metal])[0]
    return charge_bins / len(z) + np.histogram(z[0, metal], bins=edges, weights=mean_charges[metal])[0]


def _species_profiles(z: np.ndarray, classes: np.ndarray, residues: np.ndarray, residue_index: np.ndarray,
                      metal: np.ndarray, area_nm2: float, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Number-density profiles (1/nm^3) along z of every atom class ('atoms:<class>') and of the mean-z centre
    of every residue name ('residue:<name>') of the electrolyte."""
    profiles = {}
    for name in sorted(set(classes[~metal])):
        profiles[f"atoms:{name}"] = density_profile(list(z[:, classes == name]), area_nm2, edges)
    for residue in sorted(set(residues[~metal])):
        members = residue_index[residues == residue]
        ids = np.unique(members)
        slot = np.searchsorted(ids, members)
        size = np.bincount(slot)
        centre_z = np.stack([np.bincount(slot, weights=frame[residues == residue]) / size for frame in z])
        profiles[f"residue:{residue}"] = density_profile(list(centre_z), area_nm2, edges)
    return profiles


def analyse_run(run_dir, classes: np.ndarray, residues: np.ndarray, residue_index: np.ndarray, geometry: CellGeometry,
                *, bin_nm: float, homogeneity_depth_nm: float, n_bins_2d: int, blocks: int, seed: int) -> dict:
    """Profiles, first layer, Na+ homogeneity and electrode charges of one interface run folder."""
    from pathlib import Path

    from common.dcd import read_positions

    run_dir = Path(run_dir)
    positions, _, _ = read_positions(run_dir / "trajectory.dcd")
    if len(positions) < blocks:
        raise AnalysisError(f"{run_dir}: {len(positions)} frames; the analysis needs at least {blocks} (blocks)")
    box = geometry.box_nm
    z = np.mod(positions[:, :, 2], box[2])
    edges = np.arange(0.0, box[2] + bin_nm, bin_nm)
    centres = 0.5 * (edges[1:] + edges[:-1])
    metal = classes == "metal"
    electrolyte_heavy = ~metal & (classes != "H")
    first, last = geometry.electrodes
    index = np.arange(len(classes))
    slab_a = (index >= first[0]) & (index <= first[1])
    slab_b = (index >= last[0]) & (index <= last[1])
    rho_b = geometry.metal_bulk_density
    top_a, bottom_b = geometry.surface_planes_z_nm
    half = 0.5 * (geometry.planes_per_slab - 1) * geometry.plane_spacing_nm
    gds_a = gibbs_dividing_surface(centres, density_profile(list(z[:, slab_a]), geometry.area_nm2, edges), rho_b,
                                   top_a - half, +1)
    gds_b = gibbs_dividing_surface(centres, density_profile(list(z[:, slab_b]), geometry.area_nm2, edges), rho_b,
                                   bottom_b + half, -1)
    mid = 0.5 * (gds_a + gds_b)
    distance = np.where(z < mid, z - gds_a, gds_b - z)  # from the nearer metal's Gibbs surface
    d_edges = np.arange(-0.3, 0.5 * (gds_b - gds_a) + bin_nm, bin_nm)
    d_centres = 0.5 * (d_edges[1:] + d_edges[:-1])
    heavy_profile = density_profile(list(distance[:, electrolyte_heavy]), 2 * geometry.area_nm2, d_edges)
    layer_end = first_layer_end(d_centres, heavy_profile)
    bulk_from = 0.5 * (gds_b - gds_a) * (2.0 / 3.0)
    layer_counts, bulk_counts = {}, {}
    for name in sorted(set(classes[electrolyte_heavy])):
        mask = classes == name
        d = distance[:, mask]
        layer_counts[name] = float(np.sum(d < layer_end)) / len(z)
        bulk_counts[name] = float(np.sum(d >= bulk_from)) / len(z)
    fractions, enrichment = composition(layer_counts, bulk_counts)
    sodium = classes == "Na+"
    xy_frames = [np.mod(positions[f, sodium][distance[f, sodium] < homogeneity_depth_nm, :2], box[:2])
                 for f in range(len(positions))]
    homogeneity = None
    if sum(len(x) for x in xy_frames):
        homogeneity = homogeneity_index(xy_frames, (box[0], box[1]), n_bins_2d, blocks, seed=seed)
    (q0, q0_err), (q1, q1_err) = _electrode_charges(run_dir, blocks)
    mean_charges = _mean_charges(run_dir)
    facing_a = float(mean_charges[slab_a & (z[0] > top_a - half)].sum())
    facing_b = float(mean_charges[slab_b & (z[0] < bottom_b + half)].sum())
    charge_bins = _charge_histogram(z, metal, mean_charges, edges)
    potential = potential_profile_V(edges, charge_bins, geometry.area_nm2)
    profiles = {"z_nm": centres, "metal": density_profile(list(z[:, metal]), geometry.area_nm2, edges),
                "charge_e_per_nm3": charge_bins / (geometry.area_nm2 * bin_nm), "potential_V": potential}
    profiles.update(_species_profiles(z, classes, residues, residue_index, metal, geometry.area_nm2, edges))
    inside = (centres > gds_a + 0.1) & (centres < gds_b - 0.1)
    result = {
        "frames": int(len(z)),
        "gibbs_dividing_surfaces_z_nm": [gds_a, gds_b],
        "first_layer": {"end_distance_from_gibbs_surface_nm": layer_end, "composition": fractions,
                        "enrichment": enrichment, "atoms_per_frame": layer_counts,
                        "bulk_region_distance_from_gibbs_surface_nm": [bulk_from, 0.5 * (gds_b - gds_a)]},
        "na_homogeneity_index": None if homogeneity is None else {
            **{k: getattr(homogeneity, k) for k in ("value", "stderr", "cv", "cv_stderr", "random_cv",
                                                   "random_cv_stderr", "mean_ions_per_frame")},
            "blocks": homogeneity.n_blocks, "depth_nm": homogeneity_depth_nm, "bins_per_side": n_bins_2d},
        "electrode_charge_e": {"electrode0": {"value": q0, "stderr": q0_err},
                               "electrode1": {"value": q1, "stderr": q1_err},
                               "electrolyte_facing_half": [facing_a, facing_b]},
        "surface_charge_density_uC_per_cm2": [facing_a * ELEMENTARY_CHARGE_C * 1e6 / (geometry.area_nm2 * 1e-14),
                                              facing_b * ELEMENTARY_CHARGE_C * 1e6 / (geometry.area_nm2 * 1e-14)],
        "potential_drop_V": float(np.interp(bottom_b + half, centres, potential)
                                  - np.interp(top_a - half, centres, potential)),
        "potential_profile_between_metals": {"min_V": float(potential[inside].min()) if inside.any() else None,
                                             "max_V": float(potential[inside].max()) if inside.any() else None},
    }
    return {"result": result, "profiles": profiles, "xy_frames": xy_frames}


PROFILE_CLASSES = ("Na+", "PF6- P", "carbonyl O", "ether/ester O", "amine N", "ammonium N", "nitrate N")
"""The atoms the issue names: Na+, PF6- P, carbonyl O, amine N of BMP, ester O of TPA, TEA N, nitrate N."""
SCHEMA = "gelmd.analysis.interface/1"


def _write_profiles_csv(path, profiles: dict) -> None:
    from common.io import write_text_atomic

    keys = list(profiles)
    lines = [",".join(keys)] + [",".join(f"{profiles[k][i]:.6g}" for k in keys) for i in range(len(profiles[keys[0]]))]
    write_text_atomic(path, "\n".join(lines) + "\n")


def _plot(out_dir, label: str, analysed: dict, box_xy: tuple[float, float], n_bins: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profiles, result = analysed["profiles"], analysed["result"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for name in PROFILE_CLASSES:
        key = f"atoms:{name}"
        if key in profiles and profiles[key].max() > 0:
            top.plot(profiles["z_nm"], profiles[key], label=name)
    for z in result["gibbs_dividing_surfaces_z_nm"]:
        top.axvline(z, color="grey", ls="--", lw=0.8)
        bottom.axvline(z, color="grey", ls="--", lw=0.8)
    top.set_ylabel("number density (nm$^{-3}$)")
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=7)
    top.set_title(f"bias {label}: profiles (dashed: metal Gibbs surfaces)")
    bottom.plot(profiles["z_nm"], profiles["potential_V"], color="k")
    bottom.set_xlabel("z (nm)")
    bottom.set_ylabel("potential (V)")
    figure.tight_layout()
    profile_png = f"{out_dir}/profiles_{label}.png"
    figure.savefig(profile_png, dpi=110)
    plt.close(figure)
    xy = np.concatenate([f for f in analysed["xy_frames"] if len(f)] or [np.zeros((0, 2))])
    figure, axis = plt.subplots(figsize=(5, 4.5))
    counts, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=n_bins, range=[[0, box_xy[0]], [0, box_xy[1]]])
    image = axis.imshow(counts.T / max(len(analysed["xy_frames"]), 1), origin="lower",
                        extent=[0, box_xy[0], 0, box_xy[1]], cmap="viridis")
    figure.colorbar(image, label="Na$^+$ per bin per frame")
    index = result["na_homogeneity_index"]
    text = "no Na+ in the layer" if index is None else f"index {index['value']:.2f} ± {index['stderr']:.2f}"
    axis.set_title(f"Na$^+$ within the first layers, bias {label}: {text}", fontsize=9)
    axis.set_xlabel("x (nm)")
    axis.set_ylabel("y (nm)")
    figure.tight_layout()
    map_png = f"{out_dir}/na_map_{label}.png"
    figure.savefig(map_png, dpi=110)
    plt.close(figure)
    return [profile_png, map_png]


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis.interface", description=__doc__.splitlines()[0])
    parser.add_argument("--cell", required=True, help="cell.json of the cell builder")
    parser.add_argument("--topology", required=True, help="cell.pdb")
    parser.add_argument("--run", action="append", nargs=2, metavar=("LABEL", "DIR"), required=True,
                        help="a run folder of simulation.interface and its label (e.g. 0V DIR); the first is the "
                             "unbiased reference, the second the plating bias")
    parser.add_argument("--system-name", required=True)
    parser.add_argument("--bin", default="0.05 nm", help="z bin width")
    parser.add_argument("--homogeneity-depth", required=True, help='Na+ counted within this of a Gibbs surface')
    parser.add_argument("--bins-2d", type=int, required=True, help="2D bins per side of the Na+ maps")
    parser.add_argument("--blocks", type=int, required=True, help="blocks for standard errors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ion-charge-scale", type=float, required=True)
    parser.add_argument("--out-dir", required=True)
    return parser


def main(argv=None) -> int:
    from pathlib import Path

    from common.cli import run_main
    from common.io import read_json, write_json_atomic
    from common.units import parse_quantity

    args = build_parser().parse_args(argv)

    def body() -> None:
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        cell = read_json(args.cell, "cell report")
        geometry = CellGeometry.from_json(cell)
        classes, residues, residue_index, _ = read_cell_topology(args.topology)
        runs, files = {}, []
        for label, folder in args.run:
            analysed = analyse_run(folder, classes, residues, residue_index, geometry,
                                   bin_nm=parse_quantity(args.bin, "length"),
                                   homogeneity_depth_nm=parse_quantity(args.homogeneity_depth, "length"),
                                   n_bins_2d=args.bins_2d, blocks=args.blocks, seed=args.seed)
            run_report = read_json(Path(folder) / "run.json", "interface run report")
            analysed["result"]["run"] = {k: run_report[k] for k in (
                "bias_V", "electrode_potentials_V", "ensemble", "temperature_K", "timestep_ps", "equilibration_ps",
                "production_ps", "frame_interval_ps", "constant_potential_method", "wall_time_s")}
            _write_profiles_csv(out / f"profiles_{label}.csv", analysed["profiles"])
            files += [f"profiles_{label}.csv"] + [Path(p).name for p in _plot(out, label, analysed,
                                                                               tuple(geometry.box_nm[:2]), args.bins_2d)]
            runs[label] = analysed["result"]
        labels = [label for label, _ in args.run]
        reference, biased = runs[labels[0]], runs[labels[-1]]
        write_json_atomic(out / "interface.json", {
            "schema": SCHEMA, "system": args.system_name,
            "first_layer": reference["first_layer"],
            "na_homogeneity_index": reference["na_homogeneity_index"],
            "bias_V": biased["run"]["bias_V"],
            "electrode_charge_e": biased["electrode_charge_e"],
            "runs": runs,
            "method": {
                "cell": {k: cell[k] for k in ("orientation", "lattice_constant_nm", "box_nm", "area_nm2",
                                              "planes_per_slab", "electrolyte_thickness_nm", "gap_nm", "metal_model",
                                              "metal_lj", "eam", "gaussian_width_nm", "network_bonds_cut",
                                              "network_bonds_cut_per_nm2_per_surface")},
                "ion_charge_scale": args.ion_charge_scale,
                "first_layer": "electrolyte heavy atoms from the metal's Gibbs dividing surface to the first minimum "
                               "of their density; enrichment over the central third of the electrolyte",
                "na_homogeneity_index": "CV of Na+ counts on a bins-2d^2 grid within homogeneity depth of either "
                                        "surface, summed per block, over the CV of as many random positions; "
                                        "stderr over blocks",
                "potential": "1D Poisson of the laterally averaged fixed and mean electrode charges (point charges)",
                "limits": "classical non-reactive MD: adsorption and ordering, no SEI chemistry; short runs are not "
                          "converged (see the stderr fields and frames)",
            },
            "files": files,
        })

    return run_main("analysis.interface", body)


if __name__ == "__main__":
    raise SystemExit(main())
