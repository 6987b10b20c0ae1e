"""Execute a jupytext notebook with parameters and write the executed .ipynb and an HTML copy.

    python -m notebooks.execute --notebook notebooks/compare_networks.py --out-ipynb results/<c>/report/x.ipynb \
        --out-html results/<c>/report/x.html [-p results_dir=results/<c>] [-p systems='["LE","GPE_PBMP"]']

Parameters (``-p name=value``, the value parsed as JSON when it can be, else taken as a string) are
injected as a cell after the cell tagged ``parameters``, as papermill does. The kernel is the ``python3``
kernel of this interpreter (ipykernel), started in the repository root with the repository on
``PYTHONPATH``. A cell that raises stops the run with a non-zero exit status and the error (the executed
notebook up to the failing cell is still written, beside, as ``<out>.failed.ipynb``), so a notebook that
raises fails the workflow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_parameters(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"-p {pair!r}: expected name=value")
        name, value = pair.split("=", 1)
        if not name.isidentifier():
            raise SystemExit(f"-p {pair!r}: {name!r} is not a Python identifier")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    return params


def inject(nb, params: dict):
    """Insert a cell assigning ``params`` after the ``parameters`` cell (at the top when there is none)."""
    import nbformat

    source = "# Parameters injected by notebooks.execute\n" + "\n".join(
        f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    index = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    nb.cells.insert(index, cell)
    return nb


def execute(notebook: str | Path, out_ipynb: str | Path, out_html: str | Path | None, params: dict,
            timeout_s: int = 600) -> None:
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = inject(jupytext.read(notebook), params)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO_ROOT)}})
    out_ipynb = Path(out_ipynb)
    out_ipynb.parent.mkdir(parents=True, exist_ok=True)
    try:
        client.execute()
    except CellExecutionError:
        nbformat.write(nb, out_ipynb.with_suffix(".failed.ipynb"))
        raise
    tmp = out_ipynb.with_suffix(".ipynb.part")
    nbformat.write(nb, tmp)
    if out_html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        html_tmp = Path(str(out_html) + ".part")
        html_tmp.write_text(body)
        os.replace(html_tmp, out_html)
    os.replace(tmp, out_ipynb)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m notebooks.execute", description=__doc__.splitlines()[0])
    p.add_argument("--notebook", required=True, help="jupytext (py:percent) or .ipynb notebook")
    p.add_argument("--out-ipynb", required=True)
    p.add_argument("--out-html", default=None)
    p.add_argument("-p", "--parameter", action="append", default=[], help="name=value (JSON or string)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = p.parse_args(argv)
    execute(args.notebook, args.out_ipynb, args.out_html, parse_parameters(args.parameter), args.timeout)
    print(f"executed {args.notebook} -> {args.out_ipynb}" + (f", {args.out_html}" if args.out_html else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
