# Stage: shear viscosity of every liquid (kind electrolyte: VISCOSITY_SYSTEMS, common.smk) by periodic
# perturbation from the equilibrated state: viscosity_md runs the cosine-acceleration MD at two amplitudes
# (simulation/viscosity.py, NVT, no barostat, thermostat on the peculiar velocity); viscosity analyses it
# (analysis/viscosity.py). viscosity.json feeds the Yeh-Hummer correction of the liquid's transport.


rule viscosity_md:
    """Cosine-acceleration NVT runs at viscosity.amplitude and viscosity.second_amplitude; series of V."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        series=f"{RESULTS}/{{system}}/viscosity/series.csv",
        report=f"{RESULTS}/{{system}}/viscosity/run.json",
    wildcard_constraints:
        system=name_pattern(VISCOSITY_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("viscosity", wildcards.system),
        amplitudes=[f"{CFG.viscosity.amplitude_nm_per_ps2!r} nm/ps^2",
                    f"{CFG.viscosity.second_amplitude_nm_per_ps2!r} nm/ps^2"],
        duration=f"{CFG.viscosity.duration_ps!r} ps",
        spin_up=f"{CFG.viscosity.spin_up_ps!r} ps",
        sample_interval=f"{CFG.viscosity.sample_interval_ps!r} ps",
        collision_rate=f"{CFG.viscosity.collision_rate_per_ps!r} /ps",
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/viscosity_md.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.viscosity --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --amplitude {params.amplitudes:q} "
        "--duration {params.duration:q} --spin-up {params.spin_up:q} "
        "--sample-interval {params.sample_interval:q} --collision-rate {params.collision_rate:q} "
        "--out-series {output.series:q} --out-report {output.report:q} --log {log:q}"


rule viscosity:
    """Viscosity with its block-average error, the linear-response check and the comparison with experiment
    (looked up under the system's reference_density key: the same sample)."""
    input:
        series=rules.viscosity_md.output.series,
        report=rules.viscosity_md.output.report,
    output:
        json=f"{RESULTS}/{{system}}/viscosity/viscosity.json",
        csv=f"{RESULTS}/{{system}}/viscosity/viscosity.csv",
        plot=f"{RESULTS}/{{system}}/viscosity/viscosity.png",
    wildcard_constraints:
        system=name_pattern(VISCOSITY_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("viscosity", wildcards.system),
        blocks=CFG.viscosity.blocks,
        reference=lambda wildcards: optional_argument("--reference", CFG.systems[wildcards.system].reference_density),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/viscosity.log",
    localrule: True
    shell:
        "{params.python} -m analysis.viscosity --run {input.report:q} --series {input.series:q} "
        "--blocks {params.blocks:q} {params.reference:q} --out {output.json:q} "
        "--csv {output.csv:q} --plot {output.plot:q} > {log:q} 2>&1"
