"""Analysis of OpenMM trajectories: transport (diffusion, conductivity) and Na⁺ solvation structure.

The package reads files only — a topology PDB/PDBx (residues, elements, CONECT bonds), one or more
trajectory files (DCD, XTC, ...) and the OpenMM ``System`` XML (charges, masses) — and imports nothing
from ``systems/``, ``forcefields/`` or ``simulation/``, so it works on any OpenMM-written trajectory.
DCD files are parsed by :mod:`common.dcd`, shared with ``simulation/``; physical constants come from
:mod:`common.constants` and the command-line error handling from :mod:`common.cli`.

Modules, one idea each:

``topology``      molecules (= residues), species (= residue names), masses, scaled and formal charges
``trajectory``    chunked streaming reader (frame interval from a trusted source only, segments
                  checked for duplicates and time order), per-atom unwrapping, centre-of-mass drift removal
``msd``           FFT mean-squared displacement (NumPy reference backend, optional CuPy backend) and
                  the streamed molecular centre-of-mass series it is computed from
``diffusion``     diffusive-window rule, D from MSD = 6 D t, block-average uncertainty, Yeh–Hummer
``conductivity``  Nernst–Einstein and Einstein–Helfand conductivity, Haven ratio, transference number
``solvation``     Na⁺ RDFs, coordination numbers, ion-pair classification (SSIP/CIP/AGG)
``plots``         PNG figures a person can read
``transport``     the ``python -m analysis.transport`` command writing transport JSON + CSV + PNG

Units everywhere inside: nm, ps, amu, elementary charges (e), K; results in SI with the unit in the key
(``D_m2_per_s``, ``sigma_S_per_m``).
"""
