"""Attack figures of the `lm-membership` study: the log-log ROC of every attack beside the binormal
optimum of the fitted LiRA Gaussians (Carlini et al., arXiv 2112.03570, Sec. III and Fig. 8;
``rote.theory.lm_membership``), the negative control (Duan et al., arXiv 2402.07841), and TPR at low FPR
vs the number of shadow models (arXiv 2112.03570, Fig. 9)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.lm_membership.analysis import binormal_fit, roc_curves, tpr_vs_models
from ...theory.lm_membership import binormal_tpr
from .._common import save


def _loglog(ax, curves, title):
    for name, (f, t) in curves.items():
        ax.plot(np.maximum(f, 1e-5), np.maximum(t, 1e-5), lw=1.4 if name.startswith("lira") else 1.0, label=name,
                ls="-" if name.startswith(("lira", "rmia")) else "--")
    ax.plot([1e-5, 1], [1e-5, 1], color="0.5", lw=0.8, ls=":", label="chance")
    ax.set(xscale="log", yscale="log", xlim=(1e-4, 1), ylim=(1e-4, 1.05), xlabel="false-positive rate",
           ylabel="true-positive rate", title=title)


def roc_figure(shadow: xr.Dataset, negative: xr.Dataset | None, path: Path) -> Path:
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_s, ax_n = fig.subplots(1, 2)
    _loglog(ax_s, roc_curves(shadow), f"shadow models (M = {shadow.sizes['seed']}), pooled")
    g = binormal_fit(shadow)
    grid = np.logspace(-5, -1e-9, 200)
    ax_s.plot(grid, binormal_tpr(grid, g["mu_in"], g["mu_out"], max(g["sd_in"], 1e-6), max(g["sd_out"], 1e-6)), color="k", lw=2,
              label=f"binormal optimum (median d = {g['mu_in'] / max(g['sd_out'], 1e-6):.1f})")
    ax_s.legend(fontsize=7, loc="lower right")
    if negative is not None:
        _loglog(ax_n, roc_curves(negative), f"negative control: one epoch, {negative.sizes['sequence']} sequences")
        ax_n.legend(fontsize=7, loc="lower right")
    else:
        ax_n.text(0.5, 0.5, "no 'negative' panel in the results", ha="center", va="center")
    return save(fig, path)


def shadow_models_figure(shadow: xr.Dataset, path: Path) -> Path:
    M = shadow.sizes["seed"]
    counts = [m for m in (2, 4, 8, 16, 32, 64) if m <= M]
    table = tpr_vs_models(shadow, counts)
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, table.sizes["fpr"] + 1)
    for ax, fpr in zip(axes, table["fpr"].values):
        for attack in table["attack"].values:
            ax.plot(counts, table["tpr"].sel(attack=attack, fpr=fpr), "o-", label=str(attack))
        ax.set(xscale="log", xticks=counts, xticklabels=[str(c) for c in counts], xlabel="shadow models M",
               ylabel=f"TPR at {fpr:g} FPR", title=f"TPR @ {fpr:g} FPR")
    for attack in table["attack"].values:
        axes[-1].plot(counts, table["auc"].sel(attack=attack), "o-", label=str(attack))
    axes[-1].set(xscale="log", xticks=counts, xticklabels=[str(c) for c in counts], xlabel="shadow models M", ylabel="AUC", title="AUC")
    axes[-1].legend(fontsize=7)
    return save(fig, path)
