"""Extraction figures of the `lm-canaries` study: the fraction of canaries and of duplicated training rows
that greedy decoding reproduces from a k-token true prefix (Carlini et al., arXiv 2202.07646, Sec. 4),
vs k for each repetition level r, one column per width."""

from __future__ import annotations

from pathlib import Path

import xarray as xr
from matplotlib.figure import Figure

from .._common import save, scalar_param, unique_legend
from .common import at_width, level_colors, seed_stats, title, widths

KINDS = (("canary", "canaries (rest of the secret after k tokens)"), ("sequence", "duplicated training rows (next {s} tokens)"))


def extraction_figure(rep: xr.Dataset, path: Path) -> Path:
    """Rows: canaries, duplicated training rows; columns: widths. Solid: fraction extracted exactly
    (seed mean); dotted: the memorization score (fraction of suffix tokens reproduced)."""
    ws = widths(rep)
    fig = Figure(figsize=(3.6 * len(ws) + 1, 6.2), layout="constrained")
    axes = fig.subplots(2, len(ws), squeeze=False, sharey=True)
    colors = level_colors(rep["r"].values)
    k = rep["prompt"].values
    for col, w in enumerate(ws):
        one = at_width(rep, w)
        for row, (kind, label) in enumerate(KINDS):
            ax = axes[row, col]
            for r in one["r"].values:
                frac, _, _ = seed_stats(one[f"{kind}_extraction"].sel(r=r))
                score, _, _ = seed_stats(one[f"{kind}_score"].sel(r=r))
                ax.plot(k, frac, "o-", color=colors[int(r)], label=f"r = {int(r)}")
                ax.plot(k, score, ":", color=colors[int(r)], lw=1)
            ax.set_xticks(k)
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"d = {w}: " + label.format(s=int(scalar_param(rep, "suffix_length"))), fontsize=8)
            if row == 1:
                ax.set_xlabel("true prefix length k")
            if col == 0:
                ax.set_ylabel("fraction extracted (solid)\nmemorization score (dotted)")
    unique_legend(fig, axes.ravel(), ncol=len(rep["r"]), fontsize=7)
    fig.suptitle("Greedy extraction grows with repetitions, prompt length and width\n" + title(rep), fontsize=9)
    return save(fig, path)
