# Stage 2: force field. The reviewed RESP residue templates are shipped in forcefields/data/templates
# (committed, with provenance) and only read; the resp_template rule computes (pyscf HF/6-31G*) the template
# of a species that has none, e.g. one a user declares in config, into results/<name>/templates/.


rule resp_template:
    output:
        f"{CAMPAIGN_TEMPLATE_DIR}/{{residue}}.xml",
    wildcard_constraints:
        residue="[A-Z0-9]{1,3}",
    params:
        smiles=residue_smiles,
        python=PYTHON,
    log:
        f"logs/templates/{{residue}}.log",
    threads: 2
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m forcefields.build_template --smiles {params.smiles:q} "
        "--residue {wildcards.residue:q} --out {output:q} > {log:q} 2>&1"


rule resp2_template:
    """RESP2 template (forcefields.resp.resp2_charges: PW6B95/aug-cc-pVDZ, gas and IEF-PCM water, mixed with
    delta) of a species none is shipped for in forcefields/data/templates/resp2_d<delta>/."""
    output:
        f"{CAMPAIGN_TEMPLATE_DIR}/resp2_d{{delta}}/{{residue}}.xml",
    wildcard_constraints:
        residue="[A-Z0-9]{1,3}",
        delta="[01][.][0-9]{2}",
    params:
        smiles=residue_smiles,
        python=PYTHON,
    log:
        f"logs/templates/resp2_d{{delta}}_{{residue}}.log",
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m forcefields.build_template --smiles {params.smiles:q} "
        "--residue {wildcards.residue:q} --out {output:q} --geometry hf --charge-model resp2 "
        "--resp2-delta {wildcards.delta:q} > {log:q} 2>&1"


rule scaled_template:
    """The resp_hf631gs template of a solvent with its charges times the scale (no QM)."""
    input:
        lambda wildcards: template_file(wildcards.residue),
    output:
        f"{CAMPAIGN_TEMPLATE_DIR}/scaled_{{scale}}/{{residue}}.xml",
    wildcard_constraints:
        residue="[A-Z0-9]{1,3}",
        scale="0[.][0-9]{2}",
    params:
        python=PYTHON,
    log:
        f"logs/templates/scaled_{{scale}}_{{residue}}.log",
    localrule: True
    shell:
        "{params.python} -m forcefields.charge_models scale --template {input:q} --scale {wildcards.scale:q} "
        "--out {output:q} > {log:q} 2>&1"


rule parameterise:
    input:
        build=build_outputs,
        templates=template_files,
    output:
        system=f"{RESULTS}/{{system}}/parameterise/system.xml",
        state=f"{RESULTS}/{{system}}/parameterise/state.xml",
        report=f"{RESULTS}/{{system}}/parameterise/forcefield.json",
    params:
        uses=lambda wildcards: stage_inputs("parameterise", wildcards.system),
        ions=lambda wildcards: ion_residues(wildcards.system),
        ion_charge_scale=CFG.forcefield.ion_charge_scale,
        charge_model=lambda wildcards: charge_model(wildcards.system).tag,
        lj_overrides=lambda wildcards: json.dumps([o.model_dump() for o in CFG.systems[wildcards.system].lj_overrides or ()]),
        cutoff=f"{CFG.forcefield.nonbonded_cutoff_nm!r} nm",
        ewald_error_tolerance=CFG.forcefield.ewald_error_tolerance,
        hydrogen_mass=f"{CFG.forcefield.hydrogen_mass_amu!r} amu",
        # Networks are bonded through the box faces; their residue templates (one per monomer unit and
        # reaction state) are in the build's templates/ folder, searched first.
        network=lambda wildcards: ["--periodic-bonds"] if is_gel(wildcards.system) else [],
        template_dirs=template_dirs,
        pdb=lambda wildcards, input: input.build[0],
        out_dir=lambda wildcards, output: os.path.dirname(output.system),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/parameterise.log",
    resources:
        runtime=15,
        mem_mb=4000,
    shell:
        "{params.python} -m forcefields.parameterise --topology {params.pdb:q} --templates {input.templates:q} "
        "--template-dir {params.template_dirs:q} {params.network:q} "
        "--ion-residues {params.ions:q} --ion-charge-scale {params.ion_charge_scale:q} "
        "--charge-model {params.charge_model:q} --lj-overrides {params.lj_overrides:q} "
        "--cutoff {params.cutoff:q} --ewald-error-tolerance {params.ewald_error_tolerance:q} "
        "--hydrogen-mass {params.hydrogen_mass:q} "
        "--out-dir {params.out_dir:q} > {log:q} 2>&1"
