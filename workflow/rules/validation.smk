# Validation against experiment (issue 14; config/validation.yaml): per liquid system its validation.json
# (analysis/validation.py) from the stages' own reports, the gas-phase run that ΔHvap needs (neat one-component
# liquids), and summary.md as the table across charge models with the default chosen by the data. Enabled by
# validation.enabled; then summary.md is the validation table (ruleorder below).

# VALIDATION_SYSTEMS, NEAT_SYSTEMS and the input functions of these rules live in common.smk.


rule gas_phase:
    """One molecule of a neat liquid in vacuum with the liquid's own System (simulation/gas_phase.py)."""
    input:
        system=rules.parameterise.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
    output:
        f"{RESULTS}/{{system}}/gas_phase/gas_phase.json",
    wildcard_constraints:
        system=name_pattern(NEAT_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("validation", wildcards.system),
        residue=lambda wildcards: system_residues(wildcards.system)[0],
        temperature=f"{CFG.temperature_K!r} K",
        duration=f"{CFG.validation.gas_phase_duration_ps!r} ps",
        seed=CFG.seed,
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/gas_phase.log",
    resources:
        runtime=30,
        mem_mb=2000,
    shell:
        "OPENMM_CPU_THREADS=1 {params.python} -m simulation.gas_phase --system {input.system:q} "
        "--state {input.state:q} --topology {input.pdb:q} --residue {params.residue:q} "
        "--temperature {params.temperature:q} --duration {params.duration:q} --seed {params.seed:q} "
        "--out {output:q} > {log:q} 2>&1"


rule validation:
    """validation.json of one liquid: every property beside experiment, with the charge model."""
    input:
        unpack(lambda wildcards: validation_optional(wildcards.system)),
        forcefield=rules.parameterise.output.report,
        density=f"{RESULTS}/{{system}}/density.json",
        production=rules.produce.output.report,
        trajectory=rules.produce.output.trajectory,
        pdb=TOPOLOGY,
    output:
        f"{RESULTS}/{{system}}/validation.json",
    wildcard_constraints:
        system=name_pattern(VALIDATION_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("validation", wildcards.system),
        temperature=CFG.temperature_K,
        reference=lambda wildcards: CFG.systems[wildcards.system].reference_density,
        blocks=CFG.validation.dielectric_blocks,
        flags=validation_flags,
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/validation.log",
    localrule: True
    shell:
        "{params.python} -m analysis.validation system --name {wildcards.system:q} "
        "--forcefield {input.forcefield:q} --density {input.density:q} --production {input.production:q} "
        "--topology {input.pdb:q} --temperature-K {params.temperature:q} "
        "--reference {params.reference:q} --dielectric-blocks {params.blocks:q} {params.flags:q} "
        "--out {output:q} > {log:q} 2>&1"


if VALIDATION_SYSTEMS:

    ruleorder: validation_summary > summary

    rule validation_summary:
        """summary.md of a validation campaign: the table across charge models and the chosen default."""
        input:
            [f"{RESULTS}/{s}/validation.json" for s in VALIDATION_SYSTEMS],
        output:
            md=f"{RESULTS}/summary.md",
            json=f"{RESULTS}/validation_choice.json",
        params:
            uses=stage_inputs("validation"),
            python=PYTHON,
        log:
            f"{LOGS}/validation_summary.log",
        localrule: True
        shell:
            "{params.python} -m analysis.validation summary --out {output.md:q} --json {output.json:q} "
            "{input:q} > {log:q} 2>&1"
