"""Kohn–Sham DFT calls for the descriptors: molecules with ghost atoms, SCF on CPU or GPU, D3 dispersion,
population analysis.

Units: coordinates in Å at the boundary (converted by pyscf), energies in Hartree inside this module
(1 Eh = 27.211386245988 eV, CODATA 2018, :data:`HARTREE_TO_EV`).

- Closed shells use restricted KS (``RKS``), a molecule with one Na atom (odd electron count, doublet)
  unrestricted KS (``UKS``). Initial guess: pyscf's superposition of atomic densities (``minao``).
- Ghost atoms (counterpoise): pyscf's ``ghost-<El>`` atoms carry the basis functions and no nucleus or
  electrons. The DFT grid keeps their quadrature points; their partition weights follow Becke's scheme
  with the ghost centres included, so the monomer-in-dimer-basis energies are consistent with the dimer's.
- Dispersion: the D3(BJ) energy is a function of the nuclear positions only. It is evaluated on the real
  atoms (:func:`dispersion_energy`) and added to the electronic energies, never computed with ghosts.
- Backend: ``"cpu"`` runs pyscf; ``"gpu"`` moves the SCF object to gpu4pyscf (``mf.to_gpu()``, package
  ``gpu4pyscf-cuda12x`` from requirements-gpu.txt); ``"auto"`` picks the GPU when gpu4pyscf imports and
  CuPy sees a device. Only the CPU path is exercised by the tests (no GPU on the development machine).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.errors import ConfigError, DescriptorError
from descriptors.levels import Level

logger = logging.getLogger(__name__)

HARTREE_TO_EV = 27.211386245988
BOHR_TO_ANGSTROM = 0.52917721092  # pyscf's lib.param.BOHR, so that a saved geometry round-trips exactly

BACKENDS = ("auto", "cpu", "gpu")


def gpu_available() -> bool:
    """True when gpu4pyscf imports and CuPy sees at least one CUDA device."""
    try:
        import cupy
        import gpu4pyscf  # noqa: F401
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any import or driver failure means no usable GPU
        return False


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``gpu`` or ``cpu``; an explicit ``gpu`` without a usable GPU is an error."""
    if backend not in BACKENDS:
        raise ConfigError(f"descriptors.backend: {backend!r} is not allowed; allowed: {list(BACKENDS)}")
    if backend == "auto":
        return "gpu" if gpu_available() else "cpu"
    if backend == "gpu" and not gpu_available():
        raise DescriptorError("descriptors.backend: 'gpu' was asked for but gpu4pyscf/CuPy see no CUDA device "
                              "(pip install -r requirements-gpu.txt on a GPU machine, or use 'cpu'/'auto')")
    return backend


def make_molecule(elements: Sequence[str], coordinates_angstrom: np.ndarray, *, charge: int, basis: str,
                  ghost: Sequence[bool] | None = None):
    """A pyscf ``Mole``; atoms flagged in ``ghost`` become basis-only ghost atoms. Spin is the lowest the
    electron count allows (0 or 1)."""
    from pyscf import gto

    ghost = [False] * len(elements) if ghost is None else list(ghost)
    atoms = [(f"ghost-{el}" if g else el, tuple(map(float, xyz)))
             for el, xyz, g in zip(elements, np.asarray(coordinates_angstrom, float), ghost)]
    electrons = sum(_atomic_number(el) for el, g in zip(elements, ghost) if not g) - charge
    mol = gto.Mole(atom=atoms, basis=basis, charge=charge, spin=electrons % 2, unit="Angstrom", verbose=0)
    mol.build()
    return mol


def _atomic_number(element: str) -> int:
    from pyscf.data.elements import charge as nuclear_charge
    return int(nuclear_charge(element))


def make_scf(mol, level: Level, *, backend: str = "cpu", with_dispersion: bool = True):
    """An RKS/UKS object at ``level`` (not run). Dispersion is attached only when asked and only for
    molecules without ghost atoms (see module notes)."""
    from pyscf import dft

    mf = (dft.RKS if mol.spin == 0 else dft.UKS)(mol)
    mf.xc = level.xc
    mf.grids.level = level.grid_level
    mf.conv_tol = level.conv_tol
    mf.max_cycle = 150
    if level.density_fit:
        mf = mf.density_fit(auxbasis=level.auxbasis)
    if with_dispersion and level.dispersion:
        mf.disp = level.dispersion
    if backend == "gpu":
        mf = mf.to_gpu()
    return mf


@dataclass(frozen=True)
class ScfResult:
    """A converged SCF: total electronic (+ dispersion, if attached) energy in Hartree, orbital energies
    (Hartree; for UKS the alpha and beta sets), occupations, and the SCF object for population analysis."""

    energy_hartree: float
    mo_energy: np.ndarray
    mo_occ: np.ndarray
    mf: object
    cycles: int


def run_scf(mf, what: str, dm0=None) -> ScfResult:
    """Run ``mf`` (from density matrix ``dm0`` if given, else pyscf's ``minao`` guess); an SCF that does
    not converge is an error naming ``what`` (no silent use)."""
    energy = mf.kernel(dm0=dm0)
    if not mf.converged:
        # one retry with level shift and damping: slow but robust for the open-shell Na complexes
        mf.level_shift = 0.2
        mf.damp = 0.3
        energy = mf.kernel(dm0=mf.make_rdm1())
    if not mf.converged:
        raise DescriptorError(f"SCF of {what} did not converge in {mf.max_cycle} cycles "
                              f"(last energy {energy:.8f} Eh)")
    mo_energy = _to_numpy(mf.mo_energy)
    mo_occ = _to_numpy(mf.mo_occ)
    return ScfResult(float(energy), mo_energy, mo_occ, mf, int(getattr(mf, "cycles", -1)))


def _to_numpy(x):
    return x.get() if hasattr(x, "get") else np.asarray(x)


def lumo_homo_hartree(result: ScfResult) -> tuple[float, float]:
    """(LUMO, HOMO) orbital energies in Hartree: the lowest empty / highest filled KS orbital of either
    spin."""
    e = np.atleast_2d(result.mo_energy)
    occ = np.atleast_2d(result.mo_occ)
    return float(e[occ < 0.5].min()), float(e[occ > 0.5].max())


def dispersion_energy(elements: Sequence[str], coordinates_angstrom: np.ndarray, level: Level,
                      charge: int = 0) -> float:
    """The D3(BJ) (or configured) dispersion energy of the real atoms, Hartree; 0 without dispersion."""
    if not level.dispersion or len(elements) < 2:
        return 0.0
    from pyscf.scf.dispersion import get_dispersion

    mol = make_molecule(elements, coordinates_angstrom, charge=charge, basis="sto-3g")
    mf = make_scf(mol, level, backend="cpu", with_dispersion=True)
    return float(get_dispersion(mf))


def meta_lowdin_charges(result: ScfResult) -> np.ndarray:
    """Atomic charges (e) from the meta-Löwdin population analysis (Sun & Chan's orthogonalised
    atomic orbitals, pyscf ``mulliken_meta``, pre-orthogonalisation on ANO): basis-stable, unlike
    Mulliken's. Ghost atoms carry their (small) share of the density."""
    mf = result.mf
    if hasattr(mf, "to_cpu"):
        mf = mf.to_cpu()
    _, charges = mf.mulliken_meta(verbose=0)
    return np.asarray(charges, dtype=float)


def mulliken_charges(result: ScfResult) -> np.ndarray:
    """Mulliken atomic charges (e), reported beside the meta-Löwdin ones as the basis-sensitive check."""
    mf = result.mf
    if hasattr(mf, "to_cpu"):
        mf = mf.to_cpu()
    _, charges = mf.mulliken_pop(verbose=0)
    return np.asarray(charges, dtype=float)


def optimise(mf, *, frozen: Sequence[int] = (), max_steps: int, what: str, on_step=None):
    """geomeTRIC minimisation (pyscf's driver, default convergence criteria: energy 1e-6 Eh, gradient RMS
    3e-4 / max 4.5e-4 Eh/Bohr, step RMS 1.2e-3 / max 1.8e-3 Bohr). Atoms in ``frozen`` (0-based) are held
    by a geomeTRIC ``$freeze`` constraint. ``on_step(coordinates Å, energy Eh)`` is called after every
    energy + gradient evaluation (the checkpoint of :mod:`descriptors.progress`). Returns (converged,
    coordinates Å, steps)."""
    import os
    import tempfile

    from pyscf.geomopt.geometric_solver import kernel as geometric_kernel

    steps = {"n": 0}

    def count(envs):
        steps["n"] += 1
        if on_step is not None:
            on_step(np.asarray(envs["coords"], float).reshape(-1, 3) * BOHR_TO_ANGSTROM, float(envs["energy"]))

    constraints = None
    if frozen:
        fd, constraints = tempfile.mkstemp(suffix=".constraints", prefix="gelmd-freeze-")
        with os.fdopen(fd, "w") as fh:
            fh.write("$freeze\nxyz " + ",".join(str(i + 1) for i in frozen) + "\n")
    try:
        converged, mol_eq = geometric_kernel(mf, maxsteps=max_steps, constraints=constraints,
                                             callback=count, assert_convergence=False)
    except Exception as exc:  # noqa: BLE001 - geomeTRIC raises several of its own classes
        raise DescriptorError(f"geometry optimisation of {what} failed: {exc}") from exc
    finally:
        if constraints:
            os.unlink(constraints)
    return bool(converged), np.asarray(mol_eq.atom_coords(unit="Angstrom"), float), steps["n"]
