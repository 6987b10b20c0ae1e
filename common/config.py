"""Configuration: one typed model, validated once, with every quantity in internal units.

Two passes, both before any job runs (:func:`load_config`):

1. ``workflow/schemas/config.schema.yaml`` (JSON Schema, the single place that lists keys, types,
   defaults and descriptions) is checked and its defaults filled in — the network keys of a system only
   when it is a gel (``x-kind: gpe`` in the schema);
2. the typed models below parse every quantity string once (``"2 fs"`` -> 0.002 ps) and check what a
   schema cannot: names safe as a path and a shell word, volume fractions that sum to one, known species,
   ions with force-field parameters, known reference keys, a time step that needs HMR, intervals that are
   whole numbers of time steps.

The names a config may use from the rest of the code (species and their roles, ion residues with
parameters, reference-data keys) are passed in as a :class:`ConfigVocabulary`: common/ imports no other
package of ours.

The validated model is written once by the workflow as ``config.resolved.json``
(:meth:`GelmdConfig.to_resolved_json`) and read back by every entry point with
:func:`read_resolved_config`; no stage reads strings from the raw config.

Which stage reads which setting is declared on the field (``stages=...``); :func:`stage_inputs` derives
from those declarations the values a stage depends on, which the workflow gives its rules as parameters so
that Snakemake reruns exactly the stages a change affects.

Every failure raises :class:`common.errors.ConfigError` naming the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.constants import MIN_TRANSPORT_FRAMES
from common.errors import ConfigError
from common.units import parse_quantity

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"
RESOLVED_SCHEMA_ID = "gelmd.config.resolved/2"
VOLUME_FRACTION_TOLERANCE = 1e-6
MAX_TIMESTEP_WITHOUT_HMR_PS = 0.002
MAX_TIMESTEP_WITH_HMR_PS = 0.004
HYDROGEN_MASS_AMU = 1.008
MAX_SALT_MOLARITY_MOL_PER_L = 4.0
"""Above this the Na salts supported (NaPF6) are beyond their solubility in carbonates: refused as a typo."""
MONOMER_REACTIONS = {"BMP": "ring_opening_aziridine", "TPA": "radical_acrylate"}
"""The reaction of each built-in crosslinker (the default of ``reaction``)."""
REACTION_INITIATORS = {"ring_opening_aziridine": "PF5", "radical_acrylate": "AIBN"}
"""The initiator of each reaction (the default of ``initiator``): the founding paper's recipes."""
MAX_CAPTURE_CUTOFF_NM = 0.8
"""Longest bond-capture distance of the network builder: partners must be neighbours, not across the box."""

# Names that reach a file path or a command line. Letters, digits and a few separators only: no shell
# metacharacter, no space, no path separator, no leading dot or dash (an option or a hidden file).
SYSTEM_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SPECIES_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}[+-]{0,3}$")
RESIDUE_NAME_PATTERN = re.compile(r"^[A-Z0-9]{1,3}$")
# The SMILES alphabet (atoms, bonds, branches, rings, charges, stereo); no quote, space, ; & | $ ` < >.
SMILES_PATTERN = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#:.%/\\*]{1,500}$")
NAME_RULES = {
    "system": (SYSTEM_NAME_PATTERN, "a letter, then up to 63 letters, digits, '_' or '-'"),
    "species": (SPECIES_NAME_PATTERN, "a letter, then up to 31 letters, digits or '_', then up to 3 '+' or '-'"),
    "residue": (RESIDUE_NAME_PATTERN, "1-3 capital letters or digits (the PDB keeps 3)"),
    "smiles": (SMILES_PATTERN, "the SMILES alphabet only (letters, digits, @ + - [ ] ( ) = # : . % / \\ *)"),
}


def check_name(kind: str, value: Any, key: str) -> str:
    """Return ``value`` if it is a safe ``kind`` name (see ``NAME_RULES``), else raise ConfigError naming ``key``."""
    pattern, rule = NAME_RULES[kind]
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"config key '{key}': {value!r} is not allowed as a {kind} name; allowed: {rule} "
                          "(names reach file paths and command lines)")
    return value


@dataclass(frozen=True)
class ConfigVocabulary:
    """What a config may name, supplied by the packages that own it (``workflow/config_vocabulary.py``).

    species_roles: built-in species name -> role (solvent, cation, anion, monomer).
    species_residues: built-in species name -> residue name.
    ion_residues_with_parameters: residue names that have ion force-field parameters.
    ion_residues_with_templates: residue names with a shipped residue template (GAFF2 + RESP), which is how the
        ions of an ``additive_salt`` (quaternary ammonium, nitrate) are parameterised.
    density_references / conductivity_references: keys of the experimental reference tables.
    """

    species_roles: dict[str, str]
    species_residues: dict[str, str]
    ion_residues_with_parameters: frozenset[str] = field(default_factory=frozenset)
    ion_residues_with_templates: frozenset[str] = field(default_factory=frozenset)
    density_references: frozenset[str] = field(default_factory=frozenset)
    conductivity_references: frozenset[str] = field(default_factory=frozenset)


# --------------------------------------------------------------------------------------------- schema pass


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _with_defaults(validator_class):
    """Extend a jsonschema validator so that it fills in ``default`` values while it validates.

    A property marked ``x-kind: <kind>`` gets its default only in an object whose ``kind`` is that kind
    (the network keys of a gel are not filled into an electrolyte).
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            kind = instance.get("kind", properties.get("kind", {}).get("default"))
            for key, subschema in properties.items():
                only_for = subschema.get("x-kind")
                if only_for is not None and kind != only_for:
                    continue
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


# ---------------------------------------------------------------------------------------------- models


def setting(*stages: str, omit_if_none: bool = False, **kwargs) -> Any:
    """A model field read by ``stages`` (the rerun trigger of each stage is derived from these).

    ``omit_if_none``: an optional block that, when absent (None), is left out of the stage inputs and of the
    resolved config, so that adding such a block to the model reruns nothing for configs that do not use it.
    """
    extra = {"stages": list(stages)} | ({"omit_if_none": True} if omit_if_none else {})
    return Field(json_schema_extra=extra, **kwargs)


ALL_STAGES = ("build", "network_build", "parameterise", "equilibrate", "produce", "density", "transport", "summary",
              "mechanics", "viscosity", "validation", "descriptors", "report")
ALL_STAGES = ALL_STAGES + ("retention",)
NETWORK = "network_build"
"""The build of a gel, which also runs MD (engine, force field, temperature and pressure matter to it)."""
SIMULATION = ("equilibrate", "produce", "mechanics", "retention")
ANALYSIS = ("density", "transport", "summary")
ALL_STAGES = ALL_STAGES + ("interface",)
SIMULATION = SIMULATION + ("interface",)
"""The interface stage (Na | system | Na cells) runs MD: engine, force field, temperature and seed matter to it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Model):
    platform: Literal["auto", "CUDA", "OpenCL", "CPU", "Reference"] = setting(NETWORK, *SIMULATION)
    precision: Literal["auto", "single", "mixed", "double"] = setting(NETWORK, *SIMULATION)
    allow_opencl: bool = setting(NETWORK, *SIMULATION)
    cpu_threads: int = setting(NETWORK, *SIMULATION)
    deterministic: bool = setting(NETWORK)


CHARGE_MODELS = ("resp_hf631gs", "resp2", "scaled")
"""Charge models of the solvent molecules (forcefields/charge_models.py): HF/6-31G* RESP, RESP2 (Schauperl et
al. 2020) and HF/6-31G* RESP uniformly scaled by ``solvent_charge_scale``."""


class ChargeModel(_Model):
    """The charge model of a system's solvent molecules (ions: ``ion_charge_scale``; network units: RESP)."""

    model: Literal["resp_hf631gs", "resp2", "scaled"] = setting("parameterise", "summary", "validation")
    solvent_charge_scale: float = setting("parameterise", "summary", "validation")
    resp2_delta: float = setting("parameterise", "summary", "validation")

    @property
    def tag(self) -> str:
        """Folder name of this model's residue templates: resp_hf631gs, resp2_d0.60, scaled_0.80."""
        if self.model == "resp2":
            return f"resp2_d{self.resp2_delta:.2f}"
        if self.model == "scaled":
            return f"scaled_{self.solvent_charge_scale:.2f}"
        return "resp_hf631gs"


class ForceFieldSettings(_Model):
    ion_charge_scale: float = setting(NETWORK, "parameterise", *SIMULATION, *ANALYSIS)
    charge_model: ChargeModel = setting("summary", "validation")
    nonbonded_cutoff_nm: float = setting(NETWORK, "parameterise", *SIMULATION)
    ewald_error_tolerance: float = setting(NETWORK, "parameterise", *SIMULATION)
    hydrogen_mass_amu: float = setting(NETWORK, *SIMULATION)


class SpeciesDeclaration(_Model):
    smiles: str = setting(*ALL_STAGES)
    residue: str = setting(*ALL_STAGES)
    role: Literal["solvent", "cation", "anion", "monomer"] = setting(*ALL_STAGES)
    density_g_per_cm3: float | None = setting(*ALL_STAGES, default=None)


class SaltSpec(_Model):
    """A 1:1 salt: cation and anion species names, molarity in mol per litre of solution."""

    cation: str = setting(*ALL_STAGES)
    anion: str = setting(*ALL_STAGES)
    concentration_mol_per_L: float = setting(*ALL_STAGES)


class NetworkSpec(_Model):
    """How a gel (kind gpe) is built: the crosslinker, its reaction and the crosslinking cycles."""

    monomer: str = setting(*ALL_STAGES)
    monomer_smiles: str | None = setting(*ALL_STAGES)
    monomer_residue: str | None = setting(*ALL_STAGES)
    reaction: Literal["ring_opening_aziridine", "radical_acrylate"] = setting(*ALL_STAGES)
    polymer_weight_fraction: float = setting(*ALL_STAGES)
    target_conversion: float = setting(*ALL_STAGES)
    max_cycles: int = setting(*ALL_STAGES)
    bond_cutoff_nm: float = setting(*ALL_STAGES)
    max_bond_cutoff_nm: float = setting(*ALL_STAGES)
    cutoff_step_nm: float = setting(*ALL_STAGES)
    min_ring_size: int = setting(*ALL_STAGES)
    max_bond_length_nm: float = setting(*ALL_STAGES)
    relax_md_ps: float = setting(*ALL_STAGES)
    pre_md_ps: float = setting(*ALL_STAGES)
    initiator: Literal["AIBN", "PF5"] = setting(*ALL_STAGES)
    initiator_weight_fraction: float = setting(*ALL_STAGES)
    initiator_efficiency: float | None = setting(*ALL_STAGES)
    propagation_rounds: int = setting(*ALL_STAGES)
    min_loop_units: int = setting(*ALL_STAGES)
    partner_choice: Literal["nearest", "random"] = setting(*ALL_STAGES)
    network_seed: int | None = setting(*ALL_STAGES)
    required_percolation_axes: tuple[Literal["x", "y", "z"], ...] = setting(*ALL_STAGES)
    max_build_attempts: int = setting(*ALL_STAGES)


class LJOverride(_Model):
    """Lennard-Jones parameters that replace GAFF2's for one atom type of one residue (a force-field variant,
    e.g. issue 14's carbonyl-O trial); ``source`` names where the numbers come from."""

    residue: str = setting("parameterise", "summary", "validation")
    atom_type: str = setting("parameterise", "summary", "validation")
    sigma_nm: float = setting("parameterise", "summary", "validation")
    epsilon_kJ_per_mol: float = setting("parameterise", "summary", "validation")
    source: str = setting("parameterise", "summary", "validation")


class SystemSpec(_Model):
    name: str = setting(*ALL_STAGES)
    kind: Literal["electrolyte", "gpe"] = setting(*ALL_STAGES)
    solvent_volume_fractions: dict[str, float] = setting(*ALL_STAGES)
    salt: SaltSpec = setting(*ALL_STAGES)
    additive_salt: SaltSpec | None = setting(*ALL_STAGES, default=None, omit_if_none=True)
    n_solvent: int = setting(*ALL_STAGES)
    reference_density: str = setting("density", "summary")
    reference_conductivity: str = setting("summary")
    viscosity_Pa_s: float | None = setting("transport", "summary")
    network: NetworkSpec | None = setting(*ALL_STAGES, default=None)
    charge_model: ChargeModel | None = setting("parameterise", "summary", "validation", default=None)
    lj_overrides: tuple[LJOverride, ...] | None = setting("parameterise", "summary", "validation", default=None,
                                                          omit_if_none=True)

    @property
    def monomer(self) -> str | None:
        return self.network.monomer if self.network else None

    @property
    def has_salt(self) -> bool:
        return self.salt.concentration_mol_per_L > 0

    @property
    def salts(self) -> list[SaltSpec]:
        """The salts present (concentration > 0): the main salt, then the additive salt."""
        return [s for s in (self.salt, self.additive_salt) if s is not None and s.concentration_mol_per_L > 0]


class Protocol(_Model):
    timestep_ps: float = setting(*SIMULATION)
    friction_per_ps: float = setting("equilibrate")
    production_friction_per_ps: float = setting("produce")
    production_replicas: int = setting("transport", "summary")  # a production does not depend on how many there are
    barostat_interval: int = setting("equilibrate")
    minimise_max_iterations: int = setting("equilibrate")
    heating_duration_ps: float = setting("equilibrate")
    heating_start_temperature_K: float = setting("equilibrate")
    equilibration_duration_ps: float = setting("equilibrate")
    equilibration_max_blocks: int = setting("equilibrate")
    density_tolerance: float = setting("equilibrate")
    production_duration_ps: float = setting("produce")
    production_chunk_ps: float = setting("produce")
    trajectory_interval_ps: float = setting("produce")
    trajectory_format: Literal["dcd", "xtc"] = setting("produce", "transport")
    transport_discard_ps: float = setting("transport")
    energy_interval_ps: float = setting(*SIMULATION)

    def steps(self, duration_ps: float) -> int:
        """Number of integration steps in ``duration_ps`` (a whole number by validation)."""
        return max(0, int(round(duration_ps / self.timestep_ps)))


class MechanicsSettings(_Model):
    """Compressive stress-strain (simulation/deformation.py, analysis/mechanics.py); times in ps."""

    enabled: bool = setting("mechanics", "summary")
    axis: Literal["z"] = setting("mechanics")
    max_strain: float = setting("mechanics")
    strain_step: float = setting("mechanics")
    hold_ps: float = setting("mechanics")
    discard_fraction: float = setting("mechanics")
    reference_ps: float = setting("mechanics")
    ramp_ps: float = setting("mechanics")
    sample_interval_ps: float = setting("mechanics")
    friction_per_ps: float = setting("mechanics")
    barostat_interval: int = setting("mechanics")
    blocks: int = setting("mechanics")
    modulus_fit_max_strain: float = setting("mechanics")


class ViscositySettings(_Model):
    """The viscosity stage (periodic perturbation: simulation/viscosity.py, analysis/viscosity.py); internal units."""

    enabled: bool = setting("viscosity", "transport", "summary")
    amplitude_nm_per_ps2: float = setting("viscosity")
    second_amplitude_nm_per_ps2: float = setting("viscosity")
    duration_ps: float = setting("viscosity")
    spin_up_ps: float = setting("viscosity")
    sample_interval_ps: float = setting("viscosity")
    collision_rate_per_ps: float = setting("viscosity")
    blocks: int = setting("viscosity")


class ValidationSettings(_Model):
    """The validation campaign (workflow/rules/validation.smk): gas-phase run for ΔHvap and the ε blocks."""

    enabled: bool = setting("validation", "summary")
    gas_phase_duration_ps: float = setting("validation")
    dielectric_blocks: int = setting("validation")


class DescriptorSettings(_Model):
    """The DFT descriptors stage (descriptors/ package): cache use and compute backend."""

    enabled: bool = setting("descriptors", "report")
    recompute: bool = setting("descriptors")
    compute_missing: bool = setting("descriptors")
    backend: Literal["auto", "cpu", "gpu"] = setting("descriptors")
    extra_species: tuple[str, ...] = setting("descriptors")


class ReportSettings(_Model):
    """The comparison notebook executed by the workflow (notebooks/compare_networks.py)."""

    enabled: bool = setting("report")


class InterfaceSettings(_Model):
    """Na | system | Na cells (systems/na_interface.py, simulation/interface.py, analysis/interface.py); nm, ps, V."""

    enabled: bool = setting("interface", "summary")
    eam_potential: Literal["nichol_ackland_2016", "mendelev_2014"] = setting("interface")
    orientation: Literal["100", "110", "111"] = setting("interface")
    planes_per_slab: int = setting("interface")
    lattice_constant_nm: float = setting("interface")
    gap_nm: float = setting("interface")
    electrolyte_thickness_nm: float | None = setting("interface")
    mobile_metal: bool = setting("interface")
    metal_lj_sigma_nm: float = setting("interface")
    metal_lj_epsilon_kJ_per_mol: float = setting("interface")
    gaussian_width_nm: float = setting("interface")
    bias_V: float = setting("interface", "summary")
    timestep_ps: float = setting("interface")
    equilibration_ps: float = setting("interface")
    production_ps: float = setting("interface")
    frame_interval_ps: float = setting("interface")
    homogeneity_depth_nm: float = setting("interface")
    map_bins: int = setting("interface")
    blocks: int = setting("interface")


class RetentionSettings(_Model):
    """Solvent retention (simulation/solvation_free_energy.py, simulation/evaporation.py, analysis/retention.py):
    alchemical decoupling of solvent molecules and evaporation from a film; internal units in the names."""

    enabled: bool = setting("retention", "summary")
    reference_system: str = setting("retention")
    solvents: tuple[str, ...] = setting("retention")
    molecules_per_solvent: int = setting("retention")
    lambda_electrostatics: tuple[float, ...] = setting("retention")
    lambda_sterics: tuple[float, ...] = setting("retention")
    window_equilibration_ps: float = setting("retention")
    window_duration_ps: float = setting("retention")
    sample_interval_ps: float = setting("retention")
    collision_rate_per_ps: float = setting("retention")
    flory_huggins_chi: float = setting("retention")
    evaporation_temperature_K: float = setting("retention")
    evaporation_duration_ps: float = setting("retention")
    evaporation_sample_interval_ps: float = setting("retention")
    evaporation_replicas: int = setting("retention")
    vacuum_gap_nm: float = setting("retention")
    evaporation_distance_nm: float = setting("retention")
    wall_force_constant_kJ_per_mol_per_nm2: float = setting("retention")
    evaporated_molecules: str = setting("retention")  # "wall" (held) or "remove" (switched off): simulation.ghosts


class Resources(_Model):
    gpu: int = setting()
    runtime_min: int = setting()
    mem_mb: int = setting()


class GelmdConfig(_Model):
    name: str = setting(*ALL_STAGES)
    seed: int = setting("build", NETWORK, *SIMULATION)
    temperature_K: float = setting(NETWORK, *SIMULATION, *ANALYSIS)
    pressure_bar: float = setting(NETWORK, *SIMULATION)
    engine: EngineSettings = setting(NETWORK, *SIMULATION)
    forcefield: ForceFieldSettings = setting(NETWORK, "parameterise", *SIMULATION, *ANALYSIS)
    species: dict[str, SpeciesDeclaration] = setting(*ALL_STAGES)
    systems: dict[str, SystemSpec] = setting(*ALL_STAGES)
    protocol: Protocol = setting(*SIMULATION, *ANALYSIS)
    mechanics: MechanicsSettings = setting("mechanics", "summary")
    resources: Resources = setting()
    viscosity: ViscositySettings = setting("viscosity", "transport", "summary")
    retention: RetentionSettings = setting("retention", "summary")
    validation: ValidationSettings = setting("validation", "summary")
    descriptors: DescriptorSettings = setting("descriptors", "report")
    report: ReportSettings = setting("report")
    interface: InterfaceSettings = setting("interface", "summary")

    def system(self, name: str) -> SystemSpec:
        """The system called ``name``; ConfigError listing the systems when there is none."""
        try:
            return self.systems[name]
        except KeyError:
            raise ConfigError(f"system {name!r} is not in the config; systems: {sorted(self.systems)}") from None

    def to_resolved_json(self) -> str:
        """The validated model as JSON (internal units in the key names), read back by
        :func:`read_resolved_config`."""
        return json.dumps({"schema": RESOLVED_SCHEMA_ID, **_dump(self)}, indent=2) + "\n"


def _omitted(model: BaseModel, name: str, value: Any) -> bool:
    """Whether field ``name`` of ``model`` is an absent optional block (``setting(omit_if_none=True)``)."""
    extra = type(model).model_fields[name].json_schema_extra or {}
    return value is None and bool(extra.get("omit_if_none"))


def _dump(model: BaseModel) -> dict:
    """``model.model_dump(mode="json")`` without the absent optional blocks (``setting(omit_if_none=True)``)."""
    out = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if _omitted(model, name, value):
            continue
        if isinstance(value, BaseModel):
            out[name] = _dump(value)
        elif isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values()):
            out[name] = {k: _dump(v) if isinstance(v, BaseModel) else v for k, v in value.items()}
        else:
            out[name] = model.model_dump(mode="json", include={name})[name]
    return out


# ------------------------------------------------------------------------------------ typed-model pass


def _positive(value: float, key: str, text: Any, allow_zero: bool = False) -> float:
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"config key '{key}': {text!r} is not allowed; it must be {bound}")
    return value


def _quantity(section: dict, key: str, dimension: str, prefix: str, allow_zero: bool = False) -> float:
    full_key = f"{prefix}{key}"
    return _positive(parse_quantity(section[key], dimension, full_key), full_key, section[key], allow_zero)


def _solvent_fractions(prefix: str, fractions: dict, roles: dict[str, str]) -> dict[str, float]:
    for solvent, fraction in fractions.items():
        role = roles.get(solvent)
        if role is None:
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': unknown species {solvent!r}; "
                              f"known species: {sorted(roles)}")
        if role != "solvent":
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': {solvent!r} is a {role}, not a solvent; "
                              f"solvents: {sorted(k for k, r in roles.items() if r == 'solvent')}")
        if not 0 < fraction <= 1:
            raise ConfigError(f"config key '{prefix}solvents.{solvent}': volume fraction {fraction!r} must be in (0, 1]")
    total = sum(fractions.values())
    if abs(total - 1.0) > VOLUME_FRACTION_TOLERANCE:
        raise ConfigError(f"config key '{prefix}solvents': volume fractions {fractions} sum to {total:g}; "
                          f"they must sum to 1 (within {VOLUME_FRACTION_TOLERANCE:g})")
    return dict(fractions)


def _salt(prefix: str, salt: dict, roles: dict[str, str], residues: dict[str, str],
          vocabulary: ConfigVocabulary, key: str = "salt") -> SaltSpec:
    """The salt block ``key`` of a system. The main ``salt``'s ions take the ion force field (data/ions.xml);
    an ``additive_salt``'s ions may also be molecular ions with a shipped GAFF2 + RESP residue template."""
    parameterised = vocabulary.ion_residues_with_parameters
    if key != "salt":
        parameterised = parameterised | vocabulary.ion_residues_with_templates
    for role in ("cation", "anion"):
        name = salt[role]
        if roles.get(name) != role:
            allowed = sorted(k for k, r in roles.items() if r == role)
            raise ConfigError(f"config key '{prefix}{key}.{role}': {name!r} is not a known {role}; allowed: {allowed}")
        if vocabulary.ion_residues_with_parameters and residues[name] not in parameterised:
            with_parameters = sorted(k for k, r in roles.items() if r == role and residues[k] in parameterised)
            where = ("forcefields/data/ions.xml" if key == "salt" else
                     "forcefields/data/ions.xml or a residue template in forcefields/data/templates")
            raise ConfigError(f"config key '{prefix}{key}.{role}': {name!r} (residue {residues[name]}) has no ion "
                              f"force-field parameters ({where}); {role}s with parameters: {with_parameters}")
    text = salt["concentration"]
    concentration = parse_quantity(text, "concentration", f"{prefix}{key}.concentration")
    if concentration < 0:
        raise ConfigError(f"config key '{prefix}{key}.concentration': {text!r} is negative; a molarity must be "
                          ">= 0 mol/L")
    if concentration > MAX_SALT_MOLARITY_MOL_PER_L:
        raise ConfigError(f"config key '{prefix}{key}.concentration': {text!r} is above "
                          f"{MAX_SALT_MOLARITY_MOL_PER_L:g} mol/L, beyond the solubility of the salts supported")
    return SaltSpec(cation=salt["cation"], anion=salt["anion"], concentration_mol_per_L=concentration)


def _additive_salt(prefix: str, spec: dict, main: SaltSpec, roles: dict[str, str], residues: dict[str, str],
                   vocabulary: ConfigVocabulary) -> SaltSpec | None:
    """A system's second salt (e.g. the founding paper's LE(TEA): LE + 0.1 M of a quaternary-ammonium nitrate);
    None when the block is absent or its concentration is 0. Its ions must differ from the main salt's (each
    species is counted once), and only a liquid electrolyte takes one (the network builder packs one salt)."""
    if "additive_salt" not in spec:
        return None
    additive = _salt(prefix, spec["additive_salt"], roles, residues, vocabulary, key="additive_salt")
    if additive.concentration_mol_per_L == 0:
        return None
    if spec["kind"] != "electrolyte":
        raise ConfigError(f"config key '{prefix}additive_salt': allowed only for kind 'electrolyte' (the network "
                          f"builder packs one salt); system {prefix[8:-1]!r} is kind {spec['kind']!r}")
    if main.concentration_mol_per_L > 0:
        for role in ("cation", "anion"):
            if getattr(additive, role) == getattr(main, role):
                raise ConfigError(f"config key '{prefix}additive_salt.{role}': {getattr(additive, role)!r} is also "
                                  f"the {role} of {prefix}salt; allowed: a {role} other than the main salt's "
                                  "(raise salt.concentration instead)")
    return additive


def _reference(prefix: str, key: str, value: str, known: frozenset[str]) -> str:
    if value and known and value not in known:
        raise ConfigError(f"config key '{prefix}{key}': {value!r} is not a known reference; allowed: "
                          f"{sorted(known)} or '' for none (analysis/reference_data.py)")
    return value


def _viscosity(prefix: str, text: str) -> float | None:
    if not text.strip():
        return None
    value = parse_quantity(text, "viscosity", f"{prefix}viscosity")
    return _positive(value, f"{prefix}viscosity", text)


def _charge_model(prefix: str, model: str, scale: float | None, delta: float) -> ChargeModel:
    """The charge model; ``scaled`` needs a solvent_charge_scale below 1, the others refuse one."""
    scale = 1.0 if scale is None else float(scale)
    if model == "scaled" and not 0.0 < scale < 1.0:
        raise ConfigError(f"config key '{prefix}solvent_charge_scale': {scale!r}; charge_model 'scaled' needs "
                          "0 < solvent_charge_scale < 1 (e.g. 0.8)")
    if model != "scaled" and scale != 1.0:
        raise ConfigError(f"config key '{prefix}solvent_charge_scale': {scale!r} is only allowed with "
                          f"charge_model 'scaled' (charge_model is {model!r}); allowed: 1.0 or charge_model scaled")
    return ChargeModel(model=model, solvent_charge_scale=scale, resp2_delta=float(delta))


def _lj_override(key: str, entry: dict) -> LJOverride:
    """One LJ override entry (``key`` names it in errors); its source must be given."""
    if not str(entry["source"]).strip():
        raise ConfigError(f"config key '{key}.source': empty; name where the parameters come from (every "
                          "force-field parameter cites its source)")
    return LJOverride(residue=entry["residue"], atom_type=entry["atom_type"],
                      sigma_nm=_quantity(entry, "sigma", "length", key + "."),
                      epsilon_kJ_per_mol=_quantity(entry, "epsilon", "energy", key + "."),
                      source=str(entry["source"]).strip())


def _checked_overrides(key_prefix: str, entries: list, allowed_residues: list[str], where: str
                       ) -> tuple[LJOverride, ...]:
    """``entries`` parsed, each on one of ``allowed_residues`` and no residue/atom type twice."""
    out, seen = [], set()
    for n, entry in enumerate(entries):
        key = f"{key_prefix}lj_overrides[{n}]"
        if entry["residue"] not in allowed_residues:
            raise ConfigError(f"config key '{key}.residue': {entry['residue']!r} is not a residue of {where}; "
                              f"allowed: {allowed_residues}")
        if (entry["residue"], entry["atom_type"]) in seen:
            raise ConfigError(f"config key '{key}': {entry['residue']}/{entry['atom_type']} is overridden twice")
        seen.add((entry["residue"], entry["atom_type"]))
        out.append(_lj_override(key, entry))
    return tuple(out)


def _system_residues(spec: dict, residues: dict[str, str]) -> list[str]:
    """Residue names of a system's solvents and salts (what LJ overrides may touch)."""
    species = [*spec["solvents"], *(spec["salt"].get(k) for k in ("cation", "anion")),
               *((spec.get("additive_salt") or {}).get(k) for k in ("cation", "anion"))]
    return sorted({residues[s] for s in species if s and s in residues})


def _lj_overrides(prefix: str, entries: list | None, spec: dict, residues: dict[str, str],
                  inherited: tuple[LJOverride, ...] = ()) -> tuple[LJOverride, ...] | None:
    """The system's LJ overrides, each on a solvent or salt residue of the system; None when there are none
    (a network's units are typed per build and not overridable here). ``entries`` None: the forcefield's
    ``inherited`` overrides on residues this system has; a list (even empty) replaces them."""
    present = _system_residues(spec, residues)
    if entries is None:
        chosen = tuple(o for o in inherited if o.residue in present)
    else:
        chosen = _checked_overrides(prefix, entries, present, "this system")
    return chosen or None


def _system(name: str, spec: dict, roles: dict[str, str], residues: dict[str, str],
            vocabulary: ConfigVocabulary, charge_model: ChargeModel | None = None,
            forcefield_lj_overrides: tuple[LJOverride, ...] = ()) -> SystemSpec:
    check_name("system", name, f"systems.{name}")
    prefix = f"systems.{name}."
    if spec.get("charge_model") or spec.get("solvent_charge_scale") is not None:
        own = spec.get("charge_model") or (charge_model.model if charge_model else "resp_hf631gs")
        charge_model = _charge_model(prefix, own, spec.get("solvent_charge_scale"),
                                     charge_model.resp2_delta if charge_model else 0.6)
    salt = _salt(prefix, spec["salt"], roles, residues, vocabulary)
    return SystemSpec(
        name=name, kind=spec["kind"],
        solvent_volume_fractions=_solvent_fractions(prefix, spec["solvents"], roles),
        salt=salt,
        additive_salt=_additive_salt(prefix, spec, salt, roles, residues, vocabulary),
        n_solvent=spec["n_solvent"],
        reference_density=_reference(prefix, "reference_density", spec["reference_density"],
                                     vocabulary.density_references),
        reference_conductivity=_reference(prefix, "reference_conductivity", spec["reference_conductivity"],
                                          vocabulary.conductivity_references),
        viscosity_Pa_s=_viscosity(prefix, spec["viscosity"]),
        network=_network(prefix, spec, roles, residues),
        lj_overrides=_lj_overrides(prefix, spec.get("lj_overrides"), spec, residues, forcefield_lj_overrides),
        charge_model=charge_model,
    )


NETWORK_KEYS = ("monomer", "monomer_smiles", "monomer_residue", "reaction", "polymer_weight_fraction",
                "target_conversion", "max_cycles", "bond_cutoff", "max_bond_cutoff", "cutoff_step", "min_ring_size",
                "max_bond_length", "relax_md", "pre_md", "initiator", "initiator_weight_fraction",
                "initiator_efficiency", "propagation_rounds", "min_loop_units", "partner_choice", "network_seed",
                "required_percolation_axes", "max_build_attempts")
"""Keys of a system that only a crosslinked gel (kind gpe) may carry (``x-kind: gpe`` in the schema)."""


def _network(prefix: str, spec: dict, roles: dict[str, str], residues: dict[str, str]) -> NetworkSpec | None:
    """The network keys of a gel (None for an electrolyte, which may not carry them)."""
    if spec["kind"] != "gpe":
        present = [k for k in NETWORK_KEYS if k in spec]
        if present:
            raise ConfigError(f"config keys {[prefix + k for k in present]} are only allowed for kind 'gpe'; "
                              f"system {prefix[8:-1]!r} is kind {spec['kind']!r}")
        return None
    monomer = spec["monomer"]
    if roles.get(monomer) != "monomer":
        allowed = sorted(k for k, r in roles.items() if r == "monomer")
        raise ConfigError(f"config key '{prefix}monomer': {monomer!r} is not a known monomer; allowed: {allowed} "
                          "(or declare one under species: with role monomer)")
    reaction = spec["reaction"] or MONOMER_REACTIONS.get(monomer)
    if reaction is None:
        raise ConfigError(f"config key '{prefix}reaction' is required for monomer {monomer!r}; allowed: "
                          f"{sorted(set(MONOMER_REACTIONS.values()))}")
    smiles = spec["monomer_smiles"] or None
    if smiles is not None:
        check_name("smiles", smiles, prefix + "monomer_smiles")
    length = {k: _quantity(spec, k, "length", prefix) for k in ("bond_cutoff", "max_bond_cutoff", "cutoff_step",
                                                                "max_bond_length")}
    if length["max_bond_cutoff"] > MAX_CAPTURE_CUTOFF_NM:
        raise ConfigError(f"config key '{prefix}max_bond_cutoff': {spec['max_bond_cutoff']!r} is above "
                          f"{MAX_CAPTURE_CUTOFF_NM} nm; chain ends capture partners that MD brought within reach "
                          "(lengthen relax_md instead)")
    if length["bond_cutoff"] > length["max_bond_cutoff"]:
        raise ConfigError(f"config key '{prefix}bond_cutoff': {spec['bond_cutoff']!r} is longer than "
                          f"max_bond_cutoff {spec['max_bond_cutoff']!r}; it must not be")
    return NetworkSpec(
        monomer=monomer, monomer_smiles=smiles,
        monomer_residue=spec["monomer_residue"] or residues.get(monomer, monomer),
        reaction=reaction, polymer_weight_fraction=spec["polymer_weight_fraction"],
        target_conversion=spec["target_conversion"], max_cycles=spec["max_cycles"],
        bond_cutoff_nm=length["bond_cutoff"], max_bond_cutoff_nm=length["max_bond_cutoff"],
        cutoff_step_nm=length["cutoff_step"], min_ring_size=spec["min_ring_size"],
        max_bond_length_nm=length["max_bond_length"],
        relax_md_ps=_quantity(spec, "relax_md", "time", prefix, allow_zero=True),
        pre_md_ps=_quantity(spec, "pre_md", "time", prefix, allow_zero=True),
        initiator=spec["initiator"] or REACTION_INITIATORS[reaction],
        initiator_weight_fraction=spec["initiator_weight_fraction"],
        initiator_efficiency=spec["initiator_efficiency"],
        propagation_rounds=spec["propagation_rounds"], min_loop_units=spec["min_loop_units"],
        partner_choice=spec["partner_choice"], network_seed=spec["network_seed"],
        required_percolation_axes=tuple(spec["required_percolation_axes"]),
        max_build_attempts=spec["max_build_attempts"],
    )


PROTOCOL_DURATIONS = ("heating_duration", "equilibration_duration", "production_duration", "production_chunk",
                      "trajectory_interval", "energy_interval")
"""Protocol times that must be whole numbers of time steps (never silently rounded)."""


def _whole_steps(section: dict, key: str, value_ps: float, timestep_ps: float) -> None:
    steps = value_ps / timestep_ps
    if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
        raise ConfigError(f"config key 'protocol.{key}': {section[key]!r} is not a whole number of time steps "
                          f"(protocol.timestep {section['timestep']!r}: {steps:.4g} steps); allowed: a multiple "
                          f"of {timestep_ps * 1000:g} fs, e.g. {round(steps) * timestep_ps:g} ps")


def _protocol(section: dict, hydrogen_mass_amu: float) -> Protocol:
    p = "protocol."
    timestep = _quantity(section, "timestep", "time", p)
    hmr = hydrogen_mass_amu > HYDROGEN_MASS_AMU + 1e-6
    limit = MAX_TIMESTEP_WITH_HMR_PS if hmr else MAX_TIMESTEP_WITHOUT_HMR_PS
    if timestep > limit + 1e-12:
        hint = "" if hmr else " (set forcefield.hydrogen_mass to e.g. '3.024 amu' to allow 4 fs)"
        raise ConfigError(f"config key 'protocol.timestep': {section['timestep']!r} is too long; with "
                          f"hydrogen mass {hydrogen_mass_amu:g} amu the limit is {limit * 1000:g} fs{hint}")
    times = {key: _quantity(section, key, "time", p, allow_zero=(key == "heating_duration"))
             for key in PROTOCOL_DURATIONS}
    for key, value in times.items():
        _whole_steps(section, key, value, timestep)
    protocol = Protocol(
        timestep_ps=timestep,
        friction_per_ps=_quantity(section, "friction", "rate", p),
        production_friction_per_ps=_quantity(section, "production_friction", "rate", p),
        production_replicas=section["production_replicas"],
        barostat_interval=section["barostat_interval"],
        minimise_max_iterations=section["minimise_max_iterations"],
        heating_duration_ps=times["heating_duration"],
        heating_start_temperature_K=_quantity(section, "heating_start_temperature", "temperature", p),
        equilibration_duration_ps=times["equilibration_duration"],
        equilibration_max_blocks=section["equilibration_max_blocks"],
        density_tolerance=section["density_tolerance"],
        production_duration_ps=times["production_duration"],
        production_chunk_ps=times["production_chunk"],
        trajectory_interval_ps=times["trajectory_interval"],
        trajectory_format=section["trajectory_format"],
        energy_interval_ps=times["energy_interval"],
        transport_discard_ps=_quantity(section, "transport_discard", "time", p, allow_zero=True),
    )
    _check_production_grid(protocol)
    return protocol


def _check_production_grid(protocol: Protocol) -> None:
    if protocol.transport_discard_ps >= protocol.production_duration_ps:
        raise ConfigError(f"config key 'protocol.transport_discard': {protocol.transport_discard_ps:g} ps leaves "
                          f"nothing of the {protocol.production_duration_ps:g} ps production; it must be shorter")
    if protocol.production_chunk_ps > protocol.production_duration_ps + 1e-9:
        raise ConfigError("config key 'protocol.production_chunk': longer than protocol.production_duration")
    chunk_steps = protocol.steps(protocol.production_chunk_ps)
    if chunk_steps % protocol.steps(protocol.trajectory_interval_ps):
        raise ConfigError("config key 'protocol.production_chunk': must be a whole number of "
                          f"trajectory_interval ({protocol.production_chunk_ps:g} ps vs "
                          f"{protocol.trajectory_interval_ps:g} ps) so that resumed runs stay on the frame grid")
    frames = int(round((protocol.production_duration_ps - protocol.transport_discard_ps)
                       / protocol.trajectory_interval_ps))
    if frames < MIN_TRANSPORT_FRAMES:
        raise ConfigError(f"config keys 'protocol.production_duration', 'protocol.trajectory_interval': "
                          f"{protocol.production_duration_ps:g} ps every {protocol.trajectory_interval_ps:g} ps "
                          f"(after transport_discard {protocol.transport_discard_ps:g} ps) give {frames} frames; the "
                          f"diffusion fit needs at least {MIN_TRANSPORT_FRAMES}: lengthen the production or write "
                          "frames more often")


def _mechanics(section: dict) -> MechanicsSettings:
    """The mechanics block: times parsed once, the strain grid and the sampling checked (schema: ranges)."""
    p = "mechanics."
    times = {key: _quantity(section, key, "time", p) for key in ("hold", "reference", "ramp", "sample_interval")}
    step, largest = section["strain_step"], section["max_strain"]
    if abs(round(largest / step) * step - largest) > 1e-9:
        raise ConfigError(f"config key '{p}max_strain': {largest!r} is not a whole number of strain_step {step!r}")
    if section["modulus_fit_max_strain"] < step - 1e-12:
        raise ConfigError(f"config key '{p}modulus_fit_max_strain': {section['modulus_fit_max_strain']!r} holds only "
                          f"strain 0; it must be at least strain_step {step!r} (two strains for a slope)")
    kept = times["hold"] * (1.0 - section["discard_fraction"]) / times["sample_interval"]
    needed = max(section["blocks"], 2 * max(2, section["blocks"] // 2))
    if kept < needed:
        raise ConfigError(f"config key '{p}hold': {section['hold']!r} keeps {kept:.0f} samples of sample_interval "
                          f"{section['sample_interval']!r} after discard_fraction {section['discard_fraction']!r}; "
                          f"blocks {section['blocks']} need at least {needed}")
    return MechanicsSettings(
        enabled=section["enabled"], axis=section["axis"], max_strain=largest, strain_step=step,
        hold_ps=times["hold"], discard_fraction=section["discard_fraction"], reference_ps=times["reference"],
        ramp_ps=times["ramp"], sample_interval_ps=times["sample_interval"],
        friction_per_ps=_quantity(section, "friction", "rate", p), barostat_interval=section["barostat_interval"],
        blocks=section["blocks"], modulus_fit_max_strain=section["modulus_fit_max_strain"])


def _viscosity_settings(section: dict, timestep_ps: float) -> ViscositySettings:
    """The viscosity block: amplitudes and times parsed once; two different amplitudes, whole time steps."""
    p = "viscosity."
    amplitudes = [_quantity(section, key, "acceleration", p) for key in ("amplitude", "second_amplitude")]
    if math.isclose(amplitudes[0], amplitudes[1], rel_tol=1e-9):
        raise ConfigError(f"config key 'viscosity.second_amplitude': {section['second_amplitude']!r} equals "
                          f"viscosity.amplitude {section['amplitude']!r}; the linear-response check needs two "
                          "different amplitudes (e.g. A/2 or 2A)")
    times = {key: _quantity(section, key, "time", p, allow_zero=(key == "spin_up"))
             for key in ("duration", "spin_up", "sample_interval")}
    for key, value in times.items():
        steps = value / timestep_ps
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise ConfigError(f"config key 'viscosity.{key}': {section[key]!r} is not a whole number of time steps "
                              f"(protocol.timestep {timestep_ps * 1000:g} fs)")
    if times["sample_interval"] * section["blocks"] > times["duration"] + 1e-9:
        raise ConfigError(f"config key 'viscosity.duration': {section['duration']!r} holds fewer than "
                          f"viscosity.blocks = {section['blocks']} sample intervals of {section['sample_interval']!r}")
    return ViscositySettings(
        enabled=section["enabled"], amplitude_nm_per_ps2=amplitudes[0], second_amplitude_nm_per_ps2=amplitudes[1],
        duration_ps=times["duration"], spin_up_ps=times["spin_up"], sample_interval_ps=times["sample_interval"],
        collision_rate_per_ps=_quantity(section, "collision_rate", "rate", p), blocks=section["blocks"])


def _lambda_schedule(section: dict, key: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in section[key])
    if values[0] != 1.0 or values[-1] != 0.0 or any(b >= a for a, b in zip(values, values[1:])):
        raise ConfigError(f"config key 'retention.{key}': {list(section[key])} is not allowed; it must start at 1, "
                          "end at 0 and decrease strictly")
    return values


EVAPORATION_WALL_MARGIN_NM = 0.5
"""The evaporation film's soft wall stands this far inside the z box edge (simulation.evaporation)."""
EVAPORATION_VAPOUR_BAND_NM = 0.5
"""Vapour a counted molecule needs between the counting distance and the wall (about a solvent molecule's size)."""


def _retention_settings(section: dict, timestep_ps: float, systems: dict, roles: dict[str, str]) -> RetentionSettings:
    """The retention block: times parsed once, λ schedules and names checked, whole time steps."""
    p = "retention."
    times = {key: _quantity(section, key, "time", p, allow_zero=(key == "window_equilibration"))
             for key in ("window_equilibration", "window_duration", "sample_interval", "evaporation_duration",
                         "evaporation_sample_interval")}
    for key, value in times.items():
        steps = value / timestep_ps
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise ConfigError(f"config key 'retention.{key}': {section[key]!r} is not a whole number of time steps "
                              f"(protocol.timestep {timestep_ps * 1000:g} fs)")
    for short, long in (("sample_interval", "window_duration"), ("evaporation_sample_interval", "evaporation_duration")):
        if times[short] > times[long] + 1e-9:
            raise ConfigError(f"config key 'retention.{short}': {section[short]!r} is longer than retention.{long} "
                              f"{section[long]!r}")
    for name in section["solvents"]:
        if roles.get(name) != "solvent":
            raise ConfigError(f"config key 'retention.solvents': {name!r} is not a known solvent; solvents: "
                              f"{sorted(k for k, r in roles.items() if r == 'solvent')}")
    reference = section["reference_system"]
    if section["enabled"] and reference and (reference not in systems or systems[reference]["kind"] != "electrolyte"):
        raise ConfigError(f"config key 'retention.reference_system': {reference!r} is not a liquid electrolyte of this "
                          f"config; allowed: {sorted(n for n, s in systems.items() if s['kind'] == 'electrolyte')} or '' "
                          "(no vapour-pressure ratios)")
    vacuum_gap = _quantity(section, "vacuum_gap", "length", p)
    distance = _quantity(section, "evaporation_distance", "length", p)
    reach = 0.5 * vacuum_gap - EVAPORATION_WALL_MARGIN_NM - EVAPORATION_VAPOUR_BAND_NM
    if distance > reach + 1e-9:
        raise ConfigError(
            f"config key 'retention.evaporation_distance': {section['evaporation_distance']!r} is beyond what the film "
            f"lets a molecule reach with retention.vacuum_gap {section['vacuum_gap']!r}: the soft wall stands "
            f"{EVAPORATION_WALL_MARGIN_NM:g} nm inside the box edge, i.e. vacuum_gap/2 - {EVAPORATION_WALL_MARGIN_NM:g} nm "
            f"beyond the film surface, and a counted molecule needs {EVAPORATION_VAPOUR_BAND_NM:g} nm of vapour beyond "
            f"the counting distance; allowed: evaporation_distance <= {reach:g} nm here (or a wider vacuum_gap)")
    return RetentionSettings(
        enabled=section["enabled"], reference_system=reference, solvents=tuple(section["solvents"]),
        molecules_per_solvent=section["molecules_per_solvent"],
        lambda_electrostatics=_lambda_schedule(section, "lambda_electrostatics"),
        lambda_sterics=_lambda_schedule(section, "lambda_sterics"),
        window_equilibration_ps=times["window_equilibration"], window_duration_ps=times["window_duration"],
        sample_interval_ps=times["sample_interval"], collision_rate_per_ps=_quantity(section, "collision_rate", "rate", p),
        flory_huggins_chi=section["flory_huggins_chi"],
        evaporation_temperature_K=_quantity(section, "evaporation_temperature", "temperature", p),
        evaporation_duration_ps=times["evaporation_duration"],
        evaporation_sample_interval_ps=times["evaporation_sample_interval"],
        evaporation_replicas=section["evaporation_replicas"],
        vacuum_gap_nm=vacuum_gap, evaporation_distance_nm=distance,
        wall_force_constant_kJ_per_mol_per_nm2=_positive(float(section["wall_force_constant"]),
                                                         p + "wall_force_constant", section["wall_force_constant"]),
        evaporated_molecules=section["evaporated_molecules"])


def _declared_species(section: dict, vocabulary: ConfigVocabulary) -> dict[str, SpeciesDeclaration]:
    declared = {}
    for name, decl in section.items():
        check_name("species", name, f"species.{name}")
        if name in vocabulary.species_roles:
            raise ConfigError(f"config key 'species.{name}': {name!r} is a built-in species; choose another name")
        check_name("residue", decl["residue"], f"species.{name}.residue")
        check_name("smiles", decl["smiles"], f"species.{name}.smiles")
        density = None
        if "density" in decl:
            density = _quantity(decl, "density", "density", f"species.{name}.")
        elif decl["role"] == "solvent":
            raise ConfigError(f"config key 'species.{name}.density': a solvent needs its liquid density, "
                              "e.g. '1.2 g/cm^3'")
        declared[name] = SpeciesDeclaration(smiles=decl["smiles"], residue=decl["residue"], role=decl["role"],
                                            density_g_per_cm3=density)
    residues = dict(vocabulary.species_residues) | {n: d.residue for n, d in declared.items()}
    owners: dict[str, str] = {}
    for name, residue in residues.items():
        if residue in owners:
            raise ConfigError(f"config key 'species.{name}.residue': {residue!r} is already the residue of "
                              f"{owners[residue]!r}; residue names must be unique")
        owners[residue] = name
    return declared


def _interface_settings(section: dict) -> InterfaceSettings:
    """The interface block: lengths, times and the bias parsed once; whole steps and enough frames per block."""
    p = "interface."
    length = {key: _quantity(section, key, "length", p) for key in
              ("lattice_constant", "gap", "metal_lj_sigma", "gaussian_width", "homogeneity_depth")}
    times = {key: _quantity(section, key, "time", p) for key in
             ("timestep", "equilibration", "production", "frame_interval")}
    for key in ("equilibration", "production", "frame_interval"):
        steps = times[key] / times["timestep"]
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise ConfigError(f"config key '{p}{key}': {section[key]!r} is not a whole number of "
                              f"interface.timestep {section['timestep']!r}")
    if times["timestep"] > MAX_TIMESTEP_WITH_HMR_PS + 1e-12:
        raise ConfigError(f"config key '{p}timestep': {section['timestep']!r}; at most 4 fs (with HMR)")
    frames = times["production"] / times["frame_interval"]
    if frames < 2 * section["blocks"]:
        raise ConfigError(f"config key '{p}production': {section['production']!r} gives {frames:.0f} frames of "
                          f"{section['frame_interval']!r}; interface.blocks = {section['blocks']} needs at least "
                          f"{2 * section['blocks']}")
    bias = section["bias"].strip()
    if not bias.endswith("V"):
        raise ConfigError(f"config key '{p}bias': {section['bias']!r} is not a potential difference in volts, e.g. '1 V'")
    try:
        bias_V = float(bias[:-1])
    except ValueError:
        raise ConfigError(f"config key '{p}bias': {section['bias']!r} is not '<number> V'") from None
    if not 0.0 < abs(bias_V) <= 5.0:
        raise ConfigError(f"config key '{p}bias': {section['bias']!r}; allowed: a non-zero bias up to 5 V (the 0 V run "
                          "is always made)")
    thickness = section["electrolyte_thickness"]
    return InterfaceSettings(
        enabled=section["enabled"], eam_potential=section["eam_potential"], orientation=str(section["orientation"]),
        planes_per_slab=section["planes_per_slab"], lattice_constant_nm=length["lattice_constant"],
        gap_nm=length["gap"],
        electrolyte_thickness_nm=_quantity(section, "electrolyte_thickness", "length", p) if thickness else None,
        mobile_metal=section["mobile_metal"], metal_lj_sigma_nm=length["metal_lj_sigma"],
        metal_lj_epsilon_kJ_per_mol=_quantity(section, "metal_lj_epsilon", "energy", p),
        gaussian_width_nm=length["gaussian_width"], bias_V=bias_V, timestep_ps=times["timestep"],
        equilibration_ps=times["equilibration"], production_ps=times["production"],
        frame_interval_ps=times["frame_interval"], homogeneity_depth_nm=length["homogeneity_depth"],
        map_bins=section["map_bins"], blocks=section["blocks"])


def build_config(raw: dict, vocabulary: ConfigVocabulary) -> GelmdConfig:
    """Validate ``raw`` (a parsed YAML mapping) and return the typed configuration."""
    config = fill_and_check_schema(raw)
    ff = config["forcefield"]
    declared = _declared_species(config["species"], vocabulary)
    roles = dict(vocabulary.species_roles) | {name: d.role for name, d in declared.items()}
    residues = dict(vocabulary.species_residues) | {name: d.residue for name, d in declared.items()}
    hydrogen_mass = _quantity(ff, "hydrogen_mass", "mass", "forcefield.")
    if not HYDROGEN_MASS_AMU - 1e-6 <= hydrogen_mass <= 4.0:
        raise ConfigError(f"config key 'forcefield.hydrogen_mass': {ff['hydrogen_mass']!r}; allowed range "
                          f"{HYDROGEN_MASS_AMU} to 4 amu")
    charge_model = _charge_model("forcefield.", ff["charge_model"], ff["solvent_charge_scale"], ff["resp2_delta"])
    system_residues = sorted({r for spec in config["systems"].values() for r in _system_residues(spec, residues)})
    forcefield_lj_overrides = _checked_overrides("forcefield.", ff["lj_overrides"], system_residues,
                                                 "any system of this config")
    if config["validation"]["enabled"] and config["report"]["enabled"]:
        # both would write results/<name>/summary.md: the notebook needs the campaign summary (summary.json),
        # whose rule writes summary.md, which a validation campaign fills with its table across charge models
        raise ConfigError("config keys 'validation.enabled' and 'report.enabled' are both true; a validation campaign "
                          "writes summary.md as its table across charge models, and the comparison notebook needs the "
                          "campaign summary that would write the same file: set 'report: {enabled: false}' in a "
                          "validation config (allowed: at most one of the two enabled)")
    return GelmdConfig(
        name=config["name"],
        seed=config["seed"],
        temperature_K=_quantity(config, "temperature", "temperature", ""),
        pressure_bar=_quantity(config, "pressure", "pressure", ""),
        engine=EngineSettings(**config["engine"]),
        forcefield=ForceFieldSettings(
            ion_charge_scale=ff["ion_charge_scale"],
            nonbonded_cutoff_nm=_quantity(ff, "nonbonded_cutoff", "length", "forcefield."),
            ewald_error_tolerance=ff["ewald_error_tolerance"],
            hydrogen_mass_amu=hydrogen_mass,
            charge_model=charge_model,
        ),
        species=declared,
        systems={name: _system(name, spec, roles, residues, vocabulary, charge_model, forcefield_lj_overrides)
                 for name, spec in config["systems"].items()},
        protocol=_protocol(config["protocol"], hydrogen_mass),
        mechanics=_mechanics(config["mechanics"]),
        resources=Resources(**config["resources"]),
        viscosity=_viscosity_settings(config["viscosity"], _quantity(config["protocol"], "timestep", "time", "protocol.")),
        retention=_retention_settings(config["retention"], _quantity(config["protocol"], "timestep", "time", "protocol."),
                                      config["systems"], roles),
        validation=ValidationSettings(
            enabled=config["validation"]["enabled"],
            gas_phase_duration_ps=_quantity(config["validation"], "gas_phase_duration", "time", "validation."),
            dielectric_blocks=config["validation"]["dielectric_blocks"]),
        descriptors=DescriptorSettings(**{**config["descriptors"],
                                          "extra_species": tuple(config["descriptors"]["extra_species"])}),
        report=ReportSettings(**config["report"]),
        interface=_interface_settings(config["interface"]),
    )


def load_config(raw: dict, vocabulary: ConfigVocabulary, check_species=None) -> GelmdConfig:
    """The one way to turn a config mapping into the typed model: schema, model, then ``check_species``.

    ``check_species(config)`` (optional) parses every SMILES the config gives (e.g. with RDKit) and raises a
    ConfigError naming the key.
    """
    config = build_config(raw, vocabulary)
    if check_species is not None:
        check_species(config)
    return config


def load_config_files(paths: Iterable[str | Path], vocabulary: ConfigVocabulary, check_species=None) -> GelmdConfig:
    """Read YAML config files (later ones update earlier ones key by key, as Snakemake merges them) and load
    the model; duplicate keys, syntax errors and missing files are named with file and line."""
    merged: dict = {}
    for path in paths:
        _merge(merged, read_yaml(path))
    return load_config(merged, vocabulary, check_species)


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


# ------------------------------------------------------------------------------------------ files


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML lets the later one win silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ConfigError(f"config file {loader.name!r}, line {key_node.start_mark.line + 1}: key {key!r} "
                              f"is given twice in one mapping (first on line {seen[key] + 1}); a YAML key may "
                              "appear once")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: str | Path) -> dict:
    """Parse a YAML config file strictly: a missing file, a syntax error (file and line) or a duplicate key
    raises ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        loader = _StrictLoader(text)
        loader.name = str(path)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {str(path)!r}{where}: YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r}: the top level must be a mapping of keys, got "
                          f"{type(data).__name__}")
    return data


def read_resolved_config(path: str | Path) -> GelmdConfig:
    """Read ``config.resolved.json`` (written by :meth:`GelmdConfig.to_resolved_json`) back into the model."""
    from common.io import read_json

    data = read_json(path, "resolved config file", invalid=ConfigError)
    if not isinstance(data, dict) or data.get("schema") != RESOLVED_SCHEMA_ID:
        raise ConfigError(f"resolved config file {str(path)!r}: 'schema' must be {RESOLVED_SCHEMA_ID!r} (written by "
                          f"the workflow's resolve_config rule); got {data.get('schema') if isinstance(data, dict) else data!r}")
    try:
        return GelmdConfig.model_validate({k: v for k, v in data.items() if k != "schema"})
    except ValidationError as exc:
        problems = "; ".join(f"key '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors())
        raise ConfigError(f"resolved config file {str(path)!r} is not a valid gelmd config: {problems}") from exc


# ------------------------------------------------------------------------------------ stage inputs


def _stages_of(model_field) -> list[str]:
    extra = model_field.json_schema_extra or {}
    return list(extra.get("stages", []))


def _select(model: BaseModel, stage: str) -> dict:
    """The fields of ``model`` that ``stage`` reads, nested models narrowed the same way."""
    selected = {}
    for name, model_field in type(model).model_fields.items():
        if stage not in _stages_of(model_field):
            continue
        value = getattr(model, name)
        if _omitted(model, name, value):
            continue
        selected[name] = _select(value, stage) if isinstance(value, BaseModel) else _plain(value, stage)
    return selected


def _plain(value: Any, stage: str) -> Any:
    if isinstance(value, dict):
        return {k: _select(v, stage) if isinstance(v, BaseModel) else v for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_select(v, stage) if isinstance(v, BaseModel) else v for v in value]
    return value


def stage_inputs(config: GelmdConfig, stage: str, system: str | None = None) -> dict:
    """The settings ``stage`` reads (of ``system`` only, when given), derived from the fields' ``stages``.

    Given to a rule as a parameter, a change of any of them reruns that rule and nothing else.
    """
    if stage not in ALL_STAGES:
        raise ConfigError(f"unknown stage {stage!r}; stages: {list(ALL_STAGES)}")
    selected = _select(config, stage)
    if system is not None and "systems" in selected:
        selected["systems"] = {system: selected["systems"][system]}
    return json.loads(json.dumps(selected))
