"""Phase diagrams of the `grokking` study: per weight decay (arXiv 2310.13061, Fig. 3), per
regularizer (Fig. 3's dropout, BatchNorm and minibatch panels; App. P for multiplication), and when each
stage of the dynamics happens over the same grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...theory import grokking as theory
from .._common import save, scalar_param
from .helpers import AXES, DARK_PHASES, PHASE_COLORS, TIMES, majority_phase, phase_colormap, phase_name, phase_panel, sweep_title


def phase_diagrams(ds: xr.Dataset, path: Path) -> Path:
    """Phase of every (alpha, xi) cell, one panel per weight decay; each cell annotated with the final
    accuracy on the corrupted training subset vs its noisy labels. Reads phase, final_corrupt_acc."""
    p = scalar_param(ds, "p")
    alphas, xis, wds = (ds[a].values for a in AXES)
    ncols = 2 if len(wds) == 4 else min(len(wds), 3)
    nrows = -(-len(wds) // ncols)
    panel_w, panel_h = max(3.2, 0.42 * len(alphas) + 1.2), max(2.8, 0.3 * len(xis) + 1.2)
    fig = Figure(figsize=(max(ncols * panel_w, 10), nrows * panel_h + 1.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    values = sorted(PHASE_COLORS)
    cmap, norm = phase_colormap()
    fontsize = 7 if len(alphas) <= 8 else 6
    # Partial Inversion needs the inversion boundary 1 - xi + xi/p + 0.05 below 90 % (App. C)
    xi_partial = (0.1 + theory.INVERSION_SLACK) / (1 - 1 / p)
    above = np.nonzero(xis > xi_partial)[0]
    xi_pos = above[0] - 0.5 if len(above) and above[0] > 0 else None  # between grid rows

    for ax, wd in zip(axes, wds):
        panel = ds.sel(weight_decay=wd)
        phase = panel["phase"].transpose("xi", "alpha").values.astype(int)
        corrupt = panel["final_corrupt_acc"].transpose("xi", "alpha").values
        ax.imshow(phase, origin="lower", cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        for i in range(len(xis)):
            for j in range(len(alphas)):
                if np.isfinite(corrupt[i, j]) and phase[i, j] >= 0:
                    color = "white" if phase[i, j] in DARK_PHASES else "black"
                    ax.text(j, i, f"c {100 * corrupt[i, j]:.0f}%", ha="center", va="center", fontsize=fontsize, color=color)
        if xi_pos is not None:
            ax.axhline(xi_pos, color="black", ls="--", lw=1)
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas], fontsize=7, rotation=90 if len(alphas) > 8 else 0)
        ax.set_yticks(range(len(xis)), [f"{x:g}" for x in xis], fontsize=7)
        ax.set_xlabel("training fraction α (of the p² pairs)")
        ax.set_ylabel("corruption fraction ξ (of train labels)")
        ax.set_title(f"weight decay {wd:g}")
    for ax in axes[len(wds):]:
        ax.set_visible(False)

    present = set(np.unique(ds["phase"].values).astype(int).tolist())
    handles = [Patch(color=PHASE_COLORS[v], label=phase_name(v)) for v in values if v >= 0 or v in present]
    if xi_pos is not None:
        handles.append(Line2D([], [], color="black", ls="--", label=f"Partial Inversion possible above (ξ > {xi_partial:.3f})"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=8)
    fig.suptitle(
        f"Phase diagrams (final accuracies, paper App. C thresholds)\n{sweep_title(ds)}\n"
        f"cell text c = final accuracy of the corrupted training subset vs its noisy labels\n"
        f"(Full Inversion: c ≈ chance {100 / p:.1f}%; at small ξ a fully inverted net is labelled Coexistence)",
        fontsize=9 if len(alphas) <= 8 else 12,
    )
    return save(fig, path)


def regularizer_diagrams(ds: xr.Dataset, panels, path: Path) -> Path:
    """One phase diagram over (alpha, xi) per regularizer setting: weight decay 0 (reference, from the
    ``wd`` panel), each dropout rate, BatchNorm (majority phase over seeds), each minibatch size. Cell
    text: final corrupted-subset accuracy. Reads phase, final_corrupt_acc."""
    entries = []
    ref = ds.sel(weight_decay=0.0, method="nearest")
    entries.append(("no regularization (wd 0, full batch)", ref))
    for name, panel in panels:
        panel = majority_phase(panel)
        if name == "dropout":
            for q in np.atleast_1d(panel["dropout"].values):
                entries.append((f"dropout {q:g} (wd 0)", panel.sel(dropout=q)))
        elif name == "multiplication":
            for wd in np.atleast_1d(panel["weight_decay"].values):
                entries.append((f"(m·n) mod p, wd {wd:g} (App. P)", panel.sel(weight_decay=wd)))
        elif name.startswith("batchnorm"):
            entries.append((f"BatchNorm, batch {scalar_param(panel, 'batch_size')}, lr {scalar_param(panel, 'lr'):.3g}, {scalar_param(panel, 'steps')} steps", panel))
        else:
            entries.append((f"minibatch {scalar_param(panel, 'batch_size')}, lr {scalar_param(panel, 'lr'):.4g}, {scalar_param(panel, 'steps')} steps", panel))
    ncols = min(4, len(entries))
    nrows = -(-len(entries) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.2 * nrows + 1.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (title, panel) in zip(axes, entries):
        alphas, xis = np.atleast_1d(panel["alpha"].values), np.atleast_1d(panel["xi"].values)
        phase = np.atleast_2d(panel["phase"].transpose("xi", "alpha").values.astype(int))
        corrupt = np.atleast_2d(panel["final_corrupt_acc"].transpose("xi", "alpha").values)
        phase_panel(ax, phase, corrupt, alphas, xis, title)
    for ax in axes[len(entries):]:
        ax.set_visible(False)
    present = set()
    for _, panel in entries:
        present |= set(np.unique(panel["phase"].values).astype(int).tolist())
    handles = [Patch(color=PHASE_COLORS[v], label=phase_name(v)) for v in sorted(PHASE_COLORS) if v in present]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(f"Phases per regularizer (paper Fig. 3 panels); c = final corrupted-subset accuracy\n{sweep_title(ds)} unless stated", fontsize=9)
    return save(fig, path)


def dynamics_summary(ds: xr.Dataset, path: Path) -> Path:
    """t_train95, t_test90 and t_unlearn (rows) over (alpha, xi) per weight decay (columns), colour on a
    log scale, '–' where never reached. Reads t_train95, t_test90, t_unlearn."""
    alphas, xis, wds = (ds[a].values for a in AXES)
    steps = scalar_param(ds, "steps")
    fig = Figure(figsize=(max(2.3 * len(wds), 10), 7.2), layout="constrained")
    axes = fig.subplots(len(TIMES), len(wds), squeeze=False)
    norm = LogNorm(vmin=max(1, scalar_param(ds, "log_every")), vmax=steps)
    image = None
    for i, (var, label, _) in enumerate(TIMES):
        for j, wd in enumerate(wds):
            ax = axes[i, j]
            t = ds[var].sel(weight_decay=wd).transpose("xi", "alpha").values if var in ds else np.full((len(xis), len(alphas)), np.nan)
            image = ax.imshow(np.where(np.isfinite(t), t, np.nan), origin="lower", aspect="auto", cmap="viridis", norm=norm, interpolation="nearest")
            for yi in range(len(xis)):
                for xj in range(len(alphas)):
                    text = f"{t[yi, xj]:.0f}" if np.isfinite(t[yi, xj]) else "–"
                    ax.text(xj, yi, text, ha="center", va="center", fontsize=6, color="white" if np.isfinite(t[yi, xj]) and t[yi, xj] < np.sqrt(steps * 10) else "black")
            ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas], fontsize=7)
            ax.set_yticks(range(len(xis)), [f"{x:g}" for x in xis], fontsize=7)
            if i == 0:
                ax.set_title(f"weight decay {wd:g}", fontsize=9)
            if i == len(TIMES) - 1:
                ax.set_xlabel("α")
            if j == 0:
                ax.set_ylabel(f"{label}\nξ", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="optimizer step (log scale)")
    fig.suptitle(f"When each stage happens: first step with train ≥ 95%, test ≥ 90%, corrupted-subset accuracy < 10% after its peak\n{sweep_title(ds)}; '–' = never", fontsize=9)
    return save(fig, path)
