# Stage 3: OpenMM. Minimise -> heat (NVT) -> NPT equilibration until the density has converged ->
# production (NVT at the equilibrated volume, weak Langevin coupling) in checkpointed chunks.
# Portable State/System XML passes between the rules.


rule equilibrate:
    input:
        system=rules.parameterise.output.system,
        state=rules.parameterise.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        system=f"{RESULTS}/{{system}}/equilibrate/system.xml",
        state=f"{RESULTS}/{{system}}/equilibrate/state.xml",
        report=f"{RESULTS}/{{system}}/equilibrate/equilibration.json",
    params:
        uses=lambda wildcards: stage_inputs("equilibrate", wildcards.system),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/equilibrate.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.equilibrate --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --out-state {output.state:q} "
        "--out-system {output.system:q} --report {output.report:q} --log {log:q}"


rule produce:
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        trajectory=f"{RESULTS}/{{system}}/production/{TRAJECTORY}",
        state=f"{RESULTS}/{{system}}/production/final_state.xml",
        system=f"{RESULTS}/{{system}}/production/system.xml",
        energies=f"{RESULTS}/{{system}}/production/energies.csv",
        report=f"{RESULTS}/{{system}}/production/production.json",
    params:
        uses=lambda wildcards: stage_inputs("produce", wildcards.system),
        # Chunks and checkpoints live beside (not inside) the output folder and are not Snakemake outputs,
        # so Snakemake does not delete them when it reruns a killed job, which then resumes from them.
        work=lambda wildcards: f"{RESULTS}/{wildcards.system}/production.work",
        out_dir=lambda wildcards, output: os.path.dirname(output.trajectory),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/produce.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.produce --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --work-dir {params.work:q} "
        "--out-dir {params.out_dir:q} --log {log:q}"


rule produce_replica:
    """Production replica k >= 2 (protocol.production_replicas): same equilibrated State, new velocities and
    thermostat noise."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        trajectory=f"{RESULTS}/{{system}}/production_replica{{replica}}/{TRAJECTORY}",
        state=f"{RESULTS}/{{system}}/production_replica{{replica}}/final_state.xml",
        system=f"{RESULTS}/{{system}}/production_replica{{replica}}/system.xml",
        energies=f"{RESULTS}/{{system}}/production_replica{{replica}}/energies.csv",
        report=f"{RESULTS}/{{system}}/production_replica{{replica}}/production.json",
    wildcard_constraints:
        replica="[2-9]|[1-9][0-9]+",
    params:
        uses=lambda wildcards: stage_inputs("produce", wildcards.system),
        work=lambda wildcards: f"{production_folder(wildcards.system, wildcards.replica)}.work",
        out_dir=lambda wildcards, output: os.path.dirname(output.trajectory),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/produce_replica{{replica}}.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.produce --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --replica {wildcards.replica:q} "
        "--work-dir {params.work:q} --out-dir {params.out_dir:q} --log {log:q}"
