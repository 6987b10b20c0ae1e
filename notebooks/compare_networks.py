# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Comparing the networks of one campaign
#
# Every number below is read from the JSON files the workflow wrote under `results_dir` (the tables come
# from `notebooks/comparison.py`); nothing is computed here that a stage did not report. Values carry the
# standard errors their stage reported; a stage that has not run is skipped with a note. The founding
# paper's values (Zhang et al., PBMP gel electrolyte) and experiments are shown beside ours.
#
# Executed by the workflow (`rule report`, `python -m notebooks.execute`) into
# `results/<config>/report/compare_networks.ipynb` and `.html`; edit this file (jupytext percent format),
# not the executed copy.

# %% tags=["parameters"]
results_dir = "results/demo"
systems = None  # a list of system names to compare, or None for every system of the summary
tables_dir = None  # where the comparison tables are written as CSV (None: <results_dir>/report/tables)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from notebooks import comparison as cmp

results = Path(results_dir)
summary = cmp.load_summary(results)
rows = cmp.select(summary["systems"], systems)
names = [r["system"] for r in rows]
tables = Path(tables_dir) if tables_dir else results / "report" / "tables"
figures = tables.parent / "figures"
tables.mkdir(parents=True, exist_ok=True)
figures.mkdir(parents=True, exist_ok=True)
pd.set_option("display.precision", 4)
display(Markdown(f"Campaign **{summary['campaign']}**: systems {', '.join(names)}; conductivities compared with "
                 f"{summary.get('comparison_charge_convention', 'formal')} charges."))


def save(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Write the table as CSV beside the report (the test compares these with the JSON) and return it."""
    df.to_csv(tables / f"{name}.csv", index=False)
    return df


def show(fig, name: str) -> None:
    """Lay out, save as PNG beside the report (collected by `snakemake --report`) and display."""
    fig.tight_layout()
    fig.savefig(figures / f"{name}.png", dpi=100)
    plt.show()


def bars(ax, labels, values, errors=None, diffusive=None, **kw):
    """Bars with error bars; with ``diffusive`` flags, a non-diffusive value is not drawn but labelled n.d."""
    flags = list(diffusive) if diffusive is not None else [None] * len(values)
    v = np.array(cmp.plotted(list(values), flags), float)
    e = None if errors is None else np.array([0.0 if x is None or x != x else x for x in errors], float)
    drawn = ax.bar(labels, v, yerr=e, capsize=4, **kw)
    for i in cmp.not_diffusive(flags):
        ax.annotate("n.d.", (list(labels)[i], 0), ha="center", va="bottom", fontsize=8, color="0.4")
    return drawn


# %% [markdown]
# ## Network structure
# Conversion with and without ring closures, the gel fraction (mass fraction in clusters that percolate),
# the axes it percolates along, the crosslink density (effective junctions) and elastically effective
# strands, kinetic chains and their degree of polymerisation (systems/network, analysis of `network.json`).

# %%
net = save(cmp.network_table(rows), "network")
if net.empty:
    display(Markdown("_No gel in this selection: no network table._"))
else:
    display(net)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    bars(axes[0], net["system"], net["conversion"], label="conversion")
    axes[0].plot(net["system"], net["conversion_without_cyclisation"], "kD", label="without ring closures")
    axes[0].set_ylabel("conversion"); axes[0].set_ylim(0, 1.05); axes[0].legend(fontsize=8)
    bars(axes[1], net["system"], net["gel_fraction"], color="tab:green")
    for i, ax_ in enumerate(net["percolating_axes"]):
        axes[1].annotate(f"percolates: {ax_}", (i, 0.05), ha="center", fontsize=8)
    axes[1].set_ylabel("gel fraction"); axes[1].set_ylim(0, 1.05)
    bars(axes[2], net["system"], net["crosslink_density_mol_per_m3"], color="tab:purple", label="junctions")
    axes[2].plot(net["system"], net["effective_strands_mol_per_m3"], "ko", label="effective strands")
    axes[2].set_ylabel("mol/m³"); axes[2].legend(fontsize=8)
    show(fig, "network")

# %% [markdown]
# ## Transport
# Ionic conductivity by both routes — Nernst–Einstein from the self-diffusion coefficients and the
# collective Einstein–Helfand fit — with formal charges (the convention compared with experiment) and the
# scaled charges the simulation ran with; D(Na⁺) raw and Yeh–Hummer-corrected, the Haven ratio and t(Na⁺).
# A quantity whose fit was not diffusive is flagged `False` in its `_diffusive` column: the table keeps its
# value for inspection, the figures do not draw it (it is not a result; labelled "n.d." instead), as in summary.md.

# %%
tr = save(cmp.transport_table(rows), "transport")
if tr.empty:
    display(Markdown("_No transport results in this selection (no salted system has reached the transport stage)._"))
else:
    display(tr.drop(columns=[c for c in tr.columns if c.endswith("_source")]))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    x = np.arange(len(tr))
    for off, key, label in ((-0.2, "sigma_EH_formal_mS_per_cm", "σ EH"), (0.2, "sigma_NE_formal_mS_per_cm", "σ NE")):
        bars(axes[0], x + off, tr[key], tr[f"{key}_stderr"], tr[f"{key}_diffusive"], width=0.4, label=label)
    exp = tr["sigma_experiment_mS_per_cm"]
    axes[0].plot(x, [np.nan if v is None else v for v in exp], "r*", ms=12, label="experiment")
    axes[0].set_xticks(x, tr["system"]); axes[0].set_ylabel("σ / mS cm⁻¹ (formal charges)"); axes[0].legend(fontsize=8)
    bars(axes[1], x - 0.2, tr["D_Na_1e-10_m2_per_s"], tr["D_Na_1e-10_m2_per_s_stderr"],
         tr["D_Na_1e-10_m2_per_s_diffusive"], width=0.4, label="raw")
    bars(axes[1], x + 0.2, tr["D_Na_YH_1e-10_m2_per_s"], tr["D_Na_YH_1e-10_m2_per_s_stderr"],
         tr["D_Na_YH_1e-10_m2_per_s_diffusive"], width=0.4, label="Yeh–Hummer")
    axes[1].set_xticks(x, tr["system"]); axes[1].set_ylabel("D(Na⁺) / 10⁻¹⁰ m² s⁻¹"); axes[1].legend(fontsize=8)
    bars(axes[2], x - 0.2, tr["haven_ratio"], tr["haven_ratio_stderr"], tr["haven_ratio_diffusive"], width=0.4,
         label="Haven ratio")
    bars(axes[2], x + 0.2, tr["t_Na"], tr["t_Na_stderr"], tr["t_Na_diffusive"], width=0.4, label="t(Na⁺)")
    axes[2].set_xticks(x, tr["system"]); axes[2].legend(fontsize=8)
    show(fig, "transport")

# %% [markdown]
# Self-diffusion coefficient of every species (raw, with its standard error; Yeh–Hummer-corrected beside).

# %%
diff = save(cmp.diffusion_table(results, names), "diffusion")
if diff.empty:
    display(Markdown("_No transport.json in this selection._"))
else:
    display(diff)
    shown = diff.assign(D_shown=cmp.plotted(diff["D_1e-10_m2_per_s"], diff["diffusive"]),
                        D_err_shown=cmp.plotted(diff["D_stderr_1e-10_m2_per_s"], diff["diffusive"]))
    piv = shown.pivot(index="species", columns="system", values="D_shown")
    err = shown.pivot(index="species", columns="system", values="D_err_shown")
    ax = piv.plot.bar(yerr=err, capsize=3, figsize=(8, 3.2))
    hidden = shown[shown["diffusive"] == False]  # noqa: E712 - a pandas column of True/False/None
    ax.set_title("not diffusive, not drawn: " + (", ".join(f"{r.species} ({r.system})" for r in hidden.itertuples())
                                                 or "none"), fontsize=8)
    ax.set_ylabel("D / 10⁻¹⁰ m² s⁻¹"); show(ax.figure, "diffusion")

# %% [markdown]
# ## Viscosity (liquids, periodic perturbation)

# %%
visc = save(cmp.viscosity_table(rows), "viscosity")
if visc.empty:
    display(Markdown("_The viscosity stage has not run for these systems._"))
else:
    display(visc)
    fig, ax = plt.subplots(figsize=(5, 3))
    bars(ax, visc["system"], visc["viscosity_mPa_s"], visc["viscosity_stderr_mPa_s"], label="simulation")
    ax.plot(visc["system"], [np.nan if v is None else v for v in visc["experiment_mPa_s"]], "r*", ms=12,
            label="experiment")
    ax.set_ylabel("η / mPa s"); ax.legend(fontsize=8); show(fig, "viscosity")

# %% [markdown]
# ## Mechanics (uniaxial compression along z; the LE is the control)
# Young's modulus (small-strain fit) and the stress at 30 % strain beside the paper's ≈ 900 kPa.

# %%
mech = save(cmp.mechanics_table(rows), "mechanics")
curves = cmp.stress_strain_curves(results, names)
if mech.empty:
    display(Markdown("_The mechanics stage has not run for these systems._"))
else:
    display(mech)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for s, c in curves.items():
        axes[0].errorbar(c["strain"], c["nominal_stress_Pa"] / 1e3, yerr=c["nominal_stress_stderr_Pa"] / 1e3,
                         marker="o", capsize=3, label=s)
    paper = mech["paper_stress_30pct_kPa"].dropna()
    if len(paper):
        axes[0].plot([0.3], [paper.iloc[0]], "r*", ms=14, label="paper (30 %)")
    axes[0].set_xlabel("engineering strain"); axes[0].set_ylabel("nominal stress / kPa"); axes[0].legend(fontsize=8)
    bars(axes[1], mech["system"], mech["youngs_modulus_MPa"], mech["youngs_modulus_stderr_MPa"])
    axes[1].set_ylabel("Young's modulus / MPa")
    show(fig, "mechanics")

# %% [markdown]
# ## Solvent retention (issue 10: solvation free energy and vapour-pressure ratio against the LE)

# %%
ret = save(cmp.retention_table(results, names), "retention")
if ret.empty:
    display(Markdown("_No `retention/retention.json` in this results folder: the retention stage has not run._"))
else:
    display(ret)
    fig, ax = plt.subplots(figsize=(6, 3))
    for solvent, g in ret.groupby("solvent"):
        ax.errorbar(g["system"], g["p_over_p_reference"], yerr=g["p_over_p_reference_stderr"], fmt="o",
                    capsize=4, label=solvent)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_ylabel("p(system) / p(reference)"); ax.legend(fontsize=8); show(fig, "retention")

# %% [markdown]
# ## Na metal interface (issue 11: Na | system | Na cells)
# Na⁺ lateral homogeneity index in the first layer at the metal = CV of the binned Na⁺ density over the CV of
# a random arrangement (1: as even as random; > 1: hot spots), and the first layer's composition.

# %%
itf = save(cmp.interface_table(results, names), "interface")
if itf.empty:
    display(Markdown("_No `interface/interface.json` in this results folder: the interface stage has not run._"))
else:
    display(itf)
    fig, ax = plt.subplots(figsize=(6, 3))
    bars(ax, itf["system"], itf["na_homogeneity_index"], itf["na_homogeneity_stderr"], label="simulation")
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="random arrangement (index 1 by definition)")
    ax.set_ylabel("Na⁺ homogeneity index"); ax.legend(fontsize=8); show(fig, "interface")

# %% [markdown]
# ## Molecular descriptors (DFT; the paper's Fig. 1c–e)
# Na binding energy (counterpoise-corrected, strongest site), charge transfer Na → molecule and LUMO,
# beside the paper's values, with Kendall's τ of each ranking.

# %%
desc, desc_json = cmp.descriptors_table(results)
save(desc, "descriptors")
if desc_json is None:
    display(Markdown("_No `descriptors/descriptors.json`: the descriptors stage has not run._"))
else:
    display(Markdown(f"Level of theory: **{desc_json['method']['level_of_theory']}**; missing species: "
                     f"{', '.join(f'{k} ({v})' for k, v in desc_json['missing'].items()) or 'none'}."))
    display(desc)
    comp = desc_json["paper_comparison"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, what in zip(axes, ("binding", "lumo", "charge_transfer")):
        c = comp[what]
        labels = list(dict.fromkeys(list(c["paper"]) + list(c["ours"])))
        x = np.arange(len(labels))
        bars(ax, x - 0.2, [c["ours"].get(k) for k in labels], width=0.4, label="this work")
        bars(ax, x + 0.2, [c["paper"].get(k) for k in labels], width=0.4, label="paper")
        ax.set_xticks(x, labels); ax.set_ylabel(f"{what} / {c['unit']}")
        ax.set_title(f"Kendall τ = {c.get('kendall_tau')} (n = {c['n']})", fontsize=9)
    axes[0].legend(fontsize=8); show(fig, "descriptors")
    display(pd.DataFrame([{"descriptor": w, "kendall_tau": comp[w].get("kendall_tau"), "n": comp[w]["n"],
                           "order_ours": " → ".join(comp[w]["order_ours"]),
                           "order_paper": " → ".join(comp[w]["order_paper"]),
                           "discordant_pairs": comp[w].get("discordant_pairs")} for w in ("binding", "lumo",
                                                                                          "charge_transfer")]))
