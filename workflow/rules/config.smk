# The validated config, written once: the typed model as JSON (config.resolved.json, internal units in the
# key names) and the engine settings derived from it (simulation_settings.json). Every stage reads these.


rule resolve_config:
    """The validated config model (common.config.GelmdConfig), read back by every entry point."""
    output:
        f"{RESULTS}/config.resolved.json",
    params:
        resolved=CFG.to_resolved_json(),
    log:
        f"{LOGS}/resolve_config.log",
    localrule: True
    run:
        write_text_atomic(output[0], params.resolved)


rule simulation_settings:
    """Protocol, engine, temperature, pressure and seed in internal units, for the simulation entry points."""
    input:
        config=ancient(f"{RESULTS}/config.resolved.json"),
    output:
        f"{RESULTS}/simulation_settings.json",
    params:
        uses=stage_inputs("produce") | stage_inputs("equilibrate"),
        python=PYTHON,
    log:
        f"{LOGS}/simulation_settings.log",
    localrule: True
    shell:
        "{params.python} -m simulation.settings --config {input.config:q} --out {output:q} > {log:q} 2>&1"
