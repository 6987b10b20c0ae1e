# Stage 2: force field. RESP residue templates are cached in forcefields/data/templates (committed, with
# provenance); the resp_template rule regenerates one (pyscf HF/6-31G*) when it is missing, e.g. for a
# species a user adds in config, or on demand: snakemake --forcerun resp_template.


rule resp_template:
    output:
        f"{TEMPLATE_DIR}/{{residue}}.xml",
    params:
        smiles=residue_smiles,
    log:
        f"logs/templates/{{residue}}.log",
    threads: 2
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {PYTHON} -m forcefields.build_template --smiles '{params.smiles}' "
        "--residue {wildcards.residue} --out {output} > {log} 2>&1"


rule parameterise:
    input:
        pdb=rules.build_system.output.pdb,
        templates=template_files,
    output:
        system=f"{RESULTS}/{{system}}/parameterise/system.xml",
        state=f"{RESULTS}/{{system}}/parameterise/state.xml",
        report=f"{RESULTS}/{{system}}/parameterise/forcefield.json",
    params:
        uses=lambda wildcards: stage_inputs("parameterise", wildcards.system),
        ff=CFG.raw["forcefield"],
        ions=" ".join(ION_RESIDUES),
        # Networks are bonded through the box faces; their residue templates (one per monomer unit and
        # reaction state) are written by the network builder into the template folder.
        network=lambda wildcards: "--periodic-bonds" if CFG.systems[wildcards.system].kind == "gpe" else "",
    log:
        f"{LOGS}/{{system}}/parameterise.log",
    resources:
        runtime=15,
        mem_mb=4000,
    shell:
        "{PYTHON} -m forcefields.parameterise --topology {input.pdb} --templates {input.templates} "
        "--template-dir {TEMPLATE_DIR} {params.network} "
        "--ion-residues {params.ions} --ion-charge-scale {params.ff[ion_charge_scale]} "
        "--cutoff '{params.ff[nonbonded_cutoff]}' --ewald-error-tolerance {params.ff[ewald_error_tolerance]} "
        "--hydrogen-mass '{params.ff[hydrogen_mass]}' --out-dir $(dirname {output.system}) > {log} 2>&1"
