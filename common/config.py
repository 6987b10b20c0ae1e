"""Configuration: schema validation with defaults, then typed models with quantities in internal units.

Two passes, both before any job runs:

1. ``workflow/schemas/config.schema.yaml`` (JSON Schema, the single place that lists keys, types,
   defaults and descriptions) is checked and its defaults filled in;
2. the typed models below parse every quantity string once (``"2 fs"`` -> 0.002 ps) and check what a
   schema cannot: volume fractions that sum to one, known species, a time step that needs HMR.

Every failure raises :class:`common.errors.ConfigError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict

from common.errors import ConfigError
from common.units import parse_quantity

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"
VOLUME_FRACTION_TOLERANCE = 1e-6
MAX_TIMESTEP_WITHOUT_HMR_PS = 0.002
MAX_TIMESTEP_WITH_HMR_PS = 0.004
HYDROGEN_MASS_AMU = 1.008


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _with_defaults(validator_class):
    """Extend a jsonschema validator so that it fills in ``default`` values while it validates."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema and key not in instance:
                    instance[key] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(jsonschema.Draft7Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if allowed:
            return f"config key '{key}': unknown key(s) {extra}; allowed keys: {allowed}"
    if error.validator == "enum":
        return f"config key '{key}': {error.instance!r} is not allowed; allowed values: {error.validator_value}"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    return f"config key '{key}': {error.message}"


def fill_and_check_schema(raw: dict) -> dict:
    """Return a copy of ``raw`` checked against the schema, with every default filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(f"the config must be a mapping of keys to values, got {type(raw).__name__}")
    config = copy.deepcopy(raw)
    errors = sorted(_DefaultFillingValidator(load_schema()).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_describe(e) for e in errors))
    return config


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Model):
    platform: Literal["auto", "CUDA", "OpenCL", "CPU", "Reference"]
    precision: Literal["auto", "single", "mixed", "double"]
    allow_opencl: bool
    cpu_threads: int


class ForceFieldSettings(_Model):
    ion_charge_scale: float
    nonbonded_cutoff_nm: float
    ewald_error_tolerance: float
    hydrogen_mass_amu: float


class SpeciesDeclaration(_Model):
    smiles: str
    residue: str
    role: Literal["solvent", "cation", "anion", "monomer"]
    density_g_per_cm3: float | None = None


class SaltSpec(_Model):
    cation: str
    anion: str
    concentration_mol_per_L: float


MAX_SALT_MOLARITY_MOL_PER_L = 4.0
"""Above this the Na salts supported (NaPF6) are beyond their solubility in carbonates: refused as a typo."""

GPE_KEYS = ("monomer", "monomer_smiles", "monomer_residue", "reaction", "polymer_weight_fraction",
            "target_conversion", "max_cycles", "bond_cutoff", "max_bond_cutoff", "cutoff_step", "min_ring_size",
            "max_bond_length", "relax_md", "pre_md", "network_seed")
"""Keys of a system that only a crosslinked gel (kind gpe) may carry."""
GPE_LENGTH_KEYS = ("bond_cutoff", "max_bond_cutoff", "cutoff_step", "max_bond_length")
GPE_TIME_KEYS = ("relax_md", "pre_md")
MONOMER_REACTIONS = {"BMP": "ring_opening_aziridine", "TPA": "radical_acrylate"}


class SystemSpec(_Model):
    name: str
    kind: Literal["electrolyte", "gpe"]
    solvent_volume_fractions: dict[str, float]
    salt: SaltSpec
    n_solvent: int
    reference_density: str
    reference_conductivity: str
    viscosity_Pa_s: float | None
    monomer: str | None = None


class Protocol(_Model):
    timestep_ps: float
    friction_per_ps: float
    production_friction_per_ps: float
    production_replicas: int = 1
    barostat_interval: int
    minimise_max_iterations: int
    heating_duration_ps: float
    heating_start_temperature_K: float
    equilibration_duration_ps: float
    equilibration_max_blocks: int
    density_tolerance: float
    production_duration_ps: float
    production_chunk_ps: float
    trajectory_interval_ps: float
    energy_interval_ps: float

    def steps(self, duration_ps: float) -> int:
        """Number of integration steps in ``duration_ps`` (rounded to the nearest step)."""
        return max(0, int(round(duration_ps / self.timestep_ps)))


class Resources(_Model):
    gpu: int
    runtime_min: int
    mem_mb: int


class GelmdConfig(_Model):
    name: str
    seed: int
    temperature_K: float
    pressure_bar: float
    engine: EngineSettings
    forcefield: ForceFieldSettings
    species: dict[str, SpeciesDeclaration]
    systems: dict[str, SystemSpec]
    protocol: Protocol
    resources: Resources
    raw: dict[str, Any]


def _positive(value: float, key: str, text: Any, allow_zero: bool = False) -> float:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"config key '{key}': {text!r} is not allowed; it must be {bound}")
    return value


def _quantity(section: dict, key: str, dimension: str, prefix: str, allow_zero: bool = False) -> float:
    full_key = f"{prefix}{key}"
    return _positive(parse_quantity(section[key], dimension, full_key), full_key, section[key], allow_zero)


def _system(name: str, spec: dict, known_species: dict[str, str]) -> SystemSpec:
    prefix = f"systems.{name}."
    fractions = spec["solvents"]
    for solvent, fraction in fractions.items():
        role = known_species.get(solvent)
        if role is None:
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': unknown species {solvent!r}; "
                              f"known species: {sorted(known_species)}")
        if role != "solvent":
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': {solvent!r} is a {role}, not a solvent; "
                              f"solvents: {sorted(k for k, r in known_species.items() if r == 'solvent')}")
        if not 0 < fraction <= 1:
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': volume fraction {fraction!r} must be in (0, 1]")
    total = sum(fractions.values())
    if abs(total - 1.0) > VOLUME_FRACTION_TOLERANCE:
        raise ConfigError(f"config key '{prefix}solvents': volume fractions {fractions} sum to {total:g}; "
                          f"they must sum to 1 (within {VOLUME_FRACTION_TOLERANCE:g})")
    salt = spec["salt"]
    for role in ("cation", "anion"):
        if known_species.get(salt[role]) != role:
            allowed = sorted(k for k, r in known_species.items() if r == role)
            raise ConfigError(f"config key '{prefix}salt.{role}': {salt[role]!r} is not a known {role}; "
                              f"allowed: {allowed}")
    concentration = parse_quantity(salt["concentration"], "concentration", f"{prefix}salt.concentration")
    if concentration < 0:
        raise ConfigError(f"config key '{prefix}salt.concentration': {salt['concentration']!r} is negative; "
                          "a molarity must be >= 0 mol/L")
    if concentration > MAX_SALT_MOLARITY_MOL_PER_L:
        raise ConfigError(f"config key '{prefix}salt.concentration': {salt['concentration']!r} is above "
                          f"{MAX_SALT_MOLARITY_MOL_PER_L:g} mol/L, beyond the solubility of the salts supported")
    monomer = _gpe_keys(name, spec, known_species)
    return SystemSpec(
        name=name, kind=spec["kind"], solvent_volume_fractions=dict(fractions),
        salt=SaltSpec(cation=salt["cation"], anion=salt["anion"], concentration_mol_per_L=concentration),
        n_solvent=spec["n_solvent"], reference_density=spec["reference_density"],
        reference_conductivity=spec["reference_conductivity"],
        viscosity_Pa_s=(parse_quantity(spec["viscosity"], "viscosity", f"{prefix}viscosity")
                        if spec["viscosity"].strip() else None),
        monomer=monomer,
    )


def _gpe_keys(name: str, spec: dict, known_species: dict[str, str]) -> str | None:
    """Check the network keys of a system; returns the monomer of a gpe system (None for an electrolyte)."""
    prefix = f"systems.{name}."
    present = [k for k in GPE_KEYS if k in spec]
    if spec["kind"] != "gpe":
        if present:
            raise ConfigError(f"config keys {[prefix + k for k in present]} are only allowed for kind 'gpe'; "
                              f"system {name!r} is kind {spec['kind']!r}")
        return None
    monomer = spec.get("monomer", "BMP")
    if known_species.get(monomer) != "monomer":
        allowed = sorted(k for k, r in known_species.items() if r == "monomer")
        raise ConfigError(f"config key '{prefix}monomer': {monomer!r} is not a known monomer; allowed: {allowed} "
                          "(or declare one under species: with role monomer)")
    reaction = spec.get("reaction", MONOMER_REACTIONS.get(monomer))
    if reaction is None:
        raise ConfigError(f"config key '{prefix}reaction' is required for monomer {monomer!r}; allowed: "
                          f"{sorted(set(MONOMER_REACTIONS.values()))}")
    for key in GPE_LENGTH_KEYS:
        if key in spec:
            _positive(parse_quantity(spec[key], "length", prefix + key), prefix + key, spec[key])
    for key in GPE_TIME_KEYS:
        if key in spec:
            _positive(parse_quantity(spec[key], "time", prefix + key), prefix + key, spec[key], allow_zero=True)
    return monomer


def _protocol(section: dict, hydrogen_mass_amu: float) -> Protocol:
    p = "protocol."
    timestep = _quantity(section, "timestep", "time", p)
    hmr = hydrogen_mass_amu > HYDROGEN_MASS_AMU + 1e-6
    limit = MAX_TIMESTEP_WITH_HMR_PS if hmr else MAX_TIMESTEP_WITHOUT_HMR_PS
    if timestep > limit + 1e-12:
        hint = "" if hmr else " (set forcefield.hydrogen_mass to e.g. '3.024 amu' to allow 4 fs)"
        raise ConfigError(f"config key 'protocol.timestep': {section['timestep']!r} is too long; with "
                          f"hydrogen mass {hydrogen_mass_amu:g} amu the limit is {limit * 1000:g} fs{hint}")
    protocol = Protocol(
        timestep_ps=timestep,
        friction_per_ps=_quantity(section, "friction", "rate", p),
        production_friction_per_ps=_quantity(section, "production_friction", "rate", p),
        production_replicas=section["production_replicas"],
        barostat_interval=section["barostat_interval"],
        minimise_max_iterations=section["minimise_max_iterations"],
        heating_duration_ps=_quantity(section, "heating_duration", "time", p, allow_zero=True),
        heating_start_temperature_K=_quantity(section, "heating_start_temperature", "temperature", p),
        equilibration_duration_ps=_quantity(section, "equilibration_duration", "time", p),
        equilibration_max_blocks=section["equilibration_max_blocks"],
        density_tolerance=section["density_tolerance"],
        production_duration_ps=_quantity(section, "production_duration", "time", p),
        production_chunk_ps=_quantity(section, "production_chunk", "time", p),
        trajectory_interval_ps=_quantity(section, "trajectory_interval", "time", p),
        energy_interval_ps=_quantity(section, "energy_interval", "time", p),
    )
    for key in ("production_chunk_ps", "trajectory_interval_ps", "energy_interval_ps"):
        value = getattr(protocol, key)
        if value < timestep - 1e-12:
            raise ConfigError(f"config key 'protocol.{key.removesuffix('_ps')}': {value:g} ps is shorter than "
                              f"the time step {timestep:g} ps")
    if protocol.production_chunk_ps > protocol.production_duration_ps + 1e-9:
        raise ConfigError("config key 'protocol.production_chunk': longer than protocol.production_duration")
    chunk_steps = protocol.steps(protocol.production_chunk_ps)
    frame_steps = protocol.steps(protocol.trajectory_interval_ps)
    if chunk_steps % frame_steps:
        raise ConfigError("config key 'protocol.production_chunk': must be a whole number of "
                          f"trajectory_interval ({protocol.production_chunk_ps:g} ps vs "
                          f"{protocol.trajectory_interval_ps:g} ps) so that resumed runs stay on the frame grid")
    return protocol


def build_config(raw: dict, builtin_species: dict[str, str]) -> GelmdConfig:
    """Validate ``raw`` (a parsed YAML mapping) and return the typed configuration.

    ``builtin_species`` maps species names to roles (solvent/cation/anion/monomer); species declared under
    ``species:`` in the config are added to it.
    """
    config = fill_and_check_schema(raw)
    ff = config["forcefield"]
    user_species = {
        name: SpeciesDeclaration(
            smiles=decl["smiles"], residue=decl["residue"], role=decl["role"],
            density_g_per_cm3=(parse_quantity(decl["density"], "density", f"species.{name}.density")
                               if "density" in decl else None))
        for name, decl in config["species"].items()
    }
    for name, decl in user_species.items():
        if name in builtin_species:
            raise ConfigError(f"config key 'species.{name}': {name!r} is a built-in species; choose another name")
        if decl.role == "solvent" and decl.density_g_per_cm3 is None:
            raise ConfigError(f"config key 'species.{name}.density': a solvent needs its liquid density, "
                              "e.g. '1.2 g/cm^3'")
    known = dict(builtin_species) | {name: decl.role for name, decl in user_species.items()}
    hydrogen_mass = _quantity(ff, "hydrogen_mass", "mass", "forcefield.")
    if not HYDROGEN_MASS_AMU - 1e-6 <= hydrogen_mass <= 4.0:
        raise ConfigError(f"config key 'forcefield.hydrogen_mass': {ff['hydrogen_mass']!r}; allowed range "
                          f"{HYDROGEN_MASS_AMU} to 4 amu")
    temperature = _quantity(config, "temperature", "temperature", "")
    return GelmdConfig(
        name=config["name"],
        seed=config["seed"],
        temperature_K=temperature,
        pressure_bar=_quantity(config, "pressure", "pressure", ""),
        engine=EngineSettings(**config["engine"]),
        forcefield=ForceFieldSettings(
            ion_charge_scale=ff["ion_charge_scale"],
            nonbonded_cutoff_nm=_quantity(ff, "nonbonded_cutoff", "length", "forcefield."),
            ewald_error_tolerance=ff["ewald_error_tolerance"],
            hydrogen_mass_amu=hydrogen_mass,
        ),
        species=user_species,
        systems={name: _system(name, spec, known) for name, spec in config["systems"].items()},
        protocol=_protocol(config["protocol"], hydrogen_mass),
        resources=Resources(**config["resources"]),
        raw=config,
    )


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    return data or {}

