"""Compute (or reuse from the cache) the DFT descriptors of named species.

    python -m descriptors.compute --species PC FEC [--cache-dir forcefields/data/descriptors]
                                  [--backend auto|cpu|gpu] [--recompute]

Each species' record is written to the cache as soon as it is done, and each finished step of a species
(every geometry-optimisation step, every Na site) to ``<cache-dir>/progress/`` (:mod:`descriptors.progress`):
an interrupted campaign resumes where it stopped when the same command is run again. Threads: pyscf uses
``OMP_NUM_THREADS`` (set it before starting Python).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from common.errors import DescriptorError
from descriptors import cache
from descriptors.binding import molecule_descriptors
from descriptors.levels import PRODUCTION, Level
from descriptors.progress import SpeciesProgress, progress_file
from descriptors.species import SPECIES

logger = logging.getLogger(__name__)

CONFORMER_SEED = 42

APPROXIMATIONS = (
    "Na position optimised with the molecule frozen at its isolated-molecule optimum (no deformation "
    "energy; a fully relaxed complex would bind slightly more strongly).",
    "One conformer per molecule (RDKit ETKDGv3 seed 42 + MMFF94, then DFT-optimised); no conformer search.",
    "Gas phase, 0 K electronic energies: no zero-point, thermal or solvation terms.",
    "Binding to a neutral Na atom (doublet, UKS); the paper's own level of theory and code are not stated "
    "in its main text (it used Bader charges, suggesting a plane-wave code).",
    "Charge transfer from a meta-Löwdin population (pyscf mulliken_meta), not Bader's partition: absolute "
    "values differ between partitions; compare orders.",
    "def2-SVP without diffuse functions: KS LUMOs are positive and basis-dependent; BSSE removed by "
    "counterpoise on the binding energy only.",
    "Reacted units are methyl-capped single arms (descriptors/species.py), not whole network fragments.",
)


def code_versions() -> dict:
    versions = {"python": platform.python_version()}
    for pkg in ("pyscf", "geometric", "pyscf-dispersion", "rdkit", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def start_geometry(name: str):
    """RDKit molecule (explicit H) and its start conformer for a descriptor species, plus the recipe."""
    from forcefields.molecules import molecule_from_smiles
    from forcefields.resp import embed_conformer

    spec = SPECIES[name]
    mol = molecule_from_smiles(spec.smiles, name)
    xyz, recipe = embed_conformer(mol, seed=CONFORMER_SEED)
    return mol, xyz, recipe


def expected_key(name: str, level: Level) -> tuple[dict, object, object, str]:
    mol, xyz, recipe = start_geometry(name)
    elements = [a.GetSymbol() for a in mol.GetAtoms()]
    spec = SPECIES[name]
    key = cache.cache_key(spec.smiles, spec.charge, level.key(), cache.geometry_hash(elements, xyz, recipe))
    return key, mol, xyz, recipe


def compute_record(name: str, level: Level = PRODUCTION, backend: str = "cpu", cache_dir=None) -> dict:
    """Run the protocol of :mod:`descriptors.binding` for one species and return its cache record. With
    ``cache_dir`` every finished step is saved under ``<cache_dir>/progress/`` and a saved one is resumed
    (:mod:`descriptors.progress`); the record then counts the sessions it took."""
    from descriptors.dft import resolve_backend

    if name not in SPECIES:
        raise DescriptorError(f"descriptor species {name!r} is not defined; defined: {sorted(SPECIES)}")
    backend = resolve_backend(backend)
    key, mol, xyz, recipe = expected_key(name, level)
    spec = SPECIES[name]
    progress = SpeciesProgress.open(cache_dir, name, key) if cache_dir is not None else SpeciesProgress.in_memory()
    t0 = time.perf_counter()
    res = molecule_descriptors(mol, xyz, spec.charge, level, backend=backend, what=name, progress=progress)
    wall = time.perf_counter() - t0
    opt = progress.optimisation or {}
    best = res.strongest
    return {
        "species": name, "description": spec.description, "smiles": spec.smiles, "charge_e": spec.charge,
        "cache_key": key,
        "na_binding_eV": round(best.binding_cp_eV, 4),
        "charge_transfer_e": round(best.na_charge_meta_lowdin_e, 4),
        "lumo_eV": round(res.lumo_eV, 4), "homo_eV": round(res.homo_eV, 4),
        "binding_site": best.site.kind,
        "sites": [s.record() for s in res.sites],
        "molecule": {"elements": res.elements,
                     "coordinates_angstrom": [[round(c, 5) for c in row] for row in res.coordinates_angstrom],
                     "optimised_geometry_hash": cache.geometry_hash(res.elements, res.coordinates_angstrom),
                     "energy_hartree": res.energy_hartree,
                     "optimisation_converged": res.optimisation_converged,
                     "optimisation_steps": res.optimisation_steps,
                     "start_geometry": recipe},
        "level": level.record(), "backend": backend,
        "charge_transfer_method": "meta-Löwdin population of the Na atom in the complex (pyscf mulliken_meta, "
                                  "ANO pre-orthogonalisation); positive = electrons from Na to the molecule",
        "binding_method": "Boys-Bernardi counterpoise-corrected, D3(BJ) on real atoms, Na optimised on the "
                          "frozen molecule, strongest of all plausible sites",
        "approximations": list(APPROXIMATIONS),
        "wall_s": {**{k: round(v, 1) for k, v in res.wall_s.items()}, "last_session_s": round(wall, 1),
                   "total_s": round(progress.wall_s, 1)},
        "resumed": {"sessions": int(progress.data.get("sessions", 1)),
                    "optimisation_restarts": int(opt.get("restarts", 0))},
        "threads": _threads(),
        "code_versions": code_versions(),
        "host": platform.node(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": f"python -m descriptors.compute --species '{name}' --recompute",
    }


def _threads() -> int:
    from pyscf import lib
    return int(lib.num_threads())


def get_or_compute(name: str, cache_dir, level: Level = PRODUCTION, *, recompute: bool = False,
                   backend: str = "cpu", allow_compute: bool = True) -> tuple[dict | None, str]:
    """(record, status): status 'cached', 'computed' or the reason it is missing."""
    key = expected_key(name, level)[0]
    if not recompute:
        record, reason = cache.load_valid(cache_dir, name, key)
        if record is not None:
            return record, "cached"
        if not allow_compute:
            partial = SpeciesProgress.peek(cache_dir, name, key)
            return None, reason + (f"; saved progress: {partial.describe()}" if partial else "")
    else:
        progress_file(cache_dir, name).unlink(missing_ok=True)
    record = compute_record(name, level, backend, cache_dir=cache_dir)
    cache.store(cache_dir, name, record)
    progress_file(cache_dir, name).unlink(missing_ok=True)
    return record, "computed"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m descriptors.compute", description=__doc__.splitlines()[0])
    parser.add_argument("--species", nargs="+", required=True, choices=sorted(SPECIES))
    parser.add_argument("--cache-dir", default=str(cache.DEFAULT_CACHE_DIR))
    parser.add_argument("--backend", default="cpu", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--recompute", action="store_true", help="ignore valid cached records")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in args.species:
        t = time.perf_counter()
        record, status = get_or_compute(name, Path(args.cache_dir), recompute=args.recompute, backend=args.backend)
        print(f"{name}: {status} in {time.perf_counter() - t:.0f} s: binding {record['na_binding_eV']:+.3f} eV "
              f"({record['binding_site']}), CT {record['charge_transfer_e']:.3f} e, LUMO {record['lumo_eV']:+.3f} eV",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
