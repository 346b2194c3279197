"""The constructive proof of Theorem 1 (arXiv 2306.02010, Sec. 4) in float64: rank(Z) and the
interpolation residual against the number of examples T, from ``theory.mha_capacity.construct``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ...theory import mha_capacity as th
from .._common import save, unique_legend

CONSTRUCTION_CONFIGS = ((2, 4, 16), (4, 8, 4), (4, 8, 16), (8, 8, 16))  # (H, n, d_h), d = 16


def construction_data(configs=CONSTRUCTION_CONFIGS, d: int = 16, contexts=("fixed", "random"), seed: int = 0):
    """rank(Z) and max|Z^T v - y| of ``construct`` over T for each (H, n, d_h) and context kind. Returns
    [(H, n, d_h, context, T (K,), rank (K,), residual (K,))]; a failed construction (assumption not met)
    gives NaN."""
    rows = []
    for i, (H, n, d_h) in enumerate(configs):
        b = th.capacity_bound_value(H, n, d_h)
        top = max(1.6 * b + 2, 1.3 * th.shared_rank_bound_value(H, n))  # past the shared-context ceiling too (d_h < n)
        Ts = np.unique(np.r_[np.round(np.linspace(1, top, 11)).astype(int), b, b + 1])
        for j, ctx in enumerate(contexts):
            q, E, y = th.synthetic_data(int(Ts.max()), n, d, np.random.default_rng([seed, i, j]), ctx)
            ranks, resid = [], []
            for T in Ts:
                try:
                    out = th.construct(q[:T], E[:T], y[:T], H, d_h, np.random.default_rng([seed, i, j, int(T)]))
                    ranks.append(float(out["rank"]))
                    resid.append(float(out["residual"]))
                except (ValueError, np.linalg.LinAlgError):
                    ranks.append(np.nan)
                    resid.append(np.nan)
            rows.append((H, n, d_h, ctx, Ts, np.array(ranks), np.array(resid)))
    return rows


def construction_figure(path: Path, configs=CONSTRUCTION_CONFIGS, d: int = 16) -> Path:
    """Top: rank(Z) vs T with the identity, the construction bound and the ceilings H(n-1)+1 (shared
    context, any weights) and H d (rows of Z). Bottom: max|Z^T v - y| (log)."""
    rows = construction_data(configs, d)
    fig = Figure(figsize=(max(3.6 * len(configs), 10), 6.6), layout="constrained")
    axes = fig.subplots(2, len(configs), squeeze=False, sharex="col")
    styles = {"fixed": ("tab:blue", "o", "shared context"), "random": ("tab:orange", "s", "random contexts"),
              "perm": ("tab:green", "^", "'perm' contexts")}
    hollow = {"random": 6.5, "perm": 6.5}  # drawn open and larger, so coinciding shared-context points stay visible
    for col, (H, n, d_h) in enumerate(configs):
        top, bottom = axes[0, col], axes[1, col]
        b = th.capacity_bound_value(H, n, d_h)
        for Hc, nc, dhc, ctx, Ts, ranks, resid in rows:
            if (Hc, nc, dhc) != (H, n, d_h):
                continue
            color, marker, label = styles.get(ctx, ("C3", "x", ctx))
            style = {"marker": marker, "color": color, "lw": 1.2, "label": label, "ms": hollow.get(ctx, 4),
                     "mfc": "none" if ctx in hollow else color}
            top.plot(Ts, ranks, **style)
            bottom.plot(Ts, np.maximum(resid, 1e-17), **style)
        Tmax = top.get_xlim()[1]
        top.plot([0, Tmax], [0, Tmax], color="black", ls=":", lw=1, label="identity rank = T")
        top.axhline(th.shared_rank_bound_value(H, n), color="tab:purple", ls="-.", lw=1,
                    label="shared-context ceiling H(n − 1) + 1 (any weights)")
        if H * d <= 1.3 * top.get_ylim()[1]:
            top.axhline(H * d, color="tab:brown", ls="--", lw=1, label="rows of Z: H·d")
        for ax in (top, bottom):
            ax.axvline(b, color="black", lw=1.2, label="construction bound H(min(n, d_h) − 1) + 1")
            ax.grid(alpha=0.3)
        bottom.axhline(1e-8, color="tab:red", ls="--", lw=1, label="exact to 1e-8")
        bottom.set_yscale("log")
        bottom.set_ylim(1e-17, 10)
        top.set_title(f"H = {H}, n = {n}, d_h = {d_h}: bound {b}", fontsize=9)
        bottom.set_xlabel("examples T")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_ylabel("numerical rank of Z (rtol 1e-10)")
    axes[1, 0].set_ylabel("max |Zᵀv − y| (least squares)")
    unique_legend(fig, axes.ravel(), ncol=4, fontsize=8)
    fig.suptitle(
        f"The constructive proof of Theorem 1 in float64: built W_h, then v by least squares; d = {d}, "
        "labels U[0, 1]\nbeyond the bound the extra examples are placed by no head; with random contexts "
        "(or d_h < n) Z can still have full column rank",
        fontsize=10,
    )
    return save(fig, path)
