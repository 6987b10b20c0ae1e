"""Ionic conductivity: Nernst–Einstein (from self-diffusion) and Einstein–Helfand (collective), Haven ratio,
transference number.

Charges
-------
Every number is computed twice, with two charge conventions (see :mod:`analysis.topology`):
``"scaled"`` — each molecule's total charge in the System's NonbondedForce (the charges the dynamics used,
e.g. ±0.8 e for scaled ions) and ``"formal"`` — integer charges per molecule (±1 e for Na⁺/PF6⁻).
Scaled charges are consistent with the dynamics; formal charges are what an experiment's ions carry.

The value compared with experiment is the formal-charge one (:data:`COMPARISON_CHARGE_CONVENTION`): a
scaled-charge force field describes the potential-energy surface (ions moving as if partly screened by
the missing electronic polarisation), but the charge an ion carries through a cross-section of the
cell is its whole formal charge, so the current is Σ z_i e v_i with the trajectories of the scaled-charge
dynamics (the "two surfaces" argument: Blazquez et al., "Computation of electrical conductivities of
aqueous electrolyte solutions: two surfaces, one property", J. Chem. Theory Comput. 2023; the reference
as issue 8 gives it, the paper was not read here). For ions that all carry the same scale s the two differ by
exactly 1/s² (1.5625 for s = 0.8), with the same relative error; the Haven ratio and the transference
number are the same in both.

Nernst–Einstein (uncorrelated ions)
-----------------------------------
σ_NE = e² / (V k_B T) Σ_s (Σ_{i∈s} q_i²) D_s, with q in e, D the periodic-box self-diffusion coefficient
(no Yeh–Hummer correction, so that the Haven ratio compares like with like), V the mean box volume.
stderr by propagation of the D stderrs (independent species).

Einstein–Helfand (collective)
-----------------------------
M(t) = Σ_i q_i r_i(t) over molecules (centres of mass, unwrapped, system drift removed; a neutral
molecule contributes nothing, a molecular ion's internal dipole is bounded and does not change the
long-time slope). σ_EH = lim_{t→∞} d⟨|M(t) − M(0)|²⟩/dt / (6 V k_B T), the slope taken over the
diffusive window of this collective MSD by the rule of :mod:`analysis.diffusion`; stderr from blocks.
The fit carries the same diffusive check as a self-diffusion fit (``EinsteinHelfandResult.diffusive``,
``loglog_slope``: |d ln⟨ΔM²⟩/d ln t − 1| ≤ 0.15 over a factor ≥ 2 in lag time, else ``diffusive: false``
and the fallback window), and a non-diffusive σ_EH is not a conductivity: the summary does not show it.

Haven ratio and transference number
-----------------------------------
H = σ_NE / σ_EH (stderr propagated; H < 1 means correlated ion motion adds to conduction, H > 1 that
ion pairing removes from it). The Nernst–Einstein (self-diffusion) transference number of Na⁺ is
t_Na = Σ_{i∈Na⁺ species} q_i² D_Na / Σ_s Σ_{i∈s} q_i² D_s — for a 1:1 salt D_+ / (D_+ + D_−). It ignores ion
correlations (it is not the Bruce–Vincent or Hittorf number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from analysis.diffusion import SlopeFit, fit_msd_slope
from analysis.msd import Backend, block_slices, msd_fft
from common.constants import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, M2_PER_S_PER_NM2_PER_PS, M3_PER_NM3
from common.errors import AnalysisError

S_PER_M_TO_MS_PER_CM = 10.0
"""mS/cm in one S/m (1000 mS per S, 100 cm per m): the unit experiments report conductivity in."""
COMPARISON_CHARGE_CONVENTION = "formal"
"""The charge convention of the conductivity that is compared with experiment (module docstring)."""


def _e2_over_VkT(volume_nm3: float, temperature_K: float) -> float:
    """e² / (V k_B T) in S s/m³ (= C²/(J m³)), V in nm³: times Σq² D (D in m²/s) it is a conductivity in S/m.

    The prefactor shared by Nernst–Einstein and Einstein–Helfand.
    """
    if not (volume_nm3 > 0 and temperature_K > 0):
        raise AnalysisError(f"conductivity needs a volume > 0 and a temperature > 0; got V={volume_nm3} nm^3, "
                            f"T={temperature_K} K")
    return ELEMENTARY_CHARGE_C**2 / (volume_nm3 * M3_PER_NM3 * BOLTZMANN_J_PER_K * temperature_K)


@dataclass(frozen=True)
class Estimate:
    """A value with its standard error (None when unknown)."""

    value: float | None
    stderr: float | None

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr}


def nernst_einstein(sum_q2: Mapping[str, float], D_m2_per_s: Mapping[str, float],
                    D_stderr_m2_per_s: Mapping[str, float | None], volume_nm3: float,
                    temperature_K: float) -> Estimate:
    """σ_NE in S/m from Σq² (e²) and D (m²/s) of every ion species (see module docstring)."""
    if not sum_q2:
        raise AnalysisError("Nernst-Einstein conductivity needs at least one ion species; none was found")
    prefactor = _e2_over_VkT(volume_nm3, temperature_K)
    value = prefactor * sum(sum_q2[s] * D_m2_per_s[s] for s in sum_q2)
    errs = [D_stderr_m2_per_s.get(s) for s in sum_q2]
    stderr = None if any(e is None for e in errs) else \
        prefactor * math.sqrt(sum((sum_q2[s] * e) ** 2 for s, e in zip(sum_q2, errs)))
    return Estimate(value, stderr)


def transference_number(cations: list[str], sum_q2: Mapping[str, float], D_m2_per_s: Mapping[str, float],
                        D_stderr_m2_per_s: Mapping[str, float | None]) -> Estimate:
    """NE transference number of the ``cations`` species (stderr by first-order propagation)."""
    w = {s: sum_q2[s] * D_m2_per_s[s] for s in sum_q2}
    total = sum(w.values())
    if not cations or total <= 0:
        return Estimate(None, None)
    num = sum(w[s] for s in cations)
    t = num / total
    errs = {s: D_stderr_m2_per_s.get(s) for s in sum_q2}
    if any(e is None for e in errs.values()):
        return Estimate(t, None)
    # dt/dD_s = q2_s (1 − t)/total for cations, −q2_s t/total for the others
    var = sum((sum_q2[s] * ((1 - t) if s in cations else -t) / total * errs[s]) ** 2 for s in sum_q2)
    return Estimate(t, math.sqrt(var))


def ratio(a: Estimate, b: Estimate) -> Estimate:
    """a / b with first-order propagation of independent errors."""
    if a.value is None or b.value is None or b.value == 0:
        return Estimate(None, None)
    r = a.value / b.value
    if a.stderr is None or b.stderr is None or a.value == 0:
        return Estimate(r, None)
    return Estimate(r, abs(r) * math.sqrt((a.stderr / a.value) ** 2 + (b.stderr / b.value) ** 2))


def charge_displacement(series_nm: np.ndarray, molecule_charges_e: np.ndarray,
                        chunk_frames: int = 4096) -> np.ndarray:
    """M(t) = Σ_i q_i r_i(t) (e·nm), (T, 3), from molecular centres (T, n_mol, 3) and charges (n_mol,)."""
    q = np.asarray(molecule_charges_e, float)
    if series_nm.shape[1] != q.size:
        raise AnalysisError(f"{q.size} molecular charges for {series_nm.shape[1]} molecules")
    charged = np.flatnonzero(q != 0.0)
    out = np.empty((series_nm.shape[0], 3))
    for a in range(0, series_nm.shape[0], chunk_frames):
        block = np.asarray(series_nm[a:a + chunk_frames][:, charged])
        out[a:a + chunk_frames] = np.einsum("tmk,m->tk", block, q[charged])
    return out


@dataclass
class EinsteinHelfandResult:
    """σ_EH (S/m) with stderr, the collective MSD (e² nm²) and its fit."""

    sigma_S_per_m: Estimate
    msd_e2nm2: np.ndarray
    fit: SlopeFit

    @property
    def diffusive(self) -> bool:
        """Whether the collective MSD had a diffusive window (the rule of :mod:`analysis.diffusion`)."""
        return bool(self.fit.window.diffusive)

    @property
    def loglog_slope(self) -> float:
        """Mean d ln⟨ΔM²⟩ / d ln t over the fitted window (1 when diffusive)."""
        return float(self.fit.window.loglog_slope)


def einstein_helfand(series_nm: np.ndarray, molecule_charges_e: np.ndarray, frame_interval_ps: float,
                     volume_nm3: float, temperature_K: float, n_blocks: int = 5,
                     backend: str | Backend = "numpy") -> EinsteinHelfandResult:
    """Collective (Einstein–Helfand) conductivity in S/m (see module docstring)."""
    q = np.asarray(molecule_charges_e, float)
    if not np.any(q != 0):
        raise AnalysisError("Einstein-Helfand conductivity needs charged molecules; every molecule is neutral")
    M = charge_displacement(series_nm, q)
    msd = msd_fft(M, backend, reduce="sum")
    blocks = None
    if n_blocks > 1:
        blocks = np.stack([msd_fft(M[sl], backend, reduce="sum") for sl in block_slices(M.shape[0], n_blocks)])
    fit = fit_msd_slope(msd, frame_interval_ps, blocks)
    factor = _e2_over_VkT(volume_nm3, temperature_K) * M2_PER_S_PER_NM2_PER_PS / 6.0
    sigma = Estimate(fit.slope * factor, None if fit.stderr is None else fit.stderr * factor)
    return EinsteinHelfandResult(sigma, msd, fit)
