"""Resumable descriptor calculations: what one species has finished so far, on disk beside the cache.

The protocol of :mod:`descriptors.binding` costs hours of SCF on a CPU for a 30-45-atom monomer (one
B3LYP/def2-SVP SCF of BMP, 400 basis functions: ~5 min on one core; its geometry optimisation ~30-60 SCF +
gradient steps; then 6-10 SCFs per Na site), longer than a machine may stay up. So every finished step is
written to ``<cache_dir>/progress/<species>.json`` as soon as it is done:

- each geomeTRIC step's geometry (Å) and energy (Hartree). A restart continues from the last geometry with
  the steps left of ``Level.geom_max_steps``; geomeTRIC's approximate Hessian is rebuilt there, so a resumed
  optimisation may take a few steps more than an uninterrupted one, but it stops on the same convergence
  criteria (energy 1e-6 Eh, gradient RMS 3e-4 Eh/bohr): the same minimum within them;
- the end of the optimisation (converged or not, total steps, restarts);
- each finished Na site (its whole :class:`~descriptors.binding.SiteResult`, unrounded).

The file carries the species' cache key (:func:`descriptors.cache.cache_key`: SMILES, charge, level, start
geometry, protocol version); a file with another key is stale, ignored and overwritten. When the species
finishes, its record goes to the cache (with the number of restarts) and the progress file is removed. Like
the cache, the progress files are plain JSON meant to be committed, so that a CPU campaign can advance over
several sessions on machines that do not keep their disks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from common.io import read_json, write_json_atomic
from descriptors import cache

logger = logging.getLogger(__name__)

PROGRESS_SUBDIR = "progress"


def progress_file(cache_dir: str | Path, species: str) -> Path:
    return Path(cache_dir) / PROGRESS_SUBDIR / cache.cache_file(cache_dir, species).name


class SpeciesProgress:
    """The finished steps of one species' calculation; written through to ``path`` unless it is None
    (an in-memory progress for calculations nobody resumes, e.g. the reference tests)."""

    def __init__(self, key: dict | None, path: Path | None = None, data: dict | None = None):
        self.key = key
        self.path = path
        self.data = data if data is not None else {"cache_key": key, "optimisation": None, "sites": {},
                                                   "sessions": 0, "wall_s": 0.0}
        self._wall_before = float(self.data.get("wall_s", 0.0))
        self._t0 = time.perf_counter()

    @property
    def wall_s(self) -> float:
        """Wall time of this species over every session so far (s)."""
        return self._wall_before + time.perf_counter() - self._t0

    @classmethod
    def in_memory(cls) -> "SpeciesProgress":
        progress = cls(None)
        progress.data["sessions"] = 1
        return progress

    @classmethod
    def open(cls, cache_dir: str | Path, species: str, key: dict) -> "SpeciesProgress":
        """The saved progress of ``species`` when its key matches, else a fresh one (same file)."""
        path = progress_file(cache_dir, species)
        data = None
        if path.is_file():
            stored = read_json(path, what=f"descriptor progress of {species}")
            if stored.get("cache_key") == key:
                data = stored
            else:
                logger.warning("%s: progress file %s is stale (another level, geometry or protocol): starting "
                               "afresh", species, path)
        progress = cls(key, path, data)
        progress.data["sessions"] = int(progress.data.get("sessions", 0)) + 1
        return progress

    @classmethod
    def peek(cls, cache_dir: str | Path, species: str, key: dict) -> "SpeciesProgress | None":
        """The saved progress of ``species`` if it matches ``key`` (read only, for reports)."""
        path = progress_file(cache_dir, species)
        if not path.is_file():
            return None
        stored = read_json(path, what=f"descriptor progress of {species}")
        return cls(key, None, stored) if stored.get("cache_key") == key else None

    def save(self) -> None:
        if self.path is not None:
            self.data["wall_s"] = round(self.wall_s, 1)
            write_json_atomic(self.path, self.data)

    # --- geometry optimisation -------------------------------------------------------------------
    @property
    def optimisation(self) -> dict | None:
        """None before the first step; else {coordinates_angstrom, energy_hartree, steps, finished,
        converged, restarts}."""
        return self.data.get("optimisation")

    def optimisation_start(self, xyz_start) -> tuple[np.ndarray, int]:
        """(geometry to start from, steps already taken); counts a restart when there were steps."""
        opt = self.optimisation
        if not opt:
            return np.asarray(xyz_start, float), 0
        opt["restarts"] = int(opt.get("restarts", 0)) + 1
        self.save()
        return np.asarray(opt["coordinates_angstrom"], float), int(opt["steps"])

    def optimisation_step(self, coordinates_angstrom, energy_hartree: float) -> None:
        opt = self.data.get("optimisation") or {"steps": 0, "restarts": 0, "finished": False, "converged": None}
        opt.update(coordinates_angstrom=np.asarray(coordinates_angstrom, float).round(6).tolist(),
                   energy_hartree=float(energy_hartree), steps=int(opt["steps"]) + 1)
        self.data["optimisation"] = opt
        self.save()

    def finish_optimisation(self, converged: bool, coordinates_angstrom, steps: int) -> None:
        opt = self.data.get("optimisation") or {"restarts": 0, "energy_hartree": None}
        opt.update(coordinates_angstrom=np.asarray(coordinates_angstrom, float).tolist(), steps=int(steps),
                   finished=True, converged=bool(converged))
        self.data["optimisation"] = opt
        self.save()

    @property
    def optimisation_finished(self) -> bool:
        return bool(self.optimisation and self.optimisation.get("finished"))

    # --- Na sites ------------------------------------------------------------------------------------
    def site(self, label: str) -> dict | None:
        return self.data["sites"].get(label)

    def finish_site(self, label: str, state: dict) -> None:
        self.data["sites"][label] = state
        self.save()

    def describe(self) -> str:
        """One line for a report: how far the saved calculation got."""
        opt = self.optimisation
        if not opt:
            return "no step finished yet"
        if opt.get("finished"):
            verdict = "converged" if opt["converged"] else "NOT converged"
            state = f"optimisation finished ({verdict}, {opt['steps']} steps)"
        else:
            state = f"optimisation at step {opt['steps']} (E {opt['energy_hartree']:.6f} Eh)"
        return f"{state}; Na sites finished: {len(self.data['sites'])}; sessions: {self.data.get('sessions', 0)}"
