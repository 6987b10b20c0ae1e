"""Physical constants and unit factors, in one place (CODATA 2018 exact SI values where they exist).

Every module that converts units imports from here; none defines its own copy.
"""

AVOGADRO_PER_MOL = 6.02214076e23
"""Avogadro constant N_A, 1/mol (exact, SI 2019)."""
BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann constant k_B, J/K (exact, SI 2019)."""
ELEMENTARY_CHARGE_C = 1.602176634e-19
"""Elementary charge e, C (exact, SI 2019)."""
MOLAR_GAS_CONSTANT_KJ_PER_MOL_K = BOLTZMANN_J_PER_K * AVOGADRO_PER_MOL / 1000.0
"""R = k_B N_A, kJ/(mol K) (0.00831446261815324)."""
ELECTRON_VOLT_KJ_PER_MOL = ELEMENTARY_CHARGE_C * AVOGADRO_PER_MOL / 1000.0
"""1 eV in kJ/mol (96.485332...)."""
HARTREE_EV = 27.211386245988
"""1 Hartree in eV (CODATA 2018)."""

NM3_PER_CM3 = 1e21
"""nm^3 in one cm^3."""
M3_PER_NM3 = 1e-27
"""m^3 in one nm^3."""
M2_PER_S_PER_NM2_PER_PS = 1e-18 / 1e-12
"""m^2/s in one nm^2/ps (the unit of D from an MSD in nm^2 over ps)."""
PA_PER_BAR = 1e5
"""Pa in one bar."""
MIN_TRANSPORT_FRAMES = 50
"""Fewest production frames (after protocol.transport_discard) a diffusion fit accepts: a fit window plus 5 blocks
with >= 3 lags each (analysis/diffusion.py); the config refuses a production that writes fewer."""
