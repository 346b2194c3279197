"""Softmax saturation in the trained `mha-capacity` models, beside the construction of Theorem 1, whose
later heads saturate on the examples the earlier heads placed (arXiv 2306.02010, Sec. 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.mha_capacity.analysis import SATURATED
from ...theory import mha_capacity as th
from .._common import save, scalar_param
from .panels import at_best_lr, best_lr_choice, context_text, lr_text, selected, title


def saturation_config(ds: xr.Dataset) -> tuple[int, int]:
    """(H, T) for the saturation panels: the largest H and the grid T nearest its mean capacity (largest
    T if censored, smallest if below the grid)."""
    H_values = np.atleast_1d(scalar_param(ds, "H"))
    H = int(H_values.max())
    sub = ds.sel(H=H) if "H" in ds.dims else ds
    T = sub["T"].values
    cap = float(selected(sub, "capacity_mean", ()).values)
    if bool(selected(sub, "capacity_censored", ("seed",)).values.any()):
        return H, int(T.max())
    if not np.isfinite(cap):
        return H, int(T.min())
    return H, int(T[np.argmin(np.abs(np.log(T) - np.log(cap)))])



def saturation_figure(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """Left: per-(example, head) largest attention weight after training vs at init for the largest H at
    the T nearest its capacity (best lr per seed, seeds pooled). Middle: saturated fraction vs T per H.
    Right: saturated heads per example (0..H) beside the construction's split. Reads max_attn,
    max_attn_init, saturated_fraction, saturated_fraction_init."""
    n, d_h = int(scalar_param(ds, "n")), int(scalar_param(ds, "d_h"))
    H, T = saturation_config(ds)
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=[H])
    cell = ds_h.sel(H=H, T=T)
    choice = best_lr_choice(cell)
    after = cell["max_attn"] if choice is None else cell["max_attn"].isel(lr=choice)
    init = cell["max_attn_init"] if choice is None else cell["max_attn_init"].isel(lr=choice)
    after = selected(after.to_dataset(name="a"), "a", ("seed", "example", "head")).values[:, :T, :H]
    init = selected(init.to_dataset(name="a"), "a", ("seed", "example", "head")).values[:, :T, :H]
    k = after.shape[0]

    fig = Figure(figsize=(15, 5.0), layout="constrained")
    ax_h, ax_f, ax_b = fig.subplots(1, 3, width_ratios=(1.1, 1.1, 1.0))

    edges = np.linspace(0.0, SATURATED, 34)
    sat_x, sat_w = 1.06, 0.07  # the saturated pairs get their own, wider bar right of the axis break
    tallest = 0.0
    for values, label, color, alpha in ((init, "at init", "tab:gray", 0.55), (after, "after training", "tab:blue", 0.6)):
        v = values[np.isfinite(values)]
        frac = float(np.mean(v > SATURATED)) if v.size else np.nan
        w = np.full(v.size, 1 / max(v.size, 1))
        heights, _, _ = ax_h.hist(v[v <= SATURATED], bins=edges, weights=w[v <= SATURATED], color=color, alpha=alpha,
                                  edgecolor=color, lw=0.6, label=f"{label}: {100 * frac:.1f}% of pairs above {SATURATED}")
        ax_h.bar(sat_x, frac, width=sat_w, color=color, alpha=alpha, edgecolor=color, lw=0.6)
        tallest = max(tallest, np.max(heights, initial=0.0), frac if np.isfinite(frac) else 0.0)
    ax_h.axvline(SATURATED, color="tab:red", ls="--", lw=1.3, label=f"saturation threshold {SATURATED}")
    ax_h.axvline(1 / n, color="black", ls=":", lw=1, label=f"uniform attention 1/n = {1 / n:.3g}")
    ax_h.set_yscale("log")
    if tallest > 0:
        ax_h.set_ylim(top=tallest * 12)  # room for the legend above the bars
    ax_h.set_xlim(0, sat_x + sat_w)
    ax_h.set_xticks([0, 0.2, 0.4, 0.6, 0.8, sat_x], ["0", "0.2", "0.4", "0.6", "0.8", f"> {SATURATED}"])
    ax_h.set_xlabel("largest attention weight of the query (per example and head)")
    ax_h.set_ylabel("fraction of (example, head) pairs (log)")
    ax_h.set_title(f"H = {H}, T = {T} (nearest its capacity), {lr_text(ds, 'seed')},\n{k} seeds pooled; "
                   f"bins 0.03 wide, saturated pairs in one bar at right", fontsize=9)
    ax_h.legend(fontsize=7.5, loc="upper left")
    ax_h.grid(alpha=0.3)

    T_grid = ds_h["T"].values.astype(float)
    H_values = ds_h["H"].values
    for i, Hv in enumerate(H_values):
        sub = ds_h.sel(H=Hv)
        frac = at_best_lr(sub, "saturated_fraction")
        frac = selected(frac.to_dataset(name="f"), "f", ("T", "seed")).values.astype(float)
        f0 = at_best_lr(sub, "saturated_fraction_init")
        f0 = selected(f0.to_dataset(name="f"), "f", ("T", "seed")).values.astype(float)
        color = f"C{i % 10}"
        ax_f.fill_between(T_grid, np.nanmin(frac, 1), np.nanmax(frac, 1), color=color, alpha=0.18, lw=0)
        ax_f.plot(T_grid, np.nanmean(frac, 1), "o-", ms=3.5, color=color, lw=1.4, label=f"H = {Hv:g}")
        ax_f.plot(T_grid, np.nanmean(f0, 1), ls=":", color=color, lw=1)
        cap = float(selected(sub, "capacity_mean", ()).values)
        if np.isfinite(cap):
            ax_f.plot(cap, np.interp(np.log(cap), np.log(T_grid), np.nanmean(frac, 1)), marker="*", ms=12, color=color,
                      zorder=5)
    ax_f.set_xscale("log", base=2)
    ax_f.set_xticks(T_grid, [f"{v:g}" for v in T_grid])
    ax_f.set_xticks([], minor=True)
    ax_f.set_ylim(-0.02, 1.02)
    ax_f.set_xlabel("training examples T (log scale)")
    ax_f.set_ylabel(f"fraction of (example, head) pairs with max weight > {SATURATED}")
    ax_f.set_title("saturated fraction vs T (seed mean, band min–max;\ndotted: at init; star: 99%-capacity)",
                   fontsize=9)
    ax_f.legend(fontsize=7.5, ncol=2, loc="upper left")
    ax_f.grid(alpha=0.3)

    ks = np.arange(H + 1)
    width = 0.4
    for values, label, color, shift in ((init, "at init", "tab:gray", -width / 2), (after, "after training", "tab:blue", width / 2)):
        count = np.sum(values > SATURATED, axis=-1)  # (seed, example): saturated heads per example
        share = np.array([np.mean(count == j) for j in ks])
        ax_b.bar(ks + shift, share, width=width, color=color, alpha=0.75, label=label)
    ax_b.plot(ks, th.construction_saturation(H, n, d_h), ls="none", marker="D", ms=6, mfc="white", mec="black",
              label=f"construction (T = {th.capacity_bound_value(H, n, d_h)}, attention built)")
    ax_b.set_xticks(ks)
    ax_b.set_xlabel(f"saturated heads per example (of H = {H})")
    ax_b.set_ylabel("fraction of examples")
    ax_b.set_title(f"how the heads split the examples (H = {H}, T = {T})", fontsize=9)
    ax_b.legend(fontsize=7.5)
    ax_b.grid(alpha=0.3, axis="y")
    fig.suptitle(f"Softmax saturation after training (Sec. 4; '{panel}' panel, {context_text(ds)}, n = {n}, d_h = {d_h})\n"
                 f"{title(ds)}", fontsize=10)
    return save(fig, path)
