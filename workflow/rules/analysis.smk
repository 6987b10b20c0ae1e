# Stage 4: analysis. Density against experiment, transport (systems with salt), then the campaign summary.
# Analysis reads files only (topology, trajectory, System XML, JSON reports), so the same commands work
# outside the workflow.


rule density:
    """Equilibrium density (converged NPT window) with its standard error, against experiment."""
    input:
        equilibration=rules.equilibrate.output.report,
        forcefield=rules.parameterise.output.report,
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    output:
        f"{RESULTS}/{{system}}/density.json",
    params:
        uses=lambda wildcards: stage_inputs("density", wildcards.system),
        reference=lambda wildcards: optional_argument("--reference", CFG.systems[wildcards.system].reference_density),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/density.log",
    localrule: True
    shell:
        "{params.python} -m analysis.density --equilibration {input.equilibration:q} "
        "--forcefield {input.forcefield:q} --manifest {input.manifest:q} --system-name {wildcards.system:q} {params.reference:q} "
        "--out {output:q} > {log:q} 2>&1"


rule transport_replica:
    """Self-diffusion, Nernst-Einstein and Einstein-Helfand conductivity, Haven ratio, t(Na+) and Na+
    solvation of one production replica."""
    input:
        pdb=TOPOLOGY,
        trajectory=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/{TRAJECTORY}",
        system=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/system.xml",
        report=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/production.json",
        viscosity=lambda wildcards: viscosity_report(wildcards.system),
    output:
        json=f"{RESULTS}/{{system}}/transport/replica{{replica}}.json",
        csv=f"{RESULTS}/{{system}}/transport/replica{{replica}}.csv",
        plots=directory(f"{RESULTS}/{{system}}/transport/replica{{replica}}_plots"),
    wildcard_constraints:
        replica="[1-9][0-9]*",
    params:
        uses=lambda wildcards: stage_inputs("transport", wildcards.system),
        temperature=f"{CFG.temperature_K!r} K",
        discard=f"{CFG.protocol.transport_discard_ps!r} ps",
        formal_charges=lambda wildcards: formal_charges(wildcards.system),
        viscosity=lambda wildcards: viscosity_arguments(wildcards.system),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/transport_replica{{replica}}.log",
    threads: 2
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "{params.python} -m analysis.transport --topology {input.pdb:q} --trajectory {input.trajectory:q} "
        "--production-report {input.report:q} --system {input.system:q} --temperature {params.temperature:q} "
        "--discard {params.discard:q} {params.viscosity:q} "
        "--formal-charges {params.formal_charges:q} "
        "--out {output.json:q} --csv {output.csv:q} --plots-dir {output.plots:q} --log {log:q}"


rule transport:
    """The transport report of a system: its replicas combined (analysis/replicas.py; one replica as is)."""
    input:
        lambda wildcards: [f"{RESULTS}/{wildcards.system}/transport/replica{r}.json" for r in REPLICAS],
    output:
        json=f"{RESULTS}/{{system}}/transport.json",
        csv=f"{RESULTS}/{{system}}/transport.csv",
    params:
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/transport.log",
    localrule: True
    shell:
        "{params.python} -m analysis.replicas --out {output.json:q} --csv {output.csv:q} {input:q} > {log:q} 2>&1"


rule summary:
    """The side-by-side table of every system (summary.md/csv/json); summary.md is written last."""
    input:
        **{f"manifest_{s}": f"{RESULTS}/{s}/build/manifest.json" for s in SYSTEMS},
        **{f"forcefield_{s}": f"{RESULTS}/{s}/parameterise/forcefield.json" for s in SYSTEMS},
        **{f"density_{s}": f"{RESULTS}/{s}/density.json" for s in SYSTEMS},
        **{f"production_{s}": f"{RESULTS}/{s}/production/production.json" for s in SYSTEMS},
        **{f"transport_{s}": f"{RESULTS}/{s}/transport.json" for s in SALTED},
        **{f"network_{s}": f"{RESULTS}/{s}/build/network.json" for s in GELS},
        **{f"mechanics_{s}": f"{RESULTS}/{s}/mechanics/mechanics.json" for s in MECHANICS_SYSTEMS},
        **{f"viscosity_{s}": f"{RESULTS}/{s}/viscosity/viscosity.json" for s in VISCOSITY_SYSTEMS},
        **{f"retention_{s}": f"{RESULTS}/{s}/retention/retention.json" for s in RETENTION_SYSTEMS},
        **{f"interface_{s}": f"{RESULTS}/{s}/interface/interface.json" for s in INTERFACE_SYSTEMS},
    output:
        md=f"{RESULTS}/summary.md",
        csv=f"{RESULTS}/summary.csv",
        json=f"{RESULTS}/summary.json",
    params:
        uses=stage_inputs("summary"),
        campaign=CFG.name,
        arguments=summary_arguments,
        out_dir=lambda wildcards, output: os.path.dirname(output.md),
        python=PYTHON,
    log:
        f"{LOGS}/summary.log",
    localrule: True
    shell:
        "{params.python} -m analysis.summary --campaign {params.campaign:q} --out-dir {params.out_dir:q} "
        "{params.arguments:q} > {log:q} 2>&1"
