# Notebook comparing the systems of the campaign (notebooks/compare_networks.py, jupytext percent format),
# executed by notebooks.execute (nbclient, the python3 kernel of this interpreter) after the summary and the
# descriptors; a cell that raises fails the rule. Its tables (CSV) and figures (PNG) are collected by
# `snakemake --report` with captions (workflow/report/*.rst).

NOTEBOOK = str(REPO_ROOT / "notebooks" / "compare_networks.py")


rule report_notebook:
    """Executed comparison notebook (.ipynb + .html), its tables and figures, under results/<config>/report/."""
    input:
        notebook=NOTEBOOK,
        helpers=str(REPO_ROOT / "notebooks" / "comparison.py"),
        summary=f"{RESULTS}/summary.json",
        summary_md=f"{RESULTS}/summary.md",
        descriptors=[f"{RESULTS}/descriptors/descriptors.json"] if CFG.descriptors.enabled else [],
    output:
        ipynb=f"{RESULTS}/report/compare_networks.ipynb",
        html=report(f"{RESULTS}/report/compare_networks.html", category="Notebook",
                    caption="../report/notebook.rst"),
        tables=report(directory(f"{RESULTS}/report/tables"), patterns=["{name}.csv"], category="Tables",
                      caption="../report/tables.rst"),
        figures=report(directory(f"{RESULTS}/report/figures"), patterns=["{name}.png"], category="Figures",
                       caption="../report/figures.rst"),
    params:
        uses=stage_inputs("report"),
        results_dir=os.path.abspath(RESULTS),  # the kernel runs in the repository root
        python=PYTHON,
    log:
        f"{LOGS}/report_notebook.log",
    localrule: True
    shell:
        "{params.python} -m notebooks.execute --notebook {input.notebook:q} --out-ipynb {output.ipynb:q} "
        "--out-html {output.html:q} -p results_dir={params.results_dir:q} > {log:q} 2>&1"
