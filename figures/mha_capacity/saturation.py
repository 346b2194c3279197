"""Softmax saturation in the trained `mha-capacity` models at T = capacity, beside the construction of
Theorem 1, whose later heads saturate on the examples the earlier heads placed (arXiv 2306.02010,
Sec. 4). The attention of a config is recorded for the weights of its largest memorized probe, on those
T = capacity examples (run.py); configs without a resolved capacity are left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.mha_capacity.analysis import SATURATED
from ...theory import mha_capacity as th
from .._common import save, scalar_param
from .panels import at_lr, context_text, lr_text, seed_stats, selected, suptitle, title


def saturation_config(ds: xr.Dataset) -> int:
    """The H of the left and right panels: the largest H with a resolved seed (the largest H if none)."""
    H_values = ds["H"].values if "H" in ds.dims else np.atleast_1d(scalar_param(ds, "H"))
    resolved = selected(ds, "resolved", ("H", "seed")).values.reshape(len(H_values), -1).any(1)
    return int(H_values[resolved][-1] if resolved.any() else H_values[-1])


def _attention(ds: xr.Dataset, H: int, var: str) -> np.ndarray:
    """(seed, example, head) largest attention weights of the resolved seeds at H (NaN beyond capacity)."""
    cell = ds.sel(H=H) if "H" in ds.dims else ds
    values = at_lr(cell, var)
    keep = selected(cell, "resolved", ("seed",)).values.astype(bool).reshape(-1)
    values = selected(values.to_dataset(name="a"), "a", ("seed", "example", "head")).values
    return values[keep][:, :, :H]


def _histogram(ax, init: np.ndarray, after: np.ndarray, H: int, n: int, seeds: int) -> None:
    edges = np.linspace(0.0, SATURATED, 34)
    sat_x, sat_w = 1.06, 0.07  # the saturated pairs get their own, wider bar right of the axis break
    tallest = 0.0
    for values, label, color, alpha in ((init, "at init", "tab:gray", 0.55), (after, "after training", "tab:blue", 0.6)):
        v = values[np.isfinite(values)]
        frac = float(np.mean(v > SATURATED)) if v.size else np.nan
        w = np.full(v.size, 1 / max(v.size, 1))
        heights, _, _ = ax.hist(v[v <= SATURATED], bins=edges, weights=w[v <= SATURATED], color=color, alpha=alpha,
                                edgecolor=color, lw=0.6, label=f"{label}: {100 * frac:.1f}% of pairs above {SATURATED}")
        ax.bar(sat_x, frac, width=sat_w, color=color, alpha=alpha, edgecolor=color, lw=0.6)
        tallest = max(tallest, np.max(heights, initial=0.0), frac if np.isfinite(frac) else 0.0)
    ax.axvline(SATURATED, color="tab:red", ls="--", lw=1.3, label=f"saturation threshold {SATURATED}")
    ax.axvline(1 / n, color="black", ls=":", lw=1, label=f"uniform attention 1/n = {1 / n:.3g}")
    if tallest > 0:
        ax.set_yscale("log")
        ax.set_ylim(top=tallest * 12)  # room for the legend above the bars
    else:
        ax.text(0.5, 0.5, f"no resolved config at H = {H}", transform=ax.transAxes, ha="center")
    ax.set_xlim(0, sat_x + sat_w)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, sat_x], ["0", "0.2", "0.4", "0.6", "0.8", f"> {SATURATED}"])
    ax.set_xlabel("largest attention weight of the query (per example and head)")
    ax.set_ylabel("fraction of (example, head) pairs" + (" (log scale)" if tallest > 0 else ""))
    ax.set_title(f"H = {H}, trained on T = capacity examples; {seeds} resolved seed(s) pooled;\n"
                 "bins 0.03 wide, saturated pairs in one bar at right", fontsize=9)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(alpha=0.3)


def _fraction_vs_H(ax, ds: xr.Dataset) -> None:
    """Saturated fraction after training and at init vs H: resolved seeds and their mean (95 % t)."""
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=[int(scalar_param(ds, "H"))])
    H = ds_h["H"].values.astype(float)
    ok = selected(ds_h, "resolved", ("H", "seed")).values.astype(bool)
    S = ok.shape[1]
    shift = (np.arange(S) - (S - 1) / 2) * 0.06
    for var, color, label in (("saturated_fraction", "tab:blue", "after training (T = capacity)"),
                              ("saturated_fraction_init", "tab:gray", "at init (same examples)")):
        frac = selected(ds_h.assign({var: at_lr(ds_h, var)}), var, ("H", "seed")).values.astype(float)
        xs = H[:, None] + shift[None, :]
        ax.plot(xs[ok], frac[ok], ls="none", marker="o", ms=4.5, color=color, alpha=0.45, mec="none")
        mean, lo, hi, _ = seed_stats(frac, ok)
        lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)  # a fraction: the t interval clipped to [0, 1]
        err = np.where(np.isfinite(np.vstack([mean - lo, hi - mean])), np.vstack([mean - lo, hi - mean]), 0.0)
        ax.errorbar(H, mean, yerr=err, color=color, marker="D", ms=5.5, lw=1.5, capsize=3,
                    label=label)
    ax.set_xticks(H, [f"{v:g}" for v in H])
    ax.set_ylim(-0.02, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("number of heads H")
    ax.set_ylabel(f"fraction of (example, head) pairs with largest weight > {SATURATED}")
    ax.set_title("saturated fraction vs H at T = capacity; dots: resolved seeds,\n"
                 "diamonds: their mean with its 95% t interval (clipped to [0, 1])", fontsize=9)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(alpha=0.3)


def _split(ax, init: np.ndarray, after: np.ndarray, H: int, n: int, d_h: int) -> None:
    ks = np.arange(H + 1)
    width = 0.4
    for values, label, color, shift in ((init, "at init", "tab:gray", -width / 2), (after, "after training", "tab:blue", width / 2)):
        rows = np.isfinite(values).all(-1)  # (seed, example): the examples within capacity
        count = np.sum(values > SATURATED, axis=-1)[rows]
        share = np.array([np.mean(count == j) if count.size else np.nan for j in ks])
        ax.bar(ks + shift, share, width=width, color=color, alpha=0.75, label=label)
    ax.plot(ks, th.construction_saturation(H, n, d_h), ls="none", marker="D", ms=6, mfc="white", mec="black",
            label=f"construction (T = {th.capacity_bound_value(H, n, d_h)}, attention built)")
    ax.set_xticks(ks)
    ax.set_xlabel(f"saturated heads per example (of H = {H})")
    ax.set_ylabel("fraction of examples")
    ax.set_title(f"how the heads split the examples (H = {H}, T = capacity)", fontsize=9)
    ax.legend(fontsize=7.5)
    ax.grid(alpha=0.3, axis="y")


def saturation_figure(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """Left: largest attention weight per (example, head) after training vs at init for the largest H
    (resolved seeds pooled). Middle: saturated fraction vs H. Right: saturated heads per example beside the
    construction's split. ``ds``: a ``panels.prepare``d panel; reads max_attn, max_attn_init,
    saturated_fraction, saturated_fraction_init."""
    n, d_h = int(scalar_param(ds, "n")), int(scalar_param(ds, "d_h"))
    H = saturation_config(ds)
    after, init = _attention(ds, H, "max_attn"), _attention(ds, H, "max_attn_init")
    fig = Figure(figsize=(15, 5.2), layout="constrained")
    ax_h, ax_f, ax_b = fig.subplots(1, 3, width_ratios=(1.1, 1.1, 1.0))
    _histogram(ax_h, init, after, H, n, after.shape[0])
    _fraction_vs_H(ax_f, ds)
    _split(ax_b, init, after, H, n, d_h)
    suptitle(fig, [f"Softmax saturation at T = capacity (Sec. 4; '{panel}' panel, {context_text(ds)}, n = {n}, d_h = {d_h}, "
                   f"{lr_text(ds)})", title(ds)])
    return save(fig, path)
