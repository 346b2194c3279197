"""Figures of the `selm` study (Stevens and Su, arXiv 2305.10445).

``make_all(evidence, out_dir)`` reads {panel: Dataset} (panels of ``rote.sims.studies.selm.scales``; any may be
missing) and writes:
  steps.png     median steps to memorize vs d and vs L, Markov and uniform messages, pretrained vs random init
                (Sec. 4, Fig. 2), with the budget line;
  norms.png     ciphertext L2 norm per message kind and variant (Sec. 5.3, Fig. 3), with the target-L2 alpha
                and the distribution target's expected norm sigma sqrt(d) drawn beside;
  game.png      the IND-CPA table per variant: accuracy of each attacker x pair with its binomial p-value,
                Holm-rejected cells marked (Sec. 5, Tables 2-3);
  capacity.png  the largest decryptable L vs d (uniform tokens), with a reference proportional to d.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.selm import STUDY, claims, scales
from ...sims.studies.selm.analysis import capacity, median_steps, params_of
from .._common import empty, save

KIND_NAMES = {0: "Markov", 3: "uniform"}


def _cells(ev):
    for ds in ev.values():
        name = ds.attrs.get("scale", "quick")
        if name in STUDY.scales:
            return STUDY.scale(name).cells
    return scales.quick_scale().cells


def steps_figure(ev, out: Path) -> Path:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    if "trends" not in ev:
        return empty(fig, "no trends panel", out)
    t = ev["trends"]
    med = median_steps(t)
    budget = int(params_of(t).max_steps)
    ax1, ax2 = fig.subplots(1, 2)
    for k in med["kind"].values:
        for j, L in enumerate(med["length"].values):
            ax1.plot(med["d"], med.sel(kind=k, length=L), marker="o", ls="-" if k == 0 else "--", color=f"C{j}",
                     label=f"{KIND_NAMES.get(int(k), k)}, L {int(L)}")
        for j, d in enumerate(med["d"].values):
            ax2.plot(med["length"], med.sel(kind=k, d=d), marker="s", ls="-" if k == 0 else "--", color=f"C{j + 3}",
                     label=f"{KIND_NAMES.get(int(k), k)}, d {int(d)}")
    if "init" in ev:
        rnd = median_steps(ev["init"])
        cells = _cells(ev)
        for k in rnd["kind"].values:
            ax1.scatter([cells.d_ref], [float(rnd.sel(kind=k))], marker="x", s=80, color="k",
                        label="random-init public model" if k == rnd["kind"].values[0] else None)
    for ax in (ax1, ax2):
        ax.axhline(budget, color="grey", ls=":", label=f"budget ({budget} steps)")
        ax.set_yscale("log")
        ax.set_ylabel("median Adam steps to memorize")
        ax.legend(fontsize=7)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("ciphertext dimension d")
    ax2.set_xlabel("message length L (tokens)")
    ax1.set_title("steps vs d (predicted: non-increasing)")
    ax2.set_title("steps vs L (predicted: non-decreasing)")
    fig.suptitle("SELM encryption cost: median steps until greedy decoding reproduces the message")
    return save(fig, out)


def norms_figure(ev, out: Path) -> Path:
    cells = _cells(ev)
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, len(cells.variants))
    for ax, variant in zip(axes, cells.variants):
        have = [m for m in cells.messages if cells.panel(variant, m) in ev]
        if not have:
            ax.text(0.5, 0.5, "no results", ha="center", transform=ax.transAxes)
            continue
        for j, m in enumerate(have):
            ds = ev[cells.panel(variant, m)]
            n = ds["norm"].values[ds["converged"].values > 0.5]
            ax.hist(n, bins=15, alpha=0.5, color=f"C{j}", label=m)
        p = params_of(ev[cells.panel(variant, have[0])])
        if p.l2_weight > 0:
            ax.axvline(p.l2_target, color="k", ls="--", label=f"target alpha {p.l2_target:g}")
        if p.dist_weight > 0:
            ax.axvline(p.dist_sigma * np.sqrt(p.d), color="k", ls=":", label=f"sigma sqrt(d) = {p.dist_sigma * np.sqrt(p.d):.1f}")
        ax.set_title(f"{variant} (d {p.d}, L {p.length})")
        ax.set_xlabel("ciphertext L2 norm ||theta_d||")
        ax.set_ylabel("ciphertexts")
        ax.legend(fontsize=7)
    fig.suptitle("Ciphertext norms per message kind: the original variant's leak (paper Fig. 3)")
    return save(fig, out)


def game_figure(ev, out: Path) -> Path:
    cells = _cells(ev)
    fig = Figure(figsize=(15, 6), layout="constrained")
    axes = fig.subplots(1, len(cells.variants))
    im = None
    for ax, variant in zip(axes, cells.variants):
        try:
            t = claims.game_table(ev, cells, variant)
        except (KeyError, ValueError) as exc:  # a missing panel, or too few converged ciphertexts for the game
            ax.text(0.5, 0.5, f"no game:\n{str(exc)[:60]}", ha="center", transform=ax.transAxes, fontsize=7)
            ax.set_title(variant)
            continue
        acc = t["accuracy"].values.T  # (cell, pair)
        im = ax.imshow(acc, vmin=0.3, vmax=1.0, cmap="RdBu_r", aspect="auto")
        for i in range(acc.shape[0]):
            for j in range(acc.shape[1]):
                star = "*" if bool(t["reject"].values[j, i]) else ""
                ax.text(j, i, f"{acc[i, j]:.2f}{star}\np={float(t['pvalue'].values[j, i]):.1g}", ha="center", va="center", fontsize=6)
        ax.set_xticks(range(acc.shape[1]), [p.replace("markov_vs_", "vs ") for p in t["pair"].values], rotation=30, fontsize=7)
        ax.set_yticks(range(acc.shape[0]), t["cell"].values, fontsize=7)
        n = int(t["n_test"].values.max())
        ax.set_title(f"{variant}: {int(t['reject'].sum())}/{t['reject'].size} cells win (Holm)\n{n} test ciphertexts per pair", fontsize=9)
        ax.set_xlabel("message pair (m1 = Markov)")
    if im is not None:
        fig.colorbar(im, ax=list(axes), label="attacker test accuracy (chance 0.5)")
    fig.suptitle("Empirical IND-CPA game: accuracy, one-sided binomial p; * = wins after Holm at alpha 0.05")
    return save(fig, out)


def capacity_figure(ev, out: Path) -> Path:
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    if "capacity" not in ev:
        return empty(fig, "no capacity panel", out)
    cap = capacity(ev["capacity"])
    ax = fig.subplots()
    d = cap["d"].values
    ax.plot(d, cap.values, marker="o", label="measured (all keys decrypt exactly)")
    if cap.values[0] > 0:
        ax.plot(d, cap.values[0] * d / d[0], ls="--", color="grey", label="reference: proportional to d")
    L_max = int(ev["capacity"]["length"].values.max())
    ax.axhline(L_max, color="k", ls=":", label=f"largest L tried ({L_max})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ciphertext dimension d")
    ax.set_ylabel("largest decryptable L (tokens)")
    ax.set_ylim(0, L_max * 1.3)
    ax.set_title(f"Capacity vs d (uniform tokens, {int(params_of(ev['capacity']).max_steps)}-step budget)")
    ax.legend(fontsize=7)
    return save(fig, out)


def make_all(evidence, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = {k: v for k, v in (evidence or {}).items() if isinstance(v, xr.Dataset) and "theta" in v}
    if not ev:
        return []
    return [steps_figure(ev, out_dir / "steps.png"), norms_figure(ev, out_dir / "norms.png"),
            game_figure(ev, out_dir / "game.png"), capacity_figure(ev, out_dir / "capacity.png")]
