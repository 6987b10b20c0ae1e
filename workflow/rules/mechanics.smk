# Stage: compressive stress-strain from the equilibrated state, for every gel and, as the control that must
# read zero modulus, the liquid electrolytes with salt (MECHANICS_SYSTEMS, common.smk). compress runs the
# strain-controlled compression (simulation/deformation.py); mechanics analyses it (analysis/mechanics.py).


rule compress:
    """Uniaxial compression along z in strain steps held at constant strain, lateral faces free."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        network=network_inputs,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        samples=f"{RESULTS}/{{system}}/mechanics/compression.csv",
        report=f"{RESULTS}/{{system}}/mechanics/compression.json",
    wildcard_constraints:
        system=name_pattern(MECHANICS_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("mechanics", wildcards.system),
        network=lambda wildcards: network_arguments(wildcards.system),
        max_strain=repr(CFG.mechanics.max_strain),
        strain_step=repr(CFG.mechanics.strain_step),
        hold=f"{CFG.mechanics.hold_ps!r} ps",
        reference=f"{CFG.mechanics.reference_ps!r} ps",
        ramp=f"{CFG.mechanics.ramp_ps!r} ps",
        sample_interval=f"{CFG.mechanics.sample_interval_ps!r} ps",
        friction=f"{CFG.mechanics.friction_per_ps!r} /ps",
        barostat_interval=CFG.mechanics.barostat_interval,
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/compress.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.compress --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --system-name {wildcards.system:q} "
        "{params.network:q} --max-strain {params.max_strain:q} --strain-step {params.strain_step:q} "
        "--hold {params.hold:q} --reference {params.reference:q} --ramp {params.ramp:q} "
        "--sample-interval {params.sample_interval:q} --friction {params.friction:q} "
        "--barostat-interval {params.barostat_interval:q} --out-samples {output.samples:q} "
        "--report {output.report:q} --log {log:q}"


rule mechanics:
    """Stress-strain table and plot, Young's modulus, stress at 30 % beside the paper and rubber elasticity."""
    input:
        samples=rules.compress.output.samples,
        report=rules.compress.output.report,
        network=network_inputs,
    output:
        json=f"{RESULTS}/{{system}}/mechanics/mechanics.json",
        csv=f"{RESULTS}/{{system}}/mechanics/stress_strain.csv",
        plot=f"{RESULTS}/{{system}}/mechanics/stress_strain.png",
    wildcard_constraints:
        system=name_pattern(MECHANICS_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("mechanics", wildcards.system),
        network=lambda wildcards: network_arguments(wildcards.system)[:2],
        temperature=f"{CFG.temperature_K!r} K",
        blocks=CFG.mechanics.blocks,
        discard=repr(CFG.mechanics.discard_fraction),
        fit_max=repr(CFG.mechanics.modulus_fit_max_strain),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/mechanics.log",
    localrule: True
    shell:
        "{params.python} -m analysis.mechanics --samples {input.samples:q} --report {input.report:q} "
        "{params.network:q} --system-name {wildcards.system:q} --temperature {params.temperature:q} "
        "--blocks {params.blocks:q} --discard-fraction {params.discard:q} --fit-max-strain {params.fit_max:q} "
        "--out {output.json:q} --csv {output.csv:q} --plot {output.plot:q} > {log:q} 2>&1"
