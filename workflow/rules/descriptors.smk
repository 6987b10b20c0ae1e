# Stage: DFT molecular descriptors of the campaign's species (descriptors/ package): Na binding energy
# (counterpoise, D3(BJ), every plausible site), charge transfer (meta-Lowdin) and LUMO at B3LYP-D3(BJ)/def2-SVP,
# beside the founding paper's values with Kendall tau. Read from the committed cache
# (forcefields/data/descriptors, seconds); descriptors.recompute / compute_missing run pyscf (gpu4pyscf on a GPU).

DESCRIPTOR_CACHE = REPO_ROOT / "forcefields" / "data" / "descriptors"


rule descriptors:
    """descriptors.json/csv/png: every species' descriptors and the comparison with the paper."""
    input:
        config=ancient(CONFIG_RESOLVED),
        cache=sorted(str(p) for p in DESCRIPTOR_CACHE.glob("*.json")),
    output:
        json=f"{RESULTS}/descriptors/descriptors.json",
        csv=report(f"{RESULTS}/descriptors/descriptors.csv", category="Descriptors",
                   caption="../report/descriptors_table.rst"),
        plot=report(f"{RESULTS}/descriptors/descriptors.png", category="Descriptors",
                    caption="../report/descriptors_plot.rst"),
    params:
        uses=stage_inputs("descriptors"),
        out_dir=lambda wildcards, output: os.path.dirname(output.json),
        cache_dir=lambda wildcards, input: os.path.dirname(input.cache[0]) if input.cache else str(DESCRIPTOR_CACHE),
        python=PYTHON,
    log:
        f"{LOGS}/descriptors.log",
    threads: workflow.cores if CFG.descriptors.recompute or CFG.descriptors.compute_missing else 1
    resources:
        gpu=1 if CFG.descriptors.backend == "gpu" else 0,
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m descriptors.stage --config {input.config:q} "
        "--out-dir {params.out_dir:q} --cache-dir {params.cache_dir:q} --log {log:q}"
