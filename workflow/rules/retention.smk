# Stage: solvent retention (the flammability proxy) of every system holding a solvent of retention.solvents
# (RETENTION_SYSTEMS, common.smk), from the equilibrated state, by two routes:
#   solvation_free_energy  alchemical decoupling of single solvent molecules (simulation/solvation_free_energy.py)
#   evaporation            a film between vacuum regions at retention.evaporation_temperature (simulation/evaporation.py)
#   retention              MBAR, vapour-pressure ratio against retention.reference_system, evaporation rate
#                          (analysis/retention.py); retention.json feeds the summary.


rule solvation_free_energy:
    """Decoupling windows (charges off, then soft-core LJ off) of retention.molecules_per_solvent molecules of each
    solvent, the gas-phase leg, the long-range tail and the interaction energies by partner group."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        arrays=f"{RESULTS}/{{system}}/retention/solvation.npz",
        report=f"{RESULTS}/{{system}}/retention/solvation_run.json",
    wildcard_constraints:
        system=name_pattern(RETENTION_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("retention", wildcards.system),
        residues=lambda wildcards: retention_residues(wildcards.system),
        partners=lambda wildcards: retention_partner_flags(wildcards.system),
        molecules=CFG.retention.molecules_per_solvent,
        lambda_elec=[repr(x) for x in CFG.retention.lambda_electrostatics],
        lambda_ster=[repr(x) for x in CFG.retention.lambda_sterics],
        equilibration=f"{CFG.retention.window_equilibration_ps!r} ps",
        duration=f"{CFG.retention.window_duration_ps!r} ps",
        sample_interval=f"{CFG.retention.sample_interval_ps!r} ps",
        collision_rate=f"{CFG.retention.collision_rate_per_ps!r} /ps",
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/solvation_free_energy.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.solvation_free_energy --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} --residues {params.residues:q} "
        "--molecules {params.molecules:q} {params.partners:q} --lambda-electrostatics {params.lambda_elec:q} "
        "--lambda-sterics {params.lambda_ster:q} --window-equilibration {params.equilibration:q} "
        "--window-duration {params.duration:q} --sample-interval {params.sample_interval:q} "
        "--collision-rate {params.collision_rate:q} --out {output.arrays:q} --report {output.report:q} --log {log:q}"


rule evaporation:
    """A film of the equilibrated box (vacuum along the first axis the network does not span), heated, in
    retention.evaporation_replicas runs; a network spanning x, y and z is cut at the plane normal to z crossed by
    the fewest of its bonds (simulation/slab.py)."""
    input:
        system=rules.equilibrate.output.system,
        state=rules.equilibrate.output.state,
        pdb=TOPOLOGY,
        settings=ancient(SIMULATION_SETTINGS),
    output:
        arrays=f"{RESULTS}/{{system}}/retention/evaporation.npz",
        report=f"{RESULTS}/{{system}}/retention/evaporation_run.json",
    wildcard_constraints:
        system=name_pattern(RETENTION_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("retention", wildcards.system),
        partners=lambda wildcards: retention_partner_flags(wildcards.system),
        temperature=f"{CFG.retention.evaporation_temperature_K!r} K",
        duration=f"{CFG.retention.evaporation_duration_ps!r} ps",
        sample_interval=f"{CFG.retention.evaporation_sample_interval_ps!r} ps",
        gap=f"{CFG.retention.vacuum_gap_nm!r} nm",
        wall=repr(CFG.retention.wall_force_constant_kJ_per_mol_per_nm2),
        evaporated=CFG.retention.evaporated_molecules,
        removal_distance=f"{CFG.retention.evaporation_distance_nm!r} nm",
        collision_rate=f"{CFG.retention.collision_rate_per_ps!r} /ps",
        replicas=CFG.retention.evaporation_replicas,
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/evaporation.log",
    threads: workflow.cores
    resources:
        **sim_resources(),
    shell:
        "{params.python} -m simulation.evaporation --system {input.system:q} --state {input.state:q} "
        "--topology {input.pdb:q} --settings {input.settings:q} {params.partners:q} "
        "--temperature {params.temperature:q} --duration {params.duration:q} "
        "--sample-interval {params.sample_interval:q} --vacuum-gap {params.gap:q} "
        "--wall-force-constant {params.wall:q} --collision-rate {params.collision_rate:q} "
        "--evaporated {params.evaporated:q} --removal-distance {params.removal_distance:q} "
        "--replicas {params.replicas:q} --out {output.arrays:q} --report {output.report:q} --log {log:q}"


rule retention:
    """ΔG_solv per solvent (MBAR), p/p(reference), the neat-solvent check against experiment, the evaporation
    rate and retained fraction; every number says whether it is converged."""
    input:
        unpack(retention_reference_inputs),
        arrays=rules.solvation_free_energy.output.arrays,
        run=rules.solvation_free_energy.output.report,
        forcefield=f"{RESULTS}/{{system}}/parameterise/forcefield.json",
        evaporation=rules.evaporation.output.arrays,
        evaporation_run=rules.evaporation.output.report,
    output:
        json=f"{RESULTS}/{{system}}/retention/retention.json",
        csv=f"{RESULTS}/{{system}}/retention/retained_fraction.csv",
        plot=f"{RESULTS}/{{system}}/retention/retention.png",
    wildcard_constraints:
        system=name_pattern(RETENTION_SYSTEMS),
    params:
        uses=lambda wildcards: stage_inputs("retention", wildcards.system),
        flags=retention_analysis_flags,
        temperature=f"{CFG.temperature_K!r} K",
        distance=f"{CFG.retention.evaporation_distance_nm!r} nm",
        chi=repr(CFG.retention.flory_huggins_chi),
        python=PYTHON,
    log:
        f"{LOGS}/{{system}}/retention.log",
    localrule: True
    shell:
        "{params.python} -m analysis.retention --system-name {wildcards.system:q} --temperature {params.temperature:q} "
        "--forcefield {input.forcefield:q} --solvation {input.arrays:q} --solvation-run {input.run:q} "
        "--evaporation {input.evaporation:q} --evaporation-run {input.evaporation_run:q} "
        "--evaporation-distance {params.distance:q} --chi {params.chi:q} {params.flags:q} --out {output.json:q} "
        "--csv {output.csv:q} --plot {output.plot:q} > {log:q} 2>&1"
