"""Exposure figures of the `lm-canaries` study (Carlini et al., "The Secret Sharer", arXiv 1802.08232,
Sec. 4-6): exposure vs the repetition level with seed bands and the null line, exposure along training
beside validation loss, and exact vs extrapolated exposure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...theory import exposure as ex
from .._common import save, scalar_param
from .common import at_width, level_colors, n_seeds, seed_stats, title, widths

NULL_STYLE = {"color": "0.4", "ls": "--", "lw": 1}


def _null_lines(ax, digits: int):
    ax.axhline(ex.NULL_EXPOSURE, label=f"null: never inserted, log2 e = {ex.NULL_EXPOSURE:.2f} bits", **NULL_STYLE)
    ax.axhline(digits * np.log2(10), color="0.6", ls=":", lw=1, label=f"maximum log2 |R| = {digits * np.log2(10):.1f} bits")


def exposure_vs_r(rep: xr.Dataset, dedup: xr.Dataset | None, path: Path) -> Path:
    """Final exposure vs r: one curve per width (seed mean, band = seed min-max, dots = seeds), and the
    deduplicated runs; x on a symlog axis so r = 0 shows."""
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    colors = dict(zip(widths(rep), ("tab:blue", "tab:orange", "tab:green", "tab:purple")))
    for w in widths(rep):
        one = at_width(rep, w)["exposure_r"].isel(step=-1)
        r = one["r"].values
        mean, lo, hi = seed_stats(one)
        ax.fill_between(r, lo, hi, color=colors[w], alpha=0.18, lw=0)
        ax.plot(r, mean, "o-", color=colors[w], label=f"d = {w}: mean over {n_seeds(rep)} seeds (band: seed range)")
        if "seed" in one.dims:
            for s in one["seed"].values:
                ax.plot(r, one.sel(seed=s).values, ".", color=colors[w], alpha=0.5, ms=4)
    if dedup is not None and "exposure_r" in dedup:
        one = dedup["exposure_r"].isel(step=-1)
        mean, lo, hi = seed_stats(one)
        ax.fill_between(one["r"].values, lo, hi, color="tab:red", alpha=0.15, lw=0)
        ax.plot(one["r"].values, mean, "s--", color="tab:red", label=f"deduplicated, d = {scalar_param(dedup, 'width')}")
    _null_lines(ax, int(scalar_param(rep, "secret_digits")))
    ax.set_xscale("symlog", linthresh=1)
    r = rep["r"].values
    ax.set_xticks(r, [str(int(v)) for v in r])
    ax.set_xlabel("repetitions r of the canary in the training set")
    ax.set_ylabel("exposure (bits) at the end of training")
    ax.set_title("Exposure grows with repetitions\n" + title(rep), fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path)


def exposure_training(rep: xr.Dataset, width, path: Path) -> Path:
    """Exposure by level along training (seed mean, band = seed range) above the validation and training
    losses with the chain's entropy floor; verticals: when the top level reaches 90 % of its maximum
    exposure and when validation loss stops improving (its plateau, ``analysis.val_plateau``; seed means)."""
    one = at_width(rep, width)
    fig = Figure(figsize=(7.5, 6.4), layout="constrained")
    ax, axl = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    steps = one["step"].values
    colors = level_colors(one["r"].values)
    for r in one["r"].values:
        mean, lo, hi = seed_stats(one["exposure_r"].sel(r=r))
        ax.fill_between(steps, lo, hi, color=colors[int(r)], alpha=0.15, lw=0)
        ax.plot(steps, mean, color=colors[int(r)], label=f"r = {int(r)}")
    _null_lines(ax, int(scalar_param(one, "secret_digits")))
    ax.set_ylabel("exposure (bits)")
    ax.legend(fontsize=7, ncol=4, loc="lower right")
    for name, color in (("val_loss", "tab:red"), ("train_loss", "tab:blue")):
        mean, lo, hi = seed_stats(one[name])
        axl.fill_between(steps, lo, hi, color=color, alpha=0.15, lw=0)
        axl.plot(steps, mean, color=color, label={"val_loss": "validation loss (held-out Markov text)", "train_loss": "loss on training rows"}[name])
    axl.axhline(float(one["loss_floor"].mean()), color="0.3", ls=":", label="entropy floor of the chain")
    for name, style, label in (("memorized_step", "--", "top level at 90 % of its max exposure"), ("plateau_step", "-.", "validation loss stops improving (plateau)")):
        t = float(one[name].mean())
        for a in (ax, axl):
            a.axvline(t, color="0.2", ls=style, lw=1, label=label if a is axl else None)
    axl.set_ylim(float(one["loss_floor"].min()) - 0.1, float(one["val_loss"].isel(step=slice(1, None)).max()) + 0.1)
    axl.set_xlabel("training step")
    axl.set_ylabel("loss (nats / token)")
    axl.legend(fontsize=7)
    ax.set_title(f"Exposure along training beside validation loss (d = {width}; verticals: seed means)\n" + title(rep), fontsize=9)
    return save(fig, path)


def agreement(rep: xr.Dataset, width, path: Path) -> Path:
    """Exact exposure (all of R, and with the other inserted canaries left out of R) vs the skew-normal
    extrapolation from the never-inserted references, every canary and seed, with the +-1 bit band."""
    one = at_width(rep, width)
    fig = Figure(figsize=(6, 5.2), layout="constrained")
    ax = fig.add_subplot()
    ext = one["exposure_extrapolated"].values.ravel()
    top = float(np.nanmax(np.concatenate([ext, one["exposure_final"].values.ravel()]))) + 1
    x = np.linspace(0, top, 2)
    ax.fill_between(x, x - 1, x + 1, color="0.85", label="|difference| <= 1 bit")
    ax.plot(x, x, color="0.3", lw=1)
    ax.axvline(10, color="0.5", ls=":", lw=1, label="exposure 10 (the check stops here)")
    ax.plot(one["exposure_isolated"].values.ravel(), ext, "o", ms=4, color="tab:blue", label="exact, other canaries left out of R")
    ax.plot(one["exposure_final"].values.ravel(), ext, "x", ms=4, color="tab:orange", alpha=0.7, label="exact over all of R")
    ax.set_xlabel("exact exposure (bits, enumeration of R)")
    ax.set_ylabel("extrapolated exposure (bits, skew-normal fit)")
    ax.set_title(f"Exact vs extrapolated exposure (d = {width}, {int(scalar_param(one, 'references'))} references)", fontsize=9)
    ax.legend(fontsize=7)
    return save(fig, path)
