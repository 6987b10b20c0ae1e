# Stage 1: composition -> counts -> conformers -> packmol -> topology PDB + manifest. A gel (kind gpe) is
# built by the network builder: monomers packed into the electrolyte, crosslinked in MD cycles
# (network.json holds conversion, crosslink density, gel fraction, loops).


rule build_system:
    input:
        # ancient(): only the settings a stage reads (params.uses) trigger a rerun, not every config edit.
        config=ancient(f"{RESULTS}/config.resolved.json"),
    output:
        pdb=f"{RESULTS}/{{system}}/build/system.pdb",
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    params:
        uses=lambda wildcards: stage_inputs("build", wildcards.system),
        builder=lambda wildcards: builder_module(wildcards.system),
        out_dir=lambda wildcards, output: os.path.dirname(output.pdb),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/build.log",
    threads: lambda wildcards: workflow.cores if is_gel(wildcards.system) else 1
    resources:
        runtime=lambda wildcards: 240 if is_gel(wildcards.system) else 15,
        mem_mb=lambda wildcards: 8000 if is_gel(wildcards.system) else 2000,
        gpu=lambda wildcards: CFG.resources.gpu if is_gel(wildcards.system) else 0,
    shell:
        "{params.python} -m {params.builder} --config {input.config:q} "
        "--system {wildcards.system:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"
