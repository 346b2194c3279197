"""Capacity figures of the `mha-capacity` study: capacity vs H, n and d_h beside the bounds (the paper's
Fig. 2, arXiv 2306.02010, Sec. 5), and the memorized count vs the training-set size T."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from ...sims.studies.mha_capacity.analysis import THRESHOLD, fit_line
from ...theory import mha_capacity as th
from .._common import empty, save, scalar_param, unique_legend
from .panels import PANELS, context_text, lr_text, selected, series_dims, title

BOUND_STYLE = {"color": "black", "lw": 1.3, "ls": "-"}
DPC_STYLE = {"color": "tab:red", "lw": 1.3, "ls": "--"}
SERIES_COLORS = {"heads": "tab:blue", "heads_random": "tab:orange", "context": "tab:blue", "head_dim": "tab:blue"}


def _capacity_series(ax, ds: xr.Dataset, axis: str, color: str, label: str, offset: float = 0.0,
                     measure: str = "capacity") -> list[float]:
    """Seed mean with t-interval error bars, seed min/max as faint markers, censored points open with an
    upward arrow, seeds below the T grid as down triangles at the smallest T. ``measure``: 'capacity'
    (T99) or 'max_memorized' (M). Returns the y values drawn."""
    x = ds[axis].values.astype(float)
    xs = x * (1 + offset) if ax.get_xscale() == "log" else x + offset
    mean, lo, hi, mn, mx = (selected(ds, f"{measure}_{v}", (axis,)).values.astype(float) for v in
                            ("mean", "lo", "hi", "min", "max"))
    cap = selected(ds, measure, (axis, "seed")).values.astype(float)
    censored = selected(ds, f"{measure}_censored", (axis, "seed")).values.astype(bool)
    T_grid = ds["T"].values.astype(float)
    k = cap.shape[1]
    any_cens = censored.any(axis=1)
    below = np.isnan(cap).sum(axis=1)
    lo = np.maximum(lo, 1.0)  # a t-interval over few seeds can reach below one example
    err = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
    err = np.where(np.isfinite(err), err, 0.0)
    ax.errorbar(xs, mean, yerr=err, color=color, lw=1.5, capsize=3, marker="o", ms=5,
                label=f"{label}: seed mean, 95% t-interval over {k} seeds (clipped at 1)")
    ax.plot(xs, mn, ls="none", marker="_", ms=10, mew=1.5, color=color, alpha=0.45, label="seed min / max")
    ax.plot(xs, mx, ls="none", marker="_", ms=10, mew=1.5, color=color, alpha=0.45)
    if any_cens.any():
        # open mean marker; an arrow up from T_max (beside the error bar) for every censored seed
        ax.plot(xs[any_cens], mean[any_cens], ls="none", marker="o", ms=8, mfc="white", mec=color, mew=1.5,
                label="censored: a seed memorized the whole T grid (↑: its capacity exceeds the largest T)")
        beside = offset_copy(ax.transData, fig=ax.figure, x=7, units="points")
        for xi, count in zip(xs[any_cens], censored.sum(axis=1)[any_cens]):
            ax.annotate("", xy=(xi, T_grid[-1]), xycoords=beside, xytext=(0, 24), textcoords="offset points",
                        arrowprops={"arrowstyle": "<|-", "color": color, "lw": 1.5})
            if count > 1:
                ax.annotate(f"{count}/{k}", (xi, T_grid[-1]), xycoords=beside, xytext=(4, 10),
                            textcoords="offset points", fontsize=6, color=color)
    if below.any():
        rows = below > 0
        ax.plot(xs[rows], np.full(rows.sum(), T_grid[0]), ls="none", marker="v", ms=7, mfc="white", mec=color,
                label="seeds below the T grid (smallest T not memorized)")
        for xi, b in zip(xs[rows], below[rows]):
            ax.annotate(f"{b}/{k}", (xi, T_grid[0]), xytext=(0, -11), textcoords="offset points", ha="center",
                        fontsize=6, color=color)
    return [v for v in np.concatenate([mean, mn, mx, T_grid[[0, -1]]]) if np.isfinite(v) and v > 0]


def _bound_curves(ds: xr.Dataset, axis: str, x: np.ndarray):
    """(construction bound, DPC line) on a dense x grid, other parameters from the panel."""
    params = {name: scalar_param(ds, name) for name in ("H", "n", "d_h", "d") if name != axis}
    params[axis] = x
    con = th.capacity_bound_value(params["H"], params["n"], params["d_h"])
    dpc = th.dpc_bound_value(params["H"], params["d_h"], params["d"])
    return np.broadcast_to(con, x.shape).astype(float), np.broadcast_to(dpc, x.shape).astype(float)


MEASURES = {
    "max_memorized": ("memorization capacity M (examples)",
                      "chance-corrected memorized count M = max over T of T (acc − 1/C)/(1 − 1/C) (the claims' measure)"),
    "capacity": ("capacity T99 (examples)", "largest T with ≥ 99% training accuracy"),
}


def capacity_figure(evidence: dict, path: Path, measure: str = "capacity") -> Path:
    """Capacity vs H, n and d_h, beside H(min(n,d_h)-1)+1 and H d_h + d. ``measure`` 'capacity': T99
    (largest T with >= 99 % training accuracy, best lr per (T, seed)), reads capacity*; 'max_memorized':
    M, the chance-corrected memorized count maximised over T (what the claims test)."""
    ylabel, what = MEASURES[measure]
    present = [(name, axis, xlabel) for name, axis, xlabel in PANELS
               if name in evidence or (name == "heads" and "heads_random" in evidence)]
    fig = Figure(figsize=(max(5.2 * len(present), 11.5), 5.6), layout="constrained")
    if not present:
        return empty(fig, "no heads / context / head_dim panel in the evidence", path)
    axes = np.atleast_1d(fig.subplots(1, len(present)))
    ref = None
    for ax, (name, axis, xlabel) in zip(axes, present):
        series = [(name, evidence[name], "trained, shared context")] if name in evidence else []
        if name == "heads" and "heads_random" in evidence:
            series.append(("heads_random", evidence["heads_random"], "trained, random contexts"))
        ref = ref or series[0][1]
        xs_all = np.unique(np.concatenate([s[axis].values for _, s, _ in series]).astype(float))
        if axis == "d_h" and xs_all.max() / max(xs_all.min(), 1) >= 8:
            ax.set_xscale("log", base=2)
        ys, parts = [], []
        for key, ds, label in series:
            for sub_label, sub in series_dims(ds, axis):
                parts.append((key, sub, f"{label}{', ' + sub_label if sub_label else ''}"))
        width = np.diff(xs_all).min() if len(xs_all) > 1 else 1.0
        for j, (key, sub, label) in enumerate(parts):
            offset = (j - (len(parts) - 1) / 2) * (0.04 if ax.get_xscale() == "log" else 0.06 * width)
            color = SERIES_COLORS.get(key, "tab:blue") if len(parts) <= 2 else f"C{j}"
            ys += _capacity_series(ax, sub, axis, color, label, offset, measure)
        # bounds: a dense integer grid, since min(n, d_h) kinks between grid points
        dense = np.unique(np.r_[np.arange(xs_all.min(), xs_all.max() + 1), xs_all]) if axis != "H" else xs_all
        drawn = set()
        for key, sub, label in parts:
            con, dpc = _bound_curves(sub, axis, dense)
            sig = (tuple(np.round(con, 6)), tuple(np.round(dpc, 6)))
            if sig in drawn:
                continue
            drawn.add(sig)
            ax.plot(dense, con, **BOUND_STYLE, label="construction bound H(min(n, d_h) − 1) + 1 (attention frozen)")
            ax.plot(dense, dpc, **DPC_STYLE, label="Dana–Pydi–Chevaleyre H·d_h + d (attention-only LM)")
            ys += [v for v in np.concatenate([con, dpc]) if v > 0]
        T_grid = parts[0][1]["T"].values
        ax.axhspan(T_grid.min(), T_grid.max(), color="0.5", alpha=0.07, lw=0,
                   label="measurable range (the panel's T grid)")
        if axis == "d_h":
            n = scalar_param(parts[0][1], "n")
            if np.ndim(n) == 0:
                ax.axvline(n, color="tab:green", ls=":", lw=1.5, label="d_h = n (plateau predicted beyond)")
        fixed = {k: scalar_param(parts[0][1], k) for k in ("H", "n", "d_h") if k != axis}
        fixed_txt = ", ".join(f"{k} = {v}" for k, v in fixed.items() if np.ndim(v) == 0)
        ax.set_title(f"capacity vs {xlabel.split()[-1]} ({fixed_txt})", fontsize=10)
        ax.set_xlabel(xlabel + (" (log scale)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel(ylabel)
        ax.set_xticks(xs_all, [f"{v:g}" for v in xs_all])
        ax.set_xticks([], minor=True)
        if measure == "max_memorized" and axis == "H" and name in evidence:  # the claim's fit, drawn
            H = evidence[name]["H"].values.astype(float)
            M = selected(evidence[name], "max_memorized_mean", ("H",)).values.astype(float)
            use = (H >= 2) & np.isfinite(M)
            if use.sum() >= 3:
                slope, icpt, r2 = fit_line(H[use], M[use])
                ax.plot(H[use], icpt + slope * H[use], color="0.3", ls="-.", lw=1.2,
                        label=f"least-squares line on H ≥ 2 (shared): {slope:.0f} per head, R² {r2:.3f}")
        if measure == "max_memorized":
            ax.set_ylim(0, 1.1 * max(v for v in ys if v <= 1.5 * float(parts[0][1]["T"].max())))
        elif ys and max(ys) / min(ys) > 30:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    unique_legend(fig, axes, order=("trained", "least-squares", "seed min", "censored", "some seed", "construction", "Dana", "d_h = n"),
                   ncol=3 if len(present) == 3 else 2, fontsize=8)
    fig.suptitle(
        f"Memorization capacity of one multi-head attention layer (paper Fig. 2): {what}, "
        f"{lr_text(ref, '(T, seed)')}\n{title(ref)}\n"
        "The bound caps the construction with attention frozen (Sec. 4), not a trained model: trained "
        "W_Q, W_K can memorize more.",
        fontsize=10,
    )
    return save(fig, path)


def memorized_vs_T(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """Chance-corrected memorized count T (acc - 1/C) / (1 - 1/C) (left) and training accuracy (right)
    vs T, one curve per H (seed mean, band min-max), with the identity T, the 99 % capacity points and
    the construction bound on the identity. Reads memorized, acc, capacity_mean, capacity_censored."""
    C = int(scalar_param(ds, "C"))
    n, d_h = scalar_param(ds, "n"), scalar_param(ds, "d_h")
    fig = Figure(figsize=(12, 5.4), layout="constrained")
    ax_m, ax_a = fig.subplots(1, 2)
    T = ds["T"].values.astype(float)
    H_values = np.atleast_1d(scalar_param(ds, "H"))
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=H_values)
    colors = [f"C{i % 10}" for i in range(len(H_values))]
    ax_m.plot([T[0] / 1.2, T[-1] * 1.2], [T[0] / 1.2, T[-1] * 1.2], color="black", lw=1, ls=":",
              label="identity T (all memorized)")
    floor = []
    for H, color in zip(H_values, colors):
        sub = ds_h.sel(H=H)
        mem = selected(sub, "memorized", ("T", "seed")).values.astype(float)
        acc = selected(sub, "acc", ("T", "seed")).values.astype(float)
        ax_m.fill_between(T, np.nanmin(mem, 1), np.nanmax(mem, 1), color=color, alpha=0.18, lw=0)
        ax_m.plot(T, np.nanmean(mem, 1), "o-", ms=3.5, color=color, lw=1.4, label=f"H = {H:g}")
        ax_a.fill_between(T, np.nanmin(acc, 1), np.nanmax(acc, 1), color=color, alpha=0.18, lw=0)
        ax_a.plot(T, np.nanmean(acc, 1), "o-", ms=3.5, color=color, lw=1.4)
        floor.append(np.nanmin(mem))
        cap = float(selected(sub, "capacity_mean", ()).values)
        cens = bool(selected(sub, "capacity_censored", ("seed",)).values.any())
        if np.isfinite(cap):
            y = cap * (THRESHOLD - 1 / C) / (1 - 1 / C) if C > 1 else cap * THRESHOLD
            ax_m.plot(cap, y, marker="*", ms=13, color=color, mfc="white" if cens else color, mec=color, zorder=5)
            ax_a.plot(cap, THRESHOLD, marker="*", ms=13, color=color, mfc="white" if cens else color, mec=color, zorder=5)
        bound = float(th.capacity_bound_value(H, n, d_h))
        if T[0] / 1.5 <= bound <= T[-1] * 1.5:
            ax_m.plot(bound, bound, marker="x", ms=8, mew=2, color=color, zorder=5)
    ax_a.axhline(THRESHOLD, color="black", lw=1, ls="--", label="99% threshold")
    if C > 1:
        ax_a.axhline(1 / C, color="tab:gray", lw=1, ls=":", label=f"chance 1/C = {1 / C:.2g}")
    for ax in (ax_m, ax_a):
        ax.set_xscale("log", base=2)
        ax.set_xticks(T, [f"{v:g}" for v in T])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("training examples T (log scale)")
        ax.grid(alpha=0.3)
    if min(floor) > 0:
        ax_m.set_yscale("log", base=2)
    else:
        ax_m.set_yscale("symlog", linthresh=max(T[0], 1), base=2)
    ax_m.set_ylabel("chance-corrected memorized examples\nT (acc − 1/C) / (1 − 1/C)" if C > 1 else "examples within tolerance")
    ax_a.set_ylabel(f"training accuracy (best checkpoint, {lr_text(ds, '(T, seed)')})")
    ax_m.set_title("memorized count (seed mean, band: seed min–max)", fontsize=10)
    ax_a.set_title("training accuracy: capacity T99 is where it crosses 99%", fontsize=10)
    handles, labels = ax_m.get_legend_handles_labels()
    handles += ax_a.get_legend_handles_labels()[0]
    labels += ax_a.get_legend_handles_labels()[1]
    handles += [Line2D([], [], ls="none", marker="*", ms=11, color="0.3"),
                Line2D([], [], ls="none", marker="*", ms=11, mfc="white", mec="0.3"),
                Line2D([], [], ls="none", marker="x", ms=8, mew=2, color="0.3")]
    labels += ["99%-capacity (seed mean)", "censored capacity (lower bound)",
               "construction bound H(min(n, d_h) − 1) + 1 on the identity"]
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), fontsize=8)
    fig.suptitle(f"Memorized examples vs training-set size ('{panel}' panel, {context_text(ds)}, n = {n}, d_h = {d_h})\n{title(ds)}",
                 fontsize=10)
    return save(fig, path)
