"""How the `mha-capacity` search found each capacity: the probes of a few configs (T tried vs the training
accuracy reached), the training-budget check (capacity at twice the steps vs at the scale's steps),
and, for search = 'fixed' results on a T grid, the memorized count vs T.

Each probe trains fresh weights on the first T of T_max examples and memorizes them if its best logged
training accuracy reaches target_acc (sims/studies/mha_capacity/run.py); the search doubles T until a
probe fails, halves until one succeeds, then bisects the bracket [largest memorized, smallest failed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ...sims.studies.mha_capacity.claims import BUDGET_TOL
from ...theory import mha_capacity as th
from .._common import empty, save, scalar_param
from .panels import AT_BOUND_LABEL, context_text, lr_text, per_seed, seed_stats, selected, suptitle, title


def trace_configs(ds: xr.Dataset, count: int = 3) -> list[tuple[int, int]]:
    """(H, seed) of up to ``count`` configs to trace: the smallest, a middle and the largest H at the first
    seed."""
    H = ds["H"].values if "H" in ds.dims else np.atleast_1d(scalar_param(ds, "H"))
    picks = sorted({0, len(H) // 2, len(H) - 1})[:count]
    seed = int(ds["seed"].values[0])
    return [(int(H[i]), seed) for i in picks]


def _probes(ds: xr.Dataset, H: int, seed: int) -> dict:
    cell = ds.sel(seed=seed, **({"H": H} if "H" in ds.dims else {}))
    if "lr" in cell.dims:
        cell = cell.isel(lr=int(cell["lr_index"])) if "lr_index" in cell else cell.isel(lr=0)
    used = selected(cell, "probe_used", ("probe",)).values.astype(bool)
    get = lambda var: selected(cell, var, ("probe",)).values[used]  # noqa: E731
    return {"T": get("probe_T").astype(float), "acc": get("probe_acc").astype(float), "steps": get("probe_steps"),
            "capacity": int(cell["capacity"].max()), "fail": int(cell["capacity_fail"].min()),
            "resolved": bool(cell["resolved"]), "at_bound": bool(cell["at_bound"])}


def draw_trace(ax, ds: xr.Dataset, H: int, seed: int) -> None:
    """Probe T (log) vs best training accuracy, numbered in the order run; filled: memorized, cross:
    failed; the final bracket shaded; the target accuracy dashed."""
    pr = _probes(ds, H, seed)
    target = float(np.atleast_1d(scalar_param(ds, "target_acc"))[0])
    T_max, steps = int(scalar_param(ds, "T_max")), int(scalar_param(ds, "steps"))
    C = int(scalar_param(ds, "C"))
    hit = pr["acc"] >= target
    ax.plot(pr["T"], pr["acc"], color="0.6", lw=0.9, zorder=1)
    ax.plot(pr["T"][hit], pr["acc"][hit], ls="none", marker="o", ms=8, color="tab:green", zorder=3,
            label=f"probe memorized (accuracy ≥ {target:g}; stops early)")
    ax.plot(pr["T"][~hit], pr["acc"][~hit], ls="none", marker="X", ms=9, color="tab:red", zorder=3,
            label=f"probe failed (ran all {steps} steps)")
    rows = []
    for i, (T, acc, steps_run) in enumerate(zip(pr["T"], pr["acc"], pr["steps"])):
        ax.annotate(f"{i + 1}", (T, acc), xytext=(0, 7 if i % 2 == 0 else -13), textcoords="offset points", ha="center",
                    fontsize=8, fontweight="bold")
        rows.append(f"{i + 1}: T {T:4g}  acc {acc:.3f}  {'memorized' if acc >= target else 'failed'} ({steps_run} steps)")
    ax.text(0.02, 0.03, "\n".join(rows), transform=ax.transAxes, fontsize=7, family="monospace", va="bottom",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9})
    ax.axhline(target, color="black", ls="--", lw=1.1, label=f"target training accuracy {target:g}")
    floor = float(pr["acc"].min())
    if C > 1 and 1 / C >= floor - 0.1:
        ax.axhline(1 / C, color="0.5", ls=":", lw=1, label=f"chance 1/C = {1 / C:.2g}")
    lo, hi = pr["capacity"], pr["fail"]
    if pr["resolved"]:
        ax.axvspan(max(lo, 1), hi, color="tab:green", alpha=0.15, lw=0, label="final bracket [capacity, smallest failed T]")
        verdict = f"capacity {lo} (failed at {hi})"
    else:
        verdict = f"{AT_BOUND_LABEL if pr['at_bound'] else 'bracket not closed'}: largest memorized {lo}"
    bound = th.capacity_bound_value(H, int(scalar_param(ds, "n")), int(scalar_param(ds, "d_h")))
    ax.axvline(bound, color="black", lw=1.0, ls="-", alpha=0.6, label="construction bound H(min(n, d_h) − 1) + 1")
    Ts = np.unique(pr["T"])
    ax.set_xscale("log", base=2)
    ax.set_xlim(max(min(Ts.min(), bound) / 1.5, 0.7), max(Ts.max(), bound) * 1.5)
    bottom = max(0.0, floor - 0.7 * (1.0 - floor) - 0.03)
    ax.set_ylim(bottom, 1.0 + 0.1 * (1.0 - bottom))  # zoomed on the probes; the list of probes in the lower left
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"probe T: training examples (log scale; T_max = {T_max})")
    ax.set_ylabel("best logged training accuracy of the probe")
    ax.set_title(f"H = {H}, seed {seed}: {len(pr['T'])} probe{'s' if len(pr['T']) != 1 else ''}, {verdict}", fontsize=9.5)
    ax.grid(alpha=0.3)


def draw_budget(ax, longer: xr.Dataset, shorter: xr.Dataset) -> None:
    """Capacity at twice the steps vs at the scale's steps, per (H, seed) and seed means, with the
    identity and the claim's +-15 % band."""
    steps_long, steps_short = int(scalar_param(longer, "steps")), int(scalar_param(shorter, "steps"))
    H = longer["H"].values
    short = shorter.sel(H=H, seed=longer["seed"].values)
    pl, ps = per_seed(longer, "H"), per_seed(short, "H")
    values = np.r_[pl["shown"].ravel(), ps["shown"].ravel()].astype(float)
    values = values[np.isfinite(values) & (values > 0)]
    low, top = (values.min() / 1.5, values.max() * 1.5) if values.size else (1.0, 10.0)
    line = np.geomspace(low, top, 50)
    ax.fill_between(line, line * (1 - BUDGET_TOL), line * (1 + BUDGET_TOL), color="0.5", alpha=0.15, lw=0,
                    label=f"within ±{BUDGET_TOL:.0%} (the budget claim, on seed means)")
    ax.plot(line, line, color="black", lw=1, ls="--", label="identity: doubling the steps changes nothing")
    both = pl["resolved"] & ps["resolved"]
    mean_l, _, _, _ = seed_stats(pl["estimate"], both)
    mean_s, _, _, _ = seed_stats(ps["estimate"], both)
    for i, h in enumerate(H):
        color = f"C{i % 10}"
        ok = both[i]
        ax.plot(ps["shown"][i][ok], pl["shown"][i][ok], ls="none", marker="o", ms=5, color=color, alpha=0.5, mec="none")
        if (~ok).any():
            ax.plot(ps["shown"][i][~ok], pl["shown"][i][~ok], ls="none", marker="o", ms=7, mfc="white", mec=color, mew=1.4)
        ax.plot(mean_s[i], mean_l[i], ls="none", marker="D", ms=8, color=color, mec="black", zorder=4,
                label=f"H = {h:g}: seed mean {mean_s[i]:.1f} → {mean_l[i]:.1f} ({mean_l[i] / mean_s[i] - 1:+.0%})")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="none", marker="o", ms=5, color="0.4", alpha=0.5, mec="none"),
                Line2D([], [], ls="none", marker="o", ms=7, mfc="white", mec="0.4")]
    labels += ["one seed (both resolved)", f"one seed, {AT_BOUND_LABEL} or unclosed in either"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlim(low, top)
    ax.set_ylim(low, top)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"capacity at {steps_short} steps per probe (examples, log scale)")
    ax.set_ylabel(f"capacity at {steps_long} steps per probe (examples, log scale)")
    ax.set_title(f"training budget: steps ×{steps_long / steps_short:g} ('budget' vs 'heads' panels)", fontsize=9.5)
    ax.legend(handles, labels, fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)


def search_figure(evidence: dict, path: Path, panel: str = "heads") -> Path:
    """The probes of up to three configs of ``panel`` and, when a 'budget' panel is present, the budget
    comparison. ``evidence``: {panel: ``panels.prepare``d Dataset}."""
    if panel not in evidence:
        return empty(Figure(figsize=(8, 3)), f"no '{panel}' panel in the evidence", path)
    ds = evidence[panel]
    configs = trace_configs(ds)
    budget = "budget" in evidence and "heads" in evidence
    count = len(configs) + budget
    rows, cols = (2, 2) if count == 4 else (1, count)
    fig = Figure(figsize=(6.2 * cols, 5.0 * rows + 1.0), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
    for ax, (H, seed) in zip(axes, configs):
        draw_trace(ax, ds, H, seed)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:len(configs)]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if budget:
        draw_budget(axes[-1], evidence["budget"], evidence["heads"])
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    suptitle(fig, [
        f"How the search found each capacity ('{panel}' panel, {context_text(ds)}, n = {scalar_param(ds, 'n')}, "
        f"d_h = {scalar_param(ds, 'd_h')}, {lr_text(ds)}): probes numbered in the order run (listed in each panel). T doubles from "
        f"T_start = {scalar_param(ds, 'T_start')} until a probe fails (halves until one succeeds), then bisects until the "
        f"bracket is within max(1, {float(scalar_param(ds, 'resolution')):g} × capacity)",
        title(ds),
    ])
    return save(fig, path)


def memorized_vs_T(ds: xr.Dataset, path: Path, panel: str = "heads") -> Path:
    """search = 'fixed' results on a T grid: the chance-corrected memorized count of the single probe
    (left) and its training accuracy (right) vs T, one curve per H (seed mean, band min-max)."""
    C = int(scalar_param(ds, "C"))
    target = float(np.atleast_1d(scalar_param(ds, "target_acc"))[0])
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax_m, ax_a = fig.subplots(1, 2)
    T = ds["T"].values.astype(float)
    ds_h = ds if "H" in ds.dims else ds.expand_dims(H=np.atleast_1d(scalar_param(ds, "H")))
    ax_m.plot(T, T, color="black", lw=1, ls=":", label="identity T (all memorized)")
    for i, H in enumerate(ds_h["H"].values):
        sub, color = ds_h.sel(H=H), f"C{i % 10}"
        for ax, var in ((ax_m, "memorized"), (ax_a, "acc")):
            v = selected(sub, var, ("T", "seed")).values.astype(float)
            ax.fill_between(T, np.nanmin(v, 1), np.nanmax(v, 1), color=color, alpha=0.18, lw=0)
            ax.plot(T, np.nanmean(v, 1), "o-", ms=3.5, color=color, lw=1.4, label=f"H = {H:g}" if ax is ax_m else None)
    ax_a.axhline(target, color="black", lw=1, ls="--", label=f"target accuracy {target:g}")
    if C > 1:
        ax_a.axhline(1 / C, color="tab:gray", lw=1, ls=":", label=f"chance 1/C = {1 / C:.2g}")
    for ax in (ax_m, ax_a):
        ax.set_xscale("log", base=2)
        ax.set_xticks(T, [f"{v:g}" for v in T])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("training examples T (log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_m.set_ylabel("chance-corrected memorized count T (acc − 1/C)/(1 − 1/C) (examples)" if C > 1 else "examples within tolerance")
    ax_a.set_ylabel("best logged training accuracy")
    ax_m.set_title("memorized count (seed mean, band: seed min–max)", fontsize=10)
    ax_a.set_title("training accuracy of the single run at each T", fontsize=10)
    suptitle(fig, [f"search = 'fixed': one training run per T ('{panel}' panel, {context_text(ds)})", title(ds)])
    return save(fig, path)
