# Stage 1: composition -> counts -> conformers -> packmol -> topology PDB + manifest. A gel (kind gpe) is
# built by the network builder: monomers packed into the electrolyte, crosslinked in MD cycles; it writes
# network.json and the residue templates of its units and molecules into its own build folder.


rule build_electrolyte:
    input:
        # ancient(): only the settings a stage reads (params.uses) trigger a rerun, not every config edit.
        config=ancient(CONFIG_RESOLVED),
    output:
        pdb=f"{RESULTS}/{{system}}/build/system.pdb",
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    wildcard_constraints:
        system=name_pattern(ELECTROLYTES),
    params:
        uses=lambda wildcards: stage_inputs("build", wildcards.system),
        out_dir=lambda wildcards, output: os.path.dirname(output.pdb),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/build.log",
    resources:
        runtime=15,
        mem_mb=2000,
    shell:
        "{params.python} -m systems.build_electrolyte --config {input.config:q} "
        "--system {wildcards.system:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule build_network:
    input:
        config=ancient(CONFIG_RESOLVED),
        templates=base_template_files,  # the solvents' resp_hf631gs templates, copied into the build's template folder
    output:
        pdb=f"{RESULTS}/{{system}}/build/system.pdb",
        network=f"{RESULTS}/{{system}}/build/network.json",
        templates=directory(f"{RESULTS}/{{system}}/build/templates"),
        manifest=f"{RESULTS}/{{system}}/build/manifest.json",
    wildcard_constraints:
        system=name_pattern(GELS),
    params:
        uses=lambda wildcards: stage_inputs("build", wildcards.system),
        out_dir=lambda wildcards, output: os.path.dirname(output.pdb),
        caches=[TEMPLATE_DIR, CAMPAIGN_TEMPLATE_DIR],
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/build.log",
    threads: workflow.cores
    resources:
        runtime=240,
        mem_mb=8000,
        gpu=CFG.resources.gpu,
    shell:
        "{params.python} -m systems.build_network --config {input.config:q} "
        "--system {wildcards.system:q} --out-dir {params.out_dir:q} --template-cache {params.caches:q} > {log:q} 2>&1"
