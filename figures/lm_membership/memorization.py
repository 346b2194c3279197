"""Counterfactual-memorization figure of the `lm-membership` study: histograms of mem(x) per kind of
text (rare, common, Markov) and the per-family means of the common sequences with their IN accuracy
(Zhang et al., arXiv 2112.12938, Sec. 4, Fig. 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.lm_membership.analysis import memorization
from ...sims.studies.lm_membership.params import KINDS
from .._common import save

COLORS = {"rare": "tab:red", "common": "tab:blue", "markov": "tab:green"}


def memorization_figure(shadow: xr.Dataset, path: Path) -> Path:
    mem = memorization(shadow)
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_h, ax_f = fig.subplots(1, 2)
    bins = np.linspace(-0.2, 1.0, 49)
    kinds = mem["kind"].values
    for i, name in enumerate(KINDS):
        vals = mem["mem"].values[kinds == i]
        vals = vals[np.isfinite(vals)]
        if vals.size:
            ax_h.hist(vals, bins=bins, alpha=0.55, color=COLORS[name], label=f"{name} (mean {vals.mean():.2f})")
    ax_h.set(xlabel="counterfactual memorization mem(x) (per-token accuracy, IN - OUT)", ylabel="sequences",
             title=f"mem(x) by kind, M = {shadow.sizes['seed']} models")
    ax_h.legend()
    fam = mem["family"].values
    families = np.unique(fam[fam >= 0])
    if families.size:
        m = [np.nanmean(mem["mem"].values[fam == f]) for f in families]
        a = [np.nanmean(mem["accuracy_in"].values[fam == f]) for f in families]
        ax_f.bar(families - 0.2, a, width=0.4, color="0.6", label="training (IN) accuracy")
        ax_f.bar(families + 0.2, m, width=0.4, color=COLORS["common"], label="mem(x)")
        ax_f.set(xlabel="template family", ylabel="mean over the family", title="common sequences by family", ylim=(0, 1.05))
        ax_f.legend()
    else:
        ax_f.text(0.5, 0.5, "no template families in this pool", ha="center", va="center")
    return save(fig, path)
