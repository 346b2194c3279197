"""Capacity figure of the `mha-capacity` study: the measured capacity vs H, n and d_h beside Theorem 1's
construction bound and the fits the claims test (the paper's Fig. 2, arXiv 2306.02010, Sec. 5), and
random contexts against a shared one.

A config's capacity is the largest T its search memorized at target_acc (run.py); the seed points and
the seed mean with its 95 % Student t interval use resolved configs only. Configs whose search stopped
at a bound or did not close its bracket are drawn as open markers at the search's value, and enter no
mean and no fit. The fits are the claims' own (``claims.fit_power``, ``claims.fit_breakpoint``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ...sims.studies.mha_capacity.claims import fit_breakpoint, fit_power
from ...theory import mha_capacity as th
from .._common import empty, save, scalar_param
from .panels import (
    AT_BOUND_LABEL,
    PANELS,
    UNCLOSED_LABEL,
    context_text,
    dedup_legend,
    head_dim_panels,
    lr_text,
    per_seed,
    seed_stats,
    suptitle,
    title,
)

BOUND_STYLE = {"color": "black", "lw": 1.3, "ls": "-"}
BOUND_LABEL = "construction bound H(min(n, d_h) − 1) + 1 (Theorem 1, attention frozen)"
SHARED, RANDOM = "tab:blue", "tab:orange"
N_COLORS = ("tab:blue", "tab:purple", "tab:green", "tab:brown")
FIT_COLOR = "0.25"


def _jitter(x: np.ndarray, seeds: int, log: bool, span: float) -> np.ndarray:
    """(A, S) x positions of the seed points, spread around each x."""
    shift = (np.arange(seeds) - (seeds - 1) / 2) * (span / max(seeds, 1))
    return x[:, None] * 2.0 ** shift[None, :] if log else x[:, None] + shift[None, :]


def draw_capacity(ax, ds: xr.Dataset, axis: str, color: str, label: str, log: bool = False, span: float = 0.0) -> dict:
    """Seed points (filled: resolved; open circle: at a search bound; open square: bracket not closed) and
    the mean of the resolved seeds with its 95 % t interval; 'k/S' beside a mean when only k of the S
    seeds are resolved. Returns per_seed's arrays plus 'mean'."""
    p = per_seed(ds, axis)
    x, shown, ok, bound = p["x"], p["shown"].astype(float), p["resolved"], p["at_bound"]
    S = shown.shape[1]
    xs = _jitter(x, S, log, span)
    ax.plot(xs[ok], shown[ok], ls="none", marker="o", ms=4.5, color=color, alpha=0.45, mec="none",
            label=f"{label}: one seed (resolved capacity)")
    for mask, marker, what in ((bound, "o", AT_BOUND_LABEL), (~ok & ~bound, "s", UNCLOSED_LABEL)):
        if mask.any():
            ax.plot(xs[mask], shown[mask], ls="none", marker=marker, ms=7, mfc="white", mec=color, mew=1.4, label=what)
    mean, lo, hi, count = seed_stats(p["estimate"], ok)
    err = np.vstack([mean - np.maximum(lo, 0.0), hi - mean])
    err = np.where(np.isfinite(err), err, 0.0)
    ax.errorbar(x, mean, yerr=err, color=color, lw=1.6, capsize=3.5, marker="D", ms=5.5, zorder=4,
                label=f"{label}: mean of resolved seeds, 95% t interval (≤ {S} seeds)")
    for xi, m, c in zip(x, mean, count):
        if c < S:
            y = m if np.isfinite(m) else np.nanmax(shown)
            ax.annotate(f"{c}/{S} resolved", (xi, y), xytext=(6, -10), textcoords="offset points", fontsize=6.5, color=color)
    p["mean"] = mean
    return p


def _pooled(p: dict) -> tuple[np.ndarray, np.ndarray]:
    """The resolved (x, capacity) points of a series, every seed."""
    ok = p["resolved"]
    return np.repeat(p["x"], ok.shape[1]).reshape(ok.shape)[ok], p["estimate"][ok].astype(float)


def draw_power_fit(ax, p: dict, axis: str, color: str = FIT_COLOR) -> None:
    """The claims' fit a + b x^beta on the resolved points, beta and its 95 % CI in the legend (a note on
    the axes instead when fewer than 4 x values have a resolved point, or the fit fails)."""
    xs, ys = _pooled(p)
    why = None
    if len(np.unique(xs)) < 4:
        why = f"fewer than 4 {axis} values measured: no fit of a + b {axis}^β"
    else:
        try:
            beta, lo, hi, b = fit_power(xs, ys)
        except (RuntimeError, ValueError) as exc:
            why = f"the fit a + b {axis}^β did not converge ({type(exc).__name__})"
    if why is not None:
        ax.text(0.98, 0.03, why, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.35")
        return
    a = float(np.mean(ys - b * xs**beta))  # the least-squares intercept at the fitted b, beta
    dense = np.linspace(xs.min(), xs.max(), 200)
    ax.plot(dense, a + b * dense**beta, color=color, ls="-.", lw=1.4,
            label=f"least-squares fit a + b {axis}^β: β = {beta:.2f}, 95% CI [{lo:.2f}, {hi:.2f}] (linear: β = 1)")


def draw_bound(ax, ds: xr.Dataset, axis: str, dense: np.ndarray, label: str = BOUND_LABEL, **style) -> np.ndarray:
    """The construction bound along ``axis`` (other sizes from the panel) on the dense grid."""
    sizes = {k: scalar_param(ds, k) for k in ("H", "n", "d_h") if k != axis}
    sizes[axis] = dense.astype(int)
    bound = np.broadcast_to(th.capacity_bound_value(sizes["H"], sizes["n"], sizes["d_h"]), dense.shape).astype(float)
    ax.plot(dense, bound, **{**BOUND_STYLE, **style}, label=label)
    return bound


def _search_bound(ax, ds: xr.Dataset, p: dict, color: str = "0.45") -> None:
    """T_max as a dotted line when a seed stopped there or the points reach half of it."""
    T_max = float(scalar_param(ds, "T_max"))
    if p["at_bound"].any() or np.nanmax(p["shown"], initial=0.0) > 0.5 * T_max:
        ax.axhline(T_max, color=color, ls=":", lw=1.2, label=f"search bound T_max = {T_max:g} ({context_text(ds)})")


def _fixed_sizes(ds: xr.Dataset, axis: str) -> str:
    values = {k: scalar_param(ds, k) for k in ("H", "n", "d_h") if k != axis}
    return ", ".join(f"{k} = {v}" for k, v in values.items() if np.ndim(v) == 0)


def _finish(ax, xs: np.ndarray, xlabel: str, title_text: str, log: bool = False, legend_cols: int = 1) -> None:
    if log:
        ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{v:g}" for v in xs])
    ax.set_xticks([], minor=True)
    ax.set_xlabel(xlabel + (" (log scale)" if log else ""))
    ax.set_ylabel("capacity: largest T memorized (examples)")
    ax.set_ylim(bottom=0)
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.45)  # room for the legend above the data
    ax.set_title(title_text, fontsize=9.5)
    ax.grid(alpha=0.3)
    dedup_legend(ax, fontsize=6.8, loc="upper left", ncol=legend_cols, framealpha=0.85)


def _trend_axes(ax, ds: xr.Dataset, axis: str, xlabel: str, letter: str) -> None:
    """(a) H or (b) n: seed points, mean, the power fit and the construction bound."""
    x = ds[axis].values.astype(float)
    p = draw_capacity(ax, ds, axis, SHARED, "trained, shared context", span=0.18 * float(np.min(np.diff(x), initial=1.0)))
    draw_power_fit(ax, p, axis)
    draw_bound(ax, ds, axis, np.arange(x.min(), x.max() + 1) if axis != "H" else x)
    _search_bound(ax, ds, p)
    _finish(ax, x, xlabel, f"({letter}) capacity vs {axis} ({_fixed_sizes(ds, axis)}, {context_text(ds)})")


def _head_dim_axes(ax, panels: list, letter: str) -> None:
    """(c) d_h at each n: seed points, mean, the segmented fit a + b min(d_h, k) with its breakpoint k,
    the predicted band [n - 1, n] and the construction bound."""
    all_x = np.unique(np.concatenate([ds["d_h"].values for _, ds, _ in panels]).astype(float))
    log = all_x.max() / max(all_x.min(), 1.0) >= 8
    dense = np.unique(np.r_[np.arange(all_x.min(), all_x.max() + 1), all_x])
    for i, (_, ds, n) in enumerate(panels):
        color = N_COLORS[i % len(N_COLORS)]
        p = draw_capacity(ax, ds, "d_h", color, f"n = {n}", log=log, span=0.12)
        ax.axvspan(n - 1, n, color=color, alpha=0.12, lw=0, label=f"n = {n}: predicted breakpoint [n − 1, n] = [{n - 1}, {n}]")
        bound = draw_bound(ax, ds, "d_h", dense, label=BOUND_LABEL, lw=1.0, alpha=0.8)
        ax.annotate(f"n = {n}", (dense[-1], bound[-1]), xytext=(-2, 3), textcoords="offset points", ha="right", fontsize=7)
        xs, ys = _pooled(p)
        if len(np.unique(xs)) >= 3:
            k, a, b = fit_breakpoint(xs, ys)
            ax.plot(dense, a + b * np.minimum(dense, k), color=color, ls="--", lw=1.3,
                    label=f"n = {n}: segmented fit a + b min(d_h, k), k = {k:.2f}")
            ax.axvline(k, color=color, ls=":", lw=1.5)
            ax.annotate(f"k = {k:.2f}", (k, 0), xytext=(3, 4), textcoords="offset points", fontsize=7, color=color)
        else:
            ax.text(0.98, 0.03 + 0.05 * i, f"n = {n}: fewer than 3 d_h values measured, no segmented fit", transform=ax.transAxes,
                    ha="right", fontsize=7, color=color)
        _search_bound(ax, ds, p)
    H = scalar_param(panels[0][1], "H")
    _finish(ax, all_x, "head dimension d_h", f"({letter}) capacity vs d_h (H = {H}, {context_text(panels[0][1])}; "
            "dotted: fitted breakpoint k)", log=log)


def _random_axes(ax, shared: xr.Dataset | None, random: xr.Dataset, letter: str) -> None:
    """(d) capacity vs H with random contexts and with the shared one."""
    x = random["H"].values.astype(float)
    xs = [x]
    span = 0.18 * float(np.min(np.diff(x), initial=1.0))
    if shared is not None:
        xs.append(shared["H"].values.astype(float))
        p = draw_capacity(ax, shared, "H", SHARED, "shared context", span=span)
        _search_bound(ax, shared, p, color=SHARED)
    p = draw_capacity(ax, random, "H", RANDOM, "random contexts (one per example)", span=span)
    _search_bound(ax, random, p, color=RANDOM)
    xs = np.unique(np.concatenate(xs))
    draw_bound(ax, random, "H", xs)
    _finish(ax, xs, "number of heads H", f"({letter}) random contexts vs a shared one ({_fixed_sizes(random, 'H')})")


def capacity_figure(evidence: dict, path: Path) -> Path:
    """Capacity vs H (a), n (b), d_h at each n (c) and random vs shared contexts (d), for the panels
    present; ``evidence``: {panel: ``panels.prepare``d Dataset}."""
    jobs = [(name, axis, xlabel) for name, axis, xlabel in PANELS if name in evidence]
    dims = head_dim_panels(evidence)
    count = len(jobs) + bool(dims) + ("heads_random" in evidence)
    if count == 0:
        return empty(Figure(figsize=(8, 3)), "no heads / context / head_dim / heads_random panel in the evidence", path)
    rows, cols = (2, 2) if count == 4 else (1, count)
    fig = Figure(figsize=(max(6.6 * cols, 10.0), 5.6 * rows + 1.0), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
    letters = iter("abcd")
    ref = None
    for name, axis, xlabel in jobs:
        ref = ref if ref is not None else evidence[name]
        _trend_axes(axes.pop(0), evidence[name], axis, xlabel, next(letters))
    if dims:
        ref = ref if ref is not None else dims[0][1]
        _head_dim_axes(axes.pop(0), dims, next(letters))
    if "heads_random" in evidence:
        ref = ref if ref is not None else evidence["heads_random"]
        _random_axes(axes.pop(0), evidence.get("heads"), evidence["heads_random"], next(letters))
    suptitle(fig, [
        "Memorization capacity of one multi-head attention layer (paper Fig. 2): per config, the largest T whose training set "
        "is memorized, " + ("found by a search over T (double until a probe fails, then bisect)" if scalar_param(ref, "search") != "fixed"
                           else "on the T grid (search = 'fixed': one run per T)") + f"; {lr_text(ref)}",
        title(ref),
        "The construction bound is what Theorem 1's construction memorizes with attention frozen (Sec. 4): trained W_Q, W_K "
        "can memorize more.",
    ])
    return save(fig, path)
