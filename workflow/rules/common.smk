# Shared helpers: config validation (schema + typed models, before any job runs), paths, resources.
import os
import sys
from pathlib import Path

REPO_ROOT = Path(workflow.basedir).resolve()
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# Jobs (scripts, python -m entry points, cluster job steps) import our packages from the repository root.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)

from common.errors import ConfigError
from snakemake.exceptions import WorkflowError
from systems.species import load_config, registry

try:
    CFG = load_config(config)
except ConfigError as error:
    raise WorkflowError(f"gelmd: invalid configuration.\n{error}") from None

PYTHON = sys.executable
RESULTS = f"results/{CFG.name}"
LOGS = f"logs/{CFG.name}"
SYSTEMS = sorted(CFG.systems)
SPECIES = registry(CFG)
# Absolute, so that a run in another working directory (snakemake --directory) uses the cached templates.
TEMPLATE_DIR = str(REPO_ROOT / "forcefields" / "data" / "templates")
ION_RESIDUES = sorted(s.residue for s in SPECIES.values() if s.role in ("cation", "anion"))

wildcard_constraints:
    system="|".join(SYSTEMS),
    residue="[A-Z0-9]{1,3}",


def system_residues(system):
    """Residue names of the molecular (non-ion) species that a system contains."""
    spec = CFG.systems[system]
    names = list(spec.solvent_volume_fractions)
    return sorted(SPECIES[n].residue for n in names)


def template_files(wildcards):
    return [f"{TEMPLATE_DIR}/{residue}.xml" for residue in system_residues(wildcards.system)]


def residue_smiles(wildcards):
    for species in SPECIES.values():
        if species.residue == wildcards.residue and species.role not in ("cation", "anion"):
            return species.smiles
    raise WorkflowError(f"no species with residue name {wildcards.residue!r}; "
                        f"residues: {sorted(s.residue for s in SPECIES.values())}")


def sim_resources():
    """Standard resources of simulation jobs (used by the cluster profiles)."""
    return dict(gpu=CFG.resources.gpu, runtime=CFG.resources.runtime_min, mem_mb=CFG.resources.mem_mb)


rule resolve_config:
    """The validated config with every default filled in: the one input all stages read."""
    output:
        f"{RESULTS}/config.resolved.json",
    params:
        resolved=CFG.raw,
    log:
        f"{LOGS}/resolve_config.log",
    localrule: True
    script:
        "../scripts/write_resolved_config.py"


def stage_inputs(stage, system):
    """The config values a stage depends on; as rule params they make Snakemake rerun exactly what changed."""
    raw = CFG.raw
    # Keys that only the analysis reads must not rebuild or rerun simulations when they change.
    analysis_only = ("reference_density", "reference_conductivity", "viscosity")
    spec = {k: v for k, v in raw["systems"][system].items() if k not in analysis_only}
    used = {"system": spec, "seed": raw["seed"], "species": raw["species"]}
    if stage == "build" and CFG.systems[system].kind == "gpe":
        # the network builder parameterises and runs MD between crosslinking cycles
        used |= {"forcefield": raw["forcefield"], "temperature": raw["temperature"], "pressure": raw["pressure"]}
    if stage in ("parameterise", "equilibrate", "produce"):
        used["forcefield"] = raw["forcefield"]
    if stage in ("equilibrate", "produce"):
        keys = PRODUCTION_KEYS if stage == "produce" else EQUILIBRATION_KEYS
        used |= {"temperature": raw["temperature"], "pressure": raw["pressure"], "engine": raw["engine"],
                 "protocol": {k: v for k, v in raw["protocol"].items() if k in keys}}
    return used


# Protocol keys per stage: a production-only change (e.g. a longer run) must not rerun equilibration.
EQUILIBRATION_KEYS = ("timestep", "friction", "barostat_interval", "minimise_max_iterations", "heating_duration",
                      "heating_start_temperature", "equilibration_duration", "equilibration_max_blocks",
                      "density_tolerance", "energy_interval")
PRODUCTION_KEYS = ("timestep", "production_friction", "production_duration", "production_chunk",
                   "trajectory_interval", "energy_interval")


def formal_charge_arguments():
    """'NA=1 PF6=-1': the integer charges of the ion residues, for the formal-charge conductivity."""
    return " ".join(f"{s.residue}={s.formal_charge}" for s in SPECIES.values() if s.role in ("cation", "anion"))
