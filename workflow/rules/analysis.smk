# Stage 4: analysis. Density against experiment, transport (systems with salt), then the campaign summary.
# Analysis reads files only (topology, trajectory, System XML, JSON reports), so the same commands work
# outside the workflow.


def system_spec(system):
    return CFG.systems[system]


rule density:
    """Equilibrium density (converged NPT window) with its standard error, against experiment."""
    input:
        equilibration=rules.equilibrate.output.report,
        forcefield=rules.parameterise.output.report,
    output:
        f"{RESULTS}/{{system}}/density.json",
    params:
        reference=lambda wildcards: system_spec(wildcards.system).reference_density,
    log:
        f"{LOGS}/{{system}}/density.log",
    localrule: True
    shell:
        "{PYTHON} -m analysis.density --equilibration {input.equilibration} --forcefield {input.forcefield} "
        "--system-name {wildcards.system} --reference '{params.reference}' --out {output} > {log} 2>&1"


def has_salt(system):
    return system_spec(system).salt.concentration_mol_per_L > 0


SALTED = [s for s in SYSTEMS if has_salt(s)]


def production_folder(system, replica):
    """Replica 1 is the production/ folder; replica k >= 2 is production_replica<k>/."""
    name = "production" if int(replica) == 1 else f"production_replica{replica}"
    return f"{RESULTS}/{system}/{name}"


REPLICAS = range(1, CFG.protocol.production_replicas + 1)


rule transport_replica:
    """Self-diffusion, Nernst-Einstein and Einstein-Helfand conductivity, Haven ratio, t(Na+) and Na+
    solvation of one production replica."""
    input:
        pdb=rules.build_system.output.pdb,
        trajectory=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/trajectory.dcd",
        system=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/system.xml",
        report=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}/production.json",
    output:
        json=f"{RESULTS}/{{system}}/transport/replica{{replica}}.json",
        csv=f"{RESULTS}/{{system}}/transport/replica{{replica}}.csv",
        plots=directory(f"{RESULTS}/{{system}}/transport/replica{{replica}}_plots"),
    wildcard_constraints:
        replica="[1-9][0-9]*",
    params:
        temperature=CFG.raw["temperature"],
        formal_charges=formal_charge_arguments(),
        viscosity=lambda wildcards: (f"--viscosity '{CFG.raw['systems'][wildcards.system]['viscosity']}'"
                                     if system_spec(wildcards.system).viscosity_Pa_s else ""),
    log:
        f"{LOGS}/{{system}}/transport_replica{{replica}}.log",
    threads: 2
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "{PYTHON} -m analysis.transport --topology {input.pdb} --trajectory {input.trajectory} "
        "--system {input.system} --temperature '{params.temperature}' {params.viscosity} "
        "--formal-charges {params.formal_charges} "
        "--out {output.json} --csv {output.csv} --plots-dir {output.plots} --log {log}"


rule transport:
    """The transport report of a system: its replicas combined (analysis/replicas.py; one replica as is)."""
    input:
        lambda wildcards: [f"{RESULTS}/{wildcards.system}/transport/replica{r}.json" for r in REPLICAS],
    output:
        json=f"{RESULTS}/{{system}}/transport.json",
        csv=f"{RESULTS}/{{system}}/transport.csv",
    log:
        f"{LOGS}/{{system}}/transport.log",
    localrule: True
    shell:
        "{PYTHON} -m analysis.replicas --out {output.json} --csv {output.csv} {input} > {log} 2>&1"


def summary_arguments(wildcards, input):
    """Per-system groups of report files for analysis.summary (see its docstring)."""
    parts = []
    for system in SYSTEMS:
        parts += ["--system", system]
        for key in ("manifest", "forcefield", "density", "production"):
            parts += [f"--{key}", getattr(input, f"{key}_{system}")]
        if has_salt(system):
            parts += ["--transport", input[f"transport_{system}"]]
        if system_spec(system).kind == "gpe":
            # written by the same build_system job as manifest.json (an input), so it exists here; it is not
            # a declared output because the electrolyte builder does not write one
            parts += ["--network", f"{RESULTS}/{system}/build/network.json"]
        parts += ["--reference-conductivity", f"'{system_spec(system).reference_conductivity}'"]
    return " ".join(parts)


rule summary:
    """The side-by-side table of every system (summary.md/csv/json); summary.md is written last."""
    input:
        **{f"manifest_{s}": f"{RESULTS}/{s}/build/manifest.json" for s in SYSTEMS},
        **{f"forcefield_{s}": f"{RESULTS}/{s}/parameterise/forcefield.json" for s in SYSTEMS},
        **{f"density_{s}": f"{RESULTS}/{s}/density.json" for s in SYSTEMS},
        **{f"production_{s}": f"{RESULTS}/{s}/production/production.json" for s in SYSTEMS},
        **{f"transport_{s}": f"{RESULTS}/{s}/transport.json" for s in SALTED},
    output:
        md=f"{RESULTS}/summary.md",
        csv=f"{RESULTS}/summary.csv",
        json=f"{RESULTS}/summary.json",
    params:
        arguments=summary_arguments,
    log:
        f"{LOGS}/summary.log",
    localrule: True
    shell:
        "{PYTHON} -m analysis.summary --campaign {CFG.name} --out-dir $(dirname {output.md}) "
        "{params.arguments} > {log} 2>&1"
