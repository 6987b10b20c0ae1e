"""Reference data for tests: the Lennard-Jones fluid's excess chemical potential from the Johnson-Zollweg-Gubbins
equation of state (the modified Benedict-Webb-Rubin fit to simulations of the full LJ potential).

J. K. Johnson, J. A. Zollweg, K. E. Gubbins, "The Lennard-Jones equation of state revisited", Mol. Phys. 78,
591-618 (1993), doi:10.1080/00268979300100411: residual Helmholtz energy per particle (their eq. 5 with Tables
5-7 and the 32 parameters x_i of Table 10, γ = 3), in reduced units (ε = σ = k_B = 1). The parameter values were
checked against NIST's teqp (``include/teqp/models/mie/lennardjones/johnson.hpp``, class LJ126Johnson1993).

    a_res / kT = (1/T) [Σ_{i=1..8} a_i ρ^i / i + Σ_{i=1..6} b_i G_i],   μ_ex / kT = a_res/kT + Z − 1,
    Z − 1 = ρ ∂(a_res/kT)/∂ρ  (here by a central difference; the EOS is smooth).

Quoted accuracy of the fit: pressures and energies to about 1-2 % of the simulation data it was fitted to.
"""

from __future__ import annotations

import math

GAMMA = 3.0
X = (0.0, 0.8623085097507421, 2.976218765822098, -8.402230115796038, 0.1054136629203555, -0.8564583828174598,
     1.582759470107601, 0.7639421948305453, 1.753173414312048, 2.798291772190376e03, -4.8394220260857657e-2,
     0.9963265197721935, -3.698000291272493e01, 2.084012299434647e01, 8.305402124717285e01,
     -9.574799715203068e02, -1.477746229234994e02, 6.398607852471505e01, 1.603993673294834e01,
     6.805916615864377e01, -2.791293578795945e03, -6.245128304568454, -8.116836104958410e03,
     1.488735559561229e01, -1.059346754655084e04, -1.131607632802822e02, -8.867771540418822e03,
     -3.986982844450543e01, -4.689270299917261e03, 2.593535277438717e02, -2.694523589434903e03,
     -7.218487631550215e02, 1.721802063863269e02)


def _a(t: float) -> list[float]:
    x = X
    return [x[1] * t + x[2] * math.sqrt(t) + x[3] + x[4] / t + x[5] / t ** 2,
            x[6] * t + x[7] + x[8] / t + x[9] / t ** 2,
            x[10] * t + x[11] + x[12] / t,
            x[13],
            x[14] / t + x[15] / t ** 2,
            x[16] / t,
            x[17] / t + x[18] / t ** 2,
            x[19] / t ** 2]


def _b(t: float) -> list[float]:
    x = X
    return [x[20] / t ** 2 + x[21] / t ** 3,
            x[22] / t ** 2 + x[23] / t ** 4,
            x[24] / t ** 2 + x[25] / t ** 3,
            x[26] / t ** 2 + x[27] / t ** 4,
            x[28] / t ** 2 + x[29] / t ** 3,
            x[30] / t ** 2 + x[31] / t ** 3 + x[32] / t ** 4]


def _g(rho: float) -> list[float]:
    f = math.exp(-GAMMA * rho ** 2)
    g = [(1.0 - f) / (2.0 * GAMMA)]
    for i in range(2, 7):
        g.append(-(f * rho ** (2 * (i - 1)) - 2.0 * (i - 1) * g[-1]) / (2.0 * GAMMA))
    return g


def residual_helmholtz_per_kT(temperature: float, density: float) -> float:
    """a_res / kT per particle of the full LJ fluid at reduced temperature and density."""
    a = sum(ai * density ** (i + 1) / (i + 1) for i, ai in enumerate(_a(temperature)))
    b = sum(bi * gi for bi, gi in zip(_b(temperature), _g(density)))
    return (a + b) / temperature


def excess_chemical_potential_per_kT(temperature: float, density: float, h: float = 1e-5) -> float:
    """μ_ex / kT of the full LJ fluid (JZG 1993)."""
    a = residual_helmholtz_per_kT(temperature, density)
    slope = (residual_helmholtz_per_kT(temperature, density + h)
             - residual_helmholtz_per_kT(temperature, density - h)) / (2 * h)
    return a + density * slope


def compressibility_factor(temperature: float, density: float, h: float = 1e-5) -> float:
    slope = (residual_helmholtz_per_kT(temperature, density + h)
             - residual_helmholtz_per_kT(temperature, density - h)) / (2 * h)
    return 1.0 + density * slope
