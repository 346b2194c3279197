"""DP-SGD figures of the `lm-canaries` study: exposure and utility vs the noise multiplier sigma, with the
accountant's epsilon (an upper bound; Abadi et al., arXiv 1607.00133) beside the one-run audit's lower
bound (Steinke, Nasr, Jagielski, arXiv 2305.08846)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.lm_canaries.analysis import ACCOUNTANT, AUDIT_CONFIDENCE
from ...theory import exposure as ex
from .._common import save, scalar_param
from .common import level_colors, seed_stats, title


def dp_figure(dp: xr.Dataset, rep: xr.Dataset | None, path: Path) -> Path:
    """Three panels over sigma: final exposure per level; validation loss (the utility cost) beside the
    non-private run of the same width; epsilon from the accountant and from the audit (log scale)."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax_e, ax_u, ax_p = fig.subplots(1, 3)
    sigma = dp["sigma"].values
    colors = level_colors(dp["r"].values)
    for r in dp["r"].values:
        mean, lo, hi = seed_stats(dp["exposure_r"].isel(step=-1).sel(r=r))
        ax_e.fill_between(sigma, lo, hi, color=colors[int(r)], alpha=0.15, lw=0)
        ax_e.plot(sigma, mean, "o-", color=colors[int(r)], label=f"r = {int(r)}")
    ax_e.axhline(ex.NULL_EXPOSURE, color="0.4", ls="--", lw=1, label="null log2 e")
    ax_e.axhline(3, color="tab:red", ls=":", lw=1, label="3 bits (toy design, untested; reported)")
    ax_e.set_xlabel("noise multiplier sigma (clip C = 1)")
    ax_e.set_ylabel("exposure at the end (bits)")
    ax_e.legend(fontsize=7, ncol=2)
    mean, lo, hi = seed_stats(dp["val_loss"].isel(step=-1))
    ax_u.errorbar(sigma, mean, yerr=[mean - lo, hi - mean], fmt="o-", color="tab:red", capsize=3, label="DP-SGD validation loss")
    if rep is not None:
        width = scalar_param(dp, "width")
        base = rep.sel(width=width) if "width" in rep.dims and width in rep["width"].values else None
        if base is not None:
            ax_u.axhline(float(base["val_loss"].isel(step=-1).mean()), color="tab:blue", ls="--", label="non-private (Adam, no clipping)")
    ax_u.axhline(float(dp["loss_floor"].mean()), color="0.3", ls=":", label="entropy floor of the chain")
    ax_u.set_xlabel("noise multiplier sigma")
    ax_u.set_ylabel("validation loss at the end (nats / token)")
    ax_u.legend(fontsize=7)
    eps = dp["epsilon"].mean("seed").values if "seed" in dp["epsilon"].dims else dp["epsilon"].values
    audit, alo, ahi = seed_stats(dp["epsilon_audit"])
    finite = np.isfinite(eps)
    ax_p.plot(sigma[finite], eps[finite], "v-", color="tab:purple", label=f"accountant ({ACCOUNTANT.upper()}), upper bound")
    ax_p.plot(sigma, audit, "^-", color="tab:green", label=f"one-run audit, lower bound at {AUDIT_CONFIDENCE:.0%} (band: seed range)")
    ax_p.fill_between(sigma, alo, ahi, color="tab:green", alpha=0.15, lw=0)
    for s in sigma[~finite]:
        ax_p.annotate("accountant: inf\n(no noise)", (s, 1.0), fontsize=7, ha="left", va="bottom", color="tab:purple")
    ax_p.set_yscale("symlog", linthresh=0.1)
    ax_p.set_ylim(bottom=0)
    ax_p.set_xlabel("noise multiplier sigma")
    ax_p.set_ylabel(f"epsilon per example (delta = {float(np.atleast_1d(scalar_param(dp, 'delta'))[0]):g})")
    ax_p.legend(fontsize=7)
    fig.suptitle(f"DP-SGD: exposure, utility and epsilon (d = {scalar_param(dp, 'width')})\n" + title(dp), fontsize=9)
    return save(fig, path)
