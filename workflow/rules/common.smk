# Shared helpers: the config loaded once into the typed model (common/config.py), paths, resources and the
# per-stage rerun triggers derived from the model. Functions only; the rules live in the stage files.
import json
import os
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(workflow.basedir).resolve()
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from common.config import read_yaml, stage_inputs as model_stage_inputs
from forcefields.charge_models import BASE_TAG as BASE_CHARGE_MODEL, model_template_dir
from common.errors import ConfigError
from common.io import write_text_atomic
from snakemake.exceptions import WorkflowError
from systems.species import registry
from workflow.config_vocabulary import load_workflow_config

# Snakemake has parsed the config files already, but its YAML reader lets a duplicate key win silently:
# read each file again strictly (duplicate keys and syntax errors named by file and line), then validate
# the merged config (files + --config overrides) once into the typed model. Nothing below reads `config`.
try:
    for _path in workflow.config_settings.configfiles or [REPO_ROOT / "config" / "config.yaml"]:
        read_yaml(_path)
    CFG = load_workflow_config(config)
except ConfigError as error:
    raise WorkflowError(f"gelmd: invalid configuration.\n{error}") from None

# The interpreter of this Snakemake, with the repository root as the import root of our packages, for every
# job (local, cluster step). A value of our own, not of the config: already shell-quoted.
PYTHON = shlex.join(["env", f"PYTHONPATH={REPO_ROOT}", sys.executable])
RESULTS = f"results/{CFG.name}"
LOGS = f"logs/{CFG.name}"
SYSTEMS = sorted(CFG.systems)
SPECIES = registry(CFG)
# Absolute, so that a run in another working directory (snakemake --directory) uses the cached templates.
TEMPLATE_DIR = str(REPO_ROOT / "forcefields" / "data" / "templates")
REPLICAS = range(1, CFG.protocol.production_replicas + 1)
SALTED = [s for s in SYSTEMS if CFG.systems[s].has_salt]
GELS = [s for s in SYSTEMS if CFG.systems[s].kind == "gpe"]
ELECTROLYTES = [s for s in SYSTEMS if s not in GELS]
# Compressive stress-strain (workflow/rules/mechanics.smk): every gel, and the liquid electrolytes with salt as
# the control (a liquid must read zero modulus).
MECHANICS_SYSTEMS = [s for s in SYSTEMS if s in GELS or s in SALTED] if CFG.mechanics.enabled else []
# Shear viscosity by periodic perturbation (workflow/rules/viscosity.smk): every liquid (kind electrolyte, salted
# or not); its viscosity.json feeds the Yeh-Hummer correction of the liquid's transport.
VISCOSITY_SYSTEMS = ELECTROLYTES if CFG.viscosity.enabled else []
# Solvent retention (workflow/rules/retention.smk): every system that holds a solvent listed in retention.solvents.
RETENTION_SYSTEMS = [s for s in SYSTEMS if set(CFG.systems[s].solvent_volume_fractions) & set(CFG.retention.solvents)
                     ] if CFG.retention.enabled else []
# Na | system | Na cells (workflow/rules/interface.smk): every system with a Na salt (without Na+ there is
# nothing to plate and no Na+ homogeneity to measure).
INTERFACE_SYSTEMS = SALTED if CFG.interface.enabled else []
# RESP templates of species that are not shipped in forcefields/data/templates are computed per campaign.
CAMPAIGN_TEMPLATE_DIR = f"{RESULTS}/templates"
TOPOLOGY = f"{RESULTS}/{{system}}/build/system.pdb"  # written by build_electrolyte or build_network
TRAJECTORY = f"trajectory.{CFG.protocol.trajectory_format}"  # of every production folder (dcd or xtc)


def name_pattern(names):
    """A wildcard constraint that matches exactly ``names`` (safe names, see common.config) and nothing
    when the list is empty."""
    return "|".join(names) if names else "(?!)"


def is_gel(system):
    return CFG.systems[system].kind == "gpe"


def stage_inputs(stage, system=None):
    """The settings a stage reads (from the typed model's field declarations); as rule params they make
    Snakemake rerun exactly the stages a change affects."""
    if stage == "build" and system is not None and is_gel(system):
        stage = "network_build"  # the network builder also runs MD: engine, force field, T and p
    return model_stage_inputs(CFG, stage, system)


def system_residues(system):
    """Residue names of the molecular (non-ion) species that a system contains."""
    return sorted(SPECIES[n].residue for n in CFG.systems[system].solvent_volume_fractions)


def ion_residues(system):
    """Residue names of the system's cation and anion (parameters from forcefields/data/ions.xml) and of its
    additive salt's (residue templates, e.g. TMA and NO3): all their charges are scaled by ion_charge_scale."""
    spec = CFG.systems[system]
    salts = [spec.salt] + ([spec.additive_salt] if spec.additive_salt is not None else [])
    return [SPECIES[name].residue for salt in salts for name in (salt.cation, salt.anion)]


def charge_model(system):
    """The solvent charge model of ``system`` (its own, else forcefield.charge_model; common.config.ChargeModel)."""
    return CFG.systems[system].charge_model or CFG.forcefield.charge_model


def template_file(residue, tag=BASE_CHARGE_MODEL):
    """The shipped, reviewed template of ``residue`` for charge model ``tag`` (forcefields/data/templates[/tag]),
    or the campaign's own (made by resp_template, resp2_template or scaled_template)."""
    shipped = model_template_dir(tag) / f"{residue}.xml"
    if shipped.is_file():
        return str(shipped)
    return str(model_template_dir(tag, CAMPAIGN_TEMPLATE_DIR) / f"{residue}.xml")


def template_files(wildcards):
    """The system's solvent templates in its charge model."""
    tag = charge_model(wildcards.system).tag
    return [template_file(residue, tag) for residue in system_residues(wildcards.system)]


def base_template_files(wildcards):
    """The system's solvent templates in resp_hf631gs (what the network builder relaxes with: a charge-model
    change reruns parameterise and what follows, not the build)."""
    return [template_file(residue) for residue in system_residues(wildcards.system)]


def template_dirs(wildcards):
    """Where parameterise looks for templates by residue name: a gel's build folder first, then the shipped
    templates, then the campaign's own (only when one of the system's residues has no shipped template:
    parameterise refuses a folder that does not exist)."""
    build = [f"{RESULTS}/{wildcards.system}/build/templates"] if is_gel(wildcards.system) else []
    campaign = [CAMPAIGN_TEMPLATE_DIR] if any(
        f.startswith(CAMPAIGN_TEMPLATE_DIR) for f in template_files(wildcards)) else []
    return build + [TEMPLATE_DIR] + campaign


def optional_argument(flag, value):
    """[flag, value], or [] when the config leaves the value empty (an empty word would be no argument)."""
    return [flag, value] if value else []


def build_outputs(wildcards):
    """What parameterise reads from the build: the topology, and for a gel its template folder."""
    folder = f"{RESULTS}/{wildcards.system}/build"
    return [f"{folder}/system.pdb"] + ([f"{folder}/templates"] if is_gel(wildcards.system) else [])


def residue_smiles(wildcards):
    for species in SPECIES.values():
        if species.residue == wildcards.residue and species.role not in ("cation", "anion"):
            return species.smiles
    raise WorkflowError(f"no species with residue name {wildcards.residue!r}; "
                        f"residues: {sorted(s.residue for s in SPECIES.values())}")


def sim_resources():
    """Standard resources of simulation jobs (used by the cluster profiles)."""
    return dict(gpu=CFG.resources.gpu, runtime=CFG.resources.runtime_min, mem_mb=CFG.resources.mem_mb)


def formal_charges(system):
    """['NA=1', 'PF6=-1']: the integer charges of the system's ion residues (its salts'), for the formal-charge
    conductivity (analysis.topology refuses a charge for a residue the topology does not hold)."""
    residues = set(ion_residues(system))
    return [f"{s.residue}={s.formal_charge}" for s in SPECIES.values()
            if s.role in ("cation", "anion") and s.residue in residues]


def viscosity_report(system):
    """[viscosity.json] of a liquid when the viscosity stage runs (an input of its transport), else []."""
    return [f"{RESULTS}/{system}/viscosity/viscosity.json"] if system in VISCOSITY_SYSTEMS else []


def viscosity_arguments(system):
    """The Yeh-Hummer options of analysis.transport: '--gel' for a gel (no correction, stated); for a liquid the
    simulated viscosity ('--viscosity-report viscosity.json') when the viscosity stage is enabled, else the
    config's systems.<name>.viscosity ('--viscosity <value> Pa s', an override used only with the stage
    disabled) or nothing (no correction, stated)."""
    if is_gel(system):
        return ["--gel"]
    if system in VISCOSITY_SYSTEMS:
        return ["--viscosity-report", *viscosity_report(system)]
    value = CFG.systems[system].viscosity_Pa_s
    return [] if value is None else ["--viscosity", f"{value!r} Pa s"]


def production_folder(system, replica):
    """Replica 1 is the production/ folder; replica k >= 2 is production_replica<k>/."""
    name = "production" if int(replica) == 1 else f"production_replica{replica}"
    return f"{RESULTS}/{system}/{name}"


def summary_arguments(wildcards, input):
    """Per-system groups of report files for analysis.summary (see its docstring), as a list of words."""
    words = []
    for system in SYSTEMS:
        words += ["--system", system]
        for key in ("manifest", "forcefield", "density", "production"):
            words += [f"--{key}", getattr(input, f"{key}_{system}")]
        if CFG.systems[system].has_salt:
            words += ["--transport", input[f"transport_{system}"]]
        if is_gel(system):
            words += ["--network", input[f"network_{system}"]]
        if system in MECHANICS_SYSTEMS:
            words += ["--mechanics", input[f"mechanics_{system}"]]
        if system in VISCOSITY_SYSTEMS:
            words += ["--viscosity", input[f"viscosity_{system}"]]
        if system in RETENTION_SYSTEMS:
            words += ["--retention", input[f"retention_{system}"]]
        if system in INTERFACE_SYSTEMS:
            words += ["--interface", input[f"interface_{system}"]]
        words += optional_argument("--reference-conductivity", CFG.systems[system].reference_conductivity)
    return words


def retention_residues(system):
    """Residues of the solvents of retention.solvents that ``system`` contains (decoupled and counted)."""
    present = CFG.systems[system].solvent_volume_fractions
    return [SPECIES[name].residue for name in CFG.retention.solvents if name in present]


def retention_partner_flags(system):
    """--solvent-residues (every solvent of the system) and --ion-residues (its salt, if any) for the retention MD."""
    words = ["--solvent-residues", *system_residues(system)]
    return words + (["--ion-residues", *ion_residues(system)] if CFG.systems[system].has_salt else [])


def retention_reference_inputs(wildcards):
    """The reference electrolyte's solvation outputs (none for the reference itself or without a reference)."""
    reference = CFG.retention.reference_system
    if not reference or wildcards.system == reference:
        return {}
    folder = f"{RESULTS}/{reference}/retention"
    return {"reference_arrays": f"{folder}/solvation.npz", "reference_run": f"{folder}/solvation_run.json"}


def retention_analysis_flags(wildcards, input):
    """The optional flags of analysis.retention: the reference, a gel's polymer fraction, a neat solvent's check."""
    from analysis.retention_reference import NEAT_SOLVENT_REFERENCE

    spec = CFG.systems[wildcards.system]
    words = []
    if "reference_arrays" in input.keys():
        words += ["--reference-name", CFG.retention.reference_system, "--reference-solvation", input.reference_arrays,
                  "--reference-solvation-run", input.reference_run]
    if spec.network is not None:
        words += ["--polymer-weight-fraction", repr(spec.network.polymer_weight_fraction)]
    residues = retention_residues(wildcards.system)
    if len(spec.solvent_volume_fractions) == 1 and not spec.has_salt and residues and residues[0] in NEAT_SOLVENT_REFERENCE:
        words += ["--neat-solvent", residues[0]]
    return words


def network_arguments(system):
    """['--network', '<build>/network.json', '--record-refusal'] for a gel (its percolation along z is checked;
    a gel that does not span z is recorded as refused, by name, in mechanics.json), else []."""
    return ["--network", f"{RESULTS}/{system}/build/network.json", "--record-refusal"] if is_gel(system) else []


def network_inputs(wildcards):
    return [f"{RESULTS}/{wildcards.system}/build/network.json"] if is_gel(wildcards.system) else []


# Validation against experiment (workflow/rules/validation.smk): every liquid when validation.enabled.
VALIDATION_SYSTEMS = ELECTROLYTES if CFG.validation.enabled else []
# Neat liquids of one molecular species: the ones with a heat of vaporisation.
NEAT_SYSTEMS = [s for s in VALIDATION_SYSTEMS if not CFG.systems[s].has_salt and len(system_residues(s)) == 1]


def validation_optional(system):
    """The optional inputs of a system's validation: viscosity report and gas-phase report, as a dict."""
    out = {}
    if system in VISCOSITY_SYSTEMS:
        out["viscosity"] = f"{RESULTS}/{system}/viscosity/viscosity.json"
    if system in NEAT_SYSTEMS:
        out["gas"] = f"{RESULTS}/{system}/gas_phase/gas_phase.json"
    if CFG.systems[system].has_salt:
        out["transport"] = f"{RESULTS}/{system}/transport.json"  # a liquid without ions: D in the validation
    return out


def validation_flags(wildcards, input):
    words = []
    if "viscosity" in input.keys():
        words += ["--viscosity", input.viscosity]
    if "gas" in input.keys():
        words += ["--gas-phase", input.gas]
    if "transport" in input.keys():
        words += ["--transport", input.transport]
    return words
