"""RESP atomic charges: HF/6-31G* electrostatic potential + two-stage restrained fit (Bayly et al. 1993).

Physics and conventions
-----------------------
1. Geometry: one conformer from RDKit ETKDGv3 with a fixed seed, optimised with MMFF94 (the default), or
   further optimised at the HF level with pyscf + geomeTRIC (``geometry="hf"``, needs the optional
   ``geometric`` package). Coordinates are in Å.
2. Wavefunction: closed-shell RHF with the 6-31G* basis using **Cartesian d functions** (6d), which is
   what Gaussian and GAMESS use for 6-31G* and so what the Amber RESP charges were derived with. The SCF
   uses density fitting of the Coulomb and exchange integrals (RI-JK, auxiliary basis
   ``def2-universal-jkfit``, Weigend 2008) unless ``density_fit=False``; the ESP itself is evaluated from
   the converged density matrix with exact one-electron integrals. The DF error on charges is ~1e-4 e.
3. ESP: on the Merz–Kollman points of :mod:`forcefields.esp_grid`, in atomic units (Hartree per
   elementary charge, i.e. the potential energy of a +1 e probe in Hartree)::

       V(r) = sum_A Z_A / |r - R_A|  -  sum_{mu nu} D_{mu nu} (mu | 1/|r' - r| | nu)

   with distances in Bohr (1 Bohr = 0.529177210903 Å).  The electronic integrals come from pyscf's
   ``int1e_grids`` (all points of a batch at once, batches sized to a memory budget).
4. Fit: point charges q_j (e) at the nuclei minimise

       chi^2(q) = sum_i (V_i - sum_j q_j / r_ij)^2  +  a * sum_{j restrained} (sqrt(q_j^2 + b^2) - b)

   with r_ij in Bohr, V in au, b = 0.1 e, no normalisation by the number of points (the convention of the
   Amber ``resp`` program, so that ``a`` has its published meaning). The normal equations are
   ``(A + diag(a / sqrt(q^2 + b^2))) q = B`` with ``A_jk = sum_i 1/(r_ij r_ik)`` (Bohr^-2) and
   ``B_j = sum_i V_i / r_ij``; because the restraint term depends on q they are solved again until the
   largest charge change is below ``tolerance`` (1e-6 e). Linear constraints (total charge, fixed group
   sums) enter by Lagrange multipliers; equivalent atoms share one fitted parameter.
5. Two stages (Bayly, Cieplak, Cornell & Kollman, J. Phys. Chem. 97 (1993) 10269; Cornell et al. 1993):
   stage 1 restrains every heavy atom with a = 0.0005 au (hydrogens free), with all chemically
   equivalent atoms constrained equal except the hydrogens of methyl and methylene groups; stage 2 refits
   only the methyl/methylene (sp3 CH3 and CH2) carbons and their hydrogens with a = 0.001 au on the
   carbons, with equivalent atoms equal, all other charges fixed at their stage-1 values.
   Chemical equivalence is RDKit's topological symmetry, ``Chem.CanonicalRankAtoms(mol, breakTies=False)``.

Quality measures reported: RMS = sqrt(mean_i (V_i - V_fit,i)^2) in au and the relative RMS
RRMS = sqrt(sum_i (V_i - V_fit,i)^2 / sum_i V_i^2) (dimensionless), for the unrestrained ESP fit and both
RESP stages.

Capped fragments (polymer units): ``charge_groups=[(atom_indices, total_e), ...]`` constrains the sum of
the charges of each group (e.g. the capping atoms to 0 e, so the remaining unit carries the integer
molecular charge) in the ESP fit and both stages.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from common.errors import ChargeError
from forcefields.esp_grid import ANGSTROM_TO_BOHR, EspGrid, mk_grid

logger = logging.getLogger(__name__)

#: Defaults of the standard Amber two-stage RESP.
RESP_A_STAGE1 = 0.0005
RESP_A_STAGE2 = 0.001
RESP_B = 0.1
DEFAULT_BASIS = "6-31G*"
DEFAULT_AUXBASIS = "def2-universal-jkfit"
DEFAULT_CONFORMER_SEED = 42
#: Memory for one batch of ``int1e_grids`` integrals (n_points x n_ao x n_ao doubles), bytes.
ESP_BATCH_BYTES = 256 * 1024 * 1024

ChargeGroup = tuple[Sequence[int], float]


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------

def embed_conformer(mol, seed: int = DEFAULT_CONFORMER_SEED, mmff_max_iters: int = 2000) -> tuple[np.ndarray, str]:
    """One 3D conformer of ``mol`` (RDKit Mol with explicit hydrogens): ETKDGv3 then MMFF94.

    The molecule is copied; ``mol`` is not changed. Returns the coordinates in Å, index-aligned with the
    atoms of ``mol``, and a one-line description for provenance. Falls back to UFF (and says so) where
    MMFF94 has no parameters for an atom.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    _require_explicit_hydrogens(mol)
    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(work, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(work, params) != 0:
            raise ChargeError(f"RDKit could not embed a 3D conformer of {Chem.MolToSmiles(mol)} (seed {seed})")
    if AllChem.MMFFHasAllMoleculeParams(work):
        status = AllChem.MMFFOptimizeMolecule(work, maxIters=mmff_max_iters)
        ff_name = "MMFF94"
    else:
        status = AllChem.UFFOptimizeMolecule(work, maxIters=mmff_max_iters)
        ff_name = "UFF (MMFF94 lacks parameters)"
    if status != 0:
        logger.warning("%s optimisation did not converge in %d iterations", ff_name, mmff_max_iters)
    xyz = np.array(work.GetConformer().GetPositions(), dtype=float)
    return xyz, f"RDKit ETKDGv3 seed {seed}, {ff_name} optimised (max {mmff_max_iters} iterations)"


def geometric_available() -> bool:
    """Whether the optional geomeTRIC optimiser (PyPI ``geometric``) can be imported."""
    try:
        import geometric  # noqa: F401
    except ImportError:
        return False
    return True


def optimize_geometry_hf(elements: Sequence[str], coordinates_angstrom: np.ndarray, charge: int, *,
                         basis: str = DEFAULT_BASIS, density_fit: bool = True,
                         auxbasis: str = DEFAULT_AUXBASIS, max_steps: int = 100) -> np.ndarray:
    """Minimise the RHF energy over the nuclear positions (pyscf gradients + geomeTRIC). Å in, Å out."""
    if not geometric_available():
        raise ChargeError("geometry='hf' needs the optional 'geometric' package (pip install geometric); "
                          "use geometry='mmff' without it")
    from pyscf.geomopt.geometric_solver import kernel as geometric_kernel

    pmol = _pyscf_molecule(elements, coordinates_angstrom, charge, basis)
    mf = _make_rhf(pmol, density_fit, auxbasis)
    converged, mol_eq = geometric_kernel(mf, maxsteps=max_steps)
    if not converged:
        raise ChargeError(f"HF/{basis} geometry optimisation did not converge in {max_steps} steps")
    return np.asarray(mol_eq.atom_coords(unit="Angstrom"), dtype=float)


# --------------------------------------------------------------------------------------------------
# ESP
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EspData:
    """Quantum-mechanical ESP of one molecule on its fitting grid.

    Attributes:
        elements: element symbols, atom order of the molecule.
        coordinates_angstrom: (n_atoms, 3) nuclear positions, Å.
        charge: total molecular charge, e.
        grid: the sampling points (Å; ``grid.points_bohr`` in Bohr).
        esp_au: (n_points,) potential of nuclei + electrons at the points, Hartree/e.
        scf_energy_hartree: converged RHF energy, Hartree.
        qm_method: method, basis and density-fitting description.
    """

    elements: tuple[str, ...]
    coordinates_angstrom: np.ndarray
    charge: int
    grid: EspGrid
    esp_au: np.ndarray
    scf_energy_hartree: float
    qm_method: str


def _pyscf_molecule(elements: Sequence[str], coordinates_angstrom: np.ndarray, charge: int, basis: str,
                    cart: bool = True):
    from pyscf import gto

    xyz = np.asarray(coordinates_angstrom, dtype=float)
    atoms = [(el, tuple(p)) for el, p in zip(elements, xyz)]
    try:
        # symmetry off and no reorientation: the grid is built in the frame of the given coordinates.
        pmol = gto.M(atom=atoms, unit="Angstrom", basis=basis, charge=int(charge), spin=0, cart=cart,
                     symmetry=False, verbose=0)
    except RuntimeError as exc:  # pyscf: odd electron count with spin=0
        raise ChargeError(f"cannot build a closed-shell molecule with charge {charge} from "
                          f"{len(elements)} atoms: {exc}") from exc
    return pmol


def _make_rhf(pmol, density_fit: bool, auxbasis: str, xc: str | None = None, solvent_eps: float | None = None):
    """RHF (``xc=None``) or restricted Kohn-Sham with functional ``xc``; IEF-PCM with dielectric constant
    ``solvent_eps`` when given (pyscf.solvent, SMD-free electrostatic continuum, Bondi radii x 1.2)."""
    from pyscf import dft, scf

    if xc is None:
        mf = scf.RHF(pmol)
    else:
        mf = dft.RKS(pmol)
        mf.xc = xc
    mf.conv_tol = 1e-9
    mf.max_cycle = 200
    if density_fit:
        mf = mf.density_fit(auxbasis=auxbasis)
    if solvent_eps is not None:
        mf = mf.PCM()
        mf.with_solvent.method = "IEF-PCM"
        mf.with_solvent.eps = float(solvent_eps)
    return mf


def _qm_method(basis: str, density_fit: bool, auxbasis: str, xc: str | None = None,
               solvent_eps: float | None = None, cart: bool = True) -> str:
    from pyscf import __version__ as pyscf_version

    df = f"density-fitted J/K (RI-JK, auxbasis {auxbasis})" if density_fit else "exact 4-index integrals"
    method = "RHF" if xc is None else f"RKS {xc}"
    shells = "Cartesian d" if cart else "spherical harmonics"
    medium = "gas phase" if solvent_eps is None else f"IEF-PCM eps={solvent_eps:g} (pyscf.solvent.pcm)"
    return f"{method}/{basis} ({shells}), {medium}, {df}, pyscf {pyscf_version}"


def electrostatic_potential(pmol, density_matrix: np.ndarray, points_bohr: np.ndarray,
                            batch_bytes: int = ESP_BATCH_BYTES) -> np.ndarray:
    """ESP of nuclei + electron density at ``points_bohr`` (Bohr), in Hartree/e.

    ``V(r) = sum_A Z_A/|r-R_A| - sum_{mu nu} D_{mu nu} <mu| 1/|r'-r| |nu>``; the integrals
    ``<mu|1/|r'-r_g||nu>`` of all points of a batch come from one ``int1e_grids`` call
    (n_batch x n_ao x n_ao doubles, batch sized to ``batch_bytes``).
    """
    points = np.asarray(points_bohr, dtype=float).reshape(-1, 3)
    nuc_xyz = pmol.atom_coords(unit="Bohr")
    nuc_z = pmol.atom_charges().astype(float)
    dist = np.linalg.norm(points[:, None, :] - nuc_xyz[None, :, :], axis=2)
    v_nuc = (nuc_z[None, :] / dist).sum(axis=1)
    nao = pmol.nao_nr()
    batch = max(1, int(batch_bytes // (8 * nao * nao)))
    v_el = np.empty(points.shape[0])
    dm = np.asarray(density_matrix)
    for start in range(0, points.shape[0], batch):
        ints = pmol.intor("int1e_grids", grids=points[start:start + batch])
        v_el[start:start + batch] = np.einsum("gij,ij->g", ints, dm, optimize=True)
    return v_nuc - v_el


def compute_esp(elements: Sequence[str], coordinates_angstrom: np.ndarray, charge: int, *,
                basis: str = DEFAULT_BASIS, density_fit: bool = True, auxbasis: str = DEFAULT_AUXBASIS,
                grid: EspGrid | None = None, xc: str | None = None, solvent_eps: float | None = None,
                cart: bool = True) -> EspData:
    """RHF ESP of a closed-shell molecule on Merz–Kollman points (or on ``grid`` if given).

    Args:
        elements: element symbols.
        coordinates_angstrom: (n_atoms, 3) positions in Å.
        charge: total charge in e (the molecule must have an even electron count).
        basis: Gaussian basis set name understood by pyscf (Cartesian d functions are used).
        density_fit: use RI-JK in the SCF (the ESP is always from exact one-electron integrals).
        auxbasis: auxiliary basis for density fitting.
        grid: sampling points; default the MK grid of :func:`forcefields.esp_grid.mk_grid`.
        xc: exchange-correlation functional (pyscf/libxc name) for Kohn-Sham DFT; None = RHF.
        solvent_eps: dielectric constant of an IEF-PCM continuum around the molecule (None: gas phase). The
            ESP is that of the solute's polarised density and nuclei; the surface charges are left out.
        cart: Cartesian d functions (6-31G* as in Amber RESP) or spherical harmonics (Dunning bases).
    """
    elements = tuple(str(e) for e in elements)
    xyz = np.asarray(coordinates_angstrom, dtype=float)
    if grid is None:
        grid = mk_grid(xyz, elements)
    t0 = time.perf_counter()
    pmol = _pyscf_molecule(elements, xyz, charge, basis, cart=cart)
    mf = _make_rhf(pmol, density_fit, auxbasis, xc=xc, solvent_eps=solvent_eps)
    energy = mf.kernel()
    if not mf.converged:
        logger.warning("RHF did not converge with DIIS; retrying with second-order SCF")
        mf = mf.newton()
        energy = mf.kernel(dm0=mf.make_rdm1())
        if not mf.converged:
            raise ChargeError(f"SCF ({xc or 'RHF'}/{basis}) did not converge for {''.join(elements)} (charge {charge})")
    esp = electrostatic_potential(pmol, mf.make_rdm1(), grid.points_bohr)
    logger.info("%s/%s: E = %.8f Hartree, %d AOs, ESP on %d points in %.1f s", xc or "RHF", basis, energy,
                pmol.nao_nr(), grid.n_points, time.perf_counter() - t0)
    return EspData(elements=elements, coordinates_angstrom=xyz, charge=int(charge), grid=grid, esp_au=esp,
                   scf_energy_hartree=float(energy),
                   qm_method=_qm_method(basis, density_fit, auxbasis, xc=xc, solvent_eps=solvent_eps, cart=cart))


# --------------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FitStage:
    """One charge fit: charges (e), ESP quality and iterations of the restraint loop."""

    name: str
    charges: np.ndarray
    rms_au: float
    rrms: float
    n_iterations: int
    restraint_a_au: float


@dataclass(frozen=True)
class RespResult:
    """Two-stage RESP charges of one molecule and how they were obtained.

    Attributes:
        charges: final (stage 2) charges in e, atom order of the input molecule.
        charges_stage1: stage-1 charges, e.
        charges_esp: unrestrained ESP-fit charges (same total charge, charge groups and stage-1
            equivalences), e.
        total_charge: the integer molecular charge, e.
        rrms, rms_au: relative and absolute RMS (Hartree/e) of the final charges against the QM ESP.
        rrms_stage1, rms_stage1_au: the same for stage 1; rrms_esp, rms_esp_au for the unrestrained fit.
        n_grid_points: number of ESP points.
        equivalence_classes: symmetry class of each atom (equal class -> constrained equal in stage 2).
        stage2_atoms: indices refitted in stage 2 (methyl/methylene C and their H).
        qm_method, grid_method, fit_method, conformer_method: one-line descriptions.
        scf_energy_hartree: RHF energy of the conformer, Hartree.
        elements, coordinates_angstrom: the molecule the charges belong to (Å).
        wall_time_s: time for geometry + QM + fit, s.
    """

    charges: np.ndarray
    charges_stage1: np.ndarray
    charges_esp: np.ndarray
    total_charge: int
    rrms: float
    rms_au: float
    rrms_stage1: float
    rms_stage1_au: float
    rrms_esp: float
    rms_esp_au: float
    n_grid_points: int
    equivalence_classes: tuple[int, ...]
    stage2_atoms: tuple[int, ...]
    qm_method: str
    grid_method: str
    fit_method: str
    conformer_method: str
    scf_energy_hartree: float
    elements: tuple[str, ...]
    coordinates_angstrom: np.ndarray
    charge_groups: tuple[tuple[tuple[int, ...], float], ...] = ()
    wall_time_s: float = 0.0
    stage_iterations: tuple[int, int] = (0, 0)
    extra: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, str]:
        """Flat string dictionary for residue-template provenance."""
        prov = {
            "charge_method": "RESP (two-stage, Bayly et al. J. Phys. Chem. 97 (1993) 10269)",
            "qm_method": self.qm_method,
            "esp_grid": self.grid_method,
            "resp_fit": self.fit_method,
            "conformer": self.conformer_method,
            "scf_energy_hartree": f"{self.scf_energy_hartree:.8f}",
            "esp_points": str(self.n_grid_points),
            "esp_rrms_stage1": f"{self.rrms_stage1:.5f}",
            "esp_rrms_resp": f"{self.rrms:.5f}",
            "esp_rms_resp_au": f"{self.rms_au:.6f}",
            "esp_rrms_unrestrained": f"{self.rrms_esp:.5f}",
            "total_charge_e": str(self.total_charge),
            "references": "RESP: Bayly, Cieplak, Cornell & Kollman, J. Phys. Chem. 97 (1993) 10269; MK grid: "
                          "Singh & Kollman, J. Comput. Chem. 5 (1984) 129 and Besler, Merz & Kollman, "
                          "J. Comput. Chem. 11 (1990) 431; Connolly dots: J. Appl. Cryst. 16 (1983) 548",
        }
        if self.charge_groups:
            prov["charge_groups"] = "; ".join(f"atoms {list(g)} sum {v:g} e" for g, v in self.charge_groups)
        prov.update({k: str(v) for k, v in self.extra.items()})
        return prov


def inverse_distance_matrix(points_angstrom: np.ndarray, coordinates_angstrom: np.ndarray) -> np.ndarray:
    """(n_points, n_atoms) matrix of 1/r_ij in 1/Bohr, from positions in Å."""
    d = np.linalg.norm(np.asarray(points_angstrom)[:, None, :] - np.asarray(coordinates_angstrom)[None, :, :],
                       axis=2) * ANGSTROM_TO_BOHR
    if np.any(d < 1e-6):
        raise ChargeError("an ESP point coincides with a nucleus")
    return 1.0 / d


def esp_fit_quality(inv_r: np.ndarray, esp_au: np.ndarray, charges: np.ndarray) -> tuple[float, float]:
    """(RMS in Hartree/e, RRMS) of the point-charge potential ``inv_r @ charges`` against ``esp_au``."""
    resid = esp_au - inv_r @ charges
    rms = float(np.sqrt(np.mean(resid ** 2)))
    rrms = float(np.sqrt(np.sum(resid ** 2) / np.sum(esp_au ** 2)))
    return rms, rrms


def _independent_rows(c: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Indices of a maximal set of linearly independent rows of ``c``."""
    if c.shape[0] == 0:
        return np.zeros(0, dtype=int)
    from scipy.linalg import qr

    _, r, piv = qr(c.T, pivoting=True, mode="economic")
    diag = np.abs(np.diag(r)) if r.size else np.zeros(0)
    rank = int(np.sum(diag > tol * max(1.0, diag.max() if diag.size else 1.0)))
    return np.sort(piv[:rank])


def _parameter_map(equivalence: Sequence[int], var_idx: np.ndarray) -> np.ndarray:
    """(n_variable, n_parameters) 0/1 matrix T mapping fitted parameters to variable atoms (q_var = T p).

    One parameter per distinct equivalence label among the variable atoms, in order of first appearance;
    equivalent atoms share it and so are constrained equal.
    """
    labels = [equivalence[i] for i in var_idx]
    uniq = list(dict.fromkeys(labels))
    t = np.zeros((var_idx.size, len(uniq)))
    for row, lab in enumerate(labels):
        t[row, uniq.index(lab)] = 1.0
    return t


def _constraint_rows(constraints: Sequence[ChargeGroup], q_fixed: np.ndarray, var_idx: np.ndarray,
                     t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear constraints ``C p = d`` on the parameters, linearly dependent rows dropped.

    Each (atom indices, summed charge in e) group becomes one row over the parameters; its right-hand side
    is the required sum less the fixed charges (e) in the group. A group of fixed atoms only is dropped if
    it already holds, otherwise refused.
    """
    n_atoms = q_fixed.size
    rows, rhs = [], []
    for atoms, value in constraints:
        atoms = np.asarray(list(atoms), dtype=int)
        if atoms.size and (atoms.min() < 0 or atoms.max() >= n_atoms):
            raise ChargeError(f"charge-group atom index out of range 0..{n_atoms - 1}: {atoms.tolist()}")
        row = np.zeros(n_atoms)
        row[atoms] = 1.0
        target = float(value) - float(q_fixed[atoms].sum())
        row_var = row[var_idx] @ t
        if not np.any(row_var):
            if abs(target) > 1e-6:
                raise ChargeError(f"charge group {atoms.tolist()} must sum to {value} e but its atoms are all "
                                  f"fixed and sum to {q_fixed[atoms].sum():.6f} e")
            continue
        rows.append(row_var)
        rhs.append(target)
    c = np.array(rows).reshape(-1, t.shape[1])
    d = np.array(rhs)
    keep = _independent_rows(c)
    return c[keep], d[keep]


def _solve_normal_equations(a_p: np.ndarray, b_p: np.ndarray, c: np.ndarray, d: np.ndarray, t: np.ndarray,
                            weights: np.ndarray | None) -> np.ndarray:
    """Charges (e) of the variable atoms from the bordered (Lagrange) system of the normal equations.

    Solves ``[[A_p + T^T diag(w) T, C^T], [C, 0]] [p, lambda] = [B_p, d]`` with ``A_p = T^T A T`` (Bohr^-2),
    ``B_p = T^T B`` and the restraint weights ``w = a / sqrt(q^2 + b^2)`` (au/e) of the previous
    iterate (``weights=None``: no restraint); returns ``T p``.
    """
    n_p, n_c = a_p.shape[0], c.shape[0]
    m = np.zeros((n_p + n_c, n_p + n_c))
    m[:n_p, :n_p] = a_p
    if weights is not None:
        m[:n_p, :n_p] += t.T @ np.diag(weights) @ t
    m[:n_p, n_p:] = c.T
    m[n_p:, :n_p] = c
    rhs_full = np.concatenate([b_p, d])
    try:
        sol = np.linalg.solve(m, rhs_full)
    except np.linalg.LinAlgError as exc:
        raise ChargeError(f"ESP fit matrix is singular ({exc}): too few ESP points or redundant "
                          "constraints") from exc
    return t @ sol[:n_p]


def _iterate_restraint(a_p: np.ndarray, b_p: np.ndarray, c: np.ndarray, d: np.ndarray, t: np.ndarray,
                       restrained_var: np.ndarray, *, a: float, b: float, tolerance: float,
                       max_iterations: int) -> tuple[np.ndarray, int]:
    """Variable-atom charges (e) and iteration count of the restrained fit.

    Starts from the unrestrained solution; with ``a > 0`` (au) re-solves with the weights
    ``a / sqrt(q^2 + b^2)`` (b in e) on the restrained atoms, taken from the previous charges, until the
    largest charge change is below ``tolerance`` (e); ``a == 0`` returns the ESP fit after 0 iterations.
    """
    q_var = _solve_normal_equations(a_p, b_p, c, d, t, None)
    n_iter = 0
    if a > 0:
        for n_iter in range(1, max_iterations + 1):
            weights = np.where(restrained_var, a / np.sqrt(q_var ** 2 + b ** 2), 0.0)
            q_new = _solve_normal_equations(a_p, b_p, c, d, t, weights)
            change = float(np.max(np.abs(q_new - q_var)))
            q_var = q_new
            if change < tolerance:
                break
        else:
            raise ChargeError(f"RESP restraint iterations did not converge to {tolerance} e in "
                              f"{max_iterations} iterations (last change {change:.2e} e)")
    return q_var, n_iter


def _check_constraints(q: np.ndarray, constraints: Sequence[ChargeGroup]) -> None:
    """Every charge group sums to its value within 1e-6 e (also the ones dropped as linearly dependent)."""
    for atoms, value in constraints:
        total = float(q[np.asarray(list(atoms), dtype=int)].sum())
        if abs(total - float(value)) > 1e-6:
            raise ChargeError(f"inconsistent charge constraints: group {list(atoms)} sums to {total:.6f} e, "
                              f"required {value} e")


def restrained_fit(inv_r: np.ndarray, esp_au: np.ndarray, *, variable: np.ndarray,
                   fixed_charges: np.ndarray, equivalence: Sequence[int],
                   constraints: Sequence[ChargeGroup], restrained: np.ndarray, a: float, b: float = RESP_B,
                   tolerance: float = 1e-6, max_iterations: int = 200) -> tuple[np.ndarray, int]:
    """Minimise the (restrained) ESP chi^2 over the variable charges; return (charges in e, iterations).

    chi^2(q) = sum_i (V_i - sum_j q_j / r_ij)^2 + a * sum_{j restrained} (sqrt(q_j^2 + b^2) - b), the
    hyperbolic restraint of Bayly et al. 1993 (module docstring, item 4). The fixed atoms' potential is
    subtracted from the target, equivalent variable atoms share one parameter, the constraints enter by
    Lagrange multipliers, and with ``a > 0`` the normal equations are re-solved with the restraint weights
    of the previous charges until the largest change is below ``tolerance``.

    Args:
        inv_r: (n_points, n_atoms) 1/r in 1/Bohr.
        esp_au: (n_points,) target ESP in Hartree/e.
        variable: (n_atoms,) bool, atoms whose charges are fitted.
        fixed_charges: (n_atoms,) charges (e) used for the atoms that are not variable.
        equivalence: (n_atoms,) labels; variable atoms with the same label share one charge.
        constraints: (atom indices, summed charge in e) pairs; the total charge is one of them.
        restrained: (n_atoms,) bool, atoms that carry the hyperbolic restraint.
        a: restraint strength in au (0: unrestrained ESP fit); b: hyperbola width in e.
        tolerance: convergence threshold on the largest charge change between iterations, e.
    """
    variable = np.asarray(variable, dtype=bool)
    q_fixed = np.where(variable, 0.0, np.asarray(fixed_charges, dtype=float))
    var_idx = np.flatnonzero(variable)
    q = q_fixed.copy()
    if var_idx.size == 0:
        return q, 0
    t = _parameter_map(equivalence, var_idx)
    # normal equations of the unrestrained chi^2 over the variable atoms, fixed atoms' ESP subtracted
    x = inv_r[:, var_idx]
    v_res = esp_au - inv_r @ q_fixed
    a_p = t.T @ (x.T @ x) @ t
    b_p = t.T @ (x.T @ v_res)
    c, d = _constraint_rows(constraints, q_fixed, var_idx, t)
    restrained_var = np.asarray(restrained, dtype=bool)[var_idx]

    q[var_idx], n_iter = _iterate_restraint(a_p, b_p, c, d, t, restrained_var, a=a, b=b, tolerance=tolerance,
                                            max_iterations=max_iterations)
    _check_constraints(q, constraints)
    return q, n_iter


def stage2_atoms_of(mol) -> list[int]:
    """Methyl and methylene carbons (sp3 C with 4 neighbours of which >= 2 are H) and their hydrogens."""
    out: set[int] = set()
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() != 6 or atom.GetDegree() != 4:
            continue
        hs = [n.GetIdx() for n in atom.GetNeighbors() if n.GetAtomicNum() == 1]
        if len(hs) >= 2:
            out.add(atom.GetIdx())
            out.update(hs)
    return sorted(out)


def symmetry_classes(mol) -> list[int]:
    """Topological symmetry class of each atom: ``Chem.CanonicalRankAtoms(mol, breakTies=False)``."""
    from rdkit import Chem

    return [int(r) for r in Chem.CanonicalRankAtoms(mol, breakTies=False)]


def fit_resp(esp: EspData, *, equivalence: Sequence[int], stage2_atoms: Sequence[int],
             charge_groups: Sequence[ChargeGroup] = (), a_stage1: float = RESP_A_STAGE1,
             a_stage2: float = RESP_A_STAGE2, b: float = RESP_B, tolerance: float = 1e-6
             ) -> tuple[FitStage, FitStage, FitStage]:
    """Unrestrained ESP fit, RESP stage 1 and stage 2 on a computed ESP.

    ``equivalence`` gives each atom a symmetry label; ``stage2_atoms`` are the methyl/methylene carbons
    and their hydrogens. Stage 1 equivalences every class except the hydrogens in ``stage2_atoms`` and
    restrains all heavy atoms with ``a_stage1``; stage 2 refits only ``stage2_atoms`` with all their
    equivalences, restraining their heavy atoms with ``a_stage2``, the rest fixed from stage 1.
    Returns (esp, stage1, stage2); stage 2 equals stage 1 when ``stage2_atoms`` is empty.
    """
    n = len(esp.elements)
    if len(equivalence) != n:
        raise ChargeError(f"equivalence labels for {len(equivalence)} atoms, molecule has {n}")
    inv_r = inverse_distance_matrix(esp.grid.points_angstrom, esp.coordinates_angstrom)
    heavy = np.array([el != "H" for el in esp.elements])
    stage2 = np.zeros(n, dtype=bool)
    stage2[list(stage2_atoms)] = True
    constraints: list[ChargeGroup] = [(tuple(range(n)), float(esp.charge))]
    constraints += [(tuple(int(i) for i in g), float(v)) for g, v in charge_groups]
    # stage 1 labels: the stage-2 hydrogens are free (each its own label)
    eq1 = [(-1 - i) if (stage2[i] and not heavy[i]) else int(equivalence[i]) for i in range(n)]
    all_var = np.ones(n, dtype=bool)
    zeros = np.zeros(n)

    q_esp, _ = restrained_fit(inv_r, esp.esp_au, variable=all_var, fixed_charges=zeros, equivalence=eq1,
                              constraints=constraints, restrained=heavy, a=0.0, b=b, tolerance=tolerance)
    q1, it1 = restrained_fit(inv_r, esp.esp_au, variable=all_var, fixed_charges=zeros, equivalence=eq1,
                             constraints=constraints, restrained=heavy, a=a_stage1, b=b, tolerance=tolerance)
    if stage2.any():
        q2, it2 = restrained_fit(inv_r, esp.esp_au, variable=stage2, fixed_charges=q1,
                                 equivalence=[int(e) for e in equivalence], constraints=constraints,
                                 restrained=heavy & stage2, a=a_stage2, b=b, tolerance=tolerance)
    else:
        q2, it2 = q1.copy(), 0
    stages = []
    for name, q, it, a in (("esp", q_esp, 0, 0.0), ("resp1", q1, it1, a_stage1), ("resp2", q2, it2, a_stage2)):
        rms, rrms = esp_fit_quality(inv_r, esp.esp_au, q)
        stages.append(FitStage(name=name, charges=q, rms_au=rms, rrms=rrms, n_iterations=it, restraint_a_au=a))
    return stages[0], stages[1], stages[2]


def _require_explicit_hydrogens(mol) -> None:
    if any(atom.GetTotalNumHs(includeNeighbors=False) > 0 for atom in mol.GetAtoms()):
        raise ChargeError("the RDKit molecule must carry explicit hydrogen atoms (Chem.AddHs)")


def resp_charges(mol, *, total_charge: int | None = None, coordinates_angstrom: np.ndarray | None = None,
                 conformer_seed: int = DEFAULT_CONFORMER_SEED, geometry: str = "mmff",
                 basis: str = DEFAULT_BASIS, density_fit: bool = True, auxbasis: str = DEFAULT_AUXBASIS,
                 charge_groups: Sequence[ChargeGroup] = (), a_stage1: float = RESP_A_STAGE1,
                 a_stage2: float = RESP_A_STAGE2, b: float = RESP_B, xc: str | None = None,
                 solvent_eps: float | None = None, cart: bool = True, geometry_basis: str | None = None
                 ) -> RespResult:
    """Two-stage RESP charges (e) of an RDKit molecule with explicit hydrogens.

    Args:
        mol: RDKit Mol with explicit H; atom order defines the order of the charges.
        total_charge: molecular charge in e; default the sum of the formal charges (must agree if given).
        coordinates_angstrom: use these positions (Å) instead of generating a conformer.
        conformer_seed: ETKDG random seed when a conformer is generated.
        geometry: "mmff" (ETKDG + MMFF94) or "hf" (then HF/basis optimisation with geomeTRIC).
        basis, density_fit, auxbasis: QM settings, see :func:`compute_esp`.
        charge_groups: (atom indices, summed charge in e) constraints, e.g. capping atoms summing to 0.
        a_stage1, a_stage2, b: restraint parameters in au (a) and e (b).
        xc, solvent_eps, cart: ESP level of theory, see :func:`compute_esp` (default RHF, gas, Cartesian d).
        geometry_basis: basis of the HF geometry optimisation (default ``basis``; RESP2 keeps 6-31G*).
    """
    from rdkit import Chem

    t0 = time.perf_counter()
    _require_explicit_hydrogens(mol)
    formal = int(Chem.GetFormalCharge(mol))
    if total_charge is None:
        total_charge = formal
    elif int(total_charge) != formal:
        raise ChargeError(f"total_charge={total_charge} e disagrees with the formal charges of the molecule "
                          f"({formal} e)")
    if geometry not in ("mmff", "hf"):
        raise ChargeError(f"geometry={geometry!r} is not allowed: use 'mmff' or 'hf'")
    elements = tuple(a.GetSymbol() for a in mol.GetAtoms())
    if coordinates_angstrom is not None:
        xyz = np.asarray(coordinates_angstrom, dtype=float)
        conformer = "coordinates supplied by the caller"
    else:
        xyz, conformer = embed_conformer(mol, seed=conformer_seed)
    if geometry == "hf":
        gbasis = geometry_basis or basis
        xyz = optimize_geometry_hf(elements, xyz, int(total_charge), basis=gbasis, density_fit=density_fit,
                                   auxbasis=auxbasis)
        conformer += f", then RHF/{gbasis} optimised (pyscf + geomeTRIC)"
    esp = compute_esp(elements, xyz, int(total_charge), basis=basis, density_fit=density_fit,
                      auxbasis=auxbasis, xc=xc, solvent_eps=solvent_eps, cart=cart)
    equivalence = symmetry_classes(mol)
    stage2 = stage2_atoms_of(mol)
    groups = tuple((tuple(int(i) for i in g), float(v)) for g, v in charge_groups)
    fit_esp, fit1, fit2 = fit_resp(esp, equivalence=equivalence, stage2_atoms=stage2, charge_groups=groups,
                                   a_stage1=a_stage1, a_stage2=a_stage2, b=b)
    fit_method = (f"two-stage RESP: stage 1 a={a_stage1:g} au on heavy atoms, stage 2 a={a_stage2:g} au on "
                  f"CH3/CH2 carbons (their H refitted, others fixed), b={b:g} e, hydrogens unrestrained, "
                  "equivalences from RDKit CanonicalRankAtoms(breakTies=False), total charge by Lagrange "
                  "multiplier, restraint iterated to 1e-6 e")
    result = RespResult(
        charges=fit2.charges, charges_stage1=fit1.charges, charges_esp=fit_esp.charges,
        total_charge=int(total_charge), rrms=fit2.rrms, rms_au=fit2.rms_au, rrms_stage1=fit1.rrms,
        rms_stage1_au=fit1.rms_au, rrms_esp=fit_esp.rrms, rms_esp_au=fit_esp.rms_au,
        n_grid_points=esp.grid.n_points, equivalence_classes=tuple(equivalence), stage2_atoms=tuple(stage2),
        qm_method=esp.qm_method, grid_method=esp.grid.describe(), fit_method=fit_method,
        conformer_method=conformer, scf_energy_hartree=esp.scf_energy_hartree, elements=elements,
        coordinates_angstrom=xyz, charge_groups=groups, wall_time_s=time.perf_counter() - t0,
        stage_iterations=(fit1.n_iterations, fit2.n_iterations),
    )
    logger.info("RESP %s: RRMS esp %.4f, stage1 %.4f, stage2 %.4f, %d points, %.1f s",
                Chem.MolToSmiles(Chem.RemoveHs(mol)), result.rrms_esp, result.rrms_stage1, result.rrms,
                result.n_grid_points, result.wall_time_s)
    return result


# --------------------------------------------------------------------------------------------------
# RESP2 (Schauperl et al. 2020)
# --------------------------------------------------------------------------------------------------

#: RESP2 level of theory (Schauperl, Nerenberg, Jang, Wang, Bayly, Mobley & Gilson, Commun. Chem. 3 (2020)
#: 44): PW6B95/aug-cc-pV(D+d)Z ESPs in vacuum and in a PCM water continuum, two-stage RESP fits of each,
#: mixed with delta = 0.6. For H-Ne aug-cc-pV(D+d)Z is aug-cc-pVDZ (the +d shell exists only for Al-Ar,
#: which pyscf's basis library lacks: a molecule with P/S/Cl gets aug-cc-pVDZ there, stated in provenance).
RESP2_XC = "PW6B95"
RESP2_BASIS = "aug-cc-pVDZ"
RESP2_DELTA = 0.6
#: Static dielectric constant of water at 298.15 K for the PCM continuum (the value Psi4/Gaussian use).
WATER_EPSILON = 78.3553
RESP2_REFERENCE = ("RESP2: Schauperl et al., Commun. Chem. 3 (2020) 44, doi:10.1038/s42004-020-0291-4 "
                   "(q = (1-delta) q_gas + delta q_water, PW6B95/aug-cc-pV(D+d)Z, delta 0.6)")


def mix_charges(q_gas: Sequence[float], q_solvated: Sequence[float], delta: float) -> np.ndarray:
    """RESP2 charges ``(1 - delta) q_gas + delta q_solvated`` (e); delta in [0, 1].

    A linear mix of two fits with the same total charge keeps that total; equivalent atoms stay equal.
    """
    q_gas = np.asarray(q_gas, dtype=float)
    q_solvated = np.asarray(q_solvated, dtype=float)
    if q_gas.shape != q_solvated.shape:
        raise ChargeError(f"RESP2 mixing: {q_gas.size} gas-phase charges but {q_solvated.size} solvated ones")
    if not 0.0 <= float(delta) <= 1.0:
        raise ChargeError(f"RESP2 mixing parameter delta={delta} is not allowed: 0 <= delta <= 1")
    return (1.0 - float(delta)) * q_gas + float(delta) * q_solvated


def resp2_charges(mol, *, delta: float = RESP2_DELTA, xc: str = RESP2_XC, basis: str = RESP2_BASIS,
                  solvent_eps: float = WATER_EPSILON, conformer_seed: int = DEFAULT_CONFORMER_SEED,
                  geometry: str = "mmff", coordinates_angstrom: np.ndarray | None = None,
                  density_fit: bool = True, auxbasis: str = DEFAULT_AUXBASIS
                  ) -> tuple[RespResult, RespResult, np.ndarray]:
    """RESP2 charges of ``mol``: (gas-phase RESP, solvated RESP, mixed charges in e).

    Both fits use one conformer (generated once: ETKDG + MMFF94, with ``geometry="hf"`` further optimised at
    HF/6-31G*, the geometry of the HF/6-31G* RESP templates, so the charge models differ only in their
    electrostatics), the same Merz-Kollman grid and the standard two-stage restraints.
    """
    if coordinates_angstrom is None:
        xyz, _ = embed_conformer(mol, seed=conformer_seed)
        if geometry == "hf":
            elements = [a.GetSymbol() for a in mol.GetAtoms()]
            from rdkit import Chem
            xyz = optimize_geometry_hf(elements, xyz, int(Chem.GetFormalCharge(mol)), basis=DEFAULT_BASIS,
                                       density_fit=density_fit, auxbasis=auxbasis)
    else:
        xyz = np.asarray(coordinates_angstrom, dtype=float)
    common = dict(coordinates_angstrom=xyz, basis=basis, density_fit=density_fit, auxbasis=auxbasis, xc=xc,
                  cart=False)
    gas = resp_charges(mol, **common)
    water = resp_charges(mol, solvent_eps=solvent_eps, **common)
    return gas, water, mix_charges(gas.charges, water.charges, delta)
