"""Static dielectric constant of a molecular liquid from the fluctuations of the box dipole.

Physics
-------
With Ewald/PME electrostatics and conducting ("tin-foil") boundary conditions, which is what OpenMM's PME
implies, the static relative permittivity of a rigid-charge model follows from the fluctuations of the
total dipole moment M of the periodic box (Neumann, Mol. Phys. 50 (1983) 841; de Leeuw, Perram & Smith,
Proc. R. Soc. A 373 (1980) 27)::

    eps = 1 + (<M.M> - <M>.<M>) / (3 eps0 V kB T)

with M in C m, V the (mean) box volume in m^3 and eps0 the vacuum permittivity. A fixed-charge model has no
electronic polarisability: its high-frequency permittivity is 1, not n^2 ~ 2 (PC: n_D = 1.42), so the
model's eps is compared with experiment as it is (the usual convention), and the report says so.

M is the sum of molecular dipoles, each computed with the molecule made whole by the minimum image of every
atom relative to the molecule's first atom (so a molecule split by the box or unwrapped per atom gives the
same dipole). Only neutral molecules are allowed: the dipole of a charged molecule depends on the origin and
the box dipole of an electrolyte carries the ionic current, whose fluctuations diverge (an electrolyte has
no static permittivity from this formula; :func:`box_dipoles` refuses it by name).

Uncertainty: eps is evaluated on ``n_blocks`` contiguous blocks of the frames, each block's <M.M> taken about
the whole run's <M> (a block's own mean would absorb the slow fluctuations of M and bias short blocks low), so
the block values average to the whole-run value; the reported stderr is their standard deviation over
sqrt(n_blocks). M decorrelates with the collective dipole relaxation time (PC: tens of ps; longer in a
sluggish model), so nanoseconds are needed for a few-per-cent error; a run of a few relaxation times
underestimates eps and its block error understates the uncertainty; the report gives frames and blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.trajectory import minimum_image
from common.errors import AnalysisError

ELEMENTARY_CHARGE_C = 1.602176634e-19
EPSILON0_F_PER_M = 8.8541878128e-12
BOLTZMANN_J_PER_K = 1.380649e-23
DEBYE_C_M = 3.33564095198e-30
E_NM_TO_C_M = ELEMENTARY_CHARGE_C * 1e-9
"""1 e nm in C m."""


def box_dipoles(positions_nm: np.ndarray, boxes_nm: np.ndarray, charges_e: np.ndarray,
                molecule_of_atom: np.ndarray, first_atom_of_molecule: np.ndarray,
                molecule_charge_e: np.ndarray | None = None, tolerance_e: float = 1e-4) -> np.ndarray:
    """Total dipole M (c, 3) in e nm of every frame: the sum of whole-molecule dipoles.

    Args:
        positions_nm: (c, N, 3) positions, nm (wrapped or unwrapped).
        boxes_nm: (c, 3, 3) box vectors as rows, nm.
        charges_e: (N,) partial charges, e.
        molecule_of_atom: (N,) molecule index of each atom.
        first_atom_of_molecule: (n_molecules,) reference atom of each molecule.
        molecule_charge_e: (n_molecules,) net charges; every one must be 0 within ``tolerance_e``.
    """
    positions = np.asarray(positions_nm, dtype=float)
    q = np.asarray(charges_e, dtype=float)
    mol = np.asarray(molecule_of_atom, dtype=int)
    if molecule_charge_e is None:
        molecule_charge_e = np.bincount(mol, weights=q)
    charged = np.flatnonzero(np.abs(np.asarray(molecule_charge_e)) > tolerance_e)
    if charged.size:
        raise AnalysisError(f"the static dielectric constant from box-dipole fluctuations needs neutral molecules; "
                            f"{charged.size} molecules carry a net charge (e.g. molecule {int(charged[0])}: "
                            f"{float(np.asarray(molecule_charge_e)[charged[0]]):+.4f} e): an electrolyte's box "
                            "dipole carries the ionic current")
    ref = positions[:, np.asarray(first_atom_of_molecule, dtype=int)[mol], :]
    whole = minimum_image(positions - ref, np.asarray(boxes_nm, dtype=float))
    return np.einsum("cni,n->ci", whole, q)


def dielectric_constant(dipoles_e_nm: np.ndarray, volume_nm3: float, temperature_K: float,
                        mean_e_nm: np.ndarray | None = None) -> float:
    """eps = 1 + (<M^2> - <M>^2) / (3 eps0 V kB T) of a dipole series (c, 3) in e nm (module docstring); with
    ``mean_e_nm`` the fluctuation is taken about that mean (e.g. the whole run's) instead of the series' own."""
    m = np.asarray(dipoles_e_nm, dtype=float) * E_NM_TO_C_M
    if m.ndim != 2 or m.shape[1] != 3 or m.shape[0] < 2:
        raise AnalysisError(f"a dipole series of shape (frames >= 2, 3) is needed, got {m.shape}")
    if volume_nm3 <= 0 or temperature_K <= 0:
        raise AnalysisError(f"volume {volume_nm3} nm^3 and temperature {temperature_K} K must be > 0")
    mean = np.mean(m, axis=0) if mean_e_nm is None else np.asarray(mean_e_nm, dtype=float) * E_NM_TO_C_M
    fluctuation = float(np.mean(np.sum(m * m, axis=1)) - np.sum(mean ** 2))
    return 1.0 + fluctuation / (3.0 * EPSILON0_F_PER_M * volume_nm3 * 1e-27 * BOLTZMANN_J_PER_K * temperature_K)


@dataclass(frozen=True)
class DielectricResult:
    """eps with its block stderr, the blocks, the mean |M| and the mean molecular dipole (Debye)."""

    value: float
    stderr: float
    block_values: list[float]
    n_frames: int
    mean_volume_nm3: float
    mean_molecular_dipole_D: float | None = None

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr, "block_values": self.block_values,
                "n_blocks": len(self.block_values), "n_frames": self.n_frames,
                "mean_volume_nm3": self.mean_volume_nm3, "mean_molecular_dipole_D": self.mean_molecular_dipole_D,
                "estimator": "1 + (<M.M> - <M>.<M>)/(3 eps0 V kB T), tin-foil boundary (PME)",
                "error": "standard deviation of the block estimates (each about the whole run's <M>) / "
                         "sqrt(n_blocks); understated when the run spans few dipole relaxation times"}


def dielectric_with_blocks(dipoles_e_nm: np.ndarray, volumes_nm3: np.ndarray, temperature_K: float,
                           n_blocks: int = 5) -> DielectricResult:
    """eps over all frames (mean volume) and its block standard error (``n_blocks`` contiguous blocks)."""
    m = np.asarray(dipoles_e_nm, dtype=float)
    v = np.asarray(volumes_nm3, dtype=float)
    if n_blocks < 2 or m.shape[0] < 2 * n_blocks:
        raise AnalysisError(f"{m.shape[0]} frames cannot make {n_blocks} blocks of >= 2 frames (n_blocks >= 2)")
    value = dielectric_constant(m, float(v.mean()), temperature_K)
    edges = np.linspace(0, m.shape[0], n_blocks + 1).astype(int)
    mean = m.mean(axis=0)
    blocks = [dielectric_constant(m[a:b], float(v[a:b].mean()), temperature_K, mean)
              for a, b in zip(edges[:-1], edges[1:])]
    stderr = float(np.std(blocks, ddof=1) / math.sqrt(n_blocks))
    return DielectricResult(value=float(value), stderr=stderr, block_values=[float(b) for b in blocks],
                            n_frames=int(m.shape[0]), mean_volume_nm3=float(v.mean()))
