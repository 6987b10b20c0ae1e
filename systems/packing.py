"""Packing molecules into a periodic box with packmol (the PyPI ``packmol`` wheel ships the binary).

The box edge is chosen from the ideal volume of the contents divided by a packing density fraction
(the builders use 0.95 of the expected liquid density): a slightly loose start packs quickly and NPT
equilibration compresses it to the real density. Packmol's ``pbc`` mode keeps molecules ``tolerance`` apart across the periodic
boundaries too, so the first minimisation sees no overlaps through the box faces.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import packmol

from common.errors import GelmdError, InputFileError

PACKMOL_TOLERANCE_ANGSTROM = 2.0
SALT_DENSITY_G_PER_CM3 = 2.37  # crystalline NaPF6; only to size the initial box of a packing


@dataclass(frozen=True)
class PackItem:
    """``count`` copies of one molecule whose template coordinates (nm) and element symbols are given."""

    name: str
    count: int
    template_nm: np.ndarray
    elements: list[str]


def packmol_executable() -> Path:
    binary = Path(packmol.__file__).parent / "binaries" / "packmol"
    if binary.is_file():
        return binary
    found = shutil.which("packmol")
    if found is None:
        raise InputFileError("packmol binary not found: install the pinned 'packmol' package "
                             "(requirements.txt) or put packmol on PATH")
    return Path(found)


def _write_xyz(path: Path, item: PackItem) -> None:
    lines = [str(len(item.elements)), item.name]
    for symbol, (x, y, z) in zip(item.elements, item.template_nm * 10.0):
        lines.append(f"{symbol} {x:.5f} {y:.5f} {z:.5f}")
    path.write_text("\n".join(lines) + "\n")


def _read_xyz(path: Path, n_atoms: int) -> np.ndarray:
    lines = path.read_text().splitlines()
    if not lines or int(lines[0]) != n_atoms:
        raise GelmdError(f"packmol output {path} holds {lines[0] if lines else 0} atoms, expected {n_atoms}")
    coords = np.array([[float(v) for v in line.split()[1:4]] for line in lines[2:2 + n_atoms]])
    return coords / 10.0


def pack_box(items: list[PackItem], box_edge_nm: float, seed: int, workdir: Path | None = None) -> np.ndarray:
    """Pack ``items`` into a cubic periodic box of edge ``box_edge_nm``; return positions (nm) in item order.

    Raises GelmdError with packmol's own message when packmol cannot reach its tolerance.
    """
    n_atoms = sum(item.count * len(item.elements) for item in items)
    edge_A = box_edge_nm * 10.0
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        blocks = [
            f"tolerance {PACKMOL_TOLERANCE_ANGSTROM}",
            "filetype xyz",
            "output packed.xyz",
            f"seed {seed}",
            f"pbc 0. 0. 0. {edge_A:.4f} {edge_A:.4f} {edge_A:.4f}",
            "",
        ]
        for i, item in enumerate(items):
            if item.count == 0:
                continue
            _write_xyz(tmp / f"mol{i}.xyz", item)
            blocks += [f"structure mol{i}.xyz", f"  number {item.count}",
                       f"  inside box 0. 0. 0. {edge_A:.4f} {edge_A:.4f} {edge_A:.4f}", "end structure", ""]
        (tmp / "pack.inp").write_text("\n".join(blocks))
        with open(tmp / "pack.inp") as stdin:
            run = subprocess.run([str(packmol_executable())], stdin=stdin, cwd=tmp, capture_output=True, text=True)
        output = tmp / "packed.xyz"
        if run.returncode != 0 or not output.exists() or "Success!" not in run.stdout:
            tail = "\n".join(run.stdout.splitlines()[-15:])
            raise GelmdError(f"packmol could not pack {n_atoms} atoms into a {box_edge_nm:.3f} nm box "
                             f"(exit {run.returncode}); lower the packing density or the system size.\n{tail}")
        return _read_xyz(output, n_atoms)
