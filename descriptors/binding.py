"""Na binding energy (Boys–Bernardi counterpoise), Na → molecule charge transfer and LUMO of one molecule.

Protocol (every step at one :class:`~descriptors.levels.Level`; energies in Hartree inside, eV out)
-----------------------------------------------------------------------------------------------------
1. The isolated molecule M, from an RDKit conformer (ETKDGv3 + MMFF94, fixed seed), is optimised with
   geomeTRIC (dispersion included). Its KS orbitals give the LUMO and HOMO energies.
2. For every plausible site (:mod:`descriptors.sites`) a neutral Na atom (doublet, UKS) approaches along
   the site's lone-pair direction with **the molecule frozen** at its isolated geometry: a scan of the
   Na–site distance (3 points, extended while the minimum is at an end) and the vertex of a parabola
   (:func:`scan_na_distance`). Neither the molecule nor the Na direction relaxes: the molecule has no
   deformation energy by construction, and a full optimisation would bind somewhat more strongly (for a
   rigid carbonate or ester, typically by a few hundredths of an eV; stated in the method record). A full
   geomeTRIC optimisation of each complex costs ~4x more SCF evaluations than the scan, which the
   2-core machine of this campaign could not afford.
3. At the optimised complex geometry, with D3(BJ) evaluated on the real atoms only:

       ΔE_CP  = E_MNa[MNa] − E_M[MNa] − E_Na[MNa] + (E_disp(MNa) − E_disp(M))
       ΔE_raw = E_MNa[MNa] − E_M[M]   − E_Na[Na]   + (E_disp(MNa) − E_disp(M))
       BSSE   = ΔE_raw − ΔE_CP   (< 0: the raw value overbinds)

   where X[Y] is the electronic energy of X in the basis of Y (ghost atoms for the partner; Boys &
   Bernardi, Mol. Phys. 19 (1970) 553). Binding energies are negative when bound.
4. Charge transfer Na → M is the meta-Löwdin charge of the Na atom in the complex (e, positive when Na
   has given electrons to M); Mulliken's is recorded beside it.
5. The strongest (most negative ΔE_CP) site is the reported one; every site is kept.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from common.errors import DescriptorError
from descriptors import dft
from descriptors.levels import Level
from descriptors.progress import SpeciesProgress
from descriptors.sites import Site, find_sites

logger = logging.getLogger(__name__)


@dataclass
class SiteResult:
    site: Site
    binding_cp_eV: float
    binding_raw_eV: float
    bsse_eV: float
    dispersion_eV: float
    na_charge_meta_lowdin_e: float
    na_charge_mulliken_e: float
    na_site_distance_angstrom: float
    na_spin_on_molecule: float
    scan_hartree: dict
    na_position_angstrom: tuple[float, float, float]
    wall_s: float

    def record(self) -> dict:
        return {
            "site": self.site.kind, "site_atom_index": self.site.atom,
            "na_binding_cp_eV": round(self.binding_cp_eV, 4), "na_binding_raw_eV": round(self.binding_raw_eV, 4),
            "bsse_eV": round(self.bsse_eV, 4), "dispersion_contribution_eV": round(self.dispersion_eV, 4),
            "charge_transfer_meta_lowdin_e": round(self.na_charge_meta_lowdin_e, 4),
            "charge_transfer_mulliken_e": round(self.na_charge_mulliken_e, 4),
            "na_site_distance_angstrom": round(self.na_site_distance_angstrom, 3),
            "spin_density_on_molecule": round(self.na_spin_on_molecule, 3),
            "na_distance_scan_hartree": self.scan_hartree,
            "na_position_angstrom": [round(x, 5) for x in self.na_position_angstrom],
            "wall_s": round(self.wall_s, 1),
        }

    def state(self) -> dict:
        """Everything, unrounded, for :mod:`descriptors.progress` (JSON types only)."""
        d = asdict(self)
        d["site"] = {"kind": self.site.kind, "atom": self.site.atom, "start_angstrom": list(self.site.start_angstrom)}
        d["na_position_angstrom"] = list(self.na_position_angstrom)
        return d

    @classmethod
    def from_state(cls, state: dict) -> "SiteResult":
        d = dict(state)
        site = d.pop("site")
        return cls(site=Site(site["kind"], int(site["atom"]), tuple(site["start_angstrom"])),
                   **{**d, "na_position_angstrom": tuple(d["na_position_angstrom"])})


@dataclass
class MoleculeResult:
    elements: list[str]
    coordinates_angstrom: np.ndarray
    energy_hartree: float
    lumo_eV: float
    homo_eV: float
    optimisation_converged: bool
    optimisation_steps: int
    sites: list[SiteResult] = field(default_factory=list)
    wall_s: dict = field(default_factory=dict)

    @property
    def strongest(self) -> SiteResult | None:
        return min(self.sites, key=lambda s: s.binding_cp_eV) if self.sites else None


def optimise_molecule(elements, xyz, charge: int, level: Level, *, backend: str, what: str,
                      progress: SpeciesProgress | None = None):
    """Step 1: geomeTRIC-optimised geometry and its SCF (energy includes dispersion). With ``progress``, a
    finished optimisation is reused and an unfinished one continues from its last saved step, within the
    ``level.geom_max_steps`` steps of all sessions together."""
    progress = progress or SpeciesProgress.in_memory()
    if len(elements) == 1:
        converged, steps = True, 0
    elif progress.optimisation_finished:
        opt = progress.optimisation
        converged, steps = bool(opt["converged"]), int(opt["steps"])
        xyz = np.asarray(opt["coordinates_angstrom"], float)
        logger.info("%s: optimised geometry from the saved progress (%d steps)", what, steps)
    else:
        xyz, steps_before = progress.optimisation_start(xyz)
        converged, steps_now = False, 0
        if steps_before < level.geom_max_steps:
            if steps_before:
                logger.info("%s: optimisation resumed at step %d", what, steps_before)
            mol = dft.make_molecule(elements, xyz, charge=charge, basis=level.basis)
            converged, xyz, steps_now = dft.optimise(dft.make_scf(mol, level, backend=backend), frozen=(),
                                                     max_steps=level.geom_max_steps - steps_before, what=what,
                                                     on_step=progress.optimisation_step)
        steps = steps_before + steps_now
        progress.finish_optimisation(converged, xyz, steps)
    mol = dft.make_molecule(elements, xyz, charge=charge, basis=level.basis)
    scf = dft.run_scf(dft.make_scf(mol, level, backend=backend), what)
    return converged, np.asarray(xyz, float), steps, scf


def na_atom_energy(level: Level, *, backend: str, na_charge: int = 0) -> float:
    """E_Na[Na]: the free Na atom (doublet; or Na⁺ with ``na_charge=1``) in its own basis, Hartree."""
    mol = dft.make_molecule(["Na"], np.zeros((1, 3)), charge=na_charge, basis=level.basis)
    return dft.run_scf(dft.make_scf(mol, level, backend=backend, with_dispersion=False), "Na atom").energy_hartree


SCAN_OFFSETS_ANGSTROM = (-0.2, 0.0, 0.3)
"""Na–site distances of the scan, relative to the site's start distance (Å)."""
SCAN_MAX_EXTRA = 3
SCAN_STEP_ANGSTROM = 0.3


def parabola_minimum(d, e) -> float | None:
    """Vertex of the parabola through the three lowest-energy points around the minimum of (d, e);
    None when the lowest point is at an end of the scan (the minimum lies outside it)."""
    order = np.argsort(d)
    d, e = np.asarray(d, float)[order], np.asarray(e, float)[order]
    i = int(np.argmin(e))
    if i == 0 or i == len(d) - 1:
        return None
    a, b, _ = np.polyfit(d[i - 1:i + 2], e[i - 1:i + 2], 2)
    return float(-b / (2 * a)) if a > 0 else float(d[i])


def scan_na_distance(elements, xyz, charge: int, site: Site, level: Level, *, backend: str, what: str,
                     na_charge: int = 0):
    """Na–site distance of lowest energy (electronic + D3(BJ), no counterpoise) along the site direction.

    Points at ``start + SCAN_OFFSETS_ANGSTROM``; while the lowest point is at an end, one more point
    0.3 Å beyond it (at most ``SCAN_MAX_EXTRA``, never closer than 1.8 Å); then the vertex of the parabola
    through the lowest point and its neighbours. Returns (distance Å, unit direction, scan table, dm
    of the nearest point for the next SCF's guess)."""
    x_site = xyz[site.atom]
    start = np.asarray(site.start_angstrom)
    d0 = float(np.linalg.norm(start - x_site))
    direction = (start - x_site) / d0
    els = list(elements) + ["Na"]
    table: dict[float, float] = {}
    dms: dict[float, object] = {}
    guess = None

    def energy(d: float) -> float:
        nonlocal guess
        geom = np.vstack([xyz, (x_site + d * direction)[None, :]])
        mf = dft.make_scf(dft.make_molecule(els, geom, charge=charge + na_charge, basis=level.basis), level,
                          backend=backend)
        res = dft.run_scf(mf, f"{what}+Na at {site.label}, d = {d:.2f} A", dm0=guess)
        guess = mf.make_rdm1()
        dms[d] = guess
        return res.energy_hartree

    for off in SCAN_OFFSETS_ANGSTROM:
        d = round(d0 + off, 3)
        table[d] = energy(d)
    for _ in range(SCAN_MAX_EXTRA):
        ds = sorted(table)
        i = int(np.argmin([table[x] for x in ds]))
        if 0 < i < len(ds) - 1:
            break
        d = round(ds[0] - SCAN_STEP_ANGSTROM, 3) if i == 0 else round(ds[-1] + SCAN_STEP_ANGSTROM, 3)
        if d < 1.8:
            break
        table[d] = energy(d)
    ds = sorted(table)
    d_min = parabola_minimum(ds, [table[x] for x in ds])
    if d_min is None:  # still at an end: take the lowest point and say so in the record
        d_min = ds[int(np.argmin([table[x] for x in ds]))]
    nearest = min(dms, key=lambda x: abs(x - d_min))
    return d_min, direction, {f"{k:.3f}": v for k, v in sorted(table.items())}, dms[nearest]


def bind_at_site(elements, xyz, charge: int, site: Site, level: Level, *, e_mol_own: float,
                 e_na_own: float, e_disp_mol: float, backend: str, what: str, na_charge: int = 0) -> SiteResult:
    """Steps 2–4 for one site. ``e_mol_own``: E_M[M] without dispersion (Hartree); ``e_na_own``: E_Na[Na]
    of the same Na charge. ``na_charge=1`` binds Na⁺ instead of the atom (the reference tests use it)."""
    t0 = time.perf_counter()
    n = len(elements)
    d_min, direction, table, dm_guess = scan_na_distance(elements, xyz, charge, site, level, backend=backend,
                                                         what=what, na_charge=na_charge)
    geom = np.vstack([xyz, (xyz[site.atom] + d_min * direction)[None, :]])
    cp = counterpoise(elements, geom, charge, level, e_mol_own=e_mol_own, e_na_own=e_na_own,
                      e_disp_mol=e_disp_mol, backend=backend, what=f"{what}+Na at {site.label}",
                      na_charge=na_charge, dm0=dm_guess)
    return SiteResult(site=site, binding_cp_eV=cp.binding_cp_eV, binding_raw_eV=cp.binding_raw_eV,
                      bsse_eV=cp.bsse_eV, dispersion_eV=cp.dispersion_eV,
                      na_charge_meta_lowdin_e=cp.na_charge_meta_lowdin_e, na_charge_mulliken_e=cp.na_charge_mulliken_e,
                      na_site_distance_angstrom=float(d_min), na_spin_on_molecule=cp.spin_on_molecule,
                      scan_hartree=table, na_position_angstrom=tuple(float(x) for x in geom[n]),
                      wall_s=time.perf_counter() - t0)


@dataclass(frozen=True)
class Counterpoise:
    """Step 3–4 at one complex geometry (eV, e)."""

    binding_cp_eV: float
    binding_raw_eV: float
    bsse_eV: float
    dispersion_eV: float
    na_charge_meta_lowdin_e: float
    na_charge_mulliken_e: float
    spin_on_molecule: float


def counterpoise(elements, geom, charge: int, level: Level, *, e_mol_own: float, e_na_own: float,
                 e_disp_mol: float, backend: str, what: str, na_charge: int = 0, dm0=None) -> Counterpoise:
    """Boys–Bernardi binding of the Na (last row of ``geom``, Å) to the molecule (the other rows), with the
    raw binding, BSSE, the D3 share and the Na populations of the complex. ``e_mol_own``/``e_na_own``:
    the fragments in their own basis without dispersion (Hartree); ``e_disp_mol``: the molecule's D3."""
    n = len(elements)
    els = list(elements) + ["Na"]
    mf = dft.make_scf(dft.make_molecule(els, geom, charge=charge + na_charge, basis=level.basis), level,
                      backend=backend, with_dispersion=False)
    complex_ = dft.run_scf(mf, what, dm0=dm0)
    e_mol_cp = dft.run_scf(dft.make_scf(dft.make_molecule(els, geom, charge=charge, basis=level.basis,
                                                          ghost=[False] * n + [True]), level, backend=backend,
                                        with_dispersion=False), f"molecule of {what} in the complex basis").energy_hartree
    e_na_cp = dft.run_scf(dft.make_scf(dft.make_molecule(els, geom, charge=na_charge, basis=level.basis,
                                                         ghost=[True] * n + [False]), level, backend=backend,
                                       with_dispersion=False), f"Na of {what} in the complex basis").energy_hartree
    d_disp = dft.dispersion_energy(els, geom, level, charge=charge + na_charge) - e_disp_mol
    e_ab = complex_.energy_hartree
    cp = (e_ab - e_mol_cp - e_na_cp + d_disp) * dft.HARTREE_TO_EV
    raw = (e_ab - e_mol_own - e_na_own + d_disp) * dft.HARTREE_TO_EV
    return Counterpoise(binding_cp_eV=cp, binding_raw_eV=raw, bsse_eV=raw - cp, dispersion_eV=d_disp * dft.HARTREE_TO_EV,
                        na_charge_meta_lowdin_e=float(dft.meta_lowdin_charges(complex_)[n]),
                        na_charge_mulliken_e=float(dft.mulliken_charges(complex_)[n]),
                        spin_on_molecule=_spin_on_molecule(complex_, n))


def fragment_energies(elements, xyz, charge: int, level: Level, *, backend: str = "cpu", na_charge: int = 0):
    """(E_M[M] without dispersion, E_Na[Na], E_disp(M)) in Hartree, at fixed molecule coordinates."""
    mol = dft.make_molecule(elements, xyz, charge=charge, basis=level.basis)
    e_mol = dft.run_scf(dft.make_scf(mol, level, backend=backend, with_dispersion=False), "molecule").energy_hartree
    return (e_mol, na_atom_energy(level, backend=backend, na_charge=na_charge),
            dft.dispersion_energy(elements, xyz, level, charge=charge))


def _spin_on_molecule(result: dft.ScfResult, n_mol: int) -> float:
    """Unpaired-electron population on the molecule's atoms (meta-Löwdin alpha − beta): ~0 when the Na
    keeps its 3s electron, ~1 when the electron has moved to the molecule (a radical anion M·⁻ Na⁺)."""
    from pyscf.scf import uhf

    mf = result.mf.to_cpu() if hasattr(result.mf, "to_cpu") else result.mf
    dm = np.asarray(mf.make_rdm1())
    if dm.ndim != 3:
        return 0.0
    _, per_atom = uhf.mulliken_meta_spin(mf.mol, dm, verbose=0)
    return float(np.sum(per_atom[:n_mol]))


def molecule_descriptors(mol_rdkit, xyz_start, charge: int, level: Level, *, backend: str = "cpu",
                         what: str = "molecule", progress: SpeciesProgress | None = None) -> MoleculeResult:
    """The whole protocol for one molecule (RDKit Mol with explicit H, start coordinates in Å). With
    ``progress`` (:mod:`descriptors.progress`) every finished step is saved and a saved step is not redone."""
    from rdkit import Chem

    progress = progress or SpeciesProgress.in_memory()
    elements = [a.GetSymbol() for a in mol_rdkit.GetAtoms()]
    wall = {}
    t = time.perf_counter()
    converged, xyz, steps, scf = optimise_molecule(elements, xyz_start, charge, level, backend=backend, what=what,
                                                   progress=progress)
    wall["molecule_optimisation_s"] = time.perf_counter() - t
    lumo, homo = dft.lumo_homo_hartree(scf)
    e_disp_mol = dft.dispersion_energy(elements, xyz, level, charge=charge)
    e_mol_own = scf.energy_hartree - e_disp_mol
    e_na_own = na_atom_energy(level, backend=backend)
    result = MoleculeResult(elements=elements, coordinates_angstrom=xyz, energy_hartree=scf.energy_hartree,
                            lumo_eV=lumo * dft.HARTREE_TO_EV, homo_eV=homo * dft.HARTREE_TO_EV,
                            optimisation_converged=converged, optimisation_steps=steps, wall_s=wall)
    sites = find_sites(Chem.Mol(mol_rdkit), xyz)
    if not sites:
        raise DescriptorError(f"{what}: no plausible Na binding site (amine N, carbonyl O, ester O, F, nitrate O, "
                              "ammonium face) found")
    t = time.perf_counter()
    for site in sites:
        saved = progress.site(site.label)
        if saved is not None:
            logger.info("%s: Na at %s from the saved progress", what, site.label)
            result.sites.append(SiteResult.from_state(saved))
            continue
        logger.info("%s: Na at %s", what, site.label)
        done = bind_at_site(elements, xyz, charge, site, level, e_mol_own=e_mol_own, e_na_own=e_na_own,
                            e_disp_mol=e_disp_mol, backend=backend, what=what)
        progress.finish_site(site.label, done.state())
        result.sites.append(done)
    wall["na_sites_s"] = time.perf_counter() - t
    return result
