"""Pruning figures of the `grokking` study: accuracies and losses versus the fraction of neurons
pruned by IPR, no retraining (arXiv 2310.13061, Figs. 6 and 17) with a random-order control, and how
much can be pruned versus width (App. Q)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from .._common import empty, save, scalar_param, unique_legend
from .helpers import band, cell_label, seed_runs, sweep_title

PRUNE_SERIES = (("train_acc", "train", "tab:blue"), ("test_acc", "test", "tab:orange"), ("corrupt_acc", "corrupted subset", "tab:red"), ("clean_acc", "uncorrupted subset", "tab:green"))
ORDER_LABELS = (("low", "lowest IPR first"), ("high", "highest IPR first"), ("random", "random order (mean of 5 orders)"))


def pruning_curves(ds: xr.Dataset, cells, seeds: xr.Dataset | None, path: Path) -> Path:
    """Accuracies (train, test, corrupted, uncorrupted) and losses (train, test) versus the fraction of
    neurons pruned, no retraining, for each Figure 1 cell (rows) and order (columns: low IPR first,
    high IPR first, random; last column: losses of all three). Mean ± std over seeds where the
    ``seeds`` panel has the cell. Reads prune_{low,high,random}_*."""
    fig = Figure(figsize=(15, 3.3 * max(len(cells), 1) + 0.8), layout="constrained")
    if not cells:
        return empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = fig.subplots(len(cells), 4, squeeze=False, sharex=True)
    for i, (role, c) in enumerate(cells):
        runs = seed_runs(seeds, c)
        N = runs.sizes["neuron"]
        frac = np.arange(N) / N
        for j, (order, title) in enumerate(ORDER_LABELS):
            ax = axes[i, j]
            for var, label, color in PRUNE_SERIES:
                band(ax, frac, runs[f"prune_{order}_{var}"], color, label)
            ax.set_ylim(-2, 102)
            ax.grid(alpha=0.3)
            ax.set_title(f"{role} ({cell_label(c)}): {title}", fontsize=8)
        ax = axes[i, 3]
        for (order, title), ls in zip(ORDER_LABELS, ("-", "--", ":")):
            band(ax, frac, runs[f"prune_{order}_train_loss"], "tab:blue", f"train loss, {title}", scale=1.0)
            band(ax, frac, runs[f"prune_{order}_test_loss"], "tab:orange", f"test loss, {title}", scale=1.0)
            for line in ax.get_lines()[-2:]:
                line.set_linestyle(ls)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.set_title(f"losses (MSE), {runs.sizes.get('seed', 1)} seed(s)", fontsize=8)
        axes[i, 0].set_ylabel("accuracy (%)")
    for ax in axes[-1]:
        ax.set_xlabel("fraction of neurons pruned")
    unique_legend(fig, [axes[0, 0], axes[0, 3]], ncol=5, fontsize=7)
    fig.suptitle(f"Pruning the trained nets by per-neuron IPR, no retraining (paper Figs. 6, 17) with a random-order control\n{sweep_title(ds)}; bands ± 1 std over seeds", fontsize=10)
    return save(fig, path)


def width_pruning(panel: xr.Dataset, path: Path) -> Path:
    """Neurons prunable with test accuracy >= 90 % (lowest IPR first, and the random-order control)
    versus width N: count (left) and fraction of N (right), mean ± standard error over seeds, each seed
    a dot. Reads n_prunable_low, n_prunable_random (sims.studies.grokking.analysis.prunable_neurons)."""
    widths = np.atleast_1d(panel["N"].values).astype(float)
    fig = Figure(figsize=(10, 4.0), layout="constrained")
    count_ax, frac_ax = fig.subplots(1, 2)
    for order, label, color in (("low", "lowest IPR first", "tab:blue"), ("random", "random order (mean curve of 5)", "tab:gray")):
        values = panel[f"n_prunable_{order}"].transpose("N", ...).values.reshape(len(widths), -1)
        n = np.sum(np.isfinite(values), 1)
        mean = np.nanmean(values, 1)
        se = np.nanstd(values, 1, ddof=1) / np.sqrt(np.maximum(n, 1)) if values.shape[1] > 1 else np.zeros(len(widths))
        for ax, scale in ((count_ax, 1.0), (frac_ax, 100.0 / widths)):
            s = np.asarray(scale) * np.ones(len(widths))
            ax.errorbar(widths, mean * s, yerr=se * s, fmt="o-", color=color, capsize=3, label=f"{label} (mean ± SE)")
            for j in range(values.shape[1]):
                ax.scatter(widths, values[:, j] * s, s=8, color=color, alpha=0.35)
    count_ax.plot(widths, widths, "k:", lw=1, label="all neurons (N)")
    count_ax.set_ylabel("neurons prunable with test ≥ 90%")
    frac_ax.set_ylabel("prunable fraction of N (%)")
    seeds = panel.sizes.get("seed", 1)
    for ax in (count_ax, frac_ax):
        ax.set_xscale("log")
        ax.set_xticks(widths, [f"{w:g}" for w in widths])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("hidden width N (log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    cell = f"α {scalar_param(panel, 'alpha')}, ξ {scalar_param(panel, 'xi')}, wd {scalar_param(panel, 'weight_decay')}, lr {scalar_param(panel, 'lr')}"
    fig.suptitle(f"How much of the net can be pruned by IPR without losing generalization, vs width (paper App. Q)\np {scalar_param(panel, 'p')}, {scalar_param(panel, 'steps')} steps, {cell}; {seeds} seeds", fontsize=9)
    return save(fig, path)
