"""Which training samples are over-memorized: the persistence of the high-confidence groups (Lin, Yu,
Han, Liu, arXiv 2310.08847, Sec. 3, Fig. 2) and natural vs adversarial loss rankings (Sec. 4, the ten-group ranking)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.stats import rank_fraction
from ...sims.studies.over_memorization.analysis import DECILE
from ...sims.studies.over_memorization.params import BASELINE, METHODS, PERSISTENCE
from .._common import empty, save, scalar_param
from .curves import seed_band


def persistence_figure(noise: xr.Dataset, path: Path) -> Path:
    """Mean natural loss of the original and transformed groups, in the persistence run (both removed
    from the removal epoch on) and in the baseline (kept)."""
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    if "variant" not in noise.dims or PERSISTENCE not in noise["variant"].values:
        return empty(fig, "no persistence run in the noise panel", path)
    x = noise["epoch"].values
    for v, ls, tag in ((PERSISTENCE, "-", "removed"), (BASELINE, "--", "kept")):
        if v not in noise["variant"].values:
            continue
        run = noise.sel(variant=v)
        seed_band(ax, x, run["orig_loss"], "tab:blue", f"original HC ({tag})", ls)
        seed_band(ax, x, run["trans_loss"], "tab:red", f"transformed HC ({tag})", ls)
    ax.axvline(scalar_param(noise, "warmup"), color="0.5", ls=":", lw=1)
    ax.axvline(scalar_param(noise, "removal"), color="0.2", ls=":", lw=1)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("epoch (dotted: K fixes the original group, removal fixes the transformed group)")
    ax.set_ylabel("mean natural loss of the group (nats)")
    ax.legend(fontsize=7)
    fig.suptitle(f"Persistence of high-confidence groups, noise {scalar_param(noise, 'noise'):g}, T {scalar_param(noise, 'threshold'):g}", fontsize=9)
    return save(fig, path)


def overlap_figure(pgd: xr.Dataset, path: Path) -> Path:
    """Left: natural vs adversarial loss rank of every training sample (baseline, first seed), the top
    decile of each marked; right: the top-decile overlap per variant and seed with the 0.7 tolerance."""
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_s, ax_b = fig.subplots(1, 2)
    run = pgd.sel(variant=BASELINE) if "variant" in pgd.dims else pgd
    one = run.isel(seed=0) if "seed" in run.dims else run
    nat, adv = one["nat_loss"].values, one["adv_loss"].values
    r_nat, r_adv = rank_fraction(nat), rank_fraction(adv)
    both = (r_nat < DECILE) & (r_adv < DECILE)
    ax_s.scatter(r_nat, r_adv, s=3, color="0.6")
    ax_s.scatter(r_nat[both], r_adv[both], s=5, color="tab:red", label="top decile by both")
    ax_s.axvline(DECILE, color="tab:red", lw=0.8, ls=":")
    ax_s.axhline(DECILE, color="tab:red", lw=0.8, ls=":")
    ax_s.set_xlabel("rank by natural loss (fraction, low = confident)")
    ax_s.set_ylabel("rank by adversarial loss (fraction)")
    ax_s.legend(fontsize=7)
    variants = pgd["variant"].values if "variant" in pgd.dims else [BASELINE]

    for i, v in enumerate(variants):
        ov = np.atleast_1d((pgd.sel(variant=v) if "variant" in pgd.dims else pgd)["overlap"].values)
        ax_b.scatter(np.full(ov.shape, i), ov, color="tab:blue", s=20)
    ax_b.axhline(0.7, color="tab:red", ls="--", lw=1, label="claim: >= 0.7 (baseline)")
    ax_b.axhline(DECILE, color="0.5", ls=":", lw=1, label="independent rankings: 0.1")
    ax_b.set_xticks(range(len(variants)), [METHODS[int(v)] for v in variants])
    ax_b.set_ylim(0, 1)
    ax_b.set_ylabel("top-decile overlap (dots: seeds)")
    ax_b.legend(fontsize=7)
    eps = scalar_param(pgd, "epsilon")
    fig.suptitle(f"Natural loss ranks adversarial confidence: PGD-{scalar_param(pgd, 'attack_steps')} AT, eps {eps:g} ({16 * eps:g}/16 levels)",
                 fontsize=9)
    return save(fig, path)
