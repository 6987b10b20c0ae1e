# gelmd: crosslinked gel polymer electrolytes for Na metal batteries, built and simulated with OpenMM.
#   make demo                                   (config/demo.yaml, CPU-sized)
#   snakemake --profile workflow/profiles/gpu-workstation --configfile config/config.yaml
#   snakemake --profile workflow/profiles/slurm           --configfile config/config.yaml
# Stages live in workflow/rules/*.smk; the logic lives in the packages they call.

# The paper-scale campaign is the default; a --configfile given on the command line replaces it (instead of
# being merged into it, which would mix the systems of two campaigns).
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/config.smk"
include: "workflow/rules/build.smk"
include: "workflow/rules/forcefield.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/mechanics.smk"
include: "workflow/rules/viscosity.smk"
include: "workflow/rules/retention.smk"
include: "workflow/rules/interface.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/descriptors.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        f"{RESULTS}/summary.md",
        [f"{RESULTS}/descriptors/descriptors.json"] if CFG.descriptors.enabled else [],
        [f"{RESULTS}/report/compare_networks.html"] if CFG.report.enabled else [],
