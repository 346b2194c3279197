"""Accuracy curves of the `grokking` study: the Figure 1 cells over steps (arXiv 2310.13061, Fig. 1),
and its two stages, grokking then unlearning of the corrupted labels, over seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...theory import grokking as theory
from .._common import empty, save, scalar_param, unique_legend
from .helpers import TIMES, band, cell_label, phase_name, seed_runs, sweep_title


def training_curves(ds: xr.Dataset, cells, path: Path) -> Path:
    """Train, test and corrupted-subset accuracies (vs noisy and vs true labels) over steps for the
    coexistence / partial / full inversion cells, with the analytic full-inversion train level
    100(1 - xi + xi/p) and chance 100/p. Reads train_acc, test_acc, corrupt_acc, corrupt_true_acc."""
    p = scalar_param(ds, "p")
    fig = Figure(figsize=(max(4.2 * len(cells), 10), 4.2), layout="constrained")
    if not cells:
        return empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = np.atleast_1d(fig.subplots(1, len(cells), sharey=True))
    series = [
        ("train_acc", "train (noisy labels)", "tab:blue"),
        ("test_acc", "test", "tab:orange"),
        ("corrupt_acc", "corrupted subset vs noisy labels", "tab:red"),
        ("corrupt_true_acc", "corrupted subset vs true labels", "tab:green"),
    ]
    for ax, (role, c) in zip(axes, cells):
        step = c["step"].values
        for var, label, color in series:
            ax.plot(step, 100 * c[var].values, color=color, lw=1.4, label=label)
        xi = float(c["xi"])
        level = 100 * theory.full_inversion_train_accuracy(xi, p)
        ax.axhline(level, color="tab:blue", ls="--", lw=1, label="full-inversion train level 100(1 - ξ + ξ/p)")
        ax.text(0.01, level + 1.5, f"{level:.1f}%", transform=ax.get_yaxis_transform(), fontsize=7, color="tab:blue")
        if xi > 0:
            ax.axhline(100 / p, color="tab:red", ls=":", lw=1, label="chance 100/p (corrupted subset, full inversion)")
        ax.set_xscale("symlog", linthresh=10, linscale=0.3)
        ax.set_xlim(0, step[-1])
        ax.set_ylim(-2, 102)
        ax.set_xlabel("optimizer step (linear below 10, log above)")
        ax.set_title(f"{role} cell: {cell_label(c)}\nfinal phase: {phase_name(int(c['phase']))}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    unique_legend(fig, axes, ncol=3, fontsize=8)  # the chance line is absent from xi = 0 panels
    fig.suptitle(f"Grokking, then unlearning of corrupted labels (paper Fig. 1)\n{sweep_title(ds)}", fontsize=10)
    return save(fig, path)


def two_stage(ds: xr.Dataset, cells, seeds: xr.Dataset | None, path: Path) -> Path:
    """The two stages (paper Fig. 1): train / test / corrupted-subset accuracy and mean IPR
    over steps in the Figure 1 cells, mean ± std over seeds when the ``seeds`` panel has the cell;
    dotted verticals at the median t_train95, t_test90 and t_unlearn; dashed the full-inversion level
    100(1 - xi + xi/p). Reads train_acc, test_acc, corrupt_acc, mean_ipr, t_*."""
    p = scalar_param(ds, "p")
    fig = Figure(figsize=(max(4.4 * len(cells), 10), 4.6), layout="constrained")
    if not cells:
        return empty(fig, "no coexistence / partial / full inversion cell in this sweep", path)
    axes = np.atleast_1d(fig.subplots(1, len(cells), sharey=True))
    for ax, (role, c) in zip(axes, cells):
        runs = seed_runs(seeds, c)
        step = runs["step"].values
        band(ax, step, runs["train_acc"], "tab:blue", "train (noisy labels)")
        band(ax, step, runs["test_acc"], "tab:orange", "test")
        band(ax, step, runs["corrupt_acc"], "tab:red", "corrupted subset vs noisy labels")
        xi = float(c["xi"])
        ax.axhline(100 * theory.full_inversion_train_accuracy(xi, p), color="tab:blue", ls="--", lw=1, label="full-inversion level 100(1 - ξ + ξ/p)")
        for var, label, color in TIMES:
            t = runs[var].values if var in runs else np.array([np.nan])
            if np.isfinite(t).any():
                ax.axvline(np.nanmedian(t), color=color, ls=":", lw=1.2, label=f"median step: {label}")
        twin = ax.twinx()
        band(twin, step, runs["mean_ipr"], "tab:purple", "mean IPR (right axis)", scale=1.0)
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("mean IPR", color="tab:purple", fontsize=8)
        ax.set_xscale("symlog", linthresh=10, linscale=0.3)
        ax.set_xlim(0, step[-1])
        ax.set_ylim(-2, 102)
        ax.set_xlabel("optimizer step (linear below 10, log above)")
        n = runs.sizes.get("seed", 1)
        ax.set_title(f"{role}: {cell_label(c)}\n{n} seed{'s' if n > 1 else ''} (band: ± 1 std)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    unique_legend(fig, [*axes, fig.axes[-1]], ncol=4, fontsize=8)  # the last twin axis holds the mean IPR
    fig.suptitle(f"Two stages: grokking, then unlearning of the corrupted labels (paper Fig. 1)\n{sweep_title(ds)}", fontsize=10)
    return save(fig, path)
