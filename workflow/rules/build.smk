# Stage 1: composition -> counts -> conformers -> packmol -> topology PDB + manifest.


rule build_system:
    input:
        # ancient(): only the parts a stage uses (params) trigger a rerun, not every config edit.
        config=ancient(f"{RESULTS}/config.resolved.json"),
    output:
        pdb=f"{RESULTS}/{{system}}/build/system.pdb",
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    params:
        uses=lambda wildcards: stage_inputs("build", wildcards.system),
    log:
        f"{LOGS}/{{system}}/build.log",
    resources:
        runtime=15,
        mem_mb=2000,
    shell:
        "{PYTHON} -m systems.build_electrolyte --config {input.config} "
        "--system {wildcards.system} --out-dir $(dirname {output.pdb}) > {log} 2>&1"
