"""IPR figures of the `grokking` study (arXiv 2310.13061, Eqs. 3, 4): per-neuron histograms of the
Figure 1 cells and the mean IPR over steps (Fig. 4), per dropout rate (Fig. 4, dropout), and the
BatchNorm scales against IPR (Fig. 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.stats import spearman
from ...sims.studies.grokking.scales import cells_of
from ...theory import grokking as theory
from .._common import empty, save, scalar_param, unique_legend
from .helpers import PHASE_COLORS, cell_label, phase_name, sweep_title


def ipr_histograms(ds: xr.Dataset, cells, path: Path) -> Path:
    """Per-neuron IPR histograms at the end of training (top) and mean IPR over steps (bottom) for the
    Figure 1 cells, beside the IPR of Gaussian rows, one-hot rows and a periodic (Eq. 2) neuron.
    Reads ipr, mean_ipr."""
    p = scalar_param(ds, "p")
    fig = Figure(figsize=(max(4.0 * len(cells), 10), 5.8), layout="constrained")
    if not cells:
        return empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = fig.subplots(2, len(cells), squeeze=False, height_ratios=(3, 1.6))
    references = [
        (theory.reference_ipr(p, "gaussian", rows=2000), "Gaussian row", "tab:gray", "--"),
        (theory.reference_ipr(p, "one_hot"), "one-hot row", "tab:purple", ":"),
        (1.0, "periodic neuron (Eq. 2)", "black", "-."),
    ]
    bins = np.linspace(0, 1, 21)
    for j, (role, c) in enumerate(cells):
        ipr = c["ipr"].values
        finite = ipr[np.isfinite(ipr)]
        top, bottom = axes[0, j], axes[1, j]
        top.hist(finite, bins=bins, color=PHASE_COLORS[int(c["phase"])], edgecolor="black", lw=0.5)
        zero = f", {len(ipr) - len(finite)} all-zero neurons left out" if len(finite) < len(ipr) else ""
        top.set_title(f"{role}: {cell_label(c)}\nfinal phase {phase_name(int(c['phase']))}{zero}", fontsize=9)
        top.set_xlabel("per-neuron IPR (rfft, mean of U, V, W rows)")
        bottom.plot(c["step"].values, c["mean_ipr"].values, color="tab:blue", lw=1.4, label="measured mean IPR")
        bottom.set_xlabel("optimizer step")
        for value, label, color, ls in references:
            top.axvline(value, color=color, ls=ls, lw=1.2, label=f"{label}: {value:.3f}")
            bottom.axhline(value, color=color, ls=ls, lw=1)
        top.set_xlim(0, 1.02)
        bottom.set_ylim(0, 1.05)
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
    axes[0, 0].set_ylabel(f"neurons (of {ds.sizes['neuron']})")
    axes[1, 0].set_ylabel("mean IPR over neurons")
    unique_legend(fig, [axes[0, 0], axes[1, 0]], ncol=4, fontsize=8, title=f"reference IPR at p {p}", title_fontsize=8)
    fig.suptitle(f"Neuron periodicity (IPR, paper Fig. 4), bins of 0.05\n{sweep_title(ds)}", fontsize=10)
    return save(fig, path)


def dropout_cells(ds: xr.Dataset, dropout: xr.Dataset) -> list[tuple[float, float]]:
    """(alpha, xi) cells for the dropout IPR figure: the scale's coexistence cell and the paper's
    Figure 4 cell (alpha 0.5, xi 0.35), those that both the ``wd`` and the ``dropout`` panel have."""
    wanted = [(0.5, 0.35)]
    named = cells_of(ds.attrs.get("scale"))
    if named is not None:
        wanted.insert(0, named.coexistence[:2])
    have = lambda d, a, x: np.isclose(d["alpha"].values, a).any() and np.isclose(d["xi"].values, x).any()
    cells = []
    for a, x in wanted:
        if (a, x) not in cells and have(ds, a, x) and have(dropout, a, x) and np.isclose(ds["weight_decay"].values, 0.0).any():
            cells.append((a, x))
    return cells


def dropout_ipr_histograms(ds: xr.Dataset, dropout: xr.Dataset, path: Path) -> Path:
    """Per-neuron IPR histograms at the end of training per dropout rate (0 from the ``wd`` panel's
    wd 0, then each rate of the ``dropout`` panel), one row per cell of ``dropout_cells`` (paper Fig. 4,
    dropout panels). Each panel: phase colour, final test and corrupted-subset accuracy, and the
    fractions of neurons with IPR < 0.2 (memorizing) and > 0.7 (periodic). Reads ipr, phase, final_*."""
    p = scalar_param(ds, "p")
    cells = dropout_cells(ds, dropout)
    rates = [0.0, *np.atleast_1d(dropout["dropout"].values).tolist()]
    fig = Figure(figsize=(max(3.4 * len(rates), 10), 3.2 * max(len(cells), 1) + 1.4), layout="constrained")
    if not cells:
        return empty(fig, "no (alpha, xi) cell shared by the wd 0 and dropout panels", path)
    axes = fig.subplots(len(cells), len(rates), squeeze=False, sharex=True)
    bins = np.linspace(0, 1, 21)
    gaussian = theory.reference_ipr(p, "gaussian", rows=2000)
    for i, (a, x) in enumerate(cells):
        for j, q in enumerate(rates):
            ax = axes[i, j]
            c = (ds.sel(alpha=a, xi=x, weight_decay=0.0, method="nearest") if q == 0 else
                 dropout.sel(alpha=a, xi=x, dropout=q, method="nearest"))
            ipr = c["ipr"].values
            finite = ipr[np.isfinite(ipr)]
            phase = int(c["phase"])
            ax.hist(finite, bins=bins, color=PHASE_COLORS[phase], edgecolor="black", lw=0.5)
            ax.axvline(gaussian, color="tab:gray", ls="--", lw=1.2, label=f"Gaussian row: {gaussian:.3f}")
            ax.axvline(1.0, color="black", ls="-.", lw=1.2, label="periodic neuron (Eq. 2): 1")
            low, high = (100 * np.mean(finite < 0.2), 100 * np.mean(finite > 0.7)) if len(finite) else (np.nan, np.nan)
            ax.set_title(f"dropout {q:g}: α {a:g}, ξ {x:g} -> {phase_name(phase)}\n"
                         f"test {100 * float(c['final_test_acc']):.0f} %, corrupted {100 * float(c['final_corrupt_acc']):.0f} %; "
                         f"IPR<0.2: {low:.0f} %, >0.7: {high:.0f} %", fontsize=8)
            ax.set_xlim(0, 1.02)
            ax.grid(alpha=0.3)
            if i == len(cells) - 1:
                ax.set_xlabel("per-neuron IPR (rfft, mean of U, V, W rows)")
        axes[i, 0].set_ylabel(f"neurons (of {ds.sizes['neuron']})")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, title=f"reference IPR at p {p}", title_fontsize=8)
    fig.suptitle(f"Dropout (on the hidden pre-activation, wd 0) removes the memorizing low-IPR neurons (paper Fig. 4, dropout)\n"
                 f"{sweep_title(ds)}; bins of 0.05, bar colour = final phase", fontsize=9)
    return save(fig, path)


def batchnorm_gamma(panel: xr.Dataset, path: Path) -> Path:
    """BatchNorm mechanism (paper Fig. 5): per-neuron |gamma| against IPR in each cell of the BatchNorm
    panel (all seeds pooled, one colour per seed), with the Spearman rank correlation per seed.
    Reads ipr, bn_gamma."""
    alphas, xis = np.atleast_1d(panel["alpha"].values), np.atleast_1d(panel["xi"].values)
    fig = Figure(figsize=(3.3 * len(alphas), 2.9 * len(xis) + 0.8), layout="constrained")
    axes = fig.subplots(len(xis), len(alphas), squeeze=False, sharex=True)
    for i, x in enumerate(xis):
        for j, a in enumerate(alphas):
            ax = axes[len(xis) - 1 - i, j]
            c = panel.sel(alpha=a, xi=x)
            runs = [c.isel(seed=s) for s in range(c.sizes["seed"])] if "seed" in c.dims else [c]
            rhos = []
            for s, r in enumerate(runs):
                ipr, gamma = r["ipr"].values, r["bn_gamma"].values
                ax.scatter(ipr, gamma, s=4, alpha=0.5, color=f"C{s}")
                rhos.append(spearman(ipr, gamma))
            phase = phase_name(int(runs[0]["phase"]))
            ax.set_title(f"α {a:g}, ξ {x:g}: {phase}\nSpearman ρ {', '.join(f'{r:.2f}' for r in rhos)}", fontsize=8)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("per-neuron IPR")
    for ax in axes[:, 0]:
        ax.set_ylabel("|γ| (BatchNorm scale)")
    fig.suptitle(f"BatchNorm damps memorizing (low-IPR) neurons (paper Fig. 5): batch {scalar_param(panel, 'batch_size')}, lr {scalar_param(panel, 'lr'):g}, {scalar_param(panel, 'steps')} steps, p {scalar_param(panel, 'p')}, N {scalar_param(panel, 'N')}; one colour per seed", fontsize=9)
    return save(fig, path)
