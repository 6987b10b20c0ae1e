# Stage: Na | system | Na cells for every system with a Na salt (INTERFACE_SYSTEMS, common.smk) from its equilibrated state.
# interface_cell builds the cell (systems/na_interface.py: bcc Na slabs, the bulk box remapped between them, the
# charges moved into a ConstantPotentialForce); interface_run runs it at 0 V and at the plating bias
# (simulation/interface.py); interface analyses both (analysis/interface.py) into interface/interface.json.

# INTERFACE_SYSTEMS (every system when interface.enabled) is in common.smk: the summary rule reads it.
INTERFACE_BIASES = {"0V": 0.0, "bias": CFG.interface.bias_V}


rule interface_cell:
    """The Na | system | Na cell: slabs matched to the lattice, electrolyte or gel (cut) between them."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
    output:
        system=f"{RESULTS}/{{system}}/interface/cell/system.xml",
        state=f"{RESULTS}/{{system}}/interface/cell/state.xml",
        pdb=f"{RESULTS}/{{system}}/interface/cell/cell.pdb",
        report=f"{RESULTS}/{{system}}/interface/cell/cell.json",
    wildcard_constraints:
        system=name_pattern(INTERFACE_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("interface", wildcards.system),
        eam=CFG.interface.eam_potential,
        orientation=CFG.interface.orientation,
        planes=CFG.interface.planes_per_slab,
        lattice=f"{CFG.interface.lattice_constant_nm!r} nm",
        gap=f"{CFG.interface.gap_nm!r} nm",
        thickness=optional_argument("--thickness", f"{CFG.interface.electrolyte_thickness_nm!r} nm"
                                    if CFG.interface.electrolyte_thickness_nm else ""),
        sigma=f"{CFG.interface.metal_lj_sigma_nm!r} nm",
        epsilon=f"{CFG.interface.metal_lj_epsilon_kJ_per_mol!r} kJ/mol",
        mobile=["--mobile-metal"] if CFG.interface.mobile_metal else [],
        lj_source="UFF Na: Rappe et al., J. Am. Chem. Soc. 114, 10024 (1992); Lorentz-Berthelot",
        width=f"{CFG.interface.gaussian_width_nm!r} nm",
        out_dir=lambda wildcards, output: os.path.dirname(output.system),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/interface_cell.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m systems.na_interface --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --eam {params.eam:q} --orientation {params.orientation:q} "
        "--planes {params.planes:q} --lattice-constant {params.lattice:q} --gap {params.gap:q} {params.thickness:q} "
        "--metal-sigma {params.sigma:q} --metal-epsilon {params.epsilon:q} "
        "--metal-lj-source {params.lj_source:q} {params.mobile:q} "
        "--gaussian-width {params.width:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule interface_run:
    """NVT of the cell with the slabs held at -bias/2 and +bias/2 (0 V and the plating bias)."""
    input:
        system=rules.interface_cell.output.system,
        state=rules.interface_cell.output.state,
        pdb=rules.interface_cell.output.pdb,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        trajectory=f"{RESULTS}/{{system}}/interface/run_{{bias}}/trajectory.dcd",
        charges=f"{RESULTS}/{{system}}/interface/run_{{bias}}/charges.csv",
        mean_charges=f"{RESULTS}/{{system}}/interface/run_{{bias}}/mean_charges.csv",
        report=f"{RESULTS}/{{system}}/interface/run_{{bias}}/run.json",
    wildcard_constraints:
        system=name_pattern(INTERFACE_SYSTEMS),
        bias="0V|bias",
    params:
        uses=lambda wildcards: stage_inputs("interface", wildcards.system),
        bias=lambda wildcards: f"{INTERFACE_BIASES[wildcards.bias]!r} V",
        equilibration=f"{CFG.interface.equilibration_ps!r} ps",
        production=f"{CFG.interface.production_ps!r} ps",
        frame_interval=f"{CFG.interface.frame_interval_ps!r} ps",
        timestep=f"{CFG.interface.timestep_ps!r} ps",
        out_dir=lambda wildcards, output: os.path.dirname(output.report),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/interface_run_{{bias}}.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.interface --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --bias {params.bias:q} "
        "--equilibration {params.equilibration:q} --production {params.production:q} "
        "--frame-interval {params.frame_interval:q} --timestep {params.timestep:q} "
        "--out-dir {params.out_dir:q} --log {log:q}"


rule interface:
    """Profiles, first layer, Na+ homogeneity, electrode charge and potential: interface/interface.json."""
    input:
        cell=rules.interface_cell.output.report,
        pdb=rules.interface_cell.output.pdb,
        runs=lambda wildcards: [f"{RESULTS}/{wildcards.system}/interface/run_{b}/run.json" for b in INTERFACE_BIASES],
    output:
        json=f"{RESULTS}/{{system}}/interface/interface.json",
        profiles=[f"{RESULTS}/{{system}}/interface/profiles_{b}.csv" for b in INTERFACE_BIASES],
        plots=[f"{RESULTS}/{{system}}/interface/{kind}_{b}.png" for b in INTERFACE_BIASES
               for kind in ("profiles", "na_map")],
    wildcard_constraints:
        system=name_pattern(INTERFACE_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("interface", wildcards.system),
        runs=lambda wildcards: [w for b in INTERFACE_BIASES
                                for w in ("--run", b, f"{RESULTS}/{wildcards.system}/interface/run_{b}")],
        depth=f"{CFG.interface.homogeneity_depth_nm!r} nm",
        bins=CFG.interface.map_bins,
        blocks=CFG.interface.blocks,
        seed=CFG.seed,
        scale=repr(CFG.forcefield.ion_charge_scale),
        out_dir=lambda wildcards, output: os.path.dirname(output.json),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/interface.log",
    localrule: True
    shell:
        "{params.python} -m analysis.interface --cell {input.cell:q} --topology {input.pdb:q} {params.runs:q} "
        "--system-name {wildcards.system:q} --homogeneity-depth {params.depth:q} --bins-2d {params.bins:q} "
        "--blocks {params.blocks:q} --seed {params.seed:q} --ion-charge-scale {params.scale:q} "
        "--out-dir {params.out_dir:q} > {log:q} 2>&1"
