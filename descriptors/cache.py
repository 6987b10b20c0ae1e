"""The committed cache of DFT descriptors: one JSON per species, with the provenance that decides whether
it is still valid.

A cached record is reused only when all of these equal what a new calculation would use:

- the species' SMILES and charge,
- the level of theory (:meth:`descriptors.levels.Level.key`: functional, dispersion, basis, auxiliary
  basis, density fitting, grid, SCF and optimiser settings),
- the start-geometry hash (elements and the RDKit conformer's coordinates rounded to 1e-4 Å, with the
  conformer recipe and seed),
- :data:`PROTOCOL_VERSION` (bumped when the protocol of :mod:`descriptors.binding` changes).

Code versions (pyscf, geomeTRIC, pyscf-dispersion, RDKit) are recorded but do not invalidate: a patch
release of pyscf changes binding energies by far less than the method error, and recomputing the campaign
costs hours on a CPU. Set ``descriptors.recompute: true`` to recompute regardless.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from common.io import read_json, write_json_atomic

PROTOCOL_VERSION = "1"
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / "forcefields" / "data" / "descriptors"


def geometry_hash(elements, coordinates_angstrom, recipe: str = "") -> str:
    """sha256 (16 hex) of elements, coordinates rounded to 1e-4 Å, and the recipe that made them."""
    xyz = np.round(np.asarray(coordinates_angstrom, float), 4) + 0.0  # +0.0 folds -0.0 into 0.0
    payload = json.dumps({"elements": list(elements), "xyz": xyz.tolist(), "recipe": recipe})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def cache_key(smiles: str, charge: int, level_key: str, start_geometry_hash: str) -> dict:
    """The fields a cached record must match."""
    return {"smiles": smiles, "charge": int(charge), "level_key": level_key,
            "start_geometry_hash": start_geometry_hash, "protocol_version": PROTOCOL_VERSION}


def cache_file(cache_dir: str | Path, species: str) -> Path:
    safe = species.replace("+", "_plus").replace("-", "_minus")
    return Path(cache_dir) / f"{safe}.json"


def load_valid(cache_dir: str | Path, species: str, key: dict) -> tuple[dict | None, str]:
    """(record, "") when a cached record matches ``key``; (None, reason) otherwise."""
    path = cache_file(cache_dir, species)
    if not path.is_file():
        return None, f"no cached record {path.name}"
    record = read_json(path, what=f"descriptor cache of {species}")
    stored = record.get("cache_key", {})
    changed = [k for k in key if stored.get(k) != key[k]]
    if changed:
        return None, "cache stale: " + ", ".join(f"{k} {stored.get(k)!r} -> {key[k]!r}" for k in changed)
    return record, ""


def store(cache_dir: str | Path, species: str, record: dict) -> Path:
    path = cache_file(cache_dir, species)
    write_json_atomic(path, record)
    return path
