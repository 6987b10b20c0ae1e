# Stage 1: composition -> counts -> conformers -> packmol -> topology PDB + manifest. A gel (kind gpe) is
# built by the network builder: monomers packed into the electrolyte, crosslinked in MD cycles
# (network.json holds conversion, crosslink density, gel fraction, loops).


def builder_module(system):
    return "systems.build_network" if CFG.systems[system].kind == "gpe" else "systems.build_electrolyte"



rule build_system:
    input:
        # ancient(): only the parts a stage uses (params) trigger a rerun, not every config edit.
        config=ancient(f"{RESULTS}/config.resolved.json"),
    output:
        pdb=f"{RESULTS}/{{system}}/build/system.pdb",
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    params:
        uses=lambda wildcards: stage_inputs("build", wildcards.system),
        builder=lambda wildcards: builder_module(wildcards.system),
    log:
        f"{LOGS}/{{system}}/build.log",
    threads: lambda wildcards: workflow.cores if CFG.systems[wildcards.system].kind == "gpe" else 1
    resources:
        runtime=lambda wildcards: 240 if CFG.systems[wildcards.system].kind == "gpe" else 15,
        mem_mb=lambda wildcards: 8000 if CFG.systems[wildcards.system].kind == "gpe" else 2000,
        gpu=lambda wildcards: CFG.resources.gpu if CFG.systems[wildcards.system].kind == "gpe" else 0,
    shell:
        "{PYTHON} -m {params.builder} --config {input.config} "
        "--system {wildcards.system} --out-dir $(dirname {output.pdb}) > {log} 2>&1"
