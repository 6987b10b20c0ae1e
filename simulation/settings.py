"""SETTINGS.json: everything the engine needs to run, resolved from the config, with units in the field names.

The workflow writes one settings file per campaign with :func:`write_settings` from the validated
:class:`common.config.GelmdConfig` (:func:`settings_from_config`); the command-line tools
(``python -m simulation.equilibrate`` / ``python -m simulation.produce``) read it back with
:func:`load_settings`. The file is plain JSON::

    {
      "schema": "gelmd.simulation.settings/1",
      "temperature_K": 298.15,                # thermostat temperature of heating (end), NPT and production
      "pressure_bar": 1.0,                     # barostat pressure of NPT equilibration
      "seed": 2026,                            # every random number of the engine derives from this
      "hydrogen_mass_amu": 1.008,              # HMR target mass (1.008 = no repartitioning)
      "heating_stages": 10,                    # temperature steps of the NVT heating ramp
      "minimise_tolerance_kJ_per_mol_per_nm": 10.0,   # RMS force at which L-BFGS stops
      "blowup_max_potential_rise_kJ_per_mol_per_atom": 100.0,  # blow-up guard threshold
      "blowup_max_temperature_factor": 3.0,    # blow-up guard: instantaneous T above factor x target
      "engine":   {platform, precision, allow_opencl, cpu_threads}     # common.config.EngineSettings
      "protocol": {timestep_ps, friction_per_ps, ...}                  # common.config.Protocol
    }

Command line (the workflow's ``simulation_settings`` rule)::

    python -m simulation.settings --config RESOLVED.json --out SETTINGS.json

``RESOLVED.json`` is the validated config model the workflow writes (``config.resolved.json``, read with
:func:`common.config.read_resolved_config`); the settings derived from it are written atomically. Exit status 1 with the message on
stderr when the config is missing or invalid.

Seeds: OpenMM treats a seed of 0 as "pick one at random", so each random stream gets its own non-zero
seed derived from ``seed`` and a purpose label by :meth:`SimulationSettings.seed_for`
(:func:`common.seeds.derive_seed`; same settings, same numbers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.config import HYDROGEN_MASS_AMU, EngineSettings, GelmdConfig, Protocol, read_resolved_config
from common.cli import run_main
from common.errors import ConfigError
from common.io import read_json, write_text_atomic
from common.seeds import derive_seed

SETTINGS_SCHEMA = "gelmd.simulation.settings/1"
DEFAULT_HEATING_STAGES = 10
DEFAULT_MINIMISE_TOLERANCE_KJ_PER_MOL_PER_NM = 10.0
DEFAULT_BLOWUP_MAX_POTENTIAL_RISE_KJ_PER_MOL_PER_ATOM = 100.0
DEFAULT_BLOWUP_MAX_TEMPERATURE_FACTOR = 3.0


class SimulationSettings(BaseModel):
    """Resolved engine settings. All physical values in OpenMM's internal units, named in the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_id: Literal["gelmd.simulation.settings/1"] = Field(default=SETTINGS_SCHEMA, alias="schema")
    temperature_K: float = Field(gt=0)
    pressure_bar: float = Field(gt=0)
    seed: int = Field(ge=0)
    hydrogen_mass_amu: float = Field(default=HYDROGEN_MASS_AMU, ge=HYDROGEN_MASS_AMU - 1e-6, le=4.0)
    heating_stages: int = Field(default=DEFAULT_HEATING_STAGES, ge=1)
    minimise_tolerance_kJ_per_mol_per_nm: float = Field(default=DEFAULT_MINIMISE_TOLERANCE_KJ_PER_MOL_PER_NM, gt=0)
    blowup_max_potential_rise_kJ_per_mol_per_atom: float = Field(
        default=DEFAULT_BLOWUP_MAX_POTENTIAL_RISE_KJ_PER_MOL_PER_ATOM, gt=0)
    blowup_max_temperature_factor: float = Field(default=DEFAULT_BLOWUP_MAX_TEMPERATURE_FACTOR, gt=1)
    engine: EngineSettings
    protocol: Protocol

    def to_json(self) -> str:
        """The settings as the JSON text of SETTINGS.json (``schema`` key first)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2) + "\n"

    def seed_for(self, purpose: str) -> int:
        """The non-zero OpenMM seed in [1, 2**31 - 1) of one random stream (``purpose``: e.g. ``"npt-barostat"``).

        Different purposes get unrelated seeds (:func:`common.seeds.derive_seed`), so the thermostat noise of
        production is not the noise of equilibration replayed.
        """
        return derive_seed(self.seed, purpose)


def settings_from_config(cfg: GelmdConfig, **overrides) -> SimulationSettings:
    """Build the engine settings from a validated config; ``overrides`` replace top-level fields."""
    values = dict(
        temperature_K=cfg.temperature_K,
        pressure_bar=cfg.pressure_bar,
        seed=cfg.seed,
        hydrogen_mass_amu=cfg.forcefield.hydrogen_mass_amu,
        engine=cfg.engine,
        protocol=cfg.protocol,
    )
    values.update(overrides)
    return SimulationSettings(**values)


def write_settings(settings: SimulationSettings, path: str | Path) -> None:
    """Write SETTINGS.json atomically."""
    write_text_atomic(path, settings.to_json())


def load_settings(path: str | Path) -> SimulationSettings:
    """Read and validate SETTINGS.json; errors name the file and the offending keys."""
    return settings_from_dict(read_json(path, "settings file", invalid=ConfigError), source=str(path))


def settings_from_dict(data: dict, source: str = "settings") -> SimulationSettings:
    """Validate a settings mapping (as read from JSON)."""
    try:
        return SimulationSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"key '{'.'.join(str(p) for p in err['loc'])}': {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors())
        raise ConfigError(f"{source}: invalid simulation settings: {problems}") from exc


def settings_from_resolved_config(path: str | Path) -> SimulationSettings:
    """Settings from the workflow's ``config.resolved.json`` (the typed config model, :mod:`common.config`)."""
    return settings_from_config(read_resolved_config(path))


def _write_settings_file(config_path: str, out_path: str) -> None:
    """Derive the settings from the resolved config at ``config_path`` and write them to ``out_path``."""
    settings = settings_from_resolved_config(config_path)
    write_settings(settings, out_path)
    print(f"simulation.settings: wrote {out_path} (temperature {settings.temperature_K:g} K, pressure "
          f"{settings.pressure_bar:g} bar, time step {settings.protocol.timestep_ps * 1000:g} fs, "
          f"platform {settings.engine.platform})")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simulation.settings --config RESOLVED.json --out SETTINGS.json``; 0 on success, 1 on error."""
    parser = argparse.ArgumentParser(prog="python -m simulation.settings",
                                     description="Write SETTINGS.json (engine settings in internal units) "
                                                 "from the resolved config JSON.")
    parser.add_argument("--config", required=True, help="resolved (validated, default-filled) config JSON")
    parser.add_argument("--out", required=True, help="SETTINGS.json to write (atomically)")
    args = parser.parse_args(argv)
    return run_main("simulation.settings", lambda: _write_settings_file(args.config, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
